"""The DANN paper's MNIST network (Ganin et al. 2016, Figure 4 and §5.2.1).

Feature extractor: ``conv 5×5, 32 → ReLU → max-pool 2 → conv 5×5, 48 → ReLU → max-pool 2``,
768 features for 28×28 inputs. Label head: ``100 → ReLU → 100 → ReLU → 10``. Domain head:
``100 → ReLU → 1``. Optionally (``batch_norm``, ``dropout``; off in the paper's network) batch
norm after each conv and hidden layer and dropout after the second conv and the first hidden
layer, as in the public implementations that pass the paper's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unshift.core.errors import ConfigError
from unshift.core.registry import MODELS, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.models.networks import Networks
from unshift.nn import DomainDiscriminator

FEATURES = 48 * 4 * 4


def dann_mnist_features(
    in_channels: int = 3, batch_norm: bool = False, dropout: float = 0.0
) -> nn.Module:
    """Inputs ``(N, in_channels, 28, 28)`` → features ``(N, 768)``."""

    def block(conv: nn.Conv2d, drop: bool) -> list[nn.Module]:
        layers: list[nn.Module] = [conv]
        layers += [nn.BatchNorm2d(conv.out_channels)] if batch_norm else []
        layers += [nn.Dropout2d(dropout)] if drop and dropout > 0 else []
        return [*layers, nn.ReLU(inplace=True), nn.MaxPool2d(2)]

    return nn.Sequential(
        *block(nn.Conv2d(in_channels, 32, kernel_size=5), drop=False),
        *block(nn.Conv2d(32, 48, kernel_size=5), drop=True),
        nn.Flatten(),
    )


def dann_mnist_label_head(
    num_classes: int = 10, batch_norm: bool = False, dropout: float = 0.0
) -> nn.Module:
    """Features ``(N, 768)`` → class logits ``(N, num_classes)``."""

    def hidden(width_in: int, drop: bool) -> list[nn.Module]:
        layers: list[nn.Module] = [nn.Linear(width_in, 100)]
        layers += [nn.BatchNorm1d(100)] if batch_norm else []
        layers.append(nn.ReLU(inplace=True))
        return layers + ([nn.Dropout(dropout)] if drop and dropout > 0 else [])

    return nn.Sequential(
        *hidden(FEATURES, drop=True), *hidden(100, drop=False), nn.Linear(100, num_classes)
    )


def dann_mnist_domain_head(num_domains: int = 2) -> DomainDiscriminator:
    """Features ``(N, 768)`` → domain logits ``(N, 1)`` (two domains)."""
    return DomainDiscriminator(FEATURES, num_domains, hidden=(100,), batch_norm=False, dropout=0.0)


@dataclass
class DannMnistConfig(SectionConfig):
    """``model: {name: dann_mnist}``: the DANN paper's MNIST network; ``batch_norm`` and
    ``dropout`` (a rate in ``[0, 1)``) add what the paper's network does not have."""

    batch_norm: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1); got {self.dropout}")


@MODELS.register("dann_mnist", DannMnistConfig)
def dann_mnist_networks(cfg: DannMnistConfig, data: TaskData) -> Networks:
    """:func:`dann_mnist_features` and :func:`dann_mnist_label_head` for ``(C, 28, 28)``
    images of a single-output task."""
    if len(data.input_shape) != 3 or data.input_shape[1:] != (28, 28):
        raise ConfigError(
            f"model dann_mnist takes (C, 28, 28) images; the data has samples of shape "
            f"{data.input_shape} (set data.image_size=28 for digit data)"
        )
    if not isinstance(data.num_classes, int):
        raise ConfigError(
            f"model dann_mnist has one label output; the task has {len(data.class_counts)} "
            "(use captcha_cnn or mlp for multi-output tasks)"
        )
    features = dann_mnist_features(data.input_shape[0], cfg.batch_norm, cfg.dropout)
    head = dann_mnist_label_head(data.num_classes, cfg.batch_norm, cfg.dropout)
    return Networks(features, head, FEATURES)
