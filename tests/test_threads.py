"""CPU threads: a default that leaves CPUs other processes keep busy, set and restored around a
fit, recorded in final.json and the checkpoint, kept by a resume."""

import json
import subprocess
import sys

import pytest
import torch

from unshift import Trainer
from unshift.cli import main
from unshift.data import Domain, TaskData
from unshift.methods import SourceOnly
from unshift.training import threads

from .conftest import CONFIGS

DANN = str(CONFIGS / "moons" / "dann.yaml")


def tiny() -> tuple[SourceOnly, TaskData]:
    x, y = torch.randn(64, 2), torch.arange(64) % 2
    data = TaskData([Domain(x, y)], [Domain(x)], num_classes=2)
    return SourceOnly(torch.nn.Linear(2, 4), torch.nn.Linear(4, 2)), data


def test_a_fit_runs_on_its_threads_and_gives_the_callers_back(tmp_path):
    before = torch.get_num_threads()
    seen = []
    method, data = tiny()
    original = method.forward

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    method.forward = spy
    final = Trainer(max_steps=3, batch_size=8, threads=1, run_dir=tmp_path / "r").fit(method, data)
    assert set(seen) == {1} and final["threads"] == 1
    assert json.loads((tmp_path / "r" / "final.json").read_text())["threads"] == 1
    assert torch.get_num_threads() == before


def test_auto_leaves_out_the_cpus_another_process_keeps_busy():
    usable = threads.usable_cpus()
    threads._CACHE.clear()
    before = threads.busy_cpus(window=0.3)
    if usable < 2 or before > usable - 1.2:
        pytest.skip(f"needs a free CPU for a spinning process ({usable} usable, {before:.1f} busy)")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = threads.busy_cpus(window=0.3)
        assert 0.6 < busy - before < 1.4, (before, busy)
        assert threads.auto_threads() <= usable - 1
    finally:
        spinner.kill()
        spinner.wait()
        threads._CACHE.clear()


def test_auto_never_takes_more_than_torch_was_given():
    with threads.torch_threads(1):
        assert threads.auto_threads() == 1


def test_a_resumed_fit_keeps_the_thread_count_it_started_with(tmp_path, monkeypatch):
    method, data = tiny()
    monkeypatch.setattr(threads, "_CACHE", {})
    monkeypatch.setattr("unshift.training.trainer.auto_threads", lambda: 1)
    Trainer(max_steps=4, batch_size=8, run_dir=tmp_path / "r").fit(method, data)
    (tmp_path / "r" / "final.json").unlink()
    monkeypatch.setattr("unshift.training.trainer.auto_threads", lambda: 2)
    trainer = Trainer(max_steps=4, batch_size=8, run_dir=tmp_path / "r")
    assert trainer.threads(resume=True) == 1 and trainer.threads() == 2
    assert trainer.fit(method, data, resume=True)["threads"] == 1


def test_the_first_line_names_the_threads_and_a_bad_count_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--set", "trainer.steps=5", "--set", "trainer.threads=1"]
    assert main(["train", DANN, "--run-dir", str(run), *args]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("1 process, 1 CPU thread")
    assert main(["train", DANN, "--run-dir", str(tmp_path / "x"), "--set", "trainer.threads=0"])
    assert "threads" in capsys.readouterr().err


def test_the_estimators_take_threads():
    import numpy as np

    from unshift.sklearn import DANNClassifier

    X = np.random.default_rng(0).normal(size=(40, 2))
    y = np.r_[np.arange(20) % 2, -np.ones(20, int)]
    clf = DANNClassifier(max_steps=3, threads=1)
    assert clf._specs()[1].threads == 1
    clf.fit(X, y)
    with pytest.raises(ValueError, match="threads"):
        DANNClassifier(threads=0).fit(X, y)
