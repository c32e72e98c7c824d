"""Gradient reversal layer (GRL), Ganin & Lempitsky (2015).

Forward is the identity; backward multiplies the incoming gradient by ``-coeff``:

    y = x,        dL/dx = -coeff · dL/dy

Convention: ``coeff`` (λ) is **non-negative** and the minus sign is built into the layer.
Code written for layers that take a negative multiplier (``hp_lambda=-0.8``) must pass
``coeff=0.8`` here. A negative ``coeff`` is rejected so that a sign is never applied twice.

The output is an alias of the input: the same storage, shape, dtype, device, strides and
memory format, no copy. It is not an autograd *view* (whose in-place modification autograd
cannot rebase through a custom function), so an in-place op right after the layer works.
Only parameters *upstream* of the layer see reversed gradients; parameters downstream of it
(e.g. a domain discriminator) see ordinary ones.

Transforms: works under ``torch.func.grad``/``vmap``, autocast, DDP and ``torch.compile``
(a coefficient passed as a 0-dim tensor, as :class:`GradientReversal` does, never
recompiles). ``torch.export`` refuses a graph holding the layer: an exported graph keeps the
forward pass only, so the reversal would be silently lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

Coeff = float | Tensor
CoeffOrSchedule = float | Tensor | Callable[[float], float]

_CONVENTION = (
    "unshift uses the positive-coefficient convention: the layer multiplies gradients by "
    "-coeff itself, so pass coeff >= 0 (e.g. coeff=0.8 where other code writes lambda=-0.8)"
)


def _check_coeff(coeff: Coeff) -> None:
    """Type, shape and sign of ``coeff``; a tensor's sign is read only on the CPU and outside
    compilation (reading a CUDA tensor's value would wait for the device)."""
    if isinstance(coeff, Tensor):
        if coeff.ndim != 0:
            raise ValueError(
                f"coeff must be a float or a 0-dim tensor; got shape {tuple(coeff.shape)}"
            )
        if not coeff.is_floating_point():
            raise ValueError(f"coeff must be a floating-point tensor; got dtype {coeff.dtype}")
        on_host = coeff.device.type == "cpu" and not torch.compiler.is_compiling()
        if on_host and bool(coeff < 0):
            raise ValueError(f"coeff must be >= 0; got {coeff.item()}. {_CONVENTION}")
    elif isinstance(coeff, (int, float)) and not isinstance(coeff, bool):
        if coeff < 0:
            raise ValueError(f"coeff must be >= 0; got {coeff}. {_CONVENTION}")
    else:
        raise TypeError(f"coeff must be a float or a 0-dim tensor; got {type(coeff).__name__}")


class GradientReverseFunction(torch.autograd.Function):
    """Autograd function behind the GRL: ``GradientReverseFunction.apply(x, coeff)``.

    Parameters
    ----------
    x : Tensor
        Any shape ``(*)``; returned as an alias (same storage).
    coeff : float or 0-dim Tensor
        λ >= 0. The gradient to ``x`` is ``-coeff · grad_output``; ``coeff`` gets no gradient.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor, coeff: Coeff) -> Tensor:  # type: ignore[override]
        if torch.compiler.is_exporting():
            raise RuntimeError(
                "torch.export keeps the forward pass only, so it would drop the gradient "
                "reversal silently; export the model without the GRL (e.g. the feature "
                "extractor and label head), or train it with torch.compile instead"
            )
        _check_coeff(coeff)
        return x.detach()

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor, Coeff], output: Tensor) -> None:
        coeff = inputs[1]
        ctx.coeff = coeff.detach() if isinstance(coeff, Tensor) else float(coeff)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        coeff = ctx.coeff
        if isinstance(coeff, Tensor):
            coeff = coeff.to(device=grad_output.device, dtype=grad_output.dtype)
        return grad_output * -coeff, None


def grad_reverse(x: Tensor, coeff: Coeff = 1.0) -> Tensor:
    """Identity in the forward pass, gradient times ``-coeff`` in the backward pass.

    ``x`` may have any shape; the result shares its storage. ``coeff`` (λ >= 0) is a float or
    a 0-dim tensor and may change from call to call (schedules). ``coeff=0`` passes a zero
    gradient while keeping the graph connected.

    Example
    -------
    >>> x = torch.ones(3, requires_grad=True)
    >>> grad_reverse(x, 0.5).sum().backward()
    >>> x.grad
    tensor([-0.5000, -0.5000, -0.5000])
    """
    return GradientReverseFunction.apply(x, coeff)


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse`.

    Parameters
    ----------
    coeff : float, 0-dim Tensor, or schedule
        λ >= 0, or a callable ``p -> λ`` (see :mod:`unshift.nn.schedules`) evaluated at
        ``self.progress``, the training progress in ``[0, 1]`` that its owner sets. A float or a
        schedule's value is held in a 0-dim buffer that moves with the module and is updated in
        place, so a compiled model sees a tensor input, not a new constant every step; a tensor
        given here is used as it is (change it in place to change λ).

    Shapes: input ``(*)``, output ``(*)``, sharing the input's storage.
    """

    def __init__(self, coeff: CoeffOrSchedule = 1.0) -> None:
        super().__init__()
        self._progress = 0.0
        self.register_buffer("_held", torch.tensor(0.0), persistent=False)
        self.coeff = coeff

    @property
    def coeff(self) -> CoeffOrSchedule:
        """What λ is: a float, a 0-dim tensor or a schedule (settable)."""
        return self._coeff

    @coeff.setter
    def coeff(self, coeff: CoeffOrSchedule) -> None:
        self.schedule = coeff if callable(coeff) else None
        if self.schedule is None:
            _check_coeff(coeff)  # type: ignore[arg-type]
        self._coeff = coeff
        self._given = coeff if isinstance(coeff, Tensor) else None
        self._value: float | None = None
        if self._given is None:
            self._value = float(self.schedule(self._progress) if self.schedule else coeff)  # type: ignore[arg-type]
            self._held.fill_(self._value)

    @property
    def progress(self) -> float:
        """Training progress ``p ∈ [0, 1]`` at which a schedule is evaluated."""
        return self._progress

    @progress.setter
    def progress(self, p: float) -> None:
        self._progress = float(p)
        if self.schedule is not None:
            self._value = float(self.schedule(self._progress))
            self._held.fill_(self._value)

    def current_coeff(self) -> Coeff:
        """The λ the next forward pass uses: a float, or the tensor given as ``coeff``."""
        return self._given if self._value is None else self._value  # type: ignore[return-value]

    def coeff_tensor(self) -> Tensor:
        """The λ the next forward pass uses, as the 0-dim tensor it passes (no host sync)."""
        return self._held if self._given is None else self._given

    def forward(self, x: Tensor) -> Tensor:
        return GradientReverseFunction.apply(x, self.coeff_tensor())

    def extra_repr(self) -> str:
        return f"coeff={self.coeff!r}"
