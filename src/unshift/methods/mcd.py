"""MCD: maximum classifier discrepancy (Saito et al. 2018).

A feature generator ``G`` and two classifiers ``F1``, ``F2`` (the second a freshly initialised
copy of the first). Instead of a domain discriminator, the two classifiers' disagreement on
target samples, ``d = mean |softmax(F1) − softmax(F2)|``
(:func:`~unshift.nn.losses.classifier_discrepancy`), drives the alignment. Each training step runs
the paper's three phases on one batch:

- (A) ``G``, ``F1``, ``F2`` minimise the source cross-entropy of both classifiers;
- (B) ``F1``, ``F2`` only: source cross-entropy minus ``d`` on the target batch (the
  classifiers learn to disagree on target samples far from the source support);
- (C) ``G`` only, ``num_k`` times: minimise ``d`` (the features move target samples to
  where the classifiers agree).

Predictions: the mean of the two classifiers' class probabilities (returned as its log, so
that ``softmax`` of the output is that mean).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from unshift.core.log_keys import DISCREPANCY, LABEL_LOSS
from unshift.core.registry import METHODS, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.methods.base import (
    Method,
    Phase,
    Sources,
    StepResult,
    Targets,
    fresh_copy,
    require_single_pair,
)
from unshift.models.networks import Networks
from unshift.nn.heads import label_loss
from unshift.nn.losses import classifier_discrepancy


@METHODS.register("mcd")
class MCD(Method):
    """Maximum classifier discrepancy on the shared trainer (one source, one target, one
    label output).

    Parameters
    ----------
    generator : nn.Module
        ``G``: inputs ``(B, *)`` → features ``(B, F)``.
    classifier : nn.Module
        ``F1``: features → logits ``(B, C)``.
    second_classifier : nn.Module, optional
        ``F2``; default :func:`fresh_copy` of ``classifier``. It must differ from ``F1``: two
        identical classifiers never disagree.
    num_k : int
        Generator updates (phase C) per training step; the paper's digit experiments use 4.
    """

    @dataclass
    class Config(SectionConfig):
        """``method: {name: mcd}``: ``num_k``, the generator updates (phase C) per training
        step."""

        num_k: int = 4

        def __post_init__(self) -> None:
            require(self.num_k >= 1, "num_k", f"must be >= 1; got {self.num_k}")

    def __init__(
        self,
        generator: nn.Module,
        classifier: nn.Module,
        second_classifier: nn.Module | None = None,
        num_k: int = 4,
    ) -> None:
        super().__init__(generator, classifier)
        self.Config(num_k=num_k)
        self.second_head = (
            fresh_copy(classifier) if second_classifier is None else second_classifier
        )
        self.num_k = num_k

    @classmethod
    def from_config(cls, cfg: MCD.Config, networks: Networks, data: TaskData) -> MCD:
        require_single_pair("mcd", data)
        return cls(networks.features, networks.head, num_k=cfg.num_k)

    def classify(self, features: Tensor) -> Tensor:
        """``log((softmax(F1) + softmax(F2)) / 2)`` ``(B, C)``: the classifiers' mean."""
        pair = torch.stack(
            [self.label_head(features).log_softmax(1), self.second_head(features).log_softmax(1)]
        )
        return pair.logsumexp(0) - math.log(2)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "generator": list(self.feature_extractor.parameters()),
            "classifiers": [*self.label_head.parameters(), *self.second_head.parameters()],
        }

    def phases(self, step: int) -> list[Phase]:
        return [
            Phase("source", ("generator", "classifiers")),
            Phase("classifiers", "classifiers", new_batch=False),
            *[Phase("generator", "generator", new_batch=False)] * self.num_k,
        ]

    @staticmethod
    def _split(sources: Sources, targets: Targets) -> tuple[Tensor, Tensor, Tensor]:
        if len(sources) != 1 or len(targets) != 1:
            raise ValueError(
                f"MCD adapts one source to one target; got {len(sources)} source and "
                f"{len(targets)} target batches"
            )
        (x_src, y_src), x_tgt = sources[0], targets[0]
        return x_src, y_src, x_tgt

    def _source_loss(self, f_src: Tensor, y_src: Tensor) -> Tensor:
        return label_loss(self.label_head(f_src), y_src) + label_loss(
            self.second_head(f_src), y_src
        )

    def _discrepancy(self, f_tgt: Tensor) -> Tensor:
        return classifier_discrepancy(self.label_head(f_tgt), self.second_head(f_tgt))

    def source_step(self, sources: Sources, targets: Targets) -> StepResult:
        """(A) Both classifiers' source cross-entropy (summed, nats)."""
        x_src, y_src, _ = self._split(sources, targets)
        loss = self._source_loss(self.features(x_src), y_src)
        return loss, {LABEL_LOSS: loss.detach()}

    def classifiers_step(self, sources: Sources, targets: Targets) -> StepResult:
        """(B) Source cross-entropy minus the target discrepancy, on fixed features."""
        x_src, y_src, x_tgt = self._split(sources, targets)
        with torch.no_grad():
            f_src, f_tgt = self.features(x_src), self.features(x_tgt)
        discrepancy = self._discrepancy(f_tgt)
        return self._source_loss(f_src, y_src) - discrepancy, {DISCREPANCY: discrepancy.detach()}

    def generator_step(self, sources: Sources, targets: Targets) -> StepResult:
        """(C) The target discrepancy, for ``G`` to minimise."""
        _, _, x_tgt = self._split(sources, targets)
        discrepancy = self._discrepancy(self.features(x_tgt))
        return discrepancy, {DISCREPANCY: discrepancy.detach()}
