"""The DANN paper's digit table: MNIST → MNIST-M, MNIST → USPS, USPS → MNIST.

For each task, ``--seeds`` seeds of each method, with ``configs/digits/<task>_<method>.yaml``
unchanged (the last iterate is scored; target labels choose nothing):

- ``source_only``, ``dann``, ``target_only`` (trained on labelled target data, the upper
  bound): the paper's network and optimiser; DANN's λ ceiling per task chosen beforehand by
  reverse validation on seed 100 (see the configs).
- ``dann_plus`` and ``source_only_plus``: the recommended DANN recipe and the same training
  without adaptation (same network, optimiser, length; chosen on seed 100 by the default
  validator, ``benchmarks/dann_recipe.py``; see the configs).
- ``cdan_plus`` and ``mcd_plus``: CDAN+E and MCD on that recipe (see the configs).
- ``mcc_plus``, ``mdd_plus`` and ``coral_plus``: MCC, MDD and Deep CORAL on that recipe, their
  own settings chosen on seed 100 (``benchmarks/method_settings.py``; see the configs).

MNIST-M is generated from ``<data-dir>/mnist`` and ``<data-dir>/photos`` into
``--mnist-m-dir`` when it is not there yet.

Run: ``python benchmarks/digits.py --data-dir ../shared/data [--methods ...] [--tasks ...]``
→ writes ``benchmarks/results/digits.{md,json}`` (a subset of methods:
``digits_<methods>.{md,json}``; ``--quick``: fewer steps and images, one seed, for a smoke
test in minutes → ``digits_quick.{md,json}``). ``--combine A.json B.json ...`` writes
``digits.{md,json}`` from the records of earlier runs, each run's command listed (the paper
recipe's rows: ``digits_source_only_dann_target_only.json``, run when those were all the
methods; the recommended recipe's: ``digits_source_only_plus_dann_plus.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from multiprocessing import get_context
from pathlib import Path

import torch
from common import (  # benchmarks/ is on sys.path when run as a script
    RESULTS_DIR,
    mean_std,
    run_record,
    write_results,
)

from unshift.core.errors import DataError
from unshift.data.images import load_mnist_m
from unshift.data.mnist_m import generate_mnist_m
from unshift.runs.run import run
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
TASKS = {
    "mnist_mnistm": "MNIST → MNIST-M",
    "mnist_usps": "MNIST → USPS",
    "usps_mnist": "USPS → MNIST",
}
METHODS = (
    "source_only",
    "dann",
    "source_only_plus",
    "dann_plus",
    "cdan_plus",
    "mcd_plus",
    "mcc_plus",
    "mdd_plus",
    "coral_plus",
    "target_only",
)
LABELS = {
    "source_only": "source-only (paper recipe)",
    "dann": "DANN (paper recipe)",
    "source_only_plus": "source-only (recommended recipe)",
    "dann_plus": "DANN (recommended recipe)",
    "cdan_plus": "CDAN+E (DANN's recommended recipe)",
    "mcd_plus": "MCD (DANN's recommended recipe)",
    "mcc_plus": "MCC (DANN's recommended recipe)",
    "mdd_plus": "MDD (DANN's recommended recipe)",
    "coral_plus": "Deep CORAL (DANN's recommended recipe)",
    "target_only": "target-only",
}
SOURCE_ONLY = ("source_only", "source_only_plus")


# Source-only and DANN: Ganin et al. 2016 Table 2 (MNIST-M); for USPS the ADDA paper's Table 2
# (Tzeng et al. 2017), which also gives ADDA. Train-on-target: Ganin et al. Table 2.
PAPER = {
    "mnist_mnistm": {"source_only": 0.5225, "dann": 0.7666, "target_only": 0.9596},
    "mnist_usps": {"source_only": 0.752, "dann": 0.771, "adda": 0.894},
    "usps_mnist": {"source_only": 0.571, "dann": 0.730, "adda": 0.901},
}
# The moonshot for CDAN: TLlib's CDAN figures (its digits benchmark, checkpoint chosen on the
# target test set, which we never do; USPS padded/resized by its own protocol).
TLLIB_CDAN = {"mnist_usps": 0.960, "usps_mnist": 0.977}
# The recommended recipe's goals (3-seed means), and its margin over its own source-only row.
GOALS = {"mnist_mnistm": 0.85, "mnist_usps": 0.92, "usps_mnist": 0.92}
MARGIN = 0.05
# The alignment methods' goals: (method, what it must reach or beat, that one's name).
ALIGNMENT_GOALS = (
    ("mcc_plus", "mcd_plus", "MCC ≥ MCD"),
    ("mdd_plus", "dann_plus", "MDD ≥ recommended DANN"),
    ("coral_plus", None, "Deep CORAL ≥ strongest source-only"),
)
QUICK = ["trainer.steps=300", "data.max_train=5000", "data.max_test=2000"]


def ensure_mnist_m(data_dir: Path, out: Path) -> Path:
    """``out`` holding MNIST-M, generated (seed 0) from ``data_dir`` if it is not readable."""
    try:
        load_mnist_m(out, "test")
    except DataError:
        print(f"generating MNIST-M into {out} ...", flush=True)
        generate_mnist_m(data_dir / "mnist", data_dir / "photos", out, seed=0)
    return out


def benchmark_overrides(data_dir: Path, mnist_m: Path) -> list[str]:
    """Config overrides of every digit benchmark run: where the data lie, and no progress bar,
    periodic evaluation or checkpoints (the last iterate is what is scored)."""
    return [
        f"data.root={data_dir.resolve()}",
        f"data.dirs.mnist_m={mnist_m}",
        "trainer.progress_bar=false",
        "trainer.eval_every=0",
        "trainer.checkpoint_every=0",
    ]


def add_selection_run_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``, ``--mnist-m-dir``, ``--tasks`` and ``--steps`` of a digit selection run."""
    parser.add_argument("--data-dir", required=True, type=Path, help="holds mnist/, usps/, photos/")
    parser.add_argument("--mnist-m-dir", type=Path, default=ROOT / "benchmarks/.cache/mnist_m")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--steps", type=int, default=6000, help="trainer.steps of every run")


