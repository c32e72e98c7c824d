"""Shared helpers for benchmarks: machine description and writing results files.

Every benchmark writes ``benchmarks/results/<name>.md`` (a table with the exact command,
machine and date) and ``benchmarks/results/<name>.json`` (the raw records).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_selection_arguments(parser: argparse.ArgumentParser, tasks: list[str], name: str) -> None:
    """The options every selection benchmark shares: ``--validator`` (default
    :data:`unshift.runs.selection.DEFAULT_VALIDATOR`; ``reverse`` for reverse validation),
    ``--seed`` (100, a seed no benchmark scores), ``--reverse-steps``, ``--tasks`` (of
    ``tasks``) and ``--name`` (the results file, default ``name``)."""
    from unshift.runs.selection import DEFAULT_VALIDATOR, REVERSE
    from unshift.runs.validators import VALIDATORS

    parser.add_argument("--validator", default=DEFAULT_VALIDATOR, choices=[*VALIDATORS, REVERSE])
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--reverse-steps", type=int, default=1500)
    parser.add_argument("--tasks", nargs="+", default=tasks, choices=tasks)
    parser.add_argument("--name", default=name, help="results file name")


def selection_overrides(validator: str) -> list[str]:
    """Overrides a candidate run needs to be scored by ``validator``: the held-out source
    validation split (10 %) unless the validator is reverse validation."""
    from unshift.runs.selection import REVERSE

    return [] if validator == REVERSE else ["data.source_val_fraction=0.1"]


def reverse_note(args: argparse.Namespace) -> str:
    """How a selection benchmark's score was computed, for its table's caption."""
    from unshift.runs.selection import REVERSE

    if args.validator == REVERSE:
        return f" (reverse validation, {args.reverse_steps} backward steps)"
    return " on the last iterate (10 % of the source training data held out for it)"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Where and with what a benchmark ran."""
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_results(
    name: str,
    payload: dict[str, Any],
    table: str,
    notes: str = "",
    origin: dict[str, Any] | None = None,
) -> Path:
    """Write ``<name>.json`` (``payload`` + machine) and ``<name>.md``; return the md path.

    ``origin``: the machine record of the run whose records these are, when the tables are only
    rendered again from them; it stays the file's ``machine`` (command, date, machine), and this
    render is recorded beside it as ``rendered``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    now = machine_info()
    machine = origin or now
    stamps = {"machine": machine, **({"rendered": now} if origin else {})}
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps({**payload, **stamps}, indent=2) + "\n")
    lines = [
        f"# Benchmark: {name}",
        "",
        f"- command: `{machine['command']}`",
        f"- date: {machine['date']}",
        f"- machine: {machine['cpu']}, {machine['cores']} cores "
        f"({machine['torch_threads']} torch threads), {machine['platform']}"
        + (f", GPU {machine['gpu']}" if "gpu" in machine else ""),
        f"- software: Python {machine['python']}, torch {machine['torch']}",
        *([f"- tables rendered again: `{now['command']}` ({now['date']})"] if origin else []),
        "",
        table.rstrip(),
        "",
    ]
    if notes:
        lines += [notes.rstrip(), ""]
    md = RESULTS_DIR / f"{name}.md"
    md.write_text("\n".join(lines))
    return md


def mean_std(values: list[float]) -> str:
    """``"mean ± std"`` to 3 decimals (std 0 for a single value)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {std:.3f}"


def run_record(task: str, method: str, seed: int, final: dict, **extra: Any) -> dict[str, Any]:
    """One JSON record of a training run from the trainer's final metrics."""
    return {
        "task": task,
        "method": method,
        "seed": seed,
        "target_acc": final["target_acc"],
        "source_acc": final["source_acc"],
        **extra,
        "steps": final["steps"],
        "wall_s": final["wall_s"],
    }
