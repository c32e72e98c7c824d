"""What ``unshift tune`` tries: a grid of values per key (``--space``) or a list of settings
(``--candidate``), read from the command line as YAML."""

from __future__ import annotations

import itertools
import json
from typing import Any

import yaml

from unshift.core.errors import ConfigError
from unshift.training.yaml_keys import load_yaml


def parse_space(items: list[str]) -> dict[str, list[Any]]:
    """``["optim.lr=0.01,0.001", "model.hidden=[64],[100,100]"]`` → ``{"optim.lr": [0.01, 0.001],
    "model.hidden": [[64], [100, 100]]}``: each ``KEY=V1,V2,...`` read as a YAML flow sequence."""
    space: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(
                f"--space {item!r}: expected KEY=V1,V2,... (e.g. optim.lr=0.01,0.001)"
            )
        try:
            values = load_yaml(f"[{text}]")
        except yaml.YAMLError as err:
            raise ConfigError(f"--space {item!r}: cannot read its values ({err})") from None
        distinct = {json.dumps(v, sort_keys=True) for v in values}
        if len(distinct) != len(values):
            raise ConfigError(f"--space {item!r}: a value is listed twice")
        if key in space:
            raise ConfigError(f"--space names {key!r} twice; list all its values in one")
        space[key] = values
    if not space:
        raise ConfigError("tune needs at least one --space KEY=V1,V2,...")
    return space


def parse_candidates(items: list[str]) -> list[dict[str, Any]]:
    """``["{optim.lr: 0.01, model.hidden: [64]}", "{optim.lr: 0.001}"]`` → the settings of each
    candidate: each item a YAML mapping of dotted keys to values (not a grid: each is tried as
    it is)."""
    out: list[dict[str, Any]] = []
    for item in items:
        try:
            settings = load_yaml(item)
        except yaml.YAMLError as err:
            raise ConfigError(f"--candidate {item!r}: cannot read it ({err})") from None
        if not isinstance(settings, dict) or not settings:
            raise ConfigError(
                f"--candidate {item!r}: expected a mapping of keys to values, e.g. "
                "'{optim.lr: 0.01, method.schedule.hi: 0.3}'"
            )
        if settings in out:
            raise ConfigError(f"--candidate {item!r} is listed twice")
        out.append(settings)
    return out


def grid(space: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``space``'s values, the last key varying fastest."""
    keys = list(space)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*space.values())]