def selection_run_overrides(data_dir: Path, mnist_m: Path, seed: int, steps: int) -> list[str]:
    """Overrides of a digit selection run (``dann_recipe.py``, ``method_settings.py``): the
    benchmark's, ``seed`` and ``steps``, bf16 autocast, channels-last and 10 % of the source
    training data held out for the validators."""
    return [
        *benchmark_overrides(data_dir, mnist_m),
        f"seed={seed}",
        f"trainer.steps={steps}",
        "trainer.precision=bf16-mixed",
        "trainer.channels_last=true",
        "data.source_val_fraction=0.1",
    ]


def _paper(figures: dict[str, float], key: str) -> str:
    """A published figure to 3 decimals, ``–`` where there is none."""
    return f"{figures[key]:.3f}" if key in figures else "–"


def table(records: list[dict]) -> str:
    """The per-task table of ``records`` (any subset of methods; ``–`` where one is absent)."""

    def accs(task: str, method: str) -> list[float]:
        return [r["target_acc"] for r in records if r["task"] == task and r["method"] == method]

    def cell(values: list[float]) -> str:
        return mean_std(values) if values else "–"

    rows = []
    for task in TASKS:
        ours = {m: accs(task, m) for m in METHODS}
        if not any(ours.values()):
            continue
        baselines = {m: statistics.mean(ours[m]) for m in SOURCE_ONLY if ours[m]}
        strongest = max(baselines, key=baselines.__getitem__, default=None)
        verdict = "–"
        cdan_verdict = "–"
        if ours["cdan_plus"] and ours["dann_plus"]:
            diff = statistics.mean(ours["cdan_plus"]) - statistics.mean(ours["dann_plus"])
            cdan_verdict = f"{'met' if diff >= 0 else 'missed'} ({diff:+.3f})"
        if ours["dann_plus"] and "source_only_plus" in baselines:
            plus = statistics.mean(ours["dann_plus"])
            gain = plus - baselines["source_only_plus"]
            short = GOALS[task] - plus
            verdict = (
                f"≥ {GOALS[task]:.2f}: {'met' if short <= 0 else f'missed by {short:.3f}'}"
                f"; +{MARGIN:.2f} over its source-only: "
                f"{'met' if gain >= MARGIN else f'missed ({gain:+.3f})'}"
            )
        alignment = []
        for method, rival, name in ALIGNMENT_GOALS:
            bar = ours[rival] if rival else ours[strongest] if strongest else []
            if ours[method] and bar:
                diff = statistics.mean(ours[method]) - statistics.mean(bar)
                alignment.append(f"{name}: {'met' if diff >= 0 else 'missed'} ({diff:+.3f})")
        cells = [
            cell(ours[m]) + (" (strongest source-only)" if m == strongest else "") for m in METHODS
        ]
        paper = PAPER[task]
        rows.append(
            f"| {TASKS[task]} | " + " | ".join(cells) + f" | {paper['source_only']:.3f} "
            f"| {paper['dann']:.3f} | {_paper(paper, 'adda')} | {_paper(TLLIB_CDAN, task)} "
            f"| {verdict} | {cdan_verdict} | {'; '.join(alignment) or '–'} |"
        )
    return "\n".join(
        [
            "| task | " + " | ".join(LABELS[m] for m in METHODS) + " | source-only (paper) "
            "| DANN (paper) | ADDA (paper) | CDAN (TLlib, target-selected; moonshot) "
            "| recommended DANN: goals | CDAN+E ≥ DANN, same recipe "
            "| MCC, MDD, Deep CORAL: goals |",
            "|---|" + "---|" * (len(METHODS) + 7),
            *rows,
        ]
    )


