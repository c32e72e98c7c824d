"""YAML read safely and strictly: a key given twice in one mapping is an error, not the silent
choice of the last value that YAML loaders make."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode


class DuplicateKey(yaml.YAMLError):
    """A mapping holds a key twice; the message names it and both lines (1-based)."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<:` merges, and may override
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = lines.get(key)
            except TypeError:  # an unhashable key: SafeLoader refuses it with its own message
                continue
            if first is not None:
                where = f"line {line}" if first == line else f"lines {first} and {line}"
                raise DuplicateKey(f"key '{key}' appears twice in one mapping ({where})")
            lines[key] = line
        return super().construct_mapping(node, deep)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, refusing a duplicated key with :class:`DuplicateKey`."""
    return yaml.load(text, Loader=_StrictLoader)
