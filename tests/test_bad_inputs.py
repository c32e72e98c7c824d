"""Nothing lost, nothing cryptic: run directories, checkpoints, data files, config values and
the Python API, each bad input one line on stderr with a documented exit code, and no file
that existed before changed (every file under the test's folders hashed before and after)."""

import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from unshift.cli import EXIT_BAD_INPUT, main
from unshift.core.errors import DataError, RunDirError

from .conftest import CONFIGS, scaled, wait_for
from .test_streaming import make_folder

DANN = str(CONFIGS / "moons" / "dann.yaml")
FEATURES = str(CONFIGS / "features_dann.yaml")
IMAGES = str(Path(__file__).resolve().parent / "image_folder_dann.yaml")
RESNET = str(Path(__file__).resolve().parent / "image_folder_resnet.yaml")
SHORT = ["--set", "trainer.steps=40", "--set", "trainer.snapshot_every=20"]
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished moons run with snapshots (never changed by any case: its copies are)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", DANN, "--run-dir", str(run), *SHORT]) == 0
    return run


def digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones included) by its SHA-256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def unfinished(finished: Path, tmp: Path) -> Path:
    """A copy of the finished run as if killed after its last checkpoint."""
    run = tmp / "killed"
    shutil.copytree(finished, run)
    (run / "final.json").unlink()
    return run


def features(tmp: Path, *extra: str, source: str = "s.csv", target: str = "t.csv") -> list[str]:
    rng = np.random.default_rng(0)
    for name in ("s.csv", "t.csv"):
        if not (tmp / name).exists():
            x = rng.normal(size=(30, 3))
            rows = "\n".join(",".join(f"{v:.3f}" for v in r) + f",{i % 2}" for i, r in enumerate(x))
            (tmp / name).write_text("a,b,c,label\n" + rows + "\n")
    return [
        "train",
        FEATURES,
        "--set",
        f"data.source={tmp / source}",
        "--set",
        f"data.target={tmp / target}",
        "--set",
        "trainer.steps=5",
        *extra,
    ]


def images(tmp: Path, *extra: str, source: Path | None = None, config: str = IMAGES) -> list[str]:
    """``train`` on small image folders under ``tmp`` (made once) with ``extra`` options."""
    if not (tmp / "src").exists():
        make_folder(tmp / "src", n=4)
        make_folder(tmp / "tgt", n=4, shift=60)
    return [
        "train",
        config,
        "--run-dir",
        str(tmp / "image_run"),
        "--set",
        f"data.source={source or tmp / 'src'}",
        "--set",
        f"data.target={tmp / 'tgt'}",
        "--set",
        "trainer.steps=3",
        *extra,
    ]


def empty_class_folder(tmp: Path) -> Path:
    make_folder(tmp / "with_empty", n=2)
    (tmp / "with_empty" / "c").mkdir()
    return tmp / "with_empty"


def flat_folder(tmp: Path) -> Path:
    make_folder(tmp / "flat_parent", n=2)
    return tmp / "flat_parent" / "a"


def bare_folder(tmp: Path) -> Path:
    (tmp / "bare").mkdir()
    return write(tmp / "bare" / "README", "no images here").parent


def list_file(tmp: Path, lines: str) -> Path:
    make_folder(tmp / "listed", n=2)
    return write(tmp / "listed" / "list.txt", lines)


def other_classes(tmp: Path) -> Path:
    return make_folder(tmp / "other_classes", classes=("a", "zebra"), n=2)


def resnet34_weights(tmp: Path) -> Path:
    from torchvision.models import resnet18

    torch.save(resnet18().state_dict(), tmp / "resnet18.pth")
    return tmp / "resnet18.pth"


def write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def damaged(finished: Path, tmp: Path, content: bytes) -> Path:
    run = unfinished(finished, tmp)
    write(run / "checkpoints" / "last.ckpt", content)
    return run


def truncated(finished: Path, tmp: Path) -> Path:
    run = unfinished(finished, tmp)
    ckpt = run / "checkpoints" / "last.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    return run


def locked_by_a_live_process(finished: Path, tmp: Path) -> Path:
    run = unfinished(finished, tmp)
    write(run / ".lock", f"{os.getppid()} {os.uname().nodename}\n")
    return run


