"""The large-K path: spread_code on nearest-neighbour pairs (spherecodes.solvers.large_k)."""
import sys
import time

import numpy as np
import pytest

from spherecodes.measures import max_inner_product
from spherecodes.solvers import large_k
from spherecodes.solvers.large_k import exact_max_inner_product, neighbor_lists, spread_code

try:
    import torch
except ImportError:  # pragma: no cover - the numpy path is tested either way
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def _dense_max(W):
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


def _random(d, K, seed):
    W = np.random.default_rng(seed).standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def test_result_is_a_code_and_reported_max_is_exact():
    W, info = spread_code(8, 200, seed=0, max_iter=150, backend="numpy")
    assert W.shape == (8, 200) and W.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=1e-14)
    assert info["max_inner_product"] == pytest.approx(_dense_max(W), abs=1e-14)
    assert info["max_inner_product"] == pytest.approx(max_inner_product(W), abs=1e-14)
    i, j = info["pair"]
    assert W[:, i] @ W[:, j] == pytest.approx(info["max_inner_product"], abs=1e-14)
    assert info["iterations"] == 150 and info["status"] == "max_iter"
    assert info["backend"] == "numpy" and info["device"] == "cpu" and info["peak_bytes_estimate"] > 0
    # far better than where it started
    assert info["max_inner_product"] < _dense_max(_random(8, 200, 0)) - 0.2


def test_time_limit_is_respected():
    spread_code(4, 50, max_iter=2, backend="numpy")      # imports (scipy.sparse) out of the clock
    t = time.perf_counter()
    W, info = spread_code(16, 2000, seed=1, time_limit=1.0, backend="numpy")
    elapsed = time.perf_counter() - t
    assert elapsed < 1.0 + 1.0, elapsed                          # overshoot within a second
    assert info["status"] == "time_limit" and info["iterations"] > 0
    assert info["max_inner_product"] == pytest.approx(_dense_max(W), abs=1e-14)


def test_seed_and_iterations_reproduce_the_code():
    a, ia = spread_code(8, 200, seed=3, max_iter=60, backend="numpy")
    b, ib = spread_code(8, 200, seed=3, max_iter=60, backend="numpy")
    c, _ = spread_code(8, 200, seed=4, max_iter=60, backend="numpy")
    np.testing.assert_array_equal(a, b)
    assert ia["max_inner_product"] == ib["max_inner_product"]
    assert not np.array_equal(a, c)


@needs_torch
def test_torch_path_reproduces_and_agrees_with_numpy():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # small tensors: thread hand-offs cost more than they save
    try:
        _torch_vs_numpy()
    finally:
        torch.set_num_threads(threads)


def _torch_vs_numpy():
    kw = dict(seed=2, max_iter=150)
    Wn, n = spread_code(8, 200, backend="numpy", **kw)
    Wt, t = spread_code(8, 200, backend="torch", device="cpu", **kw)
    Wt2, _ = spread_code(8, 200, backend="torch", device="cpu", **kw)
    np.testing.assert_array_equal(Wt, Wt2)
    assert t["backend"] == "torch" and t["device"] == "cpu"
    assert t["max_inner_product"] == pytest.approx(_dense_max(Wt), abs=1e-14)
    # same algorithm, same start: same quality (float32 rounding differs)
    assert abs(t["max_inner_product"] - n["max_inner_product"]) < 0.01
    start = _dense_max(_random(8, 200, 2))
    assert max(t["max_inner_product"], n["max_inner_product"]) < start - 0.2


