"""Adversarial losses as pure functions of logits (never ``sigmoid`` followed by ``BCELoss``).

Domain labels, everywhere in unshift: **source = 0, target = 1**; with ``K`` domains the
sources come first (ids ``0 … S-1``), then the targets. A single domain logit ``z`` is the
log-odds of *target*: ``z > 0`` predicts target.

- :func:`domain_loss`: binary or K-way domain classification loss; :func:`domain_accuracy`.
- :func:`adda_discriminator_loss`, :func:`adda_mapping_loss`: the two ADDA objectives
  (Tzeng et al. 2017), with the mapping objective ``minimax``, ``gan`` or ``confusion``.
- :func:`classifier_discrepancy`: MCD's disagreement of two classifiers (Saito et al. 2018).
- :func:`margin_disparity_loss`: MDD's margin disparity (Zhang et al. 2019) for an adversarial
  head behind a GRL.
- The modules built on these, :class:`~unshift.nn.AdversarialLoss` (GRL + discriminator +
  schedule, the DANN domain term) and :class:`~unshift.nn.ConditionalAdversarialLoss` (CDAN's,
  conditioned on the predictions), import this module; it imports none of them.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

MappingObjective = Literal["minimax", "gan", "confusion"]
MAPPING_OBJECTIVES: tuple[str, ...] = ("minimax", "gan", "confusion")


def check_domains(logits: Tensor, domains: Tensor) -> int:
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


def per_sample_domain_loss(logits: Tensor, domains: Tensor) -> Tensor:
    """Unreduced loss ``(N,)`` for already validated inputs."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(
            logits.squeeze(1), domains.to(logits.dtype), reduction="none"
        )
    return F.cross_entropy(logits, domains, reduction="none")


def domain_accuracy(logits: Tensor, domains: Tensor) -> Tensor:
    """Fraction of samples whose domain is predicted right, as a 0-dim tensor (read without
    a device sync). ``logits`` ``(N, 1)`` (``> 0``: target) or ``(N, K)``, ``domains`` ``(N,)``."""
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
    check_domains(logits, domains)
    losses = per_sample_domain_loss(logits, domains)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")


def _as_logit_vector(logits: Tensor, name: str) -> Tensor:
    if logits.ndim == 2 and logits.shape[1] == 1:
        return logits.squeeze(1)
    if logits.ndim != 1:
        raise ValueError(f"{name} must have shape (N,) or (N, 1); got {tuple(logits.shape)}")
    return logits


def adda_discriminator_loss(d_src_logits: Tensor, d_tgt_logits: Tensor) -> Tensor:
    """ADDA discriminator loss: tell source features (domain 0) from target features (domain 1).

    With ``z`` the target log-odds, ``L_D = ½ (mean softplus(z_s) + mean softplus(-z_t))`` in
    nats (``softplus(-z) = -log σ(z)``): the mean of the two domains' binary cross-entropies,
    as in :func:`domain_loss`. Logits ``(N,)`` or ``(N, 1)`` for source, ``(M,)`` or
    ``(M, 1)`` for target.
    """
    z_s = _as_logit_vector(d_src_logits, "d_src_logits")
    z_t = _as_logit_vector(d_tgt_logits, "d_tgt_logits")
    return 0.5 * (F.softplus(z_s).mean() + F.softplus(-z_t).mean())


def adda_mapping_loss(d_tgt_logits: Tensor, objective: MappingObjective = "gan") -> Tensor:
    """ADDA loss for the target encoder, from the discriminator's logits ``z`` on target features.

    With ``σ`` the sigmoid and ``D = σ(z)`` the probability of "target" (domain 1):

    - ``"gan"`` (inverted labels, the paper's choice): the target labelled source,
      ``mean(-log(1 - D)) = mean softplus(z)``;
    - ``"minimax"``: the negated target term of the discriminator's loss,
      ``-mean(-log D) = -mean softplus(-z)`` (what gradient reversal computes);
    - ``"confusion"``: cross-entropy against the uniform distribution,
      ``mean(½ softplus(-z) + ½ softplus(z))``.

    Logits ``(M,)`` or ``(M, 1)``; the result is a 0-dim tensor in nats.
    """
    z = _as_logit_vector(d_tgt_logits, "d_tgt_logits")
    if objective == "gan":
        return F.softplus(z).mean()
    if objective == "minimax":
        return -F.softplus(-z).mean()
    if objective == "confusion":
        return 0.5 * (F.softplus(-z) + F.softplus(z)).mean()
    raise ValueError(f"objective must be one of {list(MAPPING_OBJECTIVES)}; got {objective!r}")


def classifier_discrepancy(logits_a: Tensor, logits_b: Tensor) -> Tensor:
    """MCD's discrepancy: the mean absolute difference of two classifiers' class
    probabilities, ``mean_{n,c} |softmax(a)_{nc} − softmax(b)_{nc}|`` (a scalar in
    ``[0, 2/C]``), from logits ``(N, C)`` of the same samples. Differentiable in both."""
    if logits_a.ndim != 2 or logits_a.shape != logits_b.shape:
        raise ValueError(
            "classifier_discrepancy expects two logits of the same shape (N, C); got "
            f"{tuple(logits_a.shape)} and {tuple(logits_b.shape)}"
        )
    return (logits_a.softmax(1) - logits_b.softmax(1)).abs().mean()


def margin_disparity_loss(
    logits_s: Tensor, adv_s: Tensor, logits_t: Tensor, adv_t: Tensor, margin: float = 4.0
) -> Tensor:
    """MDD's loss for the adversarial head ``f'`` (Zhang et al., ICML 2019, as TLlib computes
    it): ``γ · CE(adv_s, ŷ_s) − mean log(1 − softmax(adv_t)[ŷ_t])``, with ``ŷ`` the main head's
    predicted classes (``argmax`` of ``logits_s``/``logits_t``, no gradient) and ``γ`` the
    ``margin``. Minimising it makes ``f'`` agree with the main head on the source and disagree
    on the target; behind a gradient reversal layer the features learn the opposite, so that no
    head near the main one can disagree on the target. Logits ``(N, C)``; a scalar."""
    if logits_s.shape != adv_s.shape or logits_t.shape != adv_t.shape or logits_s.ndim != 2:
        raise ValueError(
            "margin_disparity_loss expects main and adversarial logits of equal shapes (N, C); "
            f"got {tuple(logits_s.shape)}, {tuple(adv_s.shape)}, {tuple(logits_t.shape)}, "
            f"{tuple(adv_t.shape)}"
        )
    pred_s, pred_t = logits_s.detach().argmax(1), logits_t.detach().argmax(1)
    source = F.cross_entropy(adv_s, pred_s)
    p_t = adv_t.softmax(1).gather(1, pred_t[:, None]).squeeze(1)
    target = -torch.log(torch.clamp(1.0 - p_t + 1e-6, max=1.0)).mean()
    return margin * source + target


__all__ = [
    "MAPPING_OBJECTIVES",
    "adda_discriminator_loss",
    "adda_mapping_loss",
    "classifier_discrepancy",
    "domain_accuracy",
    "domain_loss",
    "margin_disparity_loss",
]
