"""Gradient reversal layer cost: memory of the forward pass and time of forward + backward.

Writes ``benchmarks/results/grl.{md,json}``. Run: ``python benchmarks/grl.py``.

- ``forward_bytes_allocated``: bytes the profiler sees allocated while ``grad_reverse`` runs
  its forward pass on a ``(256, 4096)`` float32 tensor (goal 0: the output is a view).
- ``time_ratio``: forward + backward through ``x → grad_reverse → Linear(4096, 1024) → ReLU →
  Linear(1024, 1)`` (a domain head, the graph a GRL sits in) divided by the same graph
  without ``grad_reverse`` (goal ≤ 1.05). Also reported: the bare graph ``x → [GRL] → sum``,
  where the GRL's one multiply is the only work, in absolute microseconds.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from common import write_results  # benchmarks/ is on sys.path when run as a script
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.benchmark import Timer

from unshift.nn import grad_reverse

SHAPE = (256, 4096)


def forward_bytes_allocated(device: str) -> int:
    x = torch.randn(*SHAPE, device=device, requires_grad=True)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=activities, profile_memory=True) as prof:
        y = grad_reverse(x, 1.0)
    assert y.data_ptr() == x.data_ptr(), "grad_reverse copied its input"
    total = 0
    for event in prof.events():
        total += max(event.cpu_memory_usage, 0) + max(getattr(event, "device_memory_usage", 0), 0)
    return total


def seconds_per_call(stmt: str, env: dict, rounds: int) -> list[float]:
    timer = Timer(stmt=stmt, globals=env)
    return [timer.blocked_autorange(min_run_time=0.5).median for _ in range(rounds)]


def time_pair(build, device: str, rounds: int) -> tuple[float, float]:
    """Median seconds per forward+backward with and without the GRL, measured interleaved."""
    with_grl, without = [], []
    for _ in range(rounds):
        env = build(device)
        with_grl += seconds_per_call("step(True)", env, 1)
        without += seconds_per_call("step(False)", env, 1)
    return statistics.median(with_grl), statistics.median(without)


def domain_head_graph(device: str) -> dict:
    torch.manual_seed(0)
    head = nn.Sequential(nn.Linear(SHAPE[1], 1024), nn.ReLU(), nn.Linear(1024, 1)).to(device)
    x = torch.randn(*SHAPE, device=device, requires_grad=True)

    def step(reverse: bool) -> None:
        h = grad_reverse(x, 1.0) if reverse else x
        head(h).mean().backward()
        x.grad = None
        head.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()

    return {"step": step}


def bare_graph(device: str) -> dict:
    x = torch.randn(*SHAPE, device=device, requires_grad=True)

    def step(reverse: bool) -> None:
        h = grad_reverse(x, 1.0) if reverse else x
        h.sum().backward()
        x.grad = None
        if device == "cuda":
            torch.cuda.synchronize()

    return {"step": step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    args = parser.parse_args()

    nbytes = forward_bytes_allocated(args.device)
    head_grl, head_plain = time_pair(domain_head_graph, args.device, args.rounds)
    bare_grl, bare_plain = time_pair(bare_graph, args.device, args.rounds)
    ratio = head_grl / head_plain
    payload = {
        "device": args.device,
        "shape": list(SHAPE),
        "forward_bytes_allocated": nbytes,
        "time_ratio": ratio,
        "domain_head": {"grl_s": head_grl, "plain_s": head_plain, "ratio": ratio},
        "bare": {
            "grl_s": bare_grl,
            "plain_s": bare_plain,
            "ratio": bare_grl / bare_plain,
            "overhead_us": (bare_grl - bare_plain) * 1e6,
        },
        "rounds": args.rounds,
    }
    table = "\n".join(
        [
            f"Input: float32 tensor of shape {SHAPE} on {args.device}; medians of "
            f"{args.rounds} interleaved rounds (torch.utils.benchmark).",
            "",
            "| measure | with GRL | without | ratio | goal |",
            "|---|---|---|---|---|",
            f"| forward bytes allocated by `grad_reverse` | {nbytes} | – | – | 0 |",
            f"| fwd+bwd, x → GRL → Linear(4096,1024) → ReLU → Linear(1024,1) "
            f"| {head_grl * 1e3:.3f} ms | {head_plain * 1e3:.3f} ms | {ratio:.3f}× | ≤ 1.05× |",
            f"| fwd+bwd, x → GRL → sum (bare: the GRL's multiply is the only work) "
            f"| {bare_grl * 1e3:.3f} ms | {bare_plain * 1e3:.3f} ms "
            f"| {bare_grl / bare_plain:.3f}× | – |",
        ]
    )
    notes = (
        "The GRL's backward is one elementwise multiply by -coeff over the gradient "
        f"({SHAPE[0] * SHAPE[1] * 4 / 2**20:.0f} MiB here): about "
        f"{(bare_grl - bare_plain) * 1e6:.0f} µs on this machine, the whole of its cost."
    )
    md = write_results("grl", payload, table, notes)
    print(md.read_text())


if __name__ == "__main__":
    main()
