"""Import paths of the modules that moved into layer packages in version 0.2, kept working.

``import unshift.trainer`` gives the module ``unshift.training.trainer`` itself (the same object,
so classes, ``isinstance`` and pickles agree), imported only when asked for. A
:class:`MovedModules` finder on :data:`sys.meta_path`, installed by ``import unshift``, answers
for the old names. Both work; the new names say which layer a module sits in.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

MOVED = {
    "unshift.build": "unshift.training.build",
    "unshift.checkpoints": "unshift.training.checkpoints",
    "unshift.cli_args": "unshift.cli.arguments",
    "unshift.config": "unshift.training.config",
    "unshift.errors": "unshift.core.errors",
    "unshift.log_keys": "unshift.core.log_keys",
    "unshift.losses": "unshift.nn.losses",
    "unshift.plugins": "unshift.core.plugins",
    "unshift.predict": "unshift.runs.predict",
    "unshift.registry": "unshift.core.registry",
    "unshift.run": "unshift.runs.run",
    "unshift.schedules": "unshift.nn.schedules",
    "unshift.selection": "unshift.runs.selection",
    "unshift.sklearn_base": "unshift.sklearn.base",
    "unshift.sklearn_rows": "unshift.sklearn.rows",
    "unshift.specs": "unshift.training.specs",
    "unshift.trainer": "unshift.training.trainer",
    "unshift.validators": "unshift.runs.validators",
    "unshift.watchdog": "unshift.training.watchdog",
}
"""Old module name → where it lives now."""


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name of :data:`MOVED` and loads it as the module it became."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        spec.loader_state = (module.__spec__, module.__loader__)
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run (the module was imported under its new name), but the import system
        has just given it the old name's spec: give it back its own."""
        assert module.__spec__ is not None
        module.__spec__, module.__loader__ = module.__spec__.loader_state


def install() -> None:
    """Put one :class:`MovedModules` on :data:`sys.meta_path` (again: no change)."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())