@pytest.mark.parametrize("m", [1, 3, 10])
def test_neighbor_lists_hold_the_max_pair_and_bound_the_rest(m):
    W = _random(6, 150, m)
    pairs, inner, s = neighbor_lists(W, m)
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    assert np.all(pairs[:, 0] < pairs[:, 1])
    np.testing.assert_allclose(inner, G[pairs[:, 0], pairs[:, 1]], atol=1e-14)
    assert inner.max() == pytest.approx(G.max(), abs=1e-14)
    listed = np.zeros_like(G, dtype=bool)
    listed[pairs[:, 0], pairs[:, 1]] = listed[pairs[:, 1], pairs[:, 0]] = True
    np.fill_diagonal(listed, True)
    bound = np.minimum(s[:, None], s[None, :])
    assert np.all(G[~listed] <= bound[~listed] + 1e-14)


def test_certified_iterates_never_miss_the_true_max_pair():
    """At every step the certificate holds, the listed max is the dense max (float32 rounding)."""
    seen = []

    def check(state):
        if state["certified"]:
            seen.append(abs(state["listed_max"] - _dense_max(state["code"]())))

    for m in (4, 16):
        spread_code(8, 300, seed=5, max_iter=120, n_neighbors=m, backend="numpy", callback=check)
    assert len(seen) > 20
    assert max(seen) < 1e-5


def test_exact_max_clears_rows_by_the_certificate():
    W = _random(5, 400, 7)
    pairs, inner, s = neighbor_lists(W, 8)
    value, pair, rows = exact_max_inner_product(W, pairs=pairs, s=s, moved=np.zeros(400))
    assert value == pytest.approx(_dense_max(W), abs=1e-15) and rows < 400
    # lie about the lists (drop the best pair): the certificate must recompute and still find it
    top = int(np.argmax(inner))
    keep = np.ones(len(pairs), bool)
    keep[top] = False
    value2, _, rows2 = exact_max_inner_product(W, pairs=pairs[keep], s=np.maximum(s, inner[top]), moved=np.zeros(400))
    assert value2 == pytest.approx(_dense_max(W), abs=1e-15) and rows2 >= 2


def test_callback_can_stop_the_run():
    W, info = spread_code(8, 100, seed=0, max_iter=500, callback=lambda st: st["iteration"] >= 7)
    assert info["status"] == "callback" and info["iterations"] == 7


