"""ADDA: adversarial discriminative domain adaptation (Tzeng et al. 2017).

Phase 1 (``pretrain_steps`` steps): source encoder ``M_s`` and classifier ``C`` learn from
labelled source data. Phase 2: the target encoder ``M_t`` starts as a copy of ``M_s`` (untied
weights); ``M_s`` and ``C`` are frozen; each training step runs ``k_d`` steps of the
discriminator ``D`` (source features = domain 1, target features = domain 0), then ``k_g``
steps of ``M_t`` with the mapping objective (``gan``, ``minimax`` or ``confusion``). The first
``M_t`` step sees the batch of the last discriminator step (as in the authors' code, where both
updates share one batch) and reuses its ``M_t`` forward pass, scored by the updated ``D``.
Predictions use ``C(M_t(x))`` once phase 2 has begun.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from unshift.losses import MAPPING_OBJECTIVES, adda_discriminator_loss, adda_mapping_loss
from unshift.methods.base import Logs, Method, Phase, Sources, Targets, cat
from unshift.nn import DomainDiscriminator


def _accuracy(d_src: Tensor, d_tgt: Tensor) -> Tensor:
    right = torch.cat([(d_src.flatten() > 0), (d_tgt.flatten() <= 0)])
    return right.float().mean()


class ADDA(Method):
    """Adversarial discriminative domain adaptation on the shared trainer.

    Parameters
    ----------
    source_encoder, classifier : nn.Module
        ``M_s`` (inputs ``(B, *)`` → features ``(B, F)``) and ``C`` (features → logits).
    feature_dim : int
        ``F``.
    pretrain_steps : int
        Training steps of phase 1; phase 2 runs for the rest of the trainer's ``max_steps``.
    discriminator : nn.Module, optional
        ``D``: features ``(B, F)`` → one logit; default the paper's 500-500 MLP.
    objective : str
        Mapping objective of ``M_t``: ``gan`` (inverted labels, the paper's), ``minimax`` or
        ``confusion``.
    k_d, k_g : int
        Discriminator and target-encoder steps per training step of phase 2.
    shared_layers : int
        The first ``shared_layers`` children of ``source_encoder`` (an ``nn.Sequential``) are
        the same modules in ``M_t``: frozen with ``M_s``; only the later layers adapt.
    """

    def __init__(
        self,
        source_encoder: nn.Module,
        classifier: nn.Module,
        feature_dim: int,
        pretrain_steps: int,
        discriminator: nn.Module | None = None,
        objective: str = "gan",
        k_d: int = 1,
        k_g: int = 1,
        shared_layers: int = 0,
    ) -> None:
        super().__init__(source_encoder, classifier)
        if objective not in MAPPING_OBJECTIVES:
            raise ValueError(
                f"objective must be one of {list(MAPPING_OBJECTIVES)}; got {objective!r}"
            )
        if pretrain_steps < 0 or k_d < 1 or k_g < 1:
            raise ValueError("pretrain_steps must be >= 0, and k_d and k_g >= 1")
        self.target_encoder = copy.deepcopy(source_encoder)
        if shared_layers:
            if not isinstance(source_encoder, nn.Sequential) or not (
                0 < shared_layers <= len(source_encoder)
            ):
                raise ValueError(
                    "shared_layers needs an nn.Sequential source encoder with at least that "
                    f"many children; got {shared_layers} for {type(source_encoder).__name__}"
                )
            for i in range(shared_layers):
                self.target_encoder[i] = source_encoder[i]
        self.shared_layers = shared_layers
        self.discriminator = discriminator or DomainDiscriminator(
            feature_dim, hidden=(500, 500), batch_norm=False, dropout=0.0
        )
        self.pretrain_steps = pretrain_steps
        self.objective = objective
        self.k_d, self.k_g = k_d, k_g
        # A buffer, so that a checkpoint records whether M_t has been initialised from M_s.
        self.register_buffer("adapting", torch.tensor(False))
        # The last discriminator step's target batch and M_t's features of it (with their
        # graph); M_t has not stepped since, so the next target step can use them as they are.
        self._pending: tuple[Targets, Tensor] | None = None

    @property
    def source_encoder(self) -> nn.Module:
        return self.feature_extractor

    def features(self, x: Tensor) -> Tensor:
        """``M_t(x)`` once phase 2 has begun, ``M_s(x)`` before."""
        encoder = self.target_encoder if bool(self.adapting) else self.feature_extractor
        return encoder(x).flatten(1)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        frozen = {id(p) for p in self.feature_extractor.parameters()}
        return {
            "source": [*self.feature_extractor.parameters(), *self.label_head.parameters()],
            "discriminator": list(self.discriminator.parameters()),
            "target": [p for p in self.target_encoder.parameters() if id(p) not in frozen],
        }

    def phases(self, step: int) -> list[Phase]:
        if step < self.pretrain_steps:
            return [Phase("pretrain", "source")]
        return (
            [Phase("discriminator", "discriminator")] * self.k_d
            + [Phase("target", "target", new_batch=False)]
            + [Phase("target", "target")] * (self.k_g - 1)
        )

    def _start_adapting(self) -> None:
        self.target_encoder.load_state_dict(self.feature_extractor.state_dict())
        self.adapting.fill_(True)

    def forward(self, sources: Sources, targets: Targets, phase: str = "pretrain"):
        if phase == "pretrain":
            loss = self.label_loss(sources)
            return loss, {"label_loss": loss.detach()}
        if not bool(self.adapting):
            self._start_adapting()
        self.feature_extractor.eval()  # frozen: no BatchNorm statistics move either
        self.label_head.eval()
        x_t = cat(list(targets))
        if phase == "discriminator":
            with torch.no_grad():
                f_s = self.feature_extractor(cat([x for x, _ in sources])).flatten(1)
            f_t = self.target_encoder(x_t).flatten(1)
            self._pending = (targets, f_t)
            d_s, d_t = self.discriminator(f_s), self.discriminator(f_t.detach())
            loss = adda_discriminator_loss(d_s, d_t)
            logs: Logs = {"domain_loss": loss.detach(), "domain_acc": _accuracy(d_s, d_t).detach()}
            return loss, logs
        if phase == "target":
            pending, self._pending = self._pending, None
            same_batch = pending is not None and all(
                a is b for a, b in zip(pending[0], targets, strict=True)
            )
            f_t = pending[1] if same_batch else self.target_encoder(x_t).flatten(1)
            d_t = self.discriminator(f_t)
            loss = adda_mapping_loss(d_t, self.objective)
            return loss, {"mapping_loss": loss.detach()}
        raise ValueError(f"unknown ADDA phase {phase!r}")
