"""Which label-free validator picks well: a pool of runs with snapshots, scored by every
validator of :mod:`unshift.runs.validators`, against the target accuracy no user has.

For each pool task (DANN on the three digit tasks, four Amazon pairs and rotated moons; ADDA
on MNIST → USPS) the task's config is trained as it is (*default*) and with its λ ceiling,
learning rate and length changed (ADDA: the target encoder's learning-rate factor), every run
keeping 10 snapshots (``trainer.snapshot_every``; ADDA 24, of which the pretraining ones,
the same in every ADDA run, are scored once). Every snapshot is scored by every
validator; target labels are read only to fill the table: per (task, validator) the Spearman
and weighted Spearman correlation between score and target accuracy (Musgrave et al. 2022:
Pearson correlation of the ranks, each snapshot weighted by its validator-score rank
normalised to (0, 1], squared), and the target accuracy of the validator's pick beside the
oracle's pick and the default config's last iterate. All runs hold out
``data.source_val_fraction = 0.1`` of the source training data (the validators' labelled
source data), the default run included. Seed 100 (no accuracy benchmark uses it).

The default validator is chosen by a rule fixed before the run: of the validators whose pick is
on average within 0.02 of the oracle's, at least as good as the default last iterate on average
and never more than 0.03 below it on a task, the one with the highest mean pick; if none meets
all three, the one with the highest mean pick, with the goals it misses.

Reverse validation is not in the pool: it trains a backward model per snapshot (hundreds of
runs).

Run: ``python benchmarks/validators.py --data-dir ../shared/data`` → writes
``benchmarks/results/validators.{md,json}`` (``--quick``: short runs on moons, MNIST → USPS and
one Amazon pair, in minutes → ``validators_quick.{md,json}``; ``--render``: the tables again
from the JSON file's records, training nothing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
import yaml
from amazon import pair_overrides  # benchmarks/ is on sys.path as a script
from common import RESULTS_DIR, write_results
from digits import benchmark_overrides, ensure_mnist_m
from scipy.stats import rankdata, spearmanr

from unshift.core.files import RunDir
from unshift.eval.metrics import classification_report, predict_labels
from unshift.runs.run import run
from unshift.runs.validators import VALIDATORS, ValidationData
from unshift.training.build import load_weights
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SEED = 100
SNAPSHOTS = 10
WEIGHT_POWER = 2
GOAL_ORACLE, GOAL_WORST = 0.02, 0.03


@dataclass
class Variant:
    """One run of a pool task: config overrides and the fraction of the config's length."""

    label: str
    overrides: list[str] = field(default_factory=list)
    length: float = 1.0
    score_from: int = 0
    """Snapshots before this step are not scored (ADDA: identical pretraining across runs)."""


@dataclass
class PoolTask:
    name: str
    label: str
    config: str
    overrides: list[str]
    variants: list[Variant]
    snapshots: int = SNAPSHOTS


def dann_variants(config: str) -> list[Variant]:
    """The DANN ``config`` (under ``configs/``) as it is, with a higher or lower λ ceiling, and
    with its learning rate divided and multiplied by 3."""
    cfg = yaml.safe_load((ROOT / "configs" / config).read_text())
    hi, lr = cfg["method"]["schedule"]["hi"], cfg["optim"]["lr"]
    other = 1.0 if hi < 1.0 else 0.3
    return [
        Variant("default"),
        Variant(f"λ ≤ {other}", [f"method.schedule.hi={other}"]),
        Variant("λ ≤ 0.1, 0.45× steps", ["method.schedule.hi=0.1"], 0.45),
        Variant("lr ÷ 3, 0.45× steps", [f"optim.lr={lr / 3:.4g}"], 0.45),
        Variant("lr × 3, 0.45× steps", [f"optim.lr={lr * 3:.4g}"], 0.45),
    ]


def adda_variants(pretrain: int) -> list[Variant]:
    return [
        Variant("default"),
        Variant("lr_scale.target 0.3", ["optim.lr_scale.target=0.3"], score_from=pretrain + 1),
        Variant("lr_scale.target 0.03", ["optim.lr_scale.target=0.03"], score_from=pretrain + 1),
    ]


AMAZON_PAIRS = [
    ("books", "kitchen"),
    ("dvd", "electronics"),
    ("electronics", "books"),
    ("kitchen", "dvd"),
]
DIGITS = {
    "mnist_mnistm": "MNIST → MNIST-M",
    "mnist_usps": "MNIST → USPS",
    "usps_mnist": "USPS → MNIST",
}


