"""Gradient reversal layer (GRL), Ganin & Lempitsky (2015).

Forward is the identity; backward multiplies the incoming gradient by ``-coeff``:

    y = x,        dL/dx = -coeff · dL/dy

Convention: ``coeff`` (λ) is **non-negative** and the minus sign is built into the layer.
Code written for layers that take a negative multiplier (``hp_lambda=-0.8``) must pass
``coeff=0.8`` here. A negative ``coeff`` is rejected so that a sign is never applied twice.

The forward pass returns a view of its input: no copy and no new storage, whatever the
shape, dtype, device or memory format. Only parameters *upstream* of the layer see reversed
gradients; parameters downstream of it (e.g. a domain discriminator) see ordinary ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

Coeff = float | Tensor
CoeffOrSchedule = float | Tensor | Callable[[float], float]

_CONVENTION = (
    "unshift uses the positive-coefficient convention: the layer multiplies gradients by "
    "-coeff itself, so pass coeff >= 0 (e.g. coeff=0.8 where other code writes lambda=-0.8)"
)


def _check_coeff(coeff: Coeff) -> None:
    if isinstance(coeff, Tensor):
        if coeff.ndim != 0:
            raise ValueError(
                f"coeff must be a float or a 0-dim tensor; got shape {tuple(coeff.shape)}"
            )
        if not coeff.is_floating_point():
            raise ValueError(f"coeff must be a floating-point tensor; got dtype {coeff.dtype}")
        # Reading a tensor's value inside a compiled graph would force a graph break.
        if not torch.compiler.is_compiling() and bool(coeff < 0):
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
        Any shape ``(*)``; returned as a view (same storage).
    coeff : float or 0-dim Tensor
        λ >= 0. The gradient to ``x`` is ``-coeff · grad_output``; ``coeff`` gets no gradient.
    """

    @staticmethod
    def forward(ctx, x: Tensor, coeff: Coeff) -> Tensor:  # type: ignore[override]
        _check_coeff(coeff)
        ctx.coeff = coeff.detach() if isinstance(coeff, Tensor) else float(coeff)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        coeff = ctx.coeff
        if isinstance(coeff, Tensor):
            coeff = coeff.to(device=grad_output.device, dtype=grad_output.dtype)
        return grad_output * -coeff, None


def grad_reverse(x: Tensor, coeff: Coeff = 1.0) -> Tensor:
    """Identity in the forward pass, gradient times ``-coeff`` in the backward pass.

    ``x`` may have any shape; the result is a view of ``x``. ``coeff`` (λ >= 0) is a float or
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
        λ >= 0, or a callable ``p -> λ`` (see :mod:`unshift.schedules`) evaluated at
        ``self.progress``, the training progress in ``[0, 1]`` that the trainer sets.

    Shapes: input ``(*)``, output ``(*)``, a view of the input.
    """

    def __init__(self, coeff: CoeffOrSchedule = 1.0) -> None:
        super().__init__()
        if not callable(coeff):
            _check_coeff(coeff)
        self.coeff = coeff
        self.progress = 0.0

    def current_coeff(self) -> Coeff:
        """The λ the next forward pass uses (a schedule is evaluated at ``self.progress``)."""
        if callable(self.coeff):
            return float(self.coeff(self.progress))
        return self.coeff

    def forward(self, x: Tensor) -> Tensor:
        return GradientReverseFunction.apply(x, self.current_coeff())

    def extra_repr(self) -> str:
        return f"coeff={self.coeff!r}"
