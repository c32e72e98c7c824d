"""trainer.loggers: TensorBoard, MLflow and CSV get what metrics.jsonl gets, read back."""

import csv
import json

import pytest

from unshift.cli import main

from .conftest import CONFIGS

pytest.importorskip("tensorboard")
pytest.importorskip("mlflow")
DANN = str(CONFIGS / "moons" / "dann.yaml")


def series(records: list[dict], key: str) -> list[tuple[int, float]]:
    return [(r["step"], r[key]) for r in records if key in r]


def test_every_logger_reads_back_the_records_of_metrics_jsonl(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    uri = f"file:{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow's local files, for a test
    run = tmp_path / "dann"
    args = ["train", DANN, "--run-dir", str(run), "--set", "trainer.steps=60"]
    args += ["--set", "trainer.log_every=20", "--set", "trainer.loggers=[tensorboard,mlflow,csv]"]
    assert main(args) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    expected = {key: series(records, key) for key in ("label_loss", "domain_loss", "target_acc")}
    assert len(expected["label_loss"]) == 3 and expected["target_acc"]

    board = EventAccumulator(str(run / "tensorboard"))
    board.Reload()
    for key, points in expected.items():
        got = [(e.step, e.value) for e in board.Scalars(key)]
        assert [s for s, _ in got] == [s for s, _ in points]
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6)

    client = MlflowClient(tracking_uri=uri)
    [found] = client.search_runs([client.get_experiment_by_name("unshift").experiment_id])
    assert found.info.run_name == "dann" and found.info.status == "FINISHED"
    assert found.data.params["method.name"] == "dann"
    assert found.data.params["trainer.steps"] == "60"
    for key, points in expected.items():
        got = sorted((m.step, m.value) for m in client.get_metric_history(found.info.run_id, key))
        assert [s for s, _ in got] == [s for s, _ in points]
        assert [v for _, v in got] == pytest.approx([v for _, v in points])

    with open(run / "csv" / "metrics.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("label_loss")]
    assert [int(r["step"]) for r in rows] == [s for s, _ in expected["label_loss"]]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("[wandb]", "bad value for config key 'trainer.loggers': unknown ['wandb']"),
        ("[mlflow]", "mlflow needs MLFLOW_TRACKING_URI"),
    ],
)
def test_a_logger_that_cannot_work_is_one_line_before_training(
    setting, message, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = tmp_path / "run"
    assert main(["train", DANN, "--run-dir", str(run), "--set", f"trainer.loggers={setting}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not (run / "metrics.jsonl").exists()
