"""Digit image domains read from a user-given directory: MNIST, USPS and MNIST-M.

Images are held as ``uint8`` tensors ``(N, C, H, W)`` (a quarter of the memory of floats);
batches become floats in ``[0, 1]`` when drawn (:func:`unshift.data.domains.take_rows`).
Expected files, under the directory given for each dataset:

- MNIST: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` (the original idx files).
- USPS: ``usps.h5`` with groups ``train`` and ``test``, each holding ``data`` ``(N, 256)``
  floats in ``[0, 1]`` (16×16 images) and ``target`` ``(N,)``.
- MNIST-M: ``mnist_m_{train,test}.npz`` with ``x`` ``(N, 3, 28, 28)`` uint8 and ``y``, as
  written by ``unshift data mnist-m`` (:mod:`unshift.data.mnist_m`).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from unshift.core.errors import DataError
from unshift.core.registry import DATASETS, PATH, require
from unshift.data.domains import DatasetConfig, Domain, TaskData

SPLITS = ("train", "test")
DIGIT_DATASETS = ("mnist", "usps", "mnist_m")
_IDX_DTYPES = {0x08: np.uint8}
_MNIST_PREFIX = {"train": "train", "test": "t10k"}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")


def _existing(path: Path, what: str) -> Path:
    if path.is_file():
        return path
    gz = path.with_name(path.name + ".gz")
    if gz.is_file():
        return gz
    raise DataError(f"missing file {path} (or {gz.name}): expected {what}")


def read_idx(path: str | Path) -> np.ndarray:
    """The array in an idx file (MNIST's format; gzip-compressed if the name ends ``.gz``)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an idx file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated idx header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(
            f"{path}: idx header promises shape {shape} ({expected} bytes) but the file holds "
            f"{len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(directory: str | Path, split: str = "train") -> Domain:
    """MNIST ``split`` from ``directory``: ``x`` ``(N, 1, 28, 28)`` uint8, ``y`` ``(N,)``."""
    _check_split(split)
    directory, prefix = Path(directory), _MNIST_PREFIX[split]
    images = read_idx(_existing(directory / f"{prefix}-images-idx3-ubyte", "MNIST images"))
    labels = read_idx(_existing(directory / f"{prefix}-labels-idx1-ubyte", "MNIST labels"))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{directory}: MNIST {split} images {images.shape} and labels {labels.shape} "
            "do not match (expected (N, 28, 28) and (N,))"
        )
    x = torch.from_numpy(images.copy()).unsqueeze(1)
    return Domain(x, torch.from_numpy(labels.astype(np.int64)), f"mnist/{split}")


def load_usps(directory: str | Path, split: str = "train") -> Domain:
    """USPS ``split`` from ``directory/usps.h5``: ``x`` ``(N, 1, 16, 16)`` uint8, ``y``."""
    _check_split(split)
    try:
        import h5py
    except ImportError:
        raise DataError("reading usps.h5 needs h5py: pip install 'unshift[vision]'") from None
    path = Path(directory) / "usps.h5"
    if not path.is_file():
        raise DataError(f"missing file {path}: expected USPS as HDF5 (train/test groups)")
    try:
        with h5py.File(path, "r") as f:
            data = np.asarray(f[f"{split}/data"], dtype=np.float32)
            target = np.asarray(f[f"{split}/target"])
    except (OSError, KeyError) as err:
        raise DataError(
            f"cannot read {path}: expected datasets '{split}/data' (N, 256) and "
            f"'{split}/target' (N,): {err}"
        ) from None
    if data.ndim != 2 or data.shape[1] != 256 or target.shape != (data.shape[0],):
        raise DataError(
            f"{path}: '{split}/data' has shape {data.shape} and '{split}/target' "
            f"{target.shape}; expected (N, 256) and (N,)"
        )
    pixels = np.clip(np.rint(data * 255.0), 0, 255).astype(np.uint8)
    x = torch.from_numpy(pixels.reshape(-1, 1, 16, 16))
    return Domain(x, torch.from_numpy(target.astype(np.int64)), f"usps/{split}")


def load_mnist_m(directory: str | Path, split: str = "train") -> Domain:
    """MNIST-M ``split`` from ``directory/mnist_m_{split}.npz``: ``x`` ``(N, 3, 28, 28)``."""
    _check_split(split)
    path = Path(directory) / f"mnist_m_{split}.npz"
    if not path.is_file():
        raise DataError(
            f"missing file {path}: generate MNIST-M with "
            f"'unshift data mnist-m --mnist DIR --photos DIR --out {directory}'"
        )
    try:
        with np.load(path) as f:
            x, y = f["x"], f["y"]
    except (OSError, KeyError, ValueError) as err:
        raise DataError(f"cannot read {path}: expected arrays 'x' and 'y': {err}") from None
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1] != 3 or y.shape != (x.shape[0],):
        raise DataError(
            f"{path}: 'x' is {x.dtype} {x.shape}, 'y' {y.shape}; expected uint8 (N, 3, H, W) "
            "and (N,)"
        )
    return Domain(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)), f"mnist_m/{split}")


