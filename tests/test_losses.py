import math

import pytest
import torch
from torch import nn

from unshift.nn import AdversarialLoss, DomainDiscriminator
from unshift.nn.losses import adda_discriminator_loss, adda_mapping_loss, domain_loss
from unshift.nn.schedules import Constant


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_domain_loss_binary_matches_hand_written_bce():
    z = [0.3, -1.2, 2.0, 0.0]
    d = [1, 0, 0, 1]
    expected = -sum(
        y * math.log(sigmoid(v)) + (1 - y) * math.log(1 - sigmoid(v))
        for v, y in zip(z, d, strict=True)
    ) / len(z)
    got = domain_loss(torch.tensor(z, dtype=torch.float64)[:, None], torch.tensor(d))
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_domain_loss_k_way_matches_hand_written_cross_entropy():
    logits = [[1.0, 0.0, -1.0], [0.5, 2.0, 0.1]]
    d = [2, 1]
    expected = 0.0
    for row, y in zip(logits, d, strict=True):
        expected -= math.log(math.exp(row[y]) / sum(math.exp(v) for v in row))
    expected /= 2
    got = domain_loss(torch.tensor(logits, dtype=torch.float64), torch.tensor(d))
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_domain_loss_is_stable_for_large_logits():
    got = domain_loss(torch.tensor([[100.0], [-100.0]]), torch.tensor([0, 1]))
    assert float(got) == pytest.approx(100.0)


@pytest.mark.parametrize(
    "logits, domains, message",
    [
        (torch.zeros(3, 1), torch.tensor([0, 2, 1]), r"domain ids must lie in \[0, 1\]"),
        (torch.zeros(3, 4), torch.tensor([0, 4, 1]), r"domain ids must lie in \[0, 3\]"),
        (torch.zeros(3, 4), torch.tensor([0, -1, 1]), r"\[0, 3\]"),
        (torch.zeros(3, 1), torch.tensor([0.0, 1.0, 1.0]), "integer domain ids"),
        (torch.zeros(3, 1), torch.tensor([0, 1]), r"shape \(3,\)"),
        (torch.zeros(3), torch.tensor([0, 1, 1]), r"\(N, 1\) or \(N, K\)"),
    ],
)
def test_domain_loss_errors(logits, domains, message):
    with pytest.raises(ValueError, match=message):
        domain_loss(logits, domains)


def test_adversarial_loss_near_ln2_at_initialisation():
    for seed in range(5):
        torch.manual_seed(seed)
        adv = AdversarialLoss(256)
        loss = adv(torch.randn(64, 256), torch.randn(64, 256))
        assert loss.item() == pytest.approx(math.log(2), abs=0.01)


def _discriminator():
    return DomainDiscriminator(8, hidden=(16,), dropout=0.0)


def test_discriminator_gets_ordinary_and_features_reversed_gradients():
    torch.manual_seed(0)
    adv = AdversarialLoss(8, discriminator=_discriminator(), schedule=Constant(0.7))
    f_src = torch.randn(6, 8, requires_grad=True)
    f_tgt = torch.randn(4, 8, requires_grad=True)
    adv(f_src, f_tgt).backward()
    disc_grads = [p.grad.clone() for p in adv.discriminator.parameters()]

    # The same loss written out without the GRL.
    adv.discriminator.zero_grad()
    src_plain = f_src.detach().clone().requires_grad_()
    tgt_plain = f_tgt.detach().clone().requires_grad_()
    logits = adv.discriminator(torch.cat([src_plain, tgt_plain])).squeeze(1)
    bce = nn.functional.binary_cross_entropy_with_logits
    plain = 0.5 * (bce(logits[:6], torch.zeros(6)) + bce(logits[6:], torch.ones(4)))
    plain.backward()

    want_grads = [p.grad for p in adv.discriminator.parameters()]
    for got, want in zip(disc_grads, want_grads, strict=True):
        assert torch.allclose(got, want, atol=1e-7)
        assert want.abs().max() > 0
    assert torch.allclose(f_src.grad, -0.7 * src_plain.grad, atol=1e-7)
    assert torch.allclose(f_tgt.grad, -0.7 * tgt_plain.grad, atol=1e-7)


def test_progress_is_set_by_the_caller_only():
    adv = AdversarialLoss(8, discriminator=_discriminator())
    f = torch.randn(5, 8)
    for _ in range(3):
        adv(f, f)
        assert adv.progress == 0.0 and adv.last_coeff == 0.0
    adv.progress = 0.5
    adv(f, f)
    assert adv.last_coeff == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    with pytest.raises(ValueError, match=r"progress must lie in \[0, 1\]"):
        adv.progress = 1.5


