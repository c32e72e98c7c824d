"""Files written whole or not at all: a reader, or a process killed mid-write, sees the old
file or the new one, never half."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def clean(value: Any) -> Any:
    """JSON-safe value: NaN/Inf as strings so that every line stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def replace_durably(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to disk, then rename it over ``path`` (an atomic step on POSIX)."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    A reader (or a run killed mid-write) sees either the old file or the new one, never half.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        replace_durably(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps({k: clean(v) for k, v in data.items()}, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
