"""What a validator reads (:class:`ValidationData`) and the forward passes validators share:
features, logits and probabilities of a trained method on a domain, in eval mode."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from unshift.core.errors import DataError
from unshift.data.domains import AnyDomain, TaskData
from unshift.eval.metrics import row_batches
from unshift.methods.base import Method

MAX_SAMPLES = 2000
"""Target inputs a validator reads at most (DEV: also source validation samples): a seeded
subset. Source validation accuracy reads the whole held-out split."""


@dataclass
class ValidationData:
    """What a validator may read: ``target`` inputs ``(N, *)`` (their labels, if any, are never
    read) and, optionally, ``source_val`` ``(M, *)`` with labels ``(M,)``, held out of the
    source training data. ``seed`` fixes the subsets drawn."""

    target: AnyDomain
    source_val: AnyDomain | None = None
    seed: int = 0

    @classmethod
    def from_task(cls, data: TaskData, seed: int = 0) -> ValidationData:
        """The first target training set (its labels dropped) and the task's held-out source
        validation data (:func:`~unshift.data.domains.hold_out`)."""
        return cls(data.targets[0].unlabelled(), data.source_val, seed)

    def subset(self, domain: AnyDomain) -> AnyDomain:
        """At most :data:`MAX_SAMPLES` rows of ``domain`` (seeded; labels kept aligned)."""
        if len(domain) <= MAX_SAMPLES:
            return domain
        gen = torch.Generator().manual_seed(self.seed)
        return domain.subset(torch.randperm(len(domain), generator=gen)[:MAX_SAMPLES])

    def labelled_source(self) -> AnyDomain:
        if self.source_val is None or self.source_val.y is None:
            raise DataError(
                "this validator reads labelled source validation data and there is none; hold "
                "some out of the source training data (data.source_val_fraction)"
            )
        return self.source_val


@torch.no_grad()
def outputs(method: Method, domain: AnyDomain) -> tuple[Tensor, Tensor]:
    """Features ``(N, F)`` and class probabilities ``(N, C)`` of ``method`` on ``domain``."""
    f, p, _ = outputs_and_rows(method, domain)
    return f, p


def features_and_logits(method: Method, x: Tensor) -> tuple[Tensor, Tensor]:
    """Features ``(B, F)`` and float logits ``(B, C)`` of a batch ``(B, *)``, on the CPU."""
    f = method.features(x)
    logits = method.classify(f)
    if isinstance(logits, tuple):
        raise DataError("validators score single-output classifiers")
    return f.float().cpu(), logits.float().cpu()


@torch.no_grad()
def logits_and_rows(method: Method, domain: AnyDomain) -> tuple[Tensor, Tensor, Tensor]:
    """Features ``(M, F)``, logits ``(M, C)`` and the rows ``(M,)`` they belong to, in eval
    mode (a streamed domain leaves out samples it cannot read)."""
    was_training = method.training
    method.eval()
    feats, logits, rows = [], [], []
    for b, r in row_batches(domain):
        f, z = features_and_logits(method, b)
        feats.append(f)
        logits.append(z)
        rows.append(r)
    method.train(was_training)
    return torch.cat(feats), torch.cat(logits), torch.cat(rows)


def outputs_and_rows(method: Method, domain: AnyDomain) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`_outputs` with the rows ``(M,)`` they belong to (a streamed domain leaves out
    samples it cannot read)."""
    f, z, rows = logits_and_rows(method, domain)
    return f, torch.softmax(z, dim=1), rows


def row_entropy(p: Tensor) -> Tensor:
    """Row-wise entropy ``-Σ p log p`` in nats."""
    return -(p * p.clamp_min(1e-12).log()).sum(-1)


def information(p: Tensor) -> float:
    """Information maximisation of class probabilities ``p`` ``(N, C)``: ``H(mean_i p_i) -
    mean_i H(p_i)`` in nats (high for confident, class-balanced predictions)."""
    return float(row_entropy(p.mean(0)) - row_entropy(p).mean())
