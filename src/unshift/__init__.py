"""unshift: adversarial unsupervised domain adaptation for PyTorch.

The package is layered; each layer may import only the ones before it (docs/ARCHITECTURE.md):
:mod:`unshift.core` (errors, registries, plugins, run directories) → :mod:`unshift.nn`
(building blocks on torch alone: gradient reversal, discriminators, losses, schedules) →
:mod:`unshift.data` → :mod:`unshift.models` → :mod:`unshift.eval` → :mod:`unshift.methods` →
:mod:`unshift.training` (config, the :class:`~unshift.training.trainer.Trainer`) →
:mod:`unshift.report` → :mod:`unshift.runs` (runs, predictions, selection) → the interfaces
:mod:`unshift.cli`, :mod:`unshift.sklearn`, :mod:`unshift.keras`.

``unshift.Trainer`` and ``unshift.load_model`` are imported on first use, so that the building
blocks load with torch alone. The module paths of version 0.1 (``unshift.trainer``,
``unshift.losses``, ``unshift.config``, ...) still import: :mod:`unshift.core.moved`.
"""

from typing import Any

from unshift.core.moved import install

__version__ = "0.1.0"

install()


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from unshift.training.trainer import Trainer

        return Trainer
    if name == "load_model":
        from unshift.runs.predict import load_model

        return load_model
    raise AttributeError(f"module 'unshift' has no attribute {name!r}")
