"""What the scikit-learn estimators share: parameters and their constraints, ``fit`` on source,
target and weighted rows, and prediction. :mod:`unshift.sklearn` holds the public estimators."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import Tags, _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from torch import nn

from unshift.data.domains import Domain, TaskData
from unshift.data.tabular import to_tensor
from unshift.eval.predictions import predicted_logits
from unshift.methods import Method, SourceOnly
from unshift.models import mlp
from unshift.models.mlp import ACTIVATIONS
from unshift.nn import DomainDiscriminator
from unshift.sklearn.rows import (
    check_label_kinds,
    pooled_scaler,
    split_rows,
    unlabelled,
    varying,
)
from unshift.training.specs import LR_SCHEDULES, OPTIMIZERS, OptimizerSpec, TrainerSpec
from unshift.training.trainer import Trainer

EXPECTED_FAILED_CHECKS = {
    "check_classifiers_classes": "y == -1 marks unlabelled target rows, so -1 cannot be a "
    "class label (scikit-learn exempts its own semi-supervised classifiers by name)",
    "check_sample_weight_equivalence_on_dense_data": "minibatch training draws rows in "
    "proportion to their weight: the same as repeating them in expectation, not run for run",
    "check_sample_weight_equivalence_on_sparse_data": "as on dense data: weighted draws equal "
    "repetition in expectation, not run for run",
}
"""``check_estimator`` checks every estimator fails by design, with the reason."""

POSITIVE = Interval(Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(Real, 0, None, closed="left")
COUNT = Interval(Integral, 1, None, closed="left")


def store_params(estimator: BaseEstimator, params: dict[str, Any]) -> None:
    """Store every ``__init__`` argument verbatim under its own name (scikit-learn's rule:
    validation waits for ``fit``); ``params`` is the ``__init__``'s ``locals()``."""
    for name, value in params.items():
        if name != "self":
            setattr(estimator, name, value)


class ShallowClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict of the estimators; subclasses choose the method (this one trains
    source-only)."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "max_steps": [COUNT],
        "batch_size": [COUNT],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "lr": [POSITIVE],
        "momentum": [NON_NEGATIVE],
        "weight_decay": [NON_NEGATIVE],
        "betas": [tuple, list],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "lr_alpha": [NON_NEGATIVE],
        "lr_beta": [NON_NEGATIVE],
        "accelerator": [str],
        "devices": [COUNT],
        "precision": [str],
        "threads": [COUNT, None],
        "random_state": ["random_state"],
        "progress_bar": ["boolean"],
        "scale_inputs": ["boolean"],
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
        random_state: int | None = 0,
        progress_bar: bool = False,
        scale_inputs: bool = True,
    ) -> None:
        store_params(self, locals())

    def _specs(self) -> tuple[OptimizerSpec, TrainerSpec]:
        """The optimiser and trainer specs: every spec field this estimator has a parameter
        of the same name for (``optimizer`` is the spec's ``name``, ``max_steps`` its
        ``steps``)."""

        def given(spec: type) -> dict[str, Any]:
            names = {f.name for f in dataclasses.fields(spec)}
            return {k: v for k, v in self.get_params(deep=False).items() if k in names}

        optim = OptimizerSpec(**{**given(OptimizerSpec), "name": self.optimizer})
        return optim, TrainerSpec(**{**given(TrainerSpec), "steps": self.max_steps})

    def _seed(self) -> int:
        """The torch seed: ``random_state`` itself when it is an int, else one drawn from it."""
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _networks(self, n_features: int, n_classes: int) -> tuple[nn.Module, nn.Module]:
        """The feature extractor (``hidden``, ``activation``) and the linear label head."""
        return mlp(n_features, self.hidden, self.activation), nn.Linear(self.hidden[-1], n_classes)

    def _discriminator(self, in_features: int | None = None) -> nn.Module:
        """A domain discriminator of ``discriminator_hidden`` widths (no BatchNorm, no dropout)
        on ``in_features``-wide inputs (default: the features), for the subclasses that have
        that parameter."""
        hidden = self.discriminator_hidden  # type: ignore[attr-defined]
        width = self.hidden[-1] if in_features is None else in_features
        return DomainDiscriminator(width, hidden=hidden, batch_norm=False, dropout=0.0)

    def _method(self, n_features: int, n_classes: int, adapt: bool) -> Method:
        """The network for ``n_features`` inputs and ``n_classes``; ``adapt=False``: there are
        no target rows to adapt to."""
        return SourceOnly(*self._networks(n_features, n_classes))

    def _needs_target(self) -> bool:
        return False

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        X_target: Any = None,
        sample_domain: Any = None,
    ) -> ShallowClassifier:
        """Train on the labelled source rows of ``X`` and the unlabelled target rows.

        ``X`` ``(n_samples, n_features)``, ``y`` ``(n_samples,)``. Target rows are those with
        ``y == -1`` (scikit-learn's convention for unlabelled rows, as in
        :mod:`sklearn.semi_supervised`), or, where ``sample_domain`` ``(n_samples,)`` is given
        (skada's convention, routed as metadata), those with a negative domain; positive domains
        are sources (several source or target domains are pooled). ``X_target``
        ``(m_samples, n_features)``: more unlabelled target rows, a convenience. Without any
        target rows DANN and ADDA warn and train as source-only. ``sample_weight``
        ``(n_samples,)`` (>= 0): each domain's rows are drawn for the minibatches in proportion
        to their weights (and weight the input scaling's statistics); equal weights are the
        same as none.
        """
        check_label_kinds(y)
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float32)
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        rows = split_rows(X, y, X_target, sample_domain, sample_weight)
        self.classes_, y_index = np.unique(rows.y_source, return_inverse=True)
        if len(self.classes_) < 2:
            hint = ""
            if sample_domain is None and unlabelled(y).any():
                hint = (
                    "; if -1 is a class here (e.g. svmlight's -1/+1), map the labels to others "
                    "or pass sample_domain"
                )
            raise ValueError(
                f"the labelled rows hold {len(self.classes_)} class; need at least 2 (y == -1 "
                f"marks unlabelled target rows){hint}"
            )
        adapt = rows.X_target.shape[0] > 0
        self.scaler_ = pooled_scaler(rows) if self.scale_inputs else None
        X_source, X_tgt = rows.X_source, rows.X_target
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
        source = Domain(
            to_tensor(X_source), torch.as_tensor(y_index, dtype=torch.long), "source",
            weights=_weights(rows.w_source),
        )  # fmt: skip
        target = Domain(to_tensor(X_tgt), None, "target", weights=_weights(rows.w_target))
        data = TaskData([source], [target if adapt else source], num_classes=len(self.classes_))
        seed = self._seed()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.method_ = self._method(X.shape[1], len(self.classes_), adapt)
        optim, spec = self._specs()
        Trainer(optimizer=optim, seed=seed, spec=spec).fit(self.method_, data)
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

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy on the labelled rows of ``X`` ``(n_samples, n_features)``: rows with
        ``y == -1`` (unlabelled) are left out, never counted as errors; with none labelled it is
        a ``ValueError``. For cross-validation, :class:`~unshift.sklearn.SourceFolds` keeps
        them out of test folds for any scorer."""
        labelled = ~unlabelled(np.asarray(y))
        if not labelled.any():
            raise ValueError("score needs labelled rows; every row has y == -1 (unlabelled)")
        if labelled.all():
            return super().score(X, y, sample_weight)
        weight = None if sample_weight is None else _safe_indexing(sample_weight, labelled)
        X, y = _safe_indexing(X, labelled), _safe_indexing(y, labelled)
        return super().score(X, y, weight)


def _weights(w: np.ndarray | None) -> torch.Tensor | None:
    """Sampling weights for a domain; ``None`` where there are none or all are equal."""
    if w is not None and len(w) and not (w > 0).any():
        raise ValueError("sample_weight is 0 on every row of a domain; it has nothing to train on")
    w = varying(w)
    return None if w is None else torch.as_tensor(w, dtype=torch.float64)
