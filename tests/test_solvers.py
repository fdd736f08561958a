"""Solvers on OB(d, K): closed forms, numeric solves from random starts, proven Tammes optima, HardMax."""
import math
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from scipy.optimize import nnls

from reference import cvxpy_hull_distance, cvxpy_one_vs_rest
from spherecodes import hardmax, softmax_code, tammes_code

SERIAL = dict(executor="serial")

# Proven optima of the Tammes problem in d = 3 (the smallest possible max inner product t* of K
# points on S^2).  Values as in Sloane's tables of spherical packings, recomputed from the published
# coordinates in ../shared/reference/best_known_tammes_d3.csv (status proven_optimal, 12 digits there):
TAMMES_D3 = {
    5: 0.0,                          # K = 5, 6: within the octahedron, t* = 0 (Rankin's bound, attained)
    6: 0.0,                          # the octahedron = cross-polytope, closed form (Theorem 3.3)
    7: 0.2101383127306031,           # Schuette & van der Waerden (1951); file: 0.210138312731
    8: (2 * math.sqrt(2) - 1) / 7,   # square antiprism, closed form (Schuette & van der Waerden 1951)
    9: 1 / 3,                        # closed form, angle arccos(1/3) (Schuette & van der Waerden 1951)
    10: 0.40439432521625076,         # Danzer (1963); file: 0.404394325216
    11: 1 / math.sqrt(5),            # icosahedron less a vertex (Danzer 1963): t* of K = 12
    12: 1 / math.sqrt(5),            # icosahedron, vertices (0, +-1, +-phi) cyclic (Fejes Toth 1943)
    13: 0.5426364868,                # Musin & Tarasov (2012); file: 0.542636486830
    14: 0.5639503003605052,          # Musin & Tarasov (2015); file: 0.563950300361
    24: 0.7230784683335085,          # snub cube (Robinson 1961); file: 0.723078468334
}
FAST_K = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 24]
SLOW_K = [13, 14, 24]  # softmax only (the Tammes ones run by default)


def _max_ip(W):
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


def _assert_unit(W):
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=1e-12)


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("K", [3, 4, 5, 8])
def test_closed_form_polygon(K):
    code = softmax_code(2, K)
    assert code.method == ("closed-form:simplex" if K == 3 else "closed-form:polygon")
    assert code.rho_one_vs_rest == pytest.approx(1 - math.cos(2 * math.pi / K), abs=1e-12)
    assert code.max_inner_product == pytest.approx(math.cos(2 * math.pi / K), abs=1e-12)


@pytest.mark.parametrize("d,K", [(3, 2), (3, 3), (3, 4), (6, 5), (6, 7)])
def test_closed_form_simplex(d, K):
    code = softmax_code(d, K)
    assert code.method == "closed-form:simplex"
    assert code.rho_one_vs_rest == pytest.approx(K / (K - 1), abs=1e-12)
    assert tammes_code(d, K).max_inner_product == pytest.approx(-1 / (K - 1), abs=1e-12)


@pytest.mark.parametrize("d,K", [(3, 5), (3, 6), (5, 7), (5, 10)])
def test_closed_form_cross_polytope(d, K):
    code = softmax_code(d, K)
    assert code.method == "closed-form:cross-polytope"
    assert code.rho_one_vs_rest == pytest.approx(1.0, abs=1e-12)
    assert code.max_inner_product == pytest.approx(0.0, abs=1e-15)


# ------------------------------------------------------ forced numeric solves
@pytest.mark.parametrize("K", [3, 5, 7, 10])
def test_numeric_polygon(K):
    code = softmax_code(2, K, method="numeric", restarts=2, seed=K, **SERIAL)
    assert code.method == "numeric"
    W = np.asarray(code.W)
    _assert_unit(W)
    assert code.rho_one_vs_rest == pytest.approx(1 - math.cos(2 * math.pi / K), abs=1e-9)
    # the points form a regular polygon: consecutive angular gaps all 2 pi / K
    ang = np.sort(np.arctan2(W[1], W[0]))
    gaps = np.diff(np.concatenate([ang, [ang[0] + 2 * math.pi]]))
    np.testing.assert_allclose(gaps, 2 * math.pi / K, atol=1e-6)


