import numpy as np
import pytest
import scipy.sparse

from unshift.eval import proxy_a_distance


def test_same_distribution_is_near_zero():
    rng = np.random.default_rng(0)
    d = proxy_a_distance(rng.normal(size=(600, 5)), rng.normal(size=(600, 5)))
    assert abs(d) < 0.25


def test_separated_distributions_are_near_two():
    rng = np.random.default_rng(1)
    d = proxy_a_distance(rng.normal(size=(400, 5)), rng.normal(size=(400, 5)) + 4.0)
    assert d > 1.9


def test_sparse_input_and_width_mismatch():
    a = scipy.sparse.random(300, 50, density=0.1, random_state=0, format="csr")
    b = scipy.sparse.random(300, 50, density=0.1, random_state=1, format="csr") * 5
    sparse = proxy_a_distance(a, b)
    assert sparse == pytest.approx(proxy_a_distance(a.toarray(), b.toarray()), abs=1e-6)
    assert sparse > 0.5  # the target's values are 5× larger: clearly separable
    with pytest.raises(ValueError, match="feature widths differ"):
        proxy_a_distance(np.ones((5, 2)), np.ones((5, 3)))
