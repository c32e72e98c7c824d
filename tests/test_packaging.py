"""A pip user starts from an empty directory: the wheel ships the configs, py.typed and LICENSE,
and the README's first commands run from it."""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_the_wheel_runs_from_an_empty_directory(tmp_path):
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "empty"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    build = [*pip, "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)]
    subprocess.run(build, check=True)
    (wheel,) = wheels.glob("unshift-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "unshift/configs/moons/dann.yaml" in names and "unshift/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    subprocess.run([*pip, "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
                   check=True)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site)}

    def unshift(*args):
        return subprocess.run(
            [sys.executable, "-m", "unshift", *args],
            cwd=work, env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    where = subprocess.run(
        [sys.executable, "-c", "import unshift; print(unshift.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(site))
    assert unshift("--version").startswith("unshift ")
    assert "moons/dann" in unshift("configs").split()
    assert "name: dann" in unshift("configs", "show", "moons/dann")
    out = unshift("train", "moons/dann", "--set", "trainer.steps=200", "--run-dir", "run")
    assert "target_acc" in out and (work / "run" / "final.json").exists()
    assert np.isfinite(float(out.split("target_acc ")[1].split()[0].rstrip(",")))
    (work / "points.csv").write_text("x0,x1\n0.5,0.2\n-1.0,0.3\n")
    assert "written:" in unshift("predict", "run", "points.csv", "--out", "p.csv")
    assert (work / "p.csv").read_text().splitlines()[0] == "row,label,p_0,p_1"


def test_packaged_configs_are_listed_shown_and_trained_by_name(tmp_path, capsys, monkeypatch):
    from unshift.cli import main
    from unshift.training.config import packaged_configs

    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    assert main(["configs"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == packaged_configs() and "digits/mnist_usps_dann" in listed
    assert len(listed) == len(list((ROOT / "configs").rglob("*.yaml")))
    assert main(["configs", "show", "moons/dann.yaml"]) == 0
    assert capsys.readouterr().out == (ROOT / "configs" / "moons" / "dann.yaml").read_text()
    assert main(["train", "moons/source_only", "--set", "trainer.steps=20", "--run-dir", "r"]) == 0
    assert main(["train", "moons/dan"]) == 2
    assert "did you mean moons/dann, moons/cdan, moons/mdd?)" in capsys.readouterr().err
