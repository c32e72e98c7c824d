"""`unshift tune`: the space it reads, the grid and TPE searches, the files it writes, failed
trials, resuming a killed search, and the refusals."""

import json
import os
import signal
import subprocess
import sys

import pytest

from unshift.core.errors import ConfigError, RunDirError
from unshift.runs.search_space import grid, parse_candidates, parse_space
from unshift.runs.tune import BEST, TUNE_JSON, TUNE_MD, tune
from unshift.training.config import load_config

from .conftest import scaled, wait_for

SHORT = ["trainer.steps=60", "trainer.progress_bar=false", "trainer.eval_every=0"]


def test_space_values_are_read_as_yaml():
    space = parse_space(["optim.lr=0.01,0.001", "model.hidden=[64],[100, 100]", "x=relu,true"])
    assert space == {
        "optim.lr": [0.01, 0.001],
        "model.hidden": [[64], [100, 100]],
        "x": ["relu", True],
    }
    assert grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]


@pytest.mark.parametrize(
    ("items", "says"),
    [
        (["optim.lr"], "expected KEY=V1,V2"),
        (["optim.lr="], "expected KEY=V1,V2"),
        (["optim.lr=0.1,0.1"], "listed twice"),
        (["optim.lr=0.1", "optim.lr=0.2"], "twice"),
        (["optim.lr=[0.1"], "cannot read"),
        ([], "at least one --space"),
    ],
)
def test_bad_spaces_are_refused(items, says):
    with pytest.raises(ConfigError, match=says):
        parse_space(items)


def test_candidates_are_yaml_mappings_tried_as_they_are(tmp_path):
    items = ["{optim.lr: 0.01}", "{optim.lr: 0.003, method.schedule.hi: 0.1}"]
    candidates = parse_candidates(items)
    assert candidates == [{"optim.lr": 0.01}, {"optim.lr": 0.003, "method.schedule.hi": 0.1}]
    for bad, says in [
        (["optim.lr=0.1"], "expected a mapping"),
        (["{a: [1}"], "cannot read"),
        (["{a: 1}", "{a: 1}"], "listed twice"),
    ]:
        with pytest.raises(ConfigError, match=says):
            parse_candidates(bad)
    out = tmp_path / "candidates"
    result = tune("moons/dann", candidates, out, overrides=SHORT)
    assert [t.settings for t in result.trials] == candidates
    second = load_config(out / "trial-001" / "config.yaml")
    assert second.optim.lr == 0.003 and second.method.schedule["hi"] == 0.1
    first = load_config(out / "trial-000" / "config.yaml")
    assert first.method.schedule["hi"] == load_config("moons/dann").method.schedule["hi"]
    rows = (out / TUNE_MD).read_text().splitlines()
    assert any(r.startswith("| 0 | 0.01 | – |") for r in rows), "a key a candidate leaves as is"
    assert load_config(out / BEST).optim.lr == result.chosen.settings["optim.lr"]
    with pytest.raises(ConfigError, match="candidates are all tried"):
        tune("moons/dann", candidates, tmp_path / "tpe", trials=1)


def test_the_command_takes_space_or_candidates_not_both(tmp_path, capsys):
    from unshift.cli import main

    out = tmp_path / "cli"
    assert (
        main(
            [
                "tune",
                "moons/dann",
                "--out",
                str(out),
                "--candidate",
                "{optim.lr: 0.01}",
                *(f"--set={s}" for s in SHORT),
            ]
        )
        == 0
    )
    assert "chosen: trial 0" in capsys.readouterr().out
    for extra in ([], ["--space", "optim.lr=0.1", "--candidate", "{optim.lr: 0.1}"]):
        assert main(["tune", "moons/dann", "--out", str(tmp_path / "x"), *extra]) != 0
        assert "one kind" in capsys.readouterr().err


