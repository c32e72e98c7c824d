import pytest
import torch

from unshift.nn import DomainDiscriminator


def test_two_domains_give_one_logit():
    disc = DomainDiscriminator(32)
    assert disc(torch.randn(10, 32)).shape == (10, 1)
    assert disc.out_features == 1


@pytest.mark.parametrize("k", [3, 5])
def test_k_domains_give_k_logits(k):
    disc = DomainDiscriminator(16, num_domains=k, hidden=(8,))
    assert disc(torch.randn(7, 16)).shape == (7, k)


def test_non_flat_features_are_flattened():
    disc = DomainDiscriminator(2 * 3 * 4, hidden=(8,))
    assert disc(torch.randn(5, 2, 3, 4)).shape == (5, 1)


def test_batch_norm_and_dropout_are_optional():
    plain = DomainDiscriminator(8, hidden=(4, 4), batch_norm=False, dropout=0.0)
    kinds = {type(m).__name__ for m in plain.modules()}
    assert "BatchNorm1d" not in kinds and "Dropout" not in kinds
    full = DomainDiscriminator(8, hidden=(4, 4))
    kinds = {type(m).__name__ for m in full.modules()}
    assert {"BatchNorm1d", "Dropout"} <= kinds


def test_wrong_width_names_expected_shape():
    disc = DomainDiscriminator(64, hidden=(8,))
    with pytest.raises(ValueError, match=r"expects features of shape \(N, 64\); got \(4, 32\)"):
        disc(torch.randn(4, 32))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_domains": 1}, "num_domains must be >= 2"), ({"dropout": 1.0}, "dropout")],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DomainDiscriminator(8, **kwargs)