def pool(data_dir: Path, mnist_m: Path, amazon: Path, quick: bool) -> list[PoolTask]:
    digit = benchmark_overrides(data_dir, mnist_m)
    short = ["trainer.steps=300", "data.max_train=5000", "data.max_test=2000"] if quick else []
    tasks = [
        PoolTask(
            "moons", "rotated moons 35°, DANN", "moons/dann.yaml",
            ["trainer.progress_bar=false", "trainer.eval_every=0", "trainer.checkpoint_every=0"],
            dann_variants("moons/dann.yaml"),
        )
    ]  # fmt: skip
    for task, label in DIGITS.items():
        if quick and task != "mnist_usps":
            continue
        tasks.append(
            PoolTask(task, f"{label}, DANN", f"digits/{task}_dann.yaml", digit + short,
                     dann_variants(f"digits/{task}_dann.yaml"))
        )  # fmt: skip
    if not quick:
        tasks.append(
            PoolTask("mnist_usps_adda", "MNIST → USPS, ADDA", "digits/mnist_usps_adda.yaml",
                     digit, adda_variants(2000), snapshots=24)
        )  # fmt: skip
    for src, tgt in AMAZON_PAIRS[:1] if quick else AMAZON_PAIRS:
        files = [
            *pair_overrides(amazon, src, tgt),
            "trainer.eval_every=0",
            "trainer.checkpoint_every=0",
            # The pool as measured: DANN without the target entropy term that BNM later chose
            # for features_dann.yaml (a pool of BNM's own choice would flatter BNM).
            "method.target_entropy=0.0",
            *(["trainer.steps=600"] if quick else []),
        ]
        tasks.append(
            PoolTask(f"{src}->{tgt}", f"{src} → {tgt}, DANN", "features_dann.yaml", files,
                     dann_variants("features_dann.yaml"))
        )  # fmt: skip
    return tasks


def target_accuracy(method, data) -> float:
    test = data.target_test
    return classification_report(predict_labels(method.predict, test.x), test.y, data.num_classes)[
        "acc"
    ]


def run_pool_task(task: PoolTask) -> list[dict]:
    """Train every variant of ``task`` and score each snapshot by every validator."""
    torch.set_num_threads(1)
    records, data = [], None
    base = load_config(ROOT / "configs" / task.config, [*task.overrides, f"seed={SEED}"])
    with tempfile.TemporaryDirectory() as tmp:
        for i, variant in enumerate(task.variants):
            steps = max(task.snapshots, round(base.trainer.steps * variant.length))
            cfg = load_config(
                ROOT / "configs" / task.config,
                [
                    *task.overrides,
                    f"seed={SEED}",
                    "data.source_val_fraction=0.1",
                    f"trainer.steps={steps}",
                    f"trainer.snapshot_every={steps // task.snapshots}",
                    *variant.overrides,
                ],
            )
            run_dir = Path(tmp) / str(i)
            result = run(cfg, run_dir, data=data, report=False)
            data, method = result.data, result.method
            validation = ValidationData.from_task(data)
            for step in RunDir(run_dir).snapshot_steps():
                if step < variant.score_from:
                    continue
                load_weights(RunDir(run_dir), method, step)
                start = time.perf_counter()
                scores = {name: fn(method, validation) for name, fn in VALIDATORS.items()}
                record = {
                    "task": task.name,
                    "variant": variant.label,
                    "overrides": variant.overrides,
                    "steps": steps,
                    "step": step,
                    "target_acc": target_accuracy(method, data),
                    "scores": scores,
                    "score_s": time.perf_counter() - start,
                    "train_s": result.final["wall_s"],
                }
                records.append(record)
            print(f"{task.name} {variant.label}: {steps} steps, {result.final['wall_s']:.0f} s, "
                  f"last target acc {records[-1]['target_acc']:.3f}", flush=True)  # fmt: skip
    return records


def weighted_spearman(scores: np.ndarray, accs: np.ndarray, power: int = WEIGHT_POWER) -> float:
    """Pearson correlation of the ranks of ``scores`` and ``accs``, each point weighted by its
    score's dense rank divided by the highest, to the ``power`` (Musgrave et al. 2022): the
    snapshots a validator ranks highest count most."""
    weights = rankdata(scores, method="dense") / rankdata(scores, method="dense").max()
    weights = weights**power
    rs, ra = rankdata(scores), rankdata(accs)
    ms, ma = np.average(rs, weights=weights), np.average(ra, weights=weights)
    cov = np.average((rs - ms) * (ra - ma), weights=weights)
    var = np.average((rs - ms) ** 2, weights=weights) * np.average((ra - ma) ** 2, weights=weights)
    return float(cov / np.sqrt(var)) if var > 0 else 0.0


