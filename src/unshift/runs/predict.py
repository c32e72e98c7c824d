"""A trained run as a model for new data: :func:`load_model` (Python) and ``unshift predict``.

Nothing of the training data is read: the networks are sized from the run's ``task.json``,
which also records how the run's inputs were transformed (``log1p``, standardisation by the
source training statistics) and the data's own label values (svmlight's ``-1``/``+1``), so
that new inputs are read the same way and predictions come back in those labels.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from unshift.core.errors import DataError, RunDirError
from unshift.core.files import RunDir
from unshift.data.domains import Domain, TaskData
from unshift.data.image_files import ImageFiles, image_extensions, images_below
from unshift.data.image_transforms import transforms
from unshift.data.images import match_images
from unshift.data.streamed import StreamedDomain, default_workers
from unshift.data.tabular import load_features
from unshift.eval.predictions import Table, predicted_logits, prediction_table, write_table
from unshift.methods import Method
from unshift.training.build import build_method, load_weights
from unshift.training.config import RunConfig, load_config


@dataclass
class Model:
    """A trained method with what its run knows about inputs and labels.

    ``info`` is the run's ``task.json``: ``input_shape``, ``num_classes``, and where the task
    has them ``input_transform`` and ``classes``.
    """

    cfg: RunConfig
    method: Method
    info: dict[str, Any]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.info["input_shape"])

    @property
    def classes(self) -> list | None:
        """The data's own label values (class index ``k`` is ``classes[k]``), if not ``0..C-1``."""
        return self.info.get("classes")

    def inputs(self, x: Any) -> Tensor:
        """Inputs ``(N, *input_shape)`` (a tensor of any float dtype, ``uint8`` pixels, a NumPy
        array, a list of rows or a pandas frame) as a dense tensor; a shape mismatch is a
        :class:`DataError`."""
        x = as_inputs(x)
        if tuple(x.shape[1:]) != self.input_shape:
            raise DataError(
                f"the run was trained on samples of shape {self.input_shape}; these have shape "
                f"{tuple(x.shape[1:])}"
            )
        return x.to_dense() if x.is_sparse else x

    def prepare(self, x: Any) -> Tensor:
        """:meth:`inputs` as the run's training saw them (float32, ``log1p`` and standardisation
        applied where the run did); a row holding NaN or an infinity is a :class:`DataError`."""
        x = self.inputs(x)
        if bad := non_finite_rows(x):
            rows = ", ".join(map(str, bad[:10])) + (", …" if len(bad) > 10 else "")
            raise DataError(
                f"{len(bad)} of {len(x)} input rows hold NaN or infinite values (rows {rows}, "
                "counted from 0); their predictions would mean nothing: drop or fill them, or "
                "write them as missing predictions (--non-finite missing; Python: "
                "non_finite='missing')"
            )
        transform = self.info.get("input_transform", {})
        if transform.get("log1p"):
            x = torch.log1p(x)
        if "mean" in transform:
            x = (x - torch.tensor(transform["mean"])) / torch.tensor(transform["std"])
        return x

    def table(self, x: Any, ids: list | None = None, non_finite: str = "refuse") -> Table:
        """:func:`~unshift.eval.predictions.prediction_table` of inputs ``x`` (prepared here),
        or of a streamed domain of images (:func:`read_inputs`). Rows holding NaN or an
        infinity are refused (``non_finite="refuse"``) or kept as rows whose label and
        probabilities are missing (``"missing"``: empty CSV cells, Parquet nulls, ``None``)."""
        if isinstance(x, StreamedDomain):
            return prediction_table(self.method.predict, x, self.classes, ids)
        if non_finite not in NON_FINITE:
            raise ValueError(f"non_finite must be one of {NON_FINITE}; got {non_finite!r}")
        x = self.inputs(x)
        ids = list(range(len(x))) if ids is None else ids
        bad = set(non_finite_rows(x)) if non_finite == "missing" else set()
        if len(bad) == len(x) > 0:
            raise DataError(
                f"all {len(x)} input rows hold NaN or infinite values: nothing to predict"
            )
        kept = [i for i in range(len(x)) if i not in bad]
        header, rows = prediction_table(
            self.method.predict, self.prepare(x[kept]), self.classes, [ids[i] for i in kept]
        )
        predicted = iter(rows)
        blank = [None] * (len(header) - 1)
        return header, [[ids[i], *blank] if i in bad else next(predicted) for i in range(len(x))]

    def predict_proba(self, x: Tensor) -> Tensor:
        """Class probabilities ``(N, C)`` for inputs ``x`` (single-output runs)."""
        logits = predicted_logits(self.method.predict, self.prepare(x))
        if isinstance(logits, tuple):
            raise DataError("predict_proba is for single-output runs; use table() for several")
        return torch.softmax(logits.float(), dim=1)

    def predict(self, x: Any, non_finite: str = "refuse") -> list:
        """Predicted labels, in the data's own label values, for inputs ``x``; with
        ``non_finite="missing"`` a row holding NaN or an infinity gets ``None``."""
        header, rows = self.table(x, non_finite=non_finite)
        return [r[1] for r in rows] if "label" in header else [r[1:] for r in rows]

    def export(self, out: str | os.PathLike, format: str = "onnx") -> Path:
        """Write the inference model (input preparation + network, no training-only part) to
        ``out`` as ``onnx``, ``torchscript`` or ``export`` (``torch.export``):
        :func:`unshift.runs.export.export_inference`."""
        from unshift.runs.export import export_inference

        return export_inference(self.method, self.info, out, format)


