"""Keras 3 port (extra ``[keras]``): gradient reversal layer, coefficient callback, DANN model.

Imports ``keras``; with no backend configured it picks the torch backend (``KERAS_BACKEND``
set by the user wins), so no TensorFlow is needed. Keras fixes its backend at its first import:
code that imports ``keras`` before this module must set ``KERAS_BACKEND=torch`` itself. The
layers use only ``keras.ops``, so whichever backend Keras runs on, they work.
"""

import os
import sys

if "keras" not in sys.modules:
    os.environ.setdefault("KERAS_BACKEND", "torch")

from unshift.keras.layers import CoeffScheduler, GradientReversal
from unshift.keras.model import DomainAdversarialModel, dann_fit_arrays

__all__ = ["CoeffScheduler", "DomainAdversarialModel", "GradientReversal", "dann_fit_arrays"]
