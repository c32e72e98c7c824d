"""What every method shares: the shape of a training step, as the trainer sees it.

A method is an ``nn.Module`` that names its parameter groups (one optimiser each) and, for
every training step, the phases to run in order. Each phase names the optimisers it steps and
the hook that computes its loss: phase ``"joint"`` runs ``joint_step(sources, targets)``,
phase ``"discriminator"`` runs ``discriminator_step``, and so on. The trainer calls the
module (``forward(sources, targets, phase)``, which dispatches to the hook, so that Fabric's
wrappers see every forward pass), back-propagates, and steps the phase's optimisers. It owns
everything else: loops, devices, optimisers, logging.

A method registers itself by name (:data:`unshift.core.registry.METHODS`) with its typed ``Config``
and builds itself from it in :meth:`Method.from_config`.

Batches: ``sources`` is a list (one entry per source domain) of ``(x, y)`` with ``x`` of shape
``(B, *)`` and integer labels ``y`` of shape ``(B,)`` (``(B, L)`` for a head with ``L``
outputs); ``targets`` a list of ``x`` batches. Hooks return ``(loss, logs)`` with the logs
under the keys of :mod:`unshift.core.log_keys`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from unshift.core.errors import ConfigError, DataError
from unshift.core.log_keys import CLASS_CONFUSION, LABEL_LOSS, TARGET_ENTROPY
from unshift.core.registry import FieldError, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.models.networks import LR_PART, Networks
from unshift.nn.alignment import class_confusion_loss
from unshift.nn.discriminator import DomainDiscriminator, check_discriminator
from unshift.nn.heads import Logits, label_loss, prediction_entropy
from unshift.nn.schedules import schedule_from_config

Sources = list[tuple[Tensor, Tensor]]
Targets = list[Tensor]
Logs = dict[str, Tensor | float]
StepResult = tuple[Tensor, Logs]


@dataclass(frozen=True)
class Phase:
    """One update within a training step: the hook ``<name>_step`` computes a loss, then each
    optimiser in ``optimizers`` (keys of :meth:`Method.param_groups`) steps on its gradients.
    ``new_batch=False``: the phase sees the same batch as the phase before it in the step
    instead of a fresh one. A single optimiser name is accepted for ``optimizers``."""

    name: str
    optimizers: tuple[str, ...] | str
    new_batch: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.optimizers, str):
            object.__setattr__(self, "optimizers", (self.optimizers,))
        if not self.optimizers:
            raise ValueError(f"phase {self.name!r} steps no optimiser")


JOINT = Phase("joint", "main")


@dataclass
class DiscriminatorConfig:
    """A method's domain discriminator ``G_d`` (see :class:`~unshift.nn.DomainDiscriminator`):
    hidden widths, batch norm, dropout."""

    hidden: list[int] = field(default_factory=lambda: [32])
    batch_norm: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_discriminator(self.hidden, self.dropout)

    def build(self, in_features: int, num_domains: int = 2) -> DomainDiscriminator:
        """The discriminator on ``in_features``-wide inputs for ``num_domains`` domains."""
        return DomainDiscriminator(
            in_features, num_domains, self.hidden, batch_norm=self.batch_norm, dropout=self.dropout
        )


def check_schedule(schedule: dict[str, Any]) -> None:
    """A method config's λ ``schedule`` dict must build a schedule; else a
    :class:`~unshift.core.registry.FieldError` naming ``schedule``."""
    try:
        schedule_from_config(schedule)
    except ValueError as err:
        raise FieldError("schedule", f"is not a schedule: {err}") from None


def check_target_entropy(weight: float) -> None:
    """A method config's ``target_entropy`` weight must be finite and ``>= 0``; else a
    :class:`~unshift.core.registry.FieldError` naming it."""
    require(
        math.isfinite(weight) and weight >= 0,
        "target_entropy",
        f"must be a finite weight >= 0; got {weight}",
    )


def with_target_entropy(loss: Tensor, logs: Logs, weight: float, target_logits: Tensor) -> Tensor:
    """``loss + weight · H`` with ``H`` the mean prediction entropy (nats) of the target logits
    ``(B, C)``, logged under ``TARGET_ENTROPY``; ``loss`` unchanged when ``weight`` is 0."""
    if weight <= 0:
        return loss
    entropy = prediction_entropy(target_logits)
    logs[TARGET_ENTROPY] = entropy.detach()
    return loss + weight * entropy


def with_class_confusion(loss: Tensor, logs: Logs, weight: float, target_logits: Tensor) -> Tensor:
    """``loss + weight · L_mcc`` with ``L_mcc`` MCC's class confusion of the target logits
    ``(B, C)`` (temperature 2.5, the paper's), logged under ``CLASS_CONFUSION``; ``loss``
    unchanged when ``weight`` is 0."""
    if weight <= 0:
        return loss
    confusion = class_confusion_loss(target_logits)
    logs[CLASS_CONFUSION] = confusion.detach()
    return loss + weight * confusion


def check_mcc(weight: float, data: TaskData) -> None:
    """An ``mcc`` weight needs one label output; else a :class:`ConfigError`."""
    if weight > 0 and not isinstance(data.num_classes, int):
        raise ConfigError(f"mcc needs one label output; the data has {data.num_classes} classes")


def require_single_pair(method: str, data: TaskData) -> int:
    """The class count of ``data`` if it has one source, one target and one label output;
    else a :class:`~unshift.core.errors.ConfigError` naming ``method``."""
    if data.num_domains != 2 or not isinstance(data.num_classes, int):
        raise ConfigError(
            f"{method} adapts one source to one target with one label output; the data has "
            f"{data.num_domains} domains and num_classes={data.num_classes}"
        )
    return data.num_classes


def fresh_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` with every submodule's ``reset_parameters`` called (new
    weights from the global torch RNG, same architecture)."""
    twin = copy.deepcopy(module)
    for sub in twin.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()
    return twin


def joint_features(method: Method, sources: Sources, targets: Targets) -> tuple[Tensor, Tensor]:
    """Features ``(N_s, F)`` of all source batches and ``(N_t, F)`` of all target batches, from
    one concatenated pass of ``method``'s feature extractor."""
    x_s = cat([x for x, _ in sources])
    features = method.features(cat([x_s, *targets]))
    return features[: len(x_s)], features[len(x_s) :]


def cat(tensors: list[Tensor]) -> Tensor:
    """``torch.cat`` along dim 0, without the copy when there is a single tensor."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


class Method(nn.Module):
    """Base class: a feature extractor ``G_f`` and a label head ``G_y``.

    Parameters
    ----------
    feature_extractor : nn.Module
        Maps inputs ``(B, *)`` to features ``(B, F)``; non-flat features are flattened.
    label_head : nn.Module
        Maps features ``(B, F)`` to class logits ``(B, C)``, or to a tuple of ``(B, C_i)``
        logits, one per output (:class:`~unshift.nn.MultiOutputHead`).
    """

    Config: ClassVar[type[SectionConfig]] = SectionConfig
    trains_on_target: ClassVar[bool] = False
    """True for a method trained on the labelled *target* training data (the upper bound)."""
    curves: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Panels of the report's training curves a method adds: title → keys it logs. Keys it
    names nowhere are drawn anyway: losses (``*_loss`` or :data:`~unshift.core.log_keys.LOSSES`)
    with the losses, any other number under "other logged values"."""
    num_domains: int = 2

    def __init__(self, feature_extractor: nn.Module, label_head: nn.Module) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.label_head = label_head

    @classmethod
    def from_config(cls, cfg: Any, networks: Networks, data: TaskData) -> Method:
        """The method its config section ``cfg`` (a ``cls.Config``) describes, on ``networks``
        sized for ``data``."""
        return cls(networks.features, networks.head)

    def check_fits(self, data: TaskData) -> None:
        """Raise :class:`~unshift.core.errors.DataError` unless this method takes ``data``: its
        number of domains, its networks on one source sample, and one output per class count
        of ``data`` (checked on CPU or wherever the weights are, before training)."""
        if self.num_domains != data.num_domains:
            raise DataError(
                f"the method was built for {self.num_domains} domains but the data has "
                f"{data.num_domains} ({len(data.sources)} source, {len(data.targets)} target)"
            )
        source = data.sources[0]
        x = source.take(torch.arange(min(8, len(source))))[:2]
        if len(x) == 0:
            raise DataError(f"none of the first 8 samples of {source.name} can be read")
        weight = next(self.parameters(), None)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                logits = self.predict(x if weight is None else x.to(weight.device))
        except RuntimeError as err:
            first = str(err).splitlines()[0]
            raise DataError(
                f"the networks do not take this data's samples of shape {tuple(x.shape[1:])} "
                f"(torch: {first}); build them for this input shape"
            ) from None
        finally:
            self.train(was_training)
        widths = tuple(t.shape[-1] for t in (logits if isinstance(logits, tuple) else [logits]))
        if widths != data.class_counts:
            raise DataError(
                f"the label head gives {widths[0] if len(widths) == 1 else widths} outputs per "
                f"sample but the data has {data.num_classes} classes"
            )

    def features(self, x: Tensor) -> Tensor:
        """``G_f(x)`` flattened to ``(B, F)``."""
        return self.feature_extractor(x).flatten(1)

    def classify(self, features: Tensor) -> Logits:
        """Class logits ``(B, C)`` (a tuple of them for several outputs) from features
        ``(B, F)``: ``G_y(features)`` unless a method predicts otherwise."""
        return self.label_head(features)

    def predict(self, x: Tensor) -> Logits:
        """Class logits ``(B, C)`` (a tuple of them for several outputs), any domain."""
        return self.classify(self.features(x))

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimiser; one group ``"main"`` unless a method alternates."""
        return {"main": list(self.parameters())}

    def lr_parts(self) -> dict[str, list[nn.Parameter]]:
        """Parameters of the modules marked with a learning-rate part
        (:func:`~unshift.models.networks.mark_part`), by part; ``{}`` for most networks."""
        parts: dict[str, list[nn.Parameter]] = {}
        for module in self.modules():
            if part := getattr(module, LR_PART, None):
                parts.setdefault(part, []).extend(module.parameters())
        return parts

    def phases(self, step: int) -> list[Phase]:
        """The phases of training step ``step`` (0-based), in order."""
        return [JOINT]

    def set_progress(self, p: float) -> None:
        """Training progress ``p ∈ [0, 1]``, set by the trainer before every step."""

    def forward(self, sources: Sources, targets: Targets, phase: str = "joint") -> StepResult:
        """The loss and logs of phase ``phase``: ``self.<phase>_step(sources, targets)``."""
        hook = getattr(self, f"{phase}_step", None)
        if hook is None:
            raise ValueError(f"{type(self).__name__} has no phase {phase!r} (no {phase}_step)")
        return hook(sources, targets)

    def label_loss(self, sources: Sources, features: Tensor | None = None) -> Tensor:
        """Mean cross-entropy (nats) over all source samples (summed over outputs), from their
        features if given."""
        x = cat([x for x, _ in sources])
        y = cat([y for _, y in sources])
        return label_loss(self.label_head(self.features(x) if features is None else features), y)

    def source_step(self, sources: Sources, targets: Targets) -> StepResult:
        """Cross-entropy on the source batches alone."""
        loss = self.label_loss(sources)
        return loss, {LABEL_LOSS: loss.detach()}
