"""What every method shares: the shape of a training step, as the trainer sees it.

A method is an ``nn.Module`` whose ``forward(sources, targets, phase)`` computes the loss of
one optimiser step. It names its parameter groups (one optimiser each) and, for every training
step, the phases to run in order (for alternating updates: ``k_d`` discriminator phases, then a
generator phase). The trainer owns everything else: loops, devices, optimisers, logging.

Batches: ``sources`` is a list (one entry per source domain) of ``(x, y)`` with ``x`` of shape
``(B, *)`` and integer labels ``y`` of shape ``(B,)`` (``(B, L)`` for a head with ``L``
outputs); ``targets`` a list of ``x`` batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from unshift.nn.heads import Logits, label_loss

Sources = list[tuple[Tensor, Tensor]]
Targets = list[Tensor]
Logs = dict[str, Tensor | float]


@dataclass(frozen=True)
class Phase:
    """One optimiser step of a training step: ``forward(..., phase=name)``, then ``optimizer``
    (a key of :meth:`Method.param_groups`) steps. ``new_batch=False``: the phase sees the same
    batch as the phase before it in the step instead of a fresh one."""

    name: str
    optimizer: str
    new_batch: bool = True


JOINT = Phase("joint", "main")


def cat(tensors: list[Tensor]) -> Tensor:
    """``torch.cat`` along dim 0, without the copy when there is a single tensor."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


class Method(nn.Module):
    """Base class: a feature extractor ``G_f`` and a label head ``G_y``.

    Parameters
    ----------
    feature_extractor : nn.Module
        Maps inputs ``(B, *)`` to features ``(B, F)``; non-flat features are flattened.
    label_head : nn.Module
        Maps features ``(B, F)`` to class logits ``(B, C)``, or to a tuple of ``(B, C_i)``
        logits, one per output (:class:`~unshift.nn.MultiOutputHead`).
    """

    num_domains: int = 2

    def __init__(self, feature_extractor: nn.Module, label_head: nn.Module) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.label_head = label_head

    def features(self, x: Tensor) -> Tensor:
        """``G_f(x)`` flattened to ``(B, F)``."""
        return self.feature_extractor(x).flatten(1)

    def predict(self, x: Tensor) -> Logits:
        """Class logits ``(B, C)`` (a tuple of them for several outputs), any domain."""
        return self.label_head(self.features(x))

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimiser; one group ``"main"`` unless a method alternates."""
        return {"main": list(self.parameters())}

    def phases(self, step: int) -> list[Phase]:
        """The phases of training step ``step`` (0-based), in order."""
        return [JOINT]

    def set_progress(self, p: float) -> None:
        """Training progress ``p ∈ [0, 1]``, set by the trainer before every step."""

    def label_loss(self, sources: Sources, features: Tensor | None = None) -> Tensor:
        """Mean cross-entropy (nats) over all source samples (summed over outputs), from their
        features if given."""
        x = cat([x for x, _ in sources])
        y = cat([y for _, y in sources])
        return label_loss(self.label_head(self.features(x) if features is None else features), y)
