"""The run report: ``report.md`` in the run directory, with plots under ``plots/``."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from unshift.build import load_run
from unshift.eval.metrics import batches
from unshift.eval.proxy_a import proxy_a_distance
from unshift.methods import Method
from unshift.report import plots
from unshift.runs import RunDir

CURVES = {
    "losses": ("label_loss", "domain_loss"),
    "test accuracy": ("source_acc", "target_acc"),
    "discriminator accuracy": ("domain_acc",),
}
SCHEDULES = {"λ (GRL coefficient)": ("coeff",), "learning rate": ("lr",)}


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@torch.no_grad()
def _features(method: Method, x: Tensor) -> Tensor:
    return torch.cat([method.features(b) for b in batches(x)])


def write_report(run_dir: str | Path, baseline: str | Path | None = None) -> Path:
    """Write ``report.md`` for ``run_dir`` (a finished run); return its path.

    ``baseline``: another run on the same 2-D task whose decision boundary is drawn beside
    this run's.
    """
    run = RunDir(run_dir).require(checkpoint=True)
    cfg, data, method = load_run(run.path)
    final = run.read_final()
    records = run.read_metrics()
    plot_dir = run.path / "plots"
    lines = [
        f"# Run report: {cfg.method.name} on {data.meta.get('task', cfg.data.name)}",
        "",
        f"- run directory: `{run.path}`",
        f"- seed {cfg.seed}, {final['steps']} steps, {final['wall_s']:.1f} s",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for key in ("source_acc", "target_acc"):
        if key in final:
            lines.append(f"| {key.replace('_', ' ')} (test) | {_fmt(final[key])} |")
    source = data.source_test or data.sources[0]
    target = data.target_test or data.targets[0]
    pad_raw = proxy_a_distance(source.x, target.x, seed=cfg.seed)
    pad_features = proxy_a_distance(
        _features(method, source.x), _features(method, target.x), seed=cfg.seed
    )
    lines.append(f"| proxy A-distance, raw inputs | {pad_raw:.3f} |")
    lines.append(f"| proxy A-distance, learned features | {pad_features:.3f} |")
    lines += [
        "",
        "Proxy A-distance `2 (1 − 2ε)` of a linear classifier separating the two test sets "
        "(0: indistinguishable, 2: separable).",
        "",
    ]

    images: list[tuple[str, Path | None]] = [
        ("Training curves", plots.curves(records, CURVES, plot_dir / "curves.png")),
        ("Schedules", plots.curves(records, SCHEDULES, plot_dir / "schedules.png")),
    ]
    if data.input_shape == (2,):
        models = {}
        if baseline is not None:
            base_cfg, _, base_method = load_run(baseline)
            models[f"{base_cfg.method.name} (baseline)"] = base_method.predict
        models[cfg.method.name] = method.predict
        images.append(
            (
                "Decision boundaries (dots: source, crosses: target)",
                plots.decision_boundaries(
                    models,
                    (source.x, source.y),
                    (target.x, target.y),
                    plot_dir / "decision_boundaries.png",
                ),
            )
        )
    if "target_confusion" in final:
        images.append(
            (
                "Target test confusion matrix",
                plots.confusion(
                    final["target_confusion"], "target test", plot_dir / "target_confusion.png"
                ),
            )
        )
    for title, path in images:
        if path is not None:
            lines += [f"## {title}", "", f"![{title}]({path.relative_to(run.path)})", ""]
    out = run.path / "report.md"
    out.write_text("\n".join(lines))
    return out
