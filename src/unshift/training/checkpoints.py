"""A run's training checkpoint through Lightning Fabric: written atomically (a failed write
leaves the previous checkpoint as it was), loaded with ``weights_only`` (a damaged file is one
:class:`~unshift.core.errors.RunDirError`). It holds the config it was trained with, so that a
resume with another config is refused (:func:`config_changes`)."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from lightning_fabric import Fabric

from unshift.core.errors import ConfigError
from unshift.core.files import RunDir, replace_durably
from unshift.training.tracking import flat


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


def config_changes(
    trained: dict[str, Any] | None, current: dict[str, Any], allowed: tuple[str, ...] = ()
) -> dict[str, list[Any]]:
    """``{"optim.lr": [trained value, current value], ...}`` for the keys (dotted) whose value
    differs between the config a checkpoint was ``trained`` with and the ``current`` one.

    Raises :class:`ConfigError` naming the changed keys unless every one is in ``allowed`` (a key
    or a section: ``optim`` allows ``optim.lr``). ``trained`` None (a checkpoint written before
    configs were stored) compares nothing.
    """
    if trained is None:
        return {}
    old, new = flat(trained), flat(current)
    changed = {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys())
               if old.get(k) != new.get(k)}  # fmt: skip
    refused = [k for k in changed if not any(k == a or k.startswith(f"{a}.") for a in allowed)]
    if refused:
        what = "; ".join(f"{k} {changed[k][0]!r} -> {changed[k][1]!r}" for k in refused)
        raise ConfigError(
            f"the config differs from the one the checkpoint was trained with: {what}. Restore "
            f"it, or resume with --allow-changed {' '.join(refused)} (Python: "
            "fit(resume=True, allow_changed=...)) if you mean the change"
        )
    return changed


def checkpoint_threads(run: RunDir) -> int | None:
    """The CPU thread count ``run``'s last checkpoint was trained with (None: none recorded, or
    no readable checkpoint); read without loading the weights (memory-mapped)."""
    try:
        state = torch.load(run.checkpoint, mmap=True, weights_only=True, map_location="cpu")
    except Exception:  # a damaged file is reported where the checkpoint is loaded
        return None
    threads = state.get("threads") if isinstance(state, dict) else None
    return threads if isinstance(threads, int) else None
