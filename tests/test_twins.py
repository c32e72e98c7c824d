"""Shipped configs are fair: an adaptive config and its source-only twin differ only in the
method, and what a config's comments claim (activation, steps, precision) is what it sets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from unshift.training.config import RunConfig, load_config

from .test_config_and_commands import CONFIGS, NEEDS

BASELINES = ("source_only", "target_only")
# A method whose config has no source-only twin, and why.
NO_TWIN = {
    "adda": "ADDA's optimiser and length describe its two phases; its phase 1 is a source-only "
    "model of the same network, and its Adam settings belong to the adversarial phase",
}
ACTIVATIONS = ("tanh", "relu", "sigmoid")


def load(path: Path, task: str | None = None) -> RunConfig:
    """A shipped config (or one written for ``task``: a folder of configs/) with the paths
    it needs."""
    task = task or str(path.relative_to(CONFIGS))
    return load_config(path, next((v for k, v in NEEDS.items() if k in task), []))


def twin_of(path: Path, method: str) -> Path:
    """``<task>_<method>[_plus].yaml`` → ``<task>_source_only[_plus].yaml`` (``method.yaml`` →
    ``source_only.yaml``)."""
    plus = "_plus" if path.stem.endswith("_plus") else ""
    stem = path.stem.removesuffix(plus)
    assert stem.endswith(method), f"{path}: the file name does not end in its method {method!r}"
    return path.with_name(f"{stem.removesuffix(method)}source_only{plus}.yaml")


def adaptive_configs() -> list[Path]:
    return [
        p
        for p in sorted(CONFIGS.rglob("*.yaml"))
        if load(p).method.name not in (*BASELINES, *NO_TWIN)
    ]


@pytest.mark.parametrize("path", adaptive_configs(), ids=lambda p: str(p.relative_to(CONFIGS)))
def test_an_adaptive_config_and_its_source_only_twin_differ_only_in_the_method(path):
    cfg = load(path)
    twin_path = twin_of(path, cfg.method.name)
    assert twin_path.exists(), f"{path} has no source-only twin {twin_path.name}"
    twin = load(twin_path)
    assert twin.method.name == "source_only"
    for section in ("seed", "data", "model", "optim", "trainer", "report"):
        assert getattr(cfg, section) == getattr(twin, section), (
            f"{path.name} and {twin_path.name} differ in {section}"
        )


def comment_claims(text: str) -> list[str]:
    """Clauses of a config's comments (split at ``;`` and sentence ends)."""
    comments = " ".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)
    return [c.strip() for c in re.split(r";|\.\s", comments) if c.strip()]


def wrong_claims(text: str, cfg: RunConfig) -> list[str]:
    """Comment clauses of a config that claim an activation, a number of steps or a precision
    the config does not set. A clause naming a seed tells how a setting was chosen (a selection
    run's length, say), not what the config runs, and is not read for steps."""
    wrong = []
    activation = getattr(cfg.model, "activation", None)
    named = [
        a for c in comment_claims(text) for a in re.findall(r"\b(\w+) (?:features|units)\b", c)
    ]
    named = [a.lower() for a in named if a.lower() in ACTIVATIONS]
    if activation is not None and named and named[0] != activation:
        wrong.append(f"comments name {named[0]} features, model.activation is {activation}")
    steps = {cfg.trainer.steps, cfg.trainer.steps - getattr(cfg.method, "pretrain_steps", 0)}
    for clause in comment_claims(text):
        if "seed" in clause:
            continue
        for n in re.findall(r"\b(\d+) steps\b", clause):
            if int(n) not in steps:
                wrong.append(f"comment {clause!r}: trainer.steps is {cfg.trainer.steps}")
    if "bf16 autocast" in text and not cfg.trainer.precision.startswith("bf16"):
        wrong.append(f"comments claim bf16 autocast, trainer.precision is {cfg.trainer.precision}")
    return wrong


@pytest.mark.parametrize(
    "path", sorted(CONFIGS.rglob("*.yaml")), ids=lambda p: str(p.relative_to(CONFIGS))
)
def test_a_config_comment_claims_only_what_the_config_sets(path):
    assert wrong_claims(path.read_text(), load(path)) == []


def test_the_claims_check_catches_a_comment_the_config_contradicts(tmp_path):
    text = (CONFIGS / "moons" / "dann.yaml").read_text()
    assert "tanh features" in text
    other = tmp_path / "relu.yaml"
    other.write_text(text.replace("activation: tanh", "activation: relu"))
    wrong = wrong_claims(other.read_text(), load_config(other))
    assert wrong == ["comments name tanh features, model.activation is relu"]
    plus = (CONFIGS / "digits" / "mnist_usps_dann_plus.yaml").read_text()
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(plus.replace("steps: 6000", "steps: 2000"))
    assert "6000 steps" in wrong_claims(shorter.read_text(), load(shorter, "digits"))[0]
    cheaper = tmp_path / "fp32.yaml"
    cheaper.write_text(plus.replace("precision: bf16-mixed", "precision: 32-true"))
    assert "bf16 autocast" in wrong_claims(cheaper.read_text(), load(cheaper, "digits"))[0]