def test_grid_search_writes_every_trial_and_the_chosen_config(tmp_path):
    out = tmp_path / "search"
    lines = []
    space = {"optim.lr": [0.01, 0.003], "method.schedule.hi": [0.3]}
    result = tune("moons/dann", space, out, overrides=SHORT, echo=lines.append)
    assert [t.index for t in result.trials] == [0, 1]
    assert [t.settings for t in result.trials] == grid(space)
    assert all(t.status == "done" and t.score is not None for t in result.trials)
    assert result.chosen is max(result.trials, key=lambda t: t.score)
    assert not any("target" in line for line in lines), "no target accuracy before the choice"
    saved = json.loads((out / TUNE_JSON).read_text())
    assert saved["chosen"] == result.chosen.index
    assert [t["score"] for t in saved["trials"]] == [t.score for t in result.trials]
    assert all(t["target_acc_not_used"] is not None for t in saved["trials"])
    best = load_config(out / BEST)
    assert best.optim.lr == result.chosen.settings["optim.lr"]
    assert best.method.schedule["hi"] == result.chosen.settings["method.schedule.hi"]
    assert best.trainer.steps == 60
    for t in result.trials:  # each trial is an ordinary run directory with its own settings
        run_cfg = load_config(out / f"trial-{t.index:03d}" / "config.yaml")
        assert run_cfg.optim.lr == t.settings["optim.lr"]
    assert "**chosen**" in (out / TUNE_MD).read_text()


def test_a_failing_trial_is_recorded_and_the_search_goes_on(tmp_path):
    result = tune("moons/dann", {"optim.lr": [1e12, 0.01]}, tmp_path / "s", overrides=SHORT)
    failed, done = result.trials
    assert failed.status == "failed" and failed.score is None
    assert "Diverged" in failed.error
    assert done.status == "done" and result.chosen is done


def test_tpe_runs_the_asked_number_of_distinct_trials_and_resumes(tmp_path):
    pytest.importorskip("optuna")
    space = {"optim.lr": [0.01, 0.003, 0.001], "method.schedule.hi": [0.1, 1.0]}
    out = tmp_path / "tpe"
    first = tune("moons/dann", space, out, overrides=SHORT, trials=2)
    assert len(first.trials) == 2
    assert len({json.dumps(t.settings) for t in first.trials}) == 2
    lines = []
    again = tune("moons/dann", space, out, overrides=SHORT, trials=2, echo=lines.append)
    assert lines == [f"resuming {out}: 2 finished trial(s) kept"]
    assert [t.score for t in again.trials] == [t.score for t in first.trials]


def test_refusals(tmp_path):
    with pytest.raises(ConfigError, match="source_val_fraction"):
        tune("moons/dann", {"optim.lr": [0.01]}, tmp_path / "a", validator="dev")
    with pytest.raises(ConfigError, match="unknown validator"):
        tune("moons/dann", {"optim.lr": [0.01]}, tmp_path / "a", validator="nope")
    with pytest.raises(ConfigError, match="--space setting"):
        tune("moons/dann", {"optim.lr": ["fast"]}, tmp_path / "a")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="holds other files"):
        tune("moons/dann", {"optim.lr": [0.01]}, tmp_path / "full")
    tune("moons/dann", {"optim.lr": [0.01]}, tmp_path / "b", overrides=SHORT)
    with pytest.raises(RunDirError, match="different search"):
        tune("moons/dann", {"optim.lr": [0.003]}, tmp_path / "b", overrides=SHORT)


def test_a_killed_search_resumes_without_rerunning_finished_trials(tmp_path):
    out = tmp_path / "killed"
    sets = ["trainer.steps=100", "trainer.progress_bar=false", "trainer.checkpoint_every=20"]
    command = [
        sys.executable,
        "-m",
        "unshift",
        "tune",
        "moons/dann",
        "--out",
        str(out),
        "--space",
        "optim.lr=0.01,0.003",
        *(f"--set={s}" for s in sets),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_for(out / "trial-001" / "config.yaml", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = out / "trial-000" / "final.json"
    stamp = first.stat().st_mtime_ns
    assert len(json.loads((out / TUNE_JSON).read_text())["trials"]) == 1
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=scaled(300))
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stdout and "1 finished trial(s) kept" in again.stdout
    assert first.stat().st_mtime_ns == stamp, "the finished trial was trained again"
    saved = json.loads((out / TUNE_JSON).read_text())
    assert [t["status"] for t in saved["trials"]] == ["done", "done"]
    assert (out / BEST).exists()
