"""Foundations, on the standard library alone: errors, the registries and plugins, log keys,
and run directories (files written atomically). Every other layer may import these."""
