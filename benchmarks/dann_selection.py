"""DANN's λ ceiling for each digit task, chosen by a label-free validator.

For each task and each candidate ``method.schedule.hi`` (``config``: the one in the file; with
``--discriminators``, each candidate discriminator: hidden widths such as ``500,500``; with
``--steps``, each run length), ``configs/digits/<task>_dann.yaml`` is trained on seed 100 (a
seed the digit benchmark never uses) and its last iterate scored by ``--validator`` (default:
the default of ``unshift select``; ``reverse``: reverse validation with a backward run of
``--reverse-steps`` steps, scored on the source test set) through
:func:`unshift.runs.selection.score_config`. The candidate with the highest score is the one to put
in the config. Target accuracy is recorded beside it for the reader; it chooses nothing.

Run: ``python benchmarks/dann_selection.py --data-dir ../shared/data`` → writes
``benchmarks/results/dann_selection.{md,json}``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch
from common import (  # benchmarks/ is on sys.path when run as a script
    add_selection_arguments,
    reverse_note,
    selection_overrides,
    write_results,
)
from digits import TASKS, benchmark_overrides, ensure_mnist_m

from unshift.runs.selection import score_config
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="holds mnist/, usps/, photos/")
    parser.add_argument("--mnist-m-dir", type=Path, default=ROOT / "benchmarks/.cache/mnist_m")
    parser.add_argument(
        "--candidates",
        nargs="+",
        default=["1.0", "0.3", "0.1"],
        help="λ ceilings to try; 'config' keeps each task's own",
    )
    parser.add_argument(
        "--discriminators",
        nargs="+",
        default=[None],
        help="hidden widths of candidate discriminators, e.g. 100 500,500 (default: the config's)",
    )
    parser.add_argument(
        "--steps", nargs="+", type=int, default=[None], help="run lengths (default: the config's)"
    )
    add_selection_arguments(parser, list(TASKS), "dann_selection")
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    mnist_m = ensure_mnist_m(args.data_dir.resolve(), args.mnist_m_dir.resolve())
    records, rows = [], []
    for task in args.tasks:
        scored = []
        grid = itertools.product(args.candidates, args.discriminators, args.steps)
        for hi, widths, steps in grid:
            start = time.perf_counter()
            extra = [] if hi == "config" else [f"method.schedule.hi={float(hi)}"]
            if widths is not None:
                extra.append(f"method.discriminator.hidden=[{widths}]")
            if steps is not None:
                extra.append(f"trainer.steps={steps}")
            cfg = load_config(
                ROOT / "configs/digits" / f"{task}_dann.yaml",
                [
                    *benchmark_overrides(args.data_dir, mnist_m),
                    f"seed={args.seed}",
                    *selection_overrides(args.validator),
                    *extra,
                ],
            )
            result = score_config(cfg, args.validator, args.reverse_steps)
            hidden = list(cfg.method.discriminator.hidden)
            record = {
                "task": task,
                "hi": cfg.method.schedule["hi"],
                "discriminator": hidden,
                "steps": cfg.trainer.steps,
                **result,
            }
            record["wall_s"] = time.perf_counter() - start
            print(record, flush=True)
            records.append(record)
            scored.append(record)
        best = max(scored, key=lambda r: r["score"])
        for r in scored:
            rows.append(
                f"| {TASKS[task]} | {r['hi']} | {'-'.join(map(str, r['discriminator']))} "
                f"| {r['steps']} "
                f"| {r['score']:.4f} | {r['source_acc']:.4f} "
                f"| {r['target_acc']:.4f} | {'**chosen**' if r is best else ''} |"
            )
    table = "\n".join(
        [
            f"DANN, seed {args.seed}, configs/digits/<task>_dann.yaml with method.schedule.hi "
            f"(and method.discriminator.hidden, trainer.steps) set; validator "
            f"{args.validator}{reverse_note(args)}. The highest score chooses; "
            "target accuracy is shown, not used.",
            "",
            f"| task | λ ceiling | discriminator | steps | {args.validator} score (chooses) "
            "| source acc | target acc (not used) | |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    payload = {
        "records": records,
        "seed": args.seed,
        "validator": args.validator,
        "reverse_steps": args.reverse_steps,
    }
    print(write_results(args.name, payload, table).read_text())


if __name__ == "__main__":
    main()
