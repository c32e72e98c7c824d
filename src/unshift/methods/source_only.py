"""Source-only baseline: the same network trained on labelled source data, no adaptation.

Trained on labelled *target* data instead (the trainer is given the target training set as its
source), the same method is the train-on-target upper bound.
"""

from __future__ import annotations

from unshift.methods.base import Logs, Method, Sources, Targets


class SourceOnly(Method):
    """Cross-entropy on the source batches; target batches are ignored."""

    def forward(self, sources: Sources, targets: Targets, phase: str = "joint"):
        loss = self.label_loss(sources)
        logs: Logs = {"label_loss": loss.detach()}
        return loss, logs
