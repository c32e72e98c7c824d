"""DANN: domain-adversarial training of neural networks (Ganin & Lempitsky 2015; Ganin et al. 2016).

``G_f`` feeds the label head ``G_y`` and, through a gradient reversal layer, the domain
discriminator ``G_d``. One minimisation of ``L_y + L_d`` then trains ``G_d`` to tell domains
apart while ``G_f`` learns features that confuse it, weighted by λ (the GRL's coefficient).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from unshift.core.log_keys import COEFF, DOMAIN_ACC, DOMAIN_LOSS, LABEL_LOSS
from unshift.core.registry import METHODS, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.methods.base import (
    JOINT,
    DiscriminatorConfig,
    Logs,
    Method,
    Phase,
    Sources,
    StepResult,
    Targets,
    cat,
    check_mcc,
    check_schedule,
    check_target_entropy,
    with_class_confusion,
    with_target_entropy,
)
from unshift.models.networks import Networks
from unshift.nn import AdversarialLoss
from unshift.nn.schedules import DannLambda, schedule_from_config


@METHODS.register("dann")
class DANN(Method):
    """Domain-adversarial training.

    Parameters
    ----------
    feature_extractor, label_head : nn.Module
        ``G_f`` (inputs ``(B, *)`` → features ``(B, F)``) and ``G_y`` (features → logits).
    feature_dim : int
        ``F``, the width of the (flattened) features.
    discriminator : nn.Module, optional
        ``G_d``: features ``(B, F)`` → logits ``(B, 1)`` for two domains or ``(B, K)``; default
        :class:`~unshift.nn.DomainDiscriminator`.
    schedule : float or callable
        λ as a constant or a schedule ``p -> λ`` (default :class:`DannLambda`, the paper's).
    num_domains : int
        ``K``: all source and target domains together, each with its own id (sources first).
    separate_passes : bool
        Run ``G_f`` on source and target batches separately (BatchNorm statistics per domain)
        instead of one concatenated pass.
    k_d : int
        ``0``: one joint step per training step. ``k_d >= 1``: alternating, GAN-style updates,
        ``k_d`` steps of the discriminator alone, then one step of ``G_f`` and ``G_y`` against
        it (through the GRL); each step draws its own batches.
    target_entropy : float
        Weight of the mean prediction entropy on the target batches (nats), added to the loss
        of ``G_f`` and ``G_y``; ``0`` (default) is the paper's DANN.
    mcc : float
        Weight of MCC's class confusion of the target predictions (DANN+MCC, as the MCC paper
        combines them); ``0`` (default): none.
    """

    @dataclass
    class Config(SectionConfig):
        """``method: {name: dann}``: the λ ``schedule`` (a schedule config, see
        :func:`~unshift.nn.schedules.schedule_from_config`), ``separate_passes``, ``k_d`` (0: joint
        updates; ``k >= 1``: alternating), ``target_entropy`` (weight of the target prediction
        entropy) and the discriminator."""

        schedule: dict[str, Any] = field(
            default_factory=lambda: {"name": "dann_lambda", "gamma": 10.0, "lo": 0.0, "hi": 1.0}
        )
        separate_passes: bool = False
        k_d: int = 0
        target_entropy: float = 0.0
        mcc: float = 0.0
        discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

        def __post_init__(self) -> None:
            require(self.k_d >= 0, "k_d", f"must be >= 0; got {self.k_d}")
            require(self.mcc >= 0, "mcc", f"must be a weight >= 0; got {self.mcc}")
            check_target_entropy(self.target_entropy)
            check_schedule(self.schedule)

    def __init__(
        self,
        feature_extractor: nn.Module,
        label_head: nn.Module,
        feature_dim: int,
        discriminator: nn.Module | None = None,
        schedule: float | Callable[[float], float] = DannLambda(),
        num_domains: int = 2,
        separate_passes: bool = False,
        k_d: int = 0,
        target_entropy: float = 0.0,
        mcc: float = 0.0,
    ) -> None:
        super().__init__(feature_extractor, label_head)
        self.Config(
            separate_passes=separate_passes, k_d=k_d, target_entropy=target_entropy, mcc=mcc
        )
        self.mcc = mcc
        self.num_domains = num_domains
        self.adversarial = AdversarialLoss(feature_dim, num_domains, discriminator, schedule)
        self.separate_passes = separate_passes
        self.k_d = k_d
        self.target_entropy = target_entropy

    @classmethod
    def from_config(cls, cfg: DANN.Config, networks: Networks, data: TaskData) -> DANN:
        check_mcc(cfg.mcc, data)
        return cls(
            networks.features,
            networks.head,
            feature_dim=networks.feature_dim,
            discriminator=cfg.discriminator.build(networks.feature_dim, data.num_domains),
            schedule=schedule_from_config(cfg.schedule),
            num_domains=data.num_domains,
            separate_passes=cfg.separate_passes,
            k_d=cfg.k_d,
            target_entropy=cfg.target_entropy,
            mcc=cfg.mcc,
        )

    def set_progress(self, p: float) -> None:
        self.adversarial.progress = p

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        if self.k_d == 0:
            return super().param_groups()
        return {
            "discriminator": list(self.adversarial.discriminator.parameters()),
            "main": [*self.feature_extractor.parameters(), *self.label_head.parameters()],
        }

    def phases(self, step: int) -> list[Phase]:
        if self.k_d == 0:
            return [JOINT]
        return [Phase("discriminator", "discriminator")] * self.k_d + [Phase("generator", "main")]

    def _domain_features(self, sources: Sources, targets: Targets) -> list[Tensor]:
        """Features of every domain's batch, in domain-id order (sources, then targets)."""
        if len(sources) + len(targets) != self.num_domains:
            raise ValueError(
                f"DANN was built for {self.num_domains} domains; got {len(sources)} source and "
                f"{len(targets)} target batches"
            )
        inputs = [x for x, _ in sources] + list(targets)
        if self.separate_passes:
            return [self.features(x) for x in inputs]
        return list(self.features(torch.cat(inputs)).split([len(x) for x in inputs]))

    def _adversarial_args(self, per_domain: list[Tensor]) -> tuple[Tensor, Tensor]:
        """``AdversarialLoss`` arguments: ``(f_src, f_tgt)`` or ``(features, domain ids)``."""
        if self.num_domains == 2:
            return per_domain[0], per_domain[1]
        ids = [torch.full((len(f),), i, device=f.device) for i, f in enumerate(per_domain)]
        return torch.cat(per_domain), torch.cat(ids)

    def discriminator_step(self, sources: Sources, targets: Targets) -> StepResult:
        """The domain loss on detached features: a step of ``G_d`` alone."""
        with torch.no_grad():
            per_domain = self._domain_features(sources, targets)
        loss = self.adversarial.discriminator_loss(*self._adversarial_args(per_domain))
        return loss, {DOMAIN_LOSS: loss.detach(), DOMAIN_ACC: self.adversarial.last_accuracy}

    def joint_step(self, sources: Sources, targets: Targets) -> StepResult:
        """``L_y + L_d`` with the GRL between ``G_f`` and ``G_d`` (``+ w·H`` with a target
        entropy weight ``w``)."""
        per_domain = self._domain_features(sources, targets)
        label = self.label_loss(sources, cat(per_domain[: len(sources)]))
        dom = self.adversarial(*self._adversarial_args(per_domain))
        logs: Logs = {
            LABEL_LOSS: label.detach(),
            DOMAIN_LOSS: dom.detach(),
            COEFF: self.adversarial.grl.coeff_tensor(),
            DOMAIN_ACC: self.adversarial.last_accuracy,
        }
        if self.target_entropy <= 0 and self.mcc <= 0:
            return label + dom, logs
        target_logits = self.label_head(cat(per_domain[len(sources) :]))
        loss = with_target_entropy(label + dom, logs, self.target_entropy, target_logits)
        return with_class_confusion(loss, logs, self.mcc, target_logits), logs

    # Alternating updates: the same loss, with only G_f and G_y stepping on it.
    generator_step = joint_step
