"""Digit datasets written as image folders (``unshift data export-folders``): the layout that
``data: {name: image_folder}`` reads, one PNG per image, lossless."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unshift.core.errors import DataError
from unshift.data.images import DIGIT_DATASETS, SPLITS, load_digits


def export_folders(
    name: str, directory: str | Path, out: str | Path, limit: int | None = None
) -> dict[str, Path]:
    """Write digit dataset ``name`` (one of :data:`~unshift.data.images.DIGIT_DATASETS`) read
    from ``directory`` as ``out/<split>/<class>/<index>.png`` for the train and test splits
    (the first ``limit`` images of each, if given), and ``out/<split>.txt`` listing them in the
    dataset's own order (``<split>/<class>/<index>.png <class>`` lines: a list file that reads
    the images in the same order as the in-memory dataset); return the folder of each split.
    Images keep their channels and size (grey MNIST and USPS, colour MNIST-M)."""
    from PIL import Image

    if name not in DIGIT_DATASETS:
        raise DataError(f"unknown digit dataset {name!r}; known: {', '.join(DIGIT_DATASETS)}")
    out = Path(out)
    written = {}
    for split in SPLITS:
        domain = load_digits(name, directory, split)
        assert domain.y is not None
        n = len(domain) if limit is None else min(limit, len(domain))
        pixels = domain.x[:n].permute(0, 2, 3, 1).numpy()
        folder = out / split
        for label in sorted(set(domain.y[:n].tolist())):
            (folder / str(label)).mkdir(parents=True, exist_ok=True)
        lines = []
        for i, (image, label) in enumerate(zip(pixels, domain.y[:n].tolist(), strict=True)):
            array = np.ascontiguousarray(image[:, :, 0] if image.shape[2] == 1 else image)
            Image.fromarray(array).save(folder / str(label) / f"{i:05d}.png")
            lines.append(f"{split}/{label}/{i:05d}.png {label}\n")
        (out / f"{split}.txt").write_text("".join(lines))
        written[split] = folder
    return written
