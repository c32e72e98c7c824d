"""`unshift export` / `Model.export`: the inference model as ONNX, TorchScript or torch.export,
giving the logits `unshift predict` computes (ONNX read back by onnxruntime)."""

import csv

import numpy as np
import pytest
import torch

from unshift.cli import main
from unshift.data.domains import TaskData
from unshift.runs.predict import Model, load_model
from unshift.training.build import build_method
from unshift.training.config import load_config

from .conftest import CONFIGS

ort = pytest.importorskip("onnxruntime")
TOLERANCE = 1e-5
DIGITS = {"input_shape": [1, 28, 28], "num_classes": 10, "channel_norm": True}


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("export") / "dann"
    args = ["train", str(CONFIGS / "moons" / "dann.yaml"), "--run-dir", str(run)]
    assert main([*args, "--set", "trainer.steps=60"]) == 0
    return run


def untrained(config: str, info: dict, overrides: list[str] = ()) -> Model:
    """A model of ``config``'s network and method with its initial weights: an export needs
    the computation, not a trained one."""
    info = {"num_sources": 1, "num_targets": 1, "channel_norm": False, **info}
    cfg = load_config(CONFIGS / config, list(overrides))
    torch.manual_seed(0)
    method = build_method(cfg, TaskData.placeholder(info)).eval()
    return Model(cfg, method, info)


def logits(model: Model, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.method.predict(model.prepare(x)).numpy()


def onnx_logits(path, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    return session.run(None, {"x": x.numpy()})[0]


def test_onnx_of_a_moons_run_matches_unshift_predict(moons_run, tmp_path):
    assert main(["export", str(moons_run)]) == 0  # default: model.onnx in the run
    x = torch.randn(300, 2)
    expected = logits(load_model(moons_run), x)
    got = onnx_logits(moons_run / "model.onnx", x)
    assert np.abs(got - expected).max() <= TOLERANCE
    np.savetxt(tmp_path / "x.csv", x.numpy(), delimiter=",", header="a,b", comments="")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(moons_run), str(tmp_path / "x.csv"), "--out", str(out)]) == 0
    with open(out) as fh:
        labels = [int(row["label"]) for row in csv.DictReader(fh)]
    assert labels == got.argmax(1).tolist()


@pytest.mark.parametrize(
    "config, info, overrides",
    [
        ("digits/mnist_usps_dann_plus.yaml", DIGITS,
         ["data.root=/data"]),
        ("digits/mnist_usps_mcd_plus.yaml", DIGITS,
         ["data.root=/data"]),
        ("features_dann.yaml",
         {"input_shape": [5], "num_classes": 2,
          "input_transform": {"log1p": True, "mean": [0.1, 0.2, 0.3, 0.4, 0.5],
                              "std": [1.0, 2.0, 0.5, 1.5, 3.0]}},
         ["data.source=s.svmlight", "data.target=t.svmlight"]),
    ],
    ids=["digits_dann", "digits_mcd_two_heads", "features_with_input_transform"],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_every_format_gives_the_logits_of_predict(config, info, overrides, tmp_path):
    model = untrained(config, info, overrides)
    state = model.method.state_dict()  # statistics as training leaves them, not 0 and 1
    for key in state:
        if key.endswith(("running_mean", ".mean")):
            state[key] = torch.rand_like(state[key])
        elif key.endswith(("running_var", ".std")):
            state[key] = torch.rand_like(state[key]) + 0.5
    model.method.load_state_dict(state)
    x = torch.rand(17, *info["input_shape"])  # a batch size the export never saw
    expected = logits(model, x)
    got = onnx_logits(model.export(tmp_path / "m.onnx"), x)
    assert np.abs(got - expected).max() <= TOLERANCE
    scripted = torch.jit.load(str(model.export(tmp_path / "m.pt", "torchscript")))
    assert np.abs(scripted(x).detach().numpy() - expected).max() <= TOLERANCE
    program = torch.export.load(str(model.export(tmp_path / "m.pt2", "export")))
    assert np.abs(program.module()(x).detach().numpy() - expected).max() <= TOLERANCE


def test_an_unknown_format_is_one_line(moons_run, capsys):
    with pytest.raises(SystemExit):
        main(["export", str(moons_run), "--format", "pickle"])
    assert "invalid choice: 'pickle'" in capsys.readouterr().err
    with pytest.raises(Exception, match="unknown export format 'pickle'"):
        load_model(moons_run).export(moons_run / "m.bin", "pickle")
    assert not (moons_run / "m.bin").exists()
