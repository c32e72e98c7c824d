"""A short seeded DANN run on a small MNIST → MNIST-M subset beats source-only, with the paper's
recipe and with the recommended one.

Needs MNIST and the photographs from ``../shared/data`` (``UNSHIFT_SHARED_DATA`` overrides);
skipped, saying so, when they are absent. MNIST-M is blended here for the subset only (the
full generator takes ~20 s): target training digits are other MNIST training digits than the
source's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unshift.data import Domain, TaskData
from unshift.data.images import load_mnist, match_images
from unshift.data.mnist_m import blend, load_photos
from unshift.training.build import build_method, build_trainer
from unshift.training.config import load_config

from .conftest import CONFIGS, SHARED_DATA

pytestmark = [
    pytest.mark.slow,  # an accuracy check: `make test` runs it, `make test-fast` skips it
    pytest.mark.skipif(
        not (SHARED_DATA / "mnist").is_dir() or not (SHARED_DATA / "photos").is_dir(),
        reason=f"MNIST and photos not found under {SHARED_DATA} (set UNSHIFT_SHARED_DATA)",
    ),
]
N_TRAIN, N_TEST, STEPS = 6000, 2000, 600


def _small_task() -> TaskData:
    photos = [p for _, p in load_photos(SHARED_DATA / "photos")]
    train, test = (
        load_mnist(SHARED_DATA / "mnist", "train"),
        load_mnist(SHARED_DATA / "mnist", "test"),
    )

    def coloured(domain: Domain, lo: int, hi: int, seed: int) -> Domain:
        digits = domain.x[lo:hi, 0].numpy()
        x = blend(digits, photos, np.random.default_rng(seed))
        return Domain(torch.from_numpy(x), domain.y[lo:hi], "mnist_m")  # type: ignore[index]

    def grey(domain: Domain, n: int) -> Domain:
        return match_images(Domain(domain.x[:n], domain.y[:n], "mnist"), 3, 28)  # type: ignore[index]

    return TaskData(
        [grey(train, N_TRAIN)],
        [coloured(train, N_TRAIN, 2 * N_TRAIN, seed=1)],
        num_classes=10,
        source_test=grey(test, N_TEST),
        target_test=coloured(test, 0, N_TEST, seed=2),
    )


# The paper recipe and the recommended one (<task>_{dann,source_only}_plus.yaml), each against
# its own source-only twin.
@pytest.mark.parametrize("recipe", ["", "_plus"], ids=["paper", "recommended"])
def test_dann_beats_source_only_on_small_mnist_m(recipe: str) -> None:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    data = _small_task()
    acc = {}
    for name in ("source_only", "dann"):
        cfg = load_config(
            CONFIGS / "digits" / f"mnist_mnistm_{name}{recipe}.yaml",
            [f"trainer.steps={STEPS}", "trainer.progress_bar=false", "trainer.eval_every=0",
             "trainer.checkpoint_every=0", "data.root=unused"],
        )  # fmt: skip
        final = build_trainer(cfg, None).fit(build_method(cfg, data), data)
        acc[name] = final["target_acc"]
        assert final["source_acc"] > 0.9, (name, final["source_acc"])
    print(acc)
    assert acc["dann"] > acc["source_only"] + 0.05, acc
