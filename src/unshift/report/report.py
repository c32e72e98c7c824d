"""The run report: ``report.md`` in the run directory, with plots under ``plots/``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from unshift.core.errors import RunDirError
from unshift.core.files import RunDir
from unshift.core.log_keys import (
    COEFF,
    DOMAIN_ACC,
    LOSSES,
    LR,
    SECONDS,
    SKIPPED,
    SOURCE_ACC,
    STEP,
    TARGET_ACC,
)
from unshift.data.domains import AnyDomain, TaskData
from unshift.eval.metrics import batches
from unshift.eval.proxy_a import proxy_a_distance
from unshift.methods import Method
from unshift.report import plots
from unshift.training.build import load_run
from unshift.training.config import RunConfig, to_dict

CURVES = {
    "losses": LOSSES,
    "test accuracy": (SOURCE_ACC, TARGET_ACC),
    "discriminator accuracy": (DOMAIN_ACC,),
}
SCHEDULES = {"λ (GRL coefficient)": (COEFF,), "learning rate": (LR,)}
NOT_CURVES = (STEP, SECONDS, SKIPPED)


def curve_panels(records: list[dict], method: Method) -> dict[str, tuple[str, ...]]:
    """The panels of ``curves.png`` (title → keys): the standard ones, the method's own
    (:attr:`Method.curves`), and every other number logged: losses (``*_loss``) beside the
    standard losses, the rest under "other logged values"."""
    named = {k for keys in (*CURVES.values(), *SCHEDULES.values(), *method.curves.values())
             for k in keys}  # fmt: skip
    logged = dict.fromkeys(
        k for r in records for k, v in r.items() if isinstance(v, int | float) and k not in named
    )
    rest = [k for k in logged if k not in NOT_CURVES]
    losses = tuple(k for k in rest if k.endswith("_loss"))
    other = tuple(k for k in rest if k not in losses)
    panels = {**CURVES, "losses": (*LOSSES, *losses), **method.curves}
    return {**panels, "other logged values": other} if other else panels


EMBEDDED_PER_DOMAIN = 1000
T = TypeVar("T")


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


RAW_PIXELS = 32
"""Images larger than this (per side) are average-pooled to it for the raw-input proxy
A-distance, so that a sample of 224×224 photographs stays small."""


@torch.no_grad()
def _features(method: Method, domain: Tensor | AnyDomain) -> Tensor:
    return torch.cat([method.features(b) for b in batches(domain)])


def _raw(domain: AnyDomain) -> Tensor:
    """The inputs of ``domain`` as floats, images pooled to at most ``RAW_PIXELS`` a side."""
    parts = []
    for x in batches(domain):
        if x.ndim == 4 and max(x.shape[2:]) > RAW_PIXELS:
            x = torch.nn.functional.adaptive_avg_pool2d(x, RAW_PIXELS)
        parts.append(x)
    return torch.cat(parts)


def _subset(domain: AnyDomain, n: int, seed: int) -> AnyDomain:
    """At most ``n`` samples of ``domain``, drawn without replacement (seeded)."""
    if len(domain) <= n:
        return domain
    return domain.subset(
        torch.randperm(len(domain), generator=torch.Generator().manual_seed(seed))[:n]
    )


def _tsne(f_src: Tensor, f_tgt: Tensor, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    x = torch.cat([f_src, f_tgt]).flatten(1).numpy()
    perplexity = min(30.0, max(1.0, (len(x) - 1) / 3))  # t-SNE needs perplexity < samples
    return TSNE(2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(x)


def pad_cell(pad: float) -> str:
    """A proxy A-distance for the table: in its range ``[0, 2]``; a value below 0 (an error
    above one half: chance, by sampling noise) as 0 with the measured value beside it."""
    if pad < 0:
        return f"0.000 (measured {pad:.3f}: no better than chance)"
    return f"{pad:.3f}"


def _embedding_section(
    models: dict[str, Method], source: AnyDomain, target: AnyDomain, seed: int, path: Path
) -> tuple[list[str], Path]:
    """Proxy A-distance table rows and the t-SNE figure of each model's features."""
    rows, panels = [], {}
    domain = np.r_[np.zeros(len(source)), np.ones(len(target))]
    labels = None
    if source.y is not None and target.y is not None:
        labels = torch.cat([source.y, target.y]).numpy()
        if labels.ndim == 2:  # several outputs: colour by the first
            labels = labels[:, 0]
    for title, method in models.items():
        f_src, f_tgt = _features(method, source), _features(method, target)
        pad = proxy_a_distance(f_src, f_tgt, seed=seed)
        rows.append(f"| proxy A-distance, features of {title} | {pad_cell(pad)} |")
        panels[title] = (_tsne(f_src, f_tgt, seed), domain, labels)
    return rows, plots.embeddings(panels, path)


