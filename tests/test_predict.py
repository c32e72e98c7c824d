"""`unshift predict` and `unshift.load_model`: a trained run labels new data without reading
its training data, in the data's own labels, with probabilities and row ids."""

import gzip

import numpy as np
import pytest
import torch

import unshift
from unshift.cli import main

from .conftest import CONFIGS


def svmlight(path, n, seed, labels=True):
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        label = (1 if i % 2 else -1) if labels else 0
        lines.append(f"{label} {1 + i % 7}:{rng.integers(1, 4)} {8 + (i % 2)}:1\n")
    with gzip.open(path, "wt") as fh:
        fh.writelines(lines)
    return path


@pytest.fixture(scope="module")
def feature_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("features")
    source, target = svmlight(tmp / "s.svmlight.gz", 120, 0), svmlight(tmp / "t.svmlight.gz", 90, 1)
    run = tmp / "run"
    args = ["train", str(CONFIGS / "features_dann.yaml"), "--run-dir", str(run)]
    for value in (f"data.source={source}", f"data.target={target}",
                  f"data.target_test={target}", "data.n_features=10", "data.standardize=true",
                  "trainer.steps=40"):  # fmt: skip
        args += ["--set", value]
    assert main(args) == 0
    return run, target


def test_predict_a_feature_file_in_the_files_own_labels(feature_run, tmp_path, monkeypatch):
    run, target = feature_run
    monkeypatch.setattr("unshift.training.build.build_data", None)  # no data may be read to predict
    out = tmp_path / "p.csv"
    assert main(["predict", str(run), str(target), "--out", str(out)]) == 0
    assert out.read_text() == (run / "target_test_predictions.csv").read_text()
    model = unshift.load_model(run)
    x = torch.zeros(3, 10)
    assert set(model.predict(x)) <= {-1, 1}
    proba = model.predict_proba(x)
    assert proba.shape == (3, 2) and torch.allclose(proba.sum(1), torch.ones(3))


def test_predict_writes_parquet_with_the_same_columns_as_csv(feature_run, tmp_path):
    import pandas as pd

    run, target = feature_run
    out = tmp_path / "p.parquet"
    assert main(["predict", str(run), str(target), "--out", str(out)]) == 0
    frame = pd.read_parquet(out)
    csv = pd.read_csv(run / "target_test_predictions.csv")
    assert list(frame.columns) == list(csv.columns) == ["row", "label", "p_-1", "p_1"]
    assert frame["label"].tolist() == csv["label"].tolist()
    assert np.allclose(
        frame[["p_-1", "p_1"]].to_numpy(), csv[["p_-1", "p_1"]].to_numpy(), atol=1e-5
    )


