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


class FieldError(ValueError):
    """A bad value for one named argument or config field; ``key`` names it (dotted for nested
    config fields, e.g. ``discriminator.dropout``), so that the config layer can name the
    whole dotted key (``method.discriminator.dropout``) while a Python caller gets the same
    message."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key} {message}")
        self.key = key
        self.message = message


def require(ok: bool, key: str, message: str) -> None:
    """Raise :class:`FieldError` ``(key, message)`` unless ``ok``."""
    if not ok:
        raise FieldError(key, message)
