"""Methods: what one training step computes. One file each, registered by name
(:data:`unshift.core.registry.METHODS`); the trainer runs them all."""

from unshift.methods.adda import ADDA
from unshift.methods.base import Method, Phase
from unshift.methods.cdan import CDAN
from unshift.methods.coral import DeepCORAL
from unshift.methods.dann import DANN
from unshift.methods.mcc import MCC
from unshift.methods.mcd import MCD
from unshift.methods.mdd import MDD
from unshift.methods.source_only import SourceOnly, TargetOnly

__all__ = [
    "ADDA",
    "CDAN",
    "DANN",
    "MCC",
    "MCD",
    "MDD",
    "DeepCORAL",
    "Method",
    "Phase",
    "SourceOnly",
    "TargetOnly",
]
