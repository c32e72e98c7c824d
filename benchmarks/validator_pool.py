"""The validator benchmark, second round: a larger pool, judged on held-out target *training*
labels, the default validator chosen by a rule whose quality is measured leave-one-task-out.

Pool (seed 100; every run holds out 10 % of the source training data for the validators that
read labelled source data, and 20 % of the first target training set, with its labels, as the
*judge* set; the judge set is never trained on, and no target test set is read):

- the first round's nine tasks (``validators.py``): DANN on rotated moons, the three digit tasks
  and four Amazon pairs, ADDA on MNIST → USPS, with the same variants, plus one more per DANN
  task: the target-entropy term toggled (weight 0.1 where the config has none), full length;
- CDAN+E, MCD, MCC, MDD and Deep CORAL on MNIST → USPS (``configs/digits/*_plus.yaml``, bf16 and
  channels-last as their settings were chosen) and on two Amazon pairs (books → kitchen,
  electronics → books; ``configs/features_*.yaml``), each as it is, with its one setting
  changed (CDAN+E: target entropy off; MCD: ``num_k`` 2; MCC: weight 1; MDD and Deep CORAL: the
  other weight their selection considered) and with the learning rate ÷ 3 and × 3 (0.45× steps);
- source-only on the same three tasks (one run each): only for the cross-method table.

Every snapshot is scored by every validator (seconds per validator recorded). Fixed before the
run, in this order:

1. *Default rule*: of the validators whose pick is on average within 0.01 of the oracle, at
   least as good as the default config's last iterate on average and never more than 0.03 below
   it on a task, the one with the highest mean pick; if none meets all three, the highest mean
   pick. Applied to all pool tasks it names the default; applied leave-one-task-out (chosen on
   the other tasks, judged on the one left out) it measures how well the rule itself chooses.
2. *Confidence bias*: in every task with a target-entropy toggle (DANN, CDAN+E), which of the
   two full-length runs' last iterates a validator scores higher, against which the judge labels
   prefer; and the share of each validator's picks that come from a run with a
   confidence-rewarding term (target entropy > 0, MCC) against the oracle's share.
3. *Cross-method*: on MNIST → USPS and the two Amazon pairs, the default configs' last iterates
   of all seven methods ranked by each validator (Spearman, pick − best, pick − source-only).

Runs and their snapshots are kept under ``benchmarks/.cache/validator_pool/`` (one records file
per task, written when the task is done), so a stopped benchmark continues where it was and a
validator added later is scored without training again (``--rescore``).

Run: ``python benchmarks/validator_pool.py --data-dir ../shared/data`` → writes
``benchmarks/results/validator_pool.{md,json}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from multiprocessing import get_context
from pathlib import Path

import torch
import yaml
from amazon import pair_overrides  # benchmarks/ is on sys.path as a script
from common import RESULTS_DIR, write_results
from digits import benchmark_overrides, ensure_mnist_m
from validator_pool_tables import render
from validators import AMAZON_PAIRS, DIGITS, PoolTask, Variant, adda_variants, dann_variants

from unshift.core.files import RunDir
from unshift.data.domains import TaskData
from unshift.eval.metrics import classification_report, predict_labels
from unshift.runs.run import run
from unshift.runs.validators import VALIDATORS, ValidationData
from unshift.training.build import build_data, build_method, load_weights
from unshift.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks/.cache/validator_pool"
SEED, JUDGE_FRACTION, ENTROPY = 100, 0.2, 0.1
NEW_PAIRS = [("books", "kitchen"), ("electronics", "books")]
PLUS_RUN = ["trainer.precision=bf16-mixed", "trainer.channels_last=true"]


def entropy_toggle(config: str, forced: list[str]) -> Variant:
    """The target-entropy term switched: on (weight 0.1) where ``config`` (with ``forced``
    overrides) has none, else off."""
    method = yaml.safe_load((ROOT / "configs" / config).read_text())["method"]
    weight = method.get("target_entropy", 0.0)
    for o in forced:
        if o.startswith("method.target_entropy="):
            weight = float(o.split("=")[1])
    if weight > 0:
        return Variant("no target entropy", ["method.target_entropy=0.0"])
    return Variant(f"target entropy {ENTROPY}", [f"method.target_entropy={ENTROPY}"])


def method_variants(config: str) -> list[Variant]:
    """A new method's config as it is, its one setting changed, and its learning rate ÷ 3 and
    × 3 at 0.45× the steps."""
    cfg = yaml.safe_load((ROOT / "configs" / config).read_text())
    method, lr = cfg["method"], cfg["optim"]["lr"]
    name = method["name"]
    if name == "cdan":
        setting = entropy_toggle(config, [])
    elif name == "mcd":
        setting = Variant("num_k 2", ["method.num_k=2"])
    else:
        other = {
            "mcc": {3.0: 1.0},
            "mdd": {0.3: 1.0, 0.1: 1.0, 1.0: 0.3},
            "coral": {1.0: 100.0, 100.0: 1.0, 1000.0: 1.0},
        }[name][method["weight"]]
        setting = Variant(f"weight {other:g}", [f"method.weight={other}"])
    return [
        Variant("default"),
        setting,
        Variant("lr ÷ 3, 0.45× steps", [f"optim.lr={lr / 3:.4g}"], 0.45),
        Variant("lr × 3, 0.45× steps", [f"optim.lr={lr * 3:.4g}"], 0.45),
    ]


@dataclasses.dataclass
class Job(PoolTask):
    family: str = ""
    method: str = "dann"
    in_pool: bool = True


def pool(data_dir: Path, mnist_m: Path, amazon: Path) -> list[Job]:
    digit = benchmark_overrides(data_dir, mnist_m)
    quiet = ["trainer.progress_bar=false", "trainer.eval_every=0", "trainer.checkpoint_every=0"]
    jobs = [
        Job(
            "moons",
            "rotated moons 35°, DANN",
            "moons/dann.yaml",
            quiet,
            [*dann_variants("moons/dann.yaml"), entropy_toggle("moons/dann.yaml", [])],
            family="moons",
        )
    ]
    for task, label in DIGITS.items():
        config = f"digits/{task}_dann.yaml"
        variants = [*dann_variants(config), entropy_toggle(config, [])]
        jobs.append(Job(task, f"{label}, DANN", config, digit, variants, family=task))
    jobs.append(
        Job(
            "mnist_usps_adda",
            "MNIST → USPS, ADDA",
            "digits/mnist_usps_adda.yaml",
            digit,
            adda_variants(2000),
            snapshots=24,
            family="mnist_usps",
            method="adda",
        )
    )
    for src, tgt in AMAZON_PAIRS:
        # As in the first round: DANN without the target-entropy term BNM later chose.
        files = [*pair_overrides(amazon, src, tgt), *quiet[1:], "method.target_entropy=0.0"]
        variants = [
            *dann_variants("features_dann.yaml"),
            entropy_toggle("features_dann.yaml", files),
        ]
        jobs.append(
            Job(
                f"{src}->{tgt}",
                f"{src} → {tgt}, DANN",
                "features_dann.yaml",
                files,
                variants,
                family=f"{src}->{tgt}",
            )
        )
    for method in ("cdan", "mcd", "mcc", "mdd", "coral", "source_only"):
        label = {
            "cdan": "CDAN+E",
            "mcd": "MCD",
            "mcc": "MCC",
            "mdd": "MDD",
            "coral": "Deep CORAL",
            "source_only": "source-only",
        }[method]
        alone = method == "source_only"
        config = f"digits/mnist_usps_{method}_plus.yaml"
        jobs.append(
            Job(
                f"mnist_usps_{method}",
                f"MNIST → USPS, {label}",
                config,
                [*digit, *PLUS_RUN],
                [Variant("default")] if alone else method_variants(config),
                family="mnist_usps",
                method=method,
                in_pool=not alone,
            )
        )
        for src, tgt in NEW_PAIRS:
            config = f"features_{method}.yaml"
            files = [*pair_overrides(amazon, src, tgt), *quiet[1:]]
            jobs.append(
                Job(
                    f"{src}->{tgt}_{method}",
                    f"{src} → {tgt}, {label}",
                    config,
                    files,
                    [Variant("default")] if alone else method_variants(config),
                    family=f"{src}->{tgt}",
                    method=method,
                    in_pool=not alone,
                )
            )
    return jobs


def with_judge(data: TaskData) -> TaskData:
    """``data`` with a seeded 20 % of its first target training set moved, labels kept, into
    ``target_test`` (the judge set) — the target test set is dropped, never read."""
    target = data.targets[0]
    order = torch.randperm(len(target), generator=torch.Generator().manual_seed(SEED))
    n = round(JUDGE_FRACTION * len(target))
    judge, train = order[:n].sort().values, order[n:].sort().values
    targets = [target.subset(train), *data.targets[1:]]
    return dataclasses.replace(data, targets=targets, target_test=target.subset(judge))


def variant_config(job: Job, variant: Variant):
    base = load_config(ROOT / "configs" / job.config, [*job.overrides, f"seed={SEED}"])
    steps = max(job.snapshots, round(base.trainer.steps * variant.length))
    return load_config(
        ROOT / "configs" / job.config,
        [
            *job.overrides,
            f"seed={SEED}",
            "data.source_val_fraction=0.1",
            f"trainer.steps={steps}",
            f"trainer.snapshot_every={steps // job.snapshots}",
            "trainer.eval_every=0",
            *variant.overrides,
        ],
    )


def confidence_term(cfg) -> bool:
    """Whether the run's loss rewards confident target predictions."""
    return cfg.method.name == "mcc" or getattr(cfg.method, "target_entropy", 0.0) > 0


