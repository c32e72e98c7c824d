"""Runs: train a config into a run directory (:func:`unshift.runs.run.run`), a trained run as a
model for new data (:mod:`~unshift.runs.predict`), and choosing among runs without target
labels (:mod:`~unshift.runs.validators`, :mod:`~unshift.runs.selection`).

Until version 0.2 ``unshift.runs`` was the module of run directories, now
:mod:`unshift.core.files`; its names are re-exported here so that code importing them from
``unshift.runs`` keeps working.
"""

from unshift.core.files import (
    CHECKPOINT,
    CONFIG,
    FINAL,
    LOCK,
    METRICS,
    RUN_FILES,
    SNAPSHOTS,
    TASK,
    TRAINED,
    RunDir,
    atomic_write,
    replace_durably,
    write_json,
)

__all__ = [
    "CHECKPOINT",
    "CONFIG",
    "FINAL",
    "LOCK",
    "METRICS",
    "RUN_FILES",
    "SNAPSHOTS",
    "TASK",
    "TRAINED",
    "RunDir",
    "atomic_write",
    "replace_durably",
    "write_json",
]
