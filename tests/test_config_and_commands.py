import json

import pytest
import torch
import yaml

from unshift.cli import main
from unshift.core.errors import ConfigError
from unshift.data import Domain, TaskData
from unshift.training.build import build_method
from unshift.training.config import load_config, to_yaml

from .conftest import CONFIGS

DANN = CONFIGS / "moons" / "dann.yaml"
SOURCE_ONLY = CONFIGS / "moons" / "source_only.yaml"


def test_set_seed_and_angle_reach_the_config():
    cfg = load_config(DANN, ["seed=4", "data.angle=50", "method.schedule.hi=0.5"])
    assert cfg.seed == 4 and cfg.data.angle == 50.0
    assert cfg.method.schedule["hi"] == 0.5
    assert load_config(DANN).data.angle == 35.0


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = load_config(SOURCE_ONLY, ["trainer.steps=7"])
    path = tmp_path / "config.yaml"
    path.write_text(to_yaml(cfg))
    assert load_config(path) == cfg


def test_angle_changes_the_target_domain(tmp_path):
    finals = {}
    for angle in (0, 60):
        run = tmp_path / f"a{angle}"
        args = ["train", str(SOURCE_ONLY), "--run-dir", str(run)]
        args += ["--set", f"data.angle={angle}", "--set", "trainer.steps=300"]
        assert main(args) == 0
        finals[angle] = json.loads((run / "final.json").read_text())["target_acc"]
    assert finals[0] > 0.95 and finals[60] < finals[0] - 0.1


def test_eval_and_report_commands_on_a_finished_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(DANN), "--run-dir", str(run), "--set", "trainer.steps=150"]) == 0
    final = json.loads((run / "final.json").read_text())
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    scores = json.loads((run / "eval.json").read_text())
    assert scores["target_acc"] == final["target_acc"]
    assert f"target test accuracy: {final['target_acc']:.4f}" in out
    (run / "report.md").unlink()
    assert main(["report", str(run)]) == 0
    assert "decision_boundaries.png" in (run / "report.md").read_text()


def test_resume_refuses_a_different_config(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(DANN), "--run-dir", str(run), "--set", "trainer.steps=20"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--set", "seed=3"]) == 2
    assert "--resume continues" in capsys.readouterr().err


def test_resume_on_a_finished_run_says_so_and_changes_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(DANN), "--run-dir", str(run), "--set", "trainer.steps=20"]) == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 0
    assert "has finished (20 steps): nothing to resume" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--set", "--run-dir", "--resume", "KEY=VALUE"):
        assert option in out


def test_bad_schedule_in_config_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(DANN), "--set", "method.schedule={name: cosine}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: bad value for config key 'method.schedule'")
    assert "unknown schedule name 'cosine'" in err and len(err.splitlines()) == 1
    with pytest.raises(ConfigError, match=r"trainer\.devices"):
        load_config(DANN, ["trainer.devices=0"])


@pytest.mark.parametrize("setting, shown", [(None, False), ("true", True)])
def test_progress_bar_is_quiet_off_a_terminal(tmp_path, setting, shown):
    import subprocess
    import sys

    args = [sys.executable, "-m", "unshift", "train", str(SOURCE_ONLY), "--run-dir"]
    args += [str(tmp_path / "run"), "--set", "trainer.steps=50"]
    if setting is not None:
        args += ["--set", f"trainer.progress_bar={setting}"]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    assert ("it/s" in proc.stderr or "s/it" in proc.stderr) is shown


