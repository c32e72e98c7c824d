"""Trainer overhead: seconds per step of ``unshift.Trainer`` against a minimal hand-written loop.

Both run the same computation with the DANN paper's MNIST network on in-memory 3×28×28 inputs
(batch 64 source + 64 target): SGD with momentum, the paper's learning-rate annealing and λ
schedule, one concatenated forward pass, GRL and binary domain loss (DANN), or cross-entropy
alone (source-only). Timed in steady state (after ``WARMUP`` steps), trainer and hand loop
interleaved over several rounds; ratio = trainer s/step ÷ hand-written s/step (goal ≤ 1.05).
Extra DANN rows run the trainer as the digit configs do (channels-last), with
``trainer.compile`` and with bf16 autocast, against the same plain hand-written loop.

Writes ``benchmarks/results/step_overhead.{md,json}``. Run: ``python benchmarks/step_overhead.py``.

``--methods-vs-dann``: instead, each method's trainer step against a DANN trainer step on the
same network and settings (CDAN+E with its randomized map, 768 × 10 > 4096; MCD's whole step
and per phase, ``2 + num_k`` phases; MCC, MDD and Deep CORAL with their configs' settings) →
``benchmarks/results/step_overhead_methods.{md,json}`` (goal: within 1.2× of DANN; MCD per
phase).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import write_results  # benchmarks/ is on sys.path when run as a script
from torch.nn import functional as F

from unshift.data import Domain, TaskData
from unshift.methods import CDAN, DANN, MCC, MCD, MDD, DeepCORAL, Method, SourceOnly
from unshift.models import dann_mnist_domain_head, dann_mnist_features, dann_mnist_label_head
from unshift.nn import DomainDiscriminator, grad_reverse
from unshift.nn.schedules import dann_lambda, dann_lr
from unshift.training.trainer import OptimizerSpec, Trainer

BATCH = 64
N_PER_DOMAIN = 2048
WARMUP = 20


def task() -> TaskData:
    gen = torch.Generator().manual_seed(0)
    xs = torch.rand(N_PER_DOMAIN, 3, 28, 28, generator=gen)
    xt = torch.rand(N_PER_DOMAIN, 3, 28, 28, generator=gen)
    ys = torch.randint(0, 10, (N_PER_DOMAIN,), generator=gen)
    return TaskData([Domain(xs, ys)], [Domain(xt)], num_classes=10)


def build(method: str) -> Method:
    torch.manual_seed(0)
    if method == "dann":
        return DANN(dann_mnist_features(), dann_mnist_label_head(), 768, dann_mnist_domain_head())
    if method == "cdan":
        return CDAN(
            dann_mnist_features(),
            dann_mnist_label_head(),
            768,
            10,
            DomainDiscriminator(1024, hidden=(100,), batch_norm=False, dropout=0.0),
            randomized=True,
        )
    if method == "mcd":
        return MCD(dann_mnist_features(), dann_mnist_label_head(), num_k=MCD_NUM_K)
    if method == "mcc":
        return MCC(dann_mnist_features(), dann_mnist_label_head())
    if method == "mdd":
        return MDD(dann_mnist_features(), dann_mnist_label_head())
    if method == "coral":
        return DeepCORAL(dann_mnist_features(), dann_mnist_label_head())
    return SourceOnly(dann_mnist_features(), dann_mnist_label_head())


MCD_NUM_K = 4


# Trainer settings of the extra DANN rows: as the digit configs run it (channels-last memory
# order), then with torch.compile and with bf16 autocast (CPUs with native bf16 only).
VARIANTS = {
    "dann, channels-last (as the digit configs run it)": {"channels_last": True},
    "dann, channels-last + compile": {"channels_last": True, "compile": True},
    "dann, channels-last + bf16 autocast": {"channels_last": True, "precision": "bf16-mixed"},
}


def trainer_seconds_per_step(method: str, steps: int, **settings: object) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(
            max_steps=steps,
            batch_size=BATCH,
            optimizer=OptimizerSpec(lr=0.01),
            run_dir=tmp,
            log_every=WARMUP,
            checkpoint_every=0,
            progress_bar=False,
            **settings,
        )
        trainer.fit(build(method), task())
        records = [json.loads(x) for x in (Path(tmp) / "metrics.jsonl").read_text().splitlines()]
    t = {r["step"]: r["seconds"] for r in records if "seconds" in r}
    return (t[steps] - t[WARMUP]) / (steps - WARMUP)


def hand_seconds_per_step(method: str, steps: int, fast: bool = False) -> float:
    """The hand-written loop; ``fast``: with channels-last weights and batches and bf16
    autocast, as the trainer's fastest settings run."""
    data = task()
    model = build(method)
    xs, ys, xt = data.sources[0].x, data.sources[0].y, data.targets[0].x
    layout = torch.channels_last if fast else torch.contiguous_format
    model = model.to(memory_format=layout)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    perm_s, perm_t = torch.randperm(len(xs), generator=gen), torch.randperm(len(xt), generator=gen)
    per_epoch = len(xs) // BATCH
    model.train()
    start = 0.0
    for step in range(steps):
        if step == WARMUP:
            start = time.perf_counter()
        p = step / steps
        for group in opt.param_groups:
            group["lr"] = dann_lr(p)
        b = step % per_epoch
        if b == 0:
            perm_s, perm_t = torch.randperm(len(xs)), torch.randperm(len(xt))
        i_s, i_t = perm_s[b * BATCH : (b + 1) * BATCH], perm_t[b * BATCH : (b + 1) * BATCH]
        x_src = xs[i_s].contiguous(memory_format=layout)
        y_src, x_tgt = ys[i_s], xt[i_t].contiguous(memory_format=layout)
        opt.zero_grad(set_to_none=True)
        with autocast:
            if method == "dann":
                feats = model.feature_extractor(torch.cat([x_src, x_tgt]))
                loss = F.cross_entropy(model.label_head(feats[:BATCH]), y_src)
                reversed_feats = grad_reverse(feats, dann_lambda(p))
                logits = model.adversarial.discriminator(reversed_feats).squeeze(1)
                dom = 0.5 * (
                    F.binary_cross_entropy_with_logits(logits[:BATCH], torch.zeros(BATCH))
                    + F.binary_cross_entropy_with_logits(logits[BATCH:], torch.ones(BATCH))
                )
                loss = loss + dom
            else:
                loss = F.cross_entropy(model.label_head(model.feature_extractor(x_src)), y_src)
        loss.float().backward()
        opt.step()
    return (time.perf_counter() - start) / (steps - WARMUP)