@pytest.mark.parametrize("d,K", [(3, 3), (3, 4), (5, 6), (6, 4)])
def test_numeric_simplex(d, K):
    code = softmax_code(d, K, method="numeric", restarts=2, seed=1, **SERIAL)
    assert code.rho_one_vs_rest == pytest.approx(K / (K - 1), abs=1e-9)
    G = np.asarray(code.W).T @ np.asarray(code.W)
    off = G[~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(off, -1 / (K - 1), atol=1e-8)  # equiangular
    t = tammes_code(d, K, method="numeric", restarts=2, seed=2, **SERIAL)
    assert t.max_inner_product == pytest.approx(-1 / (K - 1), abs=1e-9)


@pytest.mark.parametrize("d,K", [(3, 5), (3, 6), (4, 6), (4, 8), (5, 7)])
def test_numeric_cross_polytope_range(d, K):
    code = softmax_code(d, K, method="numeric", restarts=3, seed=4, **SERIAL)
    # Theorem 3.3: the optimum is exactly 1 for d + 1 < K <= 2d
    assert code.rho_one_vs_rest == pytest.approx(1.0, abs=1e-9)
    t = tammes_code(d, K, method="numeric", restarts=3, seed=5, **SERIAL)
    assert t.max_inner_product == pytest.approx(0.0, abs=1e-9)  # Rankin's bound is attained


# --------------------------------------------------------- proven Tammes optima
def _check_tammes(K, restarts):
    code = tammes_code(3, K, method="numeric", restarts=restarts, seed=2024, **SERIAL)
    W = np.asarray(code.W)
    _assert_unit(W)
    assert _max_ip(W) == pytest.approx(TAMMES_D3[K], abs=1e-9)
    assert code.max_inner_product == pytest.approx(_max_ip(W), abs=1e-15)
    assert 1 <= code.n_best <= code.restarts == restarts
    return code


@pytest.mark.parametrize("K", [K for K in FAST_K if K <= 12])
def test_tammes_proven_optima(K):
    _check_tammes(K, restarts=6)


@pytest.mark.slow  # 10-20 s each; K = 5..12 guard the same path in the default run
@pytest.mark.parametrize("K", [K for K in FAST_K if K > 12])
def test_tammes_proven_optima_larger(K):
    _check_tammes(K, restarts=8)


def _check_softmax(K, restarts):
    code = softmax_code(3, K, method="numeric", restarts=restarts, seed=7, **SERIAL)
    W = np.asarray(code.W)
    _assert_unit(W)
    assert code.rho_one_vs_rest >= 1 - TAMMES_D3[K] - 1e-9
    # independent check of the objective with cvxpy (Clarabel)
    ref = min(cvxpy_one_vs_rest(W, k) for k in range(K))
    assert ref == pytest.approx(code.rho_one_vs_rest, abs=1e-6)
    assert code.rho_lower <= code.rho_one_vs_rest <= code.rho_upper
    return code


@pytest.mark.parametrize("K", [7, 12])
def test_softmax_at_least_tammes_bound(K):
    _check_softmax(K, restarts=6)


@pytest.mark.slow
@pytest.mark.parametrize("K", [5, 6, 8, 9, 10, 11] + SLOW_K)
def test_softmax_at_least_tammes_bound_slow(K):
    _check_softmax(K, restarts=24)


# ------------------------------------------------------------- KKT certificate
def test_tammes_polish_reaches_kkt_point():
    """At the polished point the active pairs admit multipliers mu >= 0, sum 1, with a zero
    Riemannian gradient of sum mu <w_i, w_j> (Clarke stationarity), checked by NNLS."""
    K = 10
    code = tammes_code(3, K, method="numeric", restarts=1, seed=3, **SERIAL)
    W = np.asarray(code.W)
    G = W.T @ W
    t = _max_ip(W)
    pairs = [(i, j) for i in range(K) for j in range(i + 1, K) if G[i, j] > t - 1e-7]
    cols = []
    for i, j in pairs:
        g = np.zeros((3, K))
        g[:, i] = W[:, j] - G[i, j] * W[:, i]  # tangent projection at w_i
        g[:, j] = W[:, i] - G[i, j] * W[:, j]
        cols.append(g.ravel())
    A = np.vstack([np.array(cols).T, 100.0 * np.ones(len(pairs))])
    b = np.concatenate([np.zeros(3 * K), [100.0]])
    mu, resid = nnls(A, b)
    assert resid < 1e-8
    # and the active pairs are at the max to polish accuracy
    assert max(t - G[i, j] for i, j in pairs) < 1e-7


def test_softmax_polish_reaches_kkt_point():
    """Softmax Code as the max-min problem max_{W,H} min_{k, j != k} <h_k, w_k - w_j> (h_k the
    separating directions, from cvxpy projections here): the active pieces admit multipliers
    mu >= 0, sum 1, with zero Riemannian gradient in W and in H, checked by NNLS."""
    import cvxpy as cp
    d, K = 3, 10
    code = softmax_code(d, K, method="numeric", restarts=1, seed=3, **SERIAL)
    W = np.asarray(code.W)
    H = np.zeros((d, K))
    for k in range(K):
        A = np.delete(W, k, axis=1)
        lam = cp.Variable(K - 1, nonneg=True)
        cp.Problem(cp.Minimize(cp.sum_squares(A @ lam - W[:, k])), [cp.sum(lam) == 1]).solve(solver="CLARABEL")
        r = W[:, k] - A @ lam.value
        H[:, k] = r / np.linalg.norm(r)
    F = H.T @ W
    vals = {(k, j): F[k, k] - F[k, j] for k in range(K) for j in range(K) if j != k}
    rho = min(vals.values())
    assert rho == pytest.approx(code.rho_one_vs_rest, abs=1e-6)
    active = [kj for kj, v in vals.items() if v < rho + 1e-5]
    cols = []
    for k, j in active:
        gW = np.zeros((d, K))
        gH = np.zeros((d, K))
        gW[:, k] += H[:, k] - (H[:, k] @ W[:, k]) * W[:, k]
        gW[:, j] -= H[:, k] - (H[:, k] @ W[:, j]) * W[:, j]
        g = W[:, k] - W[:, j]
        gH[:, k] = g - (g @ H[:, k]) * H[:, k]
        cols.append(np.concatenate([gW.ravel(), gH.ravel()]))
    A = np.vstack([np.array(cols).T, 100.0 * np.ones(len(active))])
    b = np.concatenate([np.zeros(2 * d * K), [100.0]])
    mu, resid = nnls(A, b)
    assert resid < 1e-7  # measured ~2e-11; the unpolished smoothing output gives ~0.2


def test_polish_beats_smoothing_only():
    K = 9
    smooth = tammes_code(3, K, method="numeric", restarts=3, seed=11, polish=False, **SERIAL)
    full = tammes_code(3, K, method="numeric", restarts=3, seed=11, **SERIAL)
    assert full.max_inner_product == pytest.approx(1 / 3, abs=1e-9)
    assert smooth.max_inner_product > full.max_inner_product + 1e-7  # smoothing alone stops short


def test_trust_region_lp_is_exact_below_solver_tolerances():
    # maximize tau s.t. f1 + a >= tau, f2 - a >= tau, |a| <= r: with |f2 - f1| <= 2r the
    # optimum is a = (f2 - f1)/2, tau = (f1 + f2)/2.  Near convergence the polish works at
    # radii and gaps like these, far below HiGHS's absolute tolerance of 1e-7 (the unscaled
    # LP returned a = r, tau = f1 + r: a step that breaks the second constraint by 1e-9).
    from spherecodes.solvers.polish import _solve_lp

    f = np.array([0.75, 0.75 + 2e-12])
    a, tau = _solve_lp(np.array([0, 1]), np.array([0, 0]), np.array([1.0, -1.0]), f, 1, 1e-9)
    assert a[0] == pytest.approx(1e-12, abs=1e-15)
    assert tau == pytest.approx(0.75 + 1e-12, abs=1e-15)


# ---------------------------------------------------------------------- HardMax
def test_hardmax_theorems_32_35():
    d, K, n = 3, 8, 3
    res = hardmax(d, K, n, method="numeric", restarts=4, seed=5, **SERIAL)
    code = softmax_code(d, K, method="numeric", restarts=4, seed=5, **SERIAL)
    W = np.asarray(res.W)
    H = np.asarray(res.H)
    assert W.shape == (d, K) and H.shape == (d, n * K) and res.labels.shape == (n * K,)
    _assert_unit(H)
    # Theorem 3.2: W is a Softmax Code (same rho as softmax_code)
    assert res.code.rho_one_vs_rest == pytest.approx(code.rho_one_vs_rest, abs=1e-9)
    assert res.code.rho_one_vs_rest >= 1 - TAMMES_D3[K] - 1e-9
    # value of problem (5), straight from its definition
    L = max(float((W[:, kp] - W[:, res.labels[i]]) @ H[:, i])
            for i in range(n * K) for kp in range(K) if kp != res.labels[i])
    assert res.value == pytest.approx(L, abs=1e-12)
    assert L == pytest.approx(-res.code.rho_one_vs_rest, abs=1e-9)
    # Theorem 3.5: h_k = normalize(w_k - P(w_k)) for non-rattlers, P by cvxpy
    import cvxpy as cp
    for k in sorted(set(range(K)) - set(res.rattlers.tolist())):
        A = np.delete(W, k, axis=1)
        lam = cp.Variable(K - 1, nonneg=True)
        cp.Problem(cp.Minimize(cp.sum_squares(A @ lam - W[:, k])), [cp.sum(lam) == 1]).solve(solver="CLARABEL")
        r = W[:, k] - A @ lam.value
        h = r / np.linalg.norm(r)
        for i in np.flatnonzero(res.labels == k):
            np.testing.assert_allclose(H[:, i], h, atol=1e-5)
        assert np.linalg.norm(r) == pytest.approx(cvxpy_hull_distance(W[:, k], A), abs=1e-6)


def test_hardmax_closed_form_simplex():
    res = hardmax(4, 5, 2)
    assert res.value == pytest.approx(-5 / 4, abs=1e-12)
    # simplex: the optimal feature of class k is w_k itself (P(w_k) = -w_k / (K-1))
    np.testing.assert_allclose(np.asarray(res.H)[:, ::2], np.asarray(res.W), atol=1e-12)


# --------------------------------------------------------- restarts / executors
def test_reproducible_across_executors():
    kw = dict(method="numeric", restarts=3, seed=99)
    a = tammes_code(3, 11, executor="serial", **kw)
    with ProcessPoolExecutor(2) as ex:
        b = tammes_code(3, 11, executor=ex, **kw)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.W, b.W)
    c = tammes_code(3, 11, executor="serial", method="numeric", restarts=3, seed=100)
    assert not np.array_equal(a.values, c.values)
    assert a.seed == 99


