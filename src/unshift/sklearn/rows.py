"""How the estimators read their rows: which are source and which target (scikit-learn's and
skada's conventions), and the label-free input scaling over both."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array

UNLABELLED = -1
"""The label of an unlabelled (target) row, as in :mod:`sklearn.semi_supervised`."""


def unlabelled(y: np.ndarray) -> np.ndarray:
    """A mask ``(n,)`` of the rows of ``y`` ``(n,)`` marked unlabelled (numeric ``-1``)."""
    if y.dtype.kind in "iuf":
        return y == UNLABELLED
    if y.dtype == object:
        return np.array([isinstance(v, int | float | np.number) and v == UNLABELLED for v in y])
    return np.zeros(len(y), bool)


def check_label_kinds(y: Any) -> None:
    """Refuse labels whose unlabelled rows cannot be told apart: strings mixed with numbers,
    and the string ``'-1'`` (a class to scikit-learn, not the marker ``-1``)."""
    y = np.asarray(y)
    if y.dtype.kind not in "OUS" or y.ndim != 1:
        return
    texts = [v for v in y.tolist() if isinstance(v, str | bytes)]
    if texts and len(texts) < len(y):
        numbers = sorted({repr(v) for v in y.tolist() if not isinstance(v, str | bytes)})[:3]
        raise ValueError(
            f"y mixes strings ({texts[0]!r}, ...) with other values ({', '.join(numbers)}); with "
            "string labels, mark the unlabelled target rows by sample_domain (< 0) or pass "
            "them as X_target, or map the labels to integers and mark those rows -1"
        )
    if any(t in ("-1", b"-1") for t in texts):
        raise ValueError(
            "y holds the string '-1', which scikit-learn takes as a class, not as the "
            "unlabelled marker -1: give numeric labels with -1 for target rows, or mark them by "
            "sample_domain (< 0) or pass them as X_target"
        )


def _stack(parts: list[Any]) -> Any:
    return (scipy.sparse.vstack if scipy.sparse.issparse(parts[0]) else np.vstack)(parts)


def varying(weights: np.ndarray | None) -> np.ndarray | None:
    """``weights``, or ``None`` where there are none or all are equal (the same as none)."""
    if weights is None or len(weights) == 0 or np.all(weights == weights[0]):
        return None
    return weights


class Rows(NamedTuple):
    """An estimator's training rows by domain: source rows with labels ``(n_s,)``, target rows,
    and their sample weights (``None``: unweighted)."""

    X_source: Any
    y_source: np.ndarray
    X_target: Any
    w_source: np.ndarray | None = None
    w_target: np.ndarray | None = None


def split_rows(
    X: Any,
    y: np.ndarray,
    X_target: Any = None,
    sample_domain: Any = None,
    sample_weight: np.ndarray | None = None,
) -> Rows:
    """The rows of validated ``X`` ``(n, F)`` and ``y`` ``(n,)`` by domain: target rows are
    those with ``y == -1`` or, where ``sample_domain`` ``(n,)`` is given, a negative domain
    (> 0: source); ``X_target`` ``(m, F)`` rows are appended to them (weight 1 where
    ``sample_weight`` ``(n,)`` is given)."""
    if sample_domain is not None:
        sample_domain = np.asarray(sample_domain)
        if sample_domain.shape != (X.shape[0],) or (sample_domain == 0).any():
            raise ValueError(
                "sample_domain needs one non-zero domain per row of X (> 0: source, < 0: "
                f"target); got shape {sample_domain.shape}"
            )
        is_target = sample_domain < 0
    else:
        is_target = unlabelled(y)
    X_source, X_tgt = X[~is_target], X[is_target]
    w = sample_weight
    w_source, w_tgt = (None, None) if w is None else (w[~is_target], w[is_target])
    if X_target is not None:
        X_target = check_array(X_target, accept_sparse="csr", dtype=np.float32)
        if X_target.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_target has {X_target.shape[1]} features but X has {X.shape[1]}; they must agree"
            )
        X_tgt = _stack([X_tgt, X_target]) if X_tgt.shape[0] else X_target
        if w_tgt is not None:
            w_tgt = np.r_[w_tgt, np.ones(X_target.shape[0])]
    return Rows(X_source, y[~is_target], X_tgt, w_source, w_tgt)


def pooled_scaler(rows: Rows) -> StandardScaler:
    """Per-feature standardisation over the source and target rows together (no labels),
    weighted by their sample weights where given; sparse inputs are scaled, not centred, so
    they stay sparse. A feature constant over all these rows is mapped to 0 (its ``scale_``
    set to infinity): a value of it never seen in training would otherwise reach weights that
    never learned, at whatever scale it comes (e.g. a word absent from the source rows of a
    source-only fit, ×1000)."""
    parts = [rows.X_source] + ([rows.X_target] if rows.X_target.shape[0] else [])
    weights = None
    if rows.w_source is not None:
        weights = varying(np.concatenate([rows.w_source, rows.w_target][: len(parts)]))
    scaler = StandardScaler(with_mean=not scipy.sparse.issparse(rows.X_source))
    scaler.fit(_stack(parts), sample_weight=weights)
    scaler.scale_[scaler.var_ == 0] = np.inf
    return scaler