def edited(finished: Path, tmp: Path, old: str = "lr: 0.3", new: str = "lr: 0.2") -> Path:
    """An unfinished run whose config.yaml was changed by hand after its last checkpoint."""
    run = unfinished(finished, tmp)
    config = run / "config.yaml"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new))
    return run


# name: (setup(finished, tmp) -> argv, what the line says); every case exits 2 (bad input)
CASES = {
    "resume a run whose config.yaml was edited": (
        lambda f, t: ["train", "--resume", str(edited(f, t))],
        "the config differs from the one the checkpoint was trained with: optim.lr 0.3 -> 0.2. "
        "Restore it, or resume with --allow-changed optim.lr",
    ),
    "resume allowing another key than the one changed": (
        lambda f, t: ["train", "--resume", str(edited(f, t)), "--allow-changed", "trainer"],
        "optim.lr 0.3 -> 0.2",
    ),
    "--allow-changed without --resume": (
        lambda f, t: ["train", DANN, "--allow-changed", "optim.lr"],
        "--allow-changed goes with --resume RUN_DIR",
    ),
    # run directories
    "train into a finished run": (
        lambda f, t: ["train", DANN, "--run-dir", str(f), *SHORT],
        "already holds a run (config.yaml, metrics.jsonl, final.json, checkpoints); continue "
        "it with --resume, or give a new --run-dir, or --overwrite",
    ),
    "train into an unfinished run": (
        lambda f, t: ["train", DANN, "--run-dir", str(unfinished(f, t))],
        "already holds a run",
    ),
    "train into a directory locked by a live process": (
        lambda f, t: ["train", DANN, "--run-dir", str(locked_by_a_live_process(f, t))],
        f"is in use: process {os.getppid()} on",
    ),
    "overwrite a directory locked by a live process": (
        lambda f, t: [
            "train",
            DANN,
            "--overwrite",
            "--run-dir",
            str(locked_by_a_live_process(f, t)),
        ],
        "is in use",
    ),
    "resume a directory locked by a live process": (
        lambda f, t: ["train", "--resume", str(locked_by_a_live_process(f, t))],
        "is in use",
    ),
    "--run-dir names a file": (
        lambda f, t: ["train", DANN, "--run-dir", str(write(t / "file", "x"))],
        "is a file; give a directory",
    ),
    "resume a missing directory": (
        lambda f, t: ["train", "--resume", str(t / "nowhere")],
        "is not a directory, so it is not a run directory",
    ),
    "resume a run without its checkpoint": (
        lambda f, t: ["train", "--resume", str(without_checkpoint(f, t))],
        "has no checkpoint (checkpoints/last.ckpt)",
    ),
    "resume with a config of its own": (
        lambda f, t: ["train", DANN, "--resume", str(unfinished(f, t)), "--set", "seed=3"],
        "continues",
    ),
    # checkpoints and snapshots
    "resume a truncated checkpoint": (
        lambda f, t: ["train", "--resume", str(truncated(f, t))],
        "is damaged (truncated or not a checkpoint) and cannot be loaded; its snapshots "
        "(steps 20–40) still load with",
    ),
    "resume a 0-byte checkpoint": (
        lambda f, t: ["train", "--resume", str(damaged(f, t, b""))],
        "is damaged",
    ),
    "resume a checkpoint of random bytes": (
        lambda f, t: ["train", "--resume", str(damaged(f, t, random.Random(0).randbytes(4096)))],
        "is damaged",
    ),
    "resume a pickle that is no checkpoint": (
        lambda f, t: ["train", "--resume", str(damaged(f, t, pickled_object()))],
        "is damaged",
    ),
    "eval a damaged checkpoint": (
        lambda f, t: ["eval", str(truncated(f, t))],
        "is damaged",
    ),
    "eval a damaged snapshot": (
        lambda f, t: ["eval", str(damaged_snapshot(f, t)), "--step", "20"],
        "step_00000020.pt is damaged (truncated or not a snapshot)",
    ),
    "eval a snapshot that does not exist": (
        lambda f, t: ["eval", str(f), "--step", "30"],
        "has no snapshot of step 30; it has steps [20, 40]",
    ),
    "eval a run without checkpoint": (
        lambda f, t: ["eval", str(without_checkpoint(f, t))],
        "has no checkpoint (checkpoints/last.ckpt)",
    ),
    "select with an unknown validator": (
        lambda f, t: ["select", str(f), "--validator", "oracle"],
        "unknown validator 'oracle'",
    ),
    "report a missing directory": (
        lambda f, t: ["report", str(t / "nowhere")],
        "is not a directory",
    ),
    "report with a baseline of another task": (
        lambda f, t: ["report", str(f), "--baseline", str(other_task(t))],
        "is a run of another task",
    ),
    # data files
    "a data path that is a directory": (
        lambda f, t: features(t, source="."),
        "is a directory; give the file itself",
    ),
    "an empty CSV file": (
        lambda f, t: features(t, source=write(t / "e.csv", "").name),
        "e.csv is empty",
    ),
    "a header-only CSV file": (
        lambda f, t: features(t, source=write(t / "h.csv", "a,b,c,label\n").name),
        "h.csv holds a header but no rows",
    ),
    "an empty svmlight file": (
        lambda f, t: features(t, source=write(t / "e.svmlight", "").name),
        "e.svmlight is empty",
    ),
    "a corrupt gzip svmlight file": (
        lambda f, t: features(t, source=corrupt_gzip(t).name),
        "is not a readable svmlight file",
    ),
    "a truncated gzip svmlight file": (
        lambda f, t: features(t, source=truncated_gzip(t).name),
        "is not a readable svmlight file",
    ),
    "a binary file named .csv": (
        lambda f, t: features(t, source=write(t / "b.csv", os.urandom(300)).name),
        "is not a readable numeric CSV file",
    ),
    "an unknown file format": (
        lambda f, t: features(t, source=write(t / "x.txt", "1 2 3").name),
        "unknown format '.txt'",
    ),
    "log1p of features below -1": (
        lambda f, t: features(t, "--set", "data.transform=log1p"),
        "data.transform=log1p needs features >= -1 (counts); the smallest is",
    ),
    "CSV labels that are not integers": (
        lambda f, t: features(
            t, source=write(t / "f.csv", "a,label\n" + "".join(f"{i},0.5\n" for i in range(9))).name
        ),
        "labels must be integers",
    ),
    # config values, refused before anything is written
    "an infinite learning rate": (
        lambda f, t: ["train", DANN, "--run-dir", str(t / "new"), "--set", "optim.lr=.inf"],
        "'optim.lr': must be a finite number > 0; got inf",
    ),
    "a negative weight decay": (
        lambda f, t: ["train", DANN, "--set", "optim.weight_decay=-0.1"],
        "'optim.weight_decay': must be a finite number >= 0; got -0.1",
    ),
    "an infinite momentum": (
        lambda f, t: ["train", DANN, "--set", "optim.momentum=.inf"],
        "'optim.momentum': must be a finite number >= 0; got inf",
    ),
    "a zero lr_scale": (
        lambda f, t: ["train", DANN, "--set", "optim.lr_scale={main: 0}"],
        "'optim.lr_scale': values must be finite and > 0",
    ),
    "a negative snapshot period": (
        lambda f, t: ["train", DANN, "--set", "trainer.snapshot_every=-1"],
        "'trainer.snapshot_every': must be >= 0",
    ),
    "a zero batch size": (
        lambda f, t: ["train", DANN, "--set", "trainer.batch_size=0"],
        "'trainer.batch_size'",
    ),
    "an unknown optimiser": (
        lambda f, t: ["train", DANN, "--set", "optim.name=lbfgs"],
        "'optim.name': must be one of ['sgd', 'adam']",
    ),
    "an unknown model": (
        lambda f, t: ["train", DANN, "--set", "model.name=resnet"],
        "unknown model 'resnet'",
    ),
    "an unknown dataset": (
        lambda f, t: ["train", DANN, "--set", "data.name=imagenet"],
        "unknown dataset 'imagenet'",
    ),
    "a non-numeric seed": (
        lambda f, t: ["train", DANN, "--set", "seed=abc"],
        "'seed'",
    ),
    "a negative noise": (
        lambda f, t: ["train", DANN, "--set", "data.noise=-1"],
        "'data.noise'",
    ),
    # image folders, backbones and plugins
    "an empty class folder in the source": (
        lambda f, t: images(t, source=empty_class_folder(t)),
        "with_empty/c of the source holds no images; remove it or add images",
    ),
    "a source folder without class folders": (
        lambda f, t: images(t, source=flat_folder(t)),
        "has no class sub-directories: source images need labels",
    ),
    "a source folder that does not exist": (
        lambda f, t: images(t, source=t / "nothing_here"),
        "nothing_here does not exist",
    ),
    "a target folder with no images": (
        lambda f, t: images(t, "--set", f"data.target={bare_folder(t)}"),
        "bare holds no images (it holds 1 other files, e.g. README)",
    ),
    "a list file naming a missing file": (
        lambda f, t: images(t, source=list_file(t, "a/000.png a\na/404.png b\n")),
        "list.txt:2: ",
    ),
    "a list file with a label the source lacks": (
        lambda f, t: images(t, "--set", f"data.target_test={list_file(t, 'a/000.png zebra')}"),
        "list.txt:1: label 'zebra' is not a class of the source",
    ),
    "target-test classes the source lacks": (
        lambda f, t: images(t, "--set", f"data.target_test={other_classes(t)}"),
        "has classes the source lacks: zebra",
    ),
    "more workers than the machine has": (
        lambda f, t: images(t, "--set", "data.num_workers=4096"),
        "'data.num_workers': is 4096, but this machine has",
    ),
    "an unknown augmentation": (
        lambda f, t: images(t, "--set", "data.train_augment=[mixup]"),
        "'data.train_augment': unknown ['mixup']",
    ),
    "weights that do not fit the architecture": (
        lambda f, t: images(
            t,
            "--set",
            "model.arch=resnet34",
            "--set",
            f"model.weights={resnet34_weights(t)}",
            config=RESNET,
        ),
        "resnet18.pth does not fit arch 'resnet34'",
    ),
    "a weights file that does not exist": (
        lambda f, t: images(t, "--set", f"model.weights={t / 'nope.pth'}", config=RESNET),
        "nope.pth does not exist",
    ),
    "a plugin that fails to import": (
        lambda f, t: [
            "train",
            DANN,
            "--plugin",
            str(write(t / "bad_plugin.py", "import not_a_module_xyz\n")),
        ],
        "bad_plugin.py failed to import (ModuleNotFoundError: No module named 'not_a_module_xyz')",
    ),
}


