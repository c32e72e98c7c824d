"""Multilayer perceptrons: feature extractors for vector inputs."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def mlp(in_features: int, hidden: Sequence[int], activation: str = "relu") -> nn.Module:
    """``Flatten → (Linear → activation) × len(hidden)``; output width ``hidden[-1]``.

    ``activation`` is one of ``relu``, ``tanh``, ``sigmoid``. Input ``(N, *)`` flattening to
    ``in_features``; output ``(N, hidden[-1])``.
    """
    if not hidden:
        raise ValueError("an MLP feature extractor needs at least one hidden layer")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    return nn.Sequential(*layers)
