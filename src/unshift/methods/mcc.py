"""MCC: minimum class confusion (Jin et al., ECCV 2020).

No discriminator: the source cross-entropy plus ``μ`` times the class confusion of the target
batch's predictions (:func:`unshift.nn.alignment.class_confusion_loss`), which pushes the
target predictions of different classes apart. DANN and CDAN take the same term as their
``mcc`` weight, as the paper combines them.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unshift.core.log_keys import CLASS_CONFUSION, LABEL_LOSS
from unshift.core.registry import METHODS, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.methods.base import (
    Method,
    Sources,
    StepResult,
    Targets,
    joint_features,
    require_single_pair,
)
from unshift.models.networks import Networks
from unshift.nn.alignment import class_confusion_loss


@METHODS.register("mcc")
class MCC(Method):
    """Source cross-entropy + ``weight`` × class confusion of the target predictions.

    Parameters
    ----------
    feature_extractor, label_head : nn.Module
        ``G_f`` (inputs ``(B, *)`` → features ``(B, F)``) and ``G_y`` (features → logits
        ``(B, C)``).
    weight : float
        ``μ``, the class confusion's weight (the paper's trade-off; 1.0 in TLlib's examples).
    temperature : float
        ``T`` of the rescaled target probabilities (the paper's 2.5 for digits and Office).
    """

    @dataclass
    class Config(SectionConfig):
        """``method: {name: mcc}``: the class confusion's ``weight`` ``μ`` and ``temperature``
        ``T``."""

        weight: float = 1.0
        temperature: float = 2.5

        def __post_init__(self) -> None:
            require(self.weight >= 0, "weight", f"must be >= 0; got {self.weight}")
            require(self.temperature > 0, "temperature", f"must be > 0; got {self.temperature}")

    def __init__(
        self,
        feature_extractor: nn.Module,
        label_head: nn.Module,
        weight: float = 1.0,
        temperature: float = 2.5,
    ) -> None:
        super().__init__(feature_extractor, label_head)
        self.Config(weight=weight, temperature=temperature)
        self.weight = weight
        self.temperature = temperature

    @classmethod
    def from_config(cls, cfg: MCC.Config, networks: Networks, data: TaskData) -> MCC:
        require_single_pair("MCC", data)
        return cls(networks.features, networks.head, cfg.weight, cfg.temperature)

    def joint_step(self, sources: Sources, targets: Targets) -> StepResult:
        """``L_y + μ · L_mcc`` on one concatenated pass of the source and target batches."""
        f_s, f_t = joint_features(self, sources, targets)
        label = self.label_loss(sources, f_s)
        confusion = class_confusion_loss(self.label_head(f_t), self.temperature)
        logs = {LABEL_LOSS: label.detach(), CLASS_CONFUSION: confusion.detach()}
        return label + self.weight * confusion, logs