def without_checkpoint(finished: Path, tmp: Path) -> Path:
    run = unfinished(finished, tmp)
    shutil.rmtree(run / "checkpoints")
    return run


def damaged_snapshot(finished: Path, tmp: Path) -> Path:
    run = tmp / "snap"
    shutil.copytree(finished, run)
    write(run / "snapshots" / "step_00000020.pt", b"\x80\x02garbage")
    return run


def pickled_object() -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save({"not": "a checkpoint"}, buffer)
    return buffer.getvalue()


def corrupt_gzip(tmp: Path) -> Path:
    data = bytearray(gzip.compress(b"1 1:0.5 2:1\n0 1:1 3:2\n" * 50))
    data[20:40] = b"\x00" * 20
    return write(tmp / "c.svmlight.gz", bytes(data))


def truncated_gzip(tmp: Path) -> Path:
    return write(tmp / "tr.svmlight.gz", gzip.compress(b"1 1:0.5 2:1\n0 1:1 3:2\n" * 50)[:30])


def other_task(tmp: Path) -> Path:
    run = tmp / "other"
    assert main(["train", DANN, "--run-dir", str(run), *SHORT, "--set", "data.angle=50"]) == 0
    return run


def headerless(tmp: Path) -> str:
    """A labelled-looking CSV whose first line is data: no header, so no label column."""
    return str(write(tmp / "headerless.csv", "0.1,0.2,0.3,1\n0.4,0.5,0.6,0\n").name)