def test_standardize_scales_by_source_statistics():
    from unshift.training.build import build_data

    raw = build_data(load_config(DANN))
    scaled = build_data(load_config(DANN, ["data.standardize=true"]))
    x = scaled.sources[0].x
    assert torch.allclose(x.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(x.std(0), torch.ones(2), atol=1e-5)
    mean, std = raw.sources[0].x.mean(0), raw.sources[0].x.std(0)
    assert torch.allclose(scaled.targets[0].x, (raw.targets[0].x - mean) / std, atol=1e-5)


def test_target_only_trains_on_labelled_target_and_reaches_the_upper_bound():
    from unshift.training.build import build_data, build_method, build_trainer

    cfg = load_config(SOURCE_ONLY, ["method.name=target_only", "trainer.steps=500"])
    data = build_data(cfg)
    assert data.sources[0].name.startswith("moons rotated")
    final = build_trainer(cfg, None).fit(build_method(cfg, data), data)
    assert final["target_acc"] > 0.95


def test_feature_files_from_the_command_line(tmp_path):
    import gzip

    import numpy as np

    rng = np.random.default_rng(0)
    lines = []
    for i in range(120):
        label = 1 if i % 2 else -1
        lines.append(f"{label} {1 + i % 7}:{rng.integers(1, 4)} {8 + (i % 2)}:1\n")
    source = tmp_path / "src_train.svmlight.gz"
    with gzip.open(source, "wt") as fh:
        fh.writelines(lines)
    target = tmp_path / "tgt.npz"
    np.savez(target, X=rng.poisson(1.0, size=(90, 10)).astype(float))
    run = tmp_path / "run"
    args = ["train", str(CONFIGS / "features_dann.yaml"), "--run-dir", str(run)]
    args += ["--set", f"data.source={source}", "--set", f"data.target={target}"]
    args += ["--set", f"data.target_test={target}", "--set", "data.n_features=10"]
    args += ["--set", "trainer.steps=40"]
    assert main(args) == 0
    final = json.loads((run / "final.json").read_text())
    assert "source_acc" in final and "target_acc" not in final
    header, *rows = (run / "target_test_predictions.csv").read_text().split()
    assert header == "row,label,p_-1,p_1" and len(rows) == 90  # the file's own labels, -1/+1
    assert [r.split(",")[0] for r in rows] == [str(i) for i in range(90)]
    assert {r.split(",")[1] for r in rows} <= {"-1", "1"}
    assert all(abs(float(r.split(",")[2]) + float(r.split(",")[3]) - 1) < 1e-5 for r in rows)
    assert "proxy A-distance, raw inputs" in (run / "report.md").read_text()


def test_dann_mnist_refuses_a_multi_output_task():
    images = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    data = TaskData(
        sources=[Domain(images, torch.zeros(4, 3, dtype=torch.long))],
        targets=[Domain(images)],
        num_classes=(10, 10, 10),
    )
    cfg = load_config(CONFIGS / "digits/mnist_usps_dann.yaml", ["data.root=unused"])
    with pytest.raises(ConfigError, match="dann_mnist has one label output; the task has 3"):
        build_method(cfg, data)


def test_lr_scale_for_an_optimiser_the_method_lacks_is_a_config_error(capsys):
    args = ["train", str(DANN), "--set", "optim.lr_scale.target=0.1", "--set", "trainer.steps=2"]
    assert main(args) != 0
    assert (
        "bad value for config key 'optim.lr_scale': lr_scale names optimisers ['target'] "
        "that dann does not have; it has ['main']"
    ) in capsys.readouterr().err


def test_the_config_sections_are_the_runtime_specs():
    from unshift.training.build import build_trainer
    from unshift.training.specs import OptimizerSpec, TrainerSpec

    cfg = load_config(DANN, ["trainer.pinned_warning_steps=7", "optim.lr_alpha=3"])
    assert isinstance(cfg.optim, OptimizerSpec) and isinstance(cfg.trainer, TrainerSpec)
    trainer = build_trainer(cfg, None)
    assert trainer.spec.pinned_warning_steps == 7
    assert trainer.lr_schedule(1.0) == pytest.approx(cfg.optim.lr / 4**0.75)


@pytest.mark.parametrize(
    "override, message",
    [
        ("trainer.log_every=-1", "'trainer.log_every': must be >= 0 (0: never); got -1"),
        ("trainer.checkpoint_every=-3", "'trainer.checkpoint_every': must be >= 0"),
        ("optim.momentum=-1", "'optim.momentum': must be a finite number >= 0; got -1"),
        ("optim.betas=[0.9, 1.5]", "'optim.betas': must lie in [0, 1)"),
        ("method.discriminator.dropout=1.5", "'method.discriminator.dropout': must lie in [0, 1)"),
        ("method.schedule={name: nope}", "'method.schedule': is not a schedule: unknown schedule"),
    ],
)
def test_a_bad_value_names_its_dotted_key(override, message):
    with pytest.raises(ConfigError) as caught:
        load_config(DANN, [override])
    assert message in str(caught.value)


NEEDS = {
    "digits": ["data.root=/data"],
    "captcha": ["data.fonts=/fonts"],
    "features": ["data.source=s.svmlight", "data.target=t.svmlight"],
    "images": ["data.source=photos", "data.target=sketches"],
}


@pytest.mark.parametrize(
    "path", sorted(CONFIGS.rglob("*.yaml")), ids=lambda p: str(p.relative_to(CONFIGS))
)
def test_every_shipped_config_loads_unchanged_and_round_trips(path, tmp_path):
    needs = next((v for k, v in NEEDS.items() if k in str(path.relative_to(CONFIGS))), [])
    cfg = load_config(path, needs)
    written = tmp_path / "config.yaml"
    written.write_text(to_yaml(cfg))
    assert load_config(written) == cfg
    raw = yaml.safe_load(path.read_text())
    for section in ("data", "model", "method"):
        assert getattr(cfg, section).name == raw[section]["name"]


def test_version(capsys):
    from unshift import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"unshift {__version__}"


def test_report_baseline_of_another_task_is_refused_before_anything_is_written(tmp_path, capsys):
    run, same, other = tmp_path / "run", tmp_path / "same", tmp_path / "other"
    for path, angle in ((run, 35), (same, 35), (other, 50)):
        sets = ["--set", "trainer.steps=20", "--set", f"data.angle={angle}"]
        assert main(["train", str(DANN), "--run-dir", str(path), *sets]) == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["report", str(run), "--baseline", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a run of another task: its data section differs in angle (50.0 vs 35.0)" in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert main(["report", str(run), "--baseline", str(same)]) == 0
    assert f"- baseline: `{same}` (dann)" in (run / "report.md").read_text()


def test_dann_mnist_batch_norm_and_dropout_options_keep_the_papers_network_by_default():
    from torch import nn

    from unshift.core.registry import MODELS

    images = torch.zeros(4, 1, 28, 28)
    data = TaskData([Domain(images, torch.arange(4))], [Domain(images)], 10)
    entry = MODELS.get("dann_mnist")
    paper = entry.target(entry.config(), data)
    assert sorted(paper.features.state_dict()) == ["0.bias", "0.weight", "3.bias", "3.weight"]
    assert not any(isinstance(m, nn.BatchNorm2d | nn.Dropout) for m in paper.features.modules())
    plus = entry.target(entry.config(batch_norm=True, dropout=0.5), data)
    kinds = {type(m) for m in [*plus.features.modules(), *plus.head.modules()]}
    assert {nn.BatchNorm2d, nn.BatchNorm1d, nn.Dropout2d, nn.Dropout} <= kinds
    with pytest.raises(ConfigError, match=r"'model\.dropout': must lie in \[0, 1\)"):
        digits = CONFIGS / "digits" / "mnist_usps_source_only.yaml"
        load_config(digits, ["data.root=/data", "model.dropout=1"])


def test_a_key_given_twice_is_refused_naming_it_and_both_lines(tmp_path):
    config = tmp_path / "twice.yaml"
    config.write_text(
        "data: {name: moons}\nmodel: {name: mlp}\nmethod: {name: dann}\n"
        "optim:\n  lr: 0.1\n  momentum: 0.9\n  lr: 0.5\n"
    )
    with pytest.raises(
        ConfigError, match=r"key 'lr' appears twice in one mapping \(lines 5 and 7\)"
    ):
        load_config(config)
    with pytest.raises(ConfigError, match=r"--set optim: key 'lr' appears twice .*\(line 1\)"):
        load_config(DANN, ["optim={lr: 1, lr: 2}"])
    merged = tmp_path / "merged.yaml"  # a YAML merge key overriding a merged value is no repeat
    merged.write_text(
        "data: {name: moons}\nmodel: {name: mlp}\nmethod: {name: dann}\n"
        "base: &base {lr: 0.1, momentum: 0.9}\noptim:\n  <<: *base\n  lr: 0.5\n"
    )
    with pytest.raises(ConfigError, match="unknown config key 'base'"):  # read, then checked
        load_config(merged)
