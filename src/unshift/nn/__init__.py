"""Building blocks on torch alone: gradient reversal, the domain discriminator and
multi-output label heads."""

from unshift.nn.discriminator import DomainDiscriminator
from unshift.nn.grl import GradientReversal, GradientReverseFunction, grad_reverse
from unshift.nn.heads import MultiOutputHead, label_loss, output_classes

__all__ = [
    "DomainDiscriminator",
    "GradientReversal",
    "GradientReverseFunction",
    "MultiOutputHead",
    "grad_reverse",
    "label_loss",
    "output_classes",
]