def hand_built_run(tmp: Path) -> Path:
    """A run trained by ``Trainer.fit`` on networks built in Python (no config to rebuild)."""
    from unshift import Trainer
    from unshift.data import Domain, TaskData
    from unshift.methods import SourceOnly

    x, y = torch.randn(64, 2), torch.arange(64) % 2
    data = TaskData([Domain(x, y)], [Domain(x)], num_classes=2, target_test=Domain(x, y))
    method = SourceOnly(torch.nn.Linear(2, 4), torch.nn.Linear(4, 2))
    Trainer(max_steps=4, batch_size=8, run_dir=tmp / "mine").fit(method, data)
    return tmp / "mine"


CASES.update(
    {
        "a config with a key given twice": (
            lambda f, t: [
                "train",
                str(write(t / "twice.yaml", "seed: 0\ntrainer:\n  steps: 5\n  steps: 50\n")),
            ],
            "key 'steps' appears twice in one mapping (lines 3 and 4)",
        ),
        "a --set value with a key given twice": (
            lambda f, t: ["train", DANN, "--set", "trainer={steps: 5, steps: 6}"],
            "key 'steps' appears twice in one mapping",
        ),
        "predict rows holding NaN or infinities": (
            lambda f, t: [
                "predict",
                str(f),
                str(write(t / "nan.csv", "x0,x1\n0.1,0.2\nnan,1\n2,inf\n")),
                "--out",
                str(t / "p.csv"),
            ],
            "2 of 3 input rows hold NaN or infinite values (rows 1, 2, counted from 0)",
        ),
        "train on a CSV with no header line": (
            lambda f, t: features(t, source=headerless(t)),
            "headerless.csv has no labels (expected e.g. 'y', 'labels' or a 'label' column named "
            "in a header line)",
        ),
        "an accelerator that is not there": (
            lambda f, t: ["train", DANN, "--set", "trainer.accelerator=cuda"],
            "trainer settings accelerator=cuda, devices=1, precision=32-true, strategy=auto "
            "cannot run here",
        ),
        "zero CPU threads": (
            lambda f, t: ["train", DANN, "--set", "trainer.threads=0"],
            "bad value for config key 'trainer.threads': must be >= 1 (or null: auto); got 0",
        ),
    }
)


