"""Domain data held in memory, validated once, before any training step.

A task has one or more labelled *source* domains and one or more unlabelled *target*
domains (each a domain of its own for the discriminator), plus optional labelled test sets.
Target training labels may be kept (``y`` set) for the train-on-target upper bound; adaptation
methods never see them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import torch
from torch import Tensor

from unshift.core.errors import DataError, require
from unshift.core.registry import SectionConfig
from unshift.data.checks import check_domain

if TYPE_CHECKING:
    from unshift.data.streamed import StreamedDomain

AnyDomain: TypeAlias = "Domain | StreamedDomain"
"""What the loop, evaluation and validators take: an in-memory :class:`Domain` or a
:class:`~unshift.data.streamed.StreamedDomain`; both have ``len``, ``y``, ``name``,
``classes``, ``weights``, ``sample_shape``, ``take``, ``subset``, ``unlabelled`` and
``iter_batches``."""


def as_float(x: Tensor) -> Tensor:
    """Pixels ``uint8`` → ``float32`` in ``[0, 1]``; other tensors unchanged."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def take_rows(x: Tensor, index: Tensor) -> Tensor:
    """Rows ``index`` of ``x`` as a dense tensor; a sparse ``x`` densifies only those rows and
    ``uint8`` pixels become floats in ``[0, 1]``."""
    if x.is_sparse:
        return x.index_select(0, index).to_dense()
    return as_float(x[index])


