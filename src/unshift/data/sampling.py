"""Paired infinite iteration over in-memory and streamed domains, stateless and seeded.

Each domain is reshuffled every epoch with a permutation drawn from a generator seeded by
``(seed, domain index, epoch)``; batch ``b`` of a domain is a slice of that permutation. So the
whole stream is a pure function of the seed and the number of batches drawn: resuming needs
only that count, and a step costs one index gather per domain (no per-sample Python work).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from unshift.core.errors import DataError
from unshift.data.domains import AnyDomain, Domain, take_rows
from unshift.data.streamed import batch_tensor

if TYPE_CHECKING:
    from unshift.data.streamed import StreamedDomain


def sample_seed(*key: int) -> int:
    """A torch seed (63 bits) that is a pure function of the integers ``key``."""
    return int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1)


def epoch_permutation(n: int, key: tuple[int, ...], weights: Tensor | None) -> Tensor:
    """Row order of one epoch of ``n`` rows, seeded by ``key``: a permutation, or ``n`` rows
    drawn in proportion to ``weights`` with replacement."""
    gen = torch.Generator().manual_seed(sample_seed(*key))
    if weights is None:
        return torch.randperm(n, generator=gen)
    return torch.multinomial(weights.cpu().double(), n, True, generator=gen)


class DomainStream:
    """Infinite batches of ``batch_size`` samples from one in-memory domain (dense batches,
    also from a sparse domain).

    An epoch drops its last partial batch; a domain smaller than ``batch_size`` yields batches
    of its whole (reshuffled) size. A domain with ``weights`` draws each epoch's ``N`` rows in
    proportion to them, with replacement, instead of a permutation.
    """

    def __init__(
        self,
        domain: Domain,
        batch_size: int,
        seed: int,
        rank: int,
        index: int,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        self.x, self.y, self.weights = domain.x, domain.y, domain.weights
        self.memory_format = memory_format if domain.x.ndim == 4 else torch.contiguous_format
        self.n = len(domain)
        self.batch_size = min(batch_size, self.n)
        self.per_epoch = self.n // self.batch_size
        self.seed, self.rank, self.index = seed, rank, index
        self._epoch = -1
        self._perm: Tensor | None = None

    def _permutation(self, epoch: int) -> Tensor:
        if epoch != self._epoch:
            key = (self.seed, self.rank, self.index, epoch)
            self._perm = epoch_permutation(self.n, key, self.weights).to(self.x.device)
            self._epoch = epoch
        assert self._perm is not None
        return self._perm

    def batch(self, b: int) -> tuple[Tensor, Tensor | None]:
        """Batch number ``b`` (0-based) of the stream: ``x`` ``(B, *)`` and ``y`` ``(B,)``."""
        epoch, offset = divmod(b, self.per_epoch)
        idx = self._permutation(epoch)[offset * self.batch_size : (offset + 1) * self.batch_size]
        x = take_rows(self.x, idx).contiguous(memory_format=self.memory_format)
        return x, None if self.y is None else self.y[idx]


class _BatchKeys:
    """The keys of training batches ``first, first + 1, ...`` of a :class:`LoaderStream`."""

    def __init__(self, stream: LoaderStream, first: int) -> None:
        self.stream, self.first = stream, first

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        b = self.first
        while True:
            yield self.stream.keys(b)
            b += 1


class LoaderStream:
    """Training batches of a :class:`StreamedDomain`, read ahead by its DataLoader workers.

    Epoch ``e`` orders the domain's rows by :func:`epoch_permutation` of ``(seed, 0, index,
    e)`` and gives process ``rank`` of ``world_size`` every ``world_size``-th of them; an epoch
    drops its last partial batch. ``batch(b)`` for consecutive ``b`` reads ahead; any other
    ``b`` (a resume) starts the readers anew from there.
    """

    def __init__(
        self,
        domain: StreamedDomain,
        batch_size: int,
        seed: int,
        index: int,
        rank: int = 0,
        world_size: int = 1,
        memory_format: torch.memory_format = torch.contiguous_format,
        device: torch.device | str = "cpu",
    ) -> None:
        self.domain = domain
        self.shard = max(1, len(domain) // world_size)
        self.batch_size = min(batch_size, self.shard)
        self.per_epoch = self.shard // self.batch_size
        self.seed, self.index, self.rank, self.world_size = seed, index, rank, world_size
        self.memory_format = (
            memory_format if len(domain.sample_shape) == 3 else torch.contiguous_format
        )
        self.device = torch.device(device)
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)
        self._next: int | None = None
        self._batches: Iterator | None = None

    def _rows(self, epoch: int) -> Tensor:
        if epoch != self._epoch:
            perm = epoch_permutation(
                len(self.domain), (self.seed, 0, self.index, epoch), self.domain.weights
            )
            self._order = perm[self.rank :: self.world_size]
            self._epoch = epoch
        return self._order

    def keys(self, b: int) -> list[tuple[int, int, int]]:
        """The reader keys ``(position, row, sample seed)`` of batch ``b``."""
        epoch, offset = divmod(b, self.per_epoch)
        order = self._rows(epoch)[offset * self.batch_size : (offset + 1) * self.batch_size]
        seeds = np.random.SeedSequence([self.seed, self.rank, self.index, b])
        states = (seeds.generate_state(len(order), np.uint64) >> 1).tolist()
        return [(k, i, s) for k, (i, s) in enumerate(zip(order.tolist(), states, strict=True))]

    def batch(self, b: int) -> tuple[Tensor, Tensor | None]:
        """Batch ``b`` (0-based): ``x`` ``(B, *)`` on the device and labels ``(B,)`` (``None``
        for an unlabelled domain); unreadable samples are left out of it."""
        if self._batches is None or self._next != b:
            self.close()
            loader = self.domain._loader(_BatchKeys(self, b), train=True)
            self._batches = iter(loader)
        self._next = b + 1
        x, y, _, skipped = next(self._batches)
        self.domain._skip(skipped, "skipped in training")
        if len(x) == 0:
            raise DataError(
                f"{self.domain.name}: every sample of training batch {b} is unreadable "
                f"(first: {skipped[0]})"
            )
        x = batch_tensor(x, self.device).contiguous(memory_format=self.memory_format)
        labels = None if self.domain.y is None else torch.from_numpy(y).to(self.device)
        return x, labels

    def close(self) -> None:
        """Stop the reader processes (a later :meth:`batch` starts them again)."""
        self._batches = None


class PairedBatches:
    """Draws aligned batches from several source and target domains, in memory or streamed.

    ``next()`` returns ``(sources, targets)``: lists of ``(x, y)`` and of ``x`` batches, one per
    domain. ``drawn`` counts calls, and is all a checkpoint must store to resume the stream.
    Each distributed rank (``rank`` of ``world_size``) draws its own stream (a streamed domain:
    its own shard of each epoch); 4-D image batches come in ``memory_format``, streamed ones
    moved to ``device``.
    """

    def __init__(
        self,
        sources: list[AnyDomain],
        targets: list[AnyDomain],
        batch_size: int,
        seed: int,
        rank: int = 0,
        memory_format: torch.memory_format = torch.contiguous_format,
        world_size: int = 1,
        device: torch.device | str = "cpu",
    ) -> None:
        streams = [
            DomainStream(d, batch_size, seed, rank, i, memory_format)
            if isinstance(d, Domain)
            else LoaderStream(d, batch_size, seed, i, rank, world_size, memory_format, device)
            for i, d in enumerate(sources + targets)
        ]
        self.sources, self.targets = streams[: len(sources)], streams[len(sources) :]
        self.drawn = 0

    def next(self) -> tuple[list[tuple[Tensor, Tensor]], list[Tensor]]:
        b = self.drawn
        self.drawn += 1
        sources = [s.batch(b) for s in self.sources]
        targets = [t.batch(b)[0] for t in self.targets]
        return sources, targets  # type: ignore[return-value]

    def skipped(self) -> int:
        """Training samples left out so far because they could not be read."""
        return sum(
            len(s.domain.skipped)
            for s in self.sources + self.targets
            if isinstance(s, LoaderStream)
        )

    def close(self) -> None:
        """Stop any reader processes of streamed domains."""
        for stream in self.sources + self.targets:
            if isinstance(stream, LoaderStream):
                stream.close()
