"""The names under which a training step's values are logged: one place for the loop, the
watchdog, ``metrics.jsonl`` and the report's plots. A method that logs under these keys gets
the discriminator watchdog and the curves without knowing a string."""

from __future__ import annotations

from typing import Final

STEP: Final = "step"
SECONDS: Final = "seconds"
LR: Final = "lr"
LABEL_LOSS: Final = "label_loss"
DOMAIN_LOSS: Final = "domain_loss"
DOMAIN_ACC: Final = "domain_acc"
MAPPING_LOSS: Final = "mapping_loss"
TARGET_ENTROPY: Final = "target_entropy"
DISCREPANCY: Final = "discrepancy"
COEFF: Final = "coeff"
CLASS_CONFUSION: Final = "class_confusion_loss"
"""MCC's class confusion of the target batch (a weight-free value in [0, 1))."""
CORAL: Final = "coral_loss"
"""Deep CORAL's covariance distance of the source and target features."""
DISPARITY: Final = "disparity_loss"
"""MDD's loss of the adversarial head (margin disparity)."""
SOURCE_ACC: Final = "source_acc"
TARGET_ACC: Final = "target_acc"
SKIPPED: Final = "skipped_samples"
"""Training samples left out so far because they could not be read (streamed domains)."""
CONFIG_CHANGED: Final = "config_changed"
"""``{key: [trained value, resumed value]}``: what a resume with ``--allow-changed`` changed."""

LOSSES: Final = (LABEL_LOSS, DOMAIN_LOSS, MAPPING_LOSS, TARGET_ENTROPY, DISCREPANCY)
"""Loss keys (nats), drawn together."""
