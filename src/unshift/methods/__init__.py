"""Methods: what one training step computes. One file each; the trainer runs them all."""

from unshift.methods.adda import ADDA
from unshift.methods.base import Method, Phase
from unshift.methods.dann import DANN
from unshift.methods.source_only import SourceOnly

__all__ = ["ADDA", "DANN", "Method", "Phase", "SourceOnly"]
