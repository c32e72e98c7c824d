"""Building blocks on torch alone: gradient reversal, the domain discriminator, the
adversarial loss module and multi-output label heads."""

from unshift.nn.adversarial import AdversarialLoss
from unshift.nn.discriminator import DomainDiscriminator
from unshift.nn.grl import GradientReversal, GradientReverseFunction, grad_reverse
from unshift.nn.heads import MultiOutputHead, label_loss, output_classes, prediction_entropy

__all__ = [
    "AdversarialLoss",
    "DomainDiscriminator",
    "GradientReversal",
    "GradientReverseFunction",
    "MultiOutputHead",
    "grad_reverse",
    "label_loss",
    "output_classes",
    "prediction_entropy",
]
