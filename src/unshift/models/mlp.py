"""Multilayer perceptrons: feature extractors for vector inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from unshift.core.errors import require
from unshift.core.registry import MODELS, SectionConfig
from unshift.data.domains import TaskData
from unshift.models.networks import Networks
from unshift.nn import MultiOutputHead

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def check_mlp(hidden: Sequence[int], activation: str) -> None:
    """The rules on :func:`mlp`'s arguments, raising :class:`~unshift.core.errors.FieldError`."""
    require(len(hidden) >= 1, "hidden", "needs at least one width (one hidden layer)")
    require(all(h >= 1 for h in hidden), "hidden", f"widths must be >= 1; got {list(hidden)}")
    require(
        activation in ACTIVATIONS,
        "activation",
        f"must be one of {list(ACTIVATIONS)}; got {activation!r}",
    )


def mlp(in_features: int, hidden: Sequence[int], activation: str = "relu") -> nn.Module:
    """``Flatten → (Linear → activation) × len(hidden)``; output width ``hidden[-1]``.

    ``activation`` is one of ``relu``, ``tanh``, ``sigmoid``. Input ``(N, *)`` flattening to
    ``in_features``; output ``(N, hidden[-1])``.
    """
    check_mlp(hidden, activation)
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    return nn.Sequential(*layers)


@dataclass
class MLPConfig(SectionConfig):
    """``model: {name: mlp}``: an MLP feature extractor (``hidden`` widths, ``activation``
    relu|tanh|sigmoid) and a linear label head (one per output for several outputs)."""

    hidden: list[int] = field(default_factory=lambda: [32, 32])
    activation: str = "relu"

    def __post_init__(self) -> None:
        check_mlp(self.hidden, self.activation)


@MODELS.register("mlp", MLPConfig)
def mlp_networks(cfg: MLPConfig, data: TaskData) -> Networks:
    """:func:`mlp` on the flattened inputs, with a linear head."""
    in_features = int(torch.tensor(data.input_shape).prod())
    width = cfg.hidden[-1]
    features = mlp(in_features, cfg.hidden, cfg.activation)
    if isinstance(data.num_classes, int):
        head: nn.Module = nn.Linear(width, data.num_classes)
    else:
        head = MultiOutputHead(width, data.class_counts, hidden=0)
    return Networks(features, head, width)
