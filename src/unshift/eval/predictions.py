"""Predictions as a table: a row id, the predicted label in the data's own label values, and
each class's probability; written as CSV, or Parquet where pandas and pyarrow are installed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from unshift.core.errors import DataError
from unshift.data.domains import AnyDomain
from unshift.eval.metrics import row_batches
from unshift.nn.heads import Logits

Table = tuple[list[str], list[list[object]]]


@torch.no_grad()
def logits_and_rows(
    predict: Callable[[Tensor], Logits],
    data: Tensor | AnyDomain,
    device: torch.device | str | None = None,
) -> tuple[Logits, Tensor]:
    """``predict`` on inputs ``(N, *)`` (a tensor or a domain) one batch at a time (each moved
    to ``device`` if given): logits ``(M, C)`` (or a tuple of them) on the CPU, for the ``M``
    rows ``(M,)`` that could be read (all of them but unreadable streamed samples)."""
    chunks, rows = [], []
    for x, r in row_batches(data):
        chunks.append(predict(x if device is None else x.to(device)))
        rows.append(r)
    if not chunks:
        raise DataError("none of the samples could be read (warnings name them)")
    if isinstance(chunks[0], tuple):
        logits = tuple(torch.cat([c[i] for c in chunks]).cpu() for i in range(len(chunks[0])))
        return logits, torch.cat(rows)
    return torch.cat(chunks).cpu(), torch.cat(rows)  # type: ignore[arg-type]


def predicted_logits(
    predict: Callable[[Tensor], Logits],
    data: Tensor | AnyDomain,
    device: torch.device | str | None = None,
) -> Logits:
    """The logits of :func:`logits_and_rows`; a :class:`DataError` if a row could not be
    read."""
    logits, rows = logits_and_rows(predict, data, device)
    if len(rows) != len(data):
        raise DataError(f"{len(data) - len(rows)} of {len(data)} samples could not be read")
    return logits


@torch.no_grad()
def prediction_table(
    predict: Callable[[Tensor], Logits],
    data: Tensor | AnyDomain,
    classes: list | None = None,
    ids: list | None = None,
) -> Table:
    """Header and rows for inputs ``(N, *)`` (a tensor or a domain): ``row`` (``ids``, default
    ``0..N-1``), ``label`` (``classes[k]`` for class index ``k``; the index itself without
    ``classes``) and ``p_<label>`` per class, the softmax probabilities. A head with ``L``
    outputs gives ``label_0 … label_{L-1}`` instead (class indices; no probabilities). A
    streamed sample that cannot be read gets no row (its warning names it)."""
    logits, kept = logits_and_rows(predict, data)
    ids = list(range(len(data))) if ids is None else ids
    ids = [ids[r] for r in kept.tolist()]
    if isinstance(logits, tuple):
        labels = torch.stack([out.argmax(1) for out in logits], 1)
        header = ["row", *(f"label_{i}" for i in range(labels.shape[1]))]
        return header, [[i, *r] for i, r in zip(ids, labels.tolist(), strict=True)]
    probs = torch.softmax(logits.float(), dim=1)
    names = classes if classes is not None else list(range(probs.shape[1]))
    header = ["row", "label", *(f"p_{c}" for c in names)]
    rows = [
        [i, names[k], *p]
        for i, k, p in zip(ids, probs.argmax(1).tolist(), probs.tolist(), strict=True)
    ]
    return header, rows


def write_table(table: Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path``: Parquet for ``.parquet`` (needs pandas and pyarrow), CSV
    otherwise; the file appears whole or not at all."""
    from unshift.core.files import atomic_write

    path = Path(path)
    header, rows = table
    if path.suffix == ".parquet":
        try:
            import pandas as pd

            pd.io.parquet.get_engine("auto")  # pyarrow or fastparquet
        except ImportError:
            raise DataError(
                f"writing {path.name} needs pandas and pyarrow (pip install pandas pyarrow); "
                "or give a .csv file"
            ) from None
        frame = pd.DataFrame(rows, columns=header)
        if any(v is None for r in rows for v in r):  # missing predictions: nullable columns
            frame = frame.convert_dtypes()
        atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
        return path

    def cell(v: object) -> str:
        return f"{v:.6g}" if isinstance(v, float) else "" if v is None else str(v)

    text = ",".join(header) + "\n" + "".join(",".join(map(cell, r)) + "\n" for r in rows)
    atomic_write(path, lambda tmp: tmp.write_text(text))
    return path
