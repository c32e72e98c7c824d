"""The ``unshift`` command (:mod:`~unshift.cli.commands`) and its arguments
(:mod:`~unshift.cli.arguments`)."""

from unshift.cli.commands import (
    EXIT_BAD_INPUT,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    entry_point,
    main,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_DIVERGED",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "entry_point",
    "main",
]
