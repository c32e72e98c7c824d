"""scikit-learn estimators over the trainer: ``DANNClassifier`` and ``SourceOnlyClassifier``.

Both train a shallow network by default, as in the DANN paper (one hidden layer, Ganin et al.
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

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import Tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from unshift.data.domains import Domain, TaskData
from unshift.data.tabular import to_tensor
from unshift.eval.predictions import predicted_logits
from unshift.methods import DANN, Method, SourceOnly
from unshift.models import mlp
from unshift.nn import DomainDiscriminator
from unshift.schedules import DannLambda
from unshift.sklearn_rows import pooled_scaler, split_rows
from unshift.specs import OptimizerSpec, TrainerSpec
from unshift.trainer import Trainer

EXPECTED_FAILED_CHECKS = {
    "check_classifiers_classes": "y == -1 marks unlabelled target rows, so -1 cannot be a "
    "class label (scikit-learn exempts its own semi-supervised classifiers by name)",
}
"""``check_estimator`` checks both estimators fail by design, with the reason."""


class _ShallowClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict; subclasses choose the method."""

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
        random_state: int = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.betas = betas
        self.lr_schedule = lr_schedule
        self.lr_alpha = lr_alpha
        self.lr_beta = lr_beta
        self.accelerator = accelerator
        self.devices = devices
        self.precision = precision
        self.random_state = random_state
        self.progress_bar = progress_bar
        self.scale_inputs = scale_inputs

    def _specs(self) -> tuple[OptimizerSpec, TrainerSpec]:
        """The optimiser and trainer specs: every spec field this estimator has a parameter
        of the same name for (``optimizer`` is the spec's ``name``, ``max_steps`` its
        ``steps``)."""

        def given(spec: type) -> dict[str, Any]:
            names = {f.name for f in dataclasses.fields(spec)}
            return {k: v for k, v in self.get_params(deep=False).items() if k in names}

        optim = OptimizerSpec(**{**given(OptimizerSpec), "name": self.optimizer})
        return optim, TrainerSpec(**{**given(TrainerSpec), "steps": self.max_steps})

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        """The network for ``n_features`` inputs and ``n_classes``; ``adapt=False``: there are
        no target rows to adapt to."""
        return SourceOnly(
            mlp(n_features, self.hidden, self.activation), nn.Linear(self.hidden[-1], n_classes)
        )

    def _needs_target(self) -> bool:
        return False

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(
        self, X: Any, y: Any, X_target: Any = None, sample_domain: Any = None
    ) -> _ShallowClassifier:
        """Train on the labelled source rows of ``X`` and the unlabelled target rows.

        ``X`` ``(n_samples, n_features)``, ``y`` ``(n_samples,)``. Target rows are those with
        ``y == -1`` (scikit-learn's convention for unlabelled rows, as in
        :mod:`sklearn.semi_supervised`), or, where ``sample_domain`` ``(n_samples,)`` is given
        (skada's convention, routed as metadata), those with a negative domain; positive domains
        are sources (several source or target domains are pooled). ``X_target``
        ``(m_samples, n_features)``: more unlabelled target rows, a convenience. Without any
        target rows DANN warns and trains as source-only.
        """
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float32)
        check_classification_targets(y)
        X_source, y_source, X_tgt = split_rows(X, y, X_target, sample_domain)
        self.classes_, y_index = np.unique(y_source, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"the labelled rows hold {len(self.classes_)} class; need at least 2 (y == -1 "
                "marks unlabelled target rows)"
            )
        adapt = X_tgt.shape[0] > 0
        self.scaler_ = pooled_scaler(X_source, X_tgt) if self.scale_inputs else None
        if self.scaler_ is not None:
            X_source = self.scaler_.transform(X_source).astype(np.float32)
            X_tgt = self.scaler_.transform(X_tgt).astype(np.float32) if adapt else X_tgt
        if not adapt and self._needs_target():
            warnings.warn(
                f"{type(self).__name__}.fit got no unlabelled target rows (y == -1, a negative "
                "sample_domain or X_target): it trains as source-only",
                UserWarning,
                stacklevel=2,
            )
        data = TaskData(
            [Domain(to_tensor(X_source), torch.as_tensor(y_index, dtype=torch.long), "source")],
            [Domain(to_tensor(X_tgt if adapt else X_source), None, "target")],
            num_classes=len(self.classes_),
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self.method_ = self._method(X.shape[1], len(self.classes_), adapt)
        optim, spec = self._specs()
        Trainer(optimizer=optim, seed=self.random_state, spec=spec).fit(self.method_, data)
        self.method_.eval()
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float32, reset=False)
        if self.scaler_ is not None:
            X = self.scaler_.transform(X).astype(np.float32)
        device = next(self.method_.parameters()).device
        logits = predicted_logits(self.method_.predict, to_tensor(X), device)
        return torch.softmax(logits, dim=1).numpy()  # type: ignore[arg-type]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels ``(n_samples,)``, values from ``classes_``."""
        index = self.predict_proba(X).argmax(axis=1)
        return self.classes_[index]


