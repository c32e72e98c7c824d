"""MCC's class confusion, Deep CORAL and MDD's margin disparity against hand computations."""

import math

import numpy as np
import pytest
import torch

from unshift.nn import class_confusion_loss, coral_loss
from unshift.nn.losses import margin_disparity_loss


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_class_confusion_matches_the_papers_steps_by_hand():
    rng = np.random.default_rng(0)
    logits, temperature = rng.normal(size=(6, 3)) * 2, 2.5
    probs = softmax(logits / temperature)
    entropy = -(probs * np.log(probs + 1e-5)).sum(axis=1)
    weights = 1 + np.exp(-entropy)
    weights = 6 * weights / weights.sum()
    matrix = np.zeros((3, 3))
    for j in range(3):
        for k in range(3):
            matrix[j, k] = sum(weights[i] * probs[i, j] * probs[i, k] for i in range(6))
    for j in range(3):
        matrix[j] /= matrix[j].sum()
    expected = (matrix.sum() - np.trace(matrix)) / 3
    got = class_confusion_loss(torch.tensor(logits, dtype=torch.float64), temperature)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_class_confusion_is_zero_when_certain_and_highest_when_uniform():
    certain = torch.eye(4)[[0, 1, 2, 3, 0, 1]] * 200.0
    assert class_confusion_loss(certain).item() == pytest.approx(0.0, abs=1e-6)
    uniform = torch.zeros(5, 4)
    assert class_confusion_loss(uniform).item() == pytest.approx(3 / 4)
    logits = torch.randn(8, 4, requires_grad=True)
    class_confusion_loss(logits).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="temperature must be > 0"):
        class_confusion_loss(logits, 0.0)


def test_coral_matches_the_frobenius_distance_of_covariances_by_hand():
    rng = np.random.default_rng(1)
    fs, ft = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) * 2 + 1
    d = 3

    def cov(f: np.ndarray) -> np.ndarray:
        centred = f - f.mean(axis=0)
        return centred.T @ centred / (len(f) - 1)

    expected = ((cov(fs) - cov(ft)) ** 2).sum() / (4 * d * d)
    got = coral_loss(torch.tensor(fs), torch.tensor(ft))
    assert got.item() == pytest.approx(expected, rel=1e-6)
    same = torch.tensor(fs, dtype=torch.float32)
    assert coral_loss(same, same + 3.0).item() == pytest.approx(0.0, abs=1e-6)  # shift: no change
    with pytest.raises(ValueError, match="at least 2 samples"):
        coral_loss(same[:1], same)


def test_coral_gradient_by_torch_func_equals_autograd():
    fs, ft = torch.randn(6, 4), torch.randn(6, 4)
    by_func = torch.func.grad(coral_loss)(fs, ft)
    leaf = fs.clone().requires_grad_()
    coral_loss(leaf, ft).backward()
    assert torch.allclose(by_func, leaf.grad)


def test_margin_disparity_matches_hand_computation_and_leaves_the_main_head_alone():
    rng = np.random.default_rng(2)
    ls, advs, lt, advt = (rng.normal(size=(4, 3)) for _ in range(4))
    margin = 4.0
    ys, yt = ls.argmax(1), lt.argmax(1)
    ps, pt = softmax(advs), softmax(advt)
    source = -np.mean([math.log(ps[i, ys[i]]) for i in range(4)])
    target = -np.mean([math.log(1 - pt[i, yt[i]] + 1e-6) for i in range(4)])
    tensors = [torch.tensor(a, requires_grad=True) for a in (ls, advs, lt, advt)]
    got = margin_disparity_loss(*tensors, margin=margin)
    assert got.item() == pytest.approx(margin * source + target, rel=1e-6)
    got.backward()
    assert tensors[0].grad is None and tensors[2].grad is None  # argmax: no gradient
    assert tensors[1].grad.abs().sum() > 0 and tensors[3].grad.abs().sum() > 0
