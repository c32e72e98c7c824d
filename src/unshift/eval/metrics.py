"""Classification metrics on tensors: accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from unshift.data.domains import TaskData, as_float, take_rows
from unshift.nn.heads import Logits, output_classes


def confusion_matrix(predicted: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """``(C, C)`` counts, row = true class, column = predicted class."""
    index = labels.long() * num_classes + predicted.long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def batches(x: Tensor, batch_size: int = 1024) -> Iterator[Tensor]:
    """Consecutive dense float batches of ``x`` ``(N, *)``; a sparse ``x`` densifies, and
    ``uint8`` pixels are scaled, one batch at a time."""
    for i in range(0, x.shape[0], batch_size):
        if x.is_sparse:
            yield take_rows(x, torch.arange(i, min(i + batch_size, x.shape[0]), device=x.device))
        else:
            yield as_float(x[i : i + batch_size])


@torch.no_grad()
def predict_labels(
    predict: Callable[[Tensor], Logits], x: Tensor, batch_size: int = 1024
) -> Tensor:
    """Arg-max class of ``predict`` (inputs ``(B, *)`` → logits ``(B, C)``, or a tuple of
    ``(B, C_i)`` for several outputs) in batches: ``(N,)``, or ``(N, L)`` for ``L`` outputs."""
    return torch.cat([output_classes(predict(b)) for b in batches(x, batch_size)])


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
    inputs moved to ``device``."""
    was_training = method.training
    method.eval()
    out: dict[str, Any] = {"source_split": "test" if data.source_test is not None else "train"}
    sets = {"source": data.source_test or data.sources[0], "target": data.target_test}
    for role, domain in sets.items():
        if domain is None or domain.y is None:
            continue
        predicted = predict_labels(method.predict, domain.x.to(device))  # type: ignore[arg-type]
        report = classification_report(predicted, domain.y, data.num_classes)
        out.update({f"{role}_{key}": value for key, value in report.items()})
    method.train(was_training)
    return out
