"""Towards a DANN digit recipe beyond the paper's: candidate recipes trained on seed 100 (a seed
no accuracy benchmark uses) and scored by every label-free validator.

Each candidate is ``configs/digits/<task>_<method>.yaml`` with overrides (the network's batch
norm and dropout, separate source/target passes, the optimiser, the λ ceiling, the length), on
10 % held-out source data for the validators that need it, bf16 autocast and channels-last
(``benchmarks/results/step_overhead.md``). The candidate the default validator
(:data:`unshift.runs.selection.DEFAULT_VALIDATOR`) scores highest among the DANN candidates is the
one a recipe would take; the target accuracy is shown for the reader and chooses nothing.

Run: ``python benchmarks/dann_recipe.py --data-dir ../shared/data [--tasks mnist_usps]`` →
writes ``benchmarks/results/dann_recipe.{md,json}`` (``dann_recipe_<task>...`` for a subset of
tasks).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from common import write_results  # benchmarks/ is on sys.path when run as a script
from digits import (
    TASKS,
    add_selection_run_arguments,
    ensure_mnist_m,
    selection_run_overrides,
)

from unshift.runs.run import run
from unshift.runs.selection import DEFAULT_VALIDATOR
from unshift.runs.validators import VALIDATORS, ValidationData
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SEED = 100
BN = ["model.batch_norm=true", "model.dropout=0.5"]
ADAM = ["optim.name=adam", "optim.lr=0.001", "optim.lr_schedule=constant"]
# label: (method config, overrides)
CANDIDATES: dict[str, tuple[str, list[str]]] = {
    "source-only, paper network": ("source_only", []),
    "source-only, BN + dropout": ("source_only", BN),
    "source-only, BN + dropout, Adam": ("source_only", [*BN, *ADAM]),
    "DANN, paper recipe": ("dann", []),
    "DANN, BN + dropout, joint pass": ("dann", BN),
    "DANN, BN + dropout, separate passes": ("dann", [*BN, "method.separate_passes=true"]),
    "DANN, BN + dropout, separate passes, λ ≤ 1": (
        "dann",
        [*BN, "method.separate_passes=true", "method.schedule.hi=1.0"],
    ),
    "DANN, BN + dropout, separate passes, Adam": (
        "dann",
        [*BN, "method.separate_passes=true", *ADAM],
    ),
    "DANN, BN + dropout, joint pass, target entropy 0.1": (
        "dann",
        [*BN, "method.target_entropy=0.1"],
    ),
    "DANN, BN + dropout, separate passes, Adam, target entropy 0.1": (
        "dann",
        [*BN, "method.separate_passes=true", *ADAM, "method.target_entropy=0.1"],
    ),
}


def previous_records(paths: list[Path], tasks: list[str], steps: int) -> list[dict]:
    """Records of earlier runs of this benchmark (same seed and length) on ``tasks``, so that a
    run of a few new candidates is chosen among all of them."""
    records = []
    for path in paths:
        payload = json.loads(path.read_text())
        if payload["seed"] != SEED or payload["steps"] != steps:
            raise SystemExit(f"{path}: seed/steps {payload['seed']}/{payload['steps']} differ")
        for r in payload["records"]:
            if r["task"] in tasks:
                records.append({**r, "from": path.name})
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_selection_run_arguments(parser)
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=None)
    parser.add_argument(
        "--previous",
        nargs="+",
        type=Path,
        default=[],
        help="results JSON of earlier runs whose candidates join the choice (not rerun)",
    )
    parser.add_argument("--name", help="results file name (default: dann_recipe[_<tasks>])")
    args = parser.parse_args()
    if args.name is None:
        every = args.tasks == list(TASKS)
        args.name = "dann_recipe" if every else "dann_recipe_" + "_".join(args.tasks)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    mnist_m = ensure_mnist_m(args.data_dir.resolve(), args.mnist_m_dir.resolve())
    common = selection_run_overrides(args.data_dir, mnist_m, SEED, args.steps)
    earlier = previous_records(args.previous, args.tasks, args.steps)
    labels = args.candidates or list(CANDIDATES)
    records, rows = [], []
    for task in args.tasks:
        data, scored = None, [r for r in earlier if r["task"] == task]
        for label in labels:
            method, overrides = CANDIDATES[label]
            start = time.perf_counter()
            path = ROOT / "configs/digits" / f"{task}_{method}.yaml"
            result = run(load_config(path, [*common, *overrides]), data=data)
            data = result.data
            validation = ValidationData.from_task(data)
            scores = {n: f(result.method, validation) for n, f in VALIDATORS.items()}
            record = {
                "task": task,
                "candidate": label,
                "overrides": overrides,
                "scores": scores,
                "source_acc": result.final["source_acc"],
                "target_acc": result.final["target_acc"],
                "train_s": result.final["wall_s"],
                "wall_s": time.perf_counter() - start,
            }
            print(record, flush=True)
            records.append(record)
            scored.append(record)
        dann = [r for r in scored if r["candidate"].startswith("DANN")]
        best = max(dann, key=lambda r: r["scores"][DEFAULT_VALIDATOR])
        for r in scored:
            s = r["scores"]
            label = r["candidate"] + (f" (from {r['from']})" if "from" in r else "")
            rows.append(
                f"| {TASKS[task]} | {label} | {s[DEFAULT_VALIDATOR]:.4f} "
                f"| {s['source_val_acc']:.4f} | {s['dev']:.4f} | {r['target_acc']:.4f} "
                f"| {'**taken**' if r is best else ''} |"
            )
    table = "\n".join(
        [
            f"Seed {SEED}, {args.steps} steps of 64 + 64 images, bf16 autocast, channels-last, "
            "10 % of the source training data held out; last iterate. BN + dropout: "
            "`model.batch_norm=true model.dropout=0.5`; Adam: lr 1e-3, constant. The DANN "
            f"candidate with the highest {DEFAULT_VALIDATOR} score is taken; target accuracy is "
            "shown, not used.",
            "",
            f"| task | candidate | {DEFAULT_VALIDATOR} (chooses) | source val acc | dev "
            "| target acc (not used) | |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    payload = {"records": records, "seed": SEED, "steps": args.steps}
    print(write_results(args.name, payload, table).read_text())


if __name__ == "__main__":
    main()