class _OpaqueExecutor(Executor):
    """An Executor that hides its size, as a Dask client's executor does."""

    def __init__(self):
        self._inner = ThreadPoolExecutor(2)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def test_any_executor_and_adaptive_stop_are_reproducible():
    ex = _OpaqueExecutor()
    try:
        # default: adaptive restarts; a generous time limit, so that it does not cut a restart short
        a = softmax_code(3, 9, method="numeric", seed=5, executor=ex, time_limit=600, adaptive=True)
    finally:
        ex.shutdown()
    b = softmax_code(3, 9, method="numeric", seed=5, executor="serial", time_limit=600, adaptive=True)
    assert ex.submitted >= a.restarts >= 8  # the adaptive stop keeps a prefix of the submitted restarts
    assert a.restarts == b.restarts and a.n_best >= 4
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.W, b.W)


def test_seed_generator_and_time_limit():
    rng = np.random.default_rng(0)
    code = tammes_code(3, 9, method="numeric", restarts=500, seed=rng, time_limit=0.3, **SERIAL)
    assert 1 <= code.restarts < 500
    assert code.values.shape == (code.restarts,)
    assert isinstance(code.seed, int)


def test_progress_bar_runs(capsys):
    code = softmax_code(3, 7, method="numeric", restarts=2, seed=0, progress=True, **SERIAL)
    assert code.rho_one_vs_rest >= 1 - TAMMES_D3[7] - 1e-9
    err = capsys.readouterr().err
    assert "2 restarts" in err and "best rho >= " in err


