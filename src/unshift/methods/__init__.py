"""Methods: what one training step computes. One file each, registered by name
(:data:`unshift.core.registry.METHODS`); the trainer runs them all."""

from unshift.methods.adda import ADDA
from unshift.methods.base import Method, Phase
from unshift.methods.cdan import CDAN
from unshift.methods.dann import DANN
from unshift.methods.mcd import MCD
from unshift.methods.source_only import SourceOnly, TargetOnly

__all__ = ["ADDA", "CDAN", "DANN", "MCD", "Method", "Phase", "SourceOnly", "TargetOnly"]
