"""Domains read sample by sample from a map-style dataset, by DataLoader workers.

A :class:`StreamedDomain` is the disk-backed twin of the in-memory
:class:`~unshift.data.domains.Domain`: the same protocol (``len``, ``y``, ``sample_shape``,
``take``, ``subset``, ``unlabelled``, ``iter_batches``), so that the trainer,
evaluation, predictions and validators never ask which kind they hold. Only the labels live in
memory; samples are decoded per batch and dropped after use.

Reproducibility: batch ``b`` of a training stream holds the rows of a permutation that is a
pure function of ``(seed, domain index, epoch)`` (the same one an in-memory domain draws), and
sample ``k`` of that batch is read under a torch seed that is a pure function of ``(seed,
domain index, b, k)``, so random augmentations do not depend on which worker reads it, nor on
how many workers there are. Resuming therefore needs only the number of batches drawn.
Under DDP the epoch's permutation is shared by all processes and each reads its own shard.

A sample that cannot be read (a corrupt image) raises :class:`UnreadableSample` in the
dataset: training skips it (the batch is one smaller; :attr:`StreamedDomain.skipped` names it),
evaluation leaves its row out and says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, get_worker_info

from unshift.core.errors import DataError
from unshift.data.domains import as_float


class UnreadableSample(Exception):
    """Raised by a dataset's ``__getitem__`` for a sample that cannot be read (the message
    names it); the domain skips the sample instead of failing the batch."""


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


READER_NICENESS = 19
"""How much lower than the training process's priority reader processes run (Unix ``nice``)."""

ORPHAN_CHECK_S = 1.0
"""How often (seconds) a reader process checks that the training process is still there."""


def default_workers() -> int:
    """DataLoader workers when none are configured: one per CPU but one (for the training
    process), at least 1, at most 8."""
    return min(8, max(1, available_cpus() - 1))


def sample_tensor(item: Any) -> Tensor:
    """A dataset item's sample as a tensor: the first element of a ``(sample, label)`` pair; a
    PIL image becomes ``uint8`` ``(C, H, W)`` (pixels become floats in ``[0, 1]`` per batch)."""
    x = item[0] if isinstance(item, tuple | list) else item
    if not isinstance(x, Tensor) and hasattr(x, "mode") and hasattr(x, "size"):  # PIL
        array = torch.from_numpy(np.array(x, copy=True))
        x = array.unsqueeze(0) if array.ndim == 2 else array.permute(2, 0, 1)
    return torch.as_tensor(x)


class Reader(Dataset):
    """Item ``(position, i, seed)`` → ``(position, sample, label)`` for row ``i`` of a domain
    (dataset row ``rows[i]``), or ``(position, message, None)`` for an unreadable sample.
    ``seed`` (if not None) seeds torch's CPU generator for the read, so that random transforms
    are reproducible in any process (the training process's own state is restored).

    A dataset may read a batch at once: with ``draws`` False (it uses no random state) and
    ``read_many(rows)`` giving the items of ``rows``, each a tensor or the
    :class:`UnreadableSample` it met."""

    def __init__(self, dataset: Dataset, rows: Tensor, labels: Tensor | None) -> None:
        # numpy arrays: cheap to index per sample, and shared by forked reader processes
        self.dataset, self.rows = dataset, rows.numpy()
        self.labels = None if labels is None else labels.numpy()

    def __len__(self) -> int:
        return len(self.rows)

    def _read(self, i: int) -> Tensor:
        return sample_tensor(self.dataset[int(self.rows[i])])

    def __getitem__(self, key: tuple[int, int, int | None]) -> tuple[int, Any, Any]:
        position, i, seed = key
        try:
            if seed is None:
                x = self._read(i)
            elif get_worker_info() is not None:  # a reader process: its random state is its own
                torch.default_generator.manual_seed(seed)
                x = self._read(i)
            else:  # the training process: leave its random state as it was
                state = torch.default_generator.get_state()
                torch.default_generator.manual_seed(seed)
                try:
                    x = self._read(i)
                finally:
                    torch.default_generator.set_state(state)
        except UnreadableSample as err:
            return position, str(err), None
        return position, x, self._label(i)

    def _label(self, i: int) -> int:
        return -1 if self.labels is None else int(self.labels[i])

    def __getitems__(self, keys: list) -> list[tuple[int, Any, Any]]:
        read_many = getattr(self.dataset, "read_many", None)
        if read_many is None or getattr(self.dataset, "draws", True):
            return [self[key] for key in keys]
        samples = read_many([int(self.rows[i]) for _, i, _ in keys])
        return [
            (p, str(x), None) if isinstance(x, UnreadableSample) else (p, x, self._label(i))
            for (p, i, _), x in zip(keys, samples, strict=True)
        ]


