"""MDD: margin disparity discrepancy (Zhang et al., ICML 2019), as TLlib trains it.

Beside the label head ``f`` sits an adversarial head ``f'`` of the same architecture (freshly
initialised) behind a gradient reversal layer. ``f'`` learns to agree with ``f``'s predicted
classes on the source and to disagree on the target (:func:`~unshift.nn.losses.
margin_disparity_loss`, margin ``γ``); through the GRL the features learn the opposite, so that
no head close to ``f`` can disagree on the target. Predictions come from ``f``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from unshift.core.log_keys import COEFF, DISPARITY, LABEL_LOSS
from unshift.core.registry import METHODS, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.methods.base import (
    Method,
    Sources,
    StepResult,
    Targets,
    cat,
    check_schedule,
    fresh_copy,
    require_single_pair,
)
from unshift.models.networks import Networks
from unshift.nn.grl import GradientReversal
from unshift.nn.losses import margin_disparity_loss
from unshift.nn.schedules import DannLambda, schedule_from_config


@METHODS.register("mdd")
class MDD(Method):
    """Source cross-entropy + ``weight`` × margin disparity of an adversarial head behind a GRL.

    Parameters
    ----------
    feature_extractor, label_head : nn.Module
        ``G_f`` (inputs ``(B, *)`` → features ``(B, F)``) and ``f`` (features → logits
        ``(B, C)``).
    adversarial_head : nn.Module, optional
        ``f'``; default a freshly initialised copy of ``label_head``.
    margin : float
        ``γ`` (TLlib's 4).
    weight : float
        The disparity's weight (TLlib's trade-off, 1).
    schedule : float or callable
        The GRL coefficient, a constant or ``p -> λ`` (default: DANN's schedule up to 0.1, as
        TLlib warms its GRL up to 0.1).
    """

    @dataclass
    class Config(SectionConfig):
        """``method: {name: mdd}``: the ``margin`` ``γ``, the disparity's ``weight`` and the
        GRL coefficient's ``schedule``."""

        margin: float = 4.0
        weight: float = 1.0
        schedule: dict[str, Any] = field(
            default_factory=lambda: {"name": "dann_lambda", "gamma": 10.0, "lo": 0.0, "hi": 0.1}
        )

        def __post_init__(self) -> None:
            require(self.margin > 0, "margin", f"must be > 0; got {self.margin}")
            require(self.weight >= 0, "weight", f"must be >= 0; got {self.weight}")
            check_schedule(self.schedule)

    curves = {"adversarial head (MDD)": (DISPARITY, COEFF)}  # noqa: RUF012

    def __init__(
        self,
        feature_extractor: nn.Module,
        label_head: nn.Module,
        adversarial_head: nn.Module | None = None,
        margin: float = 4.0,
        weight: float = 1.0,
        schedule: float | Callable[[float], float] = DannLambda(hi=0.1),
    ) -> None:
        super().__init__(feature_extractor, label_head)
        self.Config(margin=margin, weight=weight)
        self.adversarial_head = (
            fresh_copy(label_head) if adversarial_head is None else (adversarial_head)
        )
        self.grl = GradientReversal(schedule)
        self.margin = margin
        self.weight = weight

    @classmethod
    def from_config(cls, cfg: MDD.Config, networks: Networks, data: TaskData) -> MDD:
        require_single_pair("MDD", data)
        return cls(
            networks.features,
            networks.head,
            margin=cfg.margin,
            weight=cfg.weight,
            schedule=schedule_from_config(cfg.schedule),
        )

    def set_progress(self, p: float) -> None:
        self.grl.progress = p

    def joint_step(self, sources: Sources, targets: Targets) -> StepResult:
        """``L_y + weight · L_mdd`` on one concatenated pass of the source and target batches."""
        x_s = cat([x for x, _ in sources])
        features = self.features(cat([x_s, *targets]))
        logits = self.label_head(features)
        adversarial = self.adversarial_head(self.grl(features))
        n = len(x_s)
        label = self.label_loss(sources, features[:n])
        disparity = margin_disparity_loss(
            logits[:n], adversarial[:n], logits[n:], adversarial[n:], self.margin
        )
        logs = {
            LABEL_LOSS: label.detach(),
            DISPARITY: disparity.detach(),
            COEFF: self.grl.coeff_tensor(),
        }
        return label + self.weight * disparity, logs
