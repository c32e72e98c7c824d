"""Building blocks on torch alone: gradient reversal, the domain discriminator, the
adversarial loss modules (DANN's and CDAN's conditional one) and multi-output label heads."""

from unshift.nn.adversarial import AdversarialLoss
from unshift.nn.conditional import (
    ConditionalAdversarialLoss,
    RandomizedMultilinearMap,
    entropy_weights,
    multilinear_map,
)
from unshift.nn.discriminator import DomainDiscriminator
from unshift.nn.grl import GradientReversal, GradientReverseFunction, grad_reverse
from unshift.nn.heads import MultiOutputHead, label_loss, output_classes, prediction_entropy

__all__ = [
    "AdversarialLoss",
    "ConditionalAdversarialLoss",
    "DomainDiscriminator",
    "GradientReversal",
    "GradientReverseFunction",
    "MultiOutputHead",
    "RandomizedMultilinearMap",
    "entropy_weights",
    "grad_reverse",
    "label_loss",
    "multilinear_map",
    "output_classes",
    "prediction_entropy",
]
