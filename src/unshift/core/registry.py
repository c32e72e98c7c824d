"""Registries: methods, networks and datasets, each registered by name where it is defined.

An entry is a name, the object that builds it (a method class, a network builder, a dataset
builder) and its typed config: a dataclass whose fields are exactly the keys that the entry's
config section may hold (besides ``name``). Rules on a single value live in the dataclass's
``__post_init__`` and raise :class:`FieldError` naming the field, so that the config layer can
name the dotted key (``method.k_d``) and a Python caller gets the same message.

This module imports nothing heavy: the built-in entries are imported (with torch) only when a
registry is first asked for a name, so that reading a config's other sections stays fast.
Third-party code registers its own entries the same way, from any module (made known by
:mod:`unshift.core.plugins`: an entry point, ``--plugin`` or a config's ``plugins``)::

    @METHODS.register("my_method")
    class MyMethod(Method):
        @dataclass
        class Config(SectionConfig):
            weight: float = 1.0
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from unshift.core.errors import FieldError, require

T = TypeVar("T")


PATH: dict[str, Any] = {"path": True}
"""Field metadata of a config field that holds a file or directory path (or a dict of them),
e.g. ``root: str | None = field(default=None, metadata=PATH)``: a run's ``config.yaml``
stores it absolute (:func:`unshift.training.config.resolve_paths`)."""


@dataclass
class SectionConfig:
    """Base of every entry's config: ``name`` is the registered name that built it."""

    name: str = ""

    def check_run(self, run: Any) -> None:
        """Rules that involve other sections of the whole run config ``run`` (e.g. a length
        against ``run.trainer.steps``); raise :class:`FieldError` naming this section's field."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: what builds it and the dataclass of its config section."""

    name: str
    target: T
    config: type[SectionConfig]

    def default_config(self) -> SectionConfig:
        """The entry's config with every default (``name`` set)."""
        return self.config(name=self.name)


class Registry(Generic[T]):
    """Names → :class:`Entry`; the built-ins are the modules of ``package``, imported on the
    first look-up."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._entries: dict[str, Entry[T]] = {}
        self._loaded = False

    def register(self, name: str, config: type[SectionConfig] | None = None) -> Callable[[T], T]:
        """Decorator registering ``target`` under ``name`` with ``config`` (default: the
        target's nested ``Config`` class). Registering a taken name is an error."""

        def decorate(target: T) -> T:
            cfg = config if config is not None else getattr(target, "Config", None)
            if not (isinstance(cfg, type) and issubclass(cfg, SectionConfig)):
                raise TypeError(
                    f"{self.kind} {name!r} needs a config dataclass derived from SectionConfig"
                )
            if name in self._entries and self._entries[name].target is not target:
                raise ValueError(f"{self.kind} name {name!r} is already registered")
            self._entries[name] = Entry(name, target, cfg)
            return target

        return decorate

    def _load_builtins(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__, f"{self.package}."):
            importlib.import_module(module.name)
        from unshift.core.plugins import load_entry_points

        load_entry_points()

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load_builtins()
        return sorted(self._entries)

    def get(self, name: str) -> Entry[T]:
        """The entry registered as ``name``; ``KeyError`` with the known names if none."""
        self._load_builtins()
        if name not in self._entries:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {self.names()}")
        return self._entries[name]


METHODS: Registry[Any] = Registry("method", "unshift.methods")
MODELS: Registry[Any] = Registry("model", "unshift.models")
DATASETS: Registry[Any] = Registry("dataset", "unshift.data")


__all__ = [
    "DATASETS",
    "METHODS",
    "MODELS",
    "Entry",
    "FieldError",
    "Registry",
    "SectionConfig",
    "require",
]
