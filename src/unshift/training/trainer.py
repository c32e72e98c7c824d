"""The one training loop, on Lightning Fabric, for every method.

Fabric owns devices, precision and distribution (``accelerator``, ``devices``, ``precision``,
``strategy``, ``num_nodes`` pass straight through); the loop here owns the rest: seeded paired
batches, the λ and learning-rate schedules, metrics, atomic checkpoints, the NaN guard and
resuming to the same result.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from unshift.core.files import TRAINED, RunDir, write_json
from unshift.core.log_keys import CONFIG_CHANGED, DOMAIN_ACC, LR, SECONDS, SKIPPED, STEP
from unshift.data.domains import TaskData
from unshift.data.sampling import PairedBatches
from unshift.eval.metrics import evaluate
from unshift.methods.base import Method
from unshift.training import checkpoints
from unshift.training.devices import make_fabric
from unshift.training.specs import OptimizerSpec, TrainerSpec, check_lr_scale, split_parts
from unshift.training.threads import auto_threads, torch_threads
from unshift.training.tracking import Tracker, build_loggers
from unshift.training.watchdog import DiscriminatorWatch, diverged


class Trainer:
    """Runs any :class:`~unshift.methods.Method` on a :class:`~unshift.data.TaskData`.

    Parameters
    ----------
    max_steps : int, optional
        Training steps (the spec's ``steps``); progress is ``p = step / max_steps``.
    optimizer : OptimizerSpec, optional
        Optimiser and learning-rate schedule, one optimiser per parameter group of the method.
    seed : int
        Seeds dropout (and any other random op in a training step) and the batch order; the
        same seed gives the same result on CPU, also across a resume. Training draws from its
        own fork of torch's random state, so the caller's global state is left as it was. The
        weights are initialised where the method is built
        (:func:`unshift.training.build.build_method` seeds them from the run's seed).
    run_dir : path, optional
        Where metrics, checkpoints and ``final.json`` go; nothing is written without it.
    spec : TrainerSpec, optional
        The loop's settings; defaults for the fields not given as keywords.
    **settings
        Any field of :class:`~unshift.training.specs.TrainerSpec` (``batch_size``,
        ``log_every``, ``accelerator``, ``threads``, ...), overriding ``spec``.
    """

    def __init__(
        self,
        max_steps: int | None = None,
        optimizer: OptimizerSpec | None = None,
        seed: int = 0,
        run_dir: str | Path | None = None,
        spec: TrainerSpec | None = None,
        hparams: dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        if max_steps is not None:
            settings["steps"] = max_steps
        unknown = sorted(set(settings) - {f.name for f in dataclasses.fields(TrainerSpec)})
        if unknown:
            raise TypeError(
                f"Trainer got unknown settings {unknown}; see unshift.training.specs.TrainerSpec"
            )
        self.spec = dataclasses.replace(spec or TrainerSpec(), **settings)
        self.optimizer = optimizer or OptimizerSpec()
        self.lr_schedule = self.optimizer.schedule()
        self.seed = seed
        self.run = RunDir(run_dir) if run_dir is not None else None
        self.hparams = hparams or {"trainer": dataclasses.asdict(self.spec)}
        self.memory_format = (
            torch.channels_last if self.spec.channels_last else torch.contiguous_format
        )
        self.fabric = make_fabric(self.spec)
        self._launched = False
        self._stream: PairedBatches | None = None

    @property
    def max_steps(self) -> int:
        """Training steps (``spec.steps``)."""
        return self.spec.steps

    @property
    def batch_size(self) -> int:
        """Samples per domain per batch (``spec.batch_size``)."""
        return self.spec.batch_size

    # ------------------------------------------------------------------ helpers
    def _launch(self) -> None:
        if not self._launched:
            self.fabric.launch()
            self._launched = True

    @property
    def is_writer(self) -> bool:
        """Only global rank 0 writes the run directory."""
        return self.run is not None and self.fabric.is_global_zero

    def evaluate(self, method: Method, data: TaskData) -> dict[str, Any]:
        """:func:`unshift.eval.metrics.evaluate` on this trainer's device and precision."""
        with self.fabric.autocast():
            return evaluate(method, data, self.fabric.device)

    # ------------------------------------------------------------------ the loop
    def fit(
        self,
        method: Method,
        data: TaskData,
        resume: bool = False,
        allow_changed: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Train ``method`` on ``data``; return (and write) the final metrics.

        With ``resume=True`` the run continues from ``run_dir``'s last checkpoint and ends with
        the same metrics as an uninterrupted run (CPU, same seed); a config (``hparams``) that
        differs from the checkpoint's is refused unless its changed keys are ``allow_changed``
        (then recorded in ``metrics.jsonl`` as ``config_changed``). Without it, a ``run_dir``
        that already holds metrics, a checkpoint or ``final.json`` is refused
        (:class:`~unshift.core.errors.RunDirError`); the directory is locked while training.
        """
        self._launch()
        if self.is_writer:
            assert self.run is not None
            with self.run.locked():
                return self._fit_seeded(method, data, resume, allow_changed)
        return self._fit_seeded(method, data, resume, allow_changed)

    def threads(self, resume: bool = False) -> int:
        """CPU threads: ``spec.threads``, else the checkpoint's (``resume``), else auto."""
        kept = resume and self.run is not None and checkpoints.checkpoint_threads(self.run)
        return self.spec.threads or kept or auto_threads()

    def _fit_seeded(
        self, method: Method, data: TaskData, resume: bool, allow_changed: tuple[str, ...]
    ) -> dict[str, Any]:
        device = self.fabric.device
        accelerated = [device] if device.type != "cpu" else []
        forked = torch.random.fork_rng(devices=accelerated, device_type=device.type)
        with torch_threads(self.threads(resume)), forked:
            torch.manual_seed(self.seed)
            try:
                return self._fit(method, data, resume, allow_changed)
            finally:  # reader processes of streamed domains end with the fit, however it ends
                if self._stream is not None:
                    self._stream.close()
                self._stream = None

    def _fit(
        self, method: Method, data: TaskData, resume: bool, allow_changed: tuple[str, ...]
    ) -> dict[str, Any]:
        method.check_fits(data)
        if self.run is None and (resume or self.spec.loggers):
            raise ValueError("resume=True and loggers need a run_dir")
        if self.run is not None and resume:
            self.run.require(checkpoint=True, config=False)
        elif self.is_writer:
            assert self.run is not None
            self.run.refuse_existing(TRAINED, "fit(resume=True)", "a new run_dir")
        fabric = self.fabric
        writer = self.run if self.is_writer else None
        tracker = Tracker(writer, build_loggers(self.spec.loggers, writer), self.hparams)
        if self.memory_format is torch.channels_last:
            method.to(memory_format=torch.channels_last)
        groups = method.param_groups()
        names = list(groups)
        parts = method.lr_parts()
        check_lr_scale(self.optimizer.lr_scale, [*names, *parts], type(method).__name__)
        optimizers = [self.optimizer.build(split_parts(groups[n], parts)) for n in names]
        if self.spec.compile:
            method.compile()
        model, *optimizers = fabric.setup(method, *optimizers)
        opt = dict(zip(names, optimizers, strict=True))
        saved_objects = {"model": model, **{f"opt_{n}": o for n, o in opt.items()}}
        sources = [d.to(fabric.device) for d in data.sources]
        targets = [d.to(fabric.device) for d in data.targets]
        rank, world, device = fabric.global_rank, fabric.world_size, fabric.device
        stream = PairedBatches(
            sources, targets, self.batch_size, self.seed, rank, self.memory_format, world, device
        )
        self._stream = stream

        step, elapsed = 0, 0.0
        if resume:
            assert self.run is not None
            rest = checkpoints.load_checkpoint(self.fabric, self.run, saved_objects)
            changed = checkpoints.config_changes(rest.get("config"), self.hparams, allow_changed)
            step, stream.drawn, elapsed = rest["step"], rest["drawn"], rest["elapsed"]
            torch.set_rng_state(rest["rng"])
            if self.is_writer:
                self.run.truncate_metrics(step)
                if changed:
                    tracker.record({STEP: step, CONFIG_CHANGED: changed})
        elif self.is_writer:
            assert self.run is not None
            self.run.create(data.shape_info(), self.hparams)

        def checkpoint_state() -> dict[str, Any]:
            return {
                **saved_objects,
                "step": step,
                "drawn": stream.drawn,
                "elapsed": elapsed + time.perf_counter() - start,
                "rng": torch.get_rng_state(),
                "config": self.hparams,
                "threads": torch.get_num_threads(),
            }

        start = time.perf_counter()
        auto_or_off = None if self.spec.progress_bar is None else not self.spec.progress_bar
        bar = tqdm(
            total=self.max_steps,
            initial=step,
            disable=(not fabric.is_global_zero) or auto_or_off,  # None: only on a terminal
            dynamic_ncols=True,
        )
        watch = DiscriminatorWatch(self.spec.pinned_warning_steps)
        model.train()
        while step < self.max_steps:
            p = step / self.max_steps
            method.set_progress(p)
            lr = self.lr_schedule(p)
            logs: dict[str, Tensor | float] = {}
            batch = None
            for phase in method.phases(step):
                stepped = [opt[name] for name in phase.optimizers]
                for name, optimizer in zip(phase.optimizers, stepped, strict=True):
                    for group in optimizer.param_groups:
                        scale = self.optimizer.lr_scale.get(name, 1.0)
                        group["lr"] = (
                            lr * scale * self.optimizer.lr_scale.get(group.get("part", ""), 1.0)
                        )
                    optimizer.zero_grad(set_to_none=True)
                if phase.new_batch or batch is None:
                    batch = stream.next()
                loss, phase_logs = model(*batch, phase.name)
                if not bool(torch.isfinite(loss.detach())):
                    bar.close()
                    kept = self.run.checkpoint if self.run is not None else None
                    raise diverged(loss.item(), step, phase.name, kept)
                fabric.backward(loss)
                for optimizer in stepped:
                    optimizer.step()
                logs.update(phase_logs)
            step += 1
            bar.update(1)

            if self.spec.log_every and (step % self.spec.log_every == 0 or step == self.max_steps):
                record = {STEP: step, LR: lr}
                record.update({k: float(v) for k, v in logs.items() if v is not None})
                if skipped := stream.skipped():
                    record[SKIPPED] = skipped
                record[SECONDS] = elapsed + time.perf_counter() - start
                bar.set_postfix(
                    {k: f"{v:.3g}" for k, v in record.items() if k not in (STEP, SECONDS)},
                    refresh=False,
                )
                if DOMAIN_ACC in record:
                    watch.observe(step, record[DOMAIN_ACC])
                tracker.record(record)

            if self.spec.eval_every and step % self.spec.eval_every == 0 and step != self.max_steps:
                scores = self.evaluate(method, data)
                tracker.record({STEP: step, **accuracies(scores)})
            every = self.spec.snapshot_every
            if self.is_writer and every and (step % every == 0 or step == self.max_steps):
                self.run.write_snapshot(step, method.state_dict())  # type: ignore[union-attr]
            if self.run is not None and (
                step == self.max_steps
                or (self.spec.checkpoint_every and step % self.spec.checkpoint_every == 0)
            ):
                checkpoints.save_checkpoint(self.fabric, self.run, checkpoint_state())
        bar.close()

        wall = elapsed + time.perf_counter() - start
        final = {**self.evaluate(method, data), "steps": step, "wall_s": wall, "seed": self.seed}
        final.update(threads=torch.get_num_threads())
        if self.is_writer:
            assert self.run is not None
            tracker.record({STEP: step, **accuracies(final)})
            tracker.finalize()
            write_json(self.run.final, final)
        return final


def accuracies(scores: dict[str, Any]) -> dict[str, Any]:
    """The accuracies among evaluation ``scores`` (keys ending in ``_acc``)."""
    return {k: v for k, v in scores.items() if k.endswith("_acc")}


__all__ = ["DiscriminatorWatch", "OptimizerSpec", "Trainer", "TrainerSpec", "check_lr_scale"]
