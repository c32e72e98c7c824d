"""What a network builder hands to a method: a feature extractor, a label head, their width."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unshift.models.inputs import ChannelStandardize


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
