import math

import pytest

from unshift.nn.schedules import (
    Constant,
    DannLambda,
    DannLR,
    LinearWarmup,
    dann_lambda,
    dann_lr,
    schedule_from_config,
)


def test_dann_lambda_reference_values():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1, abs=1e-15)
    assert dann_lambda(0.5) == pytest.approx(0.986614298, abs=1e-9)
    assert dann_lambda(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1, abs=1e-15)
    assert dann_lambda(1.0) == pytest.approx(0.999909204, abs=1e-9)


def test_dann_lambda_range_form():
    base = 2 / (1 + math.exp(-10 * 0.3)) - 1
    assert dann_lambda(0.3, lo=0.1, hi=0.5) == pytest.approx(0.1 + 0.4 * base, abs=1e-15)
    assert dann_lambda(0.0, lo=0.1, hi=0.5) == pytest.approx(0.1)
    assert dann_lambda(0.3, gamma=2.0) == pytest.approx(2 / (1 + math.exp(-0.6)) - 1)


def test_dann_lr_reference_values():
    assert dann_lr(0.0) == 0.01
    assert dann_lr(1.0) == pytest.approx(0.01 / 11**0.75, rel=1e-15)
    assert dann_lr(0.5, lr0=0.1, alpha=2.0, beta=1.0) == pytest.approx(0.05)


@pytest.mark.parametrize("p", [-0.01, 1.01, math.nan])
def test_progress_out_of_range_is_rejected(p):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dann_lambda(p)


def test_schedule_objects_match_functions_and_print():
    assert DannLambda(gamma=5.0)(0.4) == dann_lambda(0.4, gamma=5.0)
    assert DannLR(lr0=0.02)(0.7) == dann_lr(0.7, lr0=0.02)
    assert Constant(0.3)(0.9) == 0.3
    warm = LinearWarmup(hi=2.0, warmup=0.25)
    assert warm(0.0) == 0.0 and warm(0.125) == pytest.approx(1.0) and warm(0.8) == 2.0
    assert repr(DannLambda()) == "DannLambda(gamma=10.0, lo=0.0, hi=1.0)"
    assert "warmup=0.25" in str(warm)


@pytest.mark.parametrize(
    "schedule", [DannLambda(gamma=3.0, hi=0.5), DannLR(beta=0.5), Constant(0.2), LinearWarmup()]
)
def test_schedule_config_round_trip(schedule):
    config = schedule.to_config()
    assert isinstance(config["name"], str)
    assert schedule_from_config(config) == schedule


def test_schedule_from_config_forms_and_errors():
    assert schedule_from_config({"name": "dann_lambda", "gamma": 5}) == DannLambda(gamma=5.0)
    assert schedule_from_config(0.5) == Constant(0.5)
    with pytest.raises(ValueError, match="unknown schedule name 'cosine'"):
        schedule_from_config({"name": "cosine"})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['gama'\]"):
        schedule_from_config({"name": "dann_lambda", "gama": 5})
    with pytest.raises(ValueError, match="must be numbers"):
        schedule_from_config({"name": "constant", "value": "high"})
    with pytest.raises(ValueError, match="warmup"):
        LinearWarmup(warmup=0.0)