@pytest.mark.parametrize("kwargs, name", [
    (dict(d=0), "d"), (dict(K=1), "K"), (dict(time_limit=-1), "time_limit"),
    (dict(time_limit=float("nan")), "time_limit"), (dict(time_limit="5"), "time_limit"),
    (dict(time_limit=10**400), "time_limit"), (dict(max_iter=-1), "max_iter"),
    (dict(n_neighbors=0), "n_neighbors"), (dict(n_neighbors=50), "n_neighbors"),
    (dict(device="tpu"), "device"), (dict(backend="jax"), "backend"), (dict(dtype="float16"), "dtype"),
    (dict(betas=(0, 1)), "betas"), (dict(lrs="fast"), "lrs"), (dict(block_size=0), "block_size"),
    (dict(callback=3), "callback"), (dict(seed="x"), "seed"), (dict(init=np.ones((3, 50))), "init"),
    (dict(device="cuda", backend="numpy"), "backend"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    args = dict(d=4, K=50, max_iter=1)
    args.update(kwargs)
    d, K = args.pop("d"), args.pop("K")
    with pytest.raises(ValueError, match=name):
        spread_code(d, K, **args)


def test_cuda_without_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)     # "import torch" now raises ImportError
    monkeypatch.setattr(large_k, "_TORCH", [])
    with pytest.raises(ImportError, match=r"spherecodes\[train\]"):
        spread_code(4, 50, device="cuda", max_iter=1)
    W, info = spread_code(4, 50, max_iter=5)       # "auto" falls back to numpy
    assert info["backend"] == "numpy"


@needs_torch
@pytest.mark.skipif(torch is not None and torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_requested_without_a_gpu_is_a_value_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        spread_code(4, 50, device="cuda", max_iter=1)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(device=0), TypeError, "device must be a string"),
    (dict(device="cuda:x"), ValueError, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    (dict(seed=-1), ValueError, "seed must be non-negative"),
    (dict(seed=1.5), ValueError, "seed must be None, a non-negative int"),
    (dict(betas=("2", 2000.0)), TypeError, r"betas\[0\] must be a real number"),
    (dict(lrs=(0.05, True)), TypeError, r"lrs\[1\] must be a real number"),
])
def test_device_and_seed_checks_are_the_solvers(kwargs, error, match):
    """The solvers' own device and seed checks (were local copies: "cuda:x" passed, seed=-1 got
    numpy's message, betas=("2", ...) was cast from the string)."""
    with pytest.raises(error, match=match):
        spread_code(4, 50, max_iter=1, backend="numpy", **kwargs)


def test_seed_sequence_is_a_seed_as_for_numpy():
    a, _ = spread_code(4, 30, seed=np.random.SeedSequence(3), max_iter=5, backend="numpy")
    b, _ = spread_code(4, 30, seed=np.random.default_rng(3), max_iter=5, backend="numpy")
    np.testing.assert_array_equal(a, b)


def test_softmax_code_takes_the_large_k_path_and_certifies():
    """From K = LARGE_K on, softmax_code runs spread_code and certifies the result with the hull
    kernel; ``executor="serial"`` is honoured there (one certification thread), any other is ignored."""
    import warnings

    from spherecodes import softmax_code
    from spherecodes.executor import SerialExecutor
    from spherecodes.solvers.settings import LARGE_K

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = softmax_code(8, LARGE_K, seed=0, time_limit=1.0, executor="serial")
    assert code.method == "numeric:large-k" and code.W.shape == (8, LARGE_K)
    assert code.rho_lower <= code.rho_one_vs_rest <= code.rho_upper
    G = code.W.T @ code.W
    np.fill_diagonal(G, -1.0)
    assert code.max_inner_product == pytest.approx(G.max(), abs=1e-12)
    # the hyperplane <x, w_k> = max_j <w_j, w_k> separates w_k from the others: rho >= 1 - max <w_i, w_j>
    assert code.rho_upper >= 1.0 - G.max() - 1e-12
    with pytest.warns(UserWarning, match="executor ignored"):
        softmax_code(8, LARGE_K, seed=0, time_limit=1.0, executor=SerialExecutor())


def test_large_k_time_limit_covers_the_certificate(monkeypatch):
    """The search stops early enough for the certificate to fit in time_limit: with a
    certificate estimated at 1.5 s, an 8 s call stops searching at its first check (2 s),
    1.2 * 1.5 + 1 s before the limit, instead of at 8 s."""
    from spherecodes import hull, softmax_code
    from spherecodes.solvers.settings import LARGE_K

    monkeypatch.setattr(hull, "certification_seconds", lambda W, **options: 1.5)
    code = softmax_code(8, LARGE_K, seed=0, time_limit=8.0, executor="serial")
    assert code.status == "time_limit" and "early" in code.message
    assert code.timings["search"] < 6.5 and code.timings["total"] <= 8.0 + 2.0
    assert "certified_classes" not in code.settings          # the whole certificate ran


def test_large_k_certificate_that_cannot_fit_is_cut_by_the_time_limit(monkeypatch):
    """With a certificate estimated at 100 s, a 6 s call does not stop searching at its first
    check: the search keeps 0.1 of the limit (plus a Gram pass and 2 s) for the
    certificate, which runs under the time left (one_vs_rest_distances' time_limit)."""
    from spherecodes import hull, softmax_code
    from spherecodes.solvers.settings import LARGE_K

    monkeypatch.setattr(hull, "certification_seconds", lambda W, **options: 100.0)
    seen = {}
    real = hull.one_vs_rest_distances

    def spy(W, **kwargs):
        seen.update(kwargs, start=time.perf_counter())
        return real(W, **kwargs)

    monkeypatch.setattr(hull, "one_vs_rest_distances", spy)
    t0 = time.perf_counter()
    code = softmax_code(8, LARGE_K, seed=0, time_limit=6.0, executor="serial")
    assert code.timings["search"] > 2.5           # not stopped at the first check (1.5 s)
    assert seen["time_limit"] is not None
    # the limit is what is left of the 6 s (from_W's checks of W, before the call, take a little)
    assert seen["time_limit"] <= 6.0 - (seen["start"] - t0) + 0.5
    assert code.timings["total"] <= 6.0 + 2.0
    assert code.rho_lower <= code.rho_one_vs_rest <= code.rho_upper


@pytest.mark.parametrize("gram", [False, True])
def test_certification_seconds_times_classes_for_at_most_max_seconds(monkeypatch, gram):
    """With ``max_seconds`` the estimate times only the classes that fit (a first one, then
    chunks of half the time left): a fake kernel of 10 ms a class, asked for 256 classes
    in 0.3 s, solves about 30 of them (all 256 without the limit) and still estimates
    0.01 s a class."""
    from types import SimpleNamespace

    from spherecodes import hull

    timed = []

    def fake(classes):
        time.sleep(0.01 * classes.size)
        timed.append(classes.size)

    if gram:
        monkeypatch.setattr(hull, "_kernel", lambda: SimpleNamespace(
            solve_classes_gram=lambda WT, W, G, ks, *rest: fake(ks)))
    else:
        monkeypatch.setattr(hull, "_ovr_blocked", lambda WT, W, m0, tol, B, pool, n_jobs, ks: fake(ks))
    W = _random(4, 1000, 0)
    for limit, most in ((0.3, 31), (None, 256)):
        timed.clear()
        estimate = hull.certification_seconds(W, sample=256, gram=gram, max_seconds=limit)
        n = sum(timed[1:])                            # the first call only loads the kernels
        assert (10 <= n <= most) if limit else n == most
        assert 0.01 * 1000 <= estimate <= 0.015 * 1000 + (1.0 if gram else 0.0)


def test_certification_seconds_checks_its_options():
    from spherecodes.hull import certification_seconds

    W = _random(4, 50, 0)
    for gram in (None, True, False):
        assert 0.0 < certification_seconds(W, sample=10, gram=gram) < 60.0
    with pytest.raises(TypeError, match="gram"):
        certification_seconds(W, gram="yes")
    with pytest.raises(ValueError, match="sample"):
        certification_seconds(W, sample=0)
    with pytest.raises(TypeError, match="n_jobs"):
        certification_seconds(W, n_jobs="2")
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="max_seconds"):
            certification_seconds(W, max_seconds=bad)