def summarise(records: list[dict], tasks: list[PoolTask]) -> tuple[list[dict], dict]:
    """Per (task, validator) statistics, and per validator the averages over tasks."""
    rows = []
    for task in tasks:
        own = [r for r in records if r["task"] == task.name]
        accs = np.array([r["target_acc"] for r in own])
        default = [r for r in own if r["variant"] == "default"]
        default_last = max(default, key=lambda r: r["step"])["target_acc"]
        for name in VALIDATORS:
            scores = np.array([r["scores"][name] for r in own])
            finite = np.where(np.isfinite(scores), scores, -np.inf)
            pick = own[int(np.argmax(finite))]
            rows.append(
                {
                    "task": task.name,
                    "validator": name,
                    "snapshots": len(own),
                    "spearman": float(spearmanr(finite, accs).statistic),
                    "weighted_spearman": weighted_spearman(finite, accs),
                    "pick_acc": pick["target_acc"],
                    "pick": f"{pick['variant']} @ {pick['step']}",
                    "oracle_acc": float(accs.max()),
                    "default_last_acc": default_last,
                }
            )
    summary = {}
    for name in VALIDATORS:
        mine = [r for r in rows if r["validator"] == name]
        summary[name] = {
            "spearman": statistics.mean(r["spearman"] for r in mine),
            "weighted_spearman": statistics.mean(r["weighted_spearman"] for r in mine),
            "pick_acc": statistics.mean(r["pick_acc"] for r in mine),
            "below_oracle": statistics.mean(r["oracle_acc"] - r["pick_acc"] for r in mine),
            "vs_default": statistics.mean(r["pick_acc"] - r["default_last_acc"] for r in mine),
            "worst_vs_default": min(r["pick_acc"] - r["default_last_acc"] for r in mine),
        }
    return rows, summary


def misses(s: dict) -> list[str]:
    """The goals a validator's summary ``s`` misses, with by how much."""
    out = []
    if s["below_oracle"] > GOAL_ORACLE:
        out.append(f"{s['below_oracle'] - GOAL_ORACLE:.3f} further from the oracle than 0.02")
    if s["vs_default"] < 0:
        out.append(f"{-s['vs_default']:.3f} below the default last iterate on average")
    if s["worst_vs_default"] < -GOAL_WORST:
        out.append(f"{-s['worst_vs_default'] - GOAL_WORST:.3f} more than 0.03 below it on a task")
    return out


def choose(summary: dict) -> str:
    """The fixed rule of the module docstring."""
    meeting = [n for n, s in summary.items() if not misses(s)]
    return max(meeting or summary, key=lambda n: summary[n]["pick_acc"])


