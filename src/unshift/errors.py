"""Errors that carry a one-line message meant for the user (the CLI prints it, exits 2)."""


class UnshiftError(ValueError):
    """Bad input: a config, a data file or data that cannot be used, explained in one line."""


class ConfigError(UnshiftError):
    """A config key, value or file that cannot be used."""


class DataError(UnshiftError):
    """Data that cannot be used: missing or malformed files, shapes, labels, NaN/Inf."""


class RunDirError(UnshiftError):
    """A directory that is not a usable run directory."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf; training stopped and the last good checkpoint was kept."""