CAPTION = (
    "Target test accuracy, mean ± std over the seeds, last iterate, "
    "configs/digits/<task>_<method>.yaml unchanged. Paper recipe: the DANN paper's network "
    "and SGD schedule, 4500 steps (λ ceiling by reverse validation, seed 100). Recommended "
    "recipe: batch norm + dropout in the feature extractor, 6000 steps, bf16 autocast; per "
    "task the choices the default validator (BNM) made on seed 100 "
    "(benchmarks/results/dann_recipe*.md; each config says which), the source-only row with "
    "the same network, optimiser and length. USPS images are resized to 28×28 (the ADDA "
    "paper's protocol). CDAN+E and MCD run on the recommended DANN recipe of each task (same "
    "network, optimiser and length; CDAN+E also its λ schedule, passes and target entropy "
    "weight; configs/digits/<task>_{cdan,mcd}_plus.yaml), and so do MCC, MDD and Deep CORAL "
    "(their own settings chosen on seed 100 by the default validator of the time, BNM, "
    "benchmarks/results/method_settings.md, re-checked with IM, method_settings_im.md, which "
    "changed MDD's MNIST-M weight to 0.3; configs/digits/<task>_{mcc,mdd,coral}_plus.yaml). "
    "Paper figures: Ganin et al. 2016 Table 2 "
    "(MNIST-M), Tzeng et al. 2017 Table 2 (USPS tasks, which also gives ADDA); TLlib's CDAN "
    "figures pick the checkpoint on target test labels."
)


