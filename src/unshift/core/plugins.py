"""Plugins: a user's own methods, networks, datasets or validators, imported before a config is
read, so that they register their names like the built-ins.

Three doors, one effect (the module is imported once):

- installed packages declare an entry point in the group ``unshift.plugins`` (any object: the
  module that defines it is imported), loaded the first time a registry is asked for a name;
- ``unshift train --plugin MODULE_OR_FILE`` (repeatable), or ``UNSHIFT_PLUGINS`` (paths or
  module names separated by ``os.pathsep``);
- the ``plugins`` list of a config, where a run's ``config.yaml`` records the two above, so
  that ``eval``, ``report``, ``predict``, ``select`` and ``--resume`` import them again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

from unshift.core.errors import ConfigError

GROUP = "unshift.plugins"
ENVIRONMENT = "UNSHIFT_PLUGINS"
_entry_points_loaded = False


def is_file(spec: str) -> bool:
    """Whether plugin ``spec`` names a Python file (else a module name)."""
    return spec.endswith(".py") or os.sep in spec or Path(spec).is_file()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def load_plugin(spec: str) -> None:
    """Import plugin ``spec`` (a module name, or the path of a ``.py`` file, imported as a
    module named after its absolute path, once); a failure is one :class:`ConfigError` line
    naming the plugin."""
    if not is_file(spec):
        try:
            importlib.import_module(spec)
        except Exception as err:
            raise ConfigError(f"plugin {spec!r} failed to import ({_first_line(err)})") from None
        return
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"plugin file {path} does not exist")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"unshift_plugin_{path.stem}_{digest}"
    if name in sys.modules:
        return
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise ConfigError(f"plugin file {path} failed to import ({_first_line(err)})") from None


def load_plugins(specs: list[str]) -> list[str]:
    """Import every plugin of ``specs`` in order; return them as a config records them (files
    as absolute paths, duplicates dropped)."""
    recorded: list[str] = []
    for spec in specs:
        load_plugin(spec)
        entry = str(Path(spec).expanduser().resolve()) if is_file(spec) else spec
        if entry not in recorded:
            recorded.append(entry)
    return recorded


def environment_plugins() -> list[str]:
    """The plugins named by ``UNSHIFT_PLUGINS`` (``os.pathsep``-separated)."""
    return [s for s in os.environ.get(ENVIRONMENT, "").split(os.pathsep) if s.strip()]


def load_entry_points() -> None:
    """Import the modules of every installed entry point in the group ``unshift.plugins``
    (once per process); a failure names the entry point and its package."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=GROUP):
        try:
            ep.load()
        except Exception as err:
            package = f" of package {ep.dist.name}" if ep.dist is not None else ""
            raise ConfigError(
                f"plugin entry point {ep.name!r}{package} ({ep.value}) failed to import "
                f"({_first_line(err)})"
            ) from None