class _Parts:
    """Draws each part of the report, keeping the reason of any that cannot be drawn (too few
    samples for a proxy A-distance, a t-SNE of three points, ...) instead of failing it all."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def __call__(self, what: str, draw: Callable[[], T]) -> T | None:
        try:
            return draw()
        except Exception as err:  # one figure must not cost the whole report
            self.skipped.append(f"- {what}: {type(err).__name__}: {str(err).splitlines()[0]}")
            return None


def report_run(run_dir: str | Path, baseline: str | Path | None = None) -> Path:
    """Write ``report.md`` for the finished run in ``run_dir``, loaded from its files."""
    run = RunDir(run_dir).require(checkpoint=True)
    cfg, data, method = load_run(run.path)
    return write_report(run.path, cfg, data, method, run.read_final(), baseline)


def write_report(
    run_dir: str | Path,
    cfg: RunConfig,
    data: TaskData,
    method: Method,
    final: dict[str, Any],
    baseline: str | Path | None = None,
) -> Path:
    """Write ``report.md`` (and ``plots/``) into ``run_dir`` for the trained ``method`` of
    ``cfg`` on ``data`` with final metrics ``final``; return its path.

    ``baseline``: another run on the same task (e.g. source-only) drawn beside this one: its
    decision boundary for 2-D data, its t-SNE and proxy A-distance of features for images.
    """
    run = RunDir(run_dir)
    method.eval()
    models: dict[str, Method] = {}
    about_baseline: list[str] = []
    if baseline is not None:  # checked before anything is written
        base_cfg, _, base_method = load_run(baseline)
        ours, theirs = to_dict(cfg)["data"], to_dict(base_cfg)["data"]
        if ours != theirs:
            differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
            raise RunDirError(
                f"the baseline {baseline} is a run of another task: its data section differs in "
                + ", ".join(f"{k} ({theirs.get(k)!r} vs {ours.get(k)!r})" for k in differ)
            )
        models[f"{base_cfg.method.name} (baseline)"] = base_method
        about_baseline = [f"- baseline: `{baseline}` ({base_cfg.method.name})"]
    records = run.read_metrics()
    plot_dir = run.path / "plots"
    lines = [
        f"# Run report: {cfg.method.name} on {data.meta.get('task', cfg.data.name)}",
        "",
        f"- run directory: `{run.path}`",
        f"- seed {cfg.seed}, {final['steps']} steps, {final['wall_s']:.1f} s",
        *about_baseline,
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for role in ("source", "target"):
        if f"{role}_acc" not in final:
            continue
        per_output = final.get(f"{role}_per_output_acc")
        whole = ", all outputs right" if per_output else ""
        split = final.get("source_split", "test") if role == "source" else "test"
        lines.append(f"| {role} accuracy ({split}{whole}) | {_fmt(final[f'{role}_acc'])} |")
        if per_output:
            values = ", ".join(f"{v:.4f}" for v in per_output)
            lines.append(f"| {role} accuracy per output (test) | {values} |")
    source = data.source_test or data.sources[0]
    target = data.target_test or data.targets[0]
    part = _Parts()
    images: list[tuple[str, Path | None]] = [
        (title, part(title, lambda c=curves, f=file: plots.curves(records, c, plot_dir / f)))
        for title, curves, file in (
            ("Training curves", curve_panels(records, method), "curves.png"),
            ("Schedules", SCHEDULES, "schedules.png"),
        )
    ]
    models[cfg.method.name] = method
    is_image = len(data.input_shape) > 1
    if is_image:
        source = _subset(source, EMBEDDED_PER_DOMAIN, cfg.seed)
        target = _subset(target, EMBEDDED_PER_DOMAIN, cfg.seed + 1)
    pad_raw = part(
        "proxy A-distance of raw inputs",
        lambda: proxy_a_distance(_raw(source), _raw(target), seed=cfg.seed),
    )
    if pad_raw is not None:
        lines.append(f"| proxy A-distance, raw inputs | {pad_cell(pad_raw)} |")
    if is_image:
        section = part(
            "t-SNE and proxy A-distance of features",
            lambda: _embedding_section(
                models, source, target, cfg.seed, plot_dir / "tsne_features.png"
            ),
        )
        if section is not None:
            lines += section[0]
            by = " (class: first output)" if not isinstance(data.num_classes, int) else ""
            images.append((f"t-SNE of test features (source and target){by}", section[1]))
    else:
        pad = part(
            "proxy A-distance of learned features",
            lambda: proxy_a_distance(
                _features(method, source), _features(method, target), seed=cfg.seed
            ),
        )
        if pad is not None:
            lines.append(f"| proxy A-distance, learned features | {pad_cell(pad)} |")
    sampled = f" ({EMBEDDED_PER_DOMAIN} random test images per domain)" if is_image else ""
    lines += [
        "",
        "Proxy A-distance `2 (1 − 2ε)` of a linear classifier separating the two test sets"
        f"{sampled} (0: indistinguishable, 2: separable; a classifier no better than chance "
        "gives slightly below 0, shown as 0). It measures how far apart the two sets are for a "
        "fresh linear classifier, not how well the model transfers: compare learned features "
        "only with features of the same width (the baseline's), and read target accuracy for "
        "the result. It can rise under adaptation; one reason: training for the classes "
        "spreads the features, which a linear classifier then separates by domain more easily, "
        "while the discriminator the method trained against (a different, per-batch "
        "classifier) was still fooled.",
        "",
    ]
    if data.input_shape == (2,):
        images.append(
            (
                "Decision boundaries (dots: source, crosses: target)",
                part(
                    "decision boundaries",
                    lambda: plots.decision_boundaries(
                        {title: m.predict for title, m in models.items()},
                        (source.x, source.y),  # type: ignore[union-attr]
                        (target.x, target.y),  # type: ignore[union-attr]
                        plot_dir / "decision_boundaries.png",
                    ),
                ),
            )
        )
    if "target_confusion" in final:
        images.append(
            (
                "Target test confusion matrix",
                part(
                    "target confusion matrix",
                    lambda: plots.confusion(
                        final["target_confusion"], "target test", plot_dir / "target_confusion.png"
                    ),
                ),
            )
        )
    for title, path in images:
        if path is not None:
            lines += [f"## {title}", "", f"![{title}]({path.relative_to(run.path)})", ""]
    if part.skipped:
        lines += ["## Skipped", "", "These parts could not be drawn:", "", *part.skipped, ""]
    out = run.path / "report.md"
    out.write_text("\n".join(lines))
    return out
