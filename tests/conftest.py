import importlib.util
import sys
from pathlib import Path

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


BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(name):
    """A script of benchmarks/ as a module, its ``main`` not run (``name`` without ``.py``)."""
    sys.path.insert(0, str(BENCH))      # the scripts import each other
    try:
        spec = importlib.util.spec_from_file_location(f"{name}_under_test", BENCH / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
    return mod
