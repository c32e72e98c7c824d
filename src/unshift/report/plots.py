"""Plots of a run, as PNG files (matplotlib, no screen needed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor


def _series(records: Sequence[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [p[1] for p in pts]


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def curves(records: Sequence[dict], groups: dict[str, Sequence[str]], path: Path) -> Path | None:
    """One panel per group (title → metric keys) of metric-versus-step lines; ``None`` when
    no key has data."""
    panels = {t: [k for k in keys if _series(records, k)[0]] for t, keys in groups.items()}
    panels = {t: keys for t, keys in panels.items() if keys}
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), squeeze=False)
    for ax, (title, keys) in zip(axes[0], panels.items(), strict=True):
        for key in keys:
            steps, values = _series(records, key)
            ax.plot(steps, values, label=key, marker="o" if len(steps) < 12 else None)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def decision_boundaries(
    models: dict[str, Callable[[Tensor], Tensor]],
    source: tuple[Tensor, Tensor],
    target: tuple[Tensor, Tensor | None],
    path: Path,
) -> Path:
    """Side-by-side panels (one per model) of the predicted class over the plane, with the
    source points (coloured by class) and the target points (crosses).

    ``models`` map a title to a function from ``(N, 2)`` inputs to ``(N, C)`` logits.
    """
    points = torch.cat([source[0], target[0]]).numpy()
    lo, hi = points.min(0) - 0.5, points.max(0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    fig, axes = plt.subplots(1, len(models), figsize=(4.8 * len(models), 4.2), squeeze=False)
    for ax, (title, predict) in zip(axes[0], models.items(), strict=True):
        with torch.no_grad():
            zz = predict(grid).argmax(1).reshape(gx.shape).numpy()
        ax.contourf(gx, gy, zz, alpha=0.25, cmap="coolwarm", levels=np.arange(zz.max() + 2) - 0.5)
        xs, ys = source[0].numpy(), source[1].numpy()
        ax.scatter(
            xs[:, 0], xs[:, 1], c=ys, cmap="coolwarm", s=8, edgecolors="none", label="source"
        )
        xt = target[0].numpy()
        colours = "k" if target[1] is None else target[1].numpy()
        ax.scatter(
            xt[:, 0], xt[:, 1], c=colours, cmap="coolwarm", marker="x", s=10, lw=0.6, label="target"
        )
        ax.set_title(title)
        ax.legend(fontsize=8, loc="lower left")
        ax.set_aspect("equal")
    return _save(fig, path)


def confusion(matrix: Sequence[Sequence[int]], title: str, path: Path) -> Path:
    """A confusion matrix (rows: true class, columns: predicted) with counts written in."""
    m = np.asarray(matrix)
    size = max(3.0, 0.45 * len(m) + 1.5)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(
            j,
            i,
            str(v),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if v > m.max() / 2 else "black",
        )
    ax.set_xticks(range(len(m)))
    ax.set_yticks(range(len(m)))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return _save(fig, path)


def embeddings(
    panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]], path: Path
) -> Path:
    """2-D embeddings (e.g. t-SNE of features), one column per model: coloured by domain (top
    row) and by class (bottom row).

    ``panels`` map a title to ``(points (N, 2), domain (N,) with 0 = source and 1 = target,
    labels (N,) or None)``.
    """
    fig, axes = plt.subplots(2, len(panels), figsize=(4.6 * len(panels), 8.6), squeeze=False)
    for col, (title, (points, domain, labels)) in enumerate(panels.items()):
        top, bottom = axes[0, col], axes[1, col]
        for d, (name, colour) in enumerate((("source", "tab:blue"), ("target", "tab:red"))):
            sel = domain == d
            top.scatter(*points[sel].T, s=3, c=colour, label=name, alpha=0.6, edgecolors="none")
        top.set_title(f"{title}: by domain")
        top.legend(fontsize=8, markerscale=3)
        if labels is not None:
            for d, marker in ((0, "o"), (1, "x")):
                sel = domain == d
                bottom.scatter(
                    *points[sel].T,
                    s=4,
                    c=labels[sel],
                    cmap="tab10",
                    vmin=0,
                    vmax=max(9, int(labels.max())),
                    marker=marker,
                    lw=0.5 if marker == "x" else 0,
                    alpha=0.7,
                )
        bottom.set_title(f"{title}: by class (o source, x target)")
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    return _save(fig, path)