LOADERS = {"mnist": load_mnist, "usps": load_usps, "mnist_m": load_mnist_m}


def load_digits(name: str, directory: str | Path, split: str = "train") -> Domain:
    """Dataset ``name`` (one of :data:`DIGIT_DATASETS`) from ``directory``."""
    if name not in LOADERS:
        raise DataError(f"unknown digit dataset {name!r}; known: {', '.join(DIGIT_DATASETS)}")
    return LOADERS[name](directory, split)


def match_images(domain: Domain, channels: int, size: int) -> Domain:
    """``domain`` with images of ``channels`` (1 or 3) and ``size``×``size`` pixels.

    Grey → colour repeats the channel (a view: no copy); colour → grey averages the channels.
    Resizing is bilinear (antialiased when shrinking) and rounds back to uint8.
    """
    x = domain.x
    if x.shape[1] != channels:
        if x.shape[1] == 1:
            x = x.expand(-1, channels, -1, -1)
        elif channels == 1:
            x = x.float().mean(1, keepdim=True).round().to(torch.uint8)
        else:
            raise DataError(f"{domain.name}: cannot map {x.shape[1]} channels to {channels}")
    if tuple(x.shape[2:]) != (size, size):
        out = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True)
        x = out.round().clamp(0, 255).to(torch.uint8)
    return Domain(x, domain.y, domain.name)


@dataclass
class DigitsConfig(DatasetConfig):
    """``data: {name: digits}``: ``source`` and ``target`` name datasets
    (:data:`DIGIT_DATASETS`) read from ``root/<name>`` (or the directory ``dirs[<name>]``),
    their train splits for training and test splits for testing, matched to ``channels``
    (1 or 3: grey repeated, colour averaged) and ``image_size``×``image_size`` pixels
    (bilinear); ``max_train``/``max_test`` keep the first so many images of each split;
    ``image_norm`` ``per_channel`` makes the network's first layer standardise each channel by
    the mean and deviation of all training images (source and target; no labels), ``none``
    feeds pixels in ``[0, 1]``."""

    source: str = "mnist"
    target: str = "usps"
    root: str | None = field(default=None, metadata=PATH)
    dirs: dict[str, str] = field(default_factory=dict, metadata=PATH)
    channels: int = 1
    image_size: int = 28
    max_train: int | None = None
    max_test: int | None = None
    image_norm: str = "none"

    def __post_init__(self) -> None:
        super().__post_init__()
        names = [getattr(self, role) for role in ("source", "target")]
        for role, name in zip(("source", "target"), names, strict=True):
            require(
                name in DIGIT_DATASETS, role, f"must be one of {list(DIGIT_DATASETS)}; got {name!r}"
            )
        for name in names:
            require(
                self.root is not None or name in self.dirs,
                "root",
                f"must name a directory holding {name}/ (or set data.dirs.{name}); e.g. "
                "--set data.root=../shared/data",
            )
        require(self.channels in (1, 3), "channels", f"must be 1 or 3; got {self.channels}")
        require(self.image_size >= 1, "image_size", f"must be >= 1; got {self.image_size}")
        for key in ("max_train", "max_test"):
            value = getattr(self, key)
            require(value is None or value >= 1, key, f"must be >= 1; got {value}")
        require(
            self.image_norm in ("none", "per_channel"),
            "image_norm",
            f"must be none or per_channel; got {self.image_norm!r}",
        )


@DATASETS.register("digits", DigitsConfig)
def digit_task(cfg: DigitsConfig, seed: int, test_only: bool = False) -> TaskData:
    """The digit task the config names (``seed`` unused: the files fix the data). With
    ``test_only`` the training splits are not read: the test sets stand in for them."""

    def load(name: str, split: str, limit: int | None) -> Domain:
        directory = cfg.dirs.get(name) or str(Path(cfg.root or ".") / name)
        domain = match_images(load_digits(name, directory, split), cfg.channels, cfg.image_size)
        if limit is not None:
            domain = Domain(domain.x[:limit], domain.y[:limit], domain.name)  # type: ignore[index]
        return domain

    source_test = load(cfg.source, "test", cfg.max_test)
    target_test = load(cfg.target, "test", cfg.max_test)
    return TaskData(
        [source_test if test_only else load(cfg.source, "train", cfg.max_train)],
        [target_test if test_only else load(cfg.target, "train", cfg.max_train)],
        num_classes=10,
        source_test=source_test,
        target_test=target_test,
        meta={"task": f"{cfg.source} → {cfg.target}"},
        channel_norm=cfg.image_norm == "per_channel",
    )
