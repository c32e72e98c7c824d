"""Streaming image domains: memory, speed and decoding, measured.

- memory: peak RSS of a 300-step DANN run (``data.name: image_folder``, 2 workers) on folders
  of 10 000 and of 100 000 generated 64×64 PNG images (2 classes; the target is the same
  folder), each run in a fresh process, ``--rounds`` times interleaved (medians: single runs
  vary by ±80 MB here); the training process's peak resident set (``VmHWM``) and the peak
  proportional set size of it and its reader processes together (PSS, shared pages split among
  the processes that share them; sampled every 50 ms). Goal: the two sizes differ by < 150 MB.
- speed: DANN steps/s on MNIST → USPS from PNG folders (``unshift data export-folders``) with
  2 workers against the same task in memory, same network (the DANN paper's MNIST network, 28×28
  grey) and settings, interleaved over ``--rounds`` rounds. Goal: streaming ≥ 0.7× in memory.
  A third row streams with readers that return one fixed image instead of reading files: the
  cost of the reader processes and their pipes alone, to tell it from the cost of decoding.
  Two more rows train with one torch thread, in memory and streamed: the readers then have a
  CPU of their own, which tells how much of the gap is the CPUs they share with training.
- decoding: 224×224 JPEGs and the digit PNGs read (decoded, resized, as tensors) per second by
  one process, i.e. per worker.

Writes ``benchmarks/results/streaming.{md,json}``. Run::

    python benchmarks/streaming.py --data-dir ../shared/data --work /tmp/unshift-streaming
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
from common import write_results  # benchmarks/ is on sys.path when run as a script

SIZES = (10_000, 100_000)
MEMORY_STEPS = 300


def _write_images(args: tuple[Path, int, int, int, str]) -> None:
    from PIL import Image

    folder, start, stop, size, suffix = args
    rng = np.random.default_rng(start)
    ramp = np.linspace(0, 120, size, dtype=np.float32)
    for i in range(start, stop):
        c = i % 2
        base = ramp[None, :, None] if c else ramp[:, None, None]
        noise = rng.integers(0, 40, (size, size, 3))
        pixels = np.clip(base + noise + 40 * (i % 3), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"c{c}" / f"{i:06d}{suffix}", quality=90)


def generate(folder: Path, n: int, size: int = 64, suffix: str = ".png") -> Path:
    """``folder/c0``, ``folder/c1``: ``n`` images of ``size``² (written once, reused)."""
    done = folder / ".complete"
    if done.exists():
        return folder
    for c in ("c0", "c1"):
        (folder / c).mkdir(parents=True, exist_ok=True)
    chunks = [(folder, i, min(i + 2000, n), size, suffix) for i in range(0, n, 2000)]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(_write_images, chunks))
    done.write_text(str(n))
    return folder


def _tree_pss(pid: int) -> int:
    """Proportional set size (bytes) of ``pid`` and its descendants: each page shared by
    ``k`` of them counts ``1/k`` (reader processes share the training process's pages)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += int(rollup.split("\nPss:")[1].split()[0]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError):
            continue
    return total


def memory_run(folder: Path, test: Path, work: Path) -> dict:
    """Peak memory of one 300-step training process on ``folder``."""
    run = work / f"run_{folder.name}"
    cmd = [
        sys.executable, "-m", "unshift", "train", str(Path(__file__).parent / "streaming.yaml"),
        "--run-dir", str(run), "--overwrite",
        "--set", f"data.source={folder}", "--set", f"data.target={folder}",
        "--set", f"data.source_test={test}", "--set", f"data.target_test={test}",
        "--set", f"trainer.steps={MEMORY_STEPS}",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_tree = hwm = 0
    while proc.poll() is None:
        peak_tree = max(peak_tree, _tree_pss(proc.pid))
        with contextlib.suppress(OSError, IndexError):
            status = Path(f"/proc/{proc.pid}/status").read_text()
            hwm = max(hwm, int(status.split("VmHWM:")[1].split()[0]))
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"training on {folder} failed: {proc.stderr.read()}")
    final = json.loads((run / "final.json").read_text())
    return {
        "images": int((folder / ".complete").read_text()),
        "peak_rss_mb": hwm / 1024,
        "peak_tree_pss_mb": peak_tree / 2**20,
        "wall_s": final["wall_s"],
    }


def speed(data_dir: Path, work: Path, rounds: int, steps: int) -> list[dict]:
    """DANN steps/s on MNIST → USPS in memory and streamed from PNG folders, interleaved."""
    import torch

    from unshift.data.export import export_folders
    from unshift.data.image_files import ImageFiles
    from unshift.training.build import build_data, build_method, build_trainer
    from unshift.training.config import load_config

    folders = {}
    for name, sub in (("mnist", "mnist"), ("usps", "usps")):
        out = work / f"{name}_folders"
        if not (out / ".complete").exists():
            export_folders(name, data_dir / sub, out)
            (out / ".complete").write_text("done")
        folders[name] = out
    common = ["trainer.batch_size=64", f"trainer.steps={steps}", "trainer.accelerator=cpu"]
    common += ["trainer.log_every=0", "trainer.checkpoint_every=0", "trainer.progress_bar=false"]

    def memory(*extra: str):
        return load_config("digits/mnist_usps_dann", [f"data.root={data_dir}", *common, *extra])

    def streamed(*extra: str):
        return load_config(
            Path(__file__).parent / "streaming.yaml",
            [
                f"data.source={folders['mnist']}/train", f"data.target={folders['usps']}/train",
                "data.channels=1", "data.image_size=28",
                "data.num_workers=2", *common, *extra,
            ],
        )  # fmt: skip

    fixed = torch.zeros(1, 28, 28, dtype=torch.uint8)
    cases = (
        ("in memory", memory(), None),
        ("streamed, 2 workers", streamed(), None),
        (
            "streamed, 2 workers reading no files",
            streamed(),
            lambda self, rows: [fixed] * len(rows),
        ),
        ("in memory, 1 training thread", memory("trainer.threads=1"), None),
        ("streamed, 2 workers, 1 training thread", streamed("trainer.threads=1"), None),
    )
    records = []
    for r in range(-1, rounds):  # round -1 warms up every case (first fits in a process are slow)
        for label, cfg, read in cases:
            # readers are forked from this process, so they inherit the replaced method
            patched = mock.patch.object(ImageFiles, "read_many", read) if read else None
            with patched or contextlib.nullcontext():
                data = build_data(cfg)
                method = build_method(cfg, data)
                final = build_trainer(cfg, None).fit(method, data)
            records.append({"round": r, "path": label, "steps_per_s": steps / final["wall_s"]})
            print(records[-1], flush=True)
    return [record for record in records if record["round"] >= 0]


def decode_rate(work: Path, n: int = 400) -> dict:
    """Images read per second in one process, as a reader reads them (files of 64 at once,
    ``ImageFiles.read_many``): 224×224 JPEGs, and the MNIST (28×28) and USPS (16×16, resized
    to 28×28) PNGs the speed rows read, grey."""
    import torch

    from unshift.data.image_files import ImageFiles
    from unshift.data.image_transforms import transforms

    folder = generate(work / "jpeg224", n, size=224, suffix=".jpg")
    torch.set_num_threads(1)  # as in a reader process
    rates = {}
    for label, files, size, channels in (
        ("jpeg224", sorted(folder.glob("c*/*.jpg")), 224, 3),
        ("mnist_png", sorted((work / "mnist_folders" / "train").rglob("*.png"))[: 5 * n], 28, 1),
        ("usps_png", sorted((work / "usps_folders" / "train").rglob("*.png"))[: 5 * n], 28, 1),
    ):
        images = ImageFiles(files, channels, transforms(size, None, [], train=False))
        images.read_many([0])
        start = time.perf_counter()
        for i in range(0, len(images), 64):
            images.read_many(list(range(i, min(i + 64, len(images)))))
        rates[label] = {
            "images": len(files),
            "images_per_s": len(files) / (time.perf_counter() - start),
        }
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="holds mnist/ and usps/")
    parser.add_argument("--work", type=Path, default=Path("/tmp/unshift-streaming"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    test = generate(args.work / "test_1000", 1000)
    runs = []
    for r in range(args.rounds):
        for n in SIZES:
            runs.append(
                {"round": r, **memory_run(generate(args.work / f"png_{n}", n), test, args.work)}
            )
            print(runs[-1], flush=True)
    memory = [
        {
            "images": n,
            **{
                key: statistics.median(m[key] for m in runs if m["images"] == n)
                for key in ("peak_rss_mb", "peak_tree_pss_mb")
            },
        }
        for n in SIZES
    ]
    rates = speed(args.data_dir, args.work, args.rounds, args.steps)
    decoding = decode_rate(args.work)

    def median(path: str) -> float:
        return statistics.median(r["steps_per_s"] for r in rates if r["path"] == path)

    ratio = median("streamed, 2 workers") / median("in memory")
    one_thread = median("streamed, 2 workers, 1 training thread") / median(
        "in memory, 1 training thread"
    )
    step_ms = sum(64e3 / decoding[k]["images_per_s"] for k in ("mnist_png", "usps_png"))
    growth = memory[1]["peak_tree_pss_mb"] - memory[0]["peak_tree_pss_mb"]
    table = "\n".join(
        [
            f"## Memory: 300-step DANN run, 64×64 PNG folders, 2 workers, medians of {args.rounds} "
            "interleaved runs",
            "",
            "| images | peak RSS, training process (MB) | peak PSS, with its workers (MB) |",
            "|---|---|---|",
            *(
                f"| {m['images']:,} | {m['peak_rss_mb']:.0f} | {m['peak_tree_pss_mb']:.0f} |"
                for m in memory
            ),
            "",
            f"10× the images: {growth:+.0f} MB with the workers "
            f"({memory[1]['peak_rss_mb'] - memory[0]['peak_rss_mb']:+.0f} MB for the training "
            "process alone); goal < 150 MB.",
            "",
            f"## Speed: DANN on MNIST → USPS, {args.steps} steps, batch 64 + 64, medians of "
            f"{args.rounds} interleaved rounds after one unrecorded warm-up round",
            "",
            "| data path | steps/s |",
            "|---|---|",
            f"| in memory | {median('in memory'):.1f} |",
            f"| streamed from PNG folders, 2 workers | {median('streamed, 2 workers'):.1f} |",
            "| streamed, 2 workers returning one fixed image (no file read) "
            f"| {median('streamed, 2 workers reading no files'):.1f} |",
            f"| in memory, 1 training thread | {median('in memory, 1 training thread'):.1f} |",
            "| streamed from PNG folders, 2 workers, 1 training thread "
            f"| {median('streamed, 2 workers, 1 training thread'):.1f} |",
            "",
            f"Streamed ÷ in memory: **{ratio:.2f}×** (goal ≥ 0.7×); without reading files "
            f"{median('streamed, 2 workers reading no files') / median('in memory'):.2f}×; "
            "with one training thread, which leaves the readers a CPU of their own, "
            f"{one_thread:.2f}×.",
            "",
            "## Decoding: one process (i.e. per worker), files read 64 at a time",
            "",
            "TorchCodec where its pixels are Pillow's conversion, else Pillow "
            "(`unshift.data.decoding`); training processes' readers run one torch thread.",
            "",
            f"224×224 JPEGs (quality 90): {decoding['jpeg224']['images_per_s']:.0f} images/s "
            f"({decoding['jpeg224']['images']} images); the digit PNGs of the speed rows: MNIST "
            f"{decoding['mnist_png']['images_per_s']:.0f} images/s, USPS with its resize "
            f"{decoding['usps_png']['images_per_s']:.0f} images/s, i.e. "
            f"{step_ms:.1f} ms of CPU per step of 64 + 64.",
        ]
    )
    write_results(
        "streaming",
        {
            "memory": memory,
            "memory_runs": runs,
            "speed": rates,
            "ratio": ratio,
            "decoding": decoding,
        },
        table,
    )
    print(table)


if __name__ == "__main__":
    main()
