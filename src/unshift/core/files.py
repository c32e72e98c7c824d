"""The run directory: what a training run leaves on disk (written whole:
:mod:`unshift.core.writes`).

::

    RUN_DIR/
      config.yaml       the resolved config (written by the CLI)
      metrics.jsonl     one JSON object per logged step or evaluation
      checkpoints/last.ckpt   written atomically: temporary file, then rename
      snapshots/step_<N>.pt   the model's weights at step N (trainer.snapshot_every), atomic
      task.json         the sizes a network needs (sample shape, classes, domains)
      final.json        final metrics: target_acc, source_acc, steps, wall_s, seed, ...
      report.md         the report, with plots under plots/
      .lock             "<pid> <host>" of the process training in it, while it trains
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from unshift.core.errors import RunDirError
from unshift.core.writes import atomic_write, clean, write_json
from unshift.core.writes import replace_durably as replace_durably  # re-exported

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
FINAL = "final.json"
TASK = "task.json"
CHECKPOINT = Path("checkpoints") / "last.ckpt"
SNAPSHOTS = "snapshots"
LOCK = ".lock"
TRAINED = (METRICS, FINAL, "checkpoints")
"""What training leaves: :class:`~unshift.Trainer` refuses to start over any of them."""
RUN_FILES = (CONFIG, *TRAINED)
"""Any of these makes a directory hold a run that training must not silently replace."""


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

    def create(
        self, task: dict[str, Any] | None = None, config: dict[str, Any] | None = None
    ) -> None:
        """Make the directory and record what rebuilds the run, where not already written:
        ``task`` (the data's shapes) as ``task.json``; ``config`` as ``config.yaml`` when it is
        a whole run config (``data``, ``model`` and ``method`` sections), as a trainer built
        from a config has it."""
        self.path.mkdir(parents=True, exist_ok=True)
        if task is not None and not self.task.exists():
            write_json(self.task, task)
        whole = config is not None and {"data", "model", "method"} <= config.keys()
        if whole and not self.config.exists():
            text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            atomic_write(self.config, lambda tmp: tmp.write_text(text))

    def holds_run(self, files: tuple[str, ...] = RUN_FILES) -> list[str]:
        """Those of ``files`` already here; empty for a new directory."""
        return [name for name in files if (self.path / name).exists()]

    def refuse_existing(
        self,
        files: tuple[str, ...] = RUN_FILES,
        resume: str = "--resume",
        other: str = "a new --run-dir, or --overwrite (the old run is moved aside, not deleted)",
    ) -> None:
        """Raise :class:`RunDirError` if any of ``files`` is here; the message offers
        ``resume`` and ``other`` as the ways out."""
        found = self.holds_run(files)
        if found:
            raise RunDirError(
                f"{self.path} already holds a run ({', '.join(found)}); continue it with "
                f"{resume}, or give {other}"
            )

    def damaged_checkpoint(self) -> RunDirError:
        """The error for a last checkpoint that cannot be loaded, naming what still can."""
        snaps = self.snapshot_steps()
        usable = (
            f"; its snapshots (steps {snaps[0]}–{snaps[-1]}) still load with "
            f"`unshift eval {self.path} --step N`"
            if snaps
            else ""
        )
        return RunDirError(
            f"{self.checkpoint} is damaged (truncated or not a checkpoint) and cannot be "
            f"loaded{usable}; train again with --overwrite"
        )

    def unwritable(self, err: OSError) -> RunDirError:
        """The error for a run directory this process cannot write in."""
        return RunDirError(
            f"cannot write in {self.path} ({err.strerror}); give a run directory you can write to"
        )

    def move_aside(self) -> Path:
        """Rename this directory to ``<path>.old-<time>`` (a new name) and return that path."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.old-{stamp}")
        n = 1
        while aside.exists():
            aside = self.path.with_name(f"{self.path.name}.old-{stamp}-{n}")
            n += 1
        try:
            self.path.rename(aside)
        except OSError as err:
            raise RunDirError(
                f"cannot move the earlier run {self.path} aside to {aside} ({err.strerror})"
            ) from None
        return aside

    def _lock_owner(self) -> tuple[int, str] | None:
        """``(pid, host)`` written in the lock file, or ``None`` if there is none readable."""
        try:
            pid_text, host = (self.path / LOCK).read_text().split(maxsplit=1)
            return int(pid_text), host.strip()
        except (OSError, ValueError):
            return None

    def lock_holder(self) -> str | None:
        """``"process <pid> on <host>"`` if another live process trains here, else ``None``
        (no lock, this process's own lock, or a stale lock of a process that has died)."""
        owner = self._lock_owner()
        if owner is None:
            return None
        pid, host = owner
        if host == socket.gethostname():
            if pid == os.getpid():
                return None
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None  # stale: that process is gone
            except PermissionError:
                pass  # alive, owned by another user
        return f"process {pid} on {host}"

    def refuse_if_locked(self) -> None:
        """Raise :class:`RunDirError` if another live process trains in this directory."""
        holder = self.lock_holder()
        if holder is not None:
            raise RunDirError(
                f"{self.path} is in use: {holder} is training in it; wait for it to finish or "
                f"stop it (if it is gone, delete {self.path / LOCK})"
            )

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this directory's lock while the block runs: refuse if another live process
        holds it, take over a stale one, nest within this process's own."""
        lock = self.path / LOCK
        if self._lock_owner() == (os.getpid(), socket.gethostname()):
            yield  # this process holds it already (run() around Trainer.fit)
            return
        created = [p for p in (self.path, *self.path.parents) if not p.exists()]
        for _ in range(3):
            try:
                self.create()
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                self.refuse_if_locked()
                lock.unlink(missing_ok=True)  # stale: its process has died
            except OSError as err:
                raise self.unwritable(err) from None
        else:
            self.refuse_if_locked()
            raise RunDirError(f"cannot take the lock {lock}; another process keeps taking it")
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {socket.gethostname()}\n")
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)
            for folder in created:  # a run that failed before writing leaves no folders behind
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one record to ``metrics.jsonl`` (a line is written whole, then flushed)."""
        line = json.dumps({k: clean(v) for k, v in record.items()}) + "\n"
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

    def require(self, *, checkpoint: bool = False, config: bool = True) -> RunDir:
        """Raise :class:`RunDirError` unless this is a run directory (with ``config.yaml``
        where ``config``, with a checkpoint where ``checkpoint``)."""
        if not self.path.is_dir():
            raise RunDirError(f"{self.path} is not a directory, so it is not a run directory")
        if config and not self.config.exists():
            if self.final.exists() or self.checkpoint.exists():
                raise RunDirError(
                    f"{self.path} was trained from Python with networks built there, so it "
                    f"records no {CONFIG} to rebuild them (it has the weights, {METRICS}, "
                    f"{FINAL}, {TASK}): for eval, report, predict and select, train from a "
                    "config (your own networks registered in a plugin: docs/extending.md), or "
                    "load the weights into your networks with unshift.training.build.load_weights"
                )
            raise RunDirError(f"{self.path} is not a run directory: it has no {CONFIG}")
        if checkpoint and not self.checkpoint.exists():
            raise RunDirError(f"{self.path} has no checkpoint ({CHECKPOINT})")
        return self
