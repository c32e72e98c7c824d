"""Keras 3 gradient reversal layer and the callback that schedules its coefficient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from unshift.nn.schedules import Schedule, schedule_from_config

_CONVENTION = (
    "unshift uses the positive-coefficient convention: the layer multiplies gradients by "
    "-coeff itself, so pass coeff >= 0 (e.g. coeff=0.8 where other code writes lambda_=-0.8)"
)


@keras.saving.register_keras_serializable(package="unshift")
class GradientReversal(keras.layers.Layer):
    """Identity forward, gradient ``-coeff · dy`` backward (Ganin & Lempitsky 2015).

    Built from ``stop_gradient`` alone, so it behaves the same on the torch, TensorFlow and
    JAX backends, eager or compiled: ``y = sg(x) + (t - sg(t))`` with ``t = -coeff · x`` gives
    ``y = x`` (the bracket is exactly 0) and ``dy/dx = -coeff``. ``coeff >= 0`` lives in a
    non-trainable float32 variable that :class:`CoeffScheduler` can change every batch; it is
    saved with the model.

    Shapes: input ``(*)``, output ``(*)``.
    """

    def __init__(self, coeff: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if coeff < 0:
            raise ValueError(f"coeff must be >= 0; got {coeff}. {_CONVENTION}")
        self.initial_coeff = float(coeff)
        self.coeff = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_coeff),
            trainable=False,
            dtype="float32",
            name="coeff",
        )

    def call(self, x: Any) -> Any:
        t = -ops.cast(self.coeff, x.dtype) * x
        return ops.stop_gradient(x) + (t - ops.stop_gradient(t))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "coeff": float(ops.convert_to_numpy(self.coeff))}

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class CoeffScheduler(keras.callbacks.Callback):
    """Sets every :class:`GradientReversal` coefficient of the model before each batch.

    Parameters
    ----------
    schedule : callable or schedule config
        ``p -> coeff`` with ``p = batch count / total_steps`` clipped to 1, e.g.
        :class:`unshift.nn.schedules.DannLambda` (the default when ``None``).
    total_steps : int
        Batches over the whole of training (epochs × steps per epoch).
    """

    def __init__(
        self,
        schedule: Callable[[float], float] | Schedule | dict | None = None,
        total_steps: int = 1000,
    ) -> None:
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1; got {total_steps}")
        if schedule is None or isinstance(schedule, dict):
            schedule = schedule_from_config(schedule or {"name": "dann_lambda"})
        self.schedule = schedule
        self.total_steps = total_steps
        self.step = 0
        self.last_coeff: float | None = None

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        p = min(self.step / self.total_steps, 1.0)
        self.last_coeff = float(self.schedule(p))
        if self.last_coeff < 0:
            raise ValueError(f"the schedule gave coeff {self.last_coeff} < 0. {_CONVENTION}")
        for layer in self.model._flatten_layers():
            if isinstance(layer, GradientReversal):
                layer.coeff.assign(self.last_coeff)
        self.step += 1
