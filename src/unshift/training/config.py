"""Typed run configs: YAML files in ``configs/`` plus ``key=value`` overrides.

A run config has three registered sections, ``data``, ``model`` and ``method``, each a mapping
with a ``name`` and the fields of that entry's config dataclass (see :mod:`unshift.core.registry`),
and the loop's own sections ``optim``, ``trainer`` (the specs of :mod:`unshift.training.specs`) and
``report``. OmegaConf merges the YAML
file and the dotted overrides and checks types and unknown keys against each dataclass; the
dataclasses check their values when built. Every failure is a
:class:`~unshift.core.errors.ConfigError` with one line naming the dotted key, raised before any
data loads. This module imports no torch: the registries import their entries (and torch) only
when a section names one.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from unshift.core.errors import ConfigError
from unshift.core.plugins import load_plugins
from unshift.core.registry import DATASETS, METHODS, MODELS, PATH, FieldError, Registry
from unshift.training.specs import OptimizerSpec, TrainerSpec
from unshift.training.yaml_keys import DuplicateKey, load_yaml

SECTIONS: dict[str, tuple[Registry[Any], str]] = {
    "data": (DATASETS, "moons"),
    "model": (MODELS, "mlp"),
    "method": (METHODS, "dann"),
}
"""The registered sections: their registry and the name a config gets when it names none."""


@dataclass
class ReportConfig:
    """``baseline``: a run directory whose model is drawn beside this one (2-D data)."""

    baseline: str | None = field(default=None, metadata=PATH)


def _default(section: str) -> Any:
    """The default entry's config for a registered section."""
    registry, name = SECTIONS[section]
    return registry.get(name).default_config()


@dataclass
class RunConfig:
    """A whole run. ``data``, ``model`` and ``method`` hold the config dataclasses of the
    entries they name (their ``name`` field says which)."""

    seed: int = 0
    data: Any = field(default_factory=lambda: _default("data"))
    model: Any = field(default_factory=lambda: _default("model"))
    method: Any = field(default_factory=lambda: _default("method"))
    optim: OptimizerSpec = field(default_factory=OptimizerSpec)
    trainer: TrainerSpec = field(default_factory=TrainerSpec)
    report: ReportConfig = field(default_factory=ReportConfig)
    plugins: list[str] = field(default_factory=list)
    """Plugins (module names, ``.py`` files) imported before the sections are read."""

    def with_steps(self, steps: int) -> RunConfig:
        """This config with ``trainer.steps`` set to ``steps`` (e.g. ADDA's phase 1 alone)."""
        return replace(self, trainer=replace(self.trainer, steps=steps))


@dataclass
class _Schema:
    """What OmegaConf checks at the top level; the registered sections stay open mappings
    until their ``name`` picks a dataclass."""

    seed: int = 0
    optim: OptimizerSpec = field(default_factory=OptimizerSpec)
    trainer: TrainerSpec = field(default_factory=TrainerSpec)
    report: ReportConfig = field(default_factory=ReportConfig)
    plugins: list[str] = field(default_factory=list)


def _explain(err: OmegaConfBaseException, prefix: str = "") -> str:
    key = prefix + (getattr(err, "full_key", None) or "?")
    msg = str(err).splitlines()[0]
    if isinstance(err, (ConfigKeyError, ConfigAttributeError)):
        hint = msg.split(". ", 1)[1] if ". Did you mean" in msg else ""
        return f"unknown config key '{key}'" + (f" ({hint})" if hint else "")
    if isinstance(err, ValidationError):
        return f"bad value for config key '{key}': {msg}"
    return f"config error at '{key}': {msg}"


CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
"""The configs shipped in the package (``configs/`` in the repository links here)."""


def packaged_configs() -> list[str]:
    """Names of the packaged configs, e.g. ``moons/dann`` (``unshift configs`` lists them)."""
    found = CONFIG_DIR.rglob("*.yaml")
    return sorted(p.relative_to(CONFIG_DIR).with_suffix("").as_posix() for p in found)


