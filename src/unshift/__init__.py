"""unshift: adversarial unsupervised domain adaptation for PyTorch.

Building blocks (torch only): :mod:`unshift.nn`, :mod:`unshift.schedules`,
:mod:`unshift.losses`. Methods: :mod:`unshift.methods`. The loop: :class:`unshift.Trainer`
(imported on first use, so that the building blocks load with torch alone). A trained run as
a model for new data: :func:`unshift.load_model` (see :mod:`unshift.predict`).
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from unshift.trainer import Trainer

        return Trainer
    if name == "load_model":
        from unshift.predict import load_model

        return load_model
    raise AttributeError(f"module 'unshift' has no attribute {name!r}")
