"""Digit image loaders, the MNIST-M generator and `unshift data mnist-m`, on files written here."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from unshift.cli import main
from unshift.core.errors import ConfigError, DataError
from unshift.data import images
from unshift.data.domains import Domain, take_rows
from unshift.data.images import load_digits, load_mnist, load_usps, match_images, read_idx
from unshift.data.mnist_m import blend, generate_mnist_m, load_photos
from unshift.training.config import load_config


def write_idx(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def write_mnist(directory: Path, n_train: int = 12, n_test: int = 7, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return directory


def write_photos(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(directory / "a.png")
    Image.fromarray(np.full((30, 32, 3), 200, dtype=np.uint8)).save(directory / "b.png")
    (directory / "README.txt").write_text("not a photograph")
    return directory


def test_read_idx_plain_and_gzip(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        assert np.array_equal(read_idx(write_idx(tmp_path / name, array)), array)


def test_read_idx_refuses_bad_magic_and_truncation(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(bad)
    full = write_idx(tmp_path / "t", np.zeros((3, 28, 28))).read_bytes()
    (tmp_path / "t").write_bytes(full[:-5])
    with pytest.raises(DataError, match=r"promises shape \(3, 28, 28\)"):
        read_idx(tmp_path / "t")


def test_load_mnist_shapes_and_missing_file(tmp_path: Path) -> None:
    directory = write_mnist(tmp_path / "mnist")
    train, test = load_mnist(directory, "train"), load_mnist(directory, "test")
    assert train.x.shape == (12, 1, 28, 28) and train.x.dtype == torch.uint8
    assert test.y is not None and test.y.shape == (7,) and test.y.dtype == torch.int64
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_mnist(directory, "test")


def test_load_usps_scales_to_bytes_and_names_bad_files(tmp_path: Path) -> None:
    directory = tmp_path / "usps"
    directory.mkdir()
    data = np.linspace(0, 1, 5 * 256, dtype=np.float32).reshape(5, 256)
    with h5py.File(directory / "usps.h5", "w") as f:
        for split in ("train", "test"):
            f[f"{split}/data"] = data
            f[f"{split}/target"] = np.arange(5)
    usps = load_usps(directory, "test")
    assert usps.x.shape == (5, 1, 16, 16) and usps.x.dtype == torch.uint8
    assert int(usps.x.max()) == 255 and int(usps.x.min()) == 0
    assert usps.y is not None and usps.y.tolist() == [0, 1, 2, 3, 4]
    with h5py.File(directory / "usps.h5", "w") as f:
        f["train/data"] = data
    with pytest.raises(DataError, match="'test/data'"):
        load_usps(directory, "test")
    with pytest.raises(DataError, match="missing file"):
        load_usps(tmp_path, "train")


def test_load_mnist_m_checks_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "mnist_m_test.npz", x=np.zeros((4, 28, 28, 3), np.uint8), y=np.arange(4))
    with pytest.raises(DataError, match=r"expected uint8 \(N, 3, H, W\)"):
        load_digits("mnist_m", tmp_path, "test")
    with pytest.raises(DataError, match="unshift data mnist-m"):
        load_digits("mnist_m", tmp_path, "train")
    with pytest.raises(DataError, match="unknown digit dataset"):
        load_digits("svhn", tmp_path)


def test_match_images_channels_and_size() -> None:
    grey = Domain(torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8), None, "g")
    matched = match_images(grey, 3, 28)
    assert matched.x.shape == (4, 3, 28, 28) and matched.x.dtype == torch.uint8
    assert torch.equal(matched.x[:, 0], matched.x[:, 2])
    colour = Domain(torch.full((2, 3, 28, 28), 90, dtype=torch.uint8), None, "c")
    assert torch.equal(match_images(colour, 1, 28).x, torch.full((2, 1, 28, 28), 90))
    same = match_images(colour, 3, 28)
    assert same.x is colour.x


def test_uint8_batches_become_unit_floats() -> None:
    x = torch.tensor([[0, 255], [51, 102]], dtype=torch.uint8)
    batch = take_rows(x, torch.tensor([1, 0]))
    assert batch.dtype == torch.float32
    assert torch.allclose(batch, torch.tensor([[0.2, 0.4], [0.0, 1.0]]))


def test_blend_is_abs_difference_and_deterministic() -> None:
    digits = np.random.default_rng(0).integers(0, 256, (50, 28, 28)).astype(np.uint8)
    flat = np.full((30, 30, 3), 200, dtype=np.uint8)
    out = blend(digits, [flat], np.random.default_rng(0))
    assert out.shape == (50, 3, 28, 28) and out.dtype == np.uint8
    expected = np.abs(200 - digits.astype(int))
    assert all(np.array_equal(out[:, c], expected) for c in range(3))
    photos = [
        np.random.default_rng(i).integers(0, 256, (40, 60, 3)).astype(np.uint8) for i in (1, 2)
    ]
    a = blend(digits, photos, np.random.default_rng(7))
    b = blend(digits, photos, np.random.default_rng(7))
    c = blend(digits, photos, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_generate_mnist_m_files_readme_and_determinism(tmp_path: Path) -> None:
    mnist, photos = write_mnist(tmp_path / "mnist"), write_photos(tmp_path / "photos")
    first = generate_mnist_m(mnist, photos, tmp_path / "out1", seed=3)
    generate_mnist_m(mnist, photos, tmp_path / "out2", seed=3)
    generate_mnist_m(mnist, photos, tmp_path / "out3", seed=4)
    train = load_digits("mnist_m", tmp_path / "out1", "train")
    test = load_digits("mnist_m", tmp_path / "out1", "test")
    assert train.x.shape == (12, 3, 28, 28) and test.x.shape == (7, 3, 28, 28)
    assert train.x.dtype == torch.uint8
    assert torch.equal(train.y, load_mnist(mnist, "train").y)  # type: ignore[arg-type]
    same = load_digits("mnist_m", tmp_path / "out2", "train")
    other = load_digits("mnist_m", tmp_path / "out3", "train")
    assert torch.equal(train.x, same.x) and not torch.equal(train.x, other.x)
    readme = first["readme"].read_text()
    assert "a.png | 50 × 40" in readme and "b.png | 32 × 30" in readme and "Seed 3" in readme
    assert "README.txt" not in readme
    assert first["montage"].is_file()


def test_load_photos_refuses_tiny_and_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no photographs"):
        load_photos(tmp_path / "empty")
    Image.fromarray(np.zeros((10, 40, 3), np.uint8)).save(tmp_path / "tiny.png")
    with pytest.raises(DataError, match="40×10 pixels"):
        load_photos(tmp_path)


def test_cli_data_mnist_m(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mnist, photos = write_mnist(tmp_path / "mnist"), write_photos(tmp_path / "photos")
    argv = ["data", "mnist-m", "--mnist", str(mnist), "--photos", str(photos)]
    assert main([*argv, "--out", str(tmp_path / "out"), "--seed", "1"]) == 0
    assert (tmp_path / "out" / "mnist_m_train.npz").is_file()
    assert main([*argv[:4], "--photos", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "nope does not exist" in capsys.readouterr().err


def test_digit_config_needs_a_root_and_known_datasets() -> None:
    with pytest.raises(ConfigError, match=r"data\.root"):
        load_config(None, ["data.name=digits", "data.source=mnist", "data.target=usps"])
    with pytest.raises(ConfigError, match=r"'data\.target': must be one of"):
        load_config(None, ["data.name=digits", "data.source=mnist", "data.target=svhn"])
    names = ["data.name=digits", "data.source=mnist", "data.target=mnist_m"]
    cfg = load_config(None, [*names, "data.dirs.mnist_m=/generated", "data.root=/data"])
    assert cfg.data.root == "/data" and cfg.data.dirs == {"mnist_m": "/generated"}


def write_usps(directory: Path) -> None:
    directory.mkdir()
    rng = np.random.default_rng(0)
    with h5py.File(directory / "usps.h5", "w") as f:
        for split, n in (("train", 40), ("test", 20)):
            f[f"{split}/data"] = rng.random((n, 256), dtype=np.float32)
            f[f"{split}/target"] = rng.integers(0, 10, n)


def test_train_reads_each_digit_split_once(tmp_path: Path, monkeypatch) -> None:
    write_mnist(tmp_path / "mnist", n_train=40, n_test=20)
    write_usps(tmp_path / "usps")
    calls: list[tuple[str, str]] = []
    real = images.load_digits

    def counting(name: str, directory, split: str = "train"):
        calls.append((name, split))
        return real(name, directory, split)

    monkeypatch.setattr(images, "load_digits", counting)
    config = Path(__file__).resolve().parents[1] / "configs" / "digits" / "mnist_usps_dann.yaml"
    sets = ["data.root=" + str(tmp_path), "trainer.steps=3", "trainer.batch_size=8"]
    args = [a for s in sets for a in ("--set", s)]
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), *args]) == 0
    assert (tmp_path / "run" / "report.md").is_file()
    assert sorted(calls) == [
        ("mnist", "test"),
        ("mnist", "train"),
        ("usps", "test"),
        ("usps", "train"),
    ]


def test_digit_runs_report_tsne_and_pad_beside_a_baseline(tmp_path: Path) -> None:
    write_mnist(tmp_path / "mnist", n_train=40, n_test=20)
    write_usps(tmp_path / "usps")
    configs = Path(__file__).resolve().parents[1] / "configs" / "digits"
    sets = ["data.root=" + str(tmp_path), "trainer.steps=3", "trainer.batch_size=8"]
    args = [a for s in sets for a in ("--set", s)]
    base, run = tmp_path / "so", tmp_path / "dann"
    assert (
        main(["train", str(configs / "mnist_usps_source_only.yaml"), "--run-dir", str(base), *args])
        == 0
    )
    assert main(["train", str(configs / "mnist_usps_dann.yaml"), "--run-dir", str(run), *args]) == 0
    assert main(["report", str(run), "--baseline", str(base)]) == 0
    report = (run / "report.md").read_text()
    assert "features of source_only (baseline)" in report and "features of dann" in report
    assert (run / "plots" / "tsne_features.png").is_file()
    assert (run / "plots" / "target_confusion.png").is_file()
