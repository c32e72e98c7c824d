"""Adversarial losses, all computed from logits (never ``sigmoid`` followed by ``BCELoss``).

- :func:`domain_loss`: binary or K-way domain classification loss.
- :class:`AdversarialLoss`: GRL + domain discriminator + coefficient schedule in one module,
  the DANN domain term that drops into any training loop.
- :func:`adda_discriminator_loss`, :func:`adda_mapping_loss`: the two ADDA objectives
  (Tzeng et al. 2017), with the mapping objective ``minimax``, ``gan`` or ``confusion``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from unshift.nn.discriminator import DomainDiscriminator
from unshift.nn.grl import GradientReversal
from unshift.schedules import DannLambda

MappingObjective = Literal["minimax", "gan", "confusion"]
MAPPING_OBJECTIVES: tuple[str, ...] = ("minimax", "gan", "confusion")


def _check_domains(logits: Tensor, domains: Tensor) -> int:
    """Validate ``(N, 1)``/``(N, K)`` logits against ``(N,)`` integer ids; return ``K``."""
    if logits.ndim != 2:
        raise ValueError(
            f"domain logits must have shape (N, 1) or (N, K); got {tuple(logits.shape)}"
        )
    num_domains = 2 if logits.shape[1] == 1 else logits.shape[1]
    if domains.ndim != 1 or domains.shape[0] != logits.shape[0]:
        raise ValueError(
            f"domains must have shape ({logits.shape[0]},) to match the logits; "
            f"got {tuple(domains.shape)}"
        )
    if domains.is_floating_point() or domains.is_complex() or domains.dtype == torch.bool:
        raise ValueError(f"domains must hold integer domain ids; got dtype {domains.dtype}")
    if domains.numel() and (int(domains.min()) < 0 or int(domains.max()) >= num_domains):
        raise ValueError(
            f"domain ids must lie in [0, {num_domains - 1}] for logits of shape "
            f"{tuple(logits.shape)}; got ids from {int(domains.min())} to {int(domains.max())}"
        )
    return num_domains


def _per_sample_domain_loss(logits: Tensor, domains: Tensor) -> Tensor:
    """Unreduced loss ``(N,)`` for already validated inputs."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(
            logits.squeeze(1), domains.to(logits.dtype), reduction="none"
        )
    return F.cross_entropy(logits, domains, reduction="none")


def _domain_accuracy(logits: Tensor, domains: Tensor) -> Tensor:
    """Fraction of samples whose domain is predicted right, as a 0-dim tensor."""
    binary = logits.shape[1] == 1
    predicted = (logits.squeeze(1) > 0).long() if binary else logits.argmax(dim=1)
    return (predicted == domains).float().mean()


def domain_loss(logits: Tensor, domains: Tensor, reduction: str = "mean") -> Tensor:
    """Domain classification loss from logits.

    Parameters
    ----------
    logits : Tensor
        ``(N, 1)`` for two domains (binary cross-entropy with logits) or ``(N, K)`` for ``K``
        domains (softmax cross-entropy).
    domains : Tensor
        ``(N,)`` integer domain ids, in ``{0, 1}`` or ``[0, K)``.
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"`` (per-sample losses ``(N,)``), in nats.
    """
    _check_domains(logits, domains)
    losses = _per_sample_domain_loss(logits, domains)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")


