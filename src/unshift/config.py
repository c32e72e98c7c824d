"""Typed run configs: YAML files in ``configs/`` plus ``key=value`` overrides.

The schema is a tree of dataclasses; OmegaConf merges a YAML file and dotted overrides into it
and rejects unknown keys and values of the wrong type. Range checks follow in
:func:`validate`. Every failure is a :class:`~unshift.errors.ConfigError` with one line naming
the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from unshift.errors import ConfigError
from unshift.losses import MAPPING_OBJECTIVES

METHODS = ("source_only", "target_only", "dann", "adda")
ADAPT_AT = ("features", "logits")
DATASETS = ("moons", "files", "digits", "captcha")
MODELS = ("mlp", "dann_mnist", "captcha_cnn")
ACTIVATIONS = ("relu", "tanh", "sigmoid")


@dataclass
class DataConfig:
    """Which task. ``moons``: rotated two moons (``angle`` in degrees, ``n_train``/``n_test``
    per domain, ``noise``). ``files``: feature files (svmlight, .npz, .mat or .csv, see
    :mod:`unshift.data.tabular`) at ``source``, ``target`` and optional ``source_test`` /
    ``target_test``; a target file's labels are never trained on except by ``target_only``.
    ``n_features`` fixes the width of svmlight files, ``label_column`` names the CSV label
    column, ``transform`` ``log1p`` maps features ``v`` to ``log(1 + v)`` (counts; keeps
    sparsity), ``standardize`` scales by the source training mean and deviation.
    ``digits``: ``source`` and ``target`` name datasets (``mnist``, ``usps``, ``mnist_m``) read
    from ``root/<name>`` (or the directory ``dirs[<name>]``), their train splits for training
    and test splits for testing, matched to ``channels`` (1 or 3: grey repeated, colour
    averaged) and ``image_size``×``image_size`` pixels (bilinear); ``max_train``/``max_test``
    keep the first so many images of each split; ``image_norm`` ``per_channel`` makes the
    network's first layer standardise each channel by the mean and deviation of all training
    images (source and target; no labels), ``none`` feeds pixels in ``[0, 1]``.
    ``captcha``: generated captchas (:mod:`unshift.data.captcha`) of ``length`` characters
    from ``alphabet``, ``source`` and ``target`` name styles (``plain``, ``noisy``), fonts from
    the directory ``fonts``, ``n_train``/``n_test`` images per domain, drawn from
    ``data_seed`` (the training seed leaves the data unchanged)."""

    name: str = "moons"
    angle: float = 35.0
    n_train: int = 300
    n_test: int = 1000
    noise: float = 0.1
    source: str | None = None
    target: str | None = None
    source_test: str | None = None
    target_test: str | None = None
    standardize: bool = False
    n_features: int | None = None
    label_column: str = "label"
    transform: str = "none"
    root: str | None = None
    dirs: dict[str, str] = field(default_factory=dict)
    channels: int = 1
    image_size: int = 28
    max_train: int | None = None
    max_test: int | None = None
    image_norm: str = "none"
    fonts: str | None = None
    length: int = 3
    alphabet: str = "0123456789"
    data_seed: int = 0


@dataclass
class ModelConfig:
    """``mlp``: an MLP feature extractor (``hidden`` widths, ``activation`` relu|tanh|sigmoid)
    and a linear label head. ``dann_mnist``: the DANN paper's MNIST network
    (:mod:`unshift.models.digits`). ``captcha_cnn``: the captcha network
    (:mod:`unshift.models.captcha`), one head per character (``hidden``/``activation`` unused
    by both)."""

    name: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [32, 32])
    activation: str = "relu"


@dataclass
class DiscriminatorConfig:
    """The domain discriminator ``G_d`` (see :class:`~unshift.nn.DomainDiscriminator`)."""

    hidden: list[int] = field(default_factory=lambda: [32])
    batch_norm: bool = False
    dropout: float = 0.0


@dataclass
class MethodConfig:
    """``source_only``, ``target_only`` (train on labelled target data: the upper bound),
    ``dann`` or ``adda``. For DANN: the λ ``schedule`` (a schedule config), ``separate_passes``,
    ``k_d`` (0: joint updates; ``k >= 1``: alternating) and the discriminator. For ADDA:
    ``pretrain_steps`` of source training (phase 1; the rest of ``trainer.steps`` is phase 2),
    the mapping ``objective`` (gan|minimax|confusion), ``k_d >= 1`` discriminator and ``k_g``
    target-encoder steps per step, ``shared_layers`` (first children of the encoder shared,
    frozen), the discriminator, and ``adapt_at``: ``features`` (``M`` is the feature extractor,
    the discriminator sees its output) or ``logits`` (``M`` is the whole network and the
    discriminator sees the class logits, as in the ADDA authors' code)."""

    name: str = "dann"
    schedule: dict[str, Any] = field(
        default_factory=lambda: {"name": "dann_lambda", "gamma": 10.0, "lo": 0.0, "hi": 1.0}
    )
    separate_passes: bool = False
    k_d: int = 0
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    pretrain_steps: int = 0
    objective: str = "gan"
    k_g: int = 1
    shared_layers: int = 0
    adapt_at: str = "features"


@dataclass
class OptimConfig:
    """``sgd`` or ``adam``; ``lr_schedule`` ``dann`` (``lr / (1 + alpha p)^beta``) or
    ``constant``; ``lr_scale`` multiplies ``lr`` for the named optimisers (``main`` for a
    method with one; DANN with ``k_d >= 1``: ``main``, ``discriminator``; ADDA: ``source``,
    ``discriminator``, ``target``)."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    lr_schedule: str = "dann"
    lr_alpha: float = 10.0
    lr_beta: float = 0.75
    lr_scale: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainerConfig:
    """Loop length and periods (in steps; 0: never), Fabric's device settings, and
    ``channels_last`` memory order for image models (faster convolutions and pooling)."""

    steps: int = 1000
    batch_size: int = 64
    log_every: int = 10
    eval_every: int = 0
    checkpoint_every: int = 100
    accelerator: str = "cpu"
    devices: int = 1
    precision: str = "32-true"
    strategy: str = "auto"
    num_nodes: int = 1
    progress_bar: bool | None = None
    channels_last: bool = False


@dataclass
class ReportConfig:
    """``baseline``: a run directory whose model is drawn beside this one (2-D data)."""

    baseline: str | None = None


@dataclass
class RunConfig:
    """A whole run."""

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def with_steps(self, steps: int) -> RunConfig:
        """This config with ``trainer.steps`` set to ``steps`` (e.g. ADDA's phase 1 alone)."""
        return replace(self, trainer=replace(self.trainer, steps=steps))


def _explain(err: OmegaConfBaseException) -> str:
    key = getattr(err, "full_key", None) or "?"
    msg = str(err).splitlines()[0]
    if isinstance(err, (ConfigKeyError, ConfigAttributeError)):
        hint = msg.split(". ", 1)[1] if ". Did you mean" in msg else ""
        return f"unknown config key '{key}'" + (f" ({hint})" if hint else "")
    if isinstance(err, ValidationError):
        return f"bad value for config key '{key}': {msg}"
    return f"config error at '{key}': {msg}"


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from err
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return content


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"--set takes key=value; got '{item}'")
    key, text = item.split("=", 1)
    if not key:
        raise ConfigError(f"--set takes key=value; got '{item}'")
    try:
        value = yaml.safe_load(text) if text else None
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}: cannot read the value '{text}'") from err
    return key.strip(), value


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """The YAML file at ``path`` (if any) with ``key=value`` ``overrides`` applied, validated."""
    schema = OmegaConf.structured(RunConfig)
    try:
        merged: DictConfig = schema
        if path is not None:
            merged = OmegaConf.merge(merged, _read_yaml(Path(path)))  # type: ignore[assignment]
        for item in overrides or []:
            key, value = _parse_override(item)
            OmegaConf.update(merged, key, value, merge=True, force_add=False)
        config: RunConfig = OmegaConf.to_object(merged)  # type: ignore[assignment]
    except OmegaConfBaseException as err:
        raise ConfigError(_explain(err)) from None
    validate(config)
    return config


