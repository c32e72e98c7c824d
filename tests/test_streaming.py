"""Streamed domains: image folders and list files, one protocol with in-memory domains, the
same batches as in memory, reproducible augmentation with any number of workers, resume after
kill -9, and Python datasets as tasks."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from unshift.cli import main
from unshift.core.errors import DataError
from unshift.data import Domain, PairedBatches, StreamedDomain, TaskData, from_datasets
from unshift.data.image_files import ImageFiles, scan_split
from unshift.data.image_transforms import transforms
from unshift.data.sampling import LoaderStream
from unshift.data.streamed import (
    ORPHAN_CHECK_S,
    READER_NICENESS,
    batch_tensor,
    collate,
    read_ahead,
)
from unshift.eval.metrics import evaluate

from .test_trainer import kill_9_resume_and_compare


def make_folder(root: Path, classes=("a", "b"), n=12, size=28, shift=0, seed=0) -> Path:
    """``root/<class>/<i>.png``: noise with a bright half (top for the first class, left for
    the second), brightened by ``shift``; a mix of RGB, grey and RGBA files."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = rng.integers(0, 80, (size, size, 3)).astype(np.int64)
            if c % 2:
                a[:, : size // 2] += 120
            else:
                a[: size // 2] += 120
            img = Image.fromarray(np.clip(a + shift, 0, 255).astype(np.uint8))
            mode = ("RGB", "L", "RGBA")[i % 3]
            img.convert(mode).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    return (
        make_folder(root / "source"),
        make_folder(root / "target", shift=60, seed=1),
        make_folder(root / "target_test", shift=60, seed=2, n=6),
    )


def config(folders, *extra):
    source, target, test = folders
    return [
        "--set", f"data.source={source}", "--set", f"data.target={target}",
        "--set", f"data.target_test={test}", *extra,
    ]  # fmt: skip


DANN = str(Path(__file__).resolve().parent / "image_folder_dann.yaml")


def test_a_class_folder_a_list_file_and_a_flat_folder(folders, tmp_path):
    source, target, _ = folders
    split, classes = scan_split(source, "source", None)
    assert classes == ["a", "b"] and len(split.files) == 24 and split.labels[:12] == [0] * 12
    listed = tmp_path / "list.txt"
    listed.write_text(f"{source}/b/000.png b\n\n{source}/a/001.png 0\n")
    split, _ = scan_split(listed, "target", classes)
    assert split.labels == [1, 0]
    flat = tmp_path / "flat"
    flat.mkdir()
    for f in sorted((target / "a").iterdir())[:3]:
        (flat / f.name).write_bytes(f.read_bytes())
    (flat / "README").write_text("no image")
    with pytest.warns(UserWarning, match="ignored 1 files that are not images"):
        split, _ = scan_split(flat, "target", classes)
    assert split.labels is None and len(split.files) == 3


def test_grey_colour_and_alpha_images_all_become_the_configured_channels(folders):
    source = folders[0]
    files = sorted((source / "a").iterdir())[:3]  # RGB, L, RGBA
    for channels in (1, 3):
        images = ImageFiles(files, channels, transforms(20, None, [], train=False))
        shapes = {tuple(images[i].shape) for i in range(3)}
        assert shapes == {(channels, 20, 20)}
        assert all(images[i].dtype == torch.uint8 for i in range(3))


def streamed_and_in_memory(source: Path, workers: int, augment=()):
    split, _ = scan_split(source, "source", None)
    evaluate_tf = transforms(28, None, [], train=False)
    train_tf = transforms(28, None, list(augment), train=True)
    files = ImageFiles(split.files, 3, evaluate_tf)
    y = torch.tensor(split.labels)
    streamed = StreamedDomain(
        files,
        y,
        (3, 28, 28),
        num_workers=workers,
        train_dataset=ImageFiles(split.files, 3, train_tf),
    )
    memory = Domain(torch.stack([files[i] for i in range(len(files))]), y)
    return streamed, memory


@pytest.mark.parametrize("workers", [0, 2])
def test_a_streamed_domain_gives_the_batches_of_the_same_images_in_memory(folders, workers):
    streamed, memory = streamed_and_in_memory(folders[0], workers)
    a = PairedBatches([streamed], [streamed.unlabelled()], 5, seed=3)
    b = PairedBatches([memory], [memory.unlabelled()], 5, seed=3)
    for _ in range(7):  # more than one epoch (24 images, batches of 5)
        ([(xa, ya)], [ta]), ([(xb, yb)], [tb]) = a.next(), b.next()
        assert torch.equal(xa, xb) and torch.equal(ya, yb) and torch.equal(ta, tb)
    a.close()
    assert torch.equal(torch.cat([x for x, _ in streamed.iter_batches(7)]), memory.x.float() / 255)


def test_pixels_travel_from_readers_as_bytes_and_arrive_as_the_same_floats(folders):
    streamed, memory = streamed_and_in_memory(folders[0], 2)
    keys = [[(k, k, None) for k in range(6)]]
    [(as_bytes, *_)] = read_ahead(streamed.reader(train=False), keys, 2, collate)
    assert as_bytes.dtype == np.uint8
    assert torch.equal(batch_tensor(as_bytes), memory.x[:6].float() / 255)


class Niceness(torch.utils.data.Dataset):
    """Item i: the niceness of the process that reads it."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor([float(os.nice(0))])


class ReaderPid(torch.utils.data.Dataset):
    """Item i: the id of the process that reads it."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor([float(os.getpid())])


def test_the_streamed_domains_of_a_task_share_num_workers_reader_processes():
    source = StreamedDomain(ReaderPid(), torch.zeros(16, dtype=torch.long), (1,), num_workers=2)
    target = StreamedDomain(ReaderPid(), None, (1,), num_workers=2)
    stream = PairedBatches([source], [target], 4, seed=0)
    pids = set()
    for _ in range(12):
        [(xs, _)], [xt] = stream.next()
        assert len(set(xs.flatten().tolist())) == 1, "a step's batch came from several readers"
        assert xs.flatten().tolist() == xt.flatten().tolist(), "one reader reads the whole step"
        pids.update(xs.flatten().tolist())
    stream.close()
    assert len(pids) == 2 and os.getpid() not in pids


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities here")
def test_reader_processes_run_at_lower_priority_than_training():
    domain = StreamedDomain(Niceness(), None, (1,), num_workers=1)
    [(x, _)] = list(domain.iter_batches(4))
    expected = min(19, os.nice(0) + READER_NICENESS)
    assert x.flatten().tolist() == [expected] * 4 and os.nice(0) < expected


ORPHAN_SCRIPT = """
import os, time
import numpy as np
from torch.utils.data import Dataset
from unshift.data.streamed import read_ahead

class Pid(Dataset):  # batches larger than a pipe holds, as image batches are
    def __len__(self):
        return 10**6

    def __getitem__(self, i):
        return np.full(300_000, os.getpid())

loader = iter(read_ahead(Pid(), [[i] for i in range(10**6)], 2, lambda items: items[0]))
print(*{int(next(loader)[0]) for _ in range(6)}, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_reader_processes_exit_when_the_training_process_is_killed():
    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    readers = [int(p) for p in proc.stdout.readline().split()]
    assert len(readers) == 2 and all(_running(p) for p in readers)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5 * ORPHAN_CHECK_S + 2
    while any(_running(p) for p in readers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(p) for p in readers), "reader processes outlived training"


def test_augmentation_is_the_same_with_any_number_of_workers_and_after_a_restart(folders):
    augment = ["random_crop", "hflip", "color_jitter"]
    drawn = []
    for workers in (0, 2):
        streamed, _ = streamed_and_in_memory(folders[0], workers, augment)
        stream = LoaderStream(streamed, 6, seed=1, index=0)
        drawn.append([stream.batch(b)[0] for b in range(5)])
        restarted = LoaderStream(streamed, 6, seed=1, index=0)
        assert torch.equal(restarted.batch(3)[0], drawn[-1][3])  # a resume at batch 3
        stream.close(), restarted.close()
    assert all(torch.equal(x, y) for x, y in zip(*drawn, strict=True))
    plain, _ = streamed_and_in_memory(folders[0], 0)
    unaugmented = LoaderStream(plain, 6, seed=1, index=0).batch(0)[0]
    assert not torch.equal(unaugmented, drawn[0][0]), "augmentation changed nothing"


def test_ddp_processes_read_disjoint_shards_of_each_epoch(folders):
    streamed, _ = streamed_and_in_memory(folders[0], 0)
    rows = [
        LoaderStream(streamed, 4, 0, 0, rank=r, world_size=2).keys(b)
        for r in (0, 1)
        for b in (0, 1, 2)
    ]
    seen = [i for keys in rows for _, i, _ in keys]
    assert len(seen) == len(set(seen)) == 24


def test_train_evaluate_select_and_predict_an_image_folder_run(folders, tmp_path, capsys):
    run = tmp_path / "run"
    steps = ["--set", "trainer.steps=20", "--set", "trainer.snapshot_every=10"]
    holdout = ["--set", "data.source_val_fraction=0.25"]
    assert main(["train", DANN, "--run-dir", str(run), *config(folders, *steps, *holdout)]) == 0
    for validator in ("bnm", "source_val_acc", "dev"):  # streamed target and source validation
        assert main(["select", str(run), "--validator", validator]) == 0
        chosen = json.loads((run / "selection.json").read_text())
        assert chosen["validator"] == validator and chosen["chosen"]["step"] in (10, 20)
    final = json.loads((run / "final.json").read_text())
    assert 0 <= final["target_acc"] <= 1 and final["target_confusion"] != []
    table = (run / "target_test_predictions.csv").read_text().splitlines()
    assert table[0] == "row,label,p_a,p_b" and len(table) == 13
    assert table[1].startswith(str(folders[2] / "a" / "000.png") + ",")
    assert main(["eval", str(run)]) == 0
    assert main(["predict", str(run), str(folders[2]), "--out", str(tmp_path / "p.csv")]) == 0
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[1].split(",")[0] == "a/000.png" and len(rows) == 13
    # the same images give the same probabilities whichever command read them
    assert rows[1].split(",")[1:] == table[1].split(",")[1:]


def test_a_corrupt_image_is_skipped_named_and_counted(folders, tmp_path):
    source = tmp_path / "source"
    make_folder(source, n=6)
    (source / "a" / "000.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    _, target, test = folders
    run = tmp_path / "run"
    args = config(
        (source, target, test), "--set", "trainer.steps=10", "--set", "data.num_workers=0"
    )
    with pytest.warns(UserWarning, match=r"cannot read image .*000\.png.*skipped in training"):
        assert main(["train", DANN, "--run-dir", str(run), *args]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-2]["skipped_samples"] >= 1


def test_python_datasets_train_without_being_copied(folders):
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    from unshift.training.build import build_method
    from unshift.training.config import load_config
    from unshift.training.trainer import Trainer

    tf = v2.Compose([v2.PILToTensor(), v2.Resize((28, 28))])
    task = from_datasets(
        ImageFolder(str(folders[0]), tf),
        ImageFolder(str(folders[1]), tf),
        target_test=ImageFolder(str(folders[2]), tf),
        num_workers=0,
    )
    assert isinstance(task.sources[0], StreamedDomain) and task.num_classes == 2
    assert task.input_shape == (3, 28, 28) and task.targets[0].y is None
    cfg = load_config(DANN, config(folders, "trainer.steps=5")[1::2])
    method = build_method(cfg, task)
    final = Trainer(max_steps=5, batch_size=4, accelerator="cpu").fit(method, task)
    assert "target_acc" in final and final["steps"] == 5
    in_memory = evaluate(method, TaskData(
        [Domain(task.sources[0].take(torch.arange(24)), task.sources[0].y)],
        [Domain(task.targets[0].take(torch.arange(24)))],
        2,
        target_test=Domain(task.target_test.take(torch.arange(12)), task.target_test.y),
    ))  # fmt: skip
    assert in_memory["target_acc"] == final["target_acc"]


def test_bad_image_folders_are_one_line_errors(folders, tmp_path):
    source = folders[0]
    other = make_folder(tmp_path / "other", classes=("a", "zebra"), n=2)
    with pytest.raises(DataError, match="has classes the source lacks: zebra"):
        scan_split(other, "target test", ["a", "b"])
    (tmp_path / "empty_class" / "a").mkdir(parents=True)
    make_folder(tmp_path / "empty_class", classes=("b",), n=2)
    with pytest.raises(DataError, match=r"class folder .*a of the source holds no images"):
        scan_split(tmp_path / "empty_class", "source", None)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        scan_split(tmp_path / "nothing", "target", ["a", "b"])
    listed = tmp_path / "list.txt"
    listed.write_text("a/000.png a\nmissing.png b\n")
    with pytest.raises(DataError, match=r"list.txt:2: .*missing.png does not exist"):
        scan_split(listed, "source", None, root=source)


def test_kill_9_then_resume_with_streaming_and_workers_ends_bit_identical(folders, tmp_path):
    args = config(folders, "--set", "trainer.steps=120", "--set", "trainer.checkpoint_every=20")
    args += ["--set", "data.num_workers=2", "--set", "data.train_augment=[hflip,random_crop]"]
    kill_9_resume_and_compare(DANN, args, tmp_path)
