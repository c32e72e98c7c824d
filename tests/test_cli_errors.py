"""Bad input: one clear line on stderr, exit code 2, no traceback."""

import subprocess
import sys

import numpy as np
import pytest

from unshift.cli import main

from .conftest import CONFIGS

DANN = str(CONFIGS / "moons" / "dann.yaml")
FEATURES_DANN = str(CONFIGS / "features_dann.yaml")


def npz(path, X, y=None):
    arrays = {"X": np.asarray(X)}
    if y is not None:
        arrays["y"] = np.asarray(y)
    np.savez(path, **arrays)
    return str(path)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    good_x = rng.normal(size=(20, 3)).astype(np.float32)
    good_y = np.arange(20) % 2

    def make(name, X=good_x, y=good_y):
        return npz(tmp_path / f"{name}.npz", X, y)

    return make


def npz_args(source, target, *extra):
    return [
        "train",
        FEATURES_DANN,
        "--set",
        "data.transform=none",
        "--set",
        f"data.source={source}",
        "--set",
        f"data.target={target}",
        *extra,
    ]


def run_main(args, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def case_args(name, files, tmp_path):
    bad_x = np.ones((20, 3), dtype=np.float32)
    if name == "feature shapes disagree":
        return npz_args(files("s"), files("t", X=np.ones((20, 4), dtype=np.float32)))
    if name == "svmlight widths differ":
        (tmp_path / "a.svmlight").write_text("1 1:1\n-1 3:2\n")
        (tmp_path / "b.svmlight").write_text("1 5:1\n")
        return npz_args(str(tmp_path / "a.svmlight"), str(tmp_path / "b.svmlight"))
    if name == "labels out of range":
        return npz_args(
            files("s"),
            files("t"),
            "--set",
            f"data.target_test={files('tt', y=np.full(20, 5))}",
        )
    if name == "labels not integers":
        return npz_args(files("s", y=np.linspace(0, 1, 20)), files("t"))
    if name == "empty domain":
        empty = np.zeros((0, 3), dtype=np.float32)
        return npz_args(files("s"), files("t", X=empty, y=np.zeros(0, dtype=int)))
    if name == "NaN in inputs":
        bad_x[3, 1] = np.nan
        return npz_args(files("s", X=bad_x), files("t"))
    if name == "Inf in inputs":
        bad_x[7, 0] = np.inf
        return npz_args(files("s"), files("t", X=bad_x))
    if name == "missing data file":
        return npz_args(files("s"), str(tmp_path / "nowhere.npz"))
    if name == "not an npz file":
        garbage = tmp_path / "garbage.npz"
        garbage.write_text("not a zip archive")
        return npz_args(files("s"), str(garbage))
    if name == "source without labels":
        return npz_args(npz(tmp_path / "nolabels.npz", np.ones((5, 3))), files("t"))
    if name == "single class":
        return npz_args(files("s", y=np.zeros(20, dtype=int)), files("t"))
    if name == "unknown config key":
        return ["train", DANN, "--set", "data.angl=40"]
    if name == "bad config value type":
        return ["train", DANN, "--set", "trainer.steps=many"]
    if name == "bad config value range":
        return ["train", DANN, "--set", "trainer.steps=0"]
    if name == "unknown method":
        return ["train", DANN, "--set", "method.name=nosuch"]
    if name == "--set without =":
        return ["train", DANN, "--set", "seed"]
    if name == "missing config file":
        return ["train", str(tmp_path / "missing.yaml")]
    if name == "invalid YAML":
        bad = tmp_path / "bad.yaml"
        bad.write_text("seed: [1, 2\ndata: {")
        return ["train", str(bad)]
    if name == "config path is a directory":
        return ["train", str(tmp_path)]
    if name == "empty config file":
        empty = tmp_path / "empty.yaml"
        empty.write_text("")
        return ["train", str(empty)]
    if name == "--run-dir is a file":
        (tmp_path / "taken").write_text("x")
        return ["train", DANN, "--run-dir", str(tmp_path / "taken")]
    if name == "resume on a non-run directory":
        return ["train", "--resume", str(tmp_path)]
    if name == "eval on a non-run directory":
        return ["eval", str(tmp_path / "nothing")]
    raise AssertionError(name)


CASES = {
    "feature shapes disagree": "sample has shape (4,), but the source samples have shape (3,)",
    "svmlight widths differ": "has 5 features but",
    "labels out of range": "labels must lie in [0, 1]; got labels from 5 to 5",
    "labels not integers": "labels must be integers; found",
    "empty domain": "is empty",
    "NaN in inputs": "contain NaN values (first at sample 3)",
    "Inf in inputs": "contain Inf values (first at sample 7)",
    "missing data file": "nowhere.npz does not exist",
    "not an npz file": "is not a readable .npz archive",
    "source without labels": "has no labels (expected e.g. 'y'",
    "single class": "single class",
    "unknown config key": "unknown config key 'data.angl' (did you mean 'angle'?)",
    "bad config value type": "bad value for config key 'trainer.steps'",
    "bad config value range": "bad value for config key 'trainer.steps': must be >= 1; got 0",
    "unknown method": "bad value for config key 'method.name': unknown method 'nosuch'; known:",
    "--set without =": "--set takes key=value; got 'seed'",
    "missing config file": "missing.yaml does not exist",
    "invalid YAML": "is not valid YAML (line",
    "config path is a directory": "is a directory; give a YAML file",
    "empty config file": "is empty; it needs at least data, model and method sections",
    "--run-dir is a file": "taken is a file; give a directory",
    "resume on a non-run directory": "is not a run directory: it has no config.yaml",
    "eval on a non-run directory": "is not a directory, so it is not a run directory",
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line_and_exit_2(name, files, tmp_path, capsys, monkeypatch):
    from .test_bad_inputs import digest

    monkeypatch.chdir(tmp_path)
    args = case_args(name, files, tmp_path)
    before = digest(tmp_path)
    code, err = run_main(args, capsys)
    assert digest(tmp_path) == before, "a refused command changed files"
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    assert CASES[name] in err
    assert not (tmp_path / "runs").exists(), "a failed start must not leave a run directory"


def test_command_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "unshift", "train", DANN, "--set", "data.angle=forty"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: bad value for config key 'data.angle': "
        "Value 'forty' of type 'str' could not be converted to Float"
    ]


def test_a_reader_that_leaves_early_ends_the_output_quietly(tmp_path):
    run = tmp_path / "run"
    assert main(["train", DANN, "--run-dir", str(run), "--set", "trainer.steps=20"]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "unshift", "eval", str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # as `unshift eval RUN | head -0` does, before anything is printed
    err = proc.stderr.read()
    assert proc.wait() == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err, err
    assert (run / "eval.json").exists(), "the command stopped before writing its file"


def test_an_accelerator_this_machine_lacks_is_one_line(tmp_path, capsys):
    import numpy as np

    from unshift.core.errors import ConfigError
    from unshift.sklearn import DANNClassifier

    run = tmp_path / "run"  # CUDA is hidden from the tests (conftest)
    code, err = run_main(
        ["train", DANN, "--run-dir", str(run), "--set", "trainer.accelerator=cuda"], capsys
    )
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("error: trainer settings accelerator=cuda") and "['cpu']" in err
    assert not run.exists()
    x, y = np.zeros((8, 2)), np.array([0, 1, 0, 1, -1, -1, -1, -1])
    with pytest.raises(ConfigError, match="accelerator=cuda, devices=1"):
        DANNClassifier(accelerator="cuda", max_steps=2).fit(x, y)
