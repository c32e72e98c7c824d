"""Keras 3 DANN with plain ``model.fit``: rotated two moons, and a three-domain toy.

Builds ``DomainAdversarialModel(...).get_model()``, trains it with ``dann_fit_arrays`` (label
loss masked to source samples) and ``CoeffScheduler`` (λ from the DANN schedule), and prints
target accuracy beside a source-only Keras model with the same feature extractor.

Run: ``python examples/keras_dann.py`` (torch backend unless ``KERAS_BACKEND`` says otherwise).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is first imported

import keras
import numpy as np

import unshift.keras as uk
from unshift.data import rotated_moons


def features(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(64, "tanh"), keras.layers.Dense(64, "tanh")]
    )


def train(sources, targets, test, num_domains: int, seed: int, epochs: int) -> tuple[float, float]:
    """Target test accuracy of (DANN, source-only)."""
    x_test, y_test = test
    x, y, w = uk.dann_fit_arrays(sources, targets)
    batch = 64 * num_domains
    steps = epochs * int(np.ceil(len(x) / batch))
    model = uk.DomainAdversarialModel(features(seed), 2, num_domains).get_model()
    model.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
        loss=["sparse_categorical_crossentropy", "sparse_categorical_crossentropy"],
    )
    model.fit(x, y, sample_weight=w, batch_size=batch, epochs=epochs, verbose=0,
              callbacks=[uk.CoeffScheduler(total_steps=steps)])  # fmt: skip
    dann = float(np.mean(model.predict(x_test, verbose=0)[0].argmax(1) == y_test))

    source_only = keras.Sequential([features(seed), keras.layers.Dense(2, activation="softmax")])
    source_only.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    xs = np.concatenate([a for a, _ in sources])
    ys = np.concatenate([b for _, b in sources])
    source_only.fit(xs, ys, batch_size=64, epochs=epochs * num_domains, verbose=0)
    so = float(np.mean(source_only.predict(x_test, verbose=0).argmax(1) == y_test))
    return dann, so


def moons(seed: int = 0, epochs: int = 60) -> tuple[float, float]:
    data = rotated_moons(seed=seed)
    src, tgt, test = data.sources[0], data.targets[0], data.target_test
    return train([(src.x.numpy(), src.y.numpy())], [tgt.x.numpy()],
                 (test.x.numpy(), test.y.numpy()), 2, seed, epochs)  # fmt: skip


def three_domains(seed: int = 0, epochs: int = 60) -> tuple[float, float]:
    """Two sources (moons rotated 0° and 20°) and one target (rotated 40°)."""
    a, b = rotated_moons(angle=20.0, seed=seed), rotated_moons(angle=40.0, seed=seed + 1)
    sources = [(a.sources[0].x.numpy(), a.sources[0].y.numpy()),
               (a.targets[0].x.numpy(), a.targets[0].y.numpy())]  # fmt: skip
    test = (b.target_test.x.numpy(), b.target_test.y.numpy())
    return train(sources, [b.targets[0].x.numpy()], test, 3, seed, epochs)


def main() -> None:
    print(f"Keras backend: {keras.backend.backend()}")
    for name, run in (("rotated moons 35°", moons), ("3 domains (0°, 20° → 40°)", three_domains)):
        dann, so = run()
        print(f"{name}: target accuracy DANN {dann:.3f}, source-only {so:.3f}")


if __name__ == "__main__":
    main()
