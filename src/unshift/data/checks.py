"""Checks that a domain can be used, each failure a :class:`DataError` naming the domain's
role: size, sample shape, finite values, sampling weights and labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from unshift.core.errors import DataError

if TYPE_CHECKING:
    from unshift.data.domains import AnyDomain


def check_domain(
    domain: AnyDomain,
    role: str,
    shape: tuple[int, ...],
    num_classes: int | tuple[int, ...],
    labelled: bool,
) -> None:
    """Raise :class:`DataError` naming ``role`` if the domain cannot be used (a streamed
    domain: its size, sample shape, weights and labels; its samples are read only later)."""
    in_memory = hasattr(domain, "x")
    if in_memory and not isinstance(domain.x, Tensor):
        raise DataError(f"{role}: samples must be a torch.Tensor; got {type(domain.x).__name__}")
    if len(domain) == 0:
        raise DataError(f"{role} is empty: it has no samples")
    if domain.sample_shape != shape:
        raise DataError(
            f"{role}: each sample has shape {domain.sample_shape}, but the source samples have "
            f"shape {shape}; source and target features must agree"
        )
    if in_memory:
        check_values(domain.x, role)
    check_weights(domain.weights, len(domain), role)
    if domain.y is None:
        if labelled:
            raise DataError(f"{role} has no labels; source domains must be labelled")
        return
    check_labels(domain.y, len(domain), num_classes, role)


def check_values(x: Tensor, role: str) -> None:
    """Floating-point samples must be finite."""
    values = x.coalesce().values() if x.is_sparse else x
    if values.is_floating_point() and not bool(torch.isfinite(values).all()):
        bad_values = ~torch.isfinite(values)
        if x.is_sparse:
            bad = int(x.coalesce().indices()[0, bad_values].min())
        else:
            bad = int(bad_values.flatten(1).any(1).nonzero()[0])
        kind = "NaN" if bool(torch.isnan(values).any()) else "Inf"
        raise DataError(f"{role}: the samples contain {kind} values (first at sample {bad})")


def check_weights(w: Tensor | None, n: int, role: str) -> None:
    """Sampling weights: ``None``, or one finite value ``>= 0`` per sample, not all 0."""
    if w is not None and (
        w.shape != (n,)
        or not bool(torch.isfinite(w).all())
        or bool((w < 0).any())
        or not bool((w > 0).any())
    ):
        raise DataError(
            f"{role}: weights need one finite value >= 0 per sample, not all 0; got shape "
            f"{tuple(w.shape)}"
        )


def check_labels(y: Tensor, n: int, num_classes: int | tuple[int, ...], role: str) -> None:
    """Integer labels ``(n,)`` in ``[0, num_classes)`` (``(n, L)`` for ``L`` outputs)."""
    if y.shape[0] != n:
        raise DataError(f"{role}: {n} samples but {y.shape[0]} labels")
    if y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
        raise DataError(f"{role}: labels must be integers; got dtype {y.dtype}")
    if isinstance(num_classes, int):
        if y.ndim != 1:
            raise DataError(f"{role}: labels must have shape (N,); got {tuple(y.shape)}")
        columns, counts = [y], [num_classes]
    else:
        if y.ndim != 2 or y.shape[1] != len(num_classes):
            raise DataError(
                f"{role}: {len(num_classes)} outputs need labels of shape (N, {len(num_classes)});"
                f" got {tuple(y.shape)}"
            )
        columns, counts = list(y.T), list(num_classes)
    for i, (column, count) in enumerate(zip(columns, counts, strict=True)):
        lo, hi = int(column.min()), int(column.max())
        if lo < 0 or hi >= count:
            where = "" if isinstance(num_classes, int) else f" of output {i}"
            raise DataError(
                f"{role}: labels{where} must lie in [0, {count - 1}]; got labels from {lo} to {hi}"
            )