def test_large_k_search_stops_a_step_before_its_reserve(monkeypatch):
    """The search stops when its next step would end inside the certificate's reserve: with
    1.5 s steps and an 8 s limit whose certificate cannot fit (reserve 0.8 + 2 s and a Gram
    pass), it stops after the step ending at 4.5 s (4.5 + 1.5 >= 5.2), not at 6 s."""
    from spherecodes import hull, softmax_code
    from spherecodes.solvers import large_k as lk
    from spherecodes.solvers.settings import LARGE_K

    monkeypatch.setattr(hull, "certification_seconds", lambda W, **options: 100.0)
    W = _random(8, LARGE_K, 0)
    stops = []

    def fake_spread_code(d, K, *, seed, time_limit, device, callback):
        t0 = time.perf_counter()
        for it in range(1, 20):
            time.sleep(1.5)
            if callback(dict(iteration=it, seconds=time.perf_counter() - t0, best=0.5, code=lambda: W.copy())):
                break
        stops.append(time.perf_counter() - t0)
        return W, dict(status="callback", backend="numpy", device="cpu", n_neighbors=16, iterations=it,
                       max_inner_product=0.5, dtype="float64", seconds=stops[-1])

    monkeypatch.setattr(lk, "spread_code", fake_spread_code)
    code = softmax_code(8, LARGE_K, seed=0, time_limit=8.0, executor="serial")
    assert code.status == "time_limit"
    assert 4.0 < stops[0] < 5.2