NON_FINITE = ("refuse", "missing")
"""What :meth:`Model.table` does with input rows holding NaN or an infinity."""


def non_finite_rows(x: Tensor) -> list[int]:
    """Indices of the rows of ``x`` ``(N, *)`` that hold NaN or an infinity."""
    return [i for i, ok in enumerate(torch.isfinite(x).flatten(1).all(1).tolist()) if not ok]


def as_inputs(x: Any) -> Tensor:
    """Model inputs as a tensor: ``uint8`` pixels and sparse tensors as they are; any other
    tensor, NumPy array, list of rows or pandas frame as float32."""
    if isinstance(x, Tensor):
        return x if x.is_sparse or x.dtype in (torch.uint8, torch.float32) else x.float()
    if hasattr(x, "to_numpy"):  # a pandas frame or series
        x = x.to_numpy()
    if isinstance(x, np.ndarray) and x.dtype == np.uint8:
        return torch.from_numpy(x)
    try:
        return torch.from_numpy(np.asarray(x, dtype=np.float32))
    except (TypeError, ValueError) as err:
        raise DataError(f"inputs must be numbers, one row per sample ({err})") from None


def load_model(run_dir: str | os.PathLike, step: int | None = None) -> Model:
    """The trained model of ``run_dir`` (its last checkpoint, or the snapshot of ``step``), on
    CPU in eval mode, without reading any data."""
    run = RunDir(run_dir).require(checkpoint=step is None)
    if not run.task.exists():
        raise RunDirError(f"{run.path} has no task.json (written before it existed); retrain it")
    cfg, info = load_config(run.config), json.loads(run.task.read_text())
    method = build_method(cfg, TaskData.placeholder(info))
    load_weights(run, method, step)
    return Model(cfg, method, info)


def image_domain(files: list[Path], ids: list[str], model: Model) -> StreamedDomain:
    """``files`` as a streamed domain read the way ``model``'s run read its evaluation images:
    converted to its channels, and resized (and centre-cropped) to its size."""
    channels, height, width = model.input_shape
    data = model.cfg.data
    if data.name == "image_folder":
        transform = transforms(data.image_size, data.resize, [], train=False)
        workers = default_workers() if data.num_workers is None else data.num_workers
    else:
        from torchvision.transforms import v2

        transform, workers = v2.Resize((height, width), antialias=True), default_workers()
    return StreamedDomain(
        ImageFiles(files, channels, transform),
        None,
        model.input_shape,
        name="images",
        num_workers=min(workers, max(0, len(files) // 64)),
        names=ids,
    )


def read_inputs(path: str | os.PathLike, model: Model) -> tuple[Tensor | StreamedDomain, list]:
    """New inputs for ``model`` from ``path`` and their row ids: for an image run, a directory
    (every image below it, in any format Pillow reads; ids: paths relative to ``path``),
    streamed by workers, one image file, or an ``.npz`` of ``x`` ``(N, C, H, W)``; otherwise a
    feature file of the run's width in any format ``unshift`` trains on (its labels, if any, are
    ignored). Images are matched to the run's channels and size."""
    path = Path(path)
    shape = model.input_shape
    if len(shape) != 3:
        domain = load_features(path, labelled=False, n_features=shape[0])
        return domain.x, list(range(len(domain)))
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_dir():
        files, others = images_below(path, image_extensions())
        if not files:
            raise DataError(f"{path} holds no images (in any format Pillow reads)")
        if others:
            warnings.warn(f"{path}: ignored {len(others)} files that are not images", stacklevel=2)
        ids = [str(f.relative_to(path)) for f in files]
        return image_domain(files, ids, model), ids
    if path.suffix.lower() in image_extensions():
        return image_domain([path], [path.name], model), [path.name]
    if path.suffix != ".npz":
        raise DataError(f"{path}: give a directory of images, an image file or an .npz of images")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            key = next((k for k in ("x", "X") if k in arrays.files), None)
            if key is None:
                raise DataError(f"{path} has no array 'x' (found {arrays.files})")
            x = torch.as_tensor(arrays[key])
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is not a readable .npz archive ({err})") from None
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4:
        raise DataError(f"{path}: 'x' must hold images (N, C, H, W); got {tuple(x.shape)}")
    if x.dtype != torch.uint8:
        x = (x.float().clamp(0, 1) * 255).round().to(torch.uint8)
    if shape[0] not in (1, 3) or x.shape[1] not in (1, 3):
        raise DataError(f"cannot map images of {x.shape[1]} channels to the run's {shape[0]}")
    return match_images(Domain(x), shape[0], shape[1]).x, list(range(len(x)))


def predict_file(
    run_dir: str | os.PathLike,
    data: str | os.PathLike,
    out: str | os.PathLike,
    step: int | None,
    non_finite: str = "refuse",
) -> Path:
    """``unshift predict``: the predictions of ``run_dir``'s model for ``data`` in ``out``."""
    model = load_model(run_dir, step)
    x, ids = read_inputs(data, model)
    return write_table(model.table(x, ids, non_finite), out)
