"""A captcha network in the spirit of the classic Keras captcha model: ``conv 3×3 32 → conv 32
→ max-pool → conv 64 → conv 64 → max-pool``, each conv followed by batch norm and ReLU, dropout
after each pool; then one 128-unit head per character (:class:`~unshift.nn.MultiOutputHead`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from unshift.core.errors import ConfigError
from unshift.core.registry import MODELS, SectionConfig
from unshift.data.domains import TaskData
from unshift.models.networks import Networks
from unshift.nn import MultiOutputHead


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


def captcha_features(in_channels: int = 3, dropout: float = 0.25) -> nn.Module:
    """Images ``(N, in_channels, H, W)`` → features ``(N, 64 · H/4 · W/4)`` (``H``, ``W``
    multiples of 4; 24×56 inputs give 5376 features)."""
    return nn.Sequential(
        *_conv(in_channels, 32),
        *_conv(32, 32),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
        *_conv(32, 64),
        *_conv(64, 64),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
        nn.Flatten(),
    )


def captcha_feature_dim(height: int, width: int) -> int:
    """Width of :func:`captcha_features` for ``height``×``width`` inputs."""
    return 64 * (height // 4) * (width // 4)


def captcha_head(
    in_features: int, class_counts: Sequence[int], dropout: float = 0.5
) -> MultiOutputHead:
    """One ``128 → ReLU → dropout → C`` classifier per character."""
    return MultiOutputHead(in_features, class_counts, hidden=128, dropout=dropout)


@dataclass
class CaptchaCnnConfig(SectionConfig):
    """``model: {name: captcha_cnn}``: the captcha network, one head per character."""


@MODELS.register("captcha_cnn", CaptchaCnnConfig)
def captcha_networks(cfg: CaptchaCnnConfig, data: TaskData) -> Networks:
    """:func:`captcha_features` and :func:`captcha_head` for images ``(C, H, W)``."""
    if len(data.input_shape) != 3:
        raise ConfigError(f"model captcha_cnn takes images; the data has {data.input_shape}")
    channels, height, image_width = data.input_shape
    width = captcha_feature_dim(height, image_width)
    return Networks(captcha_features(channels), captcha_head(width, data.class_counts), width)
