"""Multi-output heads: loss, predictions and accuracies against hand-computed values, and a
multi-output task through the trainer with source-only and DANN."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from unshift import Trainer
from unshift.core.errors import DataError
from unshift.data import Domain, TaskData
from unshift.eval.metrics import classification_report
from unshift.methods import DANN, SourceOnly
from unshift.nn import MultiOutputHead, label_loss, output_classes
from unshift.training.trainer import OptimizerSpec


def test_label_loss_is_sum_of_per_output_cross_entropies() -> None:
    first = torch.tensor([[0.0, 0.0], [0.0, 0.0]])  # ln 2 each
    second = torch.tensor([[0.0, 0.0, 0.0], [math.log(2.0), 0.0, 0.0]])
    labels = torch.tensor([[0, 2], [1, 0]])
    # output 2: sample 1 -> -log(1/3); sample 2 -> -log(2/4)
    expected = math.log(2.0) + (math.log(3.0) + math.log(2.0)) / 2
    assert label_loss((first, second), labels).item() == pytest.approx(expected, abs=1e-6)
    single = label_loss(second, torch.tensor([2, 0])).item()
    assert single == pytest.approx((math.log(3.0) + math.log(2.0)) / 2, abs=1e-6)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        label_loss((first, second), torch.tensor([0, 1]))


def test_output_classes_and_whole_sequence_accuracy() -> None:
    logits = (
        torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 5.0]]),
        torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 9.0]]),
    )
    predicted = output_classes(logits)
    assert predicted.tolist() == [[0, 2], [1, 0], [0, 1], [1, 2]]
    labels = torch.tensor([[0, 2], [1, 1], [1, 1], [1, 2]])
    report = classification_report(predicted, labels, (2, 3))
    assert report["acc"] == pytest.approx(0.5)  # samples 0 and 3 have both outputs right
    assert report["per_output_acc"] == pytest.approx([0.75, 0.75])
    assert report["per_output_confusion"][0] == [[1, 0], [1, 2]]
    assert output_classes(logits[1]).tolist() == [2, 0, 1, 2]


def test_multi_output_labels_are_checked() -> None:
    x = torch.randn(6, 4)
    with pytest.raises(DataError, match=r"labels of shape \(N, 2\)"):
        TaskData([Domain(x, torch.zeros(6, dtype=torch.long))], [Domain(x)], num_classes=(3, 3))
    bad = torch.tensor([[0, 1]] * 5 + [[0, 3]])
    with pytest.raises(DataError, match=r"labels of output 1 must lie in \[0, 2\]"):
        TaskData([Domain(x, bad)], [Domain(x)], num_classes=(3, 3))


def _code_task(seed: int = 0) -> TaskData:
    """Two 8-D Gaussian domains; each of 3 outputs is the sign pattern of two coordinates."""
    gen = torch.Generator().manual_seed(seed)

    def domain(n: int, shift: float) -> Domain:
        x = torch.randn(n, 8, generator=gen)
        y = torch.stack([(x[:, i] > 0).long() + 2 * (x[:, i + 3] > 0).long() for i in range(3)], 1)
        return Domain(x + shift, y)

    return TaskData(
        [domain(400, 0.0)],
        [domain(400, 0.3)],
        num_classes=(4, 4, 4),
        source_test=domain(300, 0.0),
        target_test=domain(300, 0.3),
    )


@pytest.mark.parametrize("name", ["source_only", "dann"])
def test_multi_output_task_trains_and_reports(name: str) -> None:
    torch.manual_seed(0)
    data = _code_task()
    features = nn.Sequential(nn.Linear(8, 32), nn.ReLU())
    head = MultiOutputHead(32, data.class_counts, hidden=32)
    method = SourceOnly(features, head) if name == "source_only" else DANN(features, head, 32)
    trainer = Trainer(
        max_steps=300, batch_size=32, optimizer=OptimizerSpec("adam", lr=0.01), progress_bar=False
    )
    final = trainer.fit(method, data)
    per_output = final["target_per_output_acc"]
    assert len(per_output) == 3 and all(a > 0.6 for a in per_output)  # chance: 0.25
    assert final["target_acc"] <= min(per_output) + 1e-9
    assert final["source_acc"] > 0.5  # chance for a whole code: (1/4)^3 ≈ 0.016
    assert "target_confusion" not in final and len(final["target_per_output_confusion"]) == 3
