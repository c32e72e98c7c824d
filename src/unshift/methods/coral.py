"""Deep CORAL: correlation alignment (Sun & Saenko, ECCV Workshops 2016).

No discriminator: the source cross-entropy plus ``λ`` times the distance between the source and
target feature covariances of the batch (:func:`unshift.nn.alignment.coral_loss`).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unshift.core.log_keys import CORAL, LABEL_LOSS
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
from unshift.nn.alignment import coral_loss


@METHODS.register("coral")
class DeepCORAL(Method):
    """Source cross-entropy + ``weight`` × ``‖C_s − C_t‖²_F / (4 d²)`` on the features.

    Parameters
    ----------
    feature_extractor, label_head : nn.Module
        ``G_f`` (inputs ``(B, *)`` → features ``(B, d)``) and ``G_y`` (features → logits).
    weight : float
        ``λ``, the CORAL term's weight (1.0 by default; the paper sets it so that both losses
        are of a size at the end of training).
    """

    @dataclass
    class Config(SectionConfig):
        """``method: {name: coral}``: the CORAL term's ``weight`` ``λ``."""

        weight: float = 1.0

        def __post_init__(self) -> None:
            require(self.weight >= 0, "weight", f"must be >= 0; got {self.weight}")

    def __init__(self, feature_extractor: nn.Module, label_head: nn.Module, weight: float = 1.0):
        super().__init__(feature_extractor, label_head)
        self.Config(weight=weight)
        self.weight = weight

    @classmethod
    def from_config(cls, cfg: DeepCORAL.Config, networks: Networks, data: TaskData) -> DeepCORAL:
        require_single_pair("Deep CORAL", data)
        return cls(networks.features, networks.head, cfg.weight)

    def joint_step(self, sources: Sources, targets: Targets) -> StepResult:
        """``L_y + λ · L_coral`` on one concatenated pass of the source and target batches."""
        f_s, f_t = joint_features(self, sources, targets)
        label = self.label_loss(sources, f_s)
        coral = coral_loss(f_s, f_t)
        return label + self.weight * coral, {LABEL_LOSS: label.detach(), CORAL: coral.detach()}