def combine(paths: list[Path]) -> None:
    """``digits.md``/``.json`` from the records of earlier result files (never one of them); a
    run of the same task, method and seed in a later file replaces the earlier one."""
    if any(p.resolve() == RESULTS_DIR / "digits.json" for p in paths):
        raise SystemExit("--combine writes digits.json: give it the files of the runs it merges")
    payloads = [json.loads(p.read_text()) for p in paths]
    # a later file's run of the same task, method and seed replaces an earlier one (a rerun after
    # a config changed), so that no mean mixes two configs
    latest: dict[tuple, tuple[dict, str]] = {}
    for path, pl in zip(paths, payloads, strict=True):
        for r in pl["records"]:
            latest[(r["task"], r["method"], r["seed"])] = (r, path.name)
    records = [r for r, _ in latest.values()]
    lines = []
    for path, pl in zip(paths, payloads, strict=True):
        replaced = len(pl["records"]) - sum(name == path.name for _, name in latest.values())
        lines.append(
            f"- `{path.name}`: `{pl['machine']['command']}` ({pl['machine']['date']}, "
            f"{len(pl['records'])} runs, {pl.get('total_s', 0):.0f} s)"
            + (f"; {replaced} of its runs replaced by a later file's" if replaced else "")
        )
    runs = "\n".join(lines)
    text = "\n".join([CAPTION, "", table(records), "", "Combined from:", "", runs])
    payload = {"records": records, "combined": [p.name for p in paths]}
    print(write_results("digits", payload, text).read_text())


def train_one(job: tuple[str, str, int, list[str], bool]) -> dict:
    """One seed of one method on one task: ``(task, method, seed, overrides, one_thread)``."""
    task, method, seed, common, one_thread = job
    if one_thread:
        torch.set_num_threads(1)
    cfg = load_config(ROOT / "configs/digits" / f"{task}_{method}.yaml", [*common, f"seed={seed}"])
    record = run_record(task, method, seed, run(cfg).final)
    print(record, flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="holds mnist/, usps/, photos/")
    parser.add_argument("--mnist-m-dir", type=Path, default=ROOT / "benchmarks/.cache/mnist_m")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="300 steps, 5000 images, 1 seed")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--combine", nargs="+", type=Path, help="results JSON files to merge")
    parser.add_argument(
        "--workers", type=int, default=1, help="runs in parallel (one torch thread each when > 1)"
    )
    args = parser.parse_args()
    if args.combine:
        return combine(args.combine)
    if args.data_dir is None:
        parser.error("--data-dir is required unless --combine is given")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    seeds = 1 if args.quick else args.seeds
    start = time.perf_counter()
    mnist_m = ensure_mnist_m(args.data_dir.resolve(), args.mnist_m_dir.resolve())
    common = [*benchmark_overrides(args.data_dir, mnist_m), *(QUICK if args.quick else [])]
    jobs = [
        (task, method, seed, common, args.workers > 1)
        for task in args.tasks
        for method in args.methods
        for seed in range(seeds)
    ]
    if args.workers > 1:
        with get_context("spawn").Pool(args.workers) as pool:
            records = list(pool.imap(train_one, jobs))
    else:
        records = [train_one(job) for job in jobs]
    total = time.perf_counter() - start
    caption = CAPTION + (" With the --quick overrides " + " ".join(QUICK) if args.quick else "")
    notes = (
        f"{len(records)} runs; whole benchmark {total:.0f} s wall (including data loading and "
        f"MNIST-M generation when needed; trainer time {sum(r['wall_s'] for r in records):.0f} "
        f"s; {args.workers} run(s) at a time{', one torch thread each' if args.workers > 1 else ''}"
        f"). MNIST-M generated with seed 0 from the photographs in {args.data_dir}/photos "
        "(see the README written next to it). –: not run here, or no published figure."
    )
    payload = {"records": records, "seeds": seeds, "quick": args.quick, "total_s": total}
    name = "digits_quick" if args.quick else "digits"
    if args.methods != list(METHODS) and not args.quick:
        name += "_" + "_".join(args.methods)
    if args.tasks != list(TASKS) and not args.quick:
        name += "_" + "_".join(args.tasks)
    print(write_results(name, payload, caption + "\n\n" + table(records), notes).read_text())


if __name__ == "__main__":
    main()
