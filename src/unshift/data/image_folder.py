"""``data: {name: image_folder}``: your own images, streamed from disk.

Each split is a class-folder directory, a flat folder (unlabelled target) or a list file
(:mod:`unshift.data.image_files`). The class list is the source's; every other split is mapped
onto it and a class the source lacks is refused. Images are decoded per batch by DataLoader
workers, never all held in memory. The target's labels, if it has any, are kept only for the
train-on-target upper bound; adaptation never reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from unshift.core.errors import DataError, FieldError
from unshift.core.registry import DATASETS, PATH, require
from unshift.data.domains import DatasetConfig, TaskData
from unshift.data.image_files import ImageFiles, scan_split
from unshift.data.image_transforms import (
    AUGMENTATIONS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    NORMALIZATIONS,
    transforms,
)
from unshift.data.streamed import StreamedDomain, available_cpus, default_workers


@dataclass
class ImageFolderConfig(DatasetConfig):
    """``source``, ``target`` (required), ``target_test`` and ``source_test`` (optional): a
    class-folder directory, a flat folder of images (unlabelled; target splits only) or a list
    file of ``relative/path label`` lines (paths relative to ``root`` if given, else to the
    list file). ``channels`` 1 or 3 (every image converted: grey, colour, alpha).
    ``image_size``: the side of the square images the network sees; ``resize``: the shorter
    side before a centre crop (``None``: resize straight to ``image_size``).
    ``train_augment``: any of ``random_resized_crop``, ``random_crop``, ``hflip``,
    ``color_jitter`` (training batches only). ``normalize``: ``imagenet`` (ImageNet's channel
    mean and deviation; for grey images their averages), ``per_channel`` (the training images'
    own), ``none`` (pixels in ``[0, 1]``); applied by the network's first layer, so that it
    travels with the model. ``num_workers``: DataLoader processes (``None``: one per CPU but
    one, at most 8; 0: read in the training process)."""

    source: str | None = field(default=None, metadata=PATH)
    target: str | None = field(default=None, metadata=PATH)
    target_test: str | None = field(default=None, metadata=PATH)
    source_test: str | None = field(default=None, metadata=PATH)
    root: str | None = field(default=None, metadata=PATH)
    channels: int = 3
    image_size: int = 224
    resize: int | None = None
    train_augment: list[str] = field(default_factory=list)
    normalize: str = "imagenet"
    num_workers: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("source", "target"):
            require(
                getattr(self, key) is not None,
                key,
                "must name a folder of images or a list file (e.g. --set data.source=photos/)",
            )
        require(self.channels in (1, 3), "channels", f"must be 1 or 3; got {self.channels}")
        require(self.image_size >= 1, "image_size", f"must be >= 1; got {self.image_size}")
        require(
            self.resize is None or self.resize >= self.image_size,
            "resize",
            f"must be >= image_size ({self.image_size}) or null; got {self.resize}",
        )
        unknown = [a for a in self.train_augment if a not in AUGMENTATIONS]
        require(not unknown, "train_augment", f"unknown {unknown}; known: {list(AUGMENTATIONS)}")
        require(
            self.normalize in NORMALIZATIONS,
            "normalize",
            f"must be one of {list(NORMALIZATIONS)}; got {self.normalize!r}",
        )
        if self.num_workers is not None and not 0 <= self.num_workers <= available_cpus():
            raise FieldError(
                "num_workers",
                f"is {self.num_workers}, but this machine has {available_cpus()} CPUs; give 0 "
                f"to {available_cpus()}, or leave it unset for {default_workers()}",
            )


@DATASETS.register("image_folder", ImageFolderConfig)
def image_folder_task(cfg: ImageFolderConfig, seed: int) -> TaskData:
    """The streamed task of ``cfg`` (``seed`` unused: the files fix the data). Finding the
    files reads no image; a bad split is a :class:`DataError` naming it."""
    assert cfg.source is not None and cfg.target is not None
    workers = default_workers() if cfg.num_workers is None else cfg.num_workers
    source_split, classes = scan_split(cfg.source, "source", None, cfg.root)
    if classes is None:
        raise DataError(
            f"the source {cfg.source} has no class sub-directories: source images need labels "
            "(one sub-directory per class, or a list file of 'path label' lines)"
        )
    if len(classes) < 2:
        raise DataError(f"the source {cfg.source} has {len(classes)} class; a task needs >= 2")
    shape = (cfg.channels, cfg.image_size, cfg.image_size)
    evaluate = transforms(cfg.image_size, cfg.resize, [], train=False)
    train = transforms(cfg.image_size, cfg.resize, cfg.train_augment, train=True)

    def domain(path: str, role: str, training: bool) -> StreamedDomain:
        split = source_split if role == "source" else scan_split(path, role, classes, cfg.root)[0]
        files = ImageFiles(split.files, cfg.channels, evaluate)
        return StreamedDomain(
            files,
            None if split.labels is None else torch.tensor(split.labels),
            shape,
            name=f"{role} {Path(path).name}",
            num_workers=workers,
            train_dataset=files.with_transform(train) if training else None,
            names=files.paths,
        )

    tests = {
        role: domain(path, role, training=False)
        for role, path in (("source test", cfg.source_test), ("target test", cfg.target_test))
        if path is not None
    }
    grey = [sum(IMAGENET_MEAN) / 3], [sum(IMAGENET_STD) / 3]
    imagenet = (IMAGENET_MEAN, IMAGENET_STD) if cfg.channels == 3 else grey
    return TaskData(
        [domain(cfg.source, "source", training=True)],
        [domain(cfg.target, "target", training=True)],
        num_classes=len(classes),
        source_test=tests.get("source test"),
        target_test=tests.get("target test"),
        meta={"task": f"{Path(cfg.source).name} → {Path(cfg.target).name}", "classes": classes},
        channel_norm=cfg.normalize != "none",
        norm_stats=imagenet if cfg.normalize == "imagenet" else None,
    )
