"""One run end to end: config → run directory → data, networks, method → fit → predictions,
``final.json`` and the report, each built once and passed down in memory.

``unshift train``, the benchmarks and label-free selection all go through :func:`run`;
:func:`unshift.build.load_run` is only for commands on an existing run directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from unshift.build import build_data, build_method, build_trainer
from unshift.config import RunConfig, to_yaml
from unshift.data.domains import TaskData
from unshift.eval.metrics import predict_labels
from unshift.methods import Method
from unshift.runs import RunDir, atomic_write, write_json

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


def write_predictions(predicted: Tensor, path: Path) -> None:
    """Predicted classes as CSV: a ``label`` column, or ``label_0 … label_{L-1}`` for ``L``
    outputs."""
    rows = predicted.reshape(len(predicted), -1).tolist()
    header = "label" if predicted.ndim == 1 else ",".join(f"label_{i}" for i in range(len(rows[0])))
    text = header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    atomic_write(path, lambda tmp: tmp.write_text(text))


def run(
    cfg: RunConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    data: TaskData | None = None,
    report: bool = True,
) -> Run:
    """Train ``cfg``'s method on its data and return the finished :class:`Run`.

    With ``run_dir`` the run directory gets ``config.yaml`` (unless ``resume``), metrics,
    checkpoints, ``final.json``, the target test predictions and, with ``report``,
    ``report.md``; without it nothing is written. ``resume=True`` continues ``run_dir`` from its
    last checkpoint. ``data``: the task, when the caller has already built it for this config
    (e.g. several methods on one task).
    """
    data = build_data(cfg) if data is None else data
    method = build_method(cfg, data)
    trainer = build_trainer(cfg, run_dir)
    writer = trainer.is_writer
    if writer and not resume:
        assert run_dir is not None
        atomic_write(RunDir(run_dir).config, lambda tmp: tmp.write_text(to_yaml(cfg)))
        write_json(RunDir(run_dir).task, data.shape_info())
    final = trainer.fit(method, data, resume=resume)
    method.cpu().eval()
    if writer and run_dir is not None:
        if data.target_test is not None:
            predicted = predict_labels(method.predict, data.target_test.x)
            write_predictions(predicted, RunDir(run_dir).path / PREDICTIONS)
        if report:
            from unshift.report.report import write_report

            write_report(run_dir, cfg, data, method, final, cfg.report.baseline)
    return Run(cfg, data, method, final, writer)
