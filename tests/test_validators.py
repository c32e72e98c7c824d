"""Every validator against a value computed by hand, and against the behaviour it promises."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from unshift.core.errors import DataError
from unshift.data.domains import Domain
from unshift.methods.base import Method
from unshift.runs.mixval import mix_agreement
from unshift.runs.transfer_score import classifier_weight, hopkins, transfer_score, uniformity
from unshift.runs.validation_data import row_entropy
from unshift.runs.validators import (
    VALIDATORS,
    ValidationData,
    batch_nuclear_norm,
    class_ami,
    deep_embedded_validation,
    deep_embedded_validation_normalized,
    dev_risk,
    entropy,
    information_maximization,
    mano,
    mixval,
    mixval_inter,
    mixval_intra,
    soft_neighborhood_density,
    source_val_accuracy,
    source_val_accuracy_im,
)


class Fixed(Method):
    """Inputs are the class logits: features = inputs, an identity head."""

    def __init__(self) -> None:
        super().__init__(nn.Identity(), nn.Identity())


LOGITS = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def softmax_rows(rows):
    out = []
    for r in rows:
        e = [math.exp(v) for v in r]
        out.append([v / sum(e) for v in e])
    return out


def h(p):
    return -sum(v * math.log(v) for v in p if v > 0)


P = softmax_rows(LOGITS.tolist())
TARGET = ValidationData(Domain(LOGITS))


def test_entropy_im_and_bnm_by_hand():
    assert entropy(Fixed(), TARGET) == pytest.approx(-sum(h(p) for p in P) / 3, rel=1e-6)
    mean = [sum(p[c] for p in P) / 3 for c in range(2)]
    im = h(mean) - sum(h(p) for p in P) / 3
    assert information_maximization(Fixed(), TARGET) == pytest.approx(im, rel=1e-6)
    nuclear = np.linalg.svd(np.array(P), compute_uv=False).sum()
    assert batch_nuclear_norm(Fixed(), TARGET) == pytest.approx(nuclear / 3, rel=1e-6)


def test_snd_by_hand():
    unit = [[v / math.sqrt(sum(x * x for x in p)) for v in p] for p in P]
    total = 0.0
    for i in range(3):
        others = [j for j in range(3) if j != i]
        sims = [sum(a * b for a, b in zip(unit[i], unit[j], strict=True)) / 0.05 for j in others]
        e = [math.exp(s - max(sims)) for s in sims]
        total += h([v / sum(e) for v in e])
    assert soft_neighborhood_density(Fixed(), TARGET) == pytest.approx(total / 3, rel=1e-6)


def test_source_val_accuracy_by_hand_and_needs_labels():
    data = ValidationData(Domain(LOGITS), Domain(LOGITS, torch.tensor([0, 1, 1])))
    assert source_val_accuracy(Fixed(), data) == pytest.approx(2 / 3)  # [1, 1] argmax is 0
    with pytest.raises(DataError, match="labelled source validation data"):
        source_val_accuracy(Fixed(), TARGET)


def test_source_val_accuracy_im_adds_normalised_im_by_hand():
    data = ValidationData(Domain(LOGITS), Domain(LOGITS, torch.tensor([0, 1, 1])))
    mean = [sum(p[c] for p in P) / 3 for c in range(2)]
    im = h(mean) - sum(h(p) for p in P) / 3
    expected = 2 / 3 + 0.05 * im / math.log(2)
    assert source_val_accuracy_im(Fixed(), data) == pytest.approx(expected, rel=1e-6)


def test_dev_risk_formula_by_hand():
    loss, w = np.array([1.0, 2.0, 4.0]), np.array([0.5, 1.0, 1.5])
    wl = w * loss
    eta = -np.cov(wl, w)[0, 1] / np.var(w, ddof=1)
    assert dev_risk(loss, w) == pytest.approx(wl.mean() + eta * w.mean() - eta)
    assert dev_risk(loss, np.ones(3)) == pytest.approx(loss.mean())  # constant w: η = 0


def _blobs(n, shift, seed):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    centre = (y[:, None] * 2 - 1) * torch.tensor([-2.0, 2.0])  # class 0 at (2, -2)
    x = torch.randn(n, 2, generator=gen) * 0.5 + centre + shift
    return x, y


def test_dev_weights_are_near_one_when_source_and_target_agree():
    xs, ys = _blobs(400, 0.0, 0)
    xt, _ = _blobs(400, 0.0, 1)
    same = ValidationData(Domain(xt), Domain(xs, ys))
    p = torch.softmax(xs, 1)
    mean_loss = float(-p[torch.arange(400), ys].log().mean())
    assert -deep_embedded_validation(Fixed(), same) == pytest.approx(mean_loss, rel=0.1)
    xt_far, _ = _blobs(400, 3.0, 1)
    assert -deep_embedded_validation_normalized(
        Fixed(), ValidationData(Domain(xt_far), same.source_val)
    ) != pytest.approx(mean_loss, rel=0.1)


def test_confident_balanced_classifiers_beat_collapsed_ones():
    confident = torch.tensor([[3.0, 0.0], [0.0, 3.0]]).repeat(50, 1)
    collapsed = torch.tensor([[0.4, 0.0]]).repeat(100, 1)
    for validator in (entropy, information_maximization, batch_nuclear_norm):
        good = validator(Fixed(), ValidationData(Domain(confident)))
        bad = validator(Fixed(), ValidationData(Domain(collapsed)))
        assert good > bad, validator.__name__


def test_class_ami_is_high_when_predictions_follow_the_clusters():
    x, _ = _blobs(200, 0.0, 0)
    noise = torch.randn(200, 2, generator=torch.Generator().manual_seed(1))
    assert class_ami(Fixed(), ValidationData(Domain(x))) > 0.9
    assert class_ami(Fixed(), ValidationData(Domain(noise))) < 0.5


def test_every_validator_is_registered_and_never_reads_target_labels():
    x, y = _blobs(60, 0.0, 0)
    labelled_target = Domain(x, torch.full((60,), 7))  # labels out of range: unreadable
    data = ValidationData(labelled_target, Domain(x, y))
    scores = {name: fn(Linear2(torch.eye(2)), data) for name, fn in VALIDATORS.items()}
    assert all(math.isfinite(v) for v in scores.values())
    assert len(VALIDATORS) == 14


def test_source_validation_data_is_held_out_of_training_and_fixed_across_seeds():
    from unshift.core.errors import ConfigError
    from unshift.training.build import build_data
    from unshift.training.config import load_config

    from .conftest import CONFIGS

    cfg = load_config(CONFIGS / "moons/dann.yaml", ["data.source_val_fraction=0.2"])
    data = build_data(cfg)
    assert len(data.source_val) == 60 and len(data.sources[0]) == 240
    train = {tuple(r) for r in data.sources[0].x.tolist()}
    assert not train & {tuple(r) for r in data.source_val.x.tolist()}
    val = ValidationData.from_task(data)
    assert val.target.y is None and val.source_val is data.source_val
    again = build_data(load_config(CONFIGS / "moons/dann.yaml", ["data.source_val_fraction=0.2"]))
    assert torch.equal(again.source_val.x, data.source_val.x)
    assert build_data(load_config(CONFIGS / "moons/dann.yaml")).source_val is None
    with pytest.raises(ConfigError, match=r"'data\.source_val_fraction': must lie in \[0, 1\)"):
        load_config(CONFIGS / "moons/dann.yaml", ["data.source_val_fraction=1.5"])


def test_mixval_by_hand():
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.5], [3.0, 0.5], [0.2, 0.0]])
    perm = torch.randperm(5, generator=torch.Generator().manual_seed(0)).tolist()
    rows = x.tolist()
    pseudo = [max(range(2), key=r.__getitem__) for r in rows]
    agree, same = [], []
    for i, j in enumerate(perm):
        mix = [0.55 * a + 0.45 * b for a, b in zip(rows[i], rows[j], strict=True)]
        agree.append(max(range(2), key=mix.__getitem__) == pseudo[i])
        same.append(pseudo[i] == pseudo[j])
    data = ValidationData(Domain(x))
    got_agree, got_same = mix_agreement(Fixed(), data)
    assert got_agree.tolist() == agree and got_same.tolist() == same
    inter = [a for a, s in zip(agree, same, strict=True) if not s]
    intra = [a for a, s in zip(agree, same, strict=True) if s]
    assert inter and intra, "the case must probe both groups"
    assert mixval_inter(Fixed(), data) == pytest.approx(sum(inter) / len(inter))
    assert mixval_intra(Fixed(), data) == pytest.approx(sum(intra) / len(intra))
    both = (sum(inter) / len(inter) + sum(intra) / len(intra)) / 2
    assert mixval(Fixed(), data) == pytest.approx(both)


class Shifted(Method):
    """Inputs are logits before a bias: the decision boundary moves off the midpoint."""

    def __init__(self, bias: float) -> None:
        head = nn.Linear(2, 2)
        with torch.no_grad():
            head.weight.copy_(torch.eye(2))
            head.bias.copy_(torch.tensor([bias, 0.0]))
        super().__init__(nn.Identity(), head)


def test_mixval_prefers_the_boundary_between_the_clusters():
    gen = torch.Generator().manual_seed(3)
    a = torch.tensor([4.0, 0.0]) + 0.3 * torch.randn(100, 2, generator=gen)
    b = torch.tensor([0.0, 4.0]) + 0.3 * torch.randn(100, 2, generator=gen)
    data = ValidationData(Domain(torch.cat([a, b])))
    centred, skewed = Shifted(0.0), Shifted(2.5)  # both label every sample as its cluster
    for model in (centred, skewed):
        assert (model.predict(data.target.x).argmax(1) == torch.arange(200).ge(100)).all()
    assert mixval_inter(centred, data) > 0.95
    assert mixval_inter(skewed, data) < 0.7
    assert mixval(centred, data) > mixval(skewed, data)
    collapsed = ValidationData(Domain(a))
    assert mixval_inter(Fixed(), collapsed) == 0.0  # no pair across classes: no credit


def test_mano_by_hand_both_normalisations():
    taylor = [[5 / 6, 1 / 6], [1 / 3.5, 2.5 / 3.5], [0.5, 0.5]]  # (1 + z + z²/2), normalised
    expected = (sum(v**4 for r in taylor for v in r) / 6) ** 0.25
    assert mano(Fixed(), TARGET) == pytest.approx(expected, rel=1e-9)
    confident = LOGITS * 20  # mean −log softmax > 5: softmax
    soft = softmax_rows(confident.tolist())
    expected = (sum(v**4 for r in soft for v in r) / 6) ** 0.25
    assert mano(Fixed(), ValidationData(Domain(confident))) == pytest.approx(expected, rel=1e-9)


def test_hopkins_by_hand():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    probes = torch.tensor([[2.0, 0.0], [0.0, 1.0]])  # nearest rows at 1.0 and 1.0
    sample = torch.tensor([0, 2])  # nearest other rows at 1.0 and 3.0
    assert hopkins(x, probes, sample) == pytest.approx(2.0 / (2.0 + 4.0))


def test_uniformity_by_hand():
    simplex = torch.tensor([[1.0, 0.0], [-0.5, math.sqrt(3) / 2], [-0.5, -math.sqrt(3) / 2]])
    assert uniformity(simplex) == pytest.approx(0.0, abs=1e-12)
    right_angle = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # 90° apart; two classes want 180°
    assert uniformity(right_angle) == pytest.approx((math.pi / 2) ** 2)


class Linear2(Method):
    """Features = inputs; a linear head with the given weight (no bias)."""

    def __init__(self, weight: torch.Tensor) -> None:
        head = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        head.weight.data = weight
        super().__init__(nn.Identity(), nn.Sequential(nn.ReLU(), head))


def test_transfer_score_is_its_three_terms_and_rewards_clusters():
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([4.0, 0.0]) + 0.2 * torch.randn(200, 2, generator=gen)
    b = torch.tensor([0.0, 4.0]) + 0.2 * torch.randn(200, 2, generator=gen)
    clustered = ValidationData(Domain(torch.cat([a, b])))
    spread = ValidationData(Domain(4 * torch.rand(400, 2, generator=gen)))
    even, uneven = Linear2(torch.eye(2) - 0.5), Linear2(torch.eye(2))  # 180° vs 90° apart
    f, p = clustered.target.x, torch.softmax(even.classify(clustered.target.x), 1).detach()
    im = float(row_entropy(p.mean(0)) - row_entropy(p).mean()) / math.log(2)
    g = torch.Generator().manual_seed(0)
    sample = torch.randperm(400, generator=g)[:20]
    lo, hi = f.min(0).values, f.max(0).values
    probes = lo + (hi - lo) * torch.rand(20, 2, generator=g)
    expected = hopkins(f, probes, sample) + im - 0.0
    assert transfer_score(even, clustered) == pytest.approx(expected, rel=1e-6)
    assert transfer_score(even, clustered) > transfer_score(even, spread) + 0.2
    assert transfer_score(even, clustered) - transfer_score(uneven, clustered) > 1.0
    with pytest.raises(DataError, match="linear"):
        transfer_score(Fixed(), clustered)


def test_transfer_score_reads_the_networks_last_linear_layer_when_the_head_has_none():
    whole = Fixed()
    whole.feature_extractor = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    whole.discriminator = nn.Linear(2, 1)  # not the classifier, though registered after it
    assert classifier_weight(whole) is whole.feature_extractor[2].weight
