"""One run end to end: config → run directory → data, networks, method → fit → predictions,
``final.json`` and the report, each built once and passed down in memory.

``unshift train``, the benchmarks and label-free selection all go through :func:`run`;
:func:`unshift.training.build.load_run` is only for commands on an existing run directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unshift.core.files import RunDir, atomic_write, write_json
from unshift.data.domains import TaskData
from unshift.eval.predictions import prediction_table, write_table
from unshift.methods import Method
from unshift.training.build import build_data, build_method, build_trainer
from unshift.training.config import RunConfig, resolve_paths, to_yaml
from unshift.training.trainer import Trainer

PREDICTIONS = "target_test_predictions.csv"


@dataclass
class Run:
    """A finished run: its config, the data it trained on, the trained method (on CPU), the
    final metrics (see :meth:`unshift.Trainer.fit`), and whether this process wrote the run
    directory (global rank 0)."""

    cfg: RunConfig
    data: TaskData
    method: Method
    final: dict[str, Any]
    writer: bool
    replaced: Path | None = None
    """Where an earlier run in the same directory was moved (``overwrite=True``)."""


def run(
    cfg: RunConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    allow_changed: tuple[str, ...] = (),
    overwrite: bool = False,
    data: TaskData | None = None,
    report: bool = True,
) -> Run:
    """Train ``cfg``'s method on its data and return the finished :class:`Run`.

    With ``run_dir`` the run directory gets ``config.yaml`` (unless ``resume``), metrics,
    checkpoints, ``final.json``, the target test predictions and, with ``report``,
    ``report.md``; without it nothing is written. ``resume=True`` continues ``run_dir`` from its
    last checkpoint, refusing a config that differs from the checkpoint's in keys not named in
    ``allow_changed``. Paths in the config are stored absolute (so that ``eval``, ``report`` and
    ``--resume`` work from any directory). A directory that already holds a run is refused
    (:class:`~unshift.core.errors.RunDirError`) unless ``resume`` or ``overwrite``, which first
    moves the old run to ``<run_dir>.old-<time>`` (:attr:`Run.replaced`); nothing is deleted.
    While it trains, the directory is locked against a second process. ``data``: the task, when
    the caller has already built it for this config (e.g. several methods on one task).
    """
    cfg = resolve_paths(cfg)
    trainer = build_trainer(cfg, run_dir)
    writer = trainer.is_writer
    if not writer or run_dir is None:
        return _run(cfg, None, trainer, data, resume, allow_changed, report)
    rd, replaced = RunDir(run_dir), None
    rd.refuse_if_locked()
    if not resume and rd.holds_run():
        if not overwrite:
            rd.refuse_existing()
        replaced = rd.move_aside()
    n, threads = trainer.fabric.world_size, trainer.threads(resume)
    print(
        f"training on {trainer.fabric.device}, precision {trainer.spec.precision}, "
        f"{n} process{'es' * (n > 1)}, {threads} CPU thread{'s' * (threads > 1)}",
        flush=True,
    )
    with rd.locked():
        result = _run(cfg, rd, trainer, data, resume, allow_changed, report)
    result.replaced = replaced
    return result


def _run(
    cfg: RunConfig,
    rd: RunDir | None,
    trainer: Trainer,
    data: TaskData | None,
    resume: bool,
    allow_changed: tuple[str, ...],
    report: bool,
) -> Run:
    data = build_data(cfg) if data is None else data
    method = build_method(cfg, data)
    if rd is not None and not resume:
        atomic_write(rd.config, lambda tmp: tmp.write_text(to_yaml(cfg)))
        write_json(rd.task, data.shape_info())
    final = trainer.fit(method, data, resume=resume, allow_changed=allow_changed)
    method.cpu().eval()
    if rd is not None:
        if data.target_test is not None:
            test = data.target_test
            table = prediction_table(
                method.predict, test, data.meta.get("classes"), test.row_names()
            )
            write_table(table, rd.path / PREDICTIONS)
        if report:
            from unshift.report.report import write_report

            write_report(rd.path, cfg, data, method, final, cfg.report.baseline)
    return Run(cfg, data, method, final, trainer.is_writer)
