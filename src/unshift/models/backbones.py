"""Pretrained backbones as feature extractors: ``model.name: torchvision`` (any
``torchvision.models`` architecture) and ``model.name: timm`` (any timm model), classifier
removed, with an optional bottleneck (TLlib's recipe) and a linear label head.

``weights`` is a local file (a state dict, or a checkpoint holding one under ``state_dict``,
``model`` or ``state_dict_ema``; ``.safetensors`` too), so that it works offline, or a name the
library downloads when the machine is online (torchvision: a weights enum name such as
``IMAGENET1K_V1``, or ``DEFAULT``; timm: ``pretrained`` or a pretrained tag). When a trained
run is loaded again the checkpoint holds every weight, so nothing is read or downloaded then.

The backbone module is marked as the part ``backbone``, so that ``optim.lr_scale: {backbone:
0.1}`` fine-tunes it at a tenth of the learning rate of the bottleneck and heads.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unshift.core.errors import ConfigError
from unshift.core.registry import MODELS, SectionConfig, require
from unshift.data.domains import TaskData
from unshift.models.networks import Networks, mark_part

_FILE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".tar")


def is_weights_file(weights: str) -> bool:
    """Whether ``weights`` names a file (else a name for the library to download)."""
    return Path(weights).expanduser().exists() or "/" in weights or weights.endswith(_FILE_SUFFIXES)


@dataclass
class BackboneConfig(SectionConfig):
    """``arch``: the architecture's name in the library. ``weights``: ``None`` (random
    initialisation), a local file, or a name to download (see the module's docstring); a file
    path is stored absolute. ``bottleneck``: width of ``Linear → BatchNorm1d → ReLU`` after the
    pooled features (0: none). ``dropout``: before the label head."""

    arch: str = "resnet50"
    weights: str | None = None
    bottleneck: int = 256
    dropout: float = 0.0

    def __post_init__(self) -> None:
        require(self.bottleneck >= 0, "bottleneck", f"must be >= 0; got {self.bottleneck}")
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1); got {self.dropout}")
        if self.weights is not None and is_weights_file(self.weights):
            self.weights = str(Path(self.weights).expanduser().resolve())


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a weights file: a plain one, or under a checkpoint's usual key, with a
    DDP ``module.`` prefix removed."""
    if not path.is_file():
        raise ConfigError(f"model.weights: {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"model.weights: cannot read {path} ({first})") from None
    for key in ("state_dict", "model", "state_dict_ema", "model_state"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"model.weights: {path} holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_weights_file(backbone: nn.Module, path: Path, arch: str) -> None:
    """Load the weights file ``path`` into ``backbone`` (its classifier's keys, which the
    backbone no longer has, are ignored); weights of another architecture are a
    :class:`ConfigError` that names what does not fit."""
    state = _state_dict(path)
    own = backbone.state_dict()
    shared = {k: v for k, v in state.items() if k in own}
    wrong = [k for k, v in shared.items() if v.shape != own[k].shape]
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if wrong or missing or not shared:
        if wrong:
            first = wrong[0]
            shapes = f"{tuple(state[first].shape)} vs {tuple(own[first].shape)}"
            what = f"{len(wrong)} tensors of another shape (e.g. {first}: {shapes})"
        else:
            what = f"{len(missing)} of its {len(own)} tensors are missing (e.g. {missing[0]})"
        raise ConfigError(f"model.weights: {path} does not fit arch {arch!r}: {what}")
    backbone.load_state_dict(shared, strict=False)


def _drop_classifier(model: nn.Module, arch: str) -> tuple[nn.Module, int]:
    """``model`` with its last ``nn.Linear`` (the classifier) replaced by an identity, and the
    width of the features that fed it."""
    named = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not named:
        raise ConfigError(f"model.arch: torchvision model {arch!r} has no linear classifier")
    name, last = named[-1]
    parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    setattr(parent, name.rpartition(".")[2], nn.Identity())
    return model, last.in_features


def torchvision_backbone(arch: str, weights: str | None, load: bool) -> tuple[nn.Module, int]:
    """torchvision model ``arch`` without its classifier, and its feature width; weights loaded
    only when ``load``."""
    try:
        from torchvision import models
    except ImportError:
        raise ConfigError(
            "model.name=torchvision needs torchvision (pip install torchvision)"
        ) from None
    if arch not in models.list_models():
        raise ConfigError(f"bad value for config key 'model.arch': no torchvision model {arch!r}")
    name = weights if (load and weights is not None and not is_weights_file(weights)) else None
    try:
        model = models.get_model(arch, weights=name)
    except (ValueError, KeyError) as err:
        raise ConfigError(f"model.weights: {name!r} are not weights of {arch!r} ({err})") from None
    except OSError as err:  # offline, or the download failed
        raise ConfigError(
            f"model.weights: cannot download {name!r} for {arch!r} ({err}); give a local file"
        ) from None
    model, width = _drop_classifier(model, arch)
    if load and weights is not None and is_weights_file(weights):
        load_weights_file(model, Path(weights), arch)
    return model, width


def timm_backbone(arch: str, weights: str | None, load: bool) -> tuple[nn.Module, int]:
    """timm model ``arch`` without its classifier (``num_classes=0``: pooled features), and its
    feature width; weights loaded only when ``load``."""
    try:
        import timm
    except ImportError:
        raise ConfigError("model.name=timm needs timm (pip install 'unshift[timm]')") from None
    download = load and weights is not None and not is_weights_file(weights)
    tag = None if not download or weights == "pretrained" else weights
    try:
        model = timm.create_model(
            arch if tag is None else f"{arch}.{tag}", pretrained=download, num_classes=0
        )
    except RuntimeError as err:
        raise ConfigError(f"bad value for config key 'model.arch': {err}") from None
    except OSError as err:
        raise ConfigError(
            f"model.weights: cannot download {weights!r} for {arch!r} ({err}); give a local file"
        ) from None
    if load and weights is not None and is_weights_file(weights):
        load_weights_file(model, Path(weights), arch)
    return model, int(model.num_features)


def _networks(cfg: BackboneConfig, data: TaskData, backbone: nn.Module, width: int) -> Networks:
    if len(data.input_shape) != 3:
        raise ConfigError(
            f"model {cfg.name} takes images (C, H, W); the data has {data.input_shape}"
        )
    if not isinstance(data.num_classes, int):
        raise ConfigError(f"model {cfg.name} has one label output; the task has {data.num_classes}")
    layers: list[nn.Module] = [mark_part(backbone, "backbone"), nn.Flatten()]
    if cfg.bottleneck:
        layers += [nn.Linear(width, cfg.bottleneck), nn.BatchNorm1d(cfg.bottleneck), nn.ReLU()]
        width = cfg.bottleneck
    head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(width, data.num_classes))
    return Networks(nn.Sequential(*layers), head, width)


@MODELS.register("torchvision", BackboneConfig)
def torchvision_networks(cfg: BackboneConfig, data: TaskData) -> Networks:
    """A torchvision backbone (``cfg.arch``) → bottleneck → linear label head."""
    load = not data.meta.get("placeholder", False)
    backbone, width = torchvision_backbone(cfg.arch, cfg.weights, load)
    return _networks(cfg, data, backbone, width)


@MODELS.register("timm", BackboneConfig)
def timm_networks(cfg: BackboneConfig, data: TaskData) -> Networks:
    """A timm backbone (``cfg.arch``) → bottleneck → linear label head."""
    load = not data.meta.get("placeholder", False)
    backbone, width = timm_backbone(cfg.arch, cfg.weights, load)
    return _networks(cfg, data, backbone, width)
