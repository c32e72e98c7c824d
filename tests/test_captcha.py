"""Captcha domains: the generator is deterministic per seed, the two styles differ, and the
captcha configs build and run (source-only, DANN, ADDA) with one output per character."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from unshift.cli import main
from unshift.core.errors import DataError
from unshift.data.captcha import render_captchas
from unshift.training.build import build_data, build_method
from unshift.training.config import load_config

from .conftest import CONFIGS, SHARED_DATA

FONTS = SHARED_DATA / "fonts"
pytestmark = pytest.mark.skipif(
    not FONTS.is_dir(), reason=f"fonts not found under {FONTS} (set UNSHIFT_SHARED_DATA)"
)
SMALL = ["data.n_train=64", "data.n_test=32", f"data.fonts={FONTS}"]


def test_generator_is_deterministic_per_seed() -> None:
    a = render_captchas.__wrapped__(12, "noisy", 5, str(FONTS))
    b = render_captchas.__wrapped__(12, "noisy", 5, str(FONTS))
    c = render_captchas.__wrapped__(12, "noisy", 6, str(FONTS))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    images, codes = a
    assert images.shape == (12, 3, 24, 56) and images.dtype == np.uint8
    assert codes.shape == (12, 3) and codes.min() >= 0 and codes.max() <= 9


def test_styles_differ_and_options_are_checked() -> None:
    plain, _ = render_captchas(40, "plain", 0, str(FONTS))
    noisy, _ = render_captchas(40, "noisy", 0, str(FONTS))
    # plain: light flat backgrounds, grey glyphs; noisy: coloured, textured
    assert plain.mean() > noisy.mean() + 30
    colour_spread = lambda x: float(np.abs(x[:, 0].astype(int) - x[:, 2].astype(int)).mean())  # noqa: E731
    assert colour_spread(noisy) > 3 * colour_spread(plain)
    _, codes = render_captchas(5, "plain", 0, str(FONTS), length=4, alphabet="ABC")
    assert codes.shape == (5, 4) and codes.max() <= 2
    with pytest.raises(DataError, match="unknown captcha style"):
        render_captchas(2, "wavy", 0, str(FONTS))
    with pytest.raises(DataError, match="does not exist"):
        render_captchas(2, "plain", 0, str(FONTS / "nope"))


def test_config_builds_a_multi_output_task_and_network() -> None:
    cfg = load_config(CONFIGS / "captcha" / "dann.yaml", SMALL)
    data = build_data(cfg)
    assert data.num_classes == (10, 10, 10) and data.input_shape == (3, 24, 56)
    assert data.sources[0].y is not None and data.sources[0].y.shape == (64, 3)
    method = build_method(cfg, data).eval()
    logits = method.predict(torch.rand(4, 3, 24, 56))
    assert isinstance(logits, tuple) and [t.shape for t in logits] == [(4, 10)] * 3


@pytest.mark.parametrize("name", ["source_only", "dann", "adda"])
def test_captcha_configs_train_and_report_per_character(name: str, tmp_path: Path) -> None:
    run = tmp_path / name
    overrides = [*SMALL, "trainer.steps=4", "trainer.checkpoint_every=2", "trainer.eval_every=0"]
    if name == "adda":
        overrides.append("method.pretrain_steps=2")
    argv = ["train", str(CONFIGS / "captcha" / f"{name}.yaml"), "--run-dir", str(run)]
    assert main([*argv, *[a for o in overrides for a in ("--set", o)]]) == 0
    final = json.loads((run / "final.json").read_text())
    assert len(final["target_per_output_acc"]) == 3
    assert final["target_acc"] <= min(final["target_per_output_acc"]) + 1e-9
    assert "per output" in (run / "report.md").read_text()
    header = (run / "target_test_predictions.csv").read_text().splitlines()[0]
    assert header == "row,label_0,label_1,label_2"
    assert main(["eval", str(run)]) == 0
