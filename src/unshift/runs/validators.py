"""Label-free validators: scores of a trained model that read no target label.

Every validator has one calling convention, ``score = validator(method, data)``: ``method`` a
trained :class:`~unshift.methods.Method` (its ``predict`` and ``features``), ``data`` a
:class:`ValidationData` (labelled held-out *source* validation data, unlabelled *target*
inputs). Every score is **higher is better** (losses and entropies are negated), so that one
ranking rule serves them all. :data:`VALIDATORS` maps names to them.

References: Musgrave et al. 2021, "Unsupervised Domain Adaptation: A Reality Check"; Musgrave
et al. 2022, "Three New Validators and a Large-Scale Benchmark Ranking for Unsupervised Domain
Adaptation"; each function names its source.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import torch

from unshift.core.errors import DataError
from unshift.data.domains import TaskData
from unshift.eval.metrics import classification_report, predict_labels
from unshift.methods.base import Method
from unshift.runs.mixval import mixval, mixval_inter, mixval_intra
from unshift.runs.transfer_score import transfer_score
from unshift.runs.validation_data import (
    ValidationData,
    information,
    logits_and_rows,
    outputs,
    outputs_and_rows,
    row_entropy,
)


def source_val_accuracy(method: Method, data: ValidationData) -> float:
    """Accuracy on the held-out source validation data (reads: source validation labels).
    The baseline of Musgrave et al. 2021/2022."""
    source = data.labelled_source()
    _, p, rows = outputs_and_rows(method, source)
    return float((p.argmax(1) == source.y.cpu()[rows]).float().mean())  # type: ignore[union-attr]


def entropy(method: Method, data: ValidationData) -> float:
    """``-mean_i H(p_i)`` over target predictions (reads: target inputs). Confident models
    score high, including collapsed ones (Musgrave et al. 2021)."""
    _, p = outputs(method, data.subset(data.target))
    return -float(row_entropy(p).mean())


def information_maximization(method: Method, data: ValidationData) -> float:
    """IM: ``H(mean_i p_i) - mean_i H(p_i)`` over target predictions (reads: target inputs):
    confident *and* class-balanced predictions score high (Shi & Sha 2012; Musgrave 2021)."""
    _, p = outputs(method, data.subset(data.target))
    return information(p)


IM_WEIGHT = 0.05
"""Weight of the normalised IM in :func:`source_val_accuracy_im` (fixed before measuring)."""


def source_val_accuracy_im(method: Method, data: ValidationData) -> float:
    """Source validation accuracy ``+ 0.05 · IM / log C`` (``C`` classes, so the IM term lies in
    ``[0, 0.05]``): IM breaks near-ties of source accuracy, a difference of 0.2 in normalised
    IM weighing as much as one point of accuracy (reads: source validation labels, target
    inputs). A combination suggested by Musgrave et al. 2022's finding that source accuracy
    alone is a strong baseline."""
    _, p = outputs(method, data.subset(data.target))
    im = information(p)
    return source_val_accuracy(method, data) + IM_WEIGHT * im / math.log(p.shape[1])


def batch_nuclear_norm(method: Method, data: ValidationData) -> float:
    """BNM: ``‖P‖_* / N`` for the target softmax matrix ``P`` ``(N, C)`` (reads: target inputs;
    Cui et al. 2020). High for confident and diverse predictions."""
    _, p = outputs(method, data.subset(data.target))
    return float(torch.linalg.matrix_norm(p.double(), ord="nuc") / len(p))


def soft_neighborhood_density(
    method: Method, data: ValidationData, temperature: float = 0.05
) -> float:
    """SND (Saito et al. 2021): the mean entropy of each target sample's softmax similarity
    ``softmax_j(p̂_i · p̂_j / τ)`` to the other samples (``p̂`` the L2-normalised predictions,
    ``τ = 0.05``, self excluded). Reads: target inputs. High when neighbourhoods are dense."""
    _, p = outputs(method, data.subset(data.target))
    p = torch.nn.functional.normalize(p.double(), dim=1)
    sim = p @ p.T / temperature
    sim.fill_diagonal_(-math.inf)
    return float(row_entropy(torch.softmax(sim, dim=1)).mean())


def _domain_ratio(f_src: np.ndarray, f_tgt: np.ndarray, seed: int) -> np.ndarray:
    """Density ratio ``p_t(x) / p_s(x)`` at each source sample, from a logistic-regression
    domain classifier on the standardised features (class priors corrected)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([f_src, f_tgt])
    d = np.r_[np.zeros(len(f_src)), np.ones(len(f_tgt))]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    clf.fit(x, d)
    p = np.clip(clf.predict_proba(f_src)[:, 1], 1e-6, 1 - 1e-6)
    return p / (1 - p) * len(f_src) / len(f_tgt)


def dev_risk(loss: np.ndarray, weights: np.ndarray) -> float:
    """The DEV estimate of the target risk from per-sample source validation losses and their
    importance weights: ``mean(w l) + η mean(w) - η`` with the control variate
    ``η = -Cov(w l, w) / Var(w)`` (You et al. 2019, eq. 5–6; ``η = 0`` when ``w`` is constant)."""
    weighted = weights * loss
    var = float(np.var(weights, ddof=1)) if len(weights) > 1 else 0.0
    eta = -float(np.cov(weighted, weights, ddof=1)[0, 1]) / var if var > 0 else 0.0
    return float(weighted.mean() + eta * weights.mean() - eta)


