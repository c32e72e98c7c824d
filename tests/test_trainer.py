import json
import signal
import subprocess
import sys

import pytest
import torch
from torch import nn

from unshift.cli import main
from unshift.core.errors import TrainingDiverged
from unshift.core.files import RunDir
from unshift.data import rotated_moons
from unshift.methods import DANN, SourceOnly
from unshift.models import mlp
from unshift.training.trainer import OptimizerSpec, Trainer

from .conftest import CONFIGS, wait_for

DANN_CFG = str(CONFIGS / "moons" / "dann.yaml")


def without_timings(final: dict) -> dict:
    return {k: v for k, v in final.items() if k != "wall_s"}


def metrics_without_timings(run_dir) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in lines]


def kill_9_resume_and_compare(config: str, args: list[str], tmp_path) -> tuple:
    """Train ``config`` with ``args``, kill -9 it after its first checkpoint, resume it in a new
    process, train it again uninterrupted, and assert both end with the same final metrics and
    metrics records; return the two run directories (uninterrupted, killed)."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "unshift", "train", config, "--run-dir", str(killed), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(killed / "checkpoints" / "last.ckpt", proc, poll=0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "final.json").exists(), "the run must be killed before it ends"
    resumed = subprocess.run(
        [sys.executable, "-m", "unshift", "train", "--resume", str(killed)],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert main(["train", config, "--run-dir", str(straight), *args]) == 0
    a = json.loads((straight / "final.json").read_text())
    b = json.loads((killed / "final.json").read_text())
    assert without_timings(a) == without_timings(b)
    assert metrics_without_timings(straight) == metrics_without_timings(killed)
    return straight, killed


def test_same_seed_twice_gives_identical_final_metrics(tmp_path):
    finals = []
    for name in ("a", "b"):
        code = main(
            ["train", DANN_CFG, "--run-dir", str(tmp_path / name), "--set", "trainer.steps=200"]
        )
        assert code == 0
        finals.append(json.loads((tmp_path / name / "final.json").read_text()))
    assert without_timings(finals[0]) == without_timings(finals[1])
    assert metrics_without_timings(tmp_path / "a") == metrics_without_timings(tmp_path / "b")
    code = main(
        [
            "train",
            DANN_CFG,
            "--run-dir",
            str(tmp_path / "c"),
            "--set",
            "trainer.steps=200",
            "--set",
            "seed=1",
        ]
    )
    other = json.loads((tmp_path / "c" / "final.json").read_text())
    assert code == 0 and without_timings(other) != without_timings(finals[0])


def test_run_directory_holds_what_the_spec_lists(tmp_path):
    run = tmp_path / "run"
    assert main(["train", DANN_CFG, "--run-dir", str(run), "--set", "trainer.steps=100"]) == 0
    final = json.loads((run / "final.json").read_text())
    assert {"target_acc", "source_acc", "steps", "wall_s", "seed"} <= set(final)
    assert final["steps"] == 100 and final["seed"] == 0
    assert (run / "config.yaml").exists() and (run / "checkpoints" / "last.ckpt").exists()
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    step_records = [r for r in records if "label_loss" in r]
    assert {"step", "label_loss", "domain_loss", "coeff", "lr", "domain_acc", "seconds"} <= set(
        step_records[0]
    )
    report = (run / "report.md").read_text()
    for png in ("curves.png", "schedules.png", "decision_boundaries.png"):
        assert f"plots/{png}" in report and (run / "plots" / png).stat().st_size > 1000
    assert not list(run.rglob(".*tmp*")), "no temporary files left behind"


class NanAfter(SourceOnly):
    """Source-only whose loss turns NaN at a chosen step."""

    def __init__(self, bad_step):
        super().__init__(mlp(2, [8]), nn.Linear(8, 2))
        self.bad_step, self.calls = bad_step, 0

    def forward(self, sources, targets, phase="joint"):
        loss, logs = super().forward(sources, targets, phase)
        self.calls += 1
        if self.calls > self.bad_step:
            loss = loss * float("nan")
        return loss, logs


def test_nan_loss_stops_at_once_and_keeps_last_good_checkpoint(tmp_path):
    trainer = Trainer(max_steps=100, batch_size=32, run_dir=tmp_path, checkpoint_every=20)
    method = NanAfter(bad_step=47)
    with pytest.raises(TrainingDiverged, match=r"became nan at step 47.*last good checkpoint"):
        trainer.fit(method, rotated_moons(n_train=64, n_test=64))
    assert method.calls == 48, "no step after the bad one"
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["step"] == 40
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert not (tmp_path / "final.json").exists()


def test_diverging_run_exits_non_zero_from_the_command(tmp_path, capsys):
    code = main(
        [
            "train",
            DANN_CFG,
            "--run-dir",
            str(tmp_path / "r"),
            "--set",
            "optim.lr=1e30",
            "--set",
            "trainer.steps=200",
        ]
    )
    err = capsys.readouterr().err
    assert code == 3
    assert "error: the loss became" in err and "at step" in err


# The recommended digit recipe's options too (target entropy, separate passes, bf16 autocast),
# CDAN+E, and MCD (several phases and optimisers per step; num_k=2 keeps it short).
RECIPE = [
    "method.target_entropy=0.1",
    "method.separate_passes=true",
    "trainer.precision=bf16-mixed",
]


@pytest.mark.parametrize(
    ("config", "options"),
    [
        (DANN_CFG, []),
        (DANN_CFG, RECIPE),
        (str(CONFIGS / "moons" / "cdan.yaml"), []),
        (str(CONFIGS / "moons" / "mcd.yaml"), ["method.num_k=2"]),  # 4 phases: enough
        (str(CONFIGS / "moons" / "mcc.yaml"), []),
        (str(CONFIGS / "moons" / "mdd.yaml"), []),
        (str(CONFIGS / "moons" / "coral.yaml"), []),
    ],
    ids=["dann", "dann-recipe-options", "cdan", "mcd", "mcc", "mdd", "coral"],
)
def test_kill_9_then_resume_ends_bit_identical(tmp_path, config, options):
    args = ["--set", "trainer.steps=1000", "--set", "trainer.checkpoint_every=100"]
    args += ["--set", "trainer.snapshot_every=250"]
    for option in options:
        args += ["--set", option]
    straight, killed = kill_9_resume_and_compare(config, args, tmp_path)
    steps = list(range(250, 1001, 250))
    assert RunDir(straight).snapshot_steps() == RunDir(killed).snapshot_steps() == steps
    for step in steps:
        kept = [torch.load(RunDir(d).snapshot(step), weights_only=True) for d in (straight, killed)]
        assert all(torch.equal(kept[0][k], kept[1][k]) for k in kept[0])
    last = torch.load(RunDir(killed).checkpoint, weights_only=True)["model"]
    assert all(torch.equal(kept[1][k], last[k]) for k in kept[1])


def test_alternating_updates_honour_k_d(tmp_path):
    torch.manual_seed(0)
    method = DANN(mlp(2, [8]), nn.Linear(8, 2), feature_dim=8, k_d=3)
    phases = [p.name for p in method.phases(0)]
    assert phases == ["discriminator"] * 3 + ["generator"]
    disc_before = [p.detach().clone() for p in method.adversarial.discriminator.parameters()]
    feat_before = [p.detach().clone() for p in method.feature_extractor.parameters()]
    trainer = Trainer(max_steps=5, batch_size=16, optimizer=OptimizerSpec(lr=0.05))
    trainer.fit(method, rotated_moons(n_train=64, n_test=32))
    changed = lambda before, params: any(  # noqa: E731
        not torch.equal(b, p) for b, p in zip(before, params, strict=True)
    )
    assert changed(disc_before, method.adversarial.discriminator.parameters())
    assert changed(feat_before, method.feature_extractor.parameters())


def test_lr_scale_multiplies_the_named_optimisers_step():
    data = rotated_moons(n_train=64, n_test=32)
    deltas = []
    for scale in (1.0, 0.25):
        torch.manual_seed(0)
        method = DANN(mlp(2, [8]), nn.Linear(8, 2), feature_dim=8, k_d=1)
        before = [p.detach().clone() for p in method.adversarial.discriminator.parameters()]
        spec = OptimizerSpec(lr=0.1, momentum=0.0, lr_scale={"discriminator": scale})
        Trainer(max_steps=1, batch_size=16, optimizer=spec, progress_bar=False).fit(method, data)
        after = list(method.adversarial.discriminator.parameters())
        pairs = zip(after, before, strict=True)
        deltas.append(torch.cat([(a.detach() - b).flatten() for a, b in pairs]))
    assert deltas[0].abs().max() > 1e-4
    assert torch.allclose(deltas[1], 0.25 * deltas[0], atol=1e-7)


def test_lr_scale_for_an_optimiser_the_method_lacks_is_an_error():
    method = DANN(mlp(2, [8]), nn.Linear(8, 2), feature_dim=8, k_d=1)
    spec = OptimizerSpec(lr_scale={"target": 0.1})
    with pytest.raises(ValueError, match=r"'target'.*'discriminator', 'main'"):
        Trainer(max_steps=1, batch_size=16, optimizer=spec).fit(method, rotated_moons(64, 32))


def test_channels_last_trains_the_same_model_up_to_rounding():
    from unshift.data import Domain, TaskData
    from unshift.methods import DANN
    from unshift.models import dann_mnist_features, dann_mnist_label_head

    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (96, 1, 28, 28), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, 10, (96,), generator=gen)
    data = TaskData(
        [Domain(x[:48], y[:48])], [Domain(x[48:])], 10, target_test=Domain(x[48:], y[48:])
    )
    params = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        method = DANN(dann_mnist_features(1), dann_mnist_label_head(10), 768)
        trainer = Trainer(
            max_steps=5, batch_size=16, progress_bar=False, channels_last=channels_last
        )
        trainer.fit(method, data)
        params.append(torch.cat([p.detach().flatten() for p in method.parameters()]))
        conv = method.feature_extractor[3].weight  # (48, 32, 5, 5): the orders differ
        assert conv.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert torch.allclose(params[0], params[1], atol=1e-5)


@pytest.mark.slow
def test_compile_trains_the_same_model_and_keeps_checkpoint_keys(tmp_path):
    from unshift.runs.run import run
    from unshift.training.config import load_config

    finals, keys = {}, {}
    for compiled in (False, True):
        overrides = ["trainer.steps=60", f"trainer.compile={compiled}", "trainer.snapshot_every=60"]
        result = run(load_config(DANN_CFG, overrides), tmp_path / str(compiled))
        finals[compiled] = result.final["target_acc"]
        snapshot = tmp_path / str(compiled) / "snapshots" / "step_00000060.pt"
        keys[compiled] = sorted(torch.load(snapshot, weights_only=True))
    assert keys[True] == keys[False]
    assert finals[True] == pytest.approx(finals[False], abs=0.01)
