"""CDAN: conditional domain-adversarial networks (Long et al. 2018), with CDAN+E's entropy
conditioning.

As DANN, but the domain discriminator sees the features conditioned on the classifier's
predictions, ``T(f, g)`` (the multilinear map ``f ⊗ g``, or its randomized form when ``F × C``
is large), through the gradient reversal layer; see
:class:`~unshift.nn.ConditionalAdversarialLoss`. One minimisation of ``L_y + L_d`` per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from unshift.core.log_keys import COEFF, DOMAIN_ACC, DOMAIN_LOSS, LABEL_LOSS
from unshift.core.registry import METHODS, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.methods.base import (
    DiscriminatorConfig,
    Logs,
    Method,
    Sources,
    StepResult,
    Targets,
    cat,
    check_schedule,
    check_target_entropy,
    require_single_pair,
    with_class_confusion,
    with_target_entropy,
)
from unshift.models.networks import Networks
from unshift.nn import ConditionalAdversarialLoss
from unshift.nn.conditional import map_width
from unshift.nn.heads import label_loss
from unshift.nn.schedules import DannLambda, schedule_from_config


@METHODS.register("cdan")
class CDAN(Method):
    """Conditional domain-adversarial training (one source, one target, one label output).

    Parameters
    ----------
    feature_extractor, label_head : nn.Module
        ``G_f`` (inputs ``(B, *)`` → features ``(B, F)``) and ``G_y`` (features → logits
        ``(B, C)``).
    feature_dim, num_classes : int
        ``F`` and ``C``.
    discriminator : nn.Module, optional
        ``(B, D)`` → one logit, ``D`` the map's width (``F·C`` or ``randomized_dim``).
    schedule : float or callable
        λ as a constant or a schedule ``p -> λ`` (default :class:`DannLambda`).
    randomized : bool or None
        The randomized multilinear map; ``None``: when ``F·C > 4096``.
    randomized_dim : int
        Its width ``d``.
    entropy_conditioning : bool
        CDAN+E: weigh each sample's domain loss by ``1 + exp(−H(g))``.
    separate_passes : bool
        Run ``G_f`` on source and target batches separately (BatchNorm statistics per domain).
    target_entropy : float
        Weight of the mean prediction entropy on the target batch (nats), added to the loss of
        ``G_f`` and ``G_y`` as in DANN's option; ``0`` (default) is the paper's CDAN.
    mcc : float
        Weight of MCC's class confusion of the target predictions (CDAN+MCC, as the MCC paper
        combines them); ``0`` (default): none.
    """

    @dataclass
    class Config(SectionConfig):
        """``method: {name: cdan}``: the λ ``schedule``, ``randomized`` (true/false, or null:
        when features × classes > 4096), ``randomized_dim``, ``entropy_conditioning``
        (CDAN+E), ``separate_passes``, ``target_entropy`` (weight of the target prediction
        entropy) and the discriminator."""

        schedule: dict[str, Any] = field(
            default_factory=lambda: {"name": "dann_lambda", "gamma": 10.0, "lo": 0.0, "hi": 1.0}
        )
        randomized: bool | None = None
        randomized_dim: int = 1024
        entropy_conditioning: bool = True
        separate_passes: bool = False
        target_entropy: float = 0.0
        mcc: float = 0.0
        discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

        def __post_init__(self) -> None:
            require(
                self.randomized_dim >= 1,
                "randomized_dim",
                f"must be >= 1; got {self.randomized_dim}",
            )
            check_schedule(self.schedule)
            check_target_entropy(self.target_entropy)
            require(self.mcc >= 0, "mcc", f"must be a weight >= 0; got {self.mcc}")

    def __init__(
        self,
        feature_extractor: nn.Module,
        label_head: nn.Module,
        feature_dim: int,
        num_classes: int,
        discriminator: nn.Module | None = None,
        schedule: float | Callable[[float], float] = DannLambda(),
        randomized: bool | None = None,
        randomized_dim: int = 1024,
        entropy_conditioning: bool = True,
        separate_passes: bool = False,
        target_entropy: float = 0.0,
        mcc: float = 0.0,
    ) -> None:
        super().__init__(feature_extractor, label_head)
        check_target_entropy(target_entropy)
        if mcc < 0:
            raise ValueError(f"mcc must be a weight >= 0; got {mcc}")
        self.mcc = mcc
        self.adversarial = ConditionalAdversarialLoss(
            feature_dim,
            num_classes,
            discriminator,
            schedule,
            randomized=randomized,
            randomized_dim=randomized_dim,
            entropy_conditioning=entropy_conditioning,
        )
        self.separate_passes = separate_passes
        self.target_entropy = target_entropy

    @classmethod
    def from_config(cls, cfg: CDAN.Config, networks: Networks, data: TaskData) -> CDAN:
        num_classes = require_single_pair("cdan", data)
        randomized, width = map_width(
            networks.feature_dim, num_classes, cfg.randomized, cfg.randomized_dim
        )
        return cls(
            networks.features,
            networks.head,
            feature_dim=networks.feature_dim,
            num_classes=num_classes,
            discriminator=cfg.discriminator.build(width),
            schedule=schedule_from_config(cfg.schedule),
            randomized=randomized,
            randomized_dim=cfg.randomized_dim,
            entropy_conditioning=cfg.entropy_conditioning,
            separate_passes=cfg.separate_passes,
            target_entropy=cfg.target_entropy,
            mcc=cfg.mcc,
        )

    def set_progress(self, p: float) -> None:
        self.adversarial.progress = p

    def _features(self, sources: Sources, targets: Targets) -> tuple[Tensor, Tensor]:
        if len(sources) != 1 or len(targets) != 1:
            raise ValueError(
                f"CDAN adapts one source to one target; got {len(sources)} source and "
                f"{len(targets)} target batches"
            )
        x_src, x_tgt = sources[0][0], targets[0]
        if self.separate_passes:
            return self.features(x_src), self.features(x_tgt)
        f_src, f_tgt = self.features(cat([x_src, x_tgt])).split([len(x_src), len(x_tgt)])
        return f_src, f_tgt

    def joint_step(self, sources: Sources, targets: Targets) -> StepResult:
        """``L_y + L_d``, the domain term on ``T(f, g)`` through the GRL (``+ w·H`` with a
        target entropy weight ``w``)."""
        f_src, f_tgt = self._features(sources, targets)
        logits_src, logits_tgt = self.label_head(f_src), self.label_head(f_tgt)
        label = label_loss(logits_src, sources[0][1])
        dom = self.adversarial(f_src, logits_src, f_tgt, logits_tgt)
        logs: Logs = {
            LABEL_LOSS: label.detach(),
            DOMAIN_LOSS: dom.detach(),
            COEFF: self.adversarial.grl.coeff_tensor(),
            DOMAIN_ACC: self.adversarial.last_accuracy,
        }
        loss = with_target_entropy(label + dom, logs, self.target_entropy, logits_tgt)
        return with_class_confusion(loss, logs, self.mcc, logits_tgt), logs
