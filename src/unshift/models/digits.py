"""The DANN paper's MNIST network (Ganin et al. 2016, Figure 4 and §5.2.1).

Feature extractor: ``conv 5×5, 32 → ReLU → max-pool 2 → conv 5×5, 48 → ReLU → max-pool 2``,
768 features for 28×28 inputs. Label head: ``100 → ReLU → 100 → ReLU → 10``. Domain head:
``100 → ReLU → 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unshift.data.domains import TaskData
from unshift.errors import ConfigError
from unshift.models.networks import Networks
from unshift.nn import DomainDiscriminator
from unshift.registry import MODELS, SectionConfig

FEATURES = 48 * 4 * 4


def dann_mnist_features(in_channels: int = 3) -> nn.Module:
    """Inputs ``(N, in_channels, 28, 28)`` → features ``(N, 768)``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=5),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 48, kernel_size=5),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
    )


def dann_mnist_label_head(num_classes: int = 10) -> nn.Module:
    """Features ``(N, 768)`` → class logits ``(N, num_classes)``."""
    return nn.Sequential(
        nn.Linear(FEATURES, 100),
        nn.ReLU(inplace=True),
        nn.Linear(100, 100),
        nn.ReLU(inplace=True),
        nn.Linear(100, num_classes),
    )


def dann_mnist_domain_head(num_domains: int = 2) -> DomainDiscriminator:
    """Features ``(N, 768)`` → domain logits ``(N, 1)`` (two domains)."""
    return DomainDiscriminator(FEATURES, num_domains, hidden=(100,), batch_norm=False, dropout=0.0)


@dataclass
class DannMnistConfig(SectionConfig):
    """``model: {name: dann_mnist}``: the DANN paper's MNIST network (no options)."""


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
    features = dann_mnist_features(data.input_shape[0])
    return Networks(features, dann_mnist_label_head(data.num_classes), FEATURES)
