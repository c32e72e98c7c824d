"""What the loop watches for: the two known failures of adversarial training, read off the
discriminator's batch accuracy (logged under :data:`unshift.core.log_keys.DOMAIN_ACC`), and a
loss that is no longer finite."""

from __future__ import annotations

import warnings
from pathlib import Path

from unshift.core.errors import TrainingDiverged


def diverged(loss: float, step: int, phase: str, checkpoint: Path | None) -> TrainingDiverged:
    """The error for a non-finite ``loss`` at ``step``, naming the last good ``checkpoint``
    where one exists."""
    where = f" (phase '{phase}')" if phase != "joint" else ""
    kept = (
        f"; the last good checkpoint is kept at {checkpoint}"
        if checkpoint is not None and checkpoint.exists()
        else ""
    )
    return TrainingDiverged(
        f"the loss became {loss} at step {step}{where}; training stopped{kept}. Likely "
        "causes, in order: inputs of a large scale (standardise them), too high a learning "
        "rate, too high a λ."
    )


class DiscriminatorWatch:
    """Warns (once each) about the two known failures of adversarial training, from the
    discriminator's batch accuracy at logged steps: pinned at 1.0 for ``window`` steps (it wins
    outright), or exactly 0.5 at every logged step from the start for ``window`` steps (it
    never learns: one domain predicted for all)."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.pinned_since: int | None = None
        self.chance_from_start = True
        self.warned: set[str] = set()

    def _warn(self, kind: str, message: str) -> None:
        if kind not in self.warned:
            self.warned.add(kind)
            warnings.warn(message, stacklevel=3)

    def observe(self, step: int, accuracy: float) -> None:
        if accuracy >= 0.999:
            self.pinned_since = step if self.pinned_since is None else self.pinned_since
            if step - self.pinned_since >= self.window:
                self._warn(
                    "pinned",
                    f"the discriminator's accuracy has been 1.0 since step {self.pinned_since} "
                    f"(now step {step}): it wins outright and its gradients carry no alignment "
                    "signal; try a lower learning rate for it, a larger λ, or a smaller "
                    "discriminator",
                )
        else:
            self.pinned_since = None
        self.chance_from_start = self.chance_from_start and abs(accuracy - 0.5) < 1e-6
        if self.chance_from_start and step >= self.window:
            self._warn(
                "chance",
                f"the discriminator's accuracy has been exactly 0.5 since step 0 (now step "
                f"{step}): it predicts one domain for every sample and is not learning; check "
                "its learning rate and that the features it sees are not constant",
            )
