import gzip

import numpy as np
import pytest
import scipy.io
import torch

from unshift.core.errors import DataError
from unshift.data.domains import take_rows
from unshift.data.tabular import load_features


def test_svmlight_gz_is_read_sparse_with_pm1_labels_mapped(tmp_path):
    path = tmp_path / "d.svmlight.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("1 1:2.0 4:1.5\n-1 2:3.0\n1 5:1.0\n")
    domain = load_features(path, n_features=6)
    assert domain.x.is_sparse and tuple(domain.x.shape) == (3, 6)
    assert domain.y.tolist() == [1, 0, 1]
    dense = take_rows(domain.x, torch.tensor([0, 1]))
    assert dense.tolist() == [[2.0, 0, 0, 1.5, 0, 0], [0, 3.0, 0, 0, 0, 0]]  # 1-based indices
    assert domain.name == "d"


def test_npz_with_and_without_labels(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.arange(6.0).reshape(3, 2), y=np.array([0, 1, 1]))
    np.savez(tmp_path / "b.npz", X=np.ones((4, 2)))
    a = load_features(tmp_path / "a.npz")
    assert a.x.dtype == torch.float32 and a.y.tolist() == [0, 1, 1]
    assert load_features(tmp_path / "b.npz", labelled=False).y is None
    with pytest.raises(DataError, match="has no labels"):
        load_features(tmp_path / "b.npz")


@pytest.mark.parametrize("keys", [("fts", "labels"), ("X", "y")])
def test_mat_files(tmp_path, keys):
    path = tmp_path / "m.mat"
    scipy.io.savemat(path, {keys[0]: np.eye(3), keys[1]: np.array([[1], [2], [1]])})
    domain = load_features(path)
    assert tuple(domain.x.shape) == (3, 3) and domain.y.tolist() == [1, 2, 1]


def test_mat_without_features_names_the_keys(tmp_path):
    path = tmp_path / "m.mat"
    scipy.io.savemat(path, {"data": np.eye(2)})
    with pytest.raises(DataError, match=r"expected 'fts' or 'X' \(found \['data'\]\)"):
        load_features(path)


def test_csv_with_label_column_anywhere(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("f1,label,f2\n0.5,1,2\n1.5,0.0,3\n")
    domain = load_features(path)
    assert domain.x.tolist() == [[0.5, 2.0], [1.5, 3.0]] and domain.y.tolist() == [1, 0]
    unlabelled = load_features(path, labelled=False, label_column="target")
    assert tuple(unlabelled.x.shape) == (2, 3) and unlabelled.y is None


def test_a_csv_without_a_header_keeps_every_row(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("0.5,1,2\n1.5,0,3\n-2,1e3,nan\n")
    domain = load_features(path, labelled=False)
    assert tuple(domain.x.shape) == (3, 3) and domain.x[0].tolist() == [0.5, 1.0, 2.0]
    with pytest.raises(DataError, match="'label' column named in a header line"):
        load_features(path)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("x.csv", "a,b\n1,2,3\n", "header names 2 columns but rows hold 3"),
        ("y.csv", "a,b\nx,y\n", "not a readable numeric CSV"),
        ("x.parquet", "PAR1", "unknown format '.parquet'"),
        ("x.svmlight", "1 a:b\n", "not a readable svmlight file"),
        ("x.mat", "not matlab", "not a readable .mat file"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_features(path)


def test_non_integer_labels_are_rejected(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.ones((2, 2)), y=np.array([0.5, 1.0]))
    with pytest.raises(DataError, match=r"labels must be integers; found 0\.5"):
        load_features(tmp_path / "a.npz")
