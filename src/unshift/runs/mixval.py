"""MixVal (Hu et al. 2023): mixed target samples as probes of a model's cluster boundaries."""

from __future__ import annotations

import torch
from torch import Tensor

from unshift.eval.metrics import row_batches
from unshift.methods.base import Method
from unshift.runs.validation_data import ValidationData, features_and_logits

MIX_LAMBDA = 0.55
"""MixVal's mixing weight of the dominant sample (Hu et al. 2023)."""


@torch.no_grad()
def mix_agreement(method: Method, data: ValidationData) -> tuple[Tensor, Tensor]:
    """MixVal's probes (Hu et al. 2023): each target sample ``x_i`` (a seeded subset) is mixed
    with a partner ``x_j`` drawn by a seeded permutation within its batch of up to 1024,
    ``λ x_i + (1 − λ) x_j`` with λ = 0.55, and the model's class on the mix is compared with
    ``x_i``'s pseudo-label (its arg-max class). Returns ``agree`` ``(N,)`` (the class on the mix
    is ``x_i``'s) and ``same`` ``(N,)`` (``x_i`` and ``x_j`` share a pseudo-label), both bool.
    Inputs are mixed after the loader's scaling, which commutes with mixing when it is affine."""
    was_training = method.training
    method.eval()
    gen = torch.Generator().manual_seed(data.seed)
    agree, same = [], []
    for x, _ in row_batches(data.subset(data.target)):
        pseudo = features_and_logits(method, x)[1].argmax(1)
        perm = torch.randperm(len(x), generator=gen)
        mixed = MIX_LAMBDA * x + (1 - MIX_LAMBDA) * x[perm.to(x.device)]
        agree.append(features_and_logits(method, mixed)[1].argmax(1) == pseudo)
        same.append(pseudo == pseudo[perm])
    method.train(was_training)
    return torch.cat(agree), torch.cat(same)


def _share(agree: Tensor, group: Tensor) -> float:
    """Share of ``agree`` within ``group``; 0 for an empty group (no probe, no credit)."""
    return float(agree[group].float().mean()) if bool(group.any()) else 0.0


def mixval_inter(method: Method, data: ValidationData) -> float:
    """MixVal's inter-cluster score: among pairs whose pseudo-labels differ, the share whose
    mix keeps the dominant sample's class (reads: target inputs). 0 when every pair shares a
    pseudo-label, as a collapsed model's do."""
    agree, same = mix_agreement(method, data)
    return _share(agree, ~same)


def mixval_intra(method: Method, data: ValidationData) -> float:
    """MixVal's intra-cluster score: the same share among pairs with one pseudo-label (reads:
    target inputs). 0 when no pair shares one."""
    agree, same = mix_agreement(method, data)
    return _share(agree, same)


def mixval(method: Method, data: ValidationData) -> float:
    """MixVal with both probes: the mean of :func:`mixval_inter` and :func:`mixval_intra` (an
    empty group counts 0, so a collapsed model scores at most 0.5). Reads: target inputs."""
    agree, same = mix_agreement(method, data)
    return (_share(agree, ~same) + _share(agree, same)) / 2
