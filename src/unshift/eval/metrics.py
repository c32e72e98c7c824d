"""Classification metrics on tensors: accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from unshift.core.errors import DataError
from unshift.data.domains import AnyDomain, Domain, TaskData
from unshift.nn.heads import Logits, output_classes


def confusion_matrix(predicted: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """``(C, C)`` counts, row = true class, column = predicted class."""
    index = labels.long() * num_classes + predicted.long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def row_batches(
    data: Tensor | AnyDomain, batch_size: int = 1024
) -> Iterator[tuple[Tensor, Tensor]]:
    """Consecutive dense float batches ``(B, *)`` of samples ``(N, *)`` (a tensor: a sparse
    one densifies and ``uint8`` pixels are scaled, one batch at a time) or of a domain (a
    streamed one read by its workers), each with its row indices ``(B,)``. A streamed domain
    leaves unreadable samples out (and warns)."""
    yield from (Domain(data) if isinstance(data, Tensor) else data).iter_batches(batch_size)


def batches(data: Tensor | AnyDomain, batch_size: int = 1024) -> Iterator[Tensor]:
    """The batches of :func:`row_batches` without their row indices."""
    for x, _ in row_batches(data, batch_size):
        yield x


@torch.no_grad()
def predict_rows(
    predict: Callable[[Tensor], Logits],
    data: Tensor | AnyDomain,
    device: torch.device | str | None = None,
    batch_size: int = 1024,
) -> tuple[Tensor, Tensor]:
    """Arg-max classes of ``predict`` (inputs ``(B, *)`` → logits ``(B, C)``, or a tuple of
    ``(B, C_i)``) for the rows of ``data`` that could be read, each batch moved to ``device``:
    classes ``(M,)`` (``(M, L)`` for ``L`` outputs) and the rows ``(M,)`` they belong to."""
    predicted, rows = [], []
    for x, r in row_batches(data, batch_size):
        predicted.append(output_classes(predict(x if device is None else x.to(device))))
        rows.append(r)
    return torch.cat(predicted), torch.cat(rows)


@torch.no_grad()
def predict_labels(
    predict: Callable[[Tensor], Logits], data: Tensor | AnyDomain, batch_size: int = 1024
) -> Tensor:
    """Arg-max class of ``predict`` in batches: ``(N,)``, or ``(N, L)`` for ``L`` outputs; a
    :class:`~unshift.core.errors.DataError` if a streamed sample cannot be read."""
    predicted, rows = predict_rows(predict, data, batch_size=batch_size)
    if len(rows) != len(data):
        raise DataError(
            f"{len(data) - len(rows)} of {len(data)} samples could not be read (warnings name "
            "them); remove or repair them"
        )
    return predicted


def classification_report(
    predicted: Tensor, labels: Tensor, num_classes: int | tuple[int, ...]
) -> dict:
    """One output (``(N,)`` predictions and labels, ``num_classes`` an int): ``acc`` (fraction
    right), ``per_class_acc`` (list; NaN for absent classes), ``confusion``.

    Several outputs (``(N, L)``, ``num_classes`` a tuple): ``acc`` is the fraction of samples
    with every output right (whole-sequence accuracy), ``per_output_acc`` each output's
    accuracy, ``per_output_confusion`` each output's confusion matrix.
    """
    predicted, labels = predicted.cpu(), labels.cpu()
    if not isinstance(num_classes, int):
        right = predicted == labels
        return {
            "acc": float(right.all(1).float().mean()),
            "per_output_acc": right.float().mean(0).tolist(),
            "per_output_confusion": [
                confusion_matrix(predicted[:, i], labels[:, i], c).tolist()
                for i, c in enumerate(num_classes)
            ],
        }
    conf = confusion_matrix(predicted, labels, num_classes)
    totals = conf.sum(1)
    per_class = [
        float(conf[c, c] / totals[c]) if totals[c] > 0 else float("nan") for c in range(num_classes)
    ]
    return {
        "acc": float(conf.diag().sum() / conf.sum()),
        "per_class_acc": per_class,
        "confusion": conf.tolist(),
    }


def evaluate(
    method: torch.nn.Module, data: TaskData, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Accuracy, per-class accuracy and confusion (:func:`classification_report`, keys
    prefixed ``source_`` / ``target_``) of ``method.predict`` on the labelled test sets (and on
    the source training set when there is no source test set: ``source_split`` says which),
    inputs moved to ``device``. Samples of a streamed test set that cannot be read are left out
    of its scores and counted (``target_unreadable``, ``source_unreadable``)."""
    was_training = method.training
    method.eval()
    out: dict[str, Any] = {"source_split": "test" if data.source_test is not None else "train"}
    sets = {"source": data.source_test or data.sources[0], "target": data.target_test}
    for role, domain in sets.items():
        if domain is None or domain.y is None:
            continue
        predicted, rows = predict_rows(method.predict, domain, device)
        report = classification_report(
            predicted, domain.y[rows.to(domain.y.device)], data.num_classes
        )
        out.update({f"{role}_{key}": value for key, value in report.items()})
        if len(rows) < len(domain):
            out[f"{role}_unreadable"] = len(domain) - len(rows)
    method.train(was_training)
    return out