def test_init_is_used_for_restart_zero():
    from spherecodes.constructions import icosahedron
    W0 = icosahedron()
    code = tammes_code(3, 12, init=W0, restarts=1, seed=0, smoothing=False, **SERIAL)
    assert code.max_inner_product == pytest.approx(1 / math.sqrt(5), abs=1e-12)
    assert code.method == "numeric"


# --------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("fn", [softmax_code, tammes_code, hardmax])
@pytest.mark.parametrize("args,kwargs,match", [
    ((0, 5), {}, "d must be"),
    ((3, 1), {}, "K must be"),
    ((3, 2.5), {}, "K must be an integer"),
    (("3", 5), {}, "d must be an integer"),
    ((3, 9), {"restarts": 0}, "restarts"),
    ((3, 9), {"restarts": 1.5}, "restarts"),
    ((3, 9), {"method": "magic"}, "method"),
    ((3, 9), {"seed": -1}, "seed"),
    ((3, 9), {"seed": "abc"}, "seed"),
    ((3, 9), {"time_limit": 0}, "time_limit"),
    ((3, 9), {"init": np.eye(3)}, "init must have shape"),
    ((3, 9), {"executor": 42}, "executor"),
    ((3, 9), {"hop_stepsize": -2.0}, "hop_stepsize"),
])
def test_bad_arguments(fn, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)


