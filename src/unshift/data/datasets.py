"""Any map-style ``torch.utils.data.Dataset`` as a task: :func:`from_datasets`.

For users who already have datasets (``torchvision.datasets.ImageFolder``, their own class):
the samples are read by DataLoader workers batch by batch, never copied into one tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset

from unshift.core.errors import DataError
from unshift.data.domains import TaskData
from unshift.data.streamed import StreamedDomain, default_workers, sample_tensor


def dataset_labels(dataset: Dataset) -> Tensor:
    """Integer labels ``(N,)`` of a dataset of ``(sample, label)`` items: its ``targets``
    (torchvision's datasets), a :class:`~torch.utils.data.Subset`'s parent's, or else read
    item by item (which reads every sample once)."""
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[torch.as_tensor(list(dataset.indices))]
    targets = getattr(dataset, "targets", None)
    if targets is None:
        items = (dataset[i] for i in range(len(dataset)))  # type: ignore[arg-type]
        targets = [item[1] if isinstance(item, tuple | list) else None for item in items]
        if any(t is None for t in targets):
            raise DataError("a labelled dataset must give (sample, label) items or have .targets")
    return torch.as_tensor(np.asarray(targets), dtype=torch.long)


def _domain(dataset: Dataset, role: str, labelled: bool, workers: int, train=None) -> Any:
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise DataError(f"the {role} dataset is empty")
    first = sample_tensor(dataset[0])
    return StreamedDomain(
        dataset,
        dataset_labels(dataset) if labelled else None,
        tuple(first.shape),
        name=role,
        num_workers=workers,
        train_dataset=train,
    )


def from_datasets(
    source: Dataset,
    target: Dataset,
    target_test: Dataset | None = None,
    source_test: Dataset | None = None,
    *,
    num_classes: int | None = None,
    num_workers: int | None = None,
    target_labelled: bool = False,
    source_train: Dataset | None = None,
    target_train: Dataset | None = None,
) -> TaskData:
    """A task of map-style datasets whose items are samples, or ``(sample, label)`` pairs: a
    tensor ``(C, H, W)`` or ``(F,)`` (``uint8`` pixels are scaled to ``[0, 1]``) or a PIL image.

    ``source`` (labelled) and ``target`` train; ``target`` is read without its labels unless
    ``target_labelled`` (for the train-on-target upper bound). ``target_test``/``source_test``
    (labelled) are evaluated. ``source_train``/``target_train``: the same samples with training
    augmentation (e.g. the same folder with random transforms), drawn for training batches
    instead. ``num_classes``: default ``max(source labels) + 1``. ``num_workers``: DataLoader
    processes (default: one per CPU but one, at most 8)::

        from torchvision.datasets import ImageFolder
        from torchvision.transforms import v2

        tf = v2.Compose([v2.PILToTensor(), v2.Resize((64, 64))])
        task = from_datasets(ImageFolder("photos", tf), ImageFolder("sketches", tf),
                             target_test=ImageFolder("sketches_test", tf))
        Trainer(max_steps=1000).fit(method, task)
    """
    workers = default_workers() if num_workers is None else num_workers
    src = _domain(source, "source", True, workers, source_train)
    tgt = _domain(target, "target", target_labelled, workers, target_train)
    assert src.y is not None
    classes = int(src.y.max()) + 1 if num_classes is None else num_classes
    tests = {
        role: _domain(d, role, True, workers)
        for role, d in (("source test", source_test), ("target test", target_test))
        if d is not None
    }
    return TaskData(
        [src],
        [tgt],
        classes,
        source_test=tests.get("source test"),
        target_test=tests.get("target test"),
        meta={"task": "source → target"},
    )
