"""DANN through the trainer on two CPU processes (Fabric, DDP over gloo)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .conftest import scaled

WORKER = Path(__file__).resolve().parent / "ddp_worker.py"


def launch(out: Path, *mode: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(WORKER), str(out), *mode],
        capture_output=True,
        text=True,
        timeout=scaled(240),
        env=env,
        cwd=out,
    )


@pytest.mark.slow  # two processes: `make test-fast` skips it
def test_two_process_ddp_dann(tmp_path):
    proc = launch(tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["world_size"] == r1["world_size"] == 2

    # Both ranks agree on the parameters after training.
    for a, b in zip(r0["params"], r1["params"], strict=True):
        assert torch.equal(a, b)

    # The reversed gradient survives the all-reduce (and is not the unreversed one).
    for r in (r0, r1):
        assert r["grad_error"] < 1e-6 * max(1.0, r["grad_scale"])
        assert r["unreversed_error"] > 1e-4

    # Only rank 0 writes the run directory: each step is logged once.
    run = tmp_path / "run"
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "label_loss" in r]
    assert steps == [5, 10, 15, 20]
    assert (run / "final.json").exists() and (run / "checkpoints" / "last.ckpt").exists()
    assert not list(run.rglob(".*tmp*"))


@pytest.mark.slow
def test_two_processes_streaming_each_read_their_own_shard(tmp_path):
    proc = launch(tmp_path, "streamed")
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for a, b in zip(r0["params"], r1["params"], strict=True):
        assert torch.equal(a, b)
    for domain in ("source", "target"):
        reads = [
            [int(i) for i in (tmp_path / f"reads_{domain}_{rank}.txt").read_text().split()]
            for rank in (0, 1)
        ]
        # 20 steps of 32 rows, 2 per epoch (a shard of 64 rows each); a reader may read ahead
        assert min(map(len, reads)) >= 20 * 32
        for epoch in range(10):
            shards = [set(r[64 * epoch : 64 * (epoch + 1)]) for r in reads]
            assert shards[0].isdisjoint(shards[1]), f"{domain} epoch {epoch}: rows read twice"
            assert shards[0] | shards[1] == set(range(128)), f"{domain} epoch {epoch}"
