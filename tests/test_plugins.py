"""Plugins from the command line: ``--plugin FILE``, ``--plugin MODULE``, ``UNSHIFT_PLUGINS``
and entry points; a run trained with one is evaluated, reported, predicted, selected and
resumed by later processes that were told nothing; a plugin that fails is one line."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from unshift.cli import EXIT_BAD_INPUT, main

from .conftest import CONFIGS

SOURCE_ONLY = str(CONFIGS / "moons" / "source_only.yaml")
SHORT = ["--set", "trainer.steps=20", "--set", "trainer.snapshot_every=10"]

PLUGIN = textwrap.dedent(
    '''
    """A user's method and network, registered from a file outside the package."""
    from torch import nn

    from unshift.methods import SourceOnly
    from unshift.models.mlp import MLPConfig
    from unshift.models.networks import Networks
    from unshift.core.registry import METHODS, MODELS


    @MODELS.register("{prefix}tiny", MLPConfig)
    def tiny(cfg, data):
        width = cfg.hidden[-1]
        return Networks(nn.Sequential(nn.Linear(2, width), nn.Tanh()), nn.Linear(width, 2), width)


    @METHODS.register("{prefix}source_only")
    class MySourceOnly(SourceOnly):
        pass
    '''
)


def write_plugin(directory: Path, name: str, prefix: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(PLUGIN.replace("{prefix}", prefix))
    return path


def unshift(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unshift", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_a_run_trained_with_a_plugin_file_works_with_every_later_command(tmp_path):
    plugin = write_plugin(tmp_path, "my_plugin", "file_")
    run = tmp_path / "run"
    overrides = ["--set", "model.name=file_tiny", "--set", "method.name=file_source_only"]
    done = unshift("train", SOURCE_ONLY, "--plugin", str(plugin), "--run-dir", str(run),
                   *overrides, *SHORT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"- {plugin}" in (run / "config.yaml").read_text()
    for args in (["eval", str(run)], ["report", str(run)], ["select", str(run)]):
        later = unshift(*args)  # a new process, told nothing of the plugin
        assert later.returncode == 0, (args, later.stderr)
    (run / "final.json").unlink()  # as if killed after its last checkpoint
    assert unshift("train", "--resume", str(run)).returncode == 0
    assert json.loads((run / "final.json").read_text())["steps"] == 20


def test_a_module_plugin_and_the_environment_form(tmp_path):
    write_plugin(tmp_path, "users_module", "module_")
    env = {"PYTHONPATH": str(tmp_path)}
    run = tmp_path / "run"
    done = unshift("train", SOURCE_ONLY, "--plugin", "users_module", "--run-dir", str(run),
                   "--set", "model.name=module_tiny", *SHORT, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "- users_module" in (run / "config.yaml").read_text()
    assert unshift("eval", str(run), env=env).returncode == 0
    write_plugin(tmp_path, "from_env", "env_")
    run = tmp_path / "run_env"
    done = unshift("train", SOURCE_ONLY, "--run-dir", str(run), "--set", "model.name=env_tiny",
                   *SHORT, env={"UNSHIFT_PLUGINS": str(tmp_path / "from_env.py")})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "from_env.py" in (run / "config.yaml").read_text()


def test_an_installed_entry_point_registers_without_any_option(tmp_path):
    write_plugin(tmp_path, "installed_plugin", "ep_")
    dist = tmp_path / "installed_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: installed-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[unshift.plugins]\nmine = installed_plugin\n")
    env = {"PYTHONPATH": str(tmp_path)}
    done = unshift("train", SOURCE_ONLY, "--run-dir", str(tmp_path / "run"),
                   "--set", "model.name=ep_tiny", *SHORT, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (tmp_path / "installed_plugin.py").write_text("raise RuntimeError('broken on purpose')\n")
    broken = unshift("train", SOURCE_ONLY, "--set", "model.name=ep_tiny", env=env)
    assert broken.returncode == EXIT_BAD_INPUT
    assert broken.stderr.strip() == (
        "error: plugin entry point 'mine' of package installed-plugin (installed_plugin) failed "
        "to import (RuntimeError: broken on purpose)"
    )


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        ("broken.py", "failed to import (ZeroDivisionError: division by zero)"),
        ("missing.py", "does not exist"),
        ("no_such_module_xyz", "plugin 'no_such_module_xyz' failed to import (ModuleNotFound"),
    ],
)
def test_a_plugin_that_fails_is_one_line_naming_it(tmp_path, capsys, plugin, message):
    (tmp_path / "broken.py").write_text("x = 1 / 0\n")
    spec = str(tmp_path / plugin) if plugin.endswith(".py") else plugin
    assert main(["train", SOURCE_ONLY, "--plugin", spec, "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and plugin.removesuffix(".py") in err
    assert not (tmp_path / "r").exists()
