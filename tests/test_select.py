"""`unshift select` ranks snapshots without target labels; `unshift eval --step` scores one."""

import json

import pytest

from unshift.cli import main
from unshift.runs.selection import select

from .conftest import CONFIGS

DANN = str(CONFIGS / "moons" / "dann.yaml")
SHORT = ["trainer.steps=120", "trainer.snapshot_every=40", "data.source_val_fraction=0.2"]


def train(run, *extra):
    sets = [a for s in [*SHORT, *extra] for a in ("--set", s)]
    assert main(["train", DANN, "--run-dir", str(run), *sets]) == 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    train(base / "a")
    train(base / "b", "optim.lr=0.01")
    return base / "a", base / "b"


def test_select_ranks_every_snapshot_and_writes_selection_json(runs, capsys):
    capsys.readouterr()
    assert main(["select", *map(str, runs), "--validator", "source_val_acc"]) == 0
    out = capsys.readouterr().out
    assert "chosen:" in out and "(reported only; not used to choose)" in out
    records = [json.loads((r / "selection.json").read_text()) for r in runs]
    assert [s["step"] for s in records[0]["scores"]] != []
    assert sorted(s["step"] for s in records[1]["scores"]) == [40, 80, 120]
    assert records[0]["chosen"] == records[1]["chosen"]
    result = select(list(runs), "source_val_acc")
    scores = [s.score for s in result.ranked]
    assert scores == sorted(scores, reverse=True) and len(scores) == 6
    assert result.chosen.score == max(scores)


def test_eval_step_scores_a_snapshot(runs, capsys):
    run = runs[0]
    assert main(["eval", str(run), "--step", "120"]) == 0
    last = json.loads((run / "eval_step_120.json").read_text())
    assert last["target_acc"] == json.loads((run / "final.json").read_text())["target_acc"]
    assert main(["eval", str(run), "--step", "40"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--step", "50"]) == 2
    assert "has no snapshot of step 50; it has steps [40, 80, 120]" in capsys.readouterr().err


def test_select_refuses_what_it_cannot_rank(runs, tmp_path, capsys):
    plain = tmp_path / "plain"
    assert main(["train", DANN, "--run-dir", str(plain), "--set", "trainer.steps=20"]) == 0
    other, unheld = tmp_path / "other", tmp_path / "unheld"
    train(other, "data.angle=50")
    train(unheld, "data.source_val_fraction=0")
    cases = {
        (str(plain),): "has no snapshots (train it with trainer.snapshot_every)",
        (str(runs[0]), str(other)): "select compares runs of one task",
        (str(runs[0]), "--validator", "oracle"): "unknown validator 'oracle'",
        (str(unheld), "--validator", "dev"): "reads labelled source validation data and there is",
    }
    for args, message in cases.items():
        capsys.readouterr()
        assert main(["select", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1


def test_score_config_scores_the_last_iterate_by_any_validator_or_reverse_validation():
    from unshift.core.errors import ConfigError
    from unshift.runs.selection import score_config
    from unshift.training.config import load_config

    cfg = load_config(DANN, ["trainer.steps=60", "data.source_val_fraction=0.2"])
    held_out = score_config(cfg, "source_val_acc")
    assert 0.0 <= held_out["score"] <= 1.0 and set(held_out) == {
        "score",
        "source_acc",
        "target_acc",
    }
    assert score_config(cfg, "source_val_acc") == held_out  # seeded: the same run again
    reverse = score_config(cfg, "reverse", reverse_steps=30)
    assert 0.0 <= reverse["score"] <= 1.0 and reverse["target_acc"] == held_out["target_acc"]
    with pytest.raises(ConfigError, match=r"unknown validator 'oracle'; known: .*'reverse'"):
        score_config(cfg, "oracle")


def test_the_command_names_the_default_validator_and_every_validator():
    from unshift.cli.arguments import build_parser
    from unshift.runs.selection import DEFAULT_VALIDATOR
    from unshift.runs.validators import VALIDATORS

    select_help = build_parser()._subparsers._group_actions[0].choices["select"].format_help()
    assert f"{DEFAULT_VALIDATOR} (the default" in select_help
    assert all(name in select_help for name in VALIDATORS)


def test_confidence_rewarding_validators_warn_across_methods():
    from unshift.runs.selection import confidence_warning

    dann = {"name": "dann", "target_entropy": 0.0, "mcc": 0.0}
    mcc = {"name": "mcc", "weight": 1.0}
    assert "rewards confident" in confidence_warning("bnm", {"a": dann, "b": mcc})
    assert '"weight": 3.0' in confidence_warning("bnm", {"a": mcc, "b": {**mcc, "weight": 3.0}})
    entropy = confidence_warning("bnm", {"a": dann, "b": {**dann, "target_entropy": 0.1}})
    assert '"target_entropy": 0.1' in entropy
    assert confidence_warning("bnm", {"a": dann, "b": {**dann, "lr_scale": 2}}) is None
    assert confidence_warning("source_val_acc", {"a": dann, "b": mcc}) is None
    assert confidence_warning("mixval", {"a": dann, "b": mcc}) is None


def test_select_warns_when_it_ranks_dann_against_mcc_by_bnm(runs, tmp_path, capsys):
    mcc = tmp_path / "mcc"
    sets = [a for s in SHORT for a in ("--set", s)]
    assert main(["train", str(CONFIGS / "moons" / "mcc.yaml"), "--run-dir", str(mcc), *sets]) == 0
    capsys.readouterr()
    assert main(["select", str(runs[0]), str(mcc), "--validator", "bnm"]) == 0
    assert "warning: bnm rewards confident target predictions" in capsys.readouterr().err
    assert json.loads((mcc / "selection.json").read_text())["warning"].startswith("bnm rewards")
    assert main(["select", str(runs[0]), str(mcc), "--validator", "source_val_acc"]) == 0
    assert "warning" not in capsys.readouterr().err
