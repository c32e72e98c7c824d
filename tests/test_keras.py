"""The Keras 3 port on whichever backend Keras runs (extra ``[keras]``).

The main suite runs this file on the torch backend; ``make test-keras-backends`` (part of
``make test``) runs it once per backend, torch, JAX and TensorFlow, in an environment of its own
(``KERAS_BACKEND`` picks one). Nothing here imports a backend's own library except
:func:`input_gradient`.
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="the [keras] extra is not installed")

import unshift.keras as uk  # noqa: E402
from unshift.nn.schedules import Constant  # noqa: E402

BACKEND = keras.backend.backend()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "keras_dann.py"


def input_gradient(fn, x: np.ndarray) -> np.ndarray:
    """``d fn(x) / dx`` of a scalar ``fn``, by the running backend's own autodiff."""
    if BACKEND == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        (grad,) = torch.autograd.grad(fn(t), t)
        return grad.numpy()
    if BACKEND == "jax":
        import jax

        return np.asarray(jax.grad(fn)(jax.numpy.asarray(x)))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = fn(t)
        return tape.gradient(y, t).numpy()
    pytest.skip(f"no autodiff helper for the {BACKEND} backend")


def test_forward_is_bitwise_identity_and_gradient_is_minus_coeff():
    layer = uk.GradientReversal(0.7)
    rng = np.random.default_rng(0)
    x, upstream = rng.normal(size=(2, 5, 3)).astype("float32")
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    weights = keras.ops.convert_to_tensor(upstream)
    grad = input_gradient(lambda t: keras.ops.sum(layer(t) * weights), x)
    assert np.array_equal(grad, -np.float32(0.7) * upstream)


def _kernel_steps(with_grl: bool) -> tuple[np.ndarray, np.ndarray]:
    """How one compiled SGD step (lr 1) moves the kernels of ``Dense(4) → [GRL] → Dense(1)``."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    h = keras.layers.Dense(4, name="up")(inputs)
    out = keras.layers.Dense(1, name="down")(uk.GradientReversal(1.0)(h) if with_grl else h)
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.SGD(1.0), "mse")
    kernels = [model.get_layer(n).kernel for n in ("up", "down")]
    before = [keras.ops.convert_to_numpy(k).copy() for k in kernels]
    x = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    model.train_on_batch(x, np.ones((8, 1), dtype="float32"))
    up, down = (keras.ops.convert_to_numpy(k) - b for k, b in zip(kernels, before, strict=True))
    return up, down


def test_train_step_negates_the_upstream_update_and_keeps_the_downstream_one():
    up_plain, down_plain = _kernel_steps(with_grl=False)
    up_rev, down_rev = _kernel_steps(with_grl=True)
    assert np.abs(up_plain).min() > 1e-4
    np.testing.assert_allclose(up_rev, -up_plain, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(down_rev, down_plain, rtol=1e-5, atol=1e-7)


def test_negative_coeff_is_rejected():
    with pytest.raises(ValueError, match="positive-coefficient convention"):
        uk.GradientReversal(-0.5)


def _grl_only_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    h = keras.layers.Dense(4, name="up")(inputs)
    out = keras.layers.Dense(2, activation="softmax")(uk.GradientReversal(1.0)(h))
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("coeff, changes", [(0.0, False), (1.0, True)])
def test_scheduled_coefficient_reaches_the_train_step(coeff, changes):
    model = _grl_only_model()
    before = keras.ops.convert_to_numpy(model.get_layer("up").kernel).copy()
    x, y = np.random.default_rng(0).normal(size=(64, 3)), np.arange(64) % 2
    scheduler = uk.CoeffScheduler(Constant(coeff), total_steps=4)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[scheduler])
    after = keras.ops.convert_to_numpy(model.get_layer("up").kernel)
    assert scheduler.last_coeff == coeff and scheduler.step == 4
    assert (not np.array_equal(before, after)) is changes


def test_a_coefficient_changed_mid_epoch_reaches_the_train_step():
    """0 on the first batch, 1 after: the upstream kernel must move (on JAX the train step runs
    on the trainer's copy of the variables, which an assignment reaches only through a sync)."""
    model = _grl_only_model()
    before = keras.ops.convert_to_numpy(model.get_layer("up").kernel).copy()
    x, y = np.random.default_rng(0).normal(size=(64, 3)), np.arange(64) % 2
    scheduler = uk.CoeffScheduler(lambda p: 0.0 if p < 0.25 else 1.0, total_steps=4)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[scheduler])
    assert scheduler.last_coeff == 1.0
    assert not np.array_equal(before, keras.ops.convert_to_numpy(model.get_layer("up").kernel))


