"""How the estimators read their rows: which are source and which target (scikit-learn's and
skada's conventions), and the label-free input scaling over both."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array

UNLABELLED = -1
"""The label of an unlabelled (target) row, as in :mod:`sklearn.semi_supervised`."""


def _stack(parts: list[Any]) -> Any:
    return (scipy.sparse.vstack if scipy.sparse.issparse(parts[0]) else np.vstack)(parts)


def split_rows(
    X: Any, y: np.ndarray, X_target: Any = None, sample_domain: Any = None
) -> tuple[Any, np.ndarray, Any]:
    """``(X_source, y_source, X_target_rows)`` from validated ``X`` ``(n, F)`` and ``y``
    ``(n,)``: target rows are those with ``y == -1`` or, where ``sample_domain`` ``(n,)`` is
    given, a negative domain (> 0: source); ``X_target`` ``(m, F)`` rows are appended to them."""
    if sample_domain is not None:
        sample_domain = np.asarray(sample_domain)
        if sample_domain.shape != (X.shape[0],) or (sample_domain == 0).any():
            raise ValueError(
                "sample_domain needs one non-zero domain per row of X (> 0: source, < 0: "
                f"target); got shape {sample_domain.shape}"
            )
        is_target = sample_domain < 0
    else:
        is_target = y == UNLABELLED if y.dtype.kind in "iuf" else np.zeros(len(y), bool)
    X_source, X_tgt = X[~is_target], X[is_target]
    if X_target is not None:
        X_target = check_array(X_target, accept_sparse="csr", dtype=np.float32)
        if X_target.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_target has {X_target.shape[1]} features but X has {X.shape[1]}; they must agree"
            )
        X_tgt = _stack([X_tgt, X_target]) if X_tgt.shape[0] else X_target
    return X_source, y[~is_target], X_tgt


def pooled_scaler(X_source: Any, X_target: Any) -> StandardScaler:
    """Per-feature standardisation over the source and target rows together (no labels);
    sparse inputs are scaled, not centred, so they stay sparse."""
    pooled = _stack([X_source, X_target]) if X_target.shape[0] else X_source
    return StandardScaler(with_mean=not scipy.sparse.issparse(X_source)).fit(pooled)
