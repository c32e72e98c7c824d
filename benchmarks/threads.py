"""Two fits on one machine: does the default thread count keep a fit on a busy machine within
3× of its time on an idle one?

The fit is ``DANNClassifier(hidden=(256, 256), max_steps=STEPS)`` on 2 000 rows of 50 features
(half unlabelled), each in a fresh process. Cases, each ``--rounds`` times, interleaved:

- idle: the fit alone, default threads (``threads=None``: usable CPUs less busy ones).
- busy, default: the fit starts while a background fit (4× as long, default threads too) is
  running: the issue's case, a second fit on a busy machine.
- busy, torch's own count: the same with ``threads`` = every usable CPU for both (what torch
  does by itself, before ``trainer.threads``).
- together, default: both fits start at the same moment (neither sees the other yet).

Reported: the fit's seconds (median), its ratio to idle, and the thread count it chose. Writes
``benchmarks/results/threads.{md,json}``. Run: ``python benchmarks/threads.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import write_results  # benchmarks/ is on sys.path when run as a script

STEPS = 1500
BACKGROUND = 4


def fit(steps: int, threads: int | None) -> None:
    """The worker: print ``started`` when fitting begins, then its seconds and threads."""
    import numpy as np

    from unshift.sklearn import DANNClassifier
    from unshift.training.threads import auto_threads

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 50)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    y[1000:] = -1
    clf = DANNClassifier(hidden=(256, 256), max_steps=steps, threads=threads)
    chosen = threads or auto_threads()  # measured now, the fit reuses it (cached for 5 s)
    print("started", flush=True)
    start = time.perf_counter()
    clf.fit(X, y)
    print(json.dumps({"seconds": time.perf_counter() - start, "threads": chosen}))


def worker(steps: int, threads: int | None) -> subprocess.Popen:
    args = [sys.executable, __file__, "--worker", str(steps), str(threads or 0)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    return json.loads(out.strip().splitlines()[-1])


def started(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    while proc.stdout.readline().strip() != "started":
        pass


def case(name: str, threads: int | None) -> dict:
    """One measurement of the fit under case ``name``."""
    if name == "idle":
        proc = worker(STEPS, threads)
        started(proc)
        return result(proc)
    if name == "together":
        a, b = worker(STEPS, threads), worker(STEPS, threads)
        first = result(b)
        result(a)
        return first
    background = worker(STEPS * BACKGROUND, threads)
    started(background)
    time.sleep(1.0)  # the background fit is running
    proc = worker(STEPS, threads)
    started(proc)
    measured = result(proc)
    background.kill()
    background.wait()
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        fit(args.worker[0], args.worker[1] or None)
        return
    from unshift.training.threads import usable_cpus

    cpus = usable_cpus()
    cases = {
        "idle": ("idle", None),
        "busy, default threads": ("busy", None),
        f"busy, torch's own count ({cpus} threads each)": ("busy", cpus),
        "together, default threads": ("together", None),
    }
    records = []
    for r in range(args.rounds):
        for label, (name, threads) in cases.items():
            rec = {"case": label, "round": r, **case(name, threads)}
            records.append(rec)
            print(rec, flush=True)
    idle = statistics.median(r["seconds"] for r in records if r["case"] == "idle")
    rows = [
        "| case | fit seconds (median) | × idle | threads chosen | rounds |",
        "|---|---|---|---|---|",
    ]
    for label in cases:
        times = [r["seconds"] for r in records if r["case"] == label]
        med = statistics.median(times)
        chosen = sorted({r["threads"] for r in records if r["case"] == label})
        rows.append(f"| {label} | {med:.2f} | {med / idle:.2f} | {chosen} | {len(times)} |")
    notes = (
        f"The fit: DANNClassifier(hidden=(256, 256), max_steps={STEPS}), 2 000 × 50 rows; the "
        f"background fit runs {BACKGROUND}× as many steps so that it outlasts the measured one. "
        f"Goal: the busy, default case within 3× of idle. Usable CPUs: {cpus}."
    )
    print(write_results("threads", {"steps": STEPS, "records": records}, "\n".join(rows), notes))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