def test_per_sample_weights_and_reductions_match_a_hand_computation():
    torch.manual_seed(0)
    adv = AdversarialLoss(8, discriminator=_discriminator(), schedule=Constant(1.0))
    adv.eval()  # no dropout: every call sees the same logits
    f_src, f_tgt = torch.randn(3, 8), torch.randn(2, 8)
    w = torch.tensor([1.0, 2.0, 3.0, 0.5, 1.5])
    logits = adv.discriminator(torch.cat([f_src, f_tgt])).squeeze(1)
    bce = nn.functional.binary_cross_entropy_with_logits(
        logits, torch.tensor([0.0, 0, 0, 1, 1]), reduction="none"
    )
    want = 0.5 * ((w[:3] * bce[:3]).sum() / w[:3].sum() + (w[3:] * bce[3:]).sum() / w[3:].sum())
    assert torch.allclose(adv(f_src, f_tgt, weights=w), want, atol=1e-6)
    assert torch.allclose(adv(f_src, f_tgt), 0.5 * (bce[:3].mean() + bce[3:].mean()), atol=1e-6)
    adv.reduction = "none"
    assert torch.allclose(adv(f_src, f_tgt, weights=w), w * bce, atol=1e-6)
    adv.reduction = "sum"
    assert torch.allclose(adv(f_src, f_tgt, weights=w), (w * bce).sum(), atol=1e-6)
    with pytest.raises(ValueError, match="weights must have shape"):
        adv(f_src, f_tgt, weights=torch.ones(3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        AdversarialLoss(8, reduction="max")


def test_last_domain_accuracy_is_exposed():
    adv = AdversarialLoss(1, discriminator=nn.Identity(), schedule=Constant(1.0))
    adv.progress = 0.0
    assert math.isnan(adv.last_domain_accuracy)
    # Identity "discriminator": logit = the feature; > 0 predicts target (domain 1).
    adv(torch.tensor([[-1.0], [2.0]]), torch.tensor([[3.0], [4.0]]))
    assert adv.last_domain_accuracy == pytest.approx(0.75)
    assert adv.last_coeff == 1.0


def test_k_domain_form_is_mean_of_per_domain_means():
    torch.manual_seed(0)
    disc = DomainDiscriminator(8, num_domains=3, hidden=(16,), dropout=0.0)
    adv = AdversarialLoss(8, num_domains=3, discriminator=disc, schedule=Constant(1.0))
    adv.progress = 0.0
    features = torch.randn(7, 8)
    domains = torch.tensor([0, 0, 0, 0, 1, 2, 2])
    loss = adv(features, domains)
    per_sample = nn.functional.cross_entropy(disc(features), domains, reduction="none")
    expected = (per_sample[:4].mean() + per_sample[4:5].mean() + per_sample[5:].mean()) / 3
    assert torch.allclose(loss, expected, atol=1e-6)
    # A domain absent from the batch does not count.
    loss_two = adv(features[:5], domains[:5])
    per_sample = nn.functional.cross_entropy(disc(features[:5]), domains[:5], reduction="none")
    assert torch.allclose(loss_two, (per_sample[:4].mean() + per_sample[4]) / 2, atol=1e-6)


def test_adversarial_loss_errors_name_expected_values():
    adv = AdversarialLoss(16, num_domains=3, discriminator=None)
    adv.progress = 0.5
    with pytest.raises(ValueError, match=r"shape \(N, 16\); got \(4, 12\)"):
        adv(torch.randn(4, 16), torch.randn(4, 12))
    with pytest.raises(ValueError, match=r"domain ids must lie in \[0, 2\]"):
        adv(torch.randn(4, 16), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="empty batch"):
        adv(torch.randn(0, 16), torch.tensor([], dtype=torch.long))


def test_adda_discriminator_loss_hand_computed():
    z_s = torch.tensor([2.0, -1.0], dtype=torch.float64)
    z_t = torch.tensor([[0.5], [-3.0], [1.0]], dtype=torch.float64)
    # Source is domain 0 and the logit is the target's log-odds, as for domain_loss.
    src = -(math.log(1 - sigmoid(2.0)) + math.log(1 - sigmoid(-1.0))) / 2
    tgt = -(math.log(sigmoid(0.5)) + math.log(sigmoid(-3.0)) + math.log(sigmoid(1.0)))
    expected = 0.5 * (src + tgt / 3)
    assert float(adda_discriminator_loss(z_s, z_t)) == pytest.approx(expected, rel=1e-12)
    ids = torch.tensor([0, 0, 1, 1, 1])
    both = torch.cat([z_s[:, None], z_t])
    per_domain = domain_loss(both, ids, reduction="none")
    same = 0.5 * (per_domain[:2].mean() + per_domain[2:].mean())
    assert float(adda_discriminator_loss(z_s, z_t)) == pytest.approx(float(same), rel=1e-12)


def test_adda_mapping_losses_hand_computed():
    z = [1.5, -0.5, 0.0]
    logits = torch.tensor(z, dtype=torch.float64)
    # D = σ(z) is the probability of "target"; gan labels the target batch source.
    gan = -sum(math.log(1 - sigmoid(v)) for v in z) / 3
    minimax = sum(math.log(sigmoid(v)) for v in z) / 3
    confusion = -sum(0.5 * math.log(sigmoid(v)) + 0.5 * math.log(1 - sigmoid(v)) for v in z) / 3
    assert float(adda_mapping_loss(logits, "gan")) == pytest.approx(gan, rel=1e-12)
    assert float(adda_mapping_loss(logits, "minimax")) == pytest.approx(minimax, rel=1e-12)
    assert float(adda_mapping_loss(logits[:, None], "confusion")) == pytest.approx(
        confusion, rel=1e-12
    )
    with pytest.raises(ValueError, match="objective must be one of"):
        adda_mapping_loss(logits, "wasserstein")


def test_confusion_is_minimised_at_chance():
    z = torch.tensor([0.0, 3.0, -3.0], requires_grad=True)
    loss = adda_mapping_loss(z, "confusion")
    (grad,) = torch.autograd.grad(loss, z)
    assert grad[0] == 0 and grad[1] > 0 and grad[2] < 0
