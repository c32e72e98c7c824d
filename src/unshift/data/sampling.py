"""Paired infinite iteration over in-memory and streamed domains, stateless and seeded.

Each domain is reshuffled every epoch with a permutation drawn from a generator seeded by
``(seed, domain index, epoch)``; batch ``b`` of a domain is a slice of that permutation. So the
whole stream is a pure function of the seed and the number of batches drawn: resuming needs
only that count, and a step costs one index gather per domain (no per-sample Python work).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from unshift.core.errors import DataError
from unshift.data.domains import AnyDomain, Domain, take_rows
from unshift.data.streamed import Reader, batch_tensor, collate, read_ahead

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


class _StepKeys:
    """The reader keys ``(stream, position, row, sample seed)`` of steps ``first, first + 1,
    ...``: one batch of every stream per step."""

    def __init__(self, streams: list[LoaderStream], first: int) -> None:
        self.streams, self.first = streams, first

    def __iter__(self) -> Iterator[list[tuple[int, int, int, int]]]:
        b = self.first
        while True:
            yield [(j, *key) for j, s in enumerate(self.streams) for key in s.keys(b)]
            b += 1


class _Readers(Dataset):
    """Key ``(stream j, *key)`` → ``(j, item)``: ``item`` from stream ``j``'s reader."""

    def __init__(self, readers: list[Reader]) -> None:
        self.readers = readers

    def __getitems__(self, keys: list[tuple[int, int, int, int]]) -> list[tuple[int, Any]]:
        # each reader reads its keys in one call (a batch at once where its dataset can)
        return [
            (j, item)
            for j, reader in enumerate(self.readers)
            for item in reader.__getitems__([key[1:] for key in keys if key[0] == j])
        ]


def _collate_streams(items: list[tuple[int, Any]], count: int) -> list[tuple]:
    """Items of ``count`` streams → one :func:`collate`-d batch per stream."""
    groups: list[list] = [[] for _ in range(count)]
    for j, item in items:
        groups[j].append(item)
    return [collate(g) for g in groups]


class ReaderGroup:
    """Training batches of several :class:`LoaderStream` read ahead by one DataLoader: a
    reader process reads step ``b``'s batch of every stream and sends them in one message
    (half the pipe round trips of a loader per stream, and the largest ``num_workers`` of the
    domains in all rather than per domain). ``batch(b)`` for consecutive ``b`` reads ahead; any
    other ``b`` (a resume) starts the readers anew from there."""

    def __init__(self, streams: list[LoaderStream]) -> None:
        self.streams = streams
        self._next: int | None = None
        self._batches: Iterator | None = None

    def batch(self, b: int) -> list[tuple[Tensor, Tensor | None]]:
        """Batch ``b`` of each stream, as :meth:`LoaderStream.batch` gives it."""
        if self._batches is None or self._next != b:
            self.close()
            readers = _Readers([s.domain.reader(train=True) for s in self.streams])
            workers = max(s.domain.num_workers for s in self.streams)
            collate_fn = functools.partial(_collate_streams, count=len(self.streams))
            loader = read_ahead(readers, _StepKeys(self.streams, b), workers, collate_fn)
            self._batches = iter(loader)
        self._next = b + 1
        parts = next(self._batches)
        return [s.finish(b, part) for s, part in zip(self.streams, parts, strict=True)]

    def close(self) -> None:
        """Stop the reader processes (a later :meth:`batch` starts them again)."""
        self._batches = None


class LoaderStream:
    """Training batches of a :class:`StreamedDomain`, read ahead by its DataLoader workers.

    Epoch ``e`` orders the domain's rows by :func:`epoch_permutation` of ``(seed, 0, index,
    e)`` and gives process ``rank`` of ``world_size`` every ``world_size``-th of them; an epoch
    drops its last partial batch. Its batches are read by a :class:`ReaderGroup` (its own, or
    one it shares with the other streams of a :class:`PairedBatches`).
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
        self._group = ReaderGroup([self])

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
        return self._group.batch(b)[0]

    def finish(self, b: int, part: tuple) -> tuple[Tensor, Tensor | None]:
        """Batch ``b`` from its :func:`collate`-d ``part``: skips recorded, tensors made."""
        x, y, _, skipped = part
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
        self._group.close()


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
        loaders = [s for s in streams if isinstance(s, LoaderStream)]
        self._group = ReaderGroup(loaders) if loaders else None
        self.drawn = 0

    def next(self) -> tuple[list[tuple[Tensor, Tensor]], list[Tensor]]:
        b = self.drawn
        self.drawn += 1
        read = iter(self._group.batch(b) if self._group else [])
        batches = [
            next(read) if isinstance(s, LoaderStream) else s.batch(b)
            for s in self.sources + self.targets
        ]
        sources = batches[: len(self.sources)]
        targets = [x for x, _ in batches[len(self.sources) :]]
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
        if self._group is not None:
            self._group.close()
