"""Source-only and DANN on rotated two moons: target accuracy per seed, last iterate.

Uses ``configs/moons/source_only.yaml`` and ``configs/moons/dann.yaml`` unchanged (their
learning rate chosen without target labels, ``benchmarks/results/moons_rechoice.md``). Writes
``benchmarks/results/moons.{md,json}``.
Run: ``python benchmarks/moons.py --seeds 10``.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
from common import run_record, write_results  # benchmarks/ is on sys.path when run as a script

from unshift.runs.run import run
from unshift.training.config import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "moons"


def run_one(method: str, seed: int, angle: float) -> dict:
    cfg = load_config(
        CONFIGS / f"{method}.yaml",
        [f"seed={seed}", f"data.angle={angle}", "trainer.progress_bar=false"],
    )
    return run_record(f"moons_{angle:g}", method, seed, run(cfg).final)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--angle", type=float, default=35.0, help="target rotation, degrees")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small MLPs: one thread is faster than two

    records = [
        run_one(method, seed, args.angle)
        for method in ("source_only", "dann")
        for seed in range(args.seeds)
    ]
    rows = []
    for method in ("source_only", "dann"):
        accs = [r["target_acc"] for r in records if r["method"] == method]
        per_seed = " ".join(f"{a:.3f}" for a in accs)
        rows.append(
            f"| {method} | {statistics.mean(accs):.3f} ± {statistics.stdev(accs):.3f} "
            f"| {min(accs):.3f} | {per_seed} |"
        )
    table = "\n".join(
        [
            f"Rotated two moons, target rotated {args.angle:g}°, target test accuracy of the last "
            f"iterate, seeds 0–{args.seeds - 1}.",
            "",
            "| method | mean ± std | min | per seed |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    print(write_results("moons", {"records": records}, table).read_text())


if __name__ == "__main__":
    main()