def test_predict_refuses_data_of_another_width(feature_run, tmp_path, capsys):
    run, _ = feature_run
    np.savez(tmp_path / "wide.npz", X=np.ones((4, 12)))
    assert main(["predict", str(run), str(tmp_path / "wide.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: the run was trained on samples of shape (10,); these have shape (12,)"


def test_a_loaded_model_predicts_arrays_lists_frames_and_any_float_dtype(feature_run):
    import pandas as pd

    model = unshift.load_model(feature_run[0])
    x = np.random.default_rng(0).integers(0, 3, (6, 10)).astype(np.float64)
    expected = model.predict(torch.tensor(x, dtype=torch.float32))
    for given in (x, x.tolist(), pd.DataFrame(x), torch.tensor(x), torch.tensor(x).half()):
        assert model.predict(given) == expected, type(given)


def test_rows_holding_nan_or_infinity_are_refused_naming_them(feature_run, tmp_path, capsys):
    run, _ = feature_run
    x = np.ones((5, 10))
    x[1, 3], x[4, 0] = np.nan, -np.inf
    np.savez(tmp_path / "bad.npz", X=x)
    out = tmp_path / "p.csv"
    assert main(["predict", str(run), str(tmp_path / "bad.npz"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 2 of 5 input rows hold NaN or infinite values (rows 1, 4,")
    assert not out.exists()
    with pytest.raises(unshift.core.errors.DataError, match="rows 1, 4"):
        unshift.load_model(run).predict(x)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_non_finite_missing_writes_empty_predictions_in_place(feature_run, tmp_path, suffix):
    import pandas as pd

    run, _ = feature_run
    x = np.random.default_rng(0).integers(0, 3, (5, 10)).astype(np.float64)
    x[1, 3], x[4, 0] = np.nan, np.inf
    np.savez(tmp_path / "bad.npz", X=x)
    out = tmp_path / f"p{suffix}"
    argv = ["predict", str(run), str(tmp_path / "bad.npz"), "--out", str(out)]
    assert main([*argv, "--non-finite", "missing"]) == 0
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert table["row"].tolist() == [0, 1, 2, 3, 4]
    assert table.iloc[[1, 4], 1:].isna().all().all()
    assert table.iloc[[0, 2, 3], 1:].notna().all().all()
    model = unshift.load_model(run)
    finite = model.predict(x[[0, 2, 3]])
    predicted = model.predict(x, non_finite="missing")
    assert predicted == [finite[0], None, finite[1], finite[2], None]
    assert table["label"].iloc[[0, 2, 3]].tolist() == finite
    with pytest.raises(unshift.core.errors.DataError, match="all 2 input rows"):
        model.predict(x[[1, 4]], non_finite="missing")
    with pytest.raises(ValueError, match="non_finite must be one of"):
        model.predict(x, non_finite="zero")


def test_a_csv_without_a_header_is_predicted_row_for_row(tmp_path):
    run = tmp_path / "run"
    dann = str(CONFIGS / "moons" / "dann.yaml")
    assert main(["train", dann, "--run-dir", str(run), "--set", "trainer.steps=20"]) == 0
    rows = "0.1,0.2\n1,1\n-0.3,0.5\n"
    (tmp_path / "plain.csv").write_text(rows)
    (tmp_path / "named.csv").write_text("a,b\n" + rows)
    for name in ("plain", "named"):
        out = tmp_path / f"{name}_pred.csv"
        assert main(["predict", str(run), str(tmp_path / f"{name}.csv"), "--out", str(out)]) == 0
    plain = (tmp_path / "plain_pred.csv").read_text().splitlines()
    assert len(plain) == 4 and [r.split(",")[0] for r in plain[1:]] == ["0", "1", "2"]
    assert plain == (tmp_path / "named_pred.csv").read_text().splitlines()


def test_predict_images_from_a_directory(tmp_path):
    from PIL import Image

    from unshift.methods import SourceOnly
    from unshift.models import dann_mnist_features, dann_mnist_label_head
    from unshift.runs.predict import Model, read_inputs
    from unshift.training.config import load_config

    for i in range(2):
        Image.fromarray(np.full((16, 16, 3), 40 * i, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "deeper").mkdir()
    Image.fromarray(np.full((16, 16, 3), 80, dtype=np.uint8)).save(tmp_path / "deeper" / "2.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    info = {"input_shape": [1, 28, 28], "num_classes": 10, "num_sources": 1, "num_targets": 1,
            "channel_norm": False}  # fmt: skip
    torch.manual_seed(0)
    method = SourceOnly(dann_mnist_features(1), dann_mnist_label_head()).eval()
    model = Model(load_config(CONFIGS / "moons" / "source_only.yaml"), method, info)
    with pytest.warns(UserWarning, match="ignored 1 files that are not images"):
        x, ids = read_inputs(tmp_path, model)
    assert (
        len(x) == 3 and x.sample_shape == (1, 28, 28) and ids == ["0.png", "1.png", "deeper/2.jpg"]
    )
    images = x.take(torch.arange(3))  # grey, resized to the run's 28 x 28, in [0, 1]
    assert images.shape == (3, 1, 28, 28)
    assert torch.allclose(
        images.mean((1, 2, 3)), torch.tensor([0.0, 40 / 255, 80 / 255]), atol=0.01
    )
    header, rows = model.table(x, ids)
    assert header[:3] == ["row", "label", "p_0"] and [r[0] for r in rows] == ids
