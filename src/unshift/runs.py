"""The run directory: what a training run leaves on disk, and how it is written.

::

    RUN_DIR/
      config.yaml       the resolved config (written by the CLI)
      metrics.jsonl     one JSON object per logged step or evaluation
      checkpoints/last.ckpt   written atomically: temporary file, then rename
      snapshots/step_<N>.pt   the model's weights at step N (trainer.snapshot_every), atomic
      task.json         the sizes a network needs (sample shape, classes, domains)
      final.json        final metrics: target_acc, source_acc, steps, wall_s, seed, ...
      report.md         the report, with plots under plots/
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unshift.errors import RunDirError

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
FINAL = "final.json"
TASK = "task.json"
CHECKPOINT = Path("checkpoints") / "last.ckpt"
SNAPSHOTS = "snapshots"


def _clean(value: Any) -> Any:
    """JSON-safe value: NaN/Inf as strings so that every line stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def replace_durably(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to disk, then rename it over ``path`` (an atomic step on POSIX)."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    A reader (or a run killed mid-write) sees either the old file or the new one, never half.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        replace_durably(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps({k: _clean(v) for k, v in data.items()}, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


class RunDir:
    """Paths and writers of one run directory."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def final(self) -> Path:
        return self.path / FINAL

    @property
    def task(self) -> Path:
        return self.path / TASK

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    def snapshot(self, step: int) -> Path:
        """Where the weights at ``step`` are kept."""
        return self.path / SNAPSHOTS / f"step_{step:08d}.pt"

    def snapshot_steps(self) -> list[int]:
        """The steps that have a snapshot, in order."""
        folder = self.path / SNAPSHOTS
        if not folder.is_dir():
            return []
        return sorted(int(p.stem.removeprefix("step_")) for p in folder.glob("step_*.pt"))

    def write_snapshot(self, step: int, state: dict[str, Any]) -> None:
        """Save ``state`` (a model's ``state_dict``) as the snapshot of ``step``, atomically."""
        import torch

        atomic_write(self.snapshot(step), lambda tmp: torch.save(state, tmp))

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one record to ``metrics.jsonl`` (a line is written whole, then flushed)."""
        line = json.dumps({k: _clean(v) for k, v in record.items()}) + "\n"
        with open(self.metrics, "a") as fh:
            fh.write(line)

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete records of ``metrics.jsonl`` (a torn last line is skipped)."""
        if not self.metrics.exists():
            return []
        records = []
        for line in self.metrics.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def truncate_metrics(self, last_step: int) -> None:
        """Keep only records up to ``last_step``: what a resumed run will log again goes."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= last_step]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write(self.metrics, lambda tmp: tmp.write_text(text))

    def read_final(self) -> dict[str, Any]:
        if not self.final.exists():
            raise RunDirError(f"{self.path} has no {FINAL}: the run has not finished")
        return json.loads(self.final.read_text())

    def require(self, *, checkpoint: bool = False) -> RunDir:
        """Raise :class:`RunDirError` unless this is a run directory (with a checkpoint)."""
        if not self.path.is_dir():
            raise RunDirError(f"{self.path} is not a directory, so it is not a run directory")
        if not self.config.exists():
            raise RunDirError(f"{self.path} is not a run directory: it has no {CONFIG}")
        if checkpoint and not self.checkpoint.exists():
            raise RunDirError(f"{self.path} has no checkpoint ({CHECKPOINT}) to resume from")
        return self
