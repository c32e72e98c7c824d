"""CDAN's conditional domain-adversarial loss (Long et al. 2018): the discriminator sees the
features conditioned on the classifier's predictions, through the gradient reversal layer.

- :func:`multilinear_map`: ``f ⊗ g``, the flattened outer product of features and predictions.
- :class:`RandomizedMultilinearMap`: its randomized form ``(R_f f) ⊙ (R_g g) / √d`` with
  fixed random matrices, for when ``F × C`` is large.
- :func:`entropy_weights`: CDAN+E's per-sample weights ``1 + exp(−H(g))``.
- :class:`ConditionalAdversarialLoss`: all of it as one module for a training loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from unshift.nn.adversarial import AdversarialLoss
from unshift.nn.discriminator import DomainDiscriminator
from unshift.nn.schedules import DannLambda

RANDOMIZE_ABOVE = 4096
"""``randomized=None`` picks the randomized map when ``F × C`` exceeds this width (as the
CDAN authors' code does)."""


def map_width(
    in_features: int, num_classes: int, randomized: bool | None, randomized_dim: int
) -> tuple[bool, int]:
    """``(randomized, D)``: whether the map is randomized (``None``: when ``F·C > 4096``) and
    the width ``D`` of what the discriminator sees (``F·C`` or ``randomized_dim``)."""
    if randomized is None:
        randomized = in_features * num_classes > RANDOMIZE_ABOVE
    return randomized, randomized_dim if randomized else in_features * num_classes


def multilinear_map(features: Tensor, predictions: Tensor) -> Tensor:
    """``f ⊗ g`` flattened: ``out[n, i·C + j] = f[n, i] · g[n, j]``.

    ``features`` ``(N, F)``, ``predictions`` ``(N, C)`` (class probabilities) → ``(N, F·C)``.
    """
    if features.ndim != 2 or predictions.ndim != 2 or len(features) != len(predictions):
        raise ValueError(
            "multilinear_map needs features (N, F) and predictions (N, C); got "
            f"{tuple(features.shape)} and {tuple(predictions.shape)}"
        )
    return (features.unsqueeze(2) * predictions.unsqueeze(1)).flatten(1)


class RandomizedMultilinearMap(nn.Module):
    """``(f R_f) ⊙ (g R_g) / √d``: an unbiased, ``d``-wide estimate of the multilinear map's
    inner products, with ``R_f`` ``(F, d)`` and ``R_g`` ``(C, d)`` drawn once from a standard
    normal (``seed``) and kept fixed (buffers, saved with the model, never trained).

    Input ``features`` ``(N, F)`` and ``predictions`` ``(N, C)``; output ``(N, d)``.
    """

    def __init__(self, in_features: int, num_classes: int, out_features: int = 1024, seed: int = 0):
        super().__init__()
        if min(in_features, num_classes, out_features) < 1:
            raise ValueError(
                "RandomizedMultilinearMap needs widths >= 1; got in_features="
                f"{in_features}, num_classes={num_classes}, out_features={out_features}"
            )
        gen = torch.Generator().manual_seed(seed)
        self.out_features = out_features
        self.register_buffer("R_f", torch.randn(in_features, out_features, generator=gen))
        self.register_buffer("R_g", torch.randn(num_classes, out_features, generator=gen))

    def forward(self, features: Tensor, predictions: Tensor) -> Tensor:
        return (features @ self.R_f) * (predictions @ self.R_g) / math.sqrt(self.out_features)


def entropy_weights(predictions: Tensor) -> Tensor:
    """CDAN+E's weights ``1 + exp(−H(g))`` ``(N,)`` from class probabilities ``(N, C)``:
    confident predictions (low entropy ``H``, nats) count up to twice as much as uncertain ones."""
    entropy = -(predictions * torch.log(predictions.clamp(min=1e-12))).sum(1)
    return 1.0 + torch.exp(-entropy)


class ConditionalAdversarialLoss(nn.Module):
    """CDAN's domain term: ``h = T(f, softmax(g))`` → GRL → discriminator → domain loss.

    ``T`` is :func:`multilinear_map` or, with ``randomized``, a
    :class:`RandomizedMultilinearMap`. The predictions enter ``T`` detached (as in the authors'
    code), so the reversed gradient reaches the features, scaled by λ, and the classifier only
    through them; the discriminator gets ordinary gradients. With ``entropy_conditioning``
    (CDAN+E) each sample's domain loss is weighted by :func:`entropy_weights`, the weights
    normalised to sum to one within each domain; the value is the mean over the two domains of
    each one's (weighted) mean loss, ``ln 2 ≈ 0.693`` nats at chance.

    Call ``loss(f_src, logits_src, f_tgt, logits_tgt)`` with features ``(N, F)`` / ``(M, F)``
    and class logits ``(N, C)`` / ``(M, C)``; set ``loss.progress = p`` (``p ∈ [0, 1]``) before
    each step, as for :class:`AdversarialLoss` (``last_coeff``, ``last_accuracy`` likewise).

    Parameters
    ----------
    in_features, num_classes : int
        ``F`` and ``C``.
    discriminator : nn.Module, optional
        Maps ``(N, D)`` to one logit ``(N, 1)``, with ``D = F·C`` or ``randomized_dim``; default
        ``DomainDiscriminator(D)``.
    schedule : float or callable
        λ as a constant or a schedule ``p -> λ`` (default :class:`DannLambda`).
    randomized : bool or None
        Use the randomized map; ``None`` (default): when ``F·C > 4096``.
    randomized_dim : int
        ``d``, the randomized map's width.
    entropy_conditioning : bool
        CDAN+E's entropy weights.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        discriminator: nn.Module | None = None,
        schedule: float | Callable[[float], float] = DannLambda(),
        randomized: bool | None = None,
        randomized_dim: int = 1024,
        entropy_conditioning: bool = False,
    ) -> None:
        super().__init__()
        self.in_features, self.num_classes = in_features, num_classes
        self.randomized, self.map_dim = map_width(
            in_features, num_classes, randomized, randomized_dim
        )
        self.entropy_conditioning = entropy_conditioning
        self.map = (
            RandomizedMultilinearMap(in_features, num_classes, randomized_dim)
            if self.randomized
            else None
        )
        disc = discriminator or DomainDiscriminator(self.map_dim)
        self.adversarial = AdversarialLoss(self.map_dim, 2, disc, schedule)

    @property
    def progress(self) -> float:
        return self.adversarial.progress

    @progress.setter
    def progress(self, p: float) -> None:
        self.adversarial.progress = p

    @property
    def last_coeff(self) -> object:
        return self.adversarial.last_coeff

    @property
    def last_accuracy(self) -> Tensor | None:
        return self.adversarial.last_accuracy

    @property
    def grl(self) -> nn.Module:
        return self.adversarial.grl

    def conditioned(self, features: Tensor, logits: Tensor) -> tuple[Tensor, Tensor]:
        """``(T(f, g), g)``: the discriminator's input ``(N, D)`` and the detached class
        probabilities ``g`` ``(N, C)``."""
        if logits.ndim != 2 or logits.shape[1] != self.num_classes:
            raise ValueError(
                f"ConditionalAdversarialLoss expects logits of shape (N, {self.num_classes}); "
                f"got {tuple(logits.shape)}"
            )
        probs = F.softmax(logits.detach().float(), dim=1).to(features.dtype)
        features = features.flatten(1)
        mapped = multilinear_map(features, probs) if self.map is None else self.map(features, probs)
        return mapped, probs

    def forward(
        self, f_src: Tensor, logits_src: Tensor, f_tgt: Tensor, logits_tgt: Tensor
    ) -> Tensor:
        h_src, g_src = self.conditioned(f_src, logits_src)
        h_tgt, g_tgt = self.conditioned(f_tgt, logits_tgt)
        weights = None
        if self.entropy_conditioning:
            weights = torch.cat([entropy_weights(g_src), entropy_weights(g_tgt)])
        return self.adversarial(h_src, h_tgt, weights)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"randomized={self.randomized}, map_dim={self.map_dim}, "
            f"entropy_conditioning={self.entropy_conditioning}"
        )
