"""CDAN(+E) against hand-written references: the multilinear map, its randomized form, the
entropy weights, gradients through the GRL, and a seeded run on rotated moons."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unshift.methods import CDAN
from unshift.models import mlp
from unshift.nn import (
    ConditionalAdversarialLoss,
    RandomizedMultilinearMap,
    entropy_weights,
    multilinear_map,
)
from unshift.nn.schedules import Constant


def test_multilinear_map_is_the_flattened_outer_product():
    f = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    g = torch.tensor([[0.25, 0.75], [1.0, 0.0]])
    out = multilinear_map(f, g)
    assert out.shape == (2, 6)
    for n in range(2):
        for i in range(3):
            for j in range(2):
                assert out[n, i * 2 + j] == f[n, i] * g[n, j]
    with pytest.raises(ValueError, match=r"needs features \(N, F\) and predictions \(N, C\)"):
        multilinear_map(f, g[:1])


def test_randomized_map_uses_its_fixed_matrices():
    rmap = RandomizedMultilinearMap(5, 3, out_features=16, seed=1)
    f, g = torch.randn(4, 5), torch.softmax(torch.randn(4, 3), 1)
    expected = (f @ rmap.R_f) * (g @ rmap.R_g) / math.sqrt(16)
    assert torch.allclose(rmap(f, g), expected)
    again = RandomizedMultilinearMap(5, 3, out_features=16, seed=1)
    assert torch.equal(again.R_f, rmap.R_f) and torch.equal(again.R_g, rmap.R_g)
    assert {name for name, _ in rmap.named_buffers()} == {"R_f", "R_g"}
    assert not list(rmap.parameters())  # fixed: never trained


def test_entropy_weights_by_hand():
    uniform, certain = torch.full((1, 4), 0.25), torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(entropy_weights(uniform), torch.tensor([1.0 + 0.25]))  # 1 + 1/C
    assert torch.allclose(entropy_weights(certain), torch.tensor([2.0]))
    p = torch.tensor([[0.9, 0.1]])
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert torch.allclose(entropy_weights(p), torch.tensor([1 + math.exp(-h)]))


def _loss(entropy_conditioning, randomized=False):
    torch.manual_seed(0)
    disc = nn.Sequential(nn.Linear(6 if not randomized else 8, 4), nn.ReLU(), nn.Linear(4, 1))
    return ConditionalAdversarialLoss(
        3, 2, disc, Constant(0.5), randomized=randomized, randomized_dim=8,
        entropy_conditioning=entropy_conditioning,
    )  # fmt: skip


def _inputs():
    gen = torch.Generator().manual_seed(1)
    f_s, f_t = torch.randn(5, 3, generator=gen), torch.randn(7, 3, generator=gen)
    g_s, g_t = torch.randn(5, 2, generator=gen), torch.randn(7, 2, generator=gen)
    return f_s.requires_grad_(), g_s.requires_grad_(), f_t.requires_grad_(), g_t.requires_grad_()


@pytest.mark.parametrize("entropy_conditioning", [False, True], ids=["CDAN", "CDAN+E"])
def test_value_and_gradients_match_a_hand_written_loss(entropy_conditioning):
    loss_mod = _loss(entropy_conditioning)
    f_s, g_s, f_t, g_t = _inputs()
    value = loss_mod(f_s, g_s, f_t, g_t)
    value.backward()
    grads = [None if t.grad is None else t.grad.clone() for t in (f_s, g_s, f_t, g_t)]
    disc_grads = [p.grad.clone() for p in loss_mod.adversarial.discriminator.parameters()]

    ref = _loss(entropy_conditioning)
    f_s2, g_s2, f_t2, g_t2 = (t.detach().clone().requires_grad_() for t in (f_s, g_s, f_t, g_t))
    p_s, p_t = F.softmax(g_s2, 1).detach(), F.softmax(g_t2, 1).detach()
    h_s = (f_s2[:, :, None] * p_s[:, None, :]).flatten(1)
    h_t = (f_t2[:, :, None] * p_t[:, None, :]).flatten(1)
    d = ref.adversarial.discriminator
    l_s = F.binary_cross_entropy_with_logits(d(h_s).squeeze(1), torch.zeros(5), reduction="none")
    l_t = F.binary_cross_entropy_with_logits(d(h_t).squeeze(1), torch.ones(7), reduction="none")
    if entropy_conditioning:
        w_s = 1 + torch.exp((p_s * p_s.log()).sum(1))
        w_t = 1 + torch.exp((p_t * p_t.log()).sum(1))
        hand = 0.5 * ((w_s * l_s).sum() / w_s.sum() + (w_t * l_t).sum() / w_t.sum())
    else:
        hand = 0.5 * (l_s.mean() + l_t.mean())
    assert torch.allclose(value, hand, atol=1e-6)
    hand.backward()
    # Features: the hand loss's gradient reversed and scaled by λ = 0.5.
    assert torch.allclose(grads[0], -0.5 * f_s2.grad, atol=1e-6)
    assert torch.allclose(grads[2], -0.5 * f_t2.grad, atol=1e-6)
    # Predictions enter detached; the discriminator gets ordinary gradients.
    assert grads[1] is None and grads[3] is None
    for mine, theirs in zip(disc_grads, d.parameters(), strict=True):
        assert torch.allclose(mine, theirs.grad, atol=1e-6)


def test_randomized_by_default_only_for_wide_maps_and_at_chance_near_ln2():
    assert not ConditionalAdversarialLoss(64, 10).randomized  # 640 wide
    wide = ConditionalAdversarialLoss(768, 10)  # 7680 > 4096
    assert wide.randomized and wide.map_dim == 1024
    loss = _loss(False, randomized=True)
    with torch.no_grad():
        loss.adversarial.discriminator[-1].weight.zero_()
        loss.adversarial.discriminator[-1].bias.zero_()
    assert torch.isclose(loss(*_inputs()), torch.tensor(math.log(2)), atol=1e-6)
    with pytest.raises(ValueError, match=r"expects logits of shape \(N, 2\)"):
        loss(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 2))


def test_cdan_method_step_logs_and_trains_the_features():
    torch.manual_seed(0)
    method = CDAN(mlp(2, [8]), nn.Linear(8, 2), feature_dim=8, num_classes=2, schedule=0.3)
    xs, ys, xt = torch.randn(6, 2), torch.randint(0, 2, (6,)), torch.randn(8, 2)
    loss, logs = method([(xs, ys)], [xt])
    assert {"label_loss", "domain_loss", "coeff", "domain_acc"} <= set(logs)
    assert float(logs["coeff"]) == pytest.approx(0.3)
    assert torch.isclose(loss, logs["label_loss"] + logs["domain_loss"])
    with pytest.raises(ValueError, match="CDAN adapts one source to one target"):
        method([(xs, ys), (xs, ys)], [xt])


def test_cdan_target_entropy_adds_its_weighted_term():
    xs, ys, xt = torch.randn(6, 2), torch.randint(0, 2, (6,)), torch.randn(8, 2)

    def build(weight):
        torch.manual_seed(0)
        return CDAN(
            mlp(2, [8]), nn.Linear(8, 2), feature_dim=8, num_classes=2, target_entropy=weight
        )

    plain, weighted = build(0.0), build(0.3)
    torch.manual_seed(1)  # the same dropout masks in the default discriminator
    loss_a, logs_a = plain([(xs, ys)], [xt])
    torch.manual_seed(1)
    loss_b, logs_b = weighted([(xs, ys)], [xt])
    p = torch.softmax(plain.predict(xt), 1)
    entropy = -(p * p.log()).sum(1).mean()
    assert "target_entropy" not in logs_a
    assert torch.allclose(logs_b["target_entropy"], entropy)
    assert torch.allclose(loss_b, loss_a + 0.3 * entropy, atol=1e-6)
    with pytest.raises(ValueError, match="target_entropy must be a finite weight >= 0"):
        build(float("nan"))
