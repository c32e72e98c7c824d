"""scikit-learn estimators over the trainer: ``SourceOnlyClassifier``, ``DANNClassifier``,
``CDANClassifier`` and ``ADDAClassifier``.

Each trains a shallow network by default, as in the DANN paper (one hidden layer, Ganin et al.
2016 §5.2.1; here 100 ReLU units, the setting of ``configs/features_dann.yaml``, which on
log(1 + count) Amazon features beats the paper's table), with :class:`unshift.Trainer`::

    clf = DANNClassifier().fit(X, y)  # rows with y == -1: the unlabelled target
    clf.predict(X_target_test)

or, as skada does, with ``sample_domain`` (> 0 source, < 0 target) routed as metadata; and
``fit(X_source, y_source, X_target=X_target)`` as a convenience.

``X`` may be a dense array or a SciPy sparse matrix (kept sparse; one batch at a time is made
dense). Labels may be any values ``np.unique`` can sort; ``classes_`` holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import ClassVar

from sklearn.utils._param_validation import Interval, StrOptions

from unshift.methods import ADDA, CDAN, DANN, Method
from unshift.nn.conditional import map_width
from unshift.nn.losses import MAPPING_OBJECTIVES
from unshift.nn.schedules import DannLambda
from unshift.sklearn.base import (
    COUNT,
    EXPECTED_FAILED_CHECKS,
    NON_NEGATIVE,
    ShallowClassifier,
    store_params,
)
from unshift.sklearn.docstrings import ATTRIBUTES as _ATTRIBUTES
from unshift.sklearn.docstrings import PARAMETERS as _PARAMETERS


class SourceOnlyClassifier(ShallowClassifier):
    __doc__ = (
        "The shallow network trained on the labelled source rows alone (target rows only enter "
        "the input scaling).\n" + _PARAMETERS + _ATTRIBUTES
    )


class DANNClassifier(ShallowClassifier):
    __doc__ = (
        "Domain-adversarial neural network (Ganin et al. 2016) as a scikit-learn classifier.\n"
        + _PARAMETERS
        + """    lambda_max, gamma
        The λ schedule ``lambda_max · (2 / (1 + exp(-gamma p)) - 1)``.
    discriminator_hidden
        Hidden widths of the domain discriminator (no BatchNorm, no dropout).
"""
        + _ATTRIBUTES
    )

    _parameter_constraints: ClassVar[dict] = {
        **ShallowClassifier._parameter_constraints,
        "lambda_max": [NON_NEGATIVE],
        "gamma": [NON_NEGATIVE],
        "discriminator_hidden": ["array-like"],
    }

    def __init__(
        self,
        hidden: Sequence[int] = (100,),
        activation: str = "relu",
        max_steps: int = 3000,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        lr_schedule: str = "dann",
        lr_alpha: float = 10.0,
        lr_beta: float = 0.75,
        accelerator: str = "auto",
        devices: int = 1,
        precision: str = "32-true",
        threads: int | None = None,
        lambda_max: float = 1.0,
        gamma: float = 10.0,
        discriminator_hidden: Sequence[int] = (50,),
        random_state: int | None = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        store_params(self, locals())

    def _needs_target(self) -> bool:
        return True

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        if not adapt:
            return super()._method(n_features, n_classes, adapt)
        return DANN(
            *self._networks(n_features, n_classes),
            feature_dim=self.hidden[-1],
            discriminator=self._discriminator(),
            schedule=DannLambda(gamma=self.gamma, hi=self.lambda_max),
        )


class CDANClassifier(ShallowClassifier):
    __doc__ = (
        "Conditional domain-adversarial network (Long et al. 2018) as a scikit-learn "
        "classifier: DANN with the discriminator on the multilinear map of features and class "
        "probabilities.\n"
        + _PARAMETERS
        + """    lambda_max, gamma
        The λ schedule ``lambda_max · (2 / (1 + exp(-gamma p)) - 1)``.
    discriminator_hidden
        Hidden widths of the domain discriminator (no BatchNorm, no dropout); its input is the
        map, ``hidden[-1] × n_classes`` wide (or ``randomized_dim``).
    entropy_conditioning
        CDAN+E (default): weigh each sample's domain loss by ``1 + exp(−H(p))``.
    randomized, randomized_dim
        The randomized multilinear map of width ``randomized_dim``; ``randomized=None``: when
        ``hidden[-1] × n_classes > 4096``.
