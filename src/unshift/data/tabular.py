"""Feature-vector domains from files under a user-given path.

Formats, chosen by file name:

- ``.svmlight`` / ``.svm`` / ``.libsvm`` (optionally ``.gz``): sparse rows ``label idx:value``;
  kept sparse (a torch COO tensor) so that only a batch at a time is made dense.
- ``.npz``: arrays ``X`` ``(N, F)`` and, optionally, ``y`` ``(N,)``.
- ``.mat`` (MATLAB): ``fts`` or ``X`` for features, ``labels`` or ``y`` for labels.
- ``.csv``: a header row, whose label column (default ``label``) is optional for targets; a
  file whose first line is all numbers has no header and no label column (every row is data).

Labels must be integers ``>= 0``; the binary ``{-1, +1}`` convention of svmlight files is
mapped to ``{0, 1}``, and whole-number floats (as CSV tools write them) are accepted.
Errors name the file and what was expected.
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse
import torch
from scipy.io.matlab import MatReadError
from torch import Tensor

from unshift.core.errors import DataError
from unshift.core.registry import DATASETS, PATH, require
from unshift.data.domains import DatasetConfig, Domain, TaskData, standardize

SVMLIGHT = (".svmlight", ".svm", ".libsvm")
FORMATS = (*SVMLIGHT, ".npz", ".mat", ".csv")


def _labels(y: np.ndarray, path: Path) -> tuple[Tensor, list[int] | None]:
    """Labels as class indices ``0..C-1``, and the file's own label values where they differ
    (svmlight's ``[-1, 1]``), so that predictions can be written back in them."""
    y = np.asarray(y).ravel()
    if y.dtype.kind == "f":
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            raise DataError(
                f"{path}: labels must be integers; found {y[~whole][0].item()!r} (dtype {y.dtype})"
            )
    elif y.dtype.kind not in "iub":
        raise DataError(f"{path}: labels must be integers; got dtype {y.dtype}")
    labels, classes = y.astype(np.int64), None
    if set(np.unique(labels).tolist()) <= {-1, 1} and (labels == -1).any():
        labels, classes = (labels > 0).astype(np.int64), [-1, 1]
    if labels.size and labels.min() < 0:
        raise DataError(f"{path}: labels must be >= 0 (or -1/+1); found {labels.min()}")
    return torch.as_tensor(labels), classes


def to_tensor(x: np.ndarray | scipy.sparse.spmatrix) -> Tensor:
    """Features as float32: a dense tensor, or a sparse COO tensor for scipy sparse input."""
    if scipy.sparse.issparse(x):
        coo = scipy.sparse.coo_matrix(x, dtype=np.float32)
        indices = torch.as_tensor(np.vstack([coo.row, coo.col]).astype(np.int64))
        values = torch.as_tensor(coo.data)
        return torch.sparse_coo_tensor(indices, values, coo.shape, check_invariants=True).coalesce()
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def _features(x: np.ndarray | scipy.sparse.spmatrix, path: Path, what: str) -> Tensor:
    if scipy.sparse.issparse(x):
        return to_tensor(x)
    x = np.asarray(x)
    if x.dtype.kind not in "fiub" or x.ndim != 2:
        raise DataError(
            f"{path}: {what} must be a numeric array of shape (N, features); got shape "
            f"{x.shape} and dtype {x.dtype}"
        )
    return to_tensor(x)


def file_format(path: str | Path) -> str:
    """The format suffix of a feature file, ignoring ``.gz``: e.g. ``.svmlight``, ``.npz``."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_svmlight(path: Path, n_features: int | None) -> tuple[Tensor, np.ndarray]:
    from sklearn.datasets import load_svmlight_file

    try:
        x, y = load_svmlight_file(str(path), n_features=n_features, dtype=np.float32)
    except (ValueError, OSError, EOFError, zlib.error) as err:
        raise DataError(f"data file {path} is not a readable svmlight file ({err})") from None
    return _features(x, path, "features"), y


def _read_npz(path: Path) -> tuple[Tensor, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(f"data file {path} is not a readable .npz archive ({err})") from None
    if "X" not in arrays:
        raise DataError(f"data file {path} has no array 'X' (found {sorted(arrays)})")
    y = arrays.get("y")
    return _features(arrays["X"], path, "'X'"), y


def _read_mat(path: Path) -> tuple[Tensor, np.ndarray | None]:
    try:
        content = scipy.io.loadmat(str(path))
    except (ValueError, OSError, TypeError, NotImplementedError, MatReadError) as err:
        raise DataError(f"data file {path} is not a readable .mat file ({err})") from None
    key_x = next((k for k in ("fts", "X", "features") if k in content), None)
    if key_x is None:
        found = sorted(k for k in content if not k.startswith("__"))
        raise DataError(f"data file {path} has no features: expected 'fts' or 'X' (found {found})")
    key_y = next((k for k in ("labels", "y", "label") if k in content), None)
    y = None if key_y is None else content[key_y]
    return _features(content[key_x], path, f"'{key_x}'"), y


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: Path, label_column: str) -> tuple[Tensor, np.ndarray | None]:
    try:
        with open(path) as fh:
            header = fh.readline().strip().split(",")
        if all(map(_is_number, header)):  # the first line is data: no header, no label column
            header = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": refused below
            table = np.loadtxt(path, delimiter=",", skiprows=1 if header else 0, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError, zlib.error) as err:
        raise DataError(f"data file {path} is not a readable numeric CSV file ({err})") from None
    if table.size == 0:
        raise DataError(f"data file {path} holds a header but no rows")
    if not header:
        return _features(table, path, "features"), None
    if table.shape[1] != len(header):
        raise DataError(
            f"{path}: the header names {len(header)} columns but rows hold {table.shape[1]}"
        )
    if label_column in header:
        col = header.index(label_column)
        return _features(np.delete(table, col, axis=1), path, "features"), table[:, col]
    return _features(table, path, "features"), None


def load_features(
    path: str | Path,
    labelled: bool = True,
    n_features: int | None = None,
    label_column: str = "label",
    name: str | None = None,
) -> Domain:
    """A domain from a feature file (format by file name, see the module docstring).

    ``labelled=True`` requires labels. ``n_features`` fixes the width of svmlight files (their
    rows only list non-zero features). ``label_column`` names the CSV label column.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist")
    if path.is_dir():
        raise DataError(f"data file {path} is a directory; give the file itself")
    if path.stat().st_size == 0:
        raise DataError(f"data file {path} is empty")
    kind = file_format(path)
    if kind in SVMLIGHT:
        x, raw = _read_svmlight(path, n_features)
    elif kind == ".npz":
        x, raw = _read_npz(path)
    elif kind == ".mat":
        x, raw = _read_mat(path)
    elif kind == ".csv":
        x, raw = _read_csv(path, label_column)
    else:
        raise DataError(
            f"data file {path}: unknown format '{kind}'; expected one of {list(FORMATS)}"
        )
    y, classes = (None, None) if raw is None else _labels(raw, path)
    if y is None and labelled:
        raise DataError(
            f"data file {path} has no labels (expected e.g. 'y', 'labels' or a "
            f"'{label_column}' column{' named in a header line' if kind == '.csv' else ''})"
        )
    if x.shape[0] == 0:
        raise DataError(f"data file {path} is empty: it holds no samples")
    if y is not None and len(y) != x.shape[0]:
        raise DataError(f"{path}: {x.shape[0]} samples but {len(y)} labels")
    return Domain(x, y, name or path.name.split(".")[0], classes)


TRANSFORMS = ("none", "log1p")


@dataclass
class FilesConfig(DatasetConfig):
    """``data: {name: files}``: feature files (svmlight, .npz, .mat or .csv) at ``source`` and
    ``target`` and optional ``source_test`` / ``target_test``; a target file's labels are never
    trained on except by ``target_only``. ``n_features`` fixes the width of svmlight files,
    ``label_column`` names the CSV label column, ``transform`` ``log1p`` maps features ``v`` to
    ``log(1 + v)`` (counts; keeps sparsity), ``standardize`` scales by the source training mean
    and deviation."""

    source: str | None = field(default=None, metadata=PATH)
    target: str | None = field(default=None, metadata=PATH)
    source_test: str | None = field(default=None, metadata=PATH)
    target_test: str | None = field(default=None, metadata=PATH)
    n_features: int | None = None
    label_column: str = "label"
    transform: str = "none"
    standardize: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        for role in ("source", "target"):
            require(
                getattr(self, role) is not None, role, "must name a feature file (data.name=files)"
            )
        require(self.transform in TRANSFORMS, "transform", f"must be one of {list(TRANSFORMS)}")
        require(
            self.n_features is None or self.n_features >= 1,
            "n_features",
            f"must be >= 1; got {self.n_features}",
        )


@DATASETS.register("files", FilesConfig)
def file_task(cfg: FilesConfig, seed: int) -> TaskData:
    """The source/target task of the config's feature files (``seed`` unused)."""

    def load(path: str | None, labelled: bool) -> Domain | None:
        if path is None:
            return None
        domain = load_features(path, labelled, cfg.n_features, cfg.label_column)
        if cfg.transform == "log1p":
            values = domain.x.coalesce().values() if domain.x.is_sparse else domain.x
            if values.numel() and float(values.min()) < -1:
                raise DataError(
                    f"{path}: data.transform=log1p needs features >= -1 (counts); the smallest "
                    f"is {float(values.min()):.4g}. For real-valued features set "
                    "data.transform=none (and data.standardize=true)"
                )
            domain.x = torch.log1p(domain.x)
        return domain

    assert cfg.source is not None and cfg.target is not None
    source, target = load(cfg.source, True), load(cfg.target, False)
    assert source is not None and source.y is not None and target is not None
    svmlight = any(file_format(p) in SVMLIGHT for p in (cfg.source, cfg.target))
    if source.x.shape[1:] != target.x.shape[1:] and cfg.n_features is None and svmlight:
        raise DataError(
            f"{cfg.target} has {target.x.shape[1]} features but {cfg.source} has "
            f"{source.x.shape[1]}; for svmlight files, which only list non-zero features, set "
            "data.n_features to the full width"
        )
    if len(torch.unique(source.y)) < 2:
        raise DataError(f"{cfg.source}: the source labels hold a single class; need at least 2")
    meta: dict = {"task": f"{source.name} → {target.name}", "input_transform": {}}
    if cfg.transform == "log1p":
        meta["input_transform"]["log1p"] = True
    if source.classes is not None:
        meta["classes"] = source.classes
    task = TaskData(
        [source],
        [target],
        num_classes=int(source.y.max()) + 1,
        source_test=load(cfg.source_test, True),
        target_test=load(cfg.target_test, False),
        meta=meta,
    )
    return standardize(task) if cfg.standardize else task
