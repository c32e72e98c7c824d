"""From a config to the objects that run it: data, method, trainer; and back from a run dir.

Nothing here names a method, a network or a dataset: each section's ``name`` picks a registry
entry, which builds itself from its own config dataclass.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import warnings
from pathlib import Path

import torch

from unshift.core.errors import ConfigError, DataError, RunDirError
from unshift.core.files import RunDir
from unshift.core.registry import DATASETS, METHODS, MODELS, FieldError
from unshift.data.domains import TaskData, channel_stats, hold_out
from unshift.methods import Method
from unshift.training.config import RunConfig, load_config, to_dict
from unshift.training.specs import check_lr_scale
from unshift.training.trainer import Trainer


def build_data(cfg: RunConfig, test_only: bool = False) -> TaskData:
    """The task the config names, with sources swapped for labelled target data for a method
    that trains on the target (``target_only``).

    ``test_only=True`` asks a dataset that can (its builder takes ``test_only``) to skip its
    training splits: the test sets then stand in for them (for evaluating a trained model).
    """
    build = DATASETS.get(cfg.data.name).target
    if test_only and "test_only" in inspect.signature(build).parameters:
        data = build(cfg.data, cfg.seed, test_only=True)
    else:
        data = build(cfg.data, cfg.seed)
        fraction = getattr(cfg.data, "source_val_fraction", 0.0)
        if fraction > 0:
            data = hold_out(data, fraction, cfg.data.source_val_seed)
    if METHODS.get(cfg.method.name).target.trains_on_target:
        if any(t.y is None for t in data.targets):
            raise DataError(f"method {cfg.method.name} needs labelled target training data")
        data = dataclasses.replace(data, sources=list(data.targets))
    return data


def build_method(cfg: RunConfig, data: TaskData) -> Method:
    """The method and its networks, sized from the data, initialised from ``cfg.seed`` (on a
    fork of torch's random state: the caller's is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        networks = MODELS.get(cfg.model.name).target(cfg.model, data)
        if data.channel_norm:
            if len(data.input_shape) != 3:
                raise ConfigError(
                    f"data.image_norm=per_channel needs images; got {data.input_shape}"
                )
            networks = networks.with_input_norm(*channel_stats(data))
        try:
            method = METHODS.get(cfg.method.name).target.from_config(cfg.method, networks, data)
        except FieldError as err:
            raise ConfigError(
                f"bad value for config key 'method.{err.key}': {err.message}"
            ) from None
    try:
        names = [*method.param_groups(), *method.lr_parts()]
        check_lr_scale(cfg.optim.lr_scale, names, cfg.method.name)
    except ValueError as err:
        raise ConfigError(f"bad value for config key 'optim.lr_scale': {err}") from None
    return method


def build_trainer(cfg: RunConfig, run_dir: str | Path | None) -> Trainer:
    """The trainer of ``cfg`` (its ``optim`` and ``trainer`` specs, its seed), writing to
    ``run_dir`` if given."""
    return Trainer(
        optimizer=cfg.optim, seed=cfg.seed, run_dir=run_dir, spec=cfg.trainer, hparams=to_dict(cfg)
    )


def load_run(
    run_dir: str | Path, step: int | None = None, train_data: bool = False
) -> tuple[RunConfig, TaskData, Method]:
    """The config, data and trained method of a finished (or checkpointed) run, on CPU.

    ``step``: the weights of that snapshot (``trainer.snapshot_every``) instead of the last
    checkpoint. The networks are sized from the run's ``task.json``; the training data are read
    only with ``train_data=True`` or where the dataset cannot load its test splits alone (see
    :func:`build_data`).
    """
    run = RunDir(run_dir).require(checkpoint=step is None)
    cfg = load_config(run.config)
    if run.task.exists():
        data = build_data(cfg, test_only=not train_data)
        method = build_method(cfg, TaskData.placeholder(json.loads(run.task.read_text())))
    else:  # a run directory written before task.json existed
        data = build_data(cfg)
        method = build_method(cfg, data)
    load_weights(run, method, step)
    return cfg, data, method


def load_weights(run: RunDir, method: Method, step: int | None = None) -> None:
    """Load ``run``'s last checkpoint (or the snapshot of ``step``) into ``method``, in eval
    mode."""
    path = run.checkpoint if step is None else run.snapshot(step)
    if step is not None and not path.exists():
        steps = run.snapshot_steps()
        raise RunDirError(
            f"{run.path} has no snapshot of step {step}; it has "
            + (f"steps {steps}" if steps else "none (set trainer.snapshot_every)")
        )
    try:
        with warnings.catch_warnings():  # a damaged file's "pickle protocol" warning
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # the unpickler of a damaged file can raise almost anything
        if step is None:
            raise run.damaged_checkpoint() from None
        raise RunDirError(f"{path} is damaged (truncated or not a snapshot)") from None
    try:
        method.load_state_dict(state if step is not None else state["model"])
    except (RuntimeError, KeyError, TypeError) as err:
        first = str(err).splitlines()[0]
        raise RunDirError(f"{path} does not fit this run's networks ({first})") from None
    method.eval()