class SourceOnlyClassifier(_ShallowClassifier):
    """The same shallow network trained on the labelled source rows alone (target rows ignored).

    Parameters: see :class:`DANNClassifier`, less the adversarial ones.
    """


class DANNClassifier(_ShallowClassifier):
    """Domain-adversarial neural network (Ganin et al. 2016) as a scikit-learn classifier.

    Parameters
    ----------
    hidden, activation
        The feature extractor: an MLP with these hidden widths and activation
        (``relu``/``tanh``/``sigmoid``); the label head is linear.
    max_steps, batch_size
        Training steps; samples per domain per batch.
    optimizer, lr, momentum, weight_decay, betas, lr_schedule, lr_alpha, lr_beta
        The optimiser (``sgd`` or ``adam``) and its learning-rate schedule, as in
        :class:`~unshift.specs.OptimizerSpec` (``optimizer`` is its ``name``).
    accelerator, devices, precision
        Lightning Fabric's device settings (:class:`~unshift.specs.TrainerSpec`).
    lambda_max, gamma
        The λ schedule ``lambda_max · (2 / (1 + exp(-gamma p)) - 1)``.
    discriminator_hidden
        Hidden widths of the domain discriminator (no BatchNorm, no dropout).
    random_state
        Seeds initialisation and batch order.
    scale_inputs
        Scale every feature by its standard deviation over the pooled source and target rows
        (no labels read), centring dense inputs on their mean too; sparse inputs stay sparse
        (scaled, not centred). On by default, so that raw counts or features ×1000 train with
        the default learning rate; ``False`` feeds ``X`` as given.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
        The labels seen on labelled rows, in the order of ``predict_proba``'s columns.
    n_features_in_ : int
        Features per row.
    method_ : unshift.methods.Method
        The trained network (DANN, or source-only when ``fit`` saw no target rows).
    scaler_ : sklearn.preprocessing.StandardScaler or None
        The input scaling fitted on the pooled rows (``scale_inputs``).
    """

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
        lambda_max: float = 1.0,
        gamma: float = 10.0,
        discriminator_hidden: Sequence[int] = (50,),
        random_state: int = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        super().__init__(
            hidden=hidden,
            activation=activation,
            max_steps=max_steps,
            batch_size=batch_size,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            betas=betas,
            lr_schedule=lr_schedule,
            lr_alpha=lr_alpha,
            lr_beta=lr_beta,
            accelerator=accelerator,
            devices=devices,
            precision=precision,
            random_state=random_state,
            progress_bar=progress_bar,
            scale_inputs=scale_inputs,
        )
        self.lambda_max = lambda_max
        self.gamma = gamma
        self.discriminator_hidden = discriminator_hidden

    def _needs_target(self) -> bool:
        return True

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        if not adapt:
            return super()._method(n_features, n_classes, adapt)
        width = self.hidden[-1]
        disc = DomainDiscriminator(
            width, hidden=self.discriminator_hidden, batch_norm=False, dropout=0.0
        )
        return DANN(
            mlp(n_features, self.hidden, self.activation),
            nn.Linear(width, n_classes),
            feature_dim=width,
            discriminator=disc,
            schedule=DannLambda(gamma=self.gamma, hi=self.lambda_max),
        )


__all__ = ["DANNClassifier", "SourceOnlyClassifier"]
