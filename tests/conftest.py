import numpy as np
import pytest


def random_code(rng, d, K):
    """K random unit vectors in R^d as columns, shape (d, K)."""
    W = rng.standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
