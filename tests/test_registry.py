"""A new method is one file: registered from this test file alone, trained, evaluated and
reported through the ``unshift`` command, with a phase that steps two optimisers at once."""

import json
from dataclasses import dataclass

import pytest
import torch

from unshift.cli import main
from unshift.core.errors import ConfigError
from unshift.core.log_keys import DOMAIN_LOSS, LABEL_LOSS
from unshift.core.registry import METHODS, FieldError, Registry, SectionConfig, require
from unshift.methods.base import Method, Phase
from unshift.training.config import load_config


@METHODS.register("toy_mean_matching")
class MeanMatching(Method):
    """Label loss plus ``weight`` times the squared distance between the source and target
    feature means (a linear-kernel MMD); features and head have optimisers of their own, both
    stepped by the one phase."""

    @dataclass
    class Config(SectionConfig):
        weight: float = 1.0

        def __post_init__(self) -> None:
            require(self.weight >= 0, "weight", f"must be >= 0; got {self.weight}")

    def __init__(self, feature_extractor, label_head, weight: float = 1.0) -> None:
        super().__init__(feature_extractor, label_head)
        self.weight = weight
        self.calls = 0

    @classmethod
    def from_config(cls, cfg, networks, data):
        return cls(networks.features, networks.head, cfg.weight)

    def param_groups(self):
        return {
            "features": list(self.feature_extractor.parameters()),
            "head": list(self.label_head.parameters()),
        }

    def phases(self, step):
        return [Phase("align", ("features", "head"))]

    def align_step(self, sources, targets):
        self.calls += 1
        f_s, f_t = self.features(sources[0][0]), self.features(targets[0])
        label = self.label_loss(sources, f_s)
        gap = (f_s.mean(0) - f_t.mean(0)).pow(2).sum()
        return label + self.weight * gap, {LABEL_LOSS: label.detach(), DOMAIN_LOSS: gap.detach()}


TOY = """
seed: 0
data: {name: moons, angle: 30.0, n_train: 200, n_test: 200}
model: {name: mlp, hidden: [16, 16], activation: tanh}
method: {name: toy_mean_matching, weight: 0.5}
optim: {name: sgd, lr: 0.05, lr_schedule: constant}
trainer: {steps: 200, batch_size: 32, log_every: 20, checkpoint_every: 100}
"""


def test_a_method_registered_in_a_test_file_trains_evaluates_and_reports(tmp_path, capsys):
    config, run = tmp_path / "toy.yaml", tmp_path / "run"
    config.write_text(TOY)
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    final = json.loads((run / "final.json").read_text())
    assert final["source_acc"] > 0.8
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r[LABEL_LOSS] for r in records if LABEL_LOSS in r]
    assert losses[-1] < losses[0]
    assert main(["eval", str(run)]) == 0
    assert json.loads((run / "eval.json").read_text())["target_acc"] == final["target_acc"]
    assert (run / "report.md").exists() and (run / "plots" / "curves.png").exists()


def test_a_phase_steps_every_optimiser_it_names(tmp_path):
    from unshift.training.build import build_data, build_method, build_trainer

    config = tmp_path / "toy.yaml"
    config.write_text(TOY)
    cfg = load_config(config, ["trainer.steps=3", "trainer.progress_bar=false"])
    data = build_data(cfg)
    method = build_method(cfg, data)
    before = {n: p.detach().clone() for n, p in method.named_parameters()}
    build_trainer(cfg, None).fit(method, data)
    assert method.calls == 3
    assert all(not torch.equal(before[n], p) for n, p in method.named_parameters())


def test_a_registered_method_s_rules_name_the_dotted_key(tmp_path):
    config = tmp_path / "toy.yaml"
    config.write_text(TOY)
    with pytest.raises(ConfigError, match=r"'method\.weight': must be >= 0; got -1"):
        load_config(config, ["method.weight=-1"])
    with pytest.raises(ConfigError, match=r"'method\.wieght' \(did you mean 'weight'\?\)"):
        load_config(config, ["method.wieght=1"])
    with pytest.raises(FieldError, match="weight must be >= 0"):
        MeanMatching.Config(weight=-2.0)


def test_registering_a_taken_name_or_a_target_without_config_fails():
    registry = Registry("thing", "unshift.nn")

    @dataclass
    class Config(SectionConfig):
        pass

    registry.register("a", Config)(len)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", Config)(print)
    with pytest.raises(TypeError, match="needs a config dataclass"):
        registry.register("b")(print)
    assert registry.names() == ["a"]


def test_the_report_draws_every_number_a_method_logs():
    from types import SimpleNamespace

    from unshift.report.report import curve_panels

    records = [
        {"step": 10, "seconds": 0.1, "lr": 0.01, "label_loss": 0.5, "class_confusion": 0.2,
         "margin_loss": 1.0, "feature_norm": 3.0, "per_class": [1, 2]},
        {"step": 20, "target_acc": 0.7, "source_acc": 0.9},
    ]  # fmt: skip
    method = SimpleNamespace(curves={"class confusion": ("class_confusion",)})
    panels = curve_panels(records, method)
    assert panels["class confusion"] == ("class_confusion",)
    assert "margin_loss" in panels["losses"] and "label_loss" in panels["losses"]
    assert panels["other logged values"] == ("feature_norm",)
    drawn = {k for keys in panels.values() for k in keys}
    assert {"step", "seconds", "per_class", "lr"}.isdisjoint(drawn)  # lr: on schedules.png
    assert "other logged values" not in curve_panels(records[1:], method)
