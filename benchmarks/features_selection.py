"""Settings of a feature-file method for all 12 Amazon pairs, chosen by a label-free validator.

Each candidate (``NAME=KEY=VALUE,KEY=VALUE``, or just ``NAME`` for the config as it is) is
``--config`` with those overrides, trained on every Amazon pair with seed ``--seed`` (100, a
seed :mod:`amazon` never scores) and 10 % of the source training data held out; its last
iterate is scored by ``--validator`` through :func:`unshift.runs.selection.score_config`. The rule,
fixed before any run: the candidate with the highest mean score over the 12 pairs is the one to
put in the config, one setting for every pair (no per-pair tuning). Target accuracy is recorded
beside each score for the reader; it chooses nothing.

Run: ``python benchmarks/features_selection.py --data-dir ../shared/data/amazon_dann_5000
--config features_cdan.yaml --candidates paper no_entropy=method.entropy_conditioning=false``
→ writes ``benchmarks/results/features_selection_<config stem>.{md,json}``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from multiprocessing import get_context
from pathlib import Path

import torch
from amazon import (
    CONFIGS,
    DOMAINS,
    pair_overrides,
)  # benchmarks/ is on sys.path when run as a script
from common import add_selection_arguments, reverse_note, selection_overrides, write_results

from unshift.runs.selection import score_config
from unshift.training.config import load_config


def parse_candidate(text: str) -> tuple[str, tuple[str, ...]]:
    """``"name=key=value,key=value"`` → ``("name", ("key=value", "key=value"))``."""
    name, _, overrides = text.partition("=")
    return name, tuple(o for o in overrides.split(",") if o)


def score_pair(job: tuple) -> list[dict]:
    """Every candidate on one pair: ``(data_dir, source, target, config, candidates, seed,
    validator, reverse_steps)``."""
    data_dir, src, tgt, config, candidates, seed, validator, reverse_steps = job
    torch.set_num_threads(1)
    base = [*pair_overrides(data_dir, src, tgt), f"seed={seed}", *selection_overrides(validator)]
    records = []
    for name, overrides in candidates:
        start = time.perf_counter()
        cfg = load_config(CONFIGS / config, [*base, *overrides])
        scored = score_config(cfg, validator, reverse_steps)
        records.append(
            {"task": f"{src}->{tgt}", "candidate": name, "overrides": list(overrides),
             "seed": seed, **scored, "wall_s": time.perf_counter() - start}
        )  # fmt: skip
    return records


def table(records: list[dict], names: list[str]) -> tuple[str, str]:
    """Per pair and candidate ``score / target accuracy``; the means; and the chosen name."""
    cell = {(r["task"], r["candidate"]): r for r in records}
    rows = []
    for task in dict.fromkeys(r["task"] for r in records):
        s, t = task.split("->")
        cells = [f"{cell[task, n]['score']:.4f} / {cell[task, n]['target_acc']:.3f}" for n in names]
        rows.append(f"| {s} → {t} | " + " | ".join(cells) + " |")
    mean_score = {
        n: statistics.mean(r["score"] for r in records if r["candidate"] == n) for n in names
    }
    mean_acc = {
        n: statistics.mean(r["target_acc"] for r in records if r["candidate"] == n) for n in names
    }
    chosen = max(names, key=mean_score.__getitem__)
    rows.append(
        "| **mean** | "
        + " | ".join(
            f"{'**' if n == chosen else ''}{mean_score[n]:.4f}{'**' if n == chosen else ''}"
            f" / {mean_acc[n]:.3f}"
            for n in names
        )
        + " |"
    )
    header = "| pair | " + " | ".join(names) + " |"
    return "\n".join([header, "|---|" + "---|" * len(names), *rows]), chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", required=True, help="folder of <domain>_{train,test}.svmlight.gz"
    )
    parser.add_argument(
        "--config", required=True, help="a file in configs/, e.g. features_cdan.yaml"
    )
    parser.add_argument(
        "--candidates", nargs="+", required=True, help="NAME or NAME=KEY=VALUE,KEY=VALUE"
    )
    parser.add_argument("--workers", type=int, default=2, help="pairs run in parallel")
    pairs = [f"{s}->{t}" for s, t in itertools.permutations(DOMAINS, 2)]
    add_selection_arguments(parser, pairs, "")
    args = parser.parse_args()
    candidates = [parse_candidate(c) for c in args.candidates]
    names = [n for n, _ in candidates]
    if len(set(names)) != len(names):
        parser.error(f"candidate names must differ: {names}")
    data_dir = str(Path(args.data_dir).resolve())
    jobs = [
        (data_dir, *task.split("->"), args.config, candidates, args.seed, args.validator,
         args.reverse_steps)
        for task in args.tasks
    ]  # fmt: skip
    with get_context("spawn").Pool(args.workers) as pool:
        records = [r for rs in pool.map(score_pair, jobs) for r in rs]
    text, chosen = table(records, names)
    described = "; ".join(f"{n}: {', '.join(o) or 'the config as it is'}" for n, o in candidates)
    caption = (
        f"`configs/{args.config}` on each Amazon pair, seed {args.seed}: {args.validator} score"
        f"{reverse_note(args)} / target test accuracy (for the reader; it chooses nothing). "
        f"Candidates: {described}. Rule fixed beforehand: the highest mean score over the "
        f"pairs. Chosen: **{chosen}**."
    )
    wall = sum(r["wall_s"] for r in records)
    notes = f"{len(records)} runs, {wall:.0f} s ({args.workers} worker processes, one thread each)."
    name = args.name or f"features_selection_{Path(args.config).stem}"
    payload = {"records": records, "chosen": chosen, "validator": args.validator}
    print(write_results(name, payload, f"{caption}\n\n{text}", notes).read_text())


if __name__ == "__main__":
    main()
