"""A short seeded ADDA run on a small USPS → MNIST subset beats source-only.

Needs MNIST and USPS from ``../shared/data`` (``UNSHIFT_SHARED_DATA`` overrides); skipped, saying
so, when they are absent. Source-only is ADDA's own phase-1 model: phase 2 resumes from its run
directory, as ``benchmarks/adda.py`` does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from unshift.training.build import build_data, build_method, build_trainer
from unshift.training.config import load_config

from .conftest import CONFIGS, SHARED_DATA

pytestmark = [
    pytest.mark.slow,  # an accuracy check: `make test` runs it, `make test-fast` skips it
    pytest.mark.skipif(
        not (SHARED_DATA / "mnist").is_dir() or not (SHARED_DATA / "usps").is_dir(),
        reason=f"MNIST and USPS not found under {SHARED_DATA} (set UNSHIFT_SHARED_DATA)",
    ),
]
SMALL = [
    f"data.root={SHARED_DATA}",
    "data.max_train=4000",
    "data.max_test=2000",
    "method.pretrain_steps=400",
    "trainer.steps=1200",
    "trainer.progress_bar=false",
    "trainer.eval_every=0",
]


def test_adda_beats_source_only_on_small_usps_to_mnist(tmp_path: Path) -> None:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    cfg = load_config(CONFIGS / "digits" / "usps_mnist_adda.yaml", SMALL)
    data = build_data(cfg)
    pretrain = cfg.with_steps(cfg.method.pretrain_steps)
    source_only = build_trainer(pretrain, tmp_path / "phase1").fit(build_method(cfg, data), data)
    shutil.copytree(tmp_path / "phase1", tmp_path / "adda")
    phase_2 = build_trainer(cfg, tmp_path / "adda")  # phase 1's run, continued for longer
    adda = phase_2.fit(build_method(cfg, data), data, resume=True, allow_changed=("trainer.steps",))
    acc = {"source_only": source_only["target_acc"], "adda": adda["target_acc"]}
    print(acc)
    assert source_only["source_acc"] > 0.9, source_only
    assert acc["adda"] > acc["source_only"] + 0.1, acc
