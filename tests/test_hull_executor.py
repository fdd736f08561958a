"""one_vs_rest_distances(executor=...): blocks of classes on an Executor, bit-identical to the serial path."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from spherecodes import one_vs_rest_distances
from spherecodes.executor import get_executor
from conftest import random_code
from reference import cvxpy_one_vs_rest


def assert_identical(a, b):
    for name in ("distance", "lower", "upper", "nearest", "converged"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.weights != b.weights).nnz == 0


@pytest.fixture(scope="module")
def code():
    return random_code(np.random.default_rng(8), 10, 300)


def test_local_dask_cluster_equals_serial(code):
    """A real distributed.LocalCluster (in-process workers: starts in about a second)."""
    distributed = pytest.importorskip("distributed")
    serial = one_vs_rest_distances(code, gram=False, block_size=23)
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = one_vs_rest_distances(code, block_size=23, executor=client.get_executor())
        with get_executor(cluster.scheduler_address) as ex:          # the project's Dask wrapper
            res2 = one_vs_rest_distances(code, block_size=23, executor=ex)
    assert_identical(res, serial)
    assert_identical(res2, serial)
    for k in (0, 299):    # and the values are right, not only equal
        assert res.distance[k] == pytest.approx(cvxpy_one_vs_rest(code, k), abs=1e-8)


def test_thread_pool_and_project_executors_equal_serial(code):
    serial = one_vs_rest_distances(code, gram=False)
    with ThreadPoolExecutor(3) as ex:
        assert_identical(one_vs_rest_distances(code, executor=ex), serial)
    with get_executor("serial") as ex:
        assert_identical(one_vs_rest_distances(code, executor=ex, n_jobs=2), serial)


def test_executor_options_are_checked(code):
    with pytest.raises(ValueError, match="gram=True cannot be combined with executor"):
        one_vs_rest_distances(code, gram=True, executor=ThreadPoolExecutor(1))
    with pytest.raises(TypeError, match="executor must be"):
        one_vs_rest_distances(code, executor="local")
