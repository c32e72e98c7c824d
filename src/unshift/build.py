"""From a config to the objects that run it: data, method, trainer; and back from a run dir."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from unshift.config import RunConfig, load_config
from unshift.data.captcha import captcha_task
from unshift.data.domains import Domain, TaskData, as_float
from unshift.data.images import load_digits, match_images
from unshift.data.moons import rotated_moons
from unshift.data.tabular import SVMLIGHT, file_format, load_features
from unshift.errors import ConfigError, DataError, RunDirError
from unshift.methods import ADDA, DANN, Method, SourceOnly
from unshift.models import mlp
from unshift.models.captcha import captcha_feature_dim, captcha_features, captcha_head
from unshift.models.digits import FEATURES, dann_mnist_features, dann_mnist_label_head
from unshift.models.inputs import ChannelStandardize
from unshift.nn import DomainDiscriminator, MultiOutputHead
from unshift.runs import RunDir
from unshift.schedules import schedule_from_config
from unshift.trainer import OptimizerSpec, Trainer, check_lr_scale


def _standardize(data: TaskData) -> TaskData:
    """Scale every domain by the source training mean and standard deviation (sparse inputs
    become dense: centring fills in the zeros)."""
    x = torch.cat([d.x.to_dense() for d in data.sources])
    mean, std = x.mean(0), x.std(0).clamp(min=1e-8)

    def scaled(d: Domain | None) -> Domain | None:
        return None if d is None else Domain((d.x.to_dense() - mean) / std, d.y, d.name)

    return dataclasses.replace(
        data,
        sources=[scaled(d) for d in data.sources],
        targets=[scaled(d) for d in data.targets],
        source_test=scaled(data.source_test),
        target_test=scaled(data.target_test),
    )


def _file_task(cfg: RunConfig) -> TaskData:
    d = cfg.data

    def load(path: str | None, labelled: bool) -> Domain | None:
        if path is None:
            return None
        domain = load_features(path, labelled, d.n_features, d.label_column)
        if d.transform == "log1p":
            domain.x = torch.log1p(domain.x)
        return domain

    source, target = load(d.source, True), load(d.target, False)
    assert source is not None and source.y is not None and target is not None
    svmlight = any(file_format(p) in SVMLIGHT for p in (d.source, d.target))  # type: ignore[arg-type]
    if source.x.shape[1:] != target.x.shape[1:] and d.n_features is None and svmlight:
        raise DataError(
            f"{d.target} has {target.x.shape[1]} features but {d.source} has "
            f"{source.x.shape[1]}; for svmlight files, which only list non-zero features, set "
            "data.n_features to the full width"
        )
    if len(torch.unique(source.y)) < 2:
        raise DataError(f"{d.source}: the source labels hold a single class; need at least 2")
    task = TaskData(
        [source],
        [target],
        num_classes=int(source.y.max()) + 1,
        source_test=load(d.source_test, True),
        target_test=load(d.target_test, False),
        meta={"task": f"{source.name} → {target.name}"},
    )
    return _standardize(task) if d.standardize else task


def _digit_task(cfg: RunConfig) -> TaskData:
    d = cfg.data

    def load(name: str, split: str, limit: int | None) -> Domain:
        directory = d.dirs.get(name) or str(Path(d.root or ".") / name)
        domain = match_images(load_digits(name, directory, split), d.channels, d.image_size)
        if limit is not None:
            domain = Domain(domain.x[:limit], domain.y[:limit], domain.name)  # type: ignore[index]
        return domain

    assert d.source is not None and d.target is not None
    return TaskData(
        [load(d.source, "train", d.max_train)],
        [load(d.target, "train", d.max_train)],
        num_classes=10,
        source_test=load(d.source, "test", d.max_test),
        target_test=load(d.target, "test", d.max_test),
        meta={"task": f"{d.source} → {d.target}"},
    )


def build_data(cfg: RunConfig) -> TaskData:
    """The task the config names, with sources swapped for labelled target data for
    ``target_only``."""
    if cfg.data.name == "moons":
        d = cfg.data
        data = rotated_moons(d.angle, d.n_train, d.n_test, d.noise, seed=cfg.seed)
        if d.standardize:
            data = _standardize(data)
    elif cfg.data.name == "digits":
        data = _digit_task(cfg)
    elif cfg.data.name == "captcha":
        d = cfg.data
        assert d.fonts is not None and d.source is not None and d.target is not None
        data = captcha_task(
            d.fonts, d.n_train, d.n_test, d.source, d.target, d.data_seed, d.length, d.alphabet
        )
    else:
        data = _file_task(cfg)
    if cfg.method.name == "target_only":
        if any(t.y is None for t in data.targets):
            raise DataError("method target_only needs labelled target training data")
        data = dataclasses.replace(data, sources=list(data.targets))
    return data


def _channel_standardize(data: TaskData, per_domain: int = 10000) -> ChannelStandardize:
    """Per-channel mean and deviation of the training images of every domain (the first
    ``per_domain`` of each; no labels)."""
    pixels = torch.cat([as_float(d.x[:per_domain]) for d in data.sources + data.targets])
    mean, std = pixels.mean((0, 2, 3)), pixels.std((0, 2, 3)).clamp(min=1e-6)
    return ChannelStandardize(mean.tolist(), std.tolist())


def _networks(cfg: RunConfig, data: TaskData) -> tuple[nn.Module, nn.Module, int]:
    """Feature extractor, label head and feature width for the config's model; with
    ``data.image_norm=per_channel`` the extractor starts with a :class:`ChannelStandardize`."""
    is_image = len(data.input_shape) == 3
    if cfg.model.name == "dann_mnist":
        if not is_image or data.input_shape[1:] != (28, 28):
            raise ConfigError(
                f"model dann_mnist takes (C, 28, 28) images; the data has samples of shape "
                f"{data.input_shape} (set data.image_size=28 for digit data)"
            )
        if not isinstance(data.num_classes, int):
            raise ConfigError(
                f"model dann_mnist has one label output; the task has {len(data.class_counts)} "
                "(use captcha_cnn or mlp for multi-output tasks)"
            )
        features = dann_mnist_features(data.input_shape[0])
        head, width = dann_mnist_label_head(data.num_classes), FEATURES
    elif cfg.model.name == "captcha_cnn":
        if not is_image:
            raise ConfigError(f"model captcha_cnn takes images; the data has {data.input_shape}")
        channels, height, image_width = data.input_shape
        width = captcha_feature_dim(height, image_width)
        features, head = captcha_features(channels), captcha_head(width, data.class_counts)
    else:
        in_features = int(torch.tensor(data.input_shape).prod())
        width = cfg.model.hidden[-1]
        features = mlp(in_features, cfg.model.hidden, cfg.model.activation)
        if isinstance(data.num_classes, int):
            head = nn.Linear(width, data.num_classes)
        else:
            head = MultiOutputHead(width, data.class_counts, hidden=0)
    if cfg.data.image_norm == "per_channel":
        if not is_image:
            raise ConfigError(f"data.image_norm=per_channel needs images; got {data.input_shape}")
        features = nn.Sequential(_channel_standardize(data), *features)
    return features, head, width


def _whole_network(
    features: nn.Module, head: nn.Module, data: TaskData
) -> tuple[nn.Module, nn.Module, int]:
    """ADDA's encoder as the whole network (its children in one ``nn.Sequential``, so that
    ``shared_layers`` counts layers), an identity classifier, and the logit width."""
    if not isinstance(data.num_classes, int):
        raise ConfigError("method.adapt_at=logits needs a single-output task")

    def layers(module: nn.Module) -> list[nn.Module]:
        return list(module) if isinstance(module, nn.Sequential) else [module]

    return nn.Sequential(*layers(features), *layers(head)), nn.Identity(), data.num_classes


def build_method(cfg: RunConfig, data: TaskData) -> Method:
    """The method and its networks, sized from the data, initialised from ``cfg.seed``."""
    method = _method(cfg, data)
    try:
        check_lr_scale(cfg.optim.lr_scale, list(method.param_groups()), cfg.method.name)
    except ValueError as err:
        raise ConfigError(f"bad value for config key 'optim.lr_scale': {err}") from None
    return method


def _method(cfg: RunConfig, data: TaskData) -> Method:
    torch.manual_seed(cfg.seed)
    features, head, width = _networks(cfg, data)
    if cfg.method.name in ("source_only", "target_only"):
        return SourceOnly(features, head)
    if cfg.method.adapt_at == "logits":
        features, head, width = _whole_network(features, head, data)
    disc = cfg.method.discriminator
    discriminator = DomainDiscriminator(
        width,
        2 if cfg.method.name == "adda" else data.num_domains,
        hidden=disc.hidden,
        batch_norm=disc.batch_norm,
        dropout=disc.dropout,
    )
    if cfg.method.name == "adda":
        if data.num_domains != 2:
            raise ConfigError(
                f"adda adapts one source to one target; the data has {data.num_domains} domains"
            )
        try:
            return ADDA(
                features,
                head,
                feature_dim=width,
                pretrain_steps=cfg.method.pretrain_steps,
                discriminator=discriminator,
                objective=cfg.method.objective,
                k_d=cfg.method.k_d,
                k_g=cfg.method.k_g,
                shared_layers=cfg.method.shared_layers,
            )
        except ValueError as err:
            raise ConfigError(f"bad value for config key 'method.shared_layers': {err}") from None
    try:
        schedule = schedule_from_config(cfg.method.schedule)
    except ValueError as err:
        raise ConfigError(f"bad value for config key 'method.schedule': {err}") from None
    return DANN(
        features,
        head,
        feature_dim=width,
        discriminator=discriminator,
        schedule=schedule,
        num_domains=data.num_domains,
        separate_passes=cfg.method.separate_passes,
        k_d=cfg.method.k_d,
    )


def build_trainer(cfg: RunConfig, run_dir: str | Path | None) -> Trainer:
    o, t = cfg.optim, cfg.trainer
    return Trainer(
        max_steps=t.steps,
        batch_size=t.batch_size,
        optimizer=OptimizerSpec(
            name=o.name,
            lr=o.lr,
            momentum=o.momentum,
            weight_decay=o.weight_decay,
            betas=(o.betas[0], o.betas[1]),
            lr_schedule=o.lr_schedule,
            lr_alpha=o.lr_alpha,
            lr_beta=o.lr_beta,
            lr_scale=dict(o.lr_scale),
        ),
        seed=cfg.seed,
        run_dir=run_dir,
        log_every=t.log_every,
        eval_every=t.eval_every,
        checkpoint_every=t.checkpoint_every,
        accelerator=t.accelerator,
        devices=t.devices,
        precision=t.precision,
        strategy=t.strategy,
        num_nodes=t.num_nodes,
        progress_bar=t.progress_bar,
        channels_last=t.channels_last,
    )


def train_from_config(cfg: RunConfig) -> dict:
    """Train the config's method on its data without a run directory; the final metrics."""
    data = build_data(cfg)
    return build_trainer(cfg, None).fit(build_method(cfg, data), data)


def load_run(run_dir: str | Path) -> tuple[RunConfig, TaskData, Method]:
    """The config, data and trained method of a finished (or checkpointed) run, on CPU."""
    run = RunDir(run_dir).require(checkpoint=True)
    cfg = load_config(run.config)
    data = build_data(cfg)
    method = build_method(cfg, data)
    try:
        state = torch.load(run.checkpoint, map_location="cpu", weights_only=True)
        method.load_state_dict(state["model"])
    except (RuntimeError, KeyError, OSError) as err:
        raise RunDirError(f"cannot load the checkpoint {run.checkpoint}: {err}") from None
    method.eval()
    return cfg, data, method
