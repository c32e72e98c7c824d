"""``DomainAdversarialModel``: a two-output Keras model (labels, domains) for DANN, and the
arrays that let plain ``model.fit`` train it."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from unshift.keras.layers import GradientReversal


def _coeff(coeff: float | None, lambda_: float | None) -> float:
    if coeff is not None and lambda_ is not None:
        raise ValueError("pass coeff= or lambda_=, not both (lambda_ = -coeff)")
    if lambda_ is not None:
        if lambda_ > 0:
            raise ValueError(
                f"lambda_ follows the negative-multiplier convention and must be <= 0; got "
                f"{lambda_}. Pass lambda_={-lambda_} or coeff={lambda_}"
            )
        return -float(lambda_)
    return 1.0 if coeff is None else float(coeff)


class DomainAdversarialModel:
    """Builds ``inputs → feature_extractor → (label head, GRL → domain head)``.

    Parameters
    ----------
    feature_extractor : keras.Model
        Any model with a known input shape; non-flat outputs are flattened.
    num_labels : int
        Classes of the label head (softmax).
    num_domains : int
        ``>= 2`` domains; the domain head is a softmax over them.
    coeff : float, optional
        GRL coefficient ``>= 0`` (default 1.0). Code written for a negative multiplier may
        pass ``lambda_=-0.8`` instead of ``coeff=0.8``; a positive ``lambda_`` or both is an error.
    label_head, domain_head : keras.layers.Layer, optional
        Replace the default ``Dense(num_labels, softmax)`` / ``Dense(num_domains, softmax)``.
    name_label_classifier, name_domain_classifier : str
        Names of the two outputs.
    """

    def __init__(
        self,
        feature_extractor: keras.Model,
        num_labels: int,
        num_domains: int = 2,
        coeff: float | None = None,
        label_head: keras.layers.Layer | None = None,
        domain_head: keras.layers.Layer | None = None,
        name_label_classifier: str = "label_predict",
        name_domain_classifier: str = "domain_predict",
        lambda_: float | None = None,
    ) -> None:
        if num_labels < 2:
            raise ValueError(f"num_labels must be >= 2; got {num_labels}")
        if num_domains < 2:
            raise ValueError(f"num_domains must be >= 2; got {num_domains}")
        self.feature_extractor = feature_extractor
        self.num_labels = num_labels
        self.num_domains = num_domains
        self.coeff = _coeff(coeff, lambda_)
        self.label_head = label_head
        self.domain_head = domain_head
        self.name_label_classifier = name_label_classifier
        self.name_domain_classifier = name_domain_classifier

    def get_model(self) -> keras.Model:
        """A functional model with outputs ``[labels (N, num_labels), domains (N, K)]``."""
        inputs = keras.Input(shape=self.feature_extractor.input_shape[1:])
        features = self.feature_extractor(inputs)
        if len(features.shape) > 2:
            features = keras.layers.Flatten()(features)
        label_head = self.label_head or keras.layers.Dense(self.num_labels, activation="softmax")
        domain_head = self.domain_head or keras.layers.Dense(self.num_domains, activation="softmax")
        labels = keras.layers.Identity(name=self.name_label_classifier)(label_head(features))
        reversed_ = GradientReversal(self.coeff, name="gradient_reversal")(features)
        domains = keras.layers.Identity(name=self.name_domain_classifier)(domain_head(reversed_))
        return keras.Model(inputs, [labels, domains], name="domain_adversarial_model")


def dann_fit_arrays(
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    targets: Sequence[np.ndarray],
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """``(x, [y_label, y_domain], [w_label, w_domain])`` for ``model.fit`` on a two-output model.

    Sources get domain ids ``0..S-1``, targets ``S..S+T-1``. Target samples carry a dummy
    label 0 with label weight 0, so the label loss only counts source samples; the domain loss
    counts everyone. Use ``shuffle=True`` (Keras' default) so every batch mixes domains.
    """
    if not sources or not targets:
        raise ValueError("need at least one labelled source and one target domain")
    xs = [np.asarray(x) for x, _ in sources] + [np.asarray(x) for x in targets]
    width = {x.shape[1:] for x in xs}
    if len(width) != 1:
        raise ValueError(f"all domains must have the same sample shape; got {sorted(width)}")
    x = np.concatenate(xs).astype("float32")
    n_src = sum(len(a) for a, _ in sources)
    y_label = np.concatenate(
        [np.asarray(y).astype("int64") for _, y in sources]
        + [np.zeros(len(t), dtype="int64") for t in targets]
    )
    y_domain = np.concatenate([np.full(len(a), i, dtype="int64") for i, a in enumerate(xs)])
    w_label = np.r_[np.ones(n_src), np.zeros(len(x) - n_src)].astype("float32")
    return x, [y_label, y_domain], [w_label, np.ones(len(x), dtype="float32")]