def validate(config: RunConfig) -> None:
    """Range and choice checks that types alone cannot express."""
    checks: list[tuple[bool, str]] = [
        (config.method.name in METHODS, f"method.name must be one of {list(METHODS)}"),
        (config.data.name in DATASETS, f"data.name must be one of {list(DATASETS)}"),
        (config.model.name in MODELS, f"model.name must be one of {list(MODELS)}"),
        (config.data.channels in (1, 3), "data.channels must be 1 or 3"),
        (config.data.image_size >= 1, "data.image_size must be >= 1"),
        (config.data.image_norm in ("none", "per_channel"), "data.image_norm: none|per_channel"),
        (
            all(v is None or v >= 1 for v in (config.data.max_train, config.data.max_test)),
            "data.max_train/max_test must be >= 1",
        ),
        (config.model.activation in ACTIVATIONS, f"model.activation: one of {list(ACTIVATIONS)}"),
        (config.optim.name in ("sgd", "adam"), "optim.name must be 'sgd' or 'adam'"),
        (config.optim.lr > 0, "optim.lr must be > 0"),
        (
            all(v > 0 for v in config.optim.lr_scale.values()),
            "optim.lr_scale values must be > 0",
        ),
        (config.optim.lr_schedule in ("dann", "constant"), "optim.lr_schedule: dann|constant"),
        (config.trainer.steps >= 1, "trainer.steps must be >= 1"),
        (config.trainer.batch_size >= 1, "trainer.batch_size must be >= 1"),
        (config.trainer.devices >= 1, "trainer.devices must be >= 1"),
        (config.method.k_d >= 0, "method.k_d must be >= 0"),
        (
            config.method.name != "adda" or config.method.k_d >= 1,
            "method.k_d must be >= 1 for adda (discriminator steps per step)",
        ),
        (config.method.k_g >= 1, "method.k_g must be >= 1"),
        (config.method.shared_layers >= 0, "method.shared_layers must be >= 0"),
        (
            config.method.adapt_at in ADAPT_AT,
            f"method.adapt_at must be one of {list(ADAPT_AT)}",
        ),
        (
            config.method.adapt_at == "features" or config.method.name == "adda",
            "method.adapt_at=logits is an adda setting",
        ),
        (
            0 <= config.method.pretrain_steps < config.trainer.steps,
            "method.pretrain_steps must be in [0, trainer.steps)",
        ),
        (
            config.method.objective in MAPPING_OBJECTIVES,
            f"method.objective must be one of {list(MAPPING_OBJECTIVES)}",
        ),
        (0 <= config.method.discriminator.dropout < 1, "method.discriminator.dropout in [0, 1)"),
        (len(config.model.hidden) >= 1, "model.hidden needs at least one width"),
        (all(h >= 1 for h in config.model.hidden), "model.hidden widths must be >= 1"),
        (config.data.n_train >= 1 and config.data.n_test >= 1, "data.n_train/n_test >= 1"),
        (config.data.noise >= 0, "data.noise must be >= 0"),
        (config.data.transform in ("none", "log1p"), "data.transform must be none or log1p"),
        (len(config.optim.betas) == 2, "optim.betas needs two numbers"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"bad config value: {message}")
    if config.data.name == "files" and (config.data.source is None or config.data.target is None):
        raise ConfigError("data.name=files needs data.source and data.target (feature files)")
    if config.data.name == "captcha":
        from unshift.data.captcha import STYLES

        for role in ("source", "target"):
            if getattr(config.data, role) not in STYLES:
                raise ConfigError(f"data.name=captcha needs data.{role} in {list(STYLES)}")
        if config.data.fonts is None:
            raise ConfigError(
                "data.name=captcha needs data.fonts (a directory of .ttf/.otf fonts), e.g. "
                "--set data.fonts=../shared/data/fonts"
            )
        if config.data.length < 1 or len(set(config.data.alphabet)) < 2:
            raise ConfigError("data.length must be >= 1 and data.alphabet hold >= 2 characters")
    if config.data.name == "digits":
        from unshift.data.images import DIGIT_DATASETS

        names = [(role, getattr(config.data, role)) for role in ("source", "target")]
        for role, name in names:
            if name not in DIGIT_DATASETS:
                raise ConfigError(
                    f"data.name=digits needs data.{role} in {list(DIGIT_DATASETS)}; got {name!r}"
                )
        for _, name in names:
            if config.data.root is None and name not in config.data.dirs:
                raise ConfigError(
                    f"data.name=digits needs data.root (a directory holding {name}/) or "
                    f"data.dirs.{name}; e.g. --set data.root=../shared/data"
                )


def to_yaml(config: RunConfig) -> str:
    """The resolved config as YAML (what ``config.yaml`` in a run directory holds)."""
    return OmegaConf.to_yaml(OmegaConf.structured(config))
