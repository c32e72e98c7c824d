"""DANN: domain-adversarial training of neural networks (Ganin & Lempitsky 2015; Ganin et al. 2016).

``G_f`` feeds the label head ``G_y`` and, through a gradient reversal layer, the domain
discriminator ``G_d``. One minimisation of ``L_y + L_d`` then trains ``G_d`` to tell domains
apart while ``G_f`` learns features that confuse it, weighted by λ (the GRL's coefficient).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from unshift.losses import AdversarialLoss
from unshift.methods.base import JOINT, Logs, Method, Phase, Sources, Targets, cat
from unshift.schedules import DannLambda


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
    """

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
    ) -> None:
        super().__init__(feature_extractor, label_head)
        if k_d < 0:
            raise ValueError(f"k_d must be >= 0; got {k_d}")
        self.num_domains = num_domains
        self.adversarial = AdversarialLoss(feature_dim, num_domains, discriminator, schedule)
        self.separate_passes = separate_passes
        self.k_d = k_d

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

    def forward(self, sources: Sources, targets: Targets, phase: str = "joint"):
        if len(sources) + len(targets) != self.num_domains:
            raise ValueError(
                f"DANN was built for {self.num_domains} domains; got {len(sources)} source and "
                f"{len(targets)} target batches"
            )
        if phase == "discriminator":
            with torch.no_grad():
                per_domain = self._domain_features(sources, targets)
            loss = self.adversarial.discriminator_loss(*self._adversarial_args(per_domain))
            return loss, {
                "domain_loss": loss.detach(),
                "domain_acc": self.adversarial.last_accuracy,
            }

        per_domain = self._domain_features(sources, targets)
        label = self.label_loss(sources, cat(per_domain[: len(sources)]))
        dom = self.adversarial(*self._adversarial_args(per_domain))
        logs: Logs = {
            "label_loss": label.detach(),
            "domain_loss": dom.detach(),
            "coeff": self.adversarial.last_coeff,
            "domain_acc": self.adversarial.last_accuracy,
        }
        return label + dom, logs