def collate(items: list[tuple[int, Any, Any]]) -> tuple[Any, np.ndarray, np.ndarray, list[str]]:
    """Kept samples ``(B, *)``, their labels, their positions in the batch, skipped messages.
    ``uint8`` pixels stay bytes until :func:`batch_tensor` (a quarter of the bytes cross the
    pipe; measured faster also on CPU). Arrays are NumPy where the dtype allows: a NumPy array
    leaves a reader process through its pipe, while a tensor goes through a shared-memory file
    whose descriptor the training process must fetch from the reader, one round trip per
    tensor (~0.7 ms each here, on the training step's critical path)."""
    kept = [(p, x, y) for p, x, y in items if y is not None]
    skipped = [x for _, x, y in items if y is None]
    if not kept:
        return np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), skipped
    positions = np.array([p for p, _, _ in kept], np.int64)
    x = torch.stack([x for _, x, _ in kept])
    y = np.array([y for _, _, y in kept], np.int64)
    return (x if x.dtype == torch.bfloat16 else x.numpy()), y, positions, skipped


def _start_reader(worker_id: int) -> None:
    """Set up a reader process: it runs at lower priority (niceness +:data:`READER_NICENESS`):
    where CPUs are few, it then uses the time the training process leaves instead of
    preempting its threads, which spin while one of them waits (measured on 2 CPUs, DANN on
    PNG digits); and it exits when the training process is gone (:func:`_exit_when_orphaned`)."""
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):  # not permitted here: stay as we are
            os.nice(READER_NICENESS)
    watch = threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True)
    watch.start()