@pytest.mark.parametrize("fn", [softmax_code, tammes_code])
def test_unknown_solver_option_is_an_error(fn):
    with pytest.raises(TypeError, match="betas"):
        fn(3, 9, betas=[1.0, 2.0])


@pytest.mark.parametrize("fn", [softmax_code, tammes_code])
@pytest.mark.parametrize("kwargs, error, match", [
    ({"time_limit": "10"}, TypeError, "time_limit must be a real number"),
    ({"time_limit": True}, TypeError, "time_limit must be a real number"),
    ({"time_limit": -1.0}, ValueError, "time_limit must be a positive finite number of seconds"),
    ({"time_limit": float("nan")}, ValueError, "time_limit must be a positive finite number of seconds"),
    ({"time_limit": 10**400}, ValueError, "time_limit must fit a float64"),
    ({"device": 0}, TypeError, "device must be a string"),
    ({"device": None}, TypeError, "device must be a string"),
    ({"smoothing": "no"}, TypeError, "smoothing must be True or False"),
    ({"polish": 2}, TypeError, "polish must be True or False"),
    ({"device": "gpu"}, ValueError, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ({"device": "cuda:x"}, ValueError, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
])
def test_time_limit_and_device_errors(fn, kwargs, error, match):
    """TypeError for a wrong type, ValueError for a bad value, each naming the keyword."""
    with pytest.raises(error, match=match) as info:
        fn(3, 9, **kwargs)
    if error is ValueError:
        assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"beta_spread": ("1", 40.0)}, TypeError, r"beta_spread\[0\] must be a real number"),
    ({"beta_spread": (1.0, True)}, TypeError, r"beta_spread\[1\] must be a real number"),
    ({"beta_spread": "14"}, ValueError, "beta_spread must be two positive numbers"),
    ({"polish_reserve": "0.1"}, TypeError, "polish_reserve must be a real number"),
    ({"overlap_patience": "100"}, TypeError, "overlap_patience must be an integer"),
    ({"overlap_share": 2.0}, ValueError, r"overlap_share must be in \(0, 1\]"),
    ({"overlap_stepsize": float("inf")}, ValueError, "overlap_stepsize must be a finite positive number"),
    ({"endgame_share": "0.1"}, TypeError, "endgame_share must be a real number"),
    ({"endgame_share": -0.1}, ValueError, r"endgame_share must be at least 0 and below 1 - polish_reserve \(0.98\)"),
    ({"endgame_share": 0.5, "polish_reserve": 0.5}, ValueError, r"below 1 - polish_reserve \(0.5\), got 0.5"),
])
def test_search_options_are_not_cast(kwargs, error, match):
    """beta_spread entries went through float() ("1" -> 1.0), polish_reserve="0.1" failed in a comparison."""
    from spherecodes.solvers.settings import SearchSettings

    with pytest.raises(error, match=match):
        SearchSettings.for_size(3, 9, **kwargs)
    with pytest.raises(error, match=match):
        softmax_code(3, 9, **kwargs)


