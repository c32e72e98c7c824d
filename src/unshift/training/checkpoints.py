"""A run's training checkpoint through Lightning Fabric: written atomically (a failed write
leaves the previous checkpoint as it was), loaded with ``weights_only`` (a damaged file is one
:class:`~unshift.core.errors.RunDirError`)."""

from __future__ import annotations

import warnings
from typing import Any

from lightning_fabric import Fabric

from unshift.core.files import RunDir, replace_durably


def save_checkpoint(fabric: Fabric, run: RunDir, state: dict[str, Any]) -> None:
    """Write ``state`` (Fabric-saveable objects and plain values) to ``run.checkpoint``; every
    process takes part (sharded strategies), global rank 0 replaces the file."""
    path = run.checkpoint
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fabric.save(tmp, state)
        if fabric.is_global_zero:
            replace_durably(tmp, path)
    finally:  # a failed write (a full disk) leaves the previous checkpoint as it was
        if fabric.is_global_zero:
            tmp.unlink(missing_ok=True)


def load_checkpoint(fabric: Fabric, run: RunDir, saved_objects: dict[str, Any]) -> dict[str, Any]:
    """The rest of ``run``'s last checkpoint after restoring ``saved_objects`` (the model and
    optimisers) from it; a damaged file is a :class:`RunDirError` that names what can still be
    used."""
    try:
        with warnings.catch_warnings():  # a damaged file's "pickle protocol" warning
            warnings.simplefilter("ignore", UserWarning)
            return fabric.load(run.checkpoint, dict(saved_objects), weights_only=True)
    except Exception:  # the unpickler of a damaged file can raise almost anything
        raise run.damaged_checkpoint() from None
