"""Paired infinite iteration over in-memory domains, stateless and seeded.

Each domain is reshuffled every epoch with a permutation drawn from a generator seeded by
``(seed, domain index, epoch)``; batch ``b`` of a domain is a slice of that permutation. So the
whole stream is a pure function of the seed and the number of batches drawn: resuming needs
only that count, and a step costs one index gather per domain (no per-sample Python work).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from unshift.data.domains import Domain, take_rows


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
            seq = np.random.SeedSequence([self.seed, self.rank, self.index, epoch])
            gen = torch.Generator().manual_seed(int(seq.generate_state(1, np.uint64)[0] >> 1))
            if self.weights is None:
                perm = torch.randperm(self.n, generator=gen)
            else:
                perm = torch.multinomial(self.weights.cpu().double(), self.n, True, generator=gen)
            self._perm = perm.to(self.x.device)
            self._epoch = epoch
        assert self._perm is not None
        return self._perm

    def batch(self, b: int) -> tuple[Tensor, Tensor | None]:
        """Batch number ``b`` (0-based) of the stream: ``x`` ``(B, *)`` and ``y`` ``(B,)``."""
        epoch, offset = divmod(b, self.per_epoch)
        idx = self._permutation(epoch)[offset * self.batch_size : (offset + 1) * self.batch_size]
        x = take_rows(self.x, idx).contiguous(memory_format=self.memory_format)
        return x, None if self.y is None else self.y[idx]


class PairedBatches:
    """Draws aligned batches from several source and target domains.

    ``next()`` returns ``(sources, targets)``: lists of ``(x, y)`` and of ``x`` batches, one per
    domain. ``drawn`` counts calls, and is all a checkpoint must store to resume the stream.
    Each distributed rank (``rank``) draws its own stream; 4-D image batches come in
    ``memory_format``.
    """

    def __init__(
        self,
        sources: list[Domain],
        targets: list[Domain],
        batch_size: int,
        seed: int,
        rank: int = 0,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        streams = [
            DomainStream(d, batch_size, seed, rank, i, memory_format)
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
