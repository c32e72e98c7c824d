"""``python -m unshift`` runs the ``unshift`` command."""

from unshift.cli import entry_point

entry_point()
