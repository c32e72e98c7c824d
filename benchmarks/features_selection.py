"""Settings of a feature-file method for all 12 Amazon pairs, chosen by ``unshift tune``.

Each candidate (``NAME=KEY=VALUE,KEY=VALUE``; give every setting that differs from the config
explicitly, since the config may since have taken one of them) is a ``--candidate`` of
:func:`unshift.runs.tune.tune` on every Amazon pair, seed ``--seed`` (100, a seed :mod:`amazon`
never scores), 10 % of the source training data held out; each trial keeps its last iterate as a
snapshot. The rule, fixed before any run: the candidate with the highest mean ``--validator``
score over the 12 pairs goes in the config, one setting for every pair (no per-pair tuning).
``--also`` scores the same trials by other validators (``unshift select``'s code, no training),
to see where they would choose differently. The choices are written to
``results/<name>_choice.json`` before any target accuracy is read; the table shows target
accuracy for the reader, and it chooses nothing.

Run: ``python benchmarks/features_selection.py --data-dir ../shared/data/amazon_dann_5000
--config features_dann.yaml --candidates paper=method.target_entropy=0.0
target_entropy=method.target_entropy=0.1`` → ``benchmarks/results/features_selection_<config
stem>.{md,json}`` (trials under ``benchmarks/.cache/features_selection/<name>/``; the same
command again resumes them).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from multiprocessing import get_context
from pathlib import Path

import torch
from amazon import CONFIGS, DOMAINS, pair_overrides  # benchmarks/ is on sys.path as a script
from common import RESULTS_DIR, write_results

from unshift.core.files import RunDir
from unshift.runs.selection import DEFAULT_VALIDATOR, select
from unshift.runs.tune import tune
from unshift.runs.validators import VALIDATORS
from unshift.training.config import load_config
from unshift.training.yaml_keys import load_yaml

CACHE = Path(__file__).resolve().parent / ".cache/features_selection"


def parse_candidate(text: str) -> tuple[str, dict]:
    """``"name=key=value,key=value"`` → ``("name", {"key": value, ...})`` (values read as YAML)."""
    name, _, overrides = text.partition("=")
    pairs = [o.partition("=") for o in overrides.split(",") if o]
    return name, {k: load_yaml(v) for k, _, v in pairs}


def search_pair(job: tuple) -> list[dict]:
    """``unshift tune`` of every candidate on one pair; then each trial scored by the ``also``
    validators. ``job``: ``(data_dir, source, target, config, candidates, seed, validator,
    also, out)``."""
    data_dir, src, tgt, config, candidates, seed, validator, also, out = job
    torch.set_num_threads(1)
    base = [*pair_overrides(data_dir, src, tgt), f"seed={seed}", "data.source_val_fraction=0.1"]
    steps = load_config(CONFIGS / config, base).trainer.steps
    overrides = [*base, f"trainer.snapshot_every={steps}"]
    result = tune(
        CONFIGS / config,
        [c for _, c in candidates],
        Path(out) / f"{src}-{tgt}",
        overrides=overrides,
        validator=validator,
        echo=lambda _: None,
    )
    records = []
    for (name, settings), trial in zip(candidates, result.trials, strict=True):
        scores = {validator: trial.score}
        for other in also:
            scores[other] = select([trial.run_dir], other).chosen.score
        records.append(
            {
                "task": f"{src}->{tgt}",
                "candidate": name,
                "settings": settings,
                "seed": seed,
                "scores": scores,
                "run_dir": trial.run_dir,
                "target_acc": RunDir(trial.run_dir).read_final()["target_acc"],
                "wall_s": trial.wall_s,
            }
        )
    return records


def choose(records: list[dict], names: list[str], validator: str) -> tuple[str, dict]:
    """The candidate with the highest mean ``validator`` score over the pairs, and the means."""
    mean = {
        n: statistics.mean(r["scores"][validator] for r in records if r["candidate"] == n)
        for n in names
    }
    return max(names, key=mean.__getitem__), mean


def table(records: list[dict], names: list[str], validator: str) -> str:
    """Per pair and candidate ``score / target accuracy``, and the means."""
    cell = {(r["task"], r["candidate"]): r for r in records}
    chosen, mean = choose(records, names, validator)
    rows = []
    for task in dict.fromkeys(r["task"] for r in records):
        s, t = task.split("->")
        cells = [
            f"{cell[task, n]['scores'][validator]:.4f} / {cell[task, n]['target_acc']:.3f}"
            for n in names
        ]
        rows.append(f"| {s} → {t} | " + " | ".join(cells) + " |")
    acc = {
        n: statistics.mean(r["target_acc"] for r in records if r["candidate"] == n) for n in names
    }
    bold = {n: "**" if n == chosen else "" for n in names}
    rows.append(
        "| **mean** | "
        + " | ".join(f"{bold[n]}{mean[n]:.4f}{bold[n]} / {acc[n]:.3f}" for n in names)
        + " |"
    )
    header = "| pair | " + " | ".join(names) + " |"
    return "\n".join([header, "|---|" + "---|" * len(names), *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="<domain>_{train,test}.svmlight.gz")
    parser.add_argument(
        "--config", required=True, help="a file in configs/, e.g. features_cdan.yaml"
    )
    parser.add_argument("--candidates", nargs="+", required=True, help="NAME=KEY=VALUE,KEY=VALUE")
    parser.add_argument("--validator", default=DEFAULT_VALIDATOR, choices=list(VALIDATORS))
    parser.add_argument(
        "--also",
        nargs="*",
        default=[],
        choices=list(VALIDATORS),
        help="validators that score the same trials (their choice reported)",
    )
    parser.add_argument("--seed", type=int, default=100)
    pairs = [f"{s}->{t}" for s, t in itertools.permutations(DOMAINS, 2)]
    parser.add_argument("--tasks", nargs="+", default=pairs, choices=pairs)
    parser.add_argument("--name", help="results file name (default features_selection_<stem>)")
    parser.add_argument("--workers", type=int, default=2, help="pairs run in parallel")
    args = parser.parse_args()
    candidates = [parse_candidate(c) for c in args.candidates]
    names = [n for n, _ in candidates]
    if len(set(names)) != len(names):
        parser.error(f"candidate names must differ: {names}")
    name = args.name or f"features_selection_{Path(args.config).stem}"
    out = CACHE / name
    data_dir = str(Path(args.data_dir).resolve())
    also = [v for v in args.also if v != args.validator]
    jobs = [
        (
            data_dir,
            *task.split("->"),
            args.config,
            candidates,
            args.seed,
            args.validator,
            also,
            str(out),
        )
        for task in args.tasks
    ]
    with get_context("spawn").Pool(args.workers) as pool:
        records = [r for rs in pool.map(search_pair, jobs) for r in rs]
    choices = {v: choose(records, names, v)[0] for v in [args.validator, *also]}
    choice_file = RESULTS_DIR / f"{name}_choice.json"
    choice_file.write_text(json.dumps({"rule": args.validator, "chosen": choices}, indent=2) + "\n")
    print(f"choices on disk ({choice_file}): {choices}", flush=True)
    described = "; ".join(
        f"{n}: {json.dumps(c) if c else 'the config as it is'}" for n, c in candidates
    )
    sections = [
        f"`unshift tune configs/{args.config}` with each candidate on each Amazon pair, seed "
        f"{args.seed}, the last iterate (10 % of the source training data held out): "
        f"{args.validator} score / target test accuracy (for the reader; it chooses nothing). "
        f"Candidates: {described}. Rule fixed beforehand: the highest mean score over the pairs. "
        f"Chosen: **{choices[args.validator]}**.",
        "",
        table(records, names, args.validator),
    ]
    for other in also:
        sections += [
            "",
            f"The same trials scored by {other}: it would choose **{choices[other]}**.",
            "",
            table(records, names, other),
        ]
    wall = sum(r["wall_s"] for r in records)
    notes = f"{len(records)} trials, {wall:.0f} s of training ({args.workers} workers, 1 thread)."
    payload = {
        "records": records,
        "chosen": choices[args.validator],
        "choices": choices,
        "validator": args.validator,
    }
    print(write_results(name, payload, "\n".join(sections), notes).read_text())


if __name__ == "__main__":
    main()
