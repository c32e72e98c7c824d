"""Towards a DANN digit recipe beyond the paper's: candidate recipes searched by ``unshift tune``
on seed 100 (a seed no accuracy benchmark uses) and scored by a label-free validator.

Each candidate is ``configs/digits/<task>_<method>.yaml`` with overrides (the network's batch
norm and dropout, separate source/target passes, the optimiser, the λ ceiling, the length), on
10 % held-out source data for the validators that need it, bf16 autocast and channels-last
(``benchmarks/results/step_overhead.md``). Per task and method the candidates are one
``unshift tune`` search (``--candidate``; trials kept under ``benchmarks/.cache/dann_recipe/``, so
the same command resumes them). The DANN candidate ``--validator`` (default
:data:`unshift.runs.selection.DEFAULT_VALIDATOR`) scores highest is the one a recipe would take;
``--also`` scores the same trials by other validators to show where they would differ. The
choices are written to ``results/<name>_choice.json`` before any target accuracy is read; the
table shows it for the reader, and it chooses nothing. A candidate added later is a new search
(another ``--name``): its results file says so by its date.

Run: ``python benchmarks/dann_recipe.py --data-dir ../shared/data [--tasks mnist_usps]`` →
writes ``benchmarks/results/dann_recipe.{md,json}`` (``dann_recipe_<task>...`` for a subset of
tasks).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from common import RESULTS_DIR, write_results  # benchmarks/ is on sys.path as a script
from digits import (
    TASKS,
    add_selection_run_arguments,
    ensure_mnist_m,
    selection_run_overrides,
)

from unshift.core.files import RunDir
from unshift.runs.selection import DEFAULT_VALIDATOR, select
from unshift.runs.tune import tune
from unshift.runs.validators import VALIDATORS
from unshift.training.yaml_keys import load_yaml

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks/.cache/dann_recipe"
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


def as_settings(overrides: list[str]) -> dict:
    """``["key=value", ...]`` → ``{"key": value}`` (values read as YAML), a tune candidate."""
    return {k: load_yaml(v) for k, _, v in (o.partition("=") for o in overrides)}


def search(task: str, method: str, labels: list[str], common: list[str], args) -> list[dict]:
    """``unshift tune`` of ``configs/digits/<task>_<method>.yaml`` over the candidates
    ``labels``, each trial keeping its last iterate as a snapshot; then the trials scored by the
    ``--also`` validators (:func:`unshift.runs.selection.select`, no training)."""
    out = CACHE / args.name / f"{task}_{method}"
    config = ROOT / "configs/digits" / f"{task}_{method}.yaml"
    candidates = [as_settings(CANDIDATES[label][1]) for label in labels]
    overrides = [*common, f"trainer.snapshot_every={args.steps}"]
    result = tune(
        config,
        candidates,
        out,
        overrides=overrides,
        validator=args.validator,
        echo=lambda line: print(f"{task} {method} {line}", flush=True),
    )
    records = []
    for label, trial in zip(labels, result.trials, strict=True):
        scores = {args.validator: trial.score}
        for other in args.also:
            scores[other] = select([trial.run_dir], other).chosen.score
        final = RunDir(trial.run_dir).read_final()
        records.append(
            {
                "task": task,
                "candidate": label,
                "method": method,
                "overrides": CANDIDATES[label][1],
                "scores": scores,
                "source_acc": final["source_acc"],
                "target_acc": final["target_acc"],
                "run_dir": trial.run_dir,
                "wall_s": trial.wall_s,
            }
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_selection_run_arguments(parser)
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=None)
    parser.add_argument("--validator", default=DEFAULT_VALIDATOR, choices=list(VALIDATORS))
    parser.add_argument(
        "--also",
        nargs="*",
        default=[],
        choices=list(VALIDATORS),
        help="validators that score the same trials (their choice reported)",
    )
    parser.add_argument("--name", help="results file name (default: dann_recipe[_<tasks>])")
    args = parser.parse_args()
    if args.name is None:
        every = args.tasks == list(TASKS)
        args.name = "dann_recipe" if every else "dann_recipe_" + "_".join(args.tasks)
    args.also = [v for v in args.also if v != args.validator]
    torch.set_num_threads(min(2, torch.get_num_threads()))
    mnist_m = ensure_mnist_m(args.data_dir.resolve(), args.mnist_m_dir.resolve())
    common = selection_run_overrides(args.data_dir, mnist_m, SEED, args.steps)
    labels = args.candidates or list(CANDIDATES)
    records = []
    for task in args.tasks:
        for method in ("source_only", "dann"):
            mine = [label for label in labels if CANDIDATES[label][0] == method]
            records += search(task, method, mine, common, args) if mine else []
    choices = {
        v: {
            t: max(
                (r for r in records if r["task"] == t and r["method"] == "dann"),
                key=lambda r: r["scores"][v],
            )["candidate"]
            for t in args.tasks
        }
        for v in [args.validator, *args.also]
    }
    choice_file = RESULTS_DIR / f"{args.name}_choice.json"
    choice_file.write_text(json.dumps({"rule": args.validator, "chosen": choices}, indent=2) + "\n")
    print(f"choices on disk ({choice_file}): {choices[args.validator]}", flush=True)
    shown = [args.validator, *args.also]
    rows = []
    for r in records:
        marks = [v for v in shown if choices[v][r["task"]] == r["candidate"]]
        rows.append(
            f"| {TASKS[r['task']]} | {r['candidate']} | "
            + " | ".join(f"{r['scores'][v]:.4f}" for v in shown)
            + f" | {r['target_acc']:.4f} | {', '.join(marks)} |"
        )
    table = "\n".join(
        [
            f"`unshift tune` of each task's config over the candidates, seed {SEED}, "
            f"{args.steps} steps of 64 + 64 images, bf16 autocast, channels-last, 10 % of the "
            "source training data held out; last iterate. BN + dropout: "
            "`model.batch_norm=true model.dropout=0.5`; Adam: "
            f"lr 1e-3, constant. The DANN candidate with the highest {args.validator} score is "
            "taken (the source-only candidates are twins for comparison); the other validators' "
            "choices among the same trials are marked. Target accuracy is shown, not used.",
            "",
            f"| task | candidate | {' | '.join(shown)} | target acc (not used) | chosen by |",
            "|---|---|" + "---|" * len(shown) + "---|---|",
            *rows,
        ]
    )
    payload = {"records": records, "seed": SEED, "steps": args.steps, "choices": choices}
    print(write_results(args.name, payload, table).read_text())


if __name__ == "__main__":
    main()
