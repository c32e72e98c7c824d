"""The estimators of the methods without a domain discriminator, and of MDD: ``MCCClassifier``,
``MDDClassifier`` and ``CORALClassifier`` (fit, target rows and prediction as in
:mod:`unshift.sklearn.estimators`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from unshift.methods import MCC, MDD, DeepCORAL, Method
from unshift.nn.schedules import DannLambda
from unshift.sklearn.base import NON_NEGATIVE, POSITIVE, ShallowClassifier, store_params
from unshift.sklearn.docstrings import ATTRIBUTES, PARAMETERS


class _TargetClassifier(ShallowClassifier):
    """An estimator whose method needs target rows (else: source-only, with a warning)."""

    def _needs_target(self) -> bool:
        return True


class MCCClassifier(_TargetClassifier):
    __doc__ = (
        "Minimum class confusion (Jin et al. 2020) as a scikit-learn classifier: the source "
        "cross-entropy plus the class confusion of the target predictions.\n"
        + PARAMETERS
        + """    mcc_weight, temperature
        The class confusion's weight ``μ`` and the temperature ``T`` of the target
        probabilities (the paper's 1.0 and 2.5).
"""
        + ATTRIBUTES
    )

    _parameter_constraints: ClassVar[dict] = {
        **ShallowClassifier._parameter_constraints,
        "mcc_weight": [NON_NEGATIVE],
        "temperature": [POSITIVE],
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
        mcc_weight: float = 1.0,
        temperature: float = 2.5,
        random_state: int | None = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        store_params(self, locals())

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        if not adapt:
            return super()._method(n_features, n_classes, adapt)
        return MCC(*self._networks(n_features, n_classes), self.mcc_weight, self.temperature)


class MDDClassifier(_TargetClassifier):
    __doc__ = (
        "Margin disparity discrepancy (Zhang et al. 2019) as a scikit-learn classifier: an "
        "adversarial copy of the label head behind a gradient reversal layer.\n"
        + PARAMETERS
        + """    margin, mdd_weight, lambda_max, gamma
        The margin ``γ`` (TLlib's 4), the disparity's weight, and the GRL coefficient's schedule
        ``lambda_max · (2 / (1 + exp(-gamma p)) - 1)`` (TLlib warms it up to 0.1).
"""
        + ATTRIBUTES
    )

    _parameter_constraints: ClassVar[dict] = {
        **ShallowClassifier._parameter_constraints,
        "margin": [POSITIVE],
        "mdd_weight": [NON_NEGATIVE],
        "lambda_max": [NON_NEGATIVE],
        "gamma": [NON_NEGATIVE],
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
        margin: float = 4.0,
        mdd_weight: float = 1.0,
        lambda_max: float = 0.1,
        gamma: float = 10.0,
        random_state: int | None = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        store_params(self, locals())

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        if not adapt:
            return super()._method(n_features, n_classes, adapt)
        return MDD(
            *self._networks(n_features, n_classes),
            margin=self.margin,
            weight=self.mdd_weight,
            schedule=DannLambda(gamma=self.gamma, hi=self.lambda_max),
        )


class CORALClassifier(_TargetClassifier):
    __doc__ = (
        "Deep CORAL (Sun & Saenko 2016) as a scikit-learn classifier: the source cross-entropy "
        "plus the distance between the source and target feature covariances.\n"
        + PARAMETERS
        + """    coral_weight
        The CORAL term's weight ``λ``.
"""
        + ATTRIBUTES
    )

    _parameter_constraints: ClassVar[dict] = {
        **ShallowClassifier._parameter_constraints,
        "coral_weight": [NON_NEGATIVE],
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
        coral_weight: float = 1.0,
        random_state: int | None = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        store_params(self, locals())

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        if not adapt:
            return super()._method(n_features, n_classes, adapt)
        return DeepCORAL(*self._networks(n_features, n_classes), self.coral_weight)
