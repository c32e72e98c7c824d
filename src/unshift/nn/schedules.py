"""Schedules: pure functions of training progress ``p ∈ [0, 1]`` (step / total steps).

Plain functions give the DANN paper's formulas; schedule objects wrap them so that a config
file can state them (``{"name": "dann_lambda", "gamma": 10}``), they print readably and they
are callables ``p -> float``.

- DANN coefficient (Ganin et al. 2016, eq. 14 and §5.2.2):
  ``λ_p = lo + (hi - lo) · (2 / (1 + exp(-γ p)) - 1)``
- DANN learning-rate annealing: ``μ_p = μ_0 / (1 + α p)^β``
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar


def _check_progress(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"progress p must lie in [0, 1]; got {p}")
    return p


def dann_lambda(p: float, gamma: float = 10.0, lo: float = 0.0, hi: float = 1.0) -> float:
    """DANN adaptation coefficient at progress ``p``: rises from ``lo`` at p=0 towards ``hi``.

    ``λ_p = lo + (hi - lo) · (2 / (1 + exp(-γ p)) - 1)``; with the defaults λ_0 = 0 and
    λ_1 = 2 / (1 + e^-10) - 1 ≈ 0.99991.
    """
    p = _check_progress(p)
    return lo + (hi - lo) * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


def dann_lr(p: float, lr0: float = 0.01, alpha: float = 10.0, beta: float = 0.75) -> float:
    """DANN learning-rate annealing at progress ``p``: ``lr0 / (1 + alpha · p) ** beta``."""
    p = _check_progress(p)
    return lr0 / (1.0 + alpha * p) ** beta


class Schedule:
    """Base of schedule objects: a callable ``p -> float`` that a config can name.

    Subclasses are frozen dataclasses with a ``name`` class attribute; their fields are the
    keys a config may give.
    """

    name: ClassVar[str]
    registry: ClassVar[dict[str, type[Schedule]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Schedule.registry[cls.name] = cls

    def __call__(self, p: float) -> float:
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """The config dict that :func:`schedule_from_config` turns back into this schedule."""
        return {"name": self.name, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@dataclasses.dataclass(frozen=True)
class DannLambda(Schedule):
    """The DANN coefficient schedule, see :func:`dann_lambda`."""

    name: ClassVar[str] = "dann_lambda"
    gamma: float = 10.0
    lo: float = 0.0
    hi: float = 1.0

    def __call__(self, p: float) -> float:
        return dann_lambda(p, self.gamma, self.lo, self.hi)


@dataclasses.dataclass(frozen=True)
class DannLR(Schedule):
    """The DANN learning-rate annealing, see :func:`dann_lr`."""

    name: ClassVar[str] = "dann_lr"
    lr0: float = 0.01
    alpha: float = 10.0
    beta: float = 0.75

    def __call__(self, p: float) -> float:
        return dann_lr(p, self.lr0, self.alpha, self.beta)


@dataclasses.dataclass(frozen=True)
class Constant(Schedule):
    """The same ``value`` at every ``p``."""

    name: ClassVar[str] = "constant"
    value: float = 1.0

    def __call__(self, p: float) -> float:
        _check_progress(p)
        return self.value


@dataclasses.dataclass(frozen=True)
class LinearWarmup(Schedule):
    """Linear from ``lo`` at p=0 to ``hi`` at p=``warmup``, then ``hi``.

    ``warmup`` is a fraction of training in ``(0, 1]``.
    """

    name: ClassVar[str] = "linear_warmup"
    hi: float = 1.0
    warmup: float = 0.1
    lo: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.warmup <= 1.0:
            raise ValueError(f"LinearWarmup.warmup must lie in (0, 1]; got {self.warmup}")

    def __call__(self, p: float) -> float:
        p = _check_progress(p)
        return self.lo + (self.hi - self.lo) * min(p / self.warmup, 1.0)


def schedule_from_config(config: Schedule | Mapping[str, Any] | float) -> Schedule:
    """Build a schedule from a config value.

    Accepts a schedule object (returned as is), a number (a :class:`Constant`), or a mapping
    ``{"name": <name>, **parameters}`` where ``<name>`` is one of
    ``dann_lambda``, ``dann_lr``, ``constant``, ``linear_warmup``.
    """
    if isinstance(config, Schedule):
        return config
    if isinstance(config, (int, float)) and not isinstance(config, bool):
        return Constant(float(config))
    if not isinstance(config, Mapping):
        raise ValueError(f"a schedule is a number or a mapping with a 'name'; got {config!r}")
    params = dict(config)
    name = params.pop("name", None)
    known = sorted(Schedule.registry)
    if name not in Schedule.registry:
        raise ValueError(f"unknown schedule name {name!r}; expected one of {known}")
    cls = Schedule.registry[name]
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown} for schedule {name!r}; "
            f"expected some of {sorted(fields)}"
        )
    try:
        values = {k: float(v) for k, v in params.items()}
    except (TypeError, ValueError) as err:
        raise ValueError(f"schedule {name!r} parameters must be numbers; got {params}") from err
    return cls(**values)


__all__ = [
    "Constant",
    "DannLR",
    "DannLambda",
    "LinearWarmup",
    "Schedule",
    "dann_lambda",
    "dann_lr",
    "schedule_from_config",
]
