"""Image files on disk as streamed domains: finding them (class folders, flat folders, list
files) and reading them (:mod:`unshift.data.decoding`, then a transform of
:mod:`unshift.data.image_transforms`).

A *split* is one of:

- a directory in the ImageFolder layout: one sub-directory per class, images anywhere below it;
- a flat directory of images (no class sub-directories): unlabelled, for a target;
- a list file: one ``relative/path label`` per line (TLlib's ImageList format), the label a class
  name or an integer class index, paths relative to the list file's directory (or ``root``).

Files are found by their extension among the formats Pillow reads; other files are ignored and
counted. Nothing is decoded while finding files.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from unshift.core.errors import DataError
from unshift.data.decoding import decode
from unshift.data.streamed import UnreadableSample

_NOT_IMAGES = {"BUFR", "GRIB", "HDF5", "MPEG", "EPS", "WMF", "PDF"}


def image_extensions() -> frozenset[str]:
    """Lower-case file extensions (``.png``) of the image formats this Pillow can open."""
    from PIL import Image

    Image.init()
    return frozenset(
        ext
        for ext, fmt in Image.registered_extensions().items()
        if fmt in Image.OPEN and fmt not in _NOT_IMAGES
    )


@dataclass
class Split:
    """Image files of one split and, where known, their class indices; ``ignored``: files
    that were not images."""

    files: list[Path]
    labels: list[int] | None
    ignored: list[Path]


def images_below(directory: Path, extensions: frozenset[str]) -> tuple[list[Path], list[Path]]:
    """Image files anywhere below ``directory`` (sorted) and the other files (hidden ones
    aside)."""
    images, others = [], []
    for parent, dirs, names in os.walk(directory, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(parent) / name
            (images if path.suffix.lower() in extensions else others).append(path)
    return images, others


def class_folders(path: Path) -> list[str]:
    """The sorted names of the class sub-directories of ``path``."""
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def scan_folder(path: Path, role: str, classes: list[str] | None) -> Split:
    """The images of a folder split: labelled by class sub-directory (mapped onto ``classes``;
    ``None``: the folder defines them), or unlabelled if the folder has none."""
    extensions = image_extensions()
    names = class_folders(path)
    if not names:
        files, ignored = images_below(path, extensions)
        if not files:
            raise DataError(f"{role} folder {path} holds no images ({_kinds(ignored)})")
        return Split(files, None, ignored)
    if classes is not None and (unknown := sorted(set(names) - set(classes))):
        raise DataError(
            f"{role} folder {path} has classes the source lacks: {', '.join(unknown)}; the "
            f"source's classes are {', '.join(classes)}"
        )
    index = {c: i for i, c in enumerate(classes if classes is not None else names)}
    files, labels, ignored = [], [], []
    for name in names:
        found, others = images_below(path / name, extensions)
        ignored += others
        if not found and classes is None:
            raise DataError(
                f"class folder {path / name} of the {role} holds no images; remove it or add "
                "images (every source class needs some)"
            )
        files += found
        labels += [index[name]] * len(found)
    if not files:
        raise DataError(f"{role} folder {path} holds no images in its class folders")
    return Split(files, labels, ignored)


def _kinds(files: list[Path]) -> str:
    if not files:
        return "it is empty"
    return f"it holds {len(files)} other files, e.g. {files[0].name}"


def scan_list(
    path: Path, role: str, classes: list[str] | None, root: Path | None
) -> tuple[Split, list[str]]:
    """The images of a list file (``relative/path label`` per line) and the class names:
    ``classes`` if given (labels are names among them or indices into them), else the sorted
    label names of this file (or ``0..max`` for integer labels)."""
    base = root if root is not None else path.parent
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read the {role} list file {path} ({err})") from None
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected 'relative/path label'; got {line!r}")
        entries.append((number, base / parts[0], parts[1]))
    if not entries:
        raise DataError(f"the {role} list file {path} lists no images")
    missing = [(n, f) for n, f, _ in entries if not f.is_file()]
    if missing:
        n, f = missing[0]
        raise DataError(
            f"{path}:{n}: {f} does not exist ({len(missing)} of {len(entries)} listed files are "
            "missing)"
        )
    names = [label for _, _, label in entries]
    if classes is None:
        numeric = all(label.isdigit() for label in names)
        classes = (
            [str(i) for i in range(max(int(v) for v in names) + 1)]
            if numeric
            else sorted(set(names))
        )
    index = {c: i for i, c in enumerate(classes)}
    labels = []
    for number, _, label in entries:
        k = index[label] if label in index else int(label) if label.isdigit() else None
        if k is None or not 0 <= k < len(classes):
            raise DataError(
                f"{path}:{number}: label {label!r} is not a class of the source (it has "
                f"{len(classes)}: {', '.join(classes[:10])}{'…' if len(classes) > 10 else ''})"
            )
        labels.append(k)
    return Split([f for _, f, _ in entries], labels, []), classes


def scan_split(
    path: str | Path, role: str, classes: list[str] | None, root: str | Path | None = None
) -> tuple[Split, list[str] | None]:
    """The images of ``path`` (a folder or a list file) for ``role`` and the class names it
    defines (``classes`` when given); non-image files are ignored with a warning."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"the {role} {path} does not exist")
    if path.is_dir():
        split = scan_folder(path, role, classes)
        if classes is None and split.labels is not None:
            classes = class_folders(path)
    else:
        split, classes = scan_list(path, role, classes, None if root is None else Path(root))
    if split.ignored:
        warnings.warn(
            f"{role} {path}: ignored {len(split.ignored)} files that are not images (e.g. "
            f"{split.ignored[0]})",
            stacklevel=2,
        )
    return split, classes


