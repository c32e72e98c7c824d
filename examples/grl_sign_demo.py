"""The classic gradient-reversal demonstration.

A chain ``net1 → GRL → net2 → net3`` is trained one step on a cross-entropy loss, once with the
GRL and once without it, from the same weights and data. Expected: net1's gradients are exactly
the negatives of those without the GRL (times coeff = 1), net2's and net3's are identical.

Run: ``python examples/grl_sign_demo.py``
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from unshift.nn import GradientReversal


def gradients(chain: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> list[list[torch.Tensor]]:
    """One backward pass of cross-entropy; the gradients of each of the chain's three nets."""
    chain.zero_grad()
    nn.functional.cross_entropy(chain(x), y).backward()
    nets = [m for m in chain if not isinstance(m, GradientReversal)]
    return [[p.grad.clone() for p in net.parameters()] for net in nets]


def compare(seed: int = 0) -> dict[str, dict[str, float]]:
    """Gradients with the GRL against gradients without it, per net.

    Returns, for ``net1``..``net3``, the largest ``|g_grl + g_plain|`` (0 when exactly negated)
    and the largest ``|g_grl - g_plain|`` (0 when identical).
    """
    torch.manual_seed(seed)
    net1 = nn.Sequential(nn.Linear(8, 16), nn.Tanh())
    net2 = nn.Sequential(nn.Linear(16, 16), nn.Tanh())
    net3 = nn.Linear(16, 3)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    plain = nn.Sequential(net1, net2, net3)
    reversed_ = copy.deepcopy(nn.Sequential(net1, GradientReversal(1.0), net2, net3))
    g_plain = gradients(plain, x, y)
    g_grl = gradients(reversed_, x, y)
    result = {}
    for i, (a, b) in enumerate(zip(g_grl, g_plain, strict=True), start=1):
        result[f"net{i}"] = {
            "max_abs_sum": max(float((ga + gb).abs().max()) for ga, gb in zip(a, b, strict=True)),
            "max_abs_diff": max(float((ga - gb).abs().max()) for ga, gb in zip(a, b, strict=True)),
        }
    return result


def main() -> None:
    result = compare()
    print("net1 → GRL → net2 → net3, one cross-entropy step, with and without the GRL")
    print(
        f"net1 (before the GRL): grads exactly negated:  max|g_grl + g_plain| = "
        f"{result['net1']['max_abs_sum']:.1e}"
    )
    for name in ("net2", "net3"):
        print(
            f"{name} (after the GRL):  grads identical:        max|g_grl - g_plain| = "
            f"{result[name]['max_abs_diff']:.1e}"
        )


if __name__ == "__main__":
    main()