@dataclass
class Domain:
    """Samples ``x`` ``(N, *)`` (dense, or a 2-D sparse COO tensor) and, where known, integer
    labels ``y`` ``(N,)``; ``classes``: the label values of the file they came from, where they
    are not ``0..C-1`` (svmlight's ``[-1, 1]``). ``weights`` ``(N,)`` (>= 0, not all 0): rows
    are drawn for training in proportion to them, with replacement; ``None``: each row once
    per epoch."""

    x: Tensor
    y: Tensor | None = None
    name: str = "domain"
    classes: list[int] | None = None
    weights: Tensor | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device | str) -> Domain:
        """This domain with its tensors on ``device``."""
        y = None if self.y is None else self.y.to(device)
        weights = None if self.weights is None else self.weights.to(device)
        return Domain(self.x.to(device), y, self.name, self.classes, weights)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. ``(2,)`` or ``(3, 28, 28)``."""
        return tuple(self.x.shape[1:])

    def take(self, index: Tensor) -> Tensor:
        """Samples ``index`` as a dense float batch ``(len(index), *sample_shape)``."""
        return take_rows(self.x, index.to(self.x.device))

    def subset(self, index: Tensor) -> Domain:
        """The domain of rows ``index`` (labels and weights kept aligned)."""
        index = index.to(self.x.device)
        return Domain(
            self.x.index_select(0, index) if self.x.is_sparse else self.x[index],
            None if self.y is None else self.y[index],
            self.name,
            self.classes,
            None if self.weights is None else self.weights[index],
        )

    def unlabelled(self) -> Domain:
        """This domain without its labels."""
        return dataclasses.replace(self, y=None)

    def row_names(self) -> list:
        """A name per row: its number."""
        return list(range(len(self)))

    def iter_batches(self, batch_size: int = 1024) -> Iterator[tuple[Tensor, Tensor]]:
        """Consecutive dense float batches ``(B, *)`` in row order, each with its row indices
        ``(B,)`` (an in-memory domain never skips a row)."""
        for i in range(0, len(self), batch_size):
            rows = torch.arange(i, min(i + batch_size, len(self)))
            if self.x.is_sparse:
                yield take_rows(self.x, rows.to(self.x.device)), rows
            else:
                yield as_float(self.x[i : i + batch_size]), rows


@dataclass
class TaskData:
    """Source and target domains of one adaptation task, checked for consistency.

    ``num_classes`` is the number of classes (labels ``(N,)`` lie in ``[0, num_classes)``), or
    for several outputs a tuple of class counts, one per output (labels ``(N, L)``, column
    ``i`` in ``[0, num_classes[i])``). ``channel_norm`` asks the network to standardise each
    image channel by :func:`channel_stats` in its first layer: by ``norm_stats`` (per-channel
    mean and deviation, e.g. ImageNet's) where given, else by the training images' own.
    ``source_val``: labelled source samples held out of the source training sets
    (:func:`hold_out`), never trained on. Domains are in memory or streamed (:data:`AnyDomain`).
    """

    sources: list[AnyDomain]
    targets: list[AnyDomain]
    num_classes: int | tuple[int, ...]
    source_test: AnyDomain | None = None
    target_test: AnyDomain | None = None
    meta: dict = field(default_factory=dict)
    channel_norm: bool = False
    source_val: AnyDomain | None = None
    norm_stats: tuple[list[float], list[float]] | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            raise DataError("a task needs at least one source domain")
        if not self.targets:
            raise DataError("a task needs at least one target domain")
        if not isinstance(self.num_classes, int):
            self.num_classes = tuple(int(c) for c in self.num_classes)
        if min(self.class_counts, default=0) < 2:
            raise DataError(
                f"a task needs at least 2 classes per output; got num_classes={self.num_classes}"
            )
        shape = self.sources[0].sample_shape
        for role, domain in self._all_domains():
            check_domain(domain, role, shape, self.num_classes, labelled=role.startswith("source"))

    def _all_domains(self) -> list[tuple[str, AnyDomain]]:
        named = [(f"source '{d.name}'", d) for d in self.sources]
        named += [(f"target '{d.name}'", d) for d in self.targets]
        if self.source_test is not None:
            named.append((f"source test '{self.source_test.name}'", self.source_test))
        if self.target_test is not None:
            named.append((f"target test '{self.target_test.name}'", self.target_test))
        if self.source_val is not None:
            named.append((f"source validation '{self.source_val.name}'", self.source_val))
        return named

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. ``(2,)`` or ``(3, 28, 28)``."""
        return self.sources[0].sample_shape

    @property
    def class_counts(self) -> tuple[int, ...]:
        """Classes per output: ``(num_classes,)`` for a single output."""
        n = self.num_classes
        return (n,) if isinstance(n, int) else n

    @property
    def num_domains(self) -> int:
        return len(self.sources) + len(self.targets)

    def shape_info(self) -> dict:
        """What sizes a network for this task (JSON-safe): sample shape, classes, domains; and
        what :func:`unshift.runs.predict.load_model` needs to read new inputs the same way:
        ``input_transform`` (``log1p``, standardisation ``mean``/``std``) and the file's own
        label values ``classes``, where the task has them."""
        return {
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes
            if isinstance(self.num_classes, int)
            else list(self.num_classes),
            "num_sources": len(self.sources),
            "num_targets": len(self.targets),
            "channel_norm": self.channel_norm,
            **{k: self.meta[k] for k in ("classes", "input_transform") if k in self.meta},
        }

    @classmethod
    def placeholder(cls, info: dict) -> TaskData:
        """A task of one all-zero sample per domain with the sizes of :meth:`shape_info`: enough
        to build a network whose weights are then loaded, without reading any data
        (``meta["placeholder"]`` tells network builders not to load pretrained weights)."""
        shape, classes = tuple(info["input_shape"]), info["num_classes"]
        labels = torch.zeros(
            (1,) if isinstance(classes, int) else (1, len(classes)), dtype=torch.long
        )

        def domain(name: str) -> Domain:
            return Domain(torch.zeros((1, *shape)), labels, name)

        return cls(
            [domain(f"source {i}") for i in range(info["num_sources"])],
            [domain(f"target {i}") for i in range(info["num_targets"])],
            classes if isinstance(classes, int) else tuple(classes),
            meta={"placeholder": True},
            channel_norm=info["channel_norm"],
        )


def standardize(data: TaskData) -> TaskData:
    """Every domain scaled by the source training mean and standard deviation (sparse inputs
    become dense: centring fills in the zeros)."""
    x = torch.cat([d.x.to_dense() for d in data.sources])
    mean, std = x.mean(0), x.std(0).clamp(min=1e-8)

    def scaled(d: Domain | None) -> Domain | None:
        return None if d is None else Domain((d.x.to_dense() - mean) / std, d.y, d.name)

    transform = {**data.meta.get("input_transform", {}), "mean": mean.tolist(), "std": std.tolist()}
    return dataclasses.replace(
        data,
        meta={**data.meta, "input_transform": transform},
        sources=[scaled(d) for d in data.sources],
        targets=[scaled(d) for d in data.targets],
        source_test=scaled(data.source_test),
        target_test=scaled(data.target_test),
    )


STREAMED_STATS_IMAGES = 2000
"""Images per streamed domain that per-channel statistics read (the first ones)."""


def channel_stats(data: TaskData, per_domain: int = 10000) -> tuple[list[float], list[float]]:
    """Per-channel mean and deviation of images ``(N, C, H, W)`` in ``[0, 1]`` pixel units:
    ``data.norm_stats`` where the task fixes them, else those of the training images of every
    domain (no labels): the first ``per_domain`` of an in-memory domain, the first
    ``min(per_domain, STREAMED_STATS_IMAGES)`` of a streamed one (read batch by batch)."""
    if data.norm_stats is not None:
        return list(data.norm_stats[0]), list(data.norm_stats[1])
    domains = data.sources + data.targets
    if all(isinstance(d, Domain) for d in domains):
        pixels = torch.cat([as_float(d.x[:per_domain]) for d in domains])  # type: ignore[union-attr]
        mean, std = pixels.mean((0, 2, 3)), pixels.std((0, 2, 3)).clamp(min=1e-6)
        return mean.tolist(), std.tolist()
    total = squares = count = 0
    for d in domains:
        first = d.subset(torch.arange(min(len(d), per_domain, STREAMED_STATS_IMAGES)))
        for x, _ in first.iter_batches(256):
            x = x.double().transpose(0, 1).flatten(1)
            total, squares = total + x.sum(1), squares + (x * x).sum(1)
            count += x.shape[1]
    mean = total / count
    var = (squares - count * mean * mean) / max(count - 1, 1)
    return mean.tolist(), var.clamp(min=0).sqrt().clamp(min=1e-6).tolist()


@dataclass
class DatasetConfig(SectionConfig):
    """Base of the built-in datasets' configs. ``source_val_fraction``: the fraction of each
    source training set held out as labelled source validation data (never trained on; read by
    label-free validators), drawn with ``source_val_seed`` (fixed across training seeds, so that
    runs that differ in their seed are scored on the same samples)."""

    source_val_fraction: float = 0.0
    source_val_seed: int = 0

    def __post_init__(self) -> None:
        require(
            0.0 <= self.source_val_fraction < 1.0,
            "source_val_fraction",
            f"must lie in [0, 1); got {self.source_val_fraction}",
        )


def hold_out(data: TaskData, fraction: float, seed: int) -> TaskData:
    """``data`` with ``fraction`` of each source training set (at least one sample, at least
    one left) moved, seeded, into ``source_val``."""
    kept, held = [], []
    for i, domain in enumerate(data.sources):
        gen = torch.Generator().manual_seed(seed * 1009 + i)
        order = torch.randperm(len(domain), generator=gen)
        n_val = min(max(1, round(fraction * len(domain))), len(domain) - 1)
        val, train = order[:n_val].sort().values, order[n_val:].sort().values
        kept.append(domain.subset(train))
        held.append(dataclasses.replace(domain.subset(val), weights=None))
    if len(held) == 1:
        source_val = held[0]
    elif all(isinstance(d, Domain) for d in held):
        source_val = Domain(
            torch.cat([d.x for d in held]),  # type: ignore[union-attr]
            torch.cat([d.y for d in held]),  # type: ignore[misc]
            "+".join(d.name for d in held),
        )
    else:
        raise DataError(
            "holding out source validation data of several streamed sources is not "
            "supported; set data.source_val_fraction=0"
        )
    return dataclasses.replace(data, sources=kept, source_val=source_val)
