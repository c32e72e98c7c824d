"""How many CPU threads a training process gives torch: what it may use, less what other
processes are using now, so that a second training on a busy machine does not oversubscribe
it (torch's threads spin while they wait for each other, and two processes of two threads on
two CPUs ran 4.6× slower than one alone; with one thread each, neither slowed).

Linux reads the CPUs of this process (affinity and the cgroup's quota) and the CPU time of all
others from ``/proc``; elsewhere it falls back to ``os.cpu_count()`` and the load average.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

_CACHE: dict[str, tuple[float, int]] = {}
CACHE_SECONDS = 5.0
"""A measurement is reused this long (many short fits in a row, e.g. cross-validation)."""


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by the cgroup's CPU quota."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def _cpu_seconds() -> tuple[float, float] | None:
    """(busy CPU seconds of the whole machine, of this process) so far; None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle and iowait
    guest = sum(values[8:10]) if len(values) > 9 else 0  # already counted in user/nice
    return (sum(values) - idle - guest) / ticks, (int(own[11]) + int(own[12])) / ticks


def busy_cpus(window: float = 0.05) -> float:
    """CPUs kept busy by other processes, measured over ``window`` seconds (Linux), else the
    one-minute load average."""
    before = _cpu_seconds()
    if before is None:
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    start = time.perf_counter()
    time.sleep(window)
    after = _cpu_seconds()
    elapsed = time.perf_counter() - start
    assert after is not None
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / elapsed)


def auto_threads() -> int:
    """``usable_cpus() - round(busy_cpus())``, at least 1, and never more than torch's own
    count (what ``OMP_NUM_THREADS`` or the caller's ``torch.set_num_threads`` chose); measured
    at most every :data:`CACHE_SECONDS`."""
    now = time.monotonic()
    cached = _CACHE.get("free")
    if cached is None or now - cached[0] >= CACHE_SECONDS:
        cached = (now, max(1, usable_cpus() - round(busy_cpus())))
        _CACHE["free"] = cached
    return min(cached[1], torch.get_num_threads())


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``threads`` inside, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
