"""Label heads with several outputs, e.g. one softmax per character of a fixed-length code.

A multi-output head returns a tuple of logits tensors, one ``(N, C_i)`` per output; labels
are ``(N, L)`` integers, column ``i`` for output ``i``. A single-output head returns one
``(N, C)`` tensor with ``(N,)`` labels. :func:`label_loss`, :func:`prediction_entropy` and
:func:`output_classes` accept both forms.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Logits = Tensor | tuple[Tensor, ...]


class MultiOutputHead(nn.Module):
    """One small classifier per output: ``Linear(in, hidden) → ReLU → Dropout → Linear(hidden,
    C_i)`` for each class count ``C_i`` in ``class_counts`` (``hidden=0``: a linear layer).

    Input features ``(N, in_features)``; output a tuple of ``(N, C_i)`` logits.
    """

    def __init__(
        self,
        in_features: int,
        class_counts: Sequence[int],
        hidden: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not class_counts or any(c < 2 for c in class_counts):
            raise ValueError(f"class_counts needs one count >= 2 per output; got {class_counts}")
        self.class_counts = tuple(int(c) for c in class_counts)

        def one(c: int) -> nn.Module:
            if hidden == 0:
                return nn.Linear(in_features, c)
            return nn.Sequential(
                nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, c)
            )

        self.outputs = nn.ModuleList(one(c) for c in self.class_counts)

    def forward(self, features: Tensor) -> tuple[Tensor, ...]:
        return tuple(out(features) for out in self.outputs)


def label_loss(logits: Logits, labels: Tensor) -> Tensor:
    """Mean cross-entropy (nats) for one output; for several, the sum over outputs of each
    output's mean cross-entropy (``labels[:, i]`` for output ``i``)."""
    if isinstance(logits, Tensor):
        return F.cross_entropy(logits, labels)
    if labels.ndim != 2 or labels.shape[1] != len(logits):
        raise ValueError(
            f"{len(logits)} outputs need labels of shape (N, {len(logits)}); got "
            f"{tuple(labels.shape)}"
        )
    return sum(F.cross_entropy(out, labels[:, i]) for i, out in enumerate(logits))  # type: ignore[return-value]


def prediction_entropy(logits: Logits) -> Tensor:
    """Mean entropy (nats) of the softmax predictions over ``N`` samples; for several outputs,
    the sum over outputs of each output's mean entropy. Minimising it on unlabelled target
    samples pushes decision boundaries away from them (Grandvalet & Bengio 2004)."""
    outputs = (logits,) if isinstance(logits, Tensor) else logits
    total = 0.0
    for out in outputs:
        log_p = F.log_softmax(out.float(), dim=1)
        total = total - (log_p.exp() * log_p).sum(1).mean()
    return total  # type: ignore[return-value]


def output_classes(logits: Logits) -> Tensor:
    """Arg-max class per sample: ``(N,)`` for one output, ``(N, L)`` for ``L`` outputs."""
    if isinstance(logits, Tensor):
        return logits.argmax(1)
    return torch.stack([out.argmax(1) for out in logits], 1)