HAND_BUILT = "was trained from Python with networks built there, so it records no config.yaml"
CASES.update(
    {
        f"{command} a run trained from Python on hand-built networks": (
            lambda f, t, c=command, e=tuple(extra): [c, str(hand_built_run(t)), *e],
            HAND_BUILT,
        )
        for command, extra in (
            ("eval", []),
            ("report", []),
            ("select", []),
            ("export", []),
            ("predict", ["x.csv"]),
        )
    }
)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(name, finished, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    setup, message = CASES[name]
    args = setup(finished, tmp_path)
    before = digest(tmp_path), digest(finished)
    capsys.readouterr()
    assert main([str(a) for a in args]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert message in err, err
    assert (digest(tmp_path), digest(finished)) == before, "a refused command changed files"


def test_any_damaged_checkpoint_or_snapshot_is_a_run_dir_error(finished, tmp_path):
    """The unpickler of random bytes raises many kinds of errors: every one is reported."""
    from unshift.core.files import RunDir
    from unshift.data.domains import TaskData
    from unshift.training.build import build_method, load_weights
    from unshift.training.config import load_config

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    info = json.loads((run / "task.json").read_text())
    method = build_method(load_config(run / "config.yaml"), TaskData.placeholder(info))
    snapshot = run / "snapshots" / "step_00000020.pt"
    for seed in range(30):
        noise = random.Random(seed).randbytes(random.Random(seed).randrange(1, 5000))
        for path, step in ((run / "checkpoints" / "last.ckpt", None), (snapshot, 20)):
            write(path, noise)
            with pytest.raises(RunDirError, match="is damaged"):
                load_weights(RunDir(run), method, step)


def test_every_case_is_counted():
    # 53 from the first rounds; 14 from "nothing silently wrong" (#33): an edited config on
    # resume (3), hand-built Python runs (5), duplicate keys (2), NaN rows, a headerless CSV,
    # a missing accelerator, zero threads
    assert len(CASES) == 67


def test_corrupt_images_are_skipped_named_and_counted_and_other_files_ignored(tmp_path, capsys):
    args = images(tmp_path, "--set", "data.num_workers=0", "--set", "trainer.log_every=1")
    good = tmp_path / "src" / "a" / "001.png"
    write(tmp_path / "src" / "a" / "000.png", good.read_bytes()[:60])  # truncated
    write(tmp_path / "src" / "b" / "000.png", b"not an image at all")  # corrupt
    write(tmp_path / "src" / "b" / "notes.txt", "a non-image file in a class folder")
    before = digest(tmp_path)
    with pytest.warns(UserWarning) as caught:
        assert main(args) == 0
    said = [str(w.message) for w in caught]
    assert any("ignored 1 files that are not images" in m and "notes.txt" in m for m in said)
    for name in ("a/000.png", "b/000.png"):
        assert any(f"cannot read image {tmp_path / 'src' / name}" in m and "skipped in training"
                   in m for m in said), said  # fmt: skip
    records = [json.loads(x) for x in (tmp_path / "image_run" / "metrics.jsonl").open()]
    assert max(r.get("skipped_samples", 0) for r in records) >= 2
    final = json.loads((tmp_path / "image_run" / "final.json").read_text())
    assert final["source_unreadable"] == 2  # evaluated on the source training set: left out
    after = digest(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("image_run")} == before


def test_overwrite_moves_the_old_run_aside_and_a_failing_overwrite_keeps_it(
    finished, tmp_path, capsys
):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    old = digest(run)
    diverging = ["--set", "optim.lr=1e30", "--set", "trainer.steps=40"]
    assert main(["train", DANN, "--run-dir", str(run), "--overwrite", *diverging]) == 3
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(aside) == 1 and digest(aside[0]) == old
    assert main(["eval", str(aside[0])]) == 0  # complete and loadable where it went
    capsys.readouterr()
    assert main(["train", DANN, "--run-dir", str(run), "--overwrite", *SHORT]) == 0
    assert "was moved to" in capsys.readouterr().out
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]) == 2


