"""Source-only baseline: the same network trained on labelled source data, no adaptation; and
the train-on-target upper bound: the same method given the labelled *target* training set as
its source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from unshift.core.registry import METHODS, SectionConfig
from unshift.methods.base import Method, Sources, StepResult, Targets


@METHODS.register("source_only")
class SourceOnly(Method):
    """Cross-entropy on the source batches; target batches are ignored."""

    @dataclass
    class Config(SectionConfig):
        """``method: {name: source_only}`` (no options)."""

    def joint_step(self, sources: Sources, targets: Targets) -> StepResult:
        return self.source_step(sources, targets)


@METHODS.register("target_only")
class TargetOnly(SourceOnly):
    """:class:`SourceOnly` trained on the labelled target training data: the upper bound. The
    run swaps the task's sources for its (labelled) targets before training."""

    @dataclass
    class Config(SectionConfig):
        """``method: {name: target_only}`` (no options; the target training set needs labels)."""

    trains_on_target: ClassVar[bool] = True
