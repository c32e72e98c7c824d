"""The ``unshift`` command's exit codes and the exceptions that carry a stop to them."""

from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's stop), handled like Ctrl-C."""


class Interrupted(Exception):
    """Training was stopped; the message says how to continue."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
