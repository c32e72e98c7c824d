"""MCD (Saito et al. 2018): the discrepancy against a hand computation, its phases through the
real trainer (which parameters each one moves, bitwise), the ensemble prediction."""

import math

import pytest
import torch
from torch import nn

from unshift.core.registry import FieldError
from unshift.data import rotated_moons
from unshift.methods import MCD
from unshift.methods.base import Phase
from unshift.methods.mcd import fresh_copy
from unshift.models import mlp
from unshift.nn.losses import classifier_discrepancy
from unshift.training.trainer import OptimizerSpec, Trainer


def test_discrepancy_by_hand():
    a = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    b = torch.tensor([[math.log(2.0), 0.0, 0.0], [1.0, 2.0, 3.0]])
    # Row 0: (0.5, 0.25, 0.25) against (1/3, 1/3, 1/3); row 1 agrees exactly.
    by_hand = (1 / 6 + 1 / 12 + 1 / 12) / 6
    assert classifier_discrepancy(a, b).item() == pytest.approx(by_hand)
    assert classifier_discrepancy(a, a).item() == 0.0
    with pytest.raises(ValueError, match=r"same shape \(N, C\)"):
        classifier_discrepancy(a, b[:, :2])


def small_mcd(num_k: int = 2) -> MCD:
    torch.manual_seed(0)
    return MCD(mlp(2, [8]), nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)), num_k=num_k)


def test_second_classifier_is_a_fresh_copy():
    method = small_mcd()
    first, second = list(method.label_head.parameters()), list(method.second_head.parameters())
    assert [p.shape for p in first] == [p.shape for p in second]
    assert all(not torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert all(a is not b for a, b in zip(first, second, strict=True))
    twin = fresh_copy(nn.BatchNorm1d(3))
    assert isinstance(twin, nn.BatchNorm1d)


def test_prediction_is_the_mean_of_the_two_classifiers():
    method = small_mcd().eval()
    x = torch.randn(5, 2)
    f = method.features(x)
    mean = (method.label_head(f).softmax(1) + method.second_head(f).softmax(1)) / 2
    assert torch.allclose(method.predict(x).softmax(1), mean, atol=1e-6)
    assert torch.allclose(method.predict(x).exp().sum(1), torch.ones(5), atol=1e-6)


def test_phases_of_a_step_and_their_optimisers():
    method = small_mcd(num_k=3)
    phases = method.phases(0)
    assert [(p.name, p.optimizers, p.new_batch) for p in phases] == [
        ("source", ("generator", "classifiers"), True),
        ("classifiers", ("classifiers",), False),
        *[("generator", ("generator",), False)] * 3,
    ]
    groups = method.param_groups()
    assert {id(p) for p in groups["generator"]} == {
        id(p) for p in method.feature_extractor.parameters()
    }
    assert len(groups["classifiers"]) == 2 * len(list(method.label_head.parameters()))


class OnePhase(MCD):
    """MCD whose every training step is the one phase ``only`` (the trainer steps its
    optimisers exactly as in a full MCD step)."""

    only = "source"

    def phases(self, step: int) -> list[Phase]:
        phase = next(p for p in super().phases(step) if p.name == self.only)
        return [Phase(phase.name, phase.optimizers)]


def _run_phase(name: str) -> tuple[bool, bool]:
    """Whether 3 trainer steps of phase ``name`` change the generator's, the classifiers'
    parameters (bitwise), with Adam and weight decay."""
    torch.manual_seed(0)
    method = OnePhase(mlp(2, [8]), nn.Linear(8, 2))
    method.only = name
    gen = [p.detach().clone() for p in method.feature_extractor.parameters()]
    cls = [
        p.detach().clone()
        for p in [*method.label_head.parameters(), *method.second_head.parameters()]
    ]
    spec = OptimizerSpec(name="adam", lr=0.01, weight_decay=5e-4)
    Trainer(max_steps=3, batch_size=16, optimizer=spec, progress_bar=False).fit(
        method, rotated_moons(n_train=64, n_test=32)
    )
    after_cls = [*method.label_head.parameters(), *method.second_head.parameters()]
    moved = lambda before, now: any(  # noqa: E731
        not torch.equal(b, p) for b, p in zip(before, now, strict=True)
    )
    return moved(gen, method.feature_extractor.parameters()), moved(cls, after_cls)


def test_phase_b_moves_the_classifiers_only():
    assert _run_phase("classifiers") == (False, True)


def test_phase_c_moves_the_generator_only():
    assert _run_phase("generator") == (True, False)


def test_phase_a_moves_both():
    assert _run_phase("source") == (True, True)


def test_step_losses_and_logs():
    method = small_mcd()
    xs, ys, xt = torch.randn(6, 2), torch.randint(0, 2, (6,)), torch.randn(8, 2)
    f_s, f_t = method.features(xs), method.features(xt)
    ce = nn.functional.cross_entropy
    source = ce(method.label_head(f_s), ys) + ce(method.second_head(f_s), ys)
    d = classifier_discrepancy(method.label_head(f_t), method.second_head(f_t))
    loss_a, logs_a = method([(xs, ys)], [xt], "source")
    loss_b, logs_b = method([(xs, ys)], [xt], "classifiers")
    loss_c, logs_c = method([(xs, ys)], [xt], "generator")
    assert torch.allclose(logs_c["discrepancy"], d)
    assert torch.allclose(loss_a, source) and torch.allclose(logs_a["label_loss"], source)
    assert torch.allclose(loss_b, source - d) and torch.allclose(logs_b["discrepancy"], d)
    assert torch.allclose(loss_c, d)
    with pytest.raises(ValueError, match="MCD adapts one source to one target"):
        method([(xs, ys), (xs, ys)], [xt], "source")


def test_num_k_must_be_positive():
    with pytest.raises(FieldError, match="num_k must be >= 1"):
        MCD.Config(num_k=0)


def test_a_saved_mcd_run_predicts_with_both_classifiers(tmp_path):
    import unshift
    from unshift.runs.run import run
    from unshift.training.config import load_config

    cfg = load_config("moons/mcd", ["trainer.steps=20", "trainer.progress_bar=false"])
    result = run(cfg, run_dir=tmp_path / "run")
    x = result.data.target_test.x[:7]
    method = result.method.eval()
    with torch.no_grad():
        f = method.features(x)
        mean = (method.label_head(f).softmax(1) + method.second_head(f).softmax(1)) / 2
    proba = unshift.load_model(tmp_path / "run").predict_proba(x)
    assert torch.allclose(proba, mean, atol=1e-6)


def test_mcd_refuses_several_sources():
    from unshift.core.errors import ConfigError
    from unshift.data import Domain, TaskData
    from unshift.models.networks import Networks

    x, y = torch.randn(4, 2), torch.tensor([0, 1, 0, 1])
    data = TaskData([Domain(x, y), Domain(x, y)], [Domain(x)], num_classes=2)
    networks = Networks(mlp(2, [8]), nn.Linear(8, 2), 8)
    with pytest.raises(ConfigError, match="mcd adapts one source to one target"):
        MCD.from_config(MCD.Config(), networks, data)
