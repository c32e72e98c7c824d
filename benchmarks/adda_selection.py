"""ADDA's target-encoder learning rate for each digit task, chosen by a label-free validator.

For each task and each candidate factor of ``optim.lr_scale.target`` (the target encoder's
learning rate over the paper's Adam 2e-4, which the discriminator keeps),
``configs/digits/<task>_adda.yaml`` is trained on seed 100 (a seed the ADDA benchmark never
uses) and its last iterate scored by ``--validator`` through
:func:`unshift.runs.selection.score_config` (default: the default of ``unshift select``;
``reverse``: reverse validation, where the fitted model labels the unlabelled target training
images and a classifier trained on those labels for ``--reverse-steps`` steps (at most
``method.pretrain_steps``, so the backward run is ADDA's phase 1: source-only on the
pseudo-labels) is scored on the source test set). The candidate with the highest score is the
one to put in the config. Target accuracy is recorded
beside it for the reader; it chooses nothing.

Run: ``python benchmarks/adda_selection.py --data-dir ../shared/data`` → writes
``benchmarks/results/adda_selection.{md,json}``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from adda import TASKS  # benchmarks/ is on sys.path when run as a script
from common import add_selection_arguments, reverse_note, selection_overrides, write_results

from unshift.runs.selection import REVERSE, score_config
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="holds mnist/ and usps/")
    parser.add_argument("--candidates", nargs="+", type=float, default=[1.0, 0.3, 0.1])
    parser.add_argument(
        "--steps", type=int, help="trainer.steps of each run (default: the config's)"
    )
    add_selection_arguments(parser, list(TASKS), "adda_selection")
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    records, rows = [], []
    for task in args.tasks:
        scored = []
        for scale in args.candidates:
            start = time.perf_counter()
            cfg = load_config(
                ROOT / "configs/digits" / f"{task}_adda.yaml",
                [
                    f"data.root={args.data_dir.resolve()}",
                    "trainer.progress_bar=false",
                    "trainer.eval_every=0",
                    f"seed={args.seed}",
                    *selection_overrides(args.validator),
                    f"optim.lr_scale.target={scale}",
                    *([f"trainer.steps={args.steps}"] if args.steps else []),
                ],
            )
            if args.validator == REVERSE and args.reverse_steps > cfg.method.pretrain_steps:
                parser.error("--reverse-steps must not exceed the config's method.pretrain_steps")
            result = score_config(cfg, args.validator, args.reverse_steps)
            record = {"task": task, "target_lr_scale": scale, "steps": cfg.trainer.steps, **result}
            record["wall_s"] = time.perf_counter() - start
            print(record, flush=True)
            records.append(record)
            scored.append(record)
        best = max(scored, key=lambda r: r["score"])
        rows += [
            f"| {TASKS[task]} | {r['target_lr_scale']} | {r['steps']} | {r['score']:.4f} "
            f"| {r['source_acc']:.4f} | {r['target_acc']:.4f} "
            f"| {'**chosen**' if r is best else ''} |"
            for r in scored
        ]
    table = "\n".join(
        [
            f"ADDA, seed {args.seed}, configs/digits/<task>_adda.yaml with "
            f"optim.lr_scale.target set; validator {args.validator}{reverse_note(args)}. The "
            "highest score chooses; target accuracy is shown, not used. Source accuracy is the "
            "final model's: classifier(M_t) on source test images.",
            "",
            f"| task | target lr scale | steps | {args.validator} score (chooses) | source acc "
            "| target acc (not used) | |",
            "|---|---|---|---|---|---|---|",
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
