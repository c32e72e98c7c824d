"""The same results through the streaming path: MNIST → MNIST-M with the recommended DANN recipe
(``configs/digits/mnist_mnistm_dann_plus.yaml``), its data read from PNG folders written by
``unshift data export-folders`` (``data.name: image_folder``, 2 workers) instead of memory.

Same network, method, optimiser, steps and seeds (0–2) as the in-memory rows of
``benchmarks/results/digits_source_only_plus_dann_plus.json``; the folders are read through
their list files (``train.txt``), which keep the datasets' own order, so that every training
batch holds the same images as in memory. What differs: the per-channel normalisation
statistics come from the first 2000 images of each streamed domain (10 000 in memory), and the
pixels travel through PNG files (lossless). Goal: the 3-seed mean within ±0.01 of memory's.

Writes ``benchmarks/results/streaming_digits.{md,json}``. Run::

    python benchmarks/streaming_digits.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

from common import RESULTS_DIR, mean_std, run_record, write_results
from digits import ensure_mnist_m

from unshift.data.export import export_folders
from unshift.data.image_folder import ImageFolderConfig
from unshift.runs.run import run
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
IN_MEMORY = RESULTS_DIR / "digits_source_only_plus_dann_plus.json"


def folders(name: str, source: Path, out: Path) -> Path:
    """``out`` holding ``name`` as image folders with list files (written once)."""
    if not (out / "test.txt").exists():
        print(f"writing {name} as image folders into {out} ...", flush=True)
        export_folders(name, source, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="holds mnist/ and photos/")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks/.cache")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    mnist_m = ensure_mnist_m(args.data_dir.resolve(), (args.cache / "mnist_m").resolve())
    mnist_dir = folders("mnist", args.data_dir.resolve() / "mnist", args.cache / "mnist_folders")
    mnist_m_dir = folders("mnist_m", mnist_m, args.cache / "mnist_m_folders")
    base = load_config(ROOT / "configs/digits/mnist_mnistm_dann_plus.yaml", ["data.root=unused"])
    data = ImageFolderConfig(
        name="image_folder",
        source=str(mnist_dir / "train.txt"),
        target=str(mnist_m_dir / "train.txt"),
        target_test=str(mnist_m_dir / "test.txt"),
        source_test=str(mnist_dir / "test.txt"),
        channels=3,
        image_size=28,
        normalize="per_channel",
        num_workers=args.workers,
    )
    memory = [
        r
        for r in json.loads(IN_MEMORY.read_text())["records"]
        if r["task"] == "mnist_mnistm" and r["method"] == "dann_plus"
    ]
    records = []
    start = time.time()
    for seed in args.seeds:
        cfg = dataclasses.replace(base, data=data, seed=seed)
        final = run(cfg, report=False).final
        records.append(run_record("mnist_mnistm", "dann_plus, streamed", seed, final))
        print(records[-1], flush=True)
    streamed_mean = statistics.mean(r["target_acc"] for r in records)
    memory_mean = statistics.mean(r["target_acc"] for r in memory if r["seed"] in args.seeds)
    by_seed = {r["seed"]: r for r in memory}
    rows = [
        f"| {r['seed']} | {by_seed[r['seed']]['target_acc']:.4f} | {r['target_acc']:.4f} | "
        f"{by_seed[r['seed']]['wall_s']:.0f} s | {r['wall_s']:.0f} s |"
        for r in records
    ]
    table = "\n".join(
        [
            "MNIST → MNIST-M, the recommended DANN recipe (`mnist_mnistm_dann_plus.yaml`: 6000 "
            "steps of 64 + 64, bf16, channels-last), target test accuracy of the last iterate. "
            f"Streamed: PNG folders from `unshift data export-folders`, {args.workers} workers; "
            f"in memory: `{IN_MEMORY.name}` (same config, same machine kind).",
            "",
            "| seed | in memory | streamed | in memory: wall | streamed: wall |",
            "|---|---|---|---|---|",
            *rows,
            f"| mean | {memory_mean:.4f} | {streamed_mean:.4f} | | |",
            "",
            f"Streamed {mean_std([r['target_acc'] for r in records])}; difference of the means "
            f"{streamed_mean - memory_mean:+.4f} (goal: within ±0.01).",
        ]
    )
    payload = {"records": records, "in_memory": memory, "total_s": time.time() - start}
    print(write_results("streaming_digits", payload, table).read_text())


if __name__ == "__main__":
    main()
