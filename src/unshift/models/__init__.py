"""Named networks: feature extractors and heads."""

from unshift.models.mlp import mlp

__all__ = ["mlp"]
