"""A torchvision ResNet-18 with a bottleneck, DANN against source-only, from a YAML config on two
folders of 224×224 JPEGs built from real photographs, 3 seeds.

The task: which of ``--classes`` photographs (``<data-dir>/photos``, the first ones by name) a
224×224 crop comes from. Source: crops from the left half of each photograph. Target: crops
from the right half in another style: colour channels reversed (RGB → BGR), a Gaussian blur
(radius 1.5) and a rotation by 90°. Target test: other crops of the right half in the same
style. The target's labels train nothing (``data.target`` is read without them). The network
is randomly initialised (no download here); ``benchmarks/photos_resnet.yaml`` is the DANN
config and its source-only twin is the same config with the method section replaced. Target
accuracy of the last iterate.

Writes ``benchmarks/results/photos_resnet.{md,json}``. Run::

    python benchmarks/photos_resnet.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
from common import mean_std, run_record, write_results

from unshift.core.registry import METHODS
from unshift.runs.run import run
from unshift.training.config import load_config

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "photos_resnet.yaml"
CROP = 224


def styled(image, target: bool):
    """The target style: channels reversed, blurred, rotated by 90°."""
    from PIL import Image, ImageFilter

    if not target:
        return image
    r, g, b = image.split()
    image = Image.merge("RGB", (b, g, r)).filter(ImageFilter.GaussianBlur(1.5))
    return image.transpose(Image.Transpose.ROTATE_90)


def build(photos: Path, out: Path, classes: int, per_class: int, seed: int = 0) -> dict[str, Path]:
    """``out/{source,target,target_test}/<photo>/<i>.jpg`` (written once)."""
    from PIL import Image

    splits = {"source": (False, per_class), "target": (True, per_class),
              "target_test": (True, per_class // 2)}  # fmt: skip
    folders = {name: out / name for name in splits}
    if (out / ".complete").exists():
        return folders
    rng = np.random.default_rng(seed)
    files = sorted(p for p in photos.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    usable = [
        f for f in files if min(Image.open(f).size) >= CROP and Image.open(f).size[0] >= 2 * CROP
    ]
    for photo in usable[:classes]:
        image = Image.open(photo).convert("RGB")
        w, h = image.size
        for name, (target, n) in splits.items():
            folder = folders[name] / photo.stem
            folder.mkdir(parents=True, exist_ok=True)
            lo = w // 2 if target else 0  # target crops: right half; source: left half
            for i in range(n):
                x = int(rng.integers(lo, lo + w // 2 - CROP + 1))
                y = int(rng.integers(0, h - CROP + 1))
                crop = styled(image.crop((x, y, x + CROP, y + CROP)), target)
                crop.save(folder / f"{i:03d}.jpg", quality=92)
    (out / ".complete").write_text(str(classes))
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="holds photos/")
    parser.add_argument("--work", type=Path, default=HERE / ".cache/photos_task")
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    folders = build(args.data_dir / "photos", args.work, args.classes, args.per_class)
    data = [f"data.{name}={path}" for name, path in folders.items()]
    records, start = [], time.time()
    for seed in args.seeds:
        dann = load_config(CONFIG, [*data, f"seed={seed}"])
        twin = dataclasses.replace(dann, method=METHODS.get("source_only").default_config())
        for method, cfg in (("source_only", twin), ("dann", dann)):
            final = run(cfg, report=False).final
            records.append(run_record("photos", method, seed, final))
            print(records[-1], flush=True)

    def accs(method: str) -> list[float]:
        return [r["target_acc"] for r in records if r["method"] == method]

    wins = sum(d > s for d, s in zip(accs("dann"), accs("source_only"), strict=True))
    rows = [
        f"| {r['seed']} | {s:.3f} | {d:.3f} |"
        for r, s, d in zip(
            [r for r in records if r["method"] == "dann"],
            accs("source_only"),
            accs("dann"),
            strict=True,
        )
    ]
    table = "\n".join(
        [
            f"{args.classes} photographs as classes, {args.per_class} crops each (224×224 JPEG "
            "folders); target: the other half of each photograph, channels reversed, blurred, "
            "rotated 90°. ResNet-18 (torchvision, random init) + bottleneck 64, "
            f"`{CONFIG.name}`; target test accuracy of the last iterate.",
            "",
            "| seed | source-only | DANN |",
            "|---|---|---|",
            *rows,
            f"| mean | {mean_std(accs('source_only'))} | {mean_std(accs('dann'))} |",
            "",
            f"DANN above source-only on {wins} of {len(rows)} seeds; difference of the means "
            f"{statistics.mean(accs('dann')) - statistics.mean(accs('source_only')):+.3f}.",
        ]
    )
    payload = {"records": records, "total_s": time.time() - start}
    print(write_results("photos_resnet", payload, table).read_text())


if __name__ == "__main__":
    main()
