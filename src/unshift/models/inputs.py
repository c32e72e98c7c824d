"""Fixed input transforms that live inside a network (so that they travel with checkpoints)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class ChannelStandardize(nn.Module):
    """``(x − mean_c) / std_c`` per channel ``c`` of images ``(N, C, H, W)``; no parameters."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std) or min(std) <= 0:
            raise ValueError("mean and std need one value per channel, std > 0")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std
