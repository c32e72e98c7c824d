"""What the loop is told: the optimiser and the trainer settings, as typed specs.

These dataclasses *are* the ``optim`` and ``trainer`` sections of a run config and what
:class:`unshift.Trainer` takes, so that a knob is defined once and every caller (config files,
the Python API, the scikit-learn estimators) can set it. Each checks its own values when built
(:class:`~unshift.core.registry.FieldError` naming the field). No torch is imported until an
optimiser is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from unshift.core.registry import require
from unshift.nn.schedules import Constant, DannLR, Schedule

if TYPE_CHECKING:
    import torch

OPTIMIZERS = ("sgd", "adam")
LR_SCHEDULES = ("dann", "constant")


@dataclass
class OptimizerSpec:
    """How to build each of a method's optimisers (config section ``optim``).

    ``name`` ``sgd`` or ``adam``; ``lr`` is the base learning rate; ``lr_schedule`` scales it
    with progress ``p``: ``"dann"`` gives ``lr / (1 + lr_alpha p)^lr_beta`` (the DANN paper's
    annealing), ``"constant"`` keeps ``lr``. ``betas`` apply to Adam, ``momentum`` to SGD.
    ``lr_scale`` multiplies the learning rate of the named optimisers (keys of
    :meth:`Method.param_groups`, e.g. ``{"target": 0.1}`` for ADDA's target encoder; ``main``
    for a method with one) and of the named parts of the networks (:meth:`Method.lr_parts`,
    e.g. ``{"backbone": 0.1}`` to fine-tune a pretrained backbone); the others get ``lr``.
    """

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    lr_schedule: str = "dann"
    lr_alpha: float = 10.0
    lr_beta: float = 0.75
    lr_scale: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(
            self.name in OPTIMIZERS, "name", f"must be one of {list(OPTIMIZERS)}; got {self.name!r}"
        )
        require(0 < self.lr < math.inf, "lr", f"must be a finite number > 0; got {self.lr}")
        for key in ("momentum", "weight_decay", "lr_alpha", "lr_beta"):
            value = getattr(self, key)
            require(0 <= value < math.inf, key, f"must be a finite number >= 0; got {value}")
        require(len(self.betas) == 2, "betas", f"needs two numbers; got {list(self.betas)}")
        require(
            all(0 <= b < 1 for b in self.betas), "betas", f"must lie in [0, 1); got {self.betas}"
        )
        require(
            all(0 < v < math.inf for v in self.lr_scale.values()),
            "lr_scale",
            f"values must be finite and > 0; got {self.lr_scale}",
        )
        require(
            self.lr_schedule in LR_SCHEDULES,
            "lr_schedule",
            f"must be one of {list(LR_SCHEDULES)}; got {self.lr_schedule!r}",
        )

    def build(self, params: list[torch.nn.Parameter] | list[dict]) -> torch.optim.Optimizer:
        """The optimiser over ``params`` (or parameter groups) at the base learning rate."""
        import torch

        if self.name == "sgd":
            return torch.optim.SGD(
                params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
            )
        betas = (float(self.betas[0]), float(self.betas[1]))
        return torch.optim.Adam(params, lr=self.lr, betas=betas, weight_decay=self.weight_decay)

    def schedule(self) -> Schedule:
        """The learning rate as a function of progress ``p``."""
        if self.lr_schedule == "dann":
            return DannLR(lr0=self.lr, alpha=self.lr_alpha, beta=self.lr_beta)
        return Constant(self.lr)


@dataclass
class TrainerSpec:
    """The loop's settings (config section ``trainer``).

        ``steps``: training steps (progress ``p = step / steps``). ``batch_size``: samples per
        domain per batch. ``log_every``, ``eval_every``, ``checkpoint_every``: periods in steps of
        metric records, test-set evaluations and checkpoints (0: never; the final step is always
        evaluated and checkpointed). ``accelerator``, ``devices``, ``precision``, ``strategy``,
        ``num_nodes`` go to :class:`lightning_fabric.Fabric` (``accelerator: auto`` takes a GPU when
    there is one; ``cpu`` pins the CPU). ``progress_bar``: ``None`` shows a
        bar only on a terminal. ``pinned_warning_steps``: warn when the discriminator's accuracy
        has stayed at 1.0 for this many steps, or at exactly 0.5 from step 0.
        ``channels_last``: hold 4-D weights and image batches in channels-last memory order (the
        same results up to rounding, about 1.5× faster on CPU for the DANN paper's digit network;
        ignored for non-image data). ``compile``: compile the method's training step with
    :func:`torch.compile` (in place: checkpoints and snapshots keep their keys; the first steps
    pay for compiling). ``loggers``: also send the metric records to ``tensorboard``,
    ``mlflow`` and/or ``csv`` (:mod:`unshift.training.tracking`). ``threads``: CPU threads for
    torch while training (``None``: the CPUs this process may use less those other processes
    keep busy at the start, at most torch's own count,
    :func:`unshift.training.threads.auto_threads`; a resumed run keeps its first count).
    Results on CPU are bit-identical for the same seed and thread count.
    """

    steps: int = 1000
    batch_size: int = 64
    log_every: int = 10
    eval_every: int = 0
    checkpoint_every: int = 100
    snapshot_every: int = 0
    accelerator: str = "auto"
    devices: int = 1
    precision: str = "32-true"
    strategy: str = "auto"
    num_nodes: int = 1
    progress_bar: bool | None = None
    pinned_warning_steps: int = 200
    channels_last: bool = False
    compile: bool = False
    loggers: list[str] = field(default_factory=list)
    threads: int | None = None

    def __post_init__(self) -> None:
        known = ("csv", "mlflow", "tensorboard")  # unshift.training.tracking.LOGGERS
        unknown = [name for name in self.loggers if name not in known]
        require(not unknown, "loggers", f"unknown {unknown}; known: {list(known)}")
        for key in ("steps", "batch_size", "devices", "num_nodes", "pinned_warning_steps"):
            value = getattr(self, key)
            require(value >= 1, key, f"must be >= 1; got {value}")
        for key in ("log_every", "eval_every", "checkpoint_every", "snapshot_every"):
            value = getattr(self, key)
            require(value >= 0, key, f"must be >= 0 (0: never); got {value}")
        if self.threads is not None:
            require(
                self.threads >= 1, "threads", f"must be >= 1 (or null: auto); got {self.threads}"
            )


def check_lr_scale(lr_scale: dict[str, float], names: list[str], owner: str) -> None:
    """Raise ``ValueError`` if ``lr_scale`` names an optimiser not in ``names`` (the keys of
    ``owner``'s :meth:`Method.param_groups`)."""
    unknown = sorted(set(lr_scale) - set(names))
    if unknown:
        raise ValueError(
            f"lr_scale names optimisers {unknown} that {owner} does not have; it has {names}"
        )


def split_parts(
    params: list[torch.nn.Parameter], parts: dict[str, list[torch.nn.Parameter]]
) -> list[dict[str, Any]]:
    """An optimiser's parameter groups: one per learning-rate part (``part``: its name, or
    ``""`` for the parameters of no part), in the order of ``params``."""
    part_of = {id(p): name for name, ps in parts.items() for p in ps}
    groups: dict[str, list[torch.nn.Parameter]] = {}
    for p in params:
        groups.setdefault(part_of.get(id(p), ""), []).append(p)
    return [{"params": ps, "part": name} for name, ps in groups.items()]
