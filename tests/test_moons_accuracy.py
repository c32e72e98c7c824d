"""DANN, CDAN+E and MCD against source-only on rotated two moons at 35°, seeds 0-2, the demo's
configs (CDAN's: DANN's with the conditional discriminator; MCD's: DANN's network and
optimiser with two linear classifiers).

The learning rate (0.3) and length, then the activation (tanh), were chosen without target
labels on seeds 100-102 (benchmarks/results/moons_rechoice.md, moons_selection_im.md), never on
these seeds; target labels pick nothing here (last iterate, fixed step count). Measured on seeds
0-2: DANN 0.921, CDAN+E 0.923, MCD 0.845, MCC 0.771, source-only 0.681 (with the earlier lr
0.1 and ReLU, chosen by target accuracy and by BNM: 0.938, 0.914, 0.806, 0.734, 0.676). The
"seeds 100-102" figures below are of that earlier network and rate.
"""

import statistics
from multiprocessing import get_context

import pytest
import torch

from unshift.runs.run import run
from unshift.training.config import load_config

from .conftest import CONFIGS

pytestmark = pytest.mark.slow  # an accuracy check: `make test` runs it, `make test-fast` skips it


def target_accuracy(config: str, seed: int) -> float:
    cfg = load_config(CONFIGS / "moons" / config, [f"seed={seed}", "trainer.progress_bar=false"])
    return run(cfg).final["target_acc"]


def _one_thread() -> None:
    torch.set_num_threads(1)  # small MLPs: one thread is faster than two


METHODS = ("source_only", "dann", "cdan", "mcd", "mcc")


@pytest.fixture(scope="module")
def accuracies():
    # Two worker processes of one thread each: the 12 runs take half the wall time on 2 cores.
    jobs = [(f"{name}.yaml", seed) for name in METHODS for seed in range(3)]
    with get_context("spawn").Pool(2, initializer=_one_thread) as pool:
        results = pool.starmap(target_accuracy, jobs)
    return {name: results[3 * i : 3 * i + 3] for i, name in enumerate(METHODS)}


def test_dann_reaches_090_on_average(accuracies):
    assert statistics.mean(accuracies["dann"]) >= 0.90, accuracies


def test_dann_beats_source_only_by_010(accuracies):
    gain = statistics.mean(accuracies["dann"]) - statistics.mean(accuracies["source_only"])
    assert gain >= 0.10, accuracies


def test_cdan_beats_source_only_by_010(accuracies):
    # Measured on seeds 100-102 before these: 0.910, 0.964, 0.920.
    gain = statistics.mean(accuracies["cdan"]) - statistics.mean(accuracies["source_only"])
    assert gain >= 0.10, accuracies


def test_mcd_beats_source_only_by_010(accuracies):
    # Measured on seeds 100-102 before these: 0.799, 0.751, 0.700 (source-only 0.588, 0.656,
    # 0.661).
    gain = statistics.mean(accuracies["mcd"]) - statistics.mean(accuracies["source_only"])
    assert gain >= 0.10, accuracies


def test_mcc_beats_source_only_by_002(accuracies):
    # Measured on seeds 100-102 before these: MCC 0.678, 0.677, 0.734; source-only 0.627,
    # 0.680, 0.681 (+0.033 on average). MDD and Deep CORAL trailed source-only there (0.629 and
    # 0.646 on average): no claim for them on moons yet (#31).
    gain = statistics.mean(accuracies["mcc"]) - statistics.mean(accuracies["source_only"])
    assert gain >= 0.02, accuracies