def test_hardmax_value_against_a_loop():
    """eq. (5) written out as loops over samples and classes, on random unit columns."""
    from spherecodes.solvers.hardmax import hardmax_value

    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 6))
    W /= np.linalg.norm(W, axis=0)
    H = rng.standard_normal((4, 15))
    H /= np.linalg.norm(H, axis=0)
    y = rng.integers(0, 6, size=15)
    loop = max(float(W[:, j] @ H[:, i] - W[:, y[i]] @ H[:, i]) for i in range(15) for j in range(6) if j != y[i])
    assert hardmax_value(W, H, y) == pytest.approx(loop, abs=1e-15)
    assert hardmax_value(W, H, y.astype(np.int32).tolist()) == hardmax_value(W, H, y)


@pytest.mark.parametrize("labels, error, match", [
    (np.array([0, 1, 6]), ValueError, r"labels must be in range\(K\) = range\(6\)"),
    (np.array([0, 1, -1]), ValueError, "labels must be >= 0"),
    (np.array([0, 1]), ValueError, "labels has length 2 but H has N=3"),
    (np.array([[0, 1, 2]]), ValueError, "labels must be 1-D"),
    (np.array([0.5, 1, 2]), ValueError, "labels must be integers"),
    (np.array([True, False, True]), TypeError, "labels must be an integer array"),
    (np.array(["0", "1", "2"]), TypeError, "labels must be an integer array"),
])
def test_hardmax_value_checks_labels(labels, error, match):
    """Out-of-range labels raised IndexError, or silently indexed from the end (-1)."""
    from spherecodes.solvers.hardmax import hardmax_value

    W = np.eye(6)[:4]
    H = np.eye(4)[:, :3]
    with pytest.raises(error, match=match):
        hardmax_value(W, H, labels)


def test_hardmax_value_checks_shapes():
    from spherecodes.solvers.hardmax import hardmax_value

    W = np.eye(4)
    with pytest.raises(ValueError, match="H has dimension d=3 but W has d=4"):
        hardmax_value(W, np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="W must have at least 2 columns"):
        hardmax_value(W[:, :1], W, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="H must be 2-D"):
        hardmax_value(W, np.ones(4), [0])
    with pytest.raises(ValueError, match="NaN or inf"):
        hardmax_value(W, np.full((4, 1), np.nan), [0])


def test_hardmax_bad_n():
    with pytest.raises(ValueError, match="n must be"):
        hardmax(3, 5, 0)


@pytest.mark.slow
def test_tammes_finds_24_cell():
    """d = 4, K = 24 from random starts: at least as good as the 24-cell (max inner product 1/2)."""
    from spherecodes.constructions import cell24
    assert _max_ip(cell24()) == pytest.approx(0.5, abs=1e-12)
    code = tammes_code(4, 24, method="numeric", restarts=8, seed=0, **SERIAL)
    assert code.max_inner_product <= 0.5 + 1e-9
    soft = softmax_code(4, 24, method="numeric", restarts=8, seed=0, **SERIAL)
    assert soft.rho_one_vs_rest >= 0.5 - 1e-9
