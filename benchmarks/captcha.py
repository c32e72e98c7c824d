"""Source-only, DANN and ADDA on the captcha domains (plain → noisy 3-digit codes).

``configs/captcha/<method>.yaml`` unchanged; the last iterate is scored; target labels choose
nothing. Reports whole-code target accuracy (all three characters right) and per-character
accuracy.

Run: ``python benchmarks/captcha.py --fonts ../shared/data/fonts`` → writes
``benchmarks/results/captcha.{md,json}`` (``--quick``: a smoke test in minutes →
``captcha_quick.{md,json}``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import (  # benchmarks/ is on sys.path when run as a script
    mean_std,
    run_record,
    write_results,
)

from unshift.runs.run import run
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("source_only", "dann", "adda")
QUICK = [
    "trainer.steps=200",
    "data.n_train=2000",
    "data.n_test=500",
    "method.pretrain_steps=100",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", required=True, type=Path, help="directory of .ttf/.otf fonts")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 steps, 2000 images, 1 seed")
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    seeds = 1 if args.quick else args.seeds
    common = [
        f"data.fonts={args.fonts.resolve()}",
        "trainer.progress_bar=false",
        "trainer.eval_every=0",
        "trainer.checkpoint_every=0",
        *(QUICK if args.quick else []),
    ]
    start = time.perf_counter()
    records = []
    for method in METHODS:
        for seed in range(seeds):
            extra = [o for o in common if method == "adda" or not o.startswith("method.")]
            cfg = load_config(ROOT / "configs/captcha" / f"{method}.yaml", [*extra, f"seed={seed}"])
            final = run(cfg).final
            per_output = final["target_per_output_acc"]
            record = run_record(
                "captcha_plain_noisy", method, seed, final, per_output_acc=per_output
            )
            records.append(record)
            print(record, flush=True)
    total = time.perf_counter() - start

    rows = []
    for method in METHODS:
        mine = [r for r in records if r["method"] == method]
        per_char = [
            mean_std([r["per_output_acc"][i] for r in mine])
            for i in range(len(mine[0]["per_output_acc"]))
        ]
        rows.append(
            f"| {method} | {mean_std([r['target_acc'] for r in mine])} | {' / '.join(per_char)} "
            f"| {mean_std([r['source_acc'] for r in mine])} | {mine[0]['steps']} "
            f"| {sum(r['wall_s'] for r in mine):.0f} |"
        )
    table = "\n".join(
        [
            f"Captchas, source style plain → target style noisy, 3 digits per code. Target test "
            f"accuracy, mean ± std over {seeds} seed(s), last iterate, configs/captcha/<method>"
            ".yaml" + (" with --quick overrides " + " ".join(QUICK) if args.quick else "") + ".",
            "",
            "| method | whole code (target) | per character (target) | whole code (source) "
            "| steps | wall s |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    notes = f"{len(records)} runs; whole benchmark {total:.0f} s wall (including rendering)."
    payload = {"records": records, "seeds": seeds, "quick": args.quick, "total_s": total}
    name = "captcha_quick" if args.quick else "captcha"
    print(write_results(name, payload, table, notes).read_text())


if __name__ == "__main__":
    main()
