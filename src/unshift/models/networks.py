"""What a network builder hands to a method: a feature extractor, a label head, their width."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unshift.models.inputs import ChannelStandardize

LR_PART = "lr_part"
"""Attribute naming the learning-rate part of a module (see :func:`mark_part`)."""


def mark_part(module: nn.Module, part: str) -> nn.Module:
    """Mark ``module``'s parameters as the learning-rate part ``part``: a key that
    ``optim.lr_scale`` may name beside the method's optimisers (e.g. ``backbone``)."""
    setattr(module, LR_PART, part)
    return module


@dataclass
class Networks:
    """``features`` maps inputs ``(B, *)`` to ``(B, feature_dim)``; ``head`` maps those to class
    logits ``(B, C)`` (or a tuple of them, one per output)."""

    features: nn.Module
    head: nn.Module
    feature_dim: int

    def with_input_norm(self, mean: list[float], std: list[float]) -> Networks:
        """These networks with a :class:`ChannelStandardize` as the extractor's first layer."""
        layers = (
            list(self.features) if isinstance(self.features, nn.Sequential) else [self.features]
        )
        features = nn.Sequential(ChannelStandardize(mean, std), *layers)
        return Networks(features, self.head, self.feature_dim)
