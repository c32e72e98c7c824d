"""ADDA: adversarial discriminative domain adaptation (Tzeng et al. 2017).

Phase 1 (``pretrain_steps`` steps): source encoder ``M_s`` and classifier ``C`` learn from
labelled source data. Phase 2: the target encoder ``M_t`` starts as a copy of ``M_s`` (untied
weights); ``M_s`` and ``C`` are frozen; each training step runs ``k_d`` steps of the
discriminator ``D`` (source features = domain 0, target features = domain 1), then ``k_g``
steps of ``M_t`` with the mapping objective (``gan``, ``minimax`` or ``confusion``). The first
``M_t`` step sees the batch of the last discriminator step (as in the authors' code, where both
updates share one batch) and reuses its ``M_t`` forward pass, scored by the updated ``D``.
Predictions use ``C(M_t(x))`` once phase 2 has begun.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from unshift.core.errors import ConfigError
from unshift.core.log_keys import DOMAIN_ACC, DOMAIN_LOSS, MAPPING_LOSS
from unshift.core.registry import METHODS, FieldError, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.methods.base import (
    DiscriminatorConfig,
    Logs,
    Method,
    Phase,
    Sources,
    StepResult,
    Targets,
    cat,
)
from unshift.models.networks import Networks
from unshift.nn import DomainDiscriminator
from unshift.nn.losses import (
    MAPPING_OBJECTIVES,
    adda_discriminator_loss,
    adda_mapping_loss,
    domain_accuracy,
)

ADAPT_AT = ("features", "logits")


def _accuracy(d_src: Tensor, d_tgt: Tensor) -> Tensor:
    """The discriminator's accuracy on a source and a target batch of logits ``(B, 1)``."""
    ids = torch.cat([d_src.new_zeros(len(d_src)), d_tgt.new_ones(len(d_tgt))]).long()
    return domain_accuracy(torch.cat([d_src, d_tgt]), ids)


def _whole_network(networks: Networks, data: TaskData) -> Networks:
    """The whole network as ADDA's encoder (its children in one ``nn.Sequential``, so that
    ``shared_layers`` counts layers), an identity classifier, and the logit width."""
    if not isinstance(data.num_classes, int):
        raise ConfigError("method.adapt_at=logits needs a single-output task")

    def layers(module: nn.Module) -> list[nn.Module]:
        return list(module) if isinstance(module, nn.Sequential) else [module]

    encoder = nn.Sequential(*layers(networks.features), *layers(networks.head))
    return Networks(encoder, nn.Identity(), data.num_classes)


@METHODS.register("adda")
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

    @dataclass
    class Config(SectionConfig):
        """``method: {name: adda}``: ``pretrain_steps`` of source training (phase 1; the rest of
        ``trainer.steps`` is phase 2), the mapping ``objective`` (gan|minimax|confusion),
        ``k_d >= 1`` discriminator and ``k_g`` target-encoder steps per step, ``shared_layers``
        (first children of the encoder shared, frozen), the discriminator, and ``adapt_at``:
        ``features`` (``M`` is the feature extractor, the discriminator sees its output) or
        ``logits`` (``M`` is the whole network and the discriminator sees the class logits, as
        in the ADDA authors' code)."""

        pretrain_steps: int = 0
        objective: str = "gan"
        k_d: int = 1
        k_g: int = 1
        shared_layers: int = 0
        adapt_at: str = "features"
        discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

        def __post_init__(self) -> None:
            require(
                self.pretrain_steps >= 0,
                "pretrain_steps",
                f"must be >= 0; got {self.pretrain_steps}",
            )
            require(
                self.objective in MAPPING_OBJECTIVES,
                "objective",
                f"must be one of {list(MAPPING_OBJECTIVES)}; got {self.objective!r}",
            )
            require(
                self.k_d >= 1, "k_d", f"must be >= 1 (discriminator steps per step); got {self.k_d}"
            )
            require(self.k_g >= 1, "k_g", f"must be >= 1; got {self.k_g}")
            require(
                self.shared_layers >= 0, "shared_layers", f"must be >= 0; got {self.shared_layers}"
            )
            require(
                self.adapt_at in ADAPT_AT,
                "adapt_at",
                f"must be one of {list(ADAPT_AT)}; got {self.adapt_at!r}",
            )

        def check_run(self, run: Any) -> None:
            steps = run.trainer.steps
            require(
                self.pretrain_steps < steps,
                "pretrain_steps",
                f"must be below trainer.steps ({steps}), which counts both phases; got "
                f"{self.pretrain_steps}. Lower method.pretrain_steps or raise trainer.steps",
            )

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
        self.Config(
            pretrain_steps=pretrain_steps,
            objective=objective,
            k_d=k_d,
            k_g=k_g,
            shared_layers=shared_layers,
        )
        self.target_encoder = copy.deepcopy(source_encoder)
        if shared_layers:
            if not isinstance(source_encoder, nn.Sequential) or not (
                0 < shared_layers <= len(source_encoder)
            ):
                raise FieldError(
                    "shared_layers",
                    "needs an nn.Sequential source encoder with at least that many children; "
                    f"got {shared_layers} for {type(source_encoder).__name__}",
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

    @classmethod
    def from_config(cls, cfg: ADDA.Config, networks: Networks, data: TaskData) -> ADDA:
        if data.num_domains != 2:
            raise ConfigError(
                f"adda adapts one source to one target; the data has {data.num_domains} domains"
            )
        if cfg.adapt_at == "logits":
            networks = _whole_network(networks, data)
        return cls(
            networks.features,
            networks.head,
            feature_dim=networks.feature_dim,
            pretrain_steps=cfg.pretrain_steps,
            discriminator=cfg.discriminator.build(networks.feature_dim),
            objective=cfg.objective,
            k_d=cfg.k_d,
            k_g=cfg.k_g,
            shared_layers=cfg.shared_layers,
        )

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

    def pretrain_step(self, sources: Sources, targets: Targets) -> StepResult:
        """Phase 1: ``M_s`` and ``C`` on the source labels."""
        return self.source_step(sources, targets)

    def _phase_two(self) -> None:
        if not bool(self.adapting):
            self._start_adapting()
        self.feature_extractor.eval()  # frozen: no BatchNorm statistics move either
        self.label_head.eval()

    def discriminator_step(self, sources: Sources, targets: Targets) -> StepResult:
        """``D`` learns to tell ``M_s(x_s)`` (domain 0) from ``M_t(x_t)`` (domain 1)."""
        self._phase_two()
        with torch.no_grad():
            f_s = self.feature_extractor(cat([x for x, _ in sources])).flatten(1)
        f_t = self.target_encoder(cat(list(targets))).flatten(1)
        self._pending = (targets, f_t)
        d_s, d_t = self.discriminator(f_s), self.discriminator(f_t.detach())
        loss = adda_discriminator_loss(d_s, d_t)
        logs: Logs = {DOMAIN_LOSS: loss.detach(), DOMAIN_ACC: _accuracy(d_s, d_t).detach()}
        return loss, logs

    def target_step(self, sources: Sources, targets: Targets) -> StepResult:
        """``M_t`` against ``D`` with the mapping objective."""
        self._phase_two()
        pending, self._pending = self._pending, None
        same_batch = pending is not None and all(
            a is b for a, b in zip(pending[0], targets, strict=True)
        )
        f_t = pending[1] if same_batch else self.target_encoder(cat(list(targets))).flatten(1)
        loss = adda_mapping_loss(self.discriminator(f_t), self.objective)
        return loss, {MAPPING_LOSS: loss.detach()}
