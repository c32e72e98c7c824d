"""MCC, MDD and Deep CORAL as methods: their losses are the building blocks' on the batch, and
DANN/CDAN take MCC's term as a weight."""

import pytest
import torch
from torch import nn

from unshift.methods import CDAN, DANN, MCC, MDD, DeepCORAL
from unshift.nn import class_confusion_loss, coral_loss
from unshift.nn.losses import margin_disparity_loss


def networks(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU()), nn.Linear(8, 3)


def batch() -> tuple[list, list]:
    torch.manual_seed(1)
    return [(torch.randn(6, 2), torch.randint(0, 3, (6,)))], [torch.randn(5, 2)]


def test_mcc_and_coral_add_their_weighted_term_to_the_source_loss():
    sources, targets = batch()
    for cls, term, weight in ((MCC, "class_confusion_loss", 0.7), (DeepCORAL, "coral_loss", 2.0)):
        method = cls(*networks(), weight=weight)
        loss, logs = method.joint_step(sources, targets)
        f_s, f_t = method.features(sources[0][0]), method.features(targets[0])
        label = nn.functional.cross_entropy(method.label_head(f_s), sources[0][1])
        extra = class_confusion_loss(method.label_head(f_t)) if cls is MCC else coral_loss(f_s, f_t)
        assert torch.allclose(loss, label + weight * extra, atol=1e-6)
        assert torch.allclose(logs[term], extra, atol=1e-6)


def test_mdd_trains_its_adversarial_head_on_the_margin_disparity_through_a_grl():
    sources, targets = batch()
    method = MDD(*networks(), margin=4.0, weight=0.5, schedule=0.1)
    assert method.adversarial_head is not method.label_head
    first = next(method.adversarial_head.parameters())
    assert not torch.equal(first, next(method.label_head.parameters()))  # freshly initialised
    loss, logs = method.joint_step(sources, targets)
    f = method.features(torch.cat([sources[0][0], targets[0]]))
    logits, adv = method.label_head(f), method.adversarial_head(f)
    disparity = margin_disparity_loss(logits[:6], adv[:6], logits[6:], adv[6:], 4.0)
    assert torch.allclose(logs["disparity_loss"], disparity, atol=1e-6)
    method.zero_grad()
    loss.backward()
    head_grad = method.adversarial_head.weight.grad.clone()
    method.zero_grad()
    (0.5 * disparity).backward()
    assert torch.allclose(head_grad, method.adversarial_head.weight.grad, atol=1e-6)
    assert method.predict(targets[0]).shape == (5, 3)


@pytest.mark.parametrize("cls", [DANN, CDAN])
def test_dann_and_cdan_add_mccs_term_with_their_mcc_weight(cls):
    sources, targets = batch()
    extra = {"num_classes": 3} if cls is CDAN else {}
    method = cls(*networks(), feature_dim=8, schedule=1.0, **extra).eval()
    plain, _ = method.joint_step(sources, targets)
    method.mcc = 0.5
    with_mcc, logs = method.joint_step(sources, targets)
    confusion = class_confusion_loss(method.predict(targets[0]))
    assert torch.allclose(with_mcc - plain, 0.5 * confusion, atol=1e-6)
    assert torch.allclose(logs["class_confusion_loss"], confusion, atol=1e-6)
    with pytest.raises(ValueError, match="mcc"):
        cls(*networks(), feature_dim=8, mcc=-1.0, **extra)