def methods_vs_dann(steps: int, rounds: int) -> None:
    """Each method's trainer s/step against DANN's, interleaved, as the recommended digit
    configs run them (channels-last, bf16 autocast where the CPU has native bf16)."""
    settings: dict[str, object] = {"channels_last": True}
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        settings["precision"] = "bf16-mixed"
    runs: dict[str, list[float]] = {m: [] for m in ("dann", "cdan", "mcd", "mcc", "mdd", "coral")}
    for _ in range(rounds):
        for method, times in runs.items():
            times.append(trainer_seconds_per_step(method, steps, **settings))
    per_step = {m: statistics.median(t) for m, t in runs.items()}
    phases = 2 + MCD_NUM_K
    dann = per_step["dann"]
    lines = [
        ("DANN", dann, "1 (joint)", "reference"),
        ("CDAN+E (randomized map, 1024)", per_step["cdan"], "1 (joint)", "≤ 1.2×"),
        ("MCD, whole step", per_step["mcd"], f"{phases} (A, B, {MCD_NUM_K} × C)", "–"),
        ("MCD, per phase", per_step["mcd"] / phases, "1", "≤ 1.2×"),
        ("MCC", per_step["mcc"], "1 (joint)", "≤ 1.2×"),
        ("MDD", per_step["mdd"], "1 (joint)", "≤ 1.2×"),
        ("Deep CORAL", per_step["coral"], "1 (joint)", "≤ 1.2×"),
    ]
    rows = [
        f"| {label} | {t * 1e3:.2f} ms | {n} | {t / dann:.2f}× | {goal} |"
        for label, t, n, goal in lines
    ]
    table = "\n".join(
        [
            f"Trainer seconds per training step, DANN paper's MNIST network, 3×28×28 inputs, "
            f"batch {BATCH} source + {BATCH} target, {steps} steps per run ({WARMUP} warm-up), "
            f"median of {rounds} interleaved rounds; trainer settings {settings} (as the "
            "recommended digit configs run them). Ratio: against the DANN step.",
            "",
            "| method | s/step | updates per step | ratio to DANN | goal |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    payload = {"settings": settings, "steps": steps, "rounds": rounds, "runs": runs}
    payload["s_per_step"] = per_step
    print(write_results("step_overhead_methods", payload, table).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120, help="steps per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per method")
    parser.add_argument(
        "--methods-vs-dann", action="store_true", help="the other methods' steps against DANN's"
    )
    args = parser.parse_args()
    if args.methods_vs_dann:
        return methods_vs_dann(args.steps, args.rounds)

    payload: dict = {"batch_per_domain": BATCH, "steps": args.steps, "rounds": args.rounds}
    rows: list[str] = []
    fast_rows: list[str] = []
    cases = {"dann": ("dann", {}), "source_only": ("source_only", {})}
    cases.update({label: ("dann", settings) for label, settings in VARIANTS.items()})
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        cases = {k: v for k, v in cases.items() if "bf16" not in k}
    for label, (method, settings) in cases.items():
        trainer_s, hand_s, fast_s = [], [], []
        for _ in range(args.rounds):  # interleaved
            trainer_s.append(trainer_seconds_per_step(method, args.steps, **settings))
            hand_s.append(hand_seconds_per_step(method, args.steps))
            if "bf16" in label:  # also the hand-written loop with the same settings
                fast_s.append(hand_seconds_per_step(method, args.steps, fast=True))
        if fast_s:
            f = statistics.median(fast_s)
            payload["hand-written fast loop"] = {"hand_s_per_step": f, "runs": fast_s}
            fast_rows.append(
                f"| {label} | {statistics.median(trainer_s) * 1e3:.2f} ms | {f * 1e3:.2f} ms | "
                f"{f / statistics.median(trainer_s):.3f}× | ≥ 0.95× |"
            )
        t, h = statistics.median(trainer_s), statistics.median(hand_s)
        payload[label] = {
            "settings": settings,
            "trainer_s_per_step": t,
            "hand_s_per_step": h,
            "ratio": t / h,
            "speedup": h / t,
            "trainer_runs": trainer_s,
            "hand_runs": hand_s,
        }
        goal = "≤ 1.05×" if not settings else "–"
        rows.append(
            f"| {label} | {t * 1e3:.2f} ms | {h * 1e3:.2f} ms | {t / h:.3f}× | {h / t:.2f}× "
            f"| {goal} |"
        )
    table = "\n".join(
        [
            f"DANN paper's MNIST network, 3×28×28 inputs, batch {BATCH} source + {BATCH} target, "
            f"{args.steps} steps per run ({WARMUP} warm-up), median of {args.rounds} interleaved "
            "rounds.",
            "",
            "The hand-written loop is always the plain fp32 one (contiguous memory order, no "
            "compile); ratio = trainer ÷ hand-written s/step (overhead), speed-up = its "
            "inverse (> 1: the trainer is faster).",
            "",
            "| method | trainer s/step | hand-written s/step | ratio | speed-up | goal |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "The fast path against a hand-written loop with the same settings (channels-last "
            "weights and batches, bf16 autocast); speed = hand-written ÷ trainer s/step.",
            "",
            "| settings | trainer s/step | hand-written fast s/step | speed | goal |",
            "|---|---|---|---|---|",
            *fast_rows,
        ]
    )
    print(write_results("step_overhead", payload, table).read_text())


if __name__ == "__main__":
    main()
