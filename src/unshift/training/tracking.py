"""Experiment tracking beside ``metrics.jsonl``: TensorBoard, MLflow and CSV loggers.

``trainer.loggers: [tensorboard, mlflow, csv]`` sends every record the trainer writes to
``metrics.jsonl`` (losses, learning rate, λ, test accuracies; by step) to those loggers too,
and the run's resolved config as hyperparameters (``method.name``, ``optim.lr``, ...).
``metrics.jsonl`` stays the record of truth: a resumed run rewrites it from the checkpoint's
step, while the loggers keep what they were sent.

- ``tensorboard``: event files in ``<run>/tensorboard`` (Fabric's ``TensorBoardLogger``; needs
  ``tensorboard`` or ``tensorboardX``: ``pip install 'unshift[tracking]'``).
- ``csv``: ``<run>/csv/metrics.csv`` (Fabric's ``CSVLogger``; the config is the run's own
  ``config.yaml``).
- ``mlflow``: a run named after the run directory in the experiment ``unshift``, at the tracking
  URI of ``MLFLOW_TRACKING_URI`` (a server, ``sqlite:///file.db``, ...; needs ``mlflow`` or
  ``mlflow-skinny``). MLflow refuses to work without one.
"""

from __future__ import annotations

import math
import os
from typing import Any

from lightning_fabric.loggers import CSVLogger, Logger, TensorBoardLogger

from unshift.core.errors import ConfigError
from unshift.core.files import RunDir

LOGGERS = ("csv", "mlflow", "tensorboard")
EXPERIMENT = "unshift"


def flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optim": {"lr": 0.1}}`` → ``{"optim.lr": 0.1}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class MLflowLogger(Logger):
    """Fabric's logger interface over an MLflow run (created on first use)."""

    def __init__(self, run_name: str, tracking_uri: str) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.run_name = run_name
        self._run_id: str | None = None

    @property
    def name(self) -> str:
        return EXPERIMENT

    @property
    def version(self) -> str:
        return self.run_id

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            experiment = self.client.get_experiment_by_name(EXPERIMENT)
            ident = (
                experiment.experiment_id
                if experiment is not None
                else self.client.create_experiment(EXPERIMENT)
            )
            self._run_id = self.client.create_run(ident, run_name=self.run_name).info.run_id
        return self._run_id

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.client.log_metric(self.run_id, key, value, step=step or 0)

    def log_hyperparams(self, params: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        for key, value in params.items():
            self.client.log_param(self.run_id, key, str(value)[:6000])

    def finalize(self, status: str) -> None:
        if self._run_id is not None:
            self.client.set_terminated(
                self._run_id, "FINISHED" if status == "success" else "FAILED"
            )


def build_loggers(names: list[str], run: RunDir | None) -> list[Logger]:
    """The loggers ``names`` of :data:`LOGGERS` for the run directory ``run`` (none without
    one: nothing is written then); a missing package or tracking URI is a
    :class:`~unshift.core.errors.ConfigError`."""
    if run is None:
        return []
    loggers: list[Logger] = []
    for name in names:
        assert run is not None
        if name == "csv":
            loggers.append(CSVLogger(run.path / "csv", name="", version=""))
        elif name == "tensorboard":
            try:
                loggers.append(TensorBoardLogger(run.path / "tensorboard", name="", version=""))
            except ModuleNotFoundError:
                raise ConfigError(
                    "trainer.loggers: tensorboard needs tensorboard: "
                    "pip install 'unshift[tracking]'"
                ) from None
        else:
            uri = os.environ.get("MLFLOW_TRACKING_URI")
            if not uri:
                raise ConfigError(
                    "trainer.loggers: mlflow needs MLFLOW_TRACKING_URI (a tracking server, or "
                    "sqlite:///mlflow.db with mlflow installed)"
                )
            try:
                loggers.append(MLflowLogger(run.path.name, uri))
            except ImportError:
                raise ConfigError(
                    "trainer.loggers: mlflow needs mlflow: pip install 'unshift[tracking]'"
                ) from None
    return loggers


class Tracker:
    """Where the trainer's records go: ``metrics.jsonl`` of ``run`` and every logger (nowhere
    for ``run`` None: a process that does not write the run)."""

    def __init__(self, run: RunDir | None, loggers: list[Logger], hparams: dict[str, Any]) -> None:
        self.run, self.loggers = run, loggers
        for logger in loggers:
            if not isinstance(logger, CSVLogger):  # it has none; config.yaml is beside it
                logger.log_hyperparams(flat(hparams))

    def record(self, record: dict[str, Any]) -> None:
        """Append ``record`` (``step`` and values) to ``metrics.jsonl``; send its finite
        numbers to the loggers."""
        if self.run is None:
            return
        self.run.append_metrics(record)
        numbers = {
            k: float(v)
            for k, v in record.items()
            if k != "step" and isinstance(v, int | float) and math.isfinite(v)
        }
        for logger in self.loggers:
            logger.log_metrics(numbers, step=record["step"])

    def finalize(self, status: str = "success") -> None:
        for logger in self.loggers:
            logger.finalize(status)


__all__ = ["LOGGERS", "MLflowLogger", "Tracker", "build_loggers", "flat"]