def test_dann_schedule_rises_over_training():
    model = _grl_only_model()
    scheduler = uk.CoeffScheduler(total_steps=8)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            # self.model, not the closure's model: on JAX, Keras syncs the variables from the
            # trainer's state only when a callback asks for its model
            seen.append(float(keras.ops.convert_to_numpy(self.model.layers[2].coeff)))

    x, y = np.zeros((64, 3)), np.zeros(64, dtype=int)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[scheduler, Spy()])
    assert seen[0] == 0.0 and seen == sorted(seen) and seen[-1] > 0.99


def test_save_and_load_keeps_the_current_coefficient(tmp_path):
    model = uk.DomainAdversarialModel(
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "relu")]), 2
    ).get_model()
    model.get_layer("gradient_reversal").coeff.assign(0.3)
    path = tmp_path / "dann.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    coeff = float(keras.ops.convert_to_numpy(loaded.get_layer("gradient_reversal").coeff))
    assert coeff == pytest.approx(0.3)
    x = np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("num_domains", [2, 3])
def test_builder_names_and_shapes(num_domains):
    extractor = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(6), keras.layers.Reshape((3, 2))]
    )
    model = uk.DomainAdversarialModel(extractor, 5, num_domains).get_model()
    assert model.output_names == ["label_predict", "domain_predict"]
    labels, domains = model.predict(np.ones((7, 4), dtype="float32"), verbose=0)
    assert labels.shape == (7, 5) and domains.shape == (7, num_domains)
    assert np.allclose(domains.sum(1), 1.0, atol=1e-5)


def test_heads_are_replaceable():
    extractor = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6)])
    model = uk.DomainAdversarialModel(
        extractor,
        3,
        2,
        label_head=keras.layers.Dense(3, activation="sigmoid", name="my_labels"),
        domain_head=keras.Sequential([keras.layers.Dense(5, "relu"), keras.layers.Dense(2)]),
    ).get_model()
    labels, domains = model.predict(np.ones((2, 4), dtype="float32"), verbose=0)
    assert model.get_layer("my_labels").activation is keras.activations.sigmoid
    assert labels.shape == (2, 3) and domains.shape == (2, 2)
    assert model.output_names == ["label_predict", "domain_predict"]


def test_lambda_convention_and_errors():
    extractor = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    assert uk.DomainAdversarialModel(extractor, 2, lambda_=-0.8).coeff == 0.8
    assert uk.DomainAdversarialModel(extractor, 2, coeff=0.5).coeff == 0.5
    with pytest.raises(ValueError, match="must be <= 0"):
        uk.DomainAdversarialModel(extractor, 2, lambda_=0.8)
    with pytest.raises(ValueError, match="not both"):
        uk.DomainAdversarialModel(extractor, 2, coeff=0.8, lambda_=-0.8)
    with pytest.raises(ValueError, match="num_domains must be >= 2"):
        uk.DomainAdversarialModel(extractor, 2, num_domains=1)


def test_fit_arrays_mask_labels_to_sources():
    xs, ys = np.ones((3, 2)), np.array([1, 0, 1])
    x, (y_label, y_domain), (w_label, w_domain) = uk.dann_fit_arrays([(xs, ys)], [np.zeros((2, 2))])
    assert x.shape == (5, 2) and y_domain.tolist() == [0, 0, 0, 1, 1]
    assert y_label.tolist() == [1, 0, 1, 0, 0]
    assert w_label.tolist() == [1, 1, 1, 0, 0] and w_domain.tolist() == [1] * 5
    with pytest.raises(ValueError, match="same sample shape"):
        uk.dann_fit_arrays([(xs, ys)], [np.zeros((2, 3))])


@pytest.mark.slow
def test_keras_dann_beats_source_only_on_moons():
    spec = importlib.util.spec_from_file_location("keras_dann", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    dann, source_only = example.moons(seed=0)
    assert dann > source_only + 0.05, (dann, source_only)
