import os
from pathlib import Path

# trainer.accelerator defaults to auto: the tests compare numbers on the CPU wherever they run.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
# Shared data (MNIST, USPS, photographs, ...): present in CI and on the development machine.
SHARED_DATA = Path(os.environ.get("UNSHIFT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def scaled(seconds: float) -> float:
    """A subprocess test's time limit: ``seconds`` on an idle machine, stretched by the load
    per usable CPU when it is busy (the same work then takes longer) and by
    ``UNSHIFT_TEST_TIME_SCALE`` (e.g. 3 for a slow machine)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] / (cpus or 1) if hasattr(os, "getloadavg") else 1.0
    return seconds * max(1.0, load) * float(os.environ.get("UNSHIFT_TEST_TIME_SCALE", "1"))


def wait_for(path: Path, proc, seconds: float = 120, poll: float = 0.05) -> None:
    """Wait until ``path`` exists, failing the test at once if ``proc`` (a ``Popen``) ends
    first, or after :func:`scaled` ``(seconds)``: an event, with a clock only as a backstop."""
    import time

    import pytest

    deadline = time.monotonic() + scaled(seconds)
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{path} did not appear within {scaled(seconds):.0f} s")
        time.sleep(poll)
