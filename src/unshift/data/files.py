"""Domains from files under a user-given path: ``.npz`` archives with arrays ``X`` and ``y``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from unshift.data.domains import Domain
from unshift.errors import DataError


def _labels(y: np.ndarray, path: Path) -> torch.Tensor:
    """Integer labels; whole-number floats (as CSV tools write them) are accepted."""
    if y.dtype.kind in "iu":
        return torch.as_tensor(y.astype(np.int64))
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return torch.as_tensor(y.astype(np.int64))
    bad = y.ravel()[0] if y.size else None
    if y.dtype.kind == "f":
        nonint = y[~(np.isfinite(y) & (y == np.round(y)))]
        bad = nonint[0] if nonint.size else bad
    raise DataError(f"{path}: labels 'y' must be integers; found {bad!r} (dtype {y.dtype})")


def load_npz(path: str | Path, name: str | None = None, labelled: bool = True) -> Domain:
    """A domain from ``path``: array ``X`` ``(N, *)`` (floats) and, if present, ``y`` ``(N,)``.

    ``labelled=True`` requires ``y``. Errors name the file and what was expected.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(f"data file {path} is not a readable .npz archive ({err})") from None
    if "X" not in arrays:
        raise DataError(f"data file {path} has no array 'X' (found {sorted(arrays)})")
    x = arrays["X"]
    if x.dtype.kind not in "fiu" or x.ndim < 2:
        raise DataError(
            f"{path}: 'X' must be a numeric array of shape (N, features); got {x.shape}"
        )
    y = arrays.get("y")
    if y is None and labelled:
        raise DataError(f"data file {path} has no labels: expected an array 'y'")
    domain_name = name or path.stem
    xt = torch.as_tensor(x.astype(np.float32))
    return Domain(xt, None if y is None else _labels(y, path), domain_name)