"""
        + _ATTRIBUTES
    )

    _parameter_constraints: ClassVar[dict] = {
        **ShallowClassifier._parameter_constraints,
        "lambda_max": [NON_NEGATIVE],
        "gamma": [NON_NEGATIVE],
        "discriminator_hidden": ["array-like"],
        "entropy_conditioning": ["boolean"],
        "randomized": ["boolean", None],
        "randomized_dim": [COUNT],
    }

    def __init__(
        self,
        hidden: Sequence[int] = (100,),
        activation: str = "relu",
        max_steps: int = 3000,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        lr_schedule: str = "dann",
        lr_alpha: float = 10.0,
        lr_beta: float = 0.75,
        accelerator: str = "auto",
        devices: int = 1,
        precision: str = "32-true",
        threads: int | None = None,
        lambda_max: float = 1.0,
        gamma: float = 10.0,
        discriminator_hidden: Sequence[int] = (50,),
        entropy_conditioning: bool = True,
        randomized: bool | None = None,
        randomized_dim: int = 1024,
        random_state: int | None = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        store_params(self, locals())

    def _needs_target(self) -> bool:
        return True

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        if not adapt:
            return super()._method(n_features, n_classes, adapt)
        randomized, width = map_width(
            self.hidden[-1], n_classes, self.randomized, self.randomized_dim
        )
        return CDAN(
            *self._networks(n_features, n_classes),
            feature_dim=self.hidden[-1],
            num_classes=n_classes,
            discriminator=self._discriminator(width),
            schedule=DannLambda(gamma=self.gamma, hi=self.lambda_max),
            randomized=randomized,
            randomized_dim=self.randomized_dim,
            entropy_conditioning=self.entropy_conditioning,
        )


class ADDAClassifier(ShallowClassifier):
    __doc__ = (
        "Adversarial discriminative domain adaptation (Tzeng et al. 2017) as a scikit-learn "
        "classifier: the first ``pretrain_fraction`` of ``max_steps`` trains the source encoder "
        "and classifier, the rest a target encoder (a copy) against a domain discriminator.\n"
        + _PARAMETERS
        + """    pretrain_fraction
        The share of ``max_steps`` spent on source training (phase 1), in ``[0, 1)``.
    objective
        The target encoder's mapping objective: ``gan`` (the paper's), ``minimax`` or
        ``confusion``.
    discriminator_hidden, k_d
        Hidden widths of the domain discriminator (default the paper's 500-500) and its steps
        per training step.
"""
        + _ATTRIBUTES
    )

    _parameter_constraints: ClassVar[dict] = {
        **ShallowClassifier._parameter_constraints,
        "pretrain_fraction": [Interval(Real, 0, 1, closed="left")],
        "objective": [StrOptions(set(MAPPING_OBJECTIVES))],
        "discriminator_hidden": ["array-like"],
        "k_d": [COUNT],
    }

    def __init__(
        self,
        hidden: Sequence[int] = (100,),
        activation: str = "relu",
        max_steps: int = 3000,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        lr_schedule: str = "dann",
        lr_alpha: float = 10.0,
        lr_beta: float = 0.75,
        accelerator: str = "auto",
        devices: int = 1,
        precision: str = "32-true",
        threads: int | None = None,
        pretrain_fraction: float = 0.5,
        objective: str = "gan",
        discriminator_hidden: Sequence[int] = (500, 500),
        k_d: int = 1,
        random_state: int | None = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        store_params(self, locals())

    def _needs_target(self) -> bool:
        return True

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        if not adapt:
            return super()._method(n_features, n_classes, adapt)
        return ADDA(
            *self._networks(n_features, n_classes),
            feature_dim=self.hidden[-1],
            pretrain_steps=int(self.pretrain_fraction * self.max_steps),
            discriminator=self._discriminator(),
            objective=self.objective,
            k_d=self.k_d,
        )


__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "ADDAClassifier",
    "CDANClassifier",
    "DANNClassifier",
    "SourceOnlyClassifier",
]
