"""The DANN domain term as one module: gradient reversal → discriminator → domain loss."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from unshift.nn.discriminator import DomainDiscriminator, as_features
from unshift.nn.grl import Coeff, GradientReversal
from unshift.nn.losses import check_domains, domain_accuracy, per_sample_domain_loss
from unshift.nn.schedules import DannLambda

REDUCTIONS = ("mean", "sum", "none")


class AdversarialLoss(nn.Module):
    """DANN domain-adversarial loss: GRL → discriminator → domain loss, with a λ schedule.

    Add its value to the task loss and call ``backward`` once: the discriminator's parameters
    get ordinary gradients (it learns to tell domains apart) while the features get gradients
    reversed and scaled by λ (the feature extractor learns to confuse it).

    Two call forms, with the domain labels of :mod:`unshift.nn.losses` (source 0, target 1):

    - ``adv(f_src, f_tgt)``: two domains; features ``(N, F)`` and ``(M, F)``.
    - ``adv(features, domains)``: ``K`` domains; features ``(N, F)``, integer ids ``(N,)``.

    ``weights`` (optional, ``(N + M,)`` or ``(N,)``, in the order of the samples) weigh each
    sample's loss. With ``reduction="mean"`` the value is the mean over the domains present of
    each domain's weighted mean loss ``Σ w l / Σ w``, so unequal batch sizes (and weight totals)
    weigh domains equally; for two domains at chance it is ``ln 2 ≈ 0.693`` nats.
    ``"sum"`` gives ``Σ w l`` and ``"none"`` the per-sample ``w l`` ``(N + M,)``.

    Progress: the caller sets ``adv.progress = p`` (``p ∈ [0, 1]``, e.g. step / total steps)
    before each step; the module never advances it. ``last_coeff`` holds the λ used and
    ``last_accuracy`` the discriminator's accuracy on the last batch (a 0-dim tensor, read
    without a device sync; ``last_domain_accuracy`` as a float).

    Parameters
    ----------
    in_features : int
        Feature width ``F``.
    num_domains : int
        ``K >= 2``.
    discriminator : nn.Module, optional
        Maps ``(N, F)`` to logits ``(N, 1)`` (two domains) or ``(N, K)``; default
        ``DomainDiscriminator(in_features, num_domains)``.
    schedule : float or callable
        λ as a constant or a schedule ``p -> λ`` (default :class:`DannLambda`).
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Example
    -------
    >>> adv = AdversarialLoss(256)
    >>> adv.progress = step / total_steps                       # doctest: +SKIP
    >>> loss = task_loss + adv(features_src, features_tgt)      # doctest: +SKIP
    """

    def __init__(
        self,
        in_features: int,
        num_domains: int = 2,
        discriminator: nn.Module | None = None,
        schedule: float | Callable[[float], float] = DannLambda(),
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {list(REDUCTIONS)}; got {reduction!r}")
        self.in_features = in_features
        self.num_domains = num_domains
        self.reduction = reduction
        self.discriminator = discriminator or DomainDiscriminator(in_features, num_domains)
        self.grl = GradientReversal(schedule)
        self.last_accuracy: Tensor | None = None

    @property
    def progress(self) -> float:
        """Training progress ``p ∈ [0, 1]`` at which λ is evaluated."""
        return self.grl.progress

    @progress.setter
    def progress(self, p: float) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"progress must lie in [0, 1]; got {p}")
        self.grl.progress = float(p)

    @property
    def last_coeff(self) -> Coeff:
        """The λ of the last call: fixed between two settings of ``progress`` (read outside
        the forward pass, so that a compiled loss never sees a changing Python number)."""
        return self.grl.current_coeff()

    @property
    def last_domain_accuracy(self) -> float:
        """Discriminator accuracy on the last batch (NaN before the first call)."""
        return math.nan if self.last_accuracy is None else float(self.last_accuracy)

    def _check_features(self, features: Tensor, what: str) -> Tensor:
        features = as_features(features, self.in_features, "AdversarialLoss", what)
        if features.shape[0] == 0:
            raise ValueError(f"AdversarialLoss got an empty batch of {what}")
        return features

    def _pair(self, features: Tensor, other: Tensor) -> tuple[Tensor, Tensor, int | None]:
        """Both call forms as ``(features (N, F), domain ids (N,), n_src or None)``."""
        if other.is_floating_point():
            f_src = self._check_features(features, "source features")
            f_tgt = self._check_features(other, "target features")
            n_src = f_src.shape[0]
            feats = torch.cat([f_src, f_tgt])
            domains = torch.cat(
                [
                    torch.zeros(n_src, dtype=torch.long, device=feats.device),
                    torch.ones(f_tgt.shape[0], dtype=torch.long, device=feats.device),
                ]
            )
            return feats, domains, n_src
        return self._check_features(features, "features"), other, None

    def _domain_term(
        self, feats: Tensor, domains: Tensor, n_src: int | None, weights: Tensor | None
    ) -> Tensor:
        """Discriminator logits on ``feats``, reduced as ``self.reduction`` says."""
        logits = self.discriminator(feats)
        if n_src is None:
            check_domains(logits, domains)
            expected = 1 if self.num_domains == 2 else self.num_domains
            if logits.shape[1] != expected:
                raise ValueError(
                    f"discriminator returned {logits.shape[1]} logits; expected {expected} "
                    f"for {self.num_domains} domains"
                )
        losses = per_sample_domain_loss(logits, domains)
        self.last_accuracy = domain_accuracy(logits.detach(), domains)
        if weights is not None:
            if weights.shape != losses.shape:
                raise ValueError(
                    f"weights must have shape {tuple(losses.shape)}, one per sample; got "
                    f"{tuple(weights.shape)}"
                )
            weights = weights.to(losses.dtype)
        if self.reduction == "none":
            return losses if weights is None else losses * weights
        if self.reduction == "sum":
            return losses.sum() if weights is None else (losses * weights).sum()
        if n_src is not None and weights is None:
            return 0.5 * (losses[:n_src].mean() + losses[n_src:].mean())
        w = torch.ones_like(losses) if weights is None else weights
        k = self.num_domains
        sums = losses.new_zeros(k).index_add_(0, domains, losses * w)
        totals = losses.new_zeros(k).index_add_(0, domains, w)
        present = (losses.new_zeros(k).index_add_(0, domains, torch.ones_like(losses)) > 0).to(
            losses.dtype
        )
        return (sums / totals.clamp(min=torch.finfo(losses.dtype).tiny) * present).sum() / (
            present.sum()
        )

    def forward(self, features: Tensor, other: Tensor, weights: Tensor | None = None) -> Tensor:
        feats, domains, n_src = self._pair(features, other)
        return self._domain_term(self.grl(feats), domains, n_src, weights)

    def discriminator_loss(
        self, features: Tensor, other: Tensor, weights: Tensor | None = None
    ) -> Tensor:
        """The same domain loss on detached features and without the GRL: a loss for the
        discriminator alone (alternating updates). Same call forms as ``forward``."""
        feats, domains, n_src = self._pair(features.detach(), other.detach())
        return self._domain_term(feats, domains, n_src, weights)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_domains={self.num_domains}, "
            f"reduction={self.reduction!r}"
        )
