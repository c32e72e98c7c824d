"""Building blocks on torch alone: gradient reversal and the domain discriminator."""

from unshift.nn.discriminator import DomainDiscriminator
from unshift.nn.grl import GradientReversal, GradientReverseFunction, grad_reverse

__all__ = ["DomainDiscriminator", "GradientReversal", "GradientReverseFunction", "grad_reverse"]