def tables(rows: list[dict], summary: dict, tasks: list[PoolTask], chosen: str) -> str:
    head = [
        "| validator | mean Spearman | mean weighted Spearman | mean pick acc | mean below oracle "
        "| mean pick − default last | worst pick − default last | goals missed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in sorted(summary.items(), key=lambda kv: -kv[1]["pick_acc"]):
        label = f"**{name}** (default)" if name == chosen else name
        head.append(
            f"| {label} | {s['spearman']:.2f} | {s['weighted_spearman']:.2f} "
            f"| {s['pick_acc']:.3f} | {s['below_oracle']:.3f} | {s['vs_default']:+.3f} "
            f"| {s['worst_vs_default']:+.3f} | {'; '.join(misses(s)) or 'none'} |"
        )
    per_task = []
    for task in tasks:
        mine = [r for r in rows if r["task"] == task.name]
        first = mine[0]
        per_task += [
            "",
            f"### {task.label}: {first['snapshots']} snapshots; oracle {first['oracle_acc']:.3f}, "
            f"default config's last iterate {first['default_last_acc']:.3f}",
            "",
            "| validator | Spearman | weighted Spearman | pick (run @ step) | pick target acc |",
            "|---|---|---|---|---|",
        ]
        for r in mine:
            per_task.append(
                f"| {r['validator']} | {r['spearman']:.2f} | {r['weighted_spearman']:.2f} "
                f"| {r['pick']} | {r['pick_acc']:.3f} |"
            )
    return "\n".join(head + per_task)


def restricted(records: list[dict], tasks: list[PoolTask]) -> str:
    """Two narrower choices, per validator: a checkpoint of the default config's run only, and
    one of the runs' last iterates only (mean and worst pick − default last iterate)."""
    lines = [
        "| validator | checkpoint of the default run: mean | worst | last iterate of a run: "
        "mean | worst |",
        "|---|---|---|---|---|",
    ]
    for name in VALIDATORS:
        within, among = [], []
        for task in tasks:
            own = [r for r in records if r["task"] == task.name]
            default = [r for r in own if r["variant"] == "default"]
            last = max(default, key=lambda r: r["step"])["target_acc"]
            lasts = [
                max((r for r in own if r["variant"] == v.label), key=lambda r: r["step"])
                for v in task.variants
            ]
            for pool_, out in ((default, within), (lasts, among)):
                pick = max(pool_, key=lambda r: r["scores"][name])
                out.append(pick["target_acc"] - last)
        lines.append(
            f"| {name} | {statistics.mean(within):+.3f} | {min(within):+.3f} "
            f"| {statistics.mean(among):+.3f} | {min(among):+.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="holds mnist/, usps/, photos/")
    parser.add_argument(
        "--amazon-dir", type=Path, help="Amazon svmlight files (default DATA_DIR/amazon_dann_5000)"
    )
    parser.add_argument("--mnist-m-dir", type=Path, default=ROOT / "benchmarks/.cache/mnist_m")
    parser.add_argument("--workers", type=int, default=2, help="pool tasks trained in parallel")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--render",
        action="store_true",
        help="redo the tables from the records of the last run's JSON file, training nothing",
    )
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    amazon = (args.amazon_dir or data_dir / "amazon_dann_5000").resolve()
    name = "validators_quick" if args.quick else "validators"
    tasks = pool(data_dir, args.mnist_m_dir.resolve(), amazon, args.quick)
    if args.render:
        previous = json.loads((RESULTS_DIR / f"{name}.json").read_text())
        records, wall = previous["records"], previous["wall_s"]
        origin = previous["machine"]  # write_results keeps the run's own through renders
        provenance = (
            f"Records of the run of {origin['date']} (`{origin['command']}`, {origin['cpu']}, "
            f"{origin['cores']} cores); tables rendered again from its JSON file. "
        )
    else:
        ensure_mnist_m(data_dir, args.mnist_m_dir.resolve())
        start = time.perf_counter()
        with get_context("spawn").Pool(args.workers) as workers:
            longest_first = sorted(tasks, key=lambda t: "adda" not in t.name)
            results = workers.map(run_pool_task, longest_first, chunksize=1)
        wall = time.perf_counter() - start
        records, provenance, origin = [r for res in results for r in res], "", None
    rows, summary = summarise(records, tasks)
    chosen = choose(summary)
    table = "\n".join(
        [
            "Every validator of `unshift.runs.validators` on every snapshot of a pool of runs "
            f"(seed {SEED}; {len(records)} snapshots in {len(tasks)} tasks). Pick: the snapshot "
            "with "
            "the highest score among all runs of a task; oracle: the highest target accuracy; "
            "default last: the task's config unchanged, its last iterate. Target labels fill "
            "this table only.",
            "",
            f"Chosen default (the rule in `benchmarks/validators.py`, fixed beforehand: of the "
            "validators that meet all three goals, the highest mean pick; if none does, the "
            f"highest mean pick): **{chosen}**. "
            + (
                f"Goals it misses: {'; '.join(misses(summary[chosen]))}. No validator meets all "
                "three."
                if misses(summary[chosen])
                else "It meets all three goals."
            ),
            "",
            tables(rows, summary, tasks, chosen),
            "",
            "### Narrower choices",
            "",
            "The same scores, choosing only among the snapshots of the default config's run "
            "(checkpoint selection) or only among the last iterates of the task's runs (config "
            "selection); pick − the default config's last iterate:",
            "",
            restricted(records, tasks),
        ]
    )
    notes = provenance + (
        f"Whole benchmark {wall:.0f} s wall ({args.workers} tasks in parallel, one torch thread "
        f"each); training {sum({(r['task'], r['variant']): r['train_s'] for r in records}.values()):.0f} s, "  # noqa: E501
        f"scoring {sum(r['score_s'] for r in records):.0f} s (all validators)."
    )
    payload = {"records": records, "rows": rows, "summary": summary, "chosen": chosen}
    payload["wall_s"] = wall
    print(write_results(name, payload, table, notes, origin).read_text())


if __name__ == "__main__":
    main()