def test_resume_of_a_finished_run_changes_nothing(finished, capsys):
    before = digest(finished)
    assert main(["train", "--resume", str(finished)]) == 0
    assert "has finished (40 steps): nothing to resume, nothing changed" in capsys.readouterr().out
    assert digest(finished) == before


def test_a_resume_that_allows_the_changed_key_continues_and_records_the_change(
    finished, tmp_path, capsys
):
    run = edited(finished, tmp_path)
    assert main(["train", "--resume", str(run), "--allow-changed", "optim.lr"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    changes = [r for r in records if "config_changed" in r]
    assert changes == [{"step": 40, "config_changed": {"optim.lr": [0.3, 0.2]}}]
    assert (run / "final.json").exists()


def test_trainer_resume_compares_its_settings_with_the_checkpoint(tmp_path):
    from unshift import Trainer
    from unshift.core.errors import ConfigError
    from unshift.data import Domain, TaskData
    from unshift.methods import SourceOnly

    x, y = torch.randn(64, 2), torch.arange(64) % 2
    data = TaskData([Domain(x, y)], [Domain(x)], num_classes=2)
    method = SourceOnly(torch.nn.Linear(2, 4), torch.nn.Linear(4, 2))
    Trainer(max_steps=4, batch_size=8, run_dir=tmp_path / "r").fit(method, data)
    (tmp_path / "r" / "final.json").unlink()
    with pytest.raises(ConfigError, match=r"trainer.batch_size 8 -> 16"):
        Trainer(max_steps=4, batch_size=16, run_dir=tmp_path / "r").fit(method, data, resume=True)
    trainer = Trainer(max_steps=4, batch_size=16, run_dir=tmp_path / "r")
    assert trainer.fit(method, data, resume=True, allow_changed=("trainer.batch_size",))


def test_a_stale_lock_is_taken_over(finished, tmp_path):
    run = unfinished(finished, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    write(run / ".lock", f"{dead} {os.uname().nodename}\n")
    assert main(["train", "--resume", str(run)]) == 0
    assert (run / "final.json").exists() and not (run / ".lock").exists()


def test_an_unwritable_run_directory_is_one_line(finished, tmp_path, capsys, monkeypatch):
    """What a read-only directory does, also where the tests run as root (who may write)."""
    import unshift.core.files

    run = unfinished(finished, tmp_path)
    before = digest(run)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(unshift.core.files.os, "open", refuse)
    assert main(["train", "--resume", str(run)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: cannot write in {run} (Permission denied); give a run directory you can write to"
    )
    monkeypatch.setattr(Path, "write_text", refuse)
    assert main(["eval", str(run)]) == 2
    out, err = capsys.readouterr()
    assert "target test accuracy" in out
    assert err.strip() == (
        f"error: the accuracies above were not saved: cannot write {run / 'eval.json'} "
        "(Permission denied)"
    )
    assert digest(run) == before


@pytest.mark.skipif(ROOT_USER, reason="root writes into read-only directories")
def test_a_read_only_run_directory_fails_before_training(finished, tmp_path, capsys):
    run = unfinished(finished, tmp_path)
    for path in (run, *run.rglob("*")):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        before = digest(run)
        assert main(["train", "--resume", str(run)]) == 2
        assert "cannot write in" in capsys.readouterr().err
        assert main(["eval", str(run)]) == 2
        out, err = capsys.readouterr()
        assert "target test accuracy" in out and "were not saved" in err
        assert digest(run) == before
    finally:
        for path in (run, *run.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_sigterm_checkpoints_and_says_how_to_resume(tmp_path):
    run = tmp_path / "run"
    args = ["--set", "trainer.steps=400000", "--set", "trainer.checkpoint_every=50"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "unshift", "train", DANN, "--run-dir", str(run), *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(run / "checkpoints" / "last.ckpt", proc)
    proc.terminate()
    _, err = proc.communicate(timeout=scaled(60))
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == (
        f"error: terminated; continue from the last checkpoint with: unshift train --resume {run}"
    )
    assert "Traceback" not in err and not (run / ".lock").exists()


# ------------------------------------------------------------------ the Python API
def test_trainer_refuses_a_run_dir_that_holds_a_run(finished):
    from unshift.training.build import build_method, build_trainer, load_run

    cfg, data, _ = load_run(finished, train_data=True)
    before = digest(finished)
    with pytest.raises(RunDirError, match="already holds a run"):
        build_trainer(cfg, finished).fit(build_method(cfg, data), data)
    assert digest(finished) == before


def test_trainer_resume_without_a_checkpoint_is_a_run_dir_error(tmp_path):
    from unshift.training.build import build_data, build_method, build_trainer
    from unshift.training.config import load_config

    cfg = load_config(DANN, ["trainer.steps=5"])
    data = build_data(cfg)
    with pytest.raises(RunDirError, match="has no checkpoint"):
        build_trainer(cfg, tmp_path).fit(build_method(cfg, data), data, resume=True)


@pytest.mark.parametrize(
    "in_features, classes, message",
    [
        (5, 2, r"do not take this data's samples of shape \(2,\)"),
        (2, 3, "the label head gives 3 outputs per sample but the data has 2 classes"),
    ],
)
def test_networks_that_do_not_fit_the_data_are_refused_before_training(
    in_features, classes, message
):
    from torch import nn

    from unshift import Trainer
    from unshift.data.moons import MoonsConfig, moons_task
    from unshift.methods import SourceOnly

    data = moons_task(MoonsConfig(n_train=20, n_test=10), seed=0)
    method = SourceOnly(nn.Linear(in_features, 8), nn.Linear(8, classes))
    with pytest.raises(DataError, match=message):
        Trainer(max_steps=3).fit(method, data)


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, capsys,
                                                                       monkeypatch):  # fmt: skip
    from lightning_fabric import Fabric

    run = tmp_path / "run"
    real_save, saves = Fabric.save, []

    def save(self, path, state, *args, **kwargs):
        saves.append(path)
        if len(saves) == 2:
            Path(path).write_bytes(b"half a checkpoint")
            raise OSError(28, "No space left on device", str(path))
        return real_save(self, path, state, *args, **kwargs)

    monkeypatch.setattr(Fabric, "save", save)
    args = ["--set", "trainer.steps=40", "--set", "trainer.checkpoint_every=10"]
    assert main(["train", DANN, "--run-dir", str(run), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No space left on device:") and len(err.splitlines()) == 1
    ckpt = run / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=True)["step"] == 10
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["last.ckpt"]
    monkeypatch.setattr(Fabric, "save", real_save)
    assert main(["train", "--resume", str(run)]) == 0


def test_a_figure_that_cannot_be_drawn_is_skipped_and_named(finished, tmp_path, monkeypatch):
    from unshift.report import plots

    run = tmp_path / "run"
    shutil.copytree(finished, run)

    def refuse(*args, **kwargs):
        raise ValueError("too few samples")

    monkeypatch.setattr(plots, "decision_boundaries", refuse)
    assert main(["report", str(run)]) == 0
    text = (run / "report.md").read_text()
    assert "## Skipped" in text and "- decision boundaries: ValueError: too few samples" in text
    assert "plots/curves.png" in text and "target accuracy" in text


def test_sigint_at_a_random_step_then_resume_ends_bit_identical(tmp_path):
    import json
    import random
    import signal

    def metrics(run):
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in lines]

    args = ["--set", "trainer.steps=3000", "--set", "trainer.checkpoint_every=25"]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    proc = subprocess.Popen(
        [sys.executable, "-m", "unshift", "train", DANN, "--run-dir", str(stopped), *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(stopped / "checkpoints" / "last.ckpt", proc)
    time.sleep(random.uniform(0.0, 0.5))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=scaled(60))
    if proc.returncode == 0:
        pytest.skip("the run ended before the signal arrived")
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        f"error: interrupted; continue from the last checkpoint with: unshift train --resume "
        f"{stopped}"
    )
    assert main(["train", "--resume", str(stopped)]) == 0
    assert main(["train", DANN, "--run-dir", str(straight), *args]) == 0
    a, b = (json.loads((r / "final.json").read_text()) for r in (straight, stopped))
    assert {k: v for k, v in a.items() if k != "wall_s"} == {
        k: v for k, v in b.items() if k != "wall_s"
    }
    assert metrics(straight) == metrics(stopped)


def test_a_second_train_into_a_directory_in_use_is_refused_naming_the_process(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--set", "trainer.steps=400000", "--set", "trainer.checkpoint_every=50"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "unshift", "train", DANN, "--run-dir", str(run), *args],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(run / "checkpoints" / "last.ckpt", proc)
        capsys.readouterr()
        for second in (["--resume", str(run)], [DANN, "--run-dir", str(run), "--overwrite"]):
            assert main(["train", *second]) == 2
            err = capsys.readouterr().err.strip()
            assert f"is in use: process {proc.pid} on" in err and len(err.splitlines()) == 1
        assert not list(tmp_path.glob("run.old-*"))
    finally:
        proc.kill()
        proc.wait()


def test_a_run_directory_works_from_any_directory(tmp_path, monkeypatch, capsys):
    import yaml

    data = tmp_path / "data"
    data.mkdir()
    features(data)
    monkeypatch.chdir(data)
    args = [
        "train", FEATURES,
        "--set", "data.source=s.csv", "--set", "data.target=t.csv",
        "--set", "data.target_test=t.csv", "--set", "data.transform=none",
        "--set", "trainer.steps=5", "--run-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    assert main(args) == 0
    assert "training on cpu, precision 32-true, 1 process" in capsys.readouterr().out
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]
    assert saved["source"] == str(data / "s.csv") and saved["target_test"] == str(data / "t.csv")
    monkeypatch.chdir(tmp_path.parent)
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out  # no source test file: the source accuracy is on training data
    assert "source train accuracy" in out and "target test accuracy" in out
    assert main(["report", str(tmp_path / "run")]) == 0
    assert "| source accuracy (train) |" in (tmp_path / "run" / "report.md").read_text()


def test_a_run_the_python_trainer_trained_from_a_config_is_a_full_run_directory(
    tmp_path, capsys, monkeypatch
):
    from unshift.training.build import build_data, build_method, build_trainer
    from unshift.training.config import load_config

    monkeypatch.chdir(tmp_path)
    cfg = load_config(DANN, ["trainer.steps=20", "trainer.snapshot_every=10"])
    data, run = build_data(cfg), tmp_path / "run"
    build_trainer(cfg, run).fit(build_method(cfg, data), data)
    assert (run / "config.yaml").exists() and (run / "task.json").exists()
    np.savetxt(tmp_path / "new.csv", np.random.default_rng(0).normal(size=(4, 2)), delimiter=",")
    for argv in (
        ["eval", str(run)],
        ["report", str(run)],
        ["predict", str(run), str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv")],
        ["select", str(run)],
    ):
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 5
