"""A trained run's inference model as a file for serving: ONNX, TorchScript or ``torch.export``.

What is exported is what ``unshift predict`` computes: the input preparation the run recorded
(``log1p``, standardisation by the source training statistics) and the network that predicts
(features → label head; a method's own ``classify``, e.g. MCD's mean of two heads). Nothing
used only in training goes in: no gradient reversal, no discriminator. Input ``x``: float32
``(N, *input_shape)`` (images: pixels in ``[0, 1]``; the network standardises them itself),
any ``N``; output ``logits`` ``(N, C)`` (several label outputs: ``logits_0``, ``logits_1``, ...);
class ``k`` is the run's label ``classes[k]`` where ``task.json`` has them.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from unshift.core.errors import ConfigError, DataError
from unshift.core.files import atomic_write
from unshift.methods import Method

FORMATS = {"onnx": ".onnx", "torchscript": ".pt", "export": ".pt2"}
"""Export format → the file suffix it gets by default."""


class Inference(nn.Module):
    """``method.predict`` after the run's input transform ``transform`` (``task.json``'s
    ``input_transform``: ``log1p``, ``mean``, ``std``)."""

    def __init__(self, method: Method, transform: dict[str, Any]) -> None:
        super().__init__()
        self.method = method
        self.log1p = bool(transform.get("log1p"))
        standardise = "mean" in transform
        self.register_buffer("mean", torch.tensor(transform["mean"]) if standardise else None)
        self.register_buffer("std", torch.tensor(transform["std"]) if standardise else None)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, ...]:
        if self.log1p:
            x = torch.log1p(x)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return self.method.predict(x)


def output_names(module: Inference, example: Tensor) -> list[str]:
    """``["logits"]``, or ``logits_<i>`` per output of a multi-output run."""
    with torch.no_grad():
        out = module(example)
    return [f"logits_{i}" for i in range(len(out))] if isinstance(out, tuple) else ["logits"]


def export_inference(
    method: Method, info: dict[str, Any], out: str | Path, fmt: str = "onnx"
) -> Path:
    """Write the inference model of a trained ``method`` (its run's ``task.json`` ``info``) to
    ``out`` in format ``fmt`` (:data:`FORMATS`); the file appears whole or not at all."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; known: {sorted(FORMATS)}")
    module = Inference(method, info.get("input_transform", {})).eval()
    example = torch.rand(2, *info["input_shape"])
    names = output_names(module, example)
    out = Path(out)
    atomic_write(out, lambda tmp: _write(module, example, names, tmp, fmt))
    return out


def _write(module: Inference, example: Tensor, names: list[str], path: Path, fmt: str) -> None:
    batch = torch.export.Dim("batch", min=1)
    if fmt == "export":
        program = torch.export.export(module, (example,), dynamic_shapes={"x": {0: batch}})
        buffer = io.BytesIO()  # torch.export.save wants a name ending in .pt2, not a temp name
        torch.export.save(program, buffer)
        path.write_bytes(buffer.getvalue())
    elif fmt == "torchscript":
        with warnings.catch_warnings():  # torch.jit is deprecated and says so; still asked for
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.trace(module, example).save(str(path))
    else:
        try:
            import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
        except ImportError:
            raise DataError(
                "exporting to ONNX needs onnx and onnxscript: pip install 'unshift[export]'"
            ) from None
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=["x"],
            output_names=names,
            dynamic_shapes={"x": {0: batch}},
            dynamo=True,
            external_data=False,
            verbose=False,
        )