def _exit_when_orphaned(parent: int) -> None:
    """Exit this process within :data:`ORPHAN_CHECK_S` of its parent's death. PyTorch's own
    check ends a worker's loop, but the process then waits for its queue's feeder thread,
    which blocks for ever writing to a pipe that its sibling readers keep open (seen after
    kill -9 of a training process: its readers stayed, asleep, holding their memory)."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(0)


def read_ahead(dataset: Dataset, keys: Iterable, num_workers: int, collate_fn: Any) -> DataLoader:
    """A DataLoader over reader keys: batches of ``keys`` read by ``num_workers`` low-priority
    processes (0: in this one) and collated by ``collate_fn``."""
    return DataLoader(
        dataset,
        batch_sampler=keys,  # type: ignore[arg-type]
        collate_fn=collate_fn,
        num_workers=num_workers,
        worker_init_fn=_start_reader,
    )


def batch_tensor(x: Any, device: torch.device | str = "cpu") -> Tensor:
    """A collated batch of samples as a tensor on ``device``, pixels as floats in ``[0, 1]``."""
    return as_float(torch.as_tensor(x).to(device, non_blocking=True))


@dataclass
class StreamedDomain:
    """A domain of ``len(dataset)`` samples read on demand.

    ``dataset[i]`` gives sample ``i`` (a tensor of ``sample_shape``; ``uint8`` pixels become
    floats in ``[0, 1]``; a ``(sample, label)`` pair is taken as its sample) for evaluation;
    ``train_dataset[i]`` (default: ``dataset``) the same sample for training, e.g. with random
    augmentation. ``y`` ``(N,)``: the labels, known without reading any sample (``None`` for an
    unlabelled domain). ``rows``: the dataset rows this domain holds (a subset), default all.
    ``num_workers``: DataLoader worker processes (0: read in the calling process).
    ``names``: a name per dataset row (e.g. file paths), for predictions and messages.
    """

    dataset: Dataset
    y: Tensor | None
    sample_shape: tuple[int, ...]
    name: str = "domain"
    num_workers: int = 0
    train_dataset: Dataset | None = None
    classes: list | None = None
    weights: Tensor | None = None
    rows: Tensor | None = None
    names: Sequence[str] | None = None
    skipped: list[str] = field(default_factory=list, compare=False, repr=False)
    """Messages of the samples skipped so far (unreadable), in the order met."""

    def __post_init__(self) -> None:
        self.sample_shape = tuple(int(s) for s in self.sample_shape)
        if self.rows is None:
            self.rows = torch.arange(len(self.dataset))  # type: ignore[arg-type]
        if self.y is not None and len(self.y) != len(self.rows):
            raise DataError(f"{self.name}: {len(self.rows)} samples but {len(self.y)} labels")

    def __len__(self) -> int:
        assert self.rows is not None
        return len(self.rows)

    def to(self, device: torch.device | str) -> StreamedDomain:
        """This domain (samples move to a device batch by batch, when drawn)."""
        return self

    def row_names(self) -> list[str]:
        """A name per row: the dataset's names, or the dataset row numbers."""
        assert self.rows is not None
        rows = self.rows.tolist()
        return [str(r) for r in rows] if self.names is None else [self.names[r] for r in rows]

    def subset(self, index: Tensor) -> StreamedDomain:
        """The domain of rows ``index`` (labels and weights kept aligned)."""
        assert self.rows is not None
        index = index.cpu()
        return dataclasses.replace(
            self,
            rows=self.rows[index],
            y=None if self.y is None else self.y[index],
            weights=None if self.weights is None else self.weights[index],
            skipped=[],
        )

    def unlabelled(self) -> StreamedDomain:
        """This domain without its labels."""
        return dataclasses.replace(self, y=None, skipped=[])

    def reader(self, train: bool) -> Reader:
        """The reader of this domain's rows: training samples (augmented) or evaluation ones."""
        assert self.rows is not None
        dataset = (self.train_dataset or self.dataset) if train else self.dataset
        return Reader(dataset, self.rows, self.y)  # type: ignore[arg-type]

    def take(self, index: Tensor) -> Tensor:
        """Samples ``index`` (rows of this domain) read in this process, without augmentation,
        as a batch ``(M, *sample_shape)``: ``M = len(index)`` but for unreadable samples, which
        are left out with a warning."""
        reader = Reader(self.dataset, self.rows, None)  # type: ignore[arg-type]
        read = [reader[(0, i, None)] for i in index.tolist()]
        self._skip([x for _, x, y in read if y is None], "left out")
        kept = [x for _, x, y in read if y is not None]
        return as_float(torch.stack(kept)) if kept else torch.empty(0, *self.sample_shape)

    def iter_batches(self, batch_size: int = 256) -> Iterator[tuple[Tensor, Tensor]]:
        """Batches ``(B, *)`` in row order, read without augmentation by the workers, each with
        the indices ``(B,)`` of its rows; an unreadable sample is left out of its batch, named
        in a warning and added to :attr:`skipped`."""
        assert self.rows is not None
        n = len(self)
        keys = [
            [(k - i, k, None) for k in range(i, min(i + batch_size, n))]
            for i in range(0, n, batch_size)
        ]
        loader = read_ahead(self.reader(train=False), keys, self.num_workers, collate)
        for (x, _, positions, skipped), batch_keys in zip(loader, keys, strict=True):
            self._skip(skipped, "left out")
            if len(positions):
                yield batch_tensor(x), torch.from_numpy(positions) + batch_keys[0][1]

    def _skip(self, messages: list[str], what: str) -> None:
        for message in messages:
            warnings.warn(f"{message}: {what}", stacklevel=3)
        self.skipped.extend(messages)
