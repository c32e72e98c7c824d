import math

import numpy as np
import pytest
import scipy.sparse

from unshift.eval import proxy_a_distance


def test_same_distribution_is_near_zero():
    rng = np.random.default_rng(0)
    d = proxy_a_distance(rng.normal(size=(600, 5)), rng.normal(size=(600, 5)))
    assert abs(d) < 0.25


def test_separated_distributions_are_near_two():
    rng = np.random.default_rng(1)
    d = proxy_a_distance(rng.normal(size=(400, 5)), rng.normal(size=(400, 5)) + 4.0)
    assert d > 1.9


def test_sparse_input_and_width_mismatch():
    a = scipy.sparse.random(300, 50, density=0.1, random_state=0, format="csr")
    b = scipy.sparse.random(300, 50, density=0.1, random_state=1, format="csr") * 5
    sparse = proxy_a_distance(a, b)
    assert sparse == pytest.approx(proxy_a_distance(a.toarray(), b.toarray()), abs=1e-6)
    assert sparse > 0.5  # the target's values are 5× larger: clearly separable
    with pytest.raises(ValueError, match="feature widths differ"):
        proxy_a_distance(np.ones((5, 2)), np.ones((5, 3)))


def test_too_few_samples_give_nan_not_a_crash():
    assert math.isnan(proxy_a_distance(np.ones((1, 3)), np.zeros((50, 3))))
    assert math.isnan(proxy_a_distance(np.ones((50, 3)), np.zeros((5, 3))))
    assert not math.isnan(proxy_a_distance(np.ones((6, 3)), np.zeros((6, 3))))


def test_a_one_sample_target_trains_and_reports(tmp_path, capsys):
    from unshift.cli import main

    from .conftest import CONFIGS

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", X=rng.normal(size=(40, 3)), y=np.arange(40) % 2)
    np.savez(tmp_path / "t.npz", X=rng.normal(size=(1, 3)))
    run = tmp_path / "run"
    sets = [f"data.source={tmp_path / 's.npz'}", f"data.target={tmp_path / 't.npz'}"]
    sets += ["data.transform=none", "trainer.steps=10"]
    args = [a for s in sets for a in ("--set", s)]
    assert main(["train", str(CONFIGS / "features_dann.yaml"), "--run-dir", str(run), *args]) == 0
    assert "proxy A-distance, raw inputs | nan" in (run / "report.md").read_text()


def test_the_report_shows_a_below_chance_distance_as_zero_with_the_measured_value():
    from unshift.report.report import pad_cell

    assert pad_cell(-0.008) == "0.000 (measured -0.008: no better than chance)"
    assert pad_cell(1.17) == "1.170" and pad_cell(0.0) == "0.000"
    assert pad_cell(math.nan) == "nan"


def test_a_confusion_matrix_has_one_integer_tick_per_class(tmp_path, monkeypatch):
    from unshift.report import plots

    seen = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: seen.setdefault("ax", fig.axes[0]))
    plots.confusion([[5, 1], [2, 7]], "2 classes", tmp_path / "c.png")
    ax = seen["ax"]
    assert list(ax.get_xticks()) == [0, 1] and list(ax.get_yticks()) == [0, 1]