def _dev(method: Method, data: ValidationData, normalize: bool) -> float:
    source = data.subset(data.labelled_source())
    f_s, p_s, rows = outputs_and_rows(method, source)
    f_t, _ = outputs(method, data.subset(data.target))
    w = _domain_ratio(f_s.numpy(), f_t.numpy(), data.seed)
    if normalize:
        w = w / w.max()
    y = source.y.cpu()[rows].numpy()  # type: ignore[union-attr]
    loss = -np.log(np.clip(p_s.numpy()[np.arange(len(y)), y], 1e-12, None))
    return -dev_risk(loss, w)


def deep_embedded_validation(method: Method, data: ValidationData) -> float:
    """DEV (You et al. 2019): ``-(mean(w l) + η mean(w) - η)``, the negated importance-weighted
    source validation loss ``l`` (cross-entropy, nats) with ``w`` the target/source density
    ratio of a domain classifier on the features and the control variate
    ``η = -Cov(w l, w) / Var(w)``. Reads: source validation labels, target inputs."""
    return _dev(method, data, normalize=False)


def deep_embedded_validation_normalized(method: Method, data: ValidationData) -> float:
    """DEVN (Musgrave et al. 2022): DEV with the weights divided by their maximum."""
    return _dev(method, data, normalize=True)


def class_ami(method: Method, data: ValidationData) -> float:
    """ClassAMI (Musgrave et al. 2022): adjusted mutual information between k-means clusters
    of the target features (``k`` = number of classes) and the predicted classes. Reads:
    target inputs."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score

    f, p = outputs(method, data.subset(data.target))
    clusters = KMeans(p.shape[1], n_init=10, random_state=data.seed).fit_predict(f.numpy())
    return float(adjusted_mutual_info_score(clusters, p.argmax(1).numpy()))


MANO_P = 4
MANO_THRESHOLD = 5.0
"""MaNo's norm order and its switch between softmax and Taylor normalisation (Xie et al. 2024)."""


def mano(method: Method, data: ValidationData) -> float:
    """MaNo (Xie et al. 2024): ``(mean_{i,k} q_ik^4)^(1/4)`` over the target rows' normalised
    logits ``q`` ``(N, C)``: softmax when the logits' mean cross-entropy to the uniform
    distribution, ``−mean_{i,k} log softmax(z)_ik``, exceeds 5, otherwise the order-2 Taylor
    normalisation ``(1 + z + z²/2) / Σ_k (1 + z_k + z_k²/2)`` (the paper's Eq. 6 switch, as
    skada reads it). Reads: target inputs."""
    _, z, _ = logits_and_rows(method, data.subset(data.target))
    z = z.double()
    if float(-torch.log_softmax(z, dim=1).mean()) > MANO_THRESHOLD:
        q = torch.softmax(z, dim=1)
    else:
        t = 1 + z + z**2 / 2
        q = t / t.sum(1, keepdim=True)
    return float(q.pow(MANO_P).mean() ** (1 / MANO_P))


def reverse_task(data: TaskData, method: Method) -> TaskData:
    """``data`` with source and target swapped: the target training inputs labelled by
    ``method``'s predictions, the source training inputs without labels, and the source test
    set as the (labelled) test set of the new target. Needs one source and one target;
    leaves ``method`` in eval mode."""
    if len(data.sources) != 1 or len(data.targets) != 1:
        raise DataError("reverse validation needs exactly one source and one target domain")
    if data.source_test is None or data.source_test.y is None:
        raise DataError("reverse validation scores on the labelled source test set; there is none")
    source, target = data.sources[0], data.targets[0]
    method.eval()
    pseudo = predict_labels(method.predict, target).cpu()
    return dataclasses.replace(
        data,
        sources=[dataclasses.replace(target.unlabelled(), y=pseudo)],
        targets=[source.unlabelled()],
        source_test=None,
        target_test=data.source_test,
    )


def reverse_validation(method: Method, data: TaskData, fit: Callable[[TaskData], Method]) -> float:
    """Reverse validation (Zhong et al. 2010; Ganin et al. 2016 §5.1.2): ``fit`` (the caller's
    training, e.g. the same config) trains a backward model on :func:`reverse_task`, and its
    accuracy on the labelled source test set is the score (higher is better). Reads: target
    inputs, source training inputs, source test labels. It needs a whole task and a trainer,
    so it sits outside :data:`VALIDATORS`' calling convention."""
    reverse_data = reverse_task(data, method)
    backward = fit(reverse_data)
    backward.cpu().eval()
    test = reverse_data.target_test
    assert test is not None and test.y is not None
    predicted = predict_labels(backward.predict, test)
    return classification_report(predicted, test.y, data.num_classes)["acc"]


VALIDATORS: dict[str, Callable[[Method, ValidationData], float]] = {
    "source_val_acc": source_val_accuracy,
    "source_val_acc_im": source_val_accuracy_im,
    "entropy": entropy,
    "im": information_maximization,
    "bnm": batch_nuclear_norm,
    "snd": soft_neighborhood_density,
    "dev": deep_embedded_validation,
    "devn": deep_embedded_validation_normalized,
    "class_ami": class_ami,
    "mixval": mixval,
    "mixval_inter": mixval_inter,
    "mixval_intra": mixval_intra,
    "mano": mano,
    "transfer_score": transfer_score,
}
"""Every validator by name; all higher-is-better."""
NEEDS_SOURCE_VAL = frozenset({"source_val_acc", "source_val_acc_im", "dev", "devn"})
"""The validators that read labelled source data held out of training."""
REWARDS_CONFIDENCE = frozenset(
    {"entropy", "im", "bnm", "snd", "mano", "source_val_acc_im", "transfer_score"}
)
"""The validators whose score rises with confident target predictions, whatever their accuracy:
they mislead between runs whose losses push confidence differently (MCC's class confusion, a
target-entropy term)."""
