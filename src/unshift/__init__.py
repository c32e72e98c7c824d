"""unshift: adversarial unsupervised domain adaptation for PyTorch.

Building blocks (torch only): :mod:`unshift.nn`, :mod:`unshift.schedules`,
:mod:`unshift.losses`. Methods: :mod:`unshift.methods`. The loop: :class:`unshift.Trainer`
(imported on first use, so that the building blocks load with torch alone).
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from unshift.trainer import Trainer

        return Trainer
    raise AttributeError(f"module 'unshift' has no attribute {name!r}")