class AdversarialLoss(nn.Module):
    """DANN domain-adversarial loss: GRL → discriminator → domain loss, with a λ schedule.

    Add its value to the task loss and call ``backward`` once: the discriminator's parameters
    get ordinary gradients (it learns to tell domains apart) while the features get gradients
    reversed and scaled by λ (the feature extractor learns to confuse it).

    Two forms:

    - ``adv(f_src, f_tgt)``: two domains, source = domain 0, target = domain 1;
      features ``(N, F)`` and ``(M, F)``.
    - ``adv(features, domains)``: ``K`` domains; features ``(N, F)``, integer ids ``(N,)``.

    The value is the mean over the domains present of each domain's mean loss, so unequal batch
    sizes weigh domains equally; for two domains at chance it is ``ln 2 ≈ 0.693`` nats.

    Progress: with ``max_steps`` set, each call in training mode uses λ at the current progress
    and then advances it by ``1 / max_steps`` (capped at 1). Without ``max_steps`` the caller
    sets ``adv.progress`` (the trainer does). ``last_coeff`` and ``last_domain_accuracy`` hold
    the λ used and the discriminator's accuracy on the last batch (``last_accuracy`` holds the
    latter as a 0-dim tensor, read without a device sync).

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
    max_steps : int, optional
        Total training calls, for self-advancing progress.
    """

    def __init__(
        self,
        in_features: int,
        num_domains: int = 2,
        discriminator: nn.Module | None = None,
        schedule: float | Callable[[float], float] = DannLambda(),
        max_steps: int | None = None,
    ) -> None:
        super().__init__()
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be >= 1; got {max_steps}")
        self.in_features = in_features
        self.num_domains = num_domains
        self.discriminator = discriminator or DomainDiscriminator(in_features, num_domains)
        self.grl = GradientReversal(schedule)
        self.max_steps = max_steps
        self.steps_done = 0
        self._progress_set = False
        self.last_coeff = 0.0
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
        self._progress_set = True

    @property
    def last_domain_accuracy(self) -> float:
        """Discriminator accuracy on the last batch (NaN before the first call)."""
        return math.nan if self.last_accuracy is None else float(self.last_accuracy)

    def _check_features(self, features: Tensor, what: str) -> Tensor:
        if features.ndim > 2:
            features = features.flatten(1)
        if features.ndim != 2 or features.shape[1] != self.in_features:
            raise ValueError(
                f"AdversarialLoss expects {what} of shape (N, {self.in_features}); "
                f"got {tuple(features.shape)}"
            )
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

    def _domain_term(self, feats: Tensor, domains: Tensor, n_src: int | None) -> Tensor:
        """Discriminator logits on ``feats``, reduced to the mean of per-domain mean losses."""
        logits = self.discriminator(feats)
        if n_src is None:
            _check_domains(logits, domains)
            expected = 1 if self.num_domains == 2 else self.num_domains
            if logits.shape[1] != expected:
                raise ValueError(
                    f"discriminator returned {logits.shape[1]} logits; expected {expected} "
                    f"for {self.num_domains} domains"
                )
        losses = _per_sample_domain_loss(logits, domains)
        self.last_accuracy = _domain_accuracy(logits.detach(), domains)
        if n_src is not None:
            return 0.5 * (losses[:n_src].mean() + losses[n_src:].mean())
        k = self.num_domains
        sums = losses.new_zeros(k).index_add_(0, domains, losses)
        counts = losses.new_zeros(k).index_add_(0, domains, torch.ones_like(losses))
        present = (counts > 0).to(losses.dtype)
        return (sums / counts.clamp(min=1) * present).sum() / present.sum()

    def forward(self, features: Tensor, other: Tensor) -> Tensor:
        feats, domains, n_src = self._pair(features, other)
        coeff = self.grl.current_coeff()
        if self.training and self.max_steps is None and not self._progress_set and coeff == 0:
            warnings.warn(
                "AdversarialLoss: progress is never advanced (no max_steps and .progress never "
                "set), so a schedule starting at 0 keeps λ at 0 and nothing adapts; pass "
                "max_steps=... or set .progress every step",
                stacklevel=2,
            )
            self._progress_set = True
        loss = self._domain_term(self.grl(feats), domains, n_src)
        self.last_coeff = float(coeff)
        if self.training and self.max_steps is not None:
            self.steps_done += 1
            self.grl.progress = min(self.steps_done / self.max_steps, 1.0)
        return loss

    def discriminator_loss(self, features: Tensor, other: Tensor) -> Tensor:
        """The same domain loss on detached features and without the GRL: a loss for the
        discriminator alone (alternating updates). Same call forms as ``forward``; progress
        does not advance."""
        feats, domains, n_src = self._pair(features.detach(), other.detach())
        return self._domain_term(feats, domains, n_src)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_domains={self.num_domains}"


def _as_logit_vector(logits: Tensor, name: str) -> Tensor:
    if logits.ndim == 2 and logits.shape[1] == 1:
        return logits.squeeze(1)
    if logits.ndim != 1:
        raise ValueError(f"{name} must have shape (N,) or (N, 1); got {tuple(logits.shape)}")
    return logits


def adda_discriminator_loss(d_src_logits: Tensor, d_tgt_logits: Tensor) -> Tensor:
    """ADDA discriminator loss: tell source features (label 1) from target features (label 0).

    ``L_D = ½ (mean softplus(-z_s) + mean softplus(z_t))`` in nats, where ``softplus(-z)`` is
    ``-log σ(z)``. Logits ``(N,)`` or ``(N, 1)`` for source, ``(M,)`` or ``(M, 1)`` for target.
    """
    z_s = _as_logit_vector(d_src_logits, "d_src_logits")
    z_t = _as_logit_vector(d_tgt_logits, "d_tgt_logits")
    return 0.5 * (F.softplus(-z_s).mean() + F.softplus(z_t).mean())


def adda_mapping_loss(d_tgt_logits: Tensor, objective: MappingObjective = "gan") -> Tensor:
    """ADDA loss for the target encoder, from the discriminator's logits ``z`` on target features.

    With ``σ`` the sigmoid and ``D = σ(z)`` the probability of "source":

    - ``"gan"`` (inverted labels, the paper's choice): ``mean(-log D) = mean softplus(-z)``;
    - ``"minimax"``: the negated target term of the discriminator's loss,
      ``-mean(-log(1 - D)) = -mean softplus(z)`` (what gradient reversal computes);
    - ``"confusion"``: cross-entropy against the uniform distribution,
      ``mean(½ softplus(-z) + ½ softplus(z))``.

    Logits ``(M,)`` or ``(M, 1)``; the result is a 0-dim tensor in nats.
    """
    z = _as_logit_vector(d_tgt_logits, "d_tgt_logits")
    if objective == "gan":
        return F.softplus(-z).mean()
    if objective == "minimax":
        return -F.softplus(z).mean()
    if objective == "confusion":
        return 0.5 * (F.softplus(-z) + F.softplus(z)).mean()
    raise ValueError(f"objective must be one of {list(MAPPING_OBJECTIVES)}; got {objective!r}")


__all__ = [
    "MAPPING_OBJECTIVES",
    "AdversarialLoss",
    "adda_discriminator_loss",
    "adda_mapping_loss",
    "domain_loss",
]