def key(job: Job) -> str:
    return job.name.replace("->", "_to_")


def score(method, validation: ValidationData, names: list[str]) -> tuple[dict, dict]:
    scores, seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        scores[name] = VALIDATORS[name](method, validation)
        seconds[name] = time.perf_counter() - start
    return scores, seconds


def run_job(job: Job) -> list[dict]:
    """Train (or find trained) every variant of ``job``; score each snapshot by every validator
    not yet in its record; write and return the task's records."""
    torch.set_num_threads(1)
    out = CACHE / f"{key(job)}.json"
    old = (
        {(r["variant"], r["step"]): r for r in json.loads(out.read_text())} if out.exists() else {}
    )
    records, data = [], None
    for i, variant in enumerate(job.variants):
        cfg = variant_config(job, variant)
        rd = RunDir(CACHE / key(job) / str(i))
        if data is None:
            data = with_judge(build_data(cfg))
        if not rd.final.exists():
            shutil.rmtree(rd.path, ignore_errors=True)
            run(cfg, rd.path, data=data, report=False)
            print(f"{job.name} {variant.label}: trained", flush=True)
        method = build_method(cfg, data)
        validation, judge = ValidationData.from_task(data), data.target_test
        for step in rd.snapshot_steps():
            if step < variant.score_from:
                continue
            record = old.get((variant.label, step)) or {
                "task": job.name,
                "family": job.family,
                "method": job.method,
                "variant": variant.label,
                "overrides": variant.overrides,
                "steps": cfg.trainer.steps,
                "step": step,
                "confidence_term": confidence_term(cfg),
                "train_s": rd.read_final()["wall_s"],
                "scores": {},
                "score_s": {},
            }
            missing = [n for n in VALIDATORS if n not in record["scores"]]
            if missing:
                load_weights(rd, method, step)
                record["judge_acc"] = classification_report(
                    predict_labels(method.predict, judge.x), judge.y, data.num_classes
                )["acc"]
                scores, seconds = score(method, validation, missing)
                record["scores"].update(scores)
                record["score_s"].update(seconds)
            records.append(record)
    out.write_text(json.dumps(records, indent=1) + "\n")
    print(f"{job.name}: scored", flush=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="holds mnist/, usps/")
    parser.add_argument("--amazon-dir", type=Path, help="default DATA_DIR/amazon_dann_5000")
    parser.add_argument("--mnist-m-dir", type=Path, default=ROOT / "benchmarks/.cache/mnist_m")
    parser.add_argument("--workers", type=int, default=2, help="pool tasks run in parallel")
    parser.add_argument("--tasks", nargs="+", help="only these pool tasks (default: all)")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score cached snapshots by validators their records lack",
    )
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    amazon = (args.amazon_dir or data_dir / "amazon_dann_5000").resolve()
    jobs = pool(data_dir, args.mnist_m_dir.resolve(), amazon)
    todo = [j for j in jobs if not args.tasks or j.name in args.tasks]
    ensure_mnist_m(data_dir, args.mnist_m_dir.resolve())
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    ready = [j for j in todo if (CACHE / f"{key(j)}.json").exists() and not args.rescore]
    pending = sorted((j for j in todo if j not in ready), key=lambda j: -cost(j))
    with get_context("spawn").Pool(args.workers) as workers:
        for _ in workers.imap_unordered(run_job, pending):
            pass
    wall = time.perf_counter() - start
    if args.tasks:
        return
    records = [r for j in jobs for r in json.loads((CACHE / f"{key(j)}.json").read_text())]
    table, payload = render(records, jobs)
    previous = RESULTS_DIR / "validator_pool.json"
    # only rendering again: the file keeps the stamp of the invocation that last ran or scored
    rendering = not pending and not args.rescore and previous.exists()
    origin = json.loads(previous.read_text())["machine"] if rendering else None
    took = f"; it took {wall:.0f} s wall ({args.workers} tasks in parallel, one torch thread each)"
    notes = (
        "The records are filled by runs of `python validator_pool.py --data-dir DATA` that "
        "resume from the cache (`benchmarks/.cache/validator_pool/`); `--rescore` scores cached "
        "snapshots by validators added since, and renders. The command above is the last "
        f"invocation that trained or scored{'' if rendering else took}. In all: training "
        f"{sum({(r['task'], r['variant']): r['train_s'] for r in records}.values()):.0f} s, "
        f"scoring {sum(sum(r['score_s'].values()) for r in records):.0f} s, from "
        f"{first_record_date()} to this render."
    )
    print(
        write_results(
            "validator_pool", {**payload, "records": records}, table, notes, origin
        ).read_text()
    )


def first_record_date() -> str:
    """When the first run of the pool finished (UTC), from the cached run directories."""
    oldest = min(p.stat().st_mtime for p in CACHE.glob("*/*/final.json"))
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(oldest))


def cost(job: Job) -> float:
    """A rough order for scheduling: digit tasks first, MNIST-M and ADDA longest."""
    weight = (
        4 if job.name in ("mnist_mnistm", "mnist_usps_adda") else 2 if "usps" in job.name else 1
    )
    return weight * sum(v.length for v in job.variants)


if __name__ == "__main__":
    main()