class ImageFiles(Dataset):
    """Item ``i``: image ``files[i]`` decoded to ``channels`` and passed through
    ``transform`` (``uint8`` ``(C, S, S)``); :attr:`paths` names them."""

    def __init__(self, files: Sequence[str | Path], channels: int, transform) -> None:
        # One numpy array of the paths' bytes, not a list of objects: reader processes forked
        # from this one then share its pages instead of copying each object they touch, and a
        # byte per character takes a quarter of NumPy's str (UTF-32): 4.6 instead of 18 MB for
        # 100 000 paths of 46 characters.
        self.files = np.array([os.fsencode(f) for f in files], dtype=bytes)
        self.channels, self.transform = channels, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tensor:
        return self.transform(decode(self.path(i), self.channels))

    def path(self, i: int) -> str:
        """The path of item ``i``."""
        return os.fsdecode(self.files[i])

    @property
    def paths(self) -> Sequence[str]:
        """The path of every item, read from the shared array when asked for."""
        return _Paths(self.files)

    def with_transform(self, transform) -> ImageFiles:
        """The same files (sharing their array) through another transform."""
        other = copy.copy(self)
        other.transform = transform
        return other

    @property
    def draws(self) -> bool:
        """Whether reading an item draws from torch's random state (augmentation)."""
        return getattr(self.transform, "draws", True)

    def read_many(self, indices: list[int]) -> list[Tensor | UnreadableSample]:
        """Items ``indices``, an unreadable one as its :class:`UnreadableSample`; a
        transform with a ``many`` method transforms them together."""
        read: list = []
        for i in indices:
            try:
                read.append(decode(self.path(i), self.channels))
            except UnreadableSample as err:
                read.append(err)
        good = [k for k, x in enumerate(read) if isinstance(x, Tensor)]
        many = getattr(self.transform, "many", None)
        images = [read[k] for k in good]
        for k, x in zip(good, many(images) if many else map(self.transform, images), strict=True):
            read[k] = x
        return read


class _Paths(Sequence):
    """Paths stored as bytes in a NumPy array, as ``str`` when indexed."""

    def __init__(self, files: np.ndarray) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [os.fsdecode(f) for f in self.files[i]]
        return os.fsdecode(self.files[i])
