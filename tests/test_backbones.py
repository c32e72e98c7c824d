"""torchvision and timm backbones: classifier removed, bottleneck, weights from a local file
(plain, wrapped in a checkpoint, DDP-prefixed) and refused when they do not fit, a smaller
learning rate for the backbone, and a ResNet-18 DANN run on image folders from a YAML config."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from unshift.cli import main
from unshift.core.errors import ConfigError
from unshift.data import Domain, TaskData
from unshift.training.build import build_method
from unshift.training.config import load_config
from unshift.training.specs import OptimizerSpec

from .test_streaming import make_folder

HERE = Path(__file__).resolve().parent
RESNET = str(HERE / "image_folder_resnet.yaml")


def task(size: int = 32, classes: int = 3) -> TaskData:
    x = torch.rand(6, 3, size, size)
    y = torch.arange(6) % classes
    return TaskData([Domain(x, y)], [Domain(x)], classes)


def networks(name: str, arch: str, *overrides: str, data: TaskData | None = None):
    folders = ["data.source=unused", "data.target=unused"]  # the networks read no data
    cfg = load_config(RESNET, [*folders, f"model.name={name}", f"model.arch={arch}", *overrides])
    return build_method(cfg, data or task())


@pytest.mark.parametrize("name", ["torchvision", "timm"])
def test_the_classifier_is_gone_and_the_bottleneck_feeds_the_head(name):
    method = networks(name, "resnet18", "model.bottleneck=64").eval()
    x = torch.rand(2, 3, 32, 32)
    assert method.features(x).shape == (2, 64)
    assert method.predict(x).shape == (2, 3)
    linear = [m for m in method.feature_extractor.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(512, 64)]  # no 1000-way fc
    assert list(method.lr_parts()) == ["backbone"]
    plain = networks(name, "resnet18", "model.bottleneck=0").eval()
    assert plain.features(x).shape == (2, 512)


@pytest.mark.parametrize("name", ["torchvision", "timm"])
@pytest.mark.parametrize("form", ["state_dict", "checkpoint", "ddp"])
def test_weights_from_a_local_file_are_loaded(name, form, tmp_path):
    torch.manual_seed(123)
    if name == "torchvision":
        from torchvision.models import resnet18

        saved = resnet18().state_dict()
    else:
        import timm

        saved = timm.create_model("resnet18").state_dict()
    if form == "checkpoint":
        saved = {"state_dict": saved, "epoch": 90}
    elif form == "ddp":
        saved = {f"module.{k}": v for k, v in saved.items()}
    path = tmp_path / "weights.pth"
    torch.save(saved, path)
    method = networks(name, "resnet18", f"model.weights={path}")
    backbone = method.feature_extractor[0]
    original = saved.get("state_dict", saved)
    key = "conv1.weight"
    loaded = original.get(key, original.get(f"module.{key}"))
    assert torch.equal(backbone.state_dict()[key], loaded)
    fresh = networks(name, "resnet18").feature_extractor[0]
    assert not torch.equal(fresh.state_dict()[key], loaded)


def test_weights_of_another_architecture_are_refused(tmp_path):
    from torchvision.models import resnet18

    path = tmp_path / "r18.pth"
    torch.save(resnet18().state_dict(), path)
    with pytest.raises(ConfigError, match=r"r18.pth does not fit arch 'resnet34': .* missing"):
        networks("torchvision", "resnet34", f"model.weights={path}")
    with pytest.raises(ConfigError, match=r"does not fit arch 'mobilenet_v3_small'"):
        networks("torchvision", "mobilenet_v3_small", f"model.weights={path}")
    with pytest.raises(ConfigError, match="no torchvision model 'resnet19'"):
        networks("torchvision", "resnet19")


def test_the_backbone_learns_at_its_own_rate(monkeypatch, tmp_path):
    built = []
    real_build = OptimizerSpec.build

    def spy(self, params):
        built.append(real_build(self, params))
        return built[-1]

    monkeypatch.setattr(OptimizerSpec, "build", spy)
    source, target = make_folder(tmp_path / "s", n=4, size=32), make_folder(tmp_path / "t", n=4)
    args = ["--set", f"data.source={source}", "--set", f"data.target={target}"]
    args += ["--set", "trainer.steps=2", "--set", "optim.lr_scale={backbone: 0.1}"]
    args += ["--set", "optim.lr_schedule=constant"]
    assert main(["train", RESNET, "--run-dir", str(tmp_path / "run"), *args]) == 0
    lrs = {g["part"]: g["lr"] for g in built[0].param_groups}
    assert lrs == {"backbone": pytest.approx(0.001), "": pytest.approx(0.01)}


def test_a_resnet_dann_trains_on_image_folders_and_predicts_without_its_weights_file(tmp_path):
    from torchvision.models import resnet18

    weights = tmp_path / "pretrained.pth"
    torch.save(resnet18().state_dict(), weights)
    source = make_folder(tmp_path / "source", n=6, size=40)
    target = make_folder(tmp_path / "target", n=6, size=40, shift=60, seed=1)
    run = tmp_path / "run"
    args = ["--set", f"data.source={source}", "--set", f"data.target={target}"]
    args += ["--set", f"data.target_test={target}", "--set", f"model.weights={weights}"]
    args += ["--set", "trainer.steps=3"]
    assert main(["train", RESNET, "--run-dir", str(run), *args]) == 0
    assert json.loads((run / "final.json").read_text())["steps"] == 3
    weights.unlink()  # the checkpoint holds every weight: nothing else is read again
    assert main(["eval", str(run)]) == 0
    assert main(["predict", str(run), str(target), "--out", str(tmp_path / "p.csv")]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 13


def test_the_packaged_image_configs_are_twins_and_train(tmp_path):
    from unshift.training.config import to_dict

    folders = ["data.source=photos", "data.target=sketches"]
    dann, source_only = (
        to_dict(load_config(f"images/{m}", folders)) for m in ("dann", "source_only")
    )
    assert {k: v for k, v in dann.items() if k != "method"} == {
        k: v for k, v in source_only.items() if k != "method"
    }
    source = make_folder(tmp_path / "source", n=3, size=40)
    target = make_folder(tmp_path / "target", n=3, size=40, shift=60, seed=1)
    small = [
        "--set",
        "model.arch=resnet18",
        "--set",
        "data.image_size=32",
        "--set",
        "data.resize=36",
    ]
    small += ["--set", "trainer.steps=2", "--set", "trainer.batch_size=4"]
    small += ["--set", f"data.source={source}", "--set", f"data.target={target}"]
    for method in ("dann", "source_only"):
        run = tmp_path / method
        assert main(["train", f"images/{method}", "--run-dir", str(run), *small]) == 0
        assert json.loads((run / "final.json").read_text())["steps"] == 2
