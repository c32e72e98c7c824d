"""Transfer Score (Yang et al., ICLR 2024): how clusterable the target features are, how
informative the target predictions are, and how evenly the classifier spreads its classes."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from unshift.core.errors import DataError
from unshift.methods.base import Method
from unshift.runs.validation_data import ValidationData, information, outputs

HOPKINS_FRACTION = 0.05
"""Share of the target rows sampled for the Hopkins statistic (the paper's 5 %)."""


def hopkins(x: Tensor, probes: Tensor, sample: Tensor) -> float:
    """Hopkins statistic of the rows of ``x`` ``(N, F)``: ``Σu / (Σu + Σw)``, ``u`` the distance
    of each probe ``(M, F)`` to its nearest row, ``w`` that of each sampled row (indices ``(M,)``)
    to its nearest other row. About 0.5 for rows spread uniformly, towards 1 when they cluster."""
    u = torch.cdist(probes.double(), x.double()).min(1).values.sum()
    between = torch.cdist(x[sample].double(), x.double())
    between[torch.arange(len(sample)), sample] = math.inf
    w = between.min(1).values.sum()
    return float(u / (u + w)) if u + w > 0 else 0.0


def uniformity(weight: Tensor) -> float:
    """Mean squared deviation (radians²) of the angles between the rows of ``weight`` ``(C, F)``
    from ``arccos(-1 / (C - 1))``, the angle between the vertices of a regular simplex: 0 when
    every class is equally far from every other."""
    w = nn.functional.normalize(weight.detach().double().flatten(1), dim=1)
    n = len(w)
    off = ~torch.eye(n, dtype=torch.bool)
    theta = torch.acos((w @ w.T).clamp(-1.0, 1.0)[off])
    return float(((theta - math.acos(-1.0 / (n - 1))) ** 2).mean())


def classifier_weight(method: Method) -> Tensor:
    """The weight ``(C, F)`` of the last linear layer of ``method``'s label head, or of its
    whole network where the head has none (ADDA adapting at the logits: the network is its
    encoder, the head an identity)."""
    for part in (method.label_head, method.feature_extractor):
        linear = [m for m in part.modules() if isinstance(m, nn.Linear)]
        if linear:
            return linear[-1].weight
    raise DataError("Transfer Score reads the network's last linear layer; it has none")


def transfer_score(method: Method, data: ValidationData) -> float:
    """Transfer Score (Yang et al. 2024): ``Hopkins(f) + IM / log C − U(W)`` on the target
    features ``f`` (a seeded 5 % sample against as many probes drawn uniformly in their bounding
    box), the information maximisation of the target predictions normalised to ``[0, 1]``, and
    the uniformity ``U`` of the classifier's last weight matrix (:func:`uniformity`). Reads:
    target inputs and the classifier's weights."""
    f, p = outputs(method, data.subset(data.target))
    gen = torch.Generator().manual_seed(data.seed)
    m = max(1, round(HOPKINS_FRACTION * len(f)))
    sample = torch.randperm(len(f), generator=gen)[:m]
    lo, hi = f.min(0).values, f.max(0).values
    probes = lo + (hi - lo) * torch.rand(m, f.shape[1], generator=gen)
    im = information(p) / math.log(p.shape[1])
    return hopkins(f, probes, sample) + im - uniformity(classifier_weight(method))
