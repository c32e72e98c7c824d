"""The Fabric a trainer runs on, built from its spec; settings this machine cannot run are a
one-line :class:`~unshift.core.errors.ConfigError`, not Lightning's traceback."""

from __future__ import annotations

from lightning_fabric import Fabric

from unshift.core.errors import ConfigError
from unshift.training.specs import TrainerSpec


def make_fabric(spec: TrainerSpec) -> Fabric:
    """``Fabric`` with the spec's accelerator, devices, precision, strategy and nodes."""
    try:
        return Fabric(
            accelerator=spec.accelerator,
            devices=spec.devices,
            precision=spec.precision,  # type: ignore[arg-type]
            strategy=spec.strategy,
            num_nodes=spec.num_nodes,
        )
    except (RuntimeError, ValueError, TypeError) as err:
        settings = (
            f"accelerator={spec.accelerator}, devices={spec.devices}, "
            f"precision={spec.precision}, strategy={spec.strategy}"
        )
        reason = " ".join(str(err).split()).replace(" of `Fabric`", "")
        raise ConfigError(f"trainer settings {settings} cannot run here: {reason}") from None
