"""Does ``unshift tune`` choose well? Its search on seed 100, then every candidate on seeds 0-2.

``unshift tune``'s own code (:func:`unshift.runs.tune.tune`) searches ``--space`` over
``--config`` on seed 100 (a seed no accuracy benchmark scores) with the default validator,
writing ``best.yaml`` before any target accuracy is read. Then every candidate of the grid is
trained on seeds 0, 1 and 2 and scored on the target test labels, for the reader only: the goal
(#32) is a chosen config whose 3-seed mean is within 0.02 of the best candidate's.

Run: ``python benchmarks/tune_check.py --config moons/dann --space method.schedule.hi=0.1,0.3,1.0
--space optim.lr=0.1,0.03 --name tune_moons`` → writes ``benchmarks/results/tune_moons.{md,json}``
(the search's run directories under ``benchmarks/.cache/tune_moons``; the same command resumes
them). ``--also V ...``: the trial each other validator would choose among the same trials
(through ``select``; written to ``also.json`` beside the search before any target accuracy is
read), with its 3-seed mean.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from multiprocessing import get_context
from pathlib import Path

import torch
from common import mean_std, write_results  # benchmarks/ is on sys.path when run as a script

from unshift.runs.run import run
from unshift.runs.search_space import parse_space
from unshift.runs.selection import select
from unshift.runs.tune import tune
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SEARCH_SEED, SEEDS = 100, (0, 1, 2)
GOAL = 0.02
QUIET = ["trainer.progress_bar=false", "trainer.eval_every=0"]


def target_accuracy(job: tuple[str, list[str]]) -> float:
    """The target test accuracy of one run of ``job``: ``(config, overrides)``, one thread."""
    torch.set_num_threads(1)
    config, overrides = job
    return run(load_config(config, overrides)).final["target_acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a config file or packaged config name")
    parser.add_argument("--space", action="append", required=True, metavar="KEY=V1,V2,...")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--validator", help="default: unshift's default validator")
    parser.add_argument("--name", required=True, help="results file name, e.g. tune_moons")
    parser.add_argument("--workers", type=int, default=2, help="seed runs in parallel")
    parser.add_argument(
        "--also",
        nargs="*",
        default=[],
        help="validators whose choice among the same trials is reported too (through select)",
    )
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    space = parse_space(args.space)
    out = ROOT / "benchmarks/.cache" / args.name
    start = time.perf_counter()
    base = [*args.overrides, *QUIET]
    steps = load_config(args.config, base).trainer.steps
    search = tune(
        args.config,
        space,
        out,
        overrides=[*base, f"seed={SEARCH_SEED}", f"trainer.snapshot_every={steps}"],
        validator=args.validator,
        echo=lambda line: print(line, flush=True),
    )
    assert search.chosen is not None
    trial_dirs = [t.run_dir for t in search.trials]
    others = {v: select(trial_dirs, v).chosen.run for v in args.also if v != search.validator}
    index = {t.run_dir: t.index for t in search.trials}
    also = {v: index[run] for v, run in others.items()}
    (out / "also.json").write_text(json.dumps(also, indent=2) + "\n")
    print(f"chosen on disk ({search.best}, {out / 'also.json'}): trial {search.chosen.index}")
    search_s = time.perf_counter() - start
    jobs = [
        (
            args.config,
            [*base, *(f"{k}={json.dumps(v)}" for k, v in t.settings.items()), f"seed={s}"],
        )
        for t in search.trials
        for s in SEEDS
    ]
    with get_context("spawn").Pool(args.workers) as pool:
        accs = pool.map(target_accuracy, jobs, chunksize=1)
    records = [
        {**vars(t), "seed_accs": accs[i * len(SEEDS) : (i + 1) * len(SEEDS)]}
        for i, t in enumerate(search.trials)
    ]
    best = max(statistics.mean(r["seed_accs"]) for r in records)
    chosen = next(r for r in records if r["index"] == search.chosen.index)
    gap = best - statistics.mean(chosen["seed_accs"])
    keys = list(space)
    rows = [
        f"| {' | '.join(json.dumps(r['settings'][k]) for k in keys)} | {r['score']:.5f} "
        f"| {r['target_acc_not_used']:.3f} | {mean_std(r['seed_accs'])} "
        f"| {'**chosen**' if r is chosen else ''} |"
        for r in records
    ]
    table = "\n".join(
        [
            f"`unshift tune {args.config}` over {', '.join(args.space)} "
            f"({' '.join(f'--set {o}' for o in args.overrides) or 'the config as it is'}) on "
            f"seed {SEARCH_SEED} with {search.validator}, the last iterate of each trial; then "
            "every candidate on seeds 0-2 (target test accuracy, read only for this table).",
            "",
            f"| {' | '.join(keys)} | {search.validator} (seed {SEARCH_SEED}) "
            f"| target acc, seed {SEARCH_SEED} (not used) | target acc, seeds 0-2 | |",
            "|" + "---|" * (len(keys) + 4),
            *rows,
            "",
            f"Goal: the chosen config within {GOAL} of the best candidate's 3-seed mean: "
            f"{'met' if gap <= GOAL else 'missed'} (best {best:.3f}, chosen "
            f"{statistics.mean(chosen['seed_accs']):.3f}, gap {gap:.3f}).",
            *(
                f"- {v} would choose trial {i}: 3-seed mean "
                f"{statistics.mean(records[i]['seed_accs']):.3f}, gap "
                f"{best - statistics.mean(records[i]['seed_accs']):.3f}."
                for v, i in also.items()
            ),
        ]
    )
    total = time.perf_counter() - start
    notes = (
        f"Search {search_s:.0f} s ({torch.get_num_threads()} threads), whole benchmark "
        f"{total:.0f} s wall (seed runs {args.workers} at a time, one thread each)."
    )
    payload = {"records": records, "chosen": search.chosen.index, "gap": gap, "also": also}
    payload["total_s"] = total
    print(write_results(args.name, payload, table, notes).read_text())


if __name__ == "__main__":
    main()
