"""Reverse validation: built without target labels, and it separates a good model from a bad
one."""

import dataclasses

import pytest
import torch
from torch import nn

from unshift.core.errors import DataError
from unshift.data.domains import Domain
from unshift.methods import SourceOnly
from unshift.runs.selection import reverse_score, reverse_validation
from unshift.runs.validators import reverse_task
from unshift.training.build import build_data, build_method, build_trainer
from unshift.training.config import load_config

from .conftest import CONFIGS

FAST = ["trainer.steps=300", "trainer.progress_bar=false", "trainer.eval_every=0"]


def _moons(*overrides: str):
    cfg = load_config(CONFIGS / "moons/dann.yaml", [*FAST, *overrides])
    return cfg, build_data(cfg)


class _Constant(nn.Module):
    """Logits that always pick class 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[1.0, 0.0]]).expand(x.shape[0], 2)


def test_reverse_task_swaps_domains_and_ignores_target_labels() -> None:
    cfg, data = _moons()
    method = build_method(cfg, data)
    swapped = reverse_task(data, method)
    garbage = dataclasses.replace(
        data, targets=[Domain(data.targets[0].x, torch.zeros(len(data.targets[0])).long())]
    )
    again = reverse_task(garbage, method)
    expected = method.predict(data.targets[0].x).argmax(1)
    assert torch.equal(swapped.sources[0].y, expected)
    assert torch.equal(again.sources[0].y, expected)
    assert torch.equal(swapped.sources[0].x, data.targets[0].x)
    assert torch.equal(swapped.targets[0].x, data.sources[0].x)
    assert swapped.targets[0].y is None
    assert swapped.target_test is data.source_test


def test_reverse_task_needs_source_test_labels() -> None:
    cfg, data = _moons()
    with pytest.raises(DataError, match="source test"):
        reverse_task(dataclasses.replace(data, source_test=None), build_method(cfg, data))


def test_reverse_score_ranks_a_trained_model_above_a_constant_one() -> None:
    cfg, data = _moons("data.angle=20")
    trained = build_method(cfg, data)
    build_trainer(cfg, None).fit(trained, data)
    good = reverse_score(cfg, data, trained.cpu(), steps=300)
    constant = reverse_score(cfg, data, SourceOnly(nn.Identity(), _Constant()), steps=300)
    assert good > 0.9
    assert constant < 0.6


def test_reverse_validation_reports_scores() -> None:
    cfg, _ = _moons("data.angle=20")
    result = reverse_validation(cfg, steps=200)
    assert set(result) == {"reverse_acc", "source_acc", "target_acc"}
    assert 0.9 < result["reverse_acc"] <= 1.0
