"""Losses that align two domains without a discriminator, as pure functions of a batch:

- :func:`class_confusion_loss`: MCC's class confusion on target predictions (Jin et al., ECCV
  2020), to minimise.
- :func:`coral_loss`: Deep CORAL's distance between the feature covariances of two domains
  (Sun & Saenko, ECCV-W 2016), to minimise.

Both are differentiable in every input and usable in any training loop.
"""

from __future__ import annotations

import torch
from torch import Tensor


def class_confusion_loss(logits: Tensor, temperature: float = 2.5) -> Tensor:
    """MCC's class confusion of one batch of target logits ``(B, C)``: a scalar in ``[0, 1)``.

    Probabilities ``Ŷ = softmax(logits / T)``; each sample weighted by ``1 + exp(−H(Ŷ_i))``
    (``H`` in nats, weights rescaled to sum to ``B`` and not differentiated, as in the
    authors' and TLlib's code: confident samples count more); the class correlation
    ``C = Ŷᵀ diag(w) Ŷ`` ``(C, C)``, each row divided by its sum; the loss is the mass off the
    diagonal divided by the number of classes. ``0`` when every sample is certain of one class.
    """
    if logits.ndim != 2 or logits.shape[0] < 1:
        raise ValueError(f"class_confusion_loss expects logits (B, C); got {tuple(logits.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    batch, classes = logits.shape
    probs = torch.softmax(logits / temperature, dim=1)
    with torch.no_grad():
        entropy = -(probs * torch.log(probs + 1e-5)).sum(dim=1)
        weights = 1 + torch.exp(-entropy)
        weights = batch * weights / weights.sum()
    correlation = (probs * weights[:, None]).T @ probs
    correlation = correlation / correlation.sum(dim=1, keepdim=True)
    return (correlation.sum() - correlation.trace()) / classes


def coral_loss(source: Tensor, target: Tensor) -> Tensor:
    """Deep CORAL: ``‖C_s − C_t‖²_F / (4 d²)`` for features ``(N_s, d)`` and ``(N_t, d)``, with
    ``C`` each batch's covariance (unbiased: divided by ``N − 1``). A scalar ``>= 0``; each batch
    needs at least 2 samples."""
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(
            "coral_loss expects features (N_s, d) and (N_t, d) of one width; got "
            f"{tuple(source.shape)} and {tuple(target.shape)}"
        )
    if min(len(source), len(target)) < 2:
        raise ValueError("coral_loss needs at least 2 samples per domain for a covariance")
    d = source.shape[1]
    diff = torch.cov(source.T.float()) - torch.cov(target.T.float())
    return diff.pow(2).sum() / (4 * d * d)


__all__ = ["class_confusion_loss", "coral_loss"]
