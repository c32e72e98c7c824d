"""Proxy A-distance (Ben-David et al. 2007; Ganin et al. 2016 §5.1): how well a linear
classifier tells two samples apart.

``d_A = 2 (1 - 2 ε)``, with ``ε`` the held-out error of a linear classifier trained to separate
source from target. 0: indistinguishable; 2: perfectly separable. The classifier's
regularisation ``C`` is chosen by cross-validation on the training part only, so that the
held-out error is not biased low by the choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import MaxAbsScaler

MIN_SAMPLES = 6
"""Samples per domain below which the proxy A-distance is not estimated (3-fold CV on half)."""


def proxy_a_distance(
    f_src: Any,
    f_tgt: Any,
    test_size: float = 0.5,
    cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    seed: int = 0,
    max_samples: int = 4000,
) -> float:
    """Proxy A-distance between two samples of features.

    Parameters
    ----------
    f_src, f_tgt : array-like, sparse matrix or tensor
        ``(N, F)`` and ``(M, F)`` features (numpy, SciPy sparse, dense or sparse torch).
    test_size : float
        Fraction of the pooled samples held out to measure the error ``ε``.
    cs : sequence of float
        Inverse regularisation strengths tried (3-fold cross-validation on the training part).
    seed : int
        Seeds the subsampling and the split.
    max_samples : int
        At most this many samples per domain are used (drawn at random).

    Returns ``d_A`` in ``[-2, 2]`` (values below 0 mean the classifier did worse than chance),
    or NaN when a domain has fewer than :data:`MIN_SAMPLES` samples: too few to hold some out
    and cross-validate.
    """
    rng = np.random.default_rng(seed)

    def prepare(f: Any) -> Any:
        if isinstance(f, torch.Tensor) and f.is_sparse:
            f = f.detach().cpu().coalesce()
            (rows, cols), values = f.indices().numpy(), f.values().numpy()
            f = scipy.sparse.csr_matrix((values, (rows, cols)), shape=tuple(f.shape))
        elif isinstance(f, torch.Tensor):
            f = f.detach().cpu().numpy()
        if not scipy.sparse.issparse(f):
            f = np.asarray(f, dtype=np.float64).reshape(len(f), -1)
        if f.shape[0] > max_samples:
            f = f[rng.choice(f.shape[0], max_samples, replace=False)]
        return f

    a, b = prepare(f_src), prepare(f_tgt)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature widths differ: {a.shape[1]} and {b.shape[1]}")
    if min(a.shape[0], b.shape[0]) < MIN_SAMPLES:
        return math.nan
    stack = scipy.sparse.vstack if scipy.sparse.issparse(a) else np.vstack
    x = MaxAbsScaler().fit_transform(stack([a, b]))
    y = np.r_[np.zeros(a.shape[0]), np.ones(b.shape[0])]
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    search = GridSearchCV(LogisticRegression(max_iter=2000), {"C": list(cs)}, cv=3)
    error = float(np.mean(search.fit(x_tr, y_tr).predict(x_te) != y_te))
    return 2.0 * (1.0 - 2.0 * error)