def find_config(name: str | Path) -> Path:
    """``name`` itself where that file exists, else the packaged config of that name (with or
    without ``.yaml``, e.g. ``moons/dann``); a name that is neither stays as given."""
    path = Path(name)
    if path.exists():
        return path
    packaged = CONFIG_DIR / Path(name).with_suffix(".yaml")
    return packaged if packaged.is_file() and not path.is_absolute() else path


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        close = difflib.get_close_matches(str(path).removesuffix(".yaml"), packaged_configs(), 3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(
            f"config file {path} does not exist and is not a packaged config{hint}; "
            "`unshift configs` lists those"
        )
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory; give a YAML file")
    try:
        content = load_yaml(path.read_text())
    except DuplicateKey as err:
        raise ConfigError(f"config file {path}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from err
    if content is None:
        raise ConfigError(
            f"config file {path} is empty; it needs at least data, model and method sections "
            "(see configs/)"
        )
    if not isinstance(content, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return content


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"--set takes key=value; got '{item}'")
    key, text = item.split("=", 1)
    if not key:
        raise ConfigError(f"--set takes key=value; got '{item}'")
    try:
        value = load_yaml(text) if text else None
    except DuplicateKey as err:
        raise ConfigError(f"--set {key}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}: cannot read the value '{text}'") from err
    return key.strip(), value


def _instantiate(cls: type, values: dict[str, Any], prefix: str) -> Any:
    """``cls(**values)`` with nested dataclass fields built the same way; a
    :class:`FieldError` becomes a :class:`ConfigError` naming ``prefix + key``."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        value, kind = values[f.name], hints.get(f.name)
        if dataclasses.is_dataclass(kind) and isinstance(value, dict):
            value = _instantiate(kind, value, f"{prefix}{f.name}.")  # type: ignore[arg-type]
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except FieldError as err:
        raise ConfigError(f"bad value for config key '{prefix}{err.key}': {err.message}") from None


def _checked(cls: type, values: Any, prefix: str) -> Any:
    """``values`` (a mapping) checked by OmegaConf against ``cls`` and built."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(cls), values)
        plain = OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(_explain(err, prefix)) from None
    return _instantiate(cls, plain, prefix)  # type: ignore[arg-type]


def _section(section: str, values: Any) -> Any:
    """The config dataclass of the entry that section ``section`` names, built from it."""
    registry, default = SECTIONS[section]
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise ConfigError(
            f"config key '{section}' must be a mapping with a 'name' (e.g. {section}: "
            f"{{name: {default}}}); got {values!r}"
        )
    values = dict(values)
    name = values.pop("name", default)
    try:
        entry = registry.get(str(name))
    except KeyError:
        raise ConfigError(
            f"bad value for config key '{section}.name': unknown {registry.kind} {name!r}; "
            f"known: {registry.names()}"
        ) from None
    keys = [f.name for f in dataclasses.fields(entry.config) if f.name != "name"]
    unknown = sorted(set(values) - set(keys))
    if unknown:
        close = difflib.get_close_matches(unknown[0], keys, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"unknown config key '{section}.{unknown[0]}'{hint}; {registry.kind} "
            f"{entry.name!r} has the keys {keys}"
        )
    built = _checked(entry.config, values, f"{section}.")
    built.name = entry.name
    return built


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    plugins: list[str] | None = None,
) -> RunConfig:
    """The YAML file at ``path`` (if any; or a packaged config's name, :func:`find_config`) with
    ``key=value`` ``overrides`` applied, validated. The config's ``plugins`` and then
    ``plugins`` are imported first (:mod:`unshift.core.plugins`) and recorded in its ``plugins``."""
    raw = _read_yaml(find_config(path)) if path is not None else {}
    try:
        tree: DictConfig = OmegaConf.create(raw)
        for item in overrides or []:
            key, value = _parse_override(item)
            OmegaConf.update(tree, key, value, merge=True, force_add=True)
        merged = OmegaConf.to_container(tree, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(_explain(err)) from None
    assert isinstance(merged, dict)
    top = _checked(_Schema, {k: v for k, v in merged.items() if k not in SECTIONS}, "")
    recorded = load_plugins([*top.plugins, *(plugins or [])])
    config = RunConfig(
        seed=top.seed,
        optim=top.optim,
        trainer=top.trainer,
        report=top.report,
        plugins=recorded,
        **{s: _section(s, merged.get(s)) for s in SECTIONS},
    )
    for section in SECTIONS:
        try:
            getattr(config, section).check_run(config)
        except FieldError as err:
            raise ConfigError(
                f"bad value for config key '{section}.{err.key}': {err.message}"
            ) from None
    return config


def to_dict(config: RunConfig) -> dict[str, Any]:
    """The config as plain data: what YAML holds, ``name`` first in each section."""
    out = dataclasses.asdict(config)
    for section in SECTIONS:
        values = out[section]
        out[section] = {"name": values.pop("name"), **values}
    return out


def to_yaml(config: RunConfig) -> str:
    """The resolved config as YAML (what ``config.yaml`` in a run directory holds)."""
    return yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True)


def _absolute(value: Any) -> Any:
    if isinstance(value, str):
        return str(Path(value).expanduser().resolve())
    if isinstance(value, dict):
        return {k: _absolute(v) for k, v in value.items()}
    return value


def resolve_paths(config: RunConfig) -> RunConfig:
    """``config`` with every path field (metadata :data:`unshift.core.registry.PATH`) made absolute
    against the current directory, so that a run directory works from anywhere."""
    sections = {}
    for f in dataclasses.fields(config):
        section = getattr(config, f.name)
        if dataclasses.is_dataclass(section):
            paths = {
                g.name: _absolute(getattr(section, g.name))
                for g in dataclasses.fields(section)
                if g.metadata.get("path")
            }
            sections[f.name] = replace(section, **paths) if paths else section
    return replace(config, **sections)
