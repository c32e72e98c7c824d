"""Rotated two moons, the DANN paper's toy task (Ganin et al. 2016, §5.1).

Source: two interleaving half circles (scikit-learn's ``make_moons``), labels 0/1. Target: the
same distribution rotated by ``angle`` degrees about the centre of the source data. Generated,
seeded; nothing is downloaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import make_moons

from unshift.core.errors import DataError
from unshift.core.registry import DATASETS, require
from unshift.data.domains import DatasetConfig, Domain, TaskData, standardize


def rotate(points: np.ndarray, angle: float, centre: np.ndarray) -> np.ndarray:
    """Rotate ``(N, 2)`` points by ``angle`` degrees (counter-clockwise) about ``centre``."""
    theta = math.radians(angle)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return (points - centre) @ rot.T + centre


def rotated_moons(
    angle: float = 35.0,
    n_train: int = 300,
    n_test: int = 1000,
    noise: float = 0.1,
    seed: int = 0,
) -> TaskData:
    """The rotated two-moons task.

    Parameters
    ----------
    angle : float
        Rotation of the target domain, in degrees.
    n_train, n_test : int
        Samples per domain in the training and test sets.
    noise : float
        Standard deviation of the Gaussian noise added to the moons.
    seed : int
        Seeds all four samples (source/target × train/test).

    Returns a :class:`TaskData` with float32 inputs ``(N, 2)`` and labels ``(N,)``; the target
    training labels are kept for the train-on-target bound only.
    """
    if n_train < 1 or n_test < 1:
        raise DataError(f"n_train and n_test must be >= 1; got {n_train} and {n_test}")
    if noise < 0:
        raise DataError(f"noise must be >= 0; got {noise}")
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, size=4)
    xs, ys = make_moons(n_train, noise=noise, random_state=int(seeds[0]))
    centre = xs.mean(axis=0)
    xt, yt = make_moons(n_train, noise=noise, random_state=int(seeds[1]))
    xs_test, ys_test = make_moons(n_test, noise=noise, random_state=int(seeds[2]))
    xt_test, yt_test = make_moons(n_test, noise=noise, random_state=int(seeds[3]))

    def domain(x: np.ndarray, y: np.ndarray, name: str, turn: bool) -> Domain:
        if turn:
            x = rotate(x, angle, centre)
        return Domain(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y), name)

    return TaskData(
        sources=[domain(xs, ys, "moons", False)],
        targets=[domain(xt, yt, f"moons rotated {angle:g}°", True)],
        num_classes=2,
        source_test=domain(xs_test, ys_test, "moons", False),
        target_test=domain(xt_test, yt_test, f"moons rotated {angle:g}°", True),
        meta={"task": "rotated_moons", "angle": angle},
    )


@dataclass
class MoonsConfig(DatasetConfig):
    """``data: {name: moons}``: rotated two moons, ``angle`` in degrees, ``n_train``/``n_test``
    samples per domain, Gaussian ``noise``; ``standardize`` scales by the source training mean
    and deviation. Drawn from the run's seed."""

    angle: float = 35.0
    n_train: int = 300
    n_test: int = 1000
    noise: float = 0.1
    standardize: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.n_train >= 1, "n_train", f"must be >= 1; got {self.n_train}")
        require(self.n_test >= 1, "n_test", f"must be >= 1; got {self.n_test}")
        require(self.noise >= 0, "noise", f"must be >= 0; got {self.noise}")


@DATASETS.register("moons", MoonsConfig)
def moons_task(cfg: MoonsConfig, seed: int) -> TaskData:
    """:func:`rotated_moons` as the config says, drawn from ``seed``."""
    data = rotated_moons(cfg.angle, cfg.n_train, cfg.n_test, cfg.noise, seed=seed)
    return standardize(data) if cfg.standardize else data
