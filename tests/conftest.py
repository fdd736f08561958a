import numpy as np
import pytest
from hypothesis import settings

# Property tests draw from a fixed seed sequence so that CI runs are reproducible.
settings.register_profile("spherecodes", derandomize=True, deadline=None)
settings.load_profile("spherecodes")


def random_code(rng, d, K):
    """K random unit vectors in R^d as columns, shape (d, K)."""
    W = rng.standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
