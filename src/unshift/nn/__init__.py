"""Building blocks on torch alone: gradient reversal (:mod:`~unshift.nn.grl`), the domain
discriminator, the adversarial loss modules (DANN's and CDAN's conditional one), multi-output
label heads, the loss functions (:mod:`~unshift.nn.losses`; without a discriminator:
:mod:`~unshift.nn.alignment`) and the schedules
(:mod:`~unshift.nn.schedules`, pure Python).

The names below are imported on first use, so that ``unshift.nn.schedules`` (and through it a
config) loads without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unshift.nn.adversarial import AdversarialLoss
    from unshift.nn.alignment import class_confusion_loss, coral_loss
    from unshift.nn.conditional import (
        ConditionalAdversarialLoss,
        RandomizedMultilinearMap,
        entropy_weights,
        multilinear_map,
    )
    from unshift.nn.discriminator import DomainDiscriminator
    from unshift.nn.grl import GradientReversal, GradientReverseFunction, grad_reverse
    from unshift.nn.heads import MultiOutputHead, label_loss, output_classes, prediction_entropy

_WHERE = {
    "AdversarialLoss": "adversarial",
    "class_confusion_loss": "alignment",
    "coral_loss": "alignment",
    "ConditionalAdversarialLoss": "conditional",
    "RandomizedMultilinearMap": "conditional",
    "entropy_weights": "conditional",
    "multilinear_map": "conditional",
    "DomainDiscriminator": "discriminator",
    "GradientReversal": "grl",
    "GradientReverseFunction": "grl",
    "grad_reverse": "grl",
    "MultiOutputHead": "heads",
    "label_loss": "heads",
    "output_classes": "heads",
    "prediction_entropy": "heads",
}

__all__ = [
    "AdversarialLoss",
    "ConditionalAdversarialLoss",
    "DomainDiscriminator",
    "GradientReversal",
    "GradientReverseFunction",
    "MultiOutputHead",
    "RandomizedMultilinearMap",
    "class_confusion_loss",
    "coral_loss",
    "entropy_weights",
    "grad_reverse",
    "label_loss",
    "multilinear_map",
    "output_classes",
    "prediction_entropy",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'unshift.nn' has no attribute {name!r}")
    return getattr(importlib.import_module(f"unshift.nn.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
