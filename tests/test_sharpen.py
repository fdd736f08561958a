"""Sharpening (L-BFGS continuation of the log-sum-exp smoothing) and the large-problem pipeline."""
import math

import numpy as np
import pytest

from spherecodes.constructions import icosahedron
from spherecodes.hull import one_vs_rest_distances
from spherecodes import softmax_code, tammes_code
from spherecodes.solvers.settings import SHARPEN_MIN_VARIABLES, SearchSettings, sharpens
from spherecodes.solvers.polish import polish_tammes
from spherecodes.solvers.sharpen import lse_softmax_code, sharpen_softmax, sharpen_tammes

T_ICOSAHEDRON = 1 / math.sqrt(5)


def _max_ip(W):
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


def _unit(X):
    return X / np.linalg.norm(X, axis=0)


def _perturbed_icosahedron(scale, seed=0):
    rng = np.random.default_rng(seed)
    return _unit(np.asarray(icosahedron()) + scale * rng.standard_normal((3, 12)))


def test_lse_softmax_code_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    W, H = _unit(rng.standard_normal((4, 9))), _unit(rng.standard_normal((4, 9)))
    beta = 7.0
    _, gW, gH = lse_softmax_code(W, H, beta)
    eps = 1e-6
    for X, g, which in ((W, gW, 0), (H, gH, 1)):
        for idx in [(0, 0), (2, 5), (3, 8)]:
            Xp, Xm = X.copy(), X.copy()
            Xp[idx] += eps
            Xm[idx] -= eps
            args_p = (Xp, H) if which == 0 else (W, Xp)
            args_m = (Xm, H) if which == 0 else (W, Xm)
            fd = (lse_softmax_code(*args_p, beta)[0] - lse_softmax_code(*args_m, beta)[0]) / (2 * eps)
            assert g[idx] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_lse_softmax_code_brackets_the_min():
    rng = np.random.default_rng(4)
    W, H = _unit(rng.standard_normal((5, 11))), _unit(rng.standard_normal((5, 11)))
    F = np.array([[H[:, k] @ (W[:, k] - W[:, j]) for j in range(11)] for k in range(11)])
    np.fill_diagonal(F, np.inf)
    for beta in (1.0, 50.0, 1e4):
        v = lse_softmax_code(W, H, beta)[0]
        assert -F.min() <= v + 1e-12
        assert v <= -F.min() + math.log(11 * 10) / beta + 1e-12


def test_sharpen_tammes_reaches_the_icosahedron():
    W = sharpen_tammes(_perturbed_icosahedron(0.05))
    assert _max_ip(W) == pytest.approx(T_ICOSAHEDRON, abs=1e-7)


def test_sharpen_softmax_reaches_the_icosahedron_value():
    """The icosahedron is universally optimal: its one-vs-rest value 1 - 1/sqrt(5) is the maximum."""
    W0 = _perturbed_icosahedron(0.03, seed=1)
    rho0 = one_vs_rest_distances(W0).distance.min()
    rho = one_vs_rest_distances(sharpen_softmax(W0)).distance.min()
    assert rho > rho0
    assert rho == pytest.approx(1 - T_ICOSAHEDRON, abs=1e-6)
    assert rho <= 1 - T_ICOSAHEDRON + 1e-12


def test_sharpened_polish_from_random_starts_finds_the_icosahedron():
    """The large-problem path (descent -> sharpen -> short LP polish) forced on a small case."""
    kw = dict(restarts=3, seed=5, executor="serial", sharpen=True, hops=0)
    assert tammes_code(3, 12, **kw).max_inner_product == pytest.approx(T_ICOSAHEDRON, abs=1e-10)
    assert softmax_code(3, 12, **kw).rho_one_vs_rest == pytest.approx(1 - T_ICOSAHEDRON, abs=1e-9)


def test_polish_time_limit_stops_before_the_first_lp():
    W = _perturbed_icosahedron(0.05)
    r = polish_tammes(W, time_limit=0.0)
    assert r.iterations == 0 and not r.converged
    np.testing.assert_array_equal(r.W, W)


def test_time_limit_interrupts_a_running_lp():
    # d = 30, K = 100 from the smoothing: 2900 variables, about 3000 rows; the LP takes
    # tens of seconds to solve.  Out of time, the polish returns its starting point.
    from spherecodes.solvers.descent import lse_descent
    from spherecodes.solvers.polish import _solve_lp, _tammes_model, tammes_value, tangent_bases

    rng = np.random.default_rng(0)
    W = rng.standard_normal((30, 100))
    W, _ = lse_descent(W / np.linalg.norm(W, axis=0), beta0=10.0, beta_max=1e3)
    B = tangent_bases(W)
    rows, cols, vals, f, nvar = _tammes_model(W, tammes_value(W), 1e-3, B)
    assert nvar == 2900 and f.size > 1000
    assert _solve_lp(rows, cols, vals, f, nvar, 1e-3, time_limit=1e-3) is None
    r = polish_tammes(W, radius=1e-3, time_limit=1e-3)
    assert r.iterations <= 1 and not r.converged and r.status == "time_limit"
    np.testing.assert_array_equal(r.W, W)


def test_large_problems_sharpen_before_the_polish():
    assert sharpens(10, 100) and not sharpens(6, 40)
    assert sharpens(5, SHARPEN_MIN_VARIABLES // 4) and not sharpens(5, SHARPEN_MIN_VARIABLES // 4 - 1)
    assert SearchSettings.for_size(10, 100).sharpen and not SearchSettings.for_size(6, 40).sharpen
    assert SearchSettings.for_size(6, 40, sharpen=True).sharpen


def test_separating_directions_attain_the_one_vs_rest_distance():
    """LP duality: dist(w_k, conv others) = max over unit h of min_j <h, w_k - w_j>, attained
    at the normalized residual; any other unit h gives at most the distance (weak duality)."""
    from spherecodes.solvers.sharpen import separating_directions

    rng = np.random.default_rng(4)
    W = _unit(rng.standard_normal((4, 9)))
    res = one_vs_rest_distances(W)
    H = separating_directions(W, res.nearest)
    np.testing.assert_allclose(np.linalg.norm(H, axis=0), 1.0, atol=1e-14)
    for k in range(9):
        others = np.delete(W, k, axis=1)
        assert np.min(H[:, k] @ (W[:, [k]] - others)) == pytest.approx(res.distance[k], abs=1e-12)
        for h in _unit(rng.standard_normal((4, 50))).T:
            assert np.min(h @ (W[:, [k]] - others)) <= res.distance[k] + 1e-12


def test_softmax_restarts_report_one_minus_rho_and_the_polish_keeps_the_best():
    """Large-problem Softmax restarts (forced on a small case) sharpen the Softmax objective and
    report 1 - rho; the result is at least the best restart."""
    code = softmax_code(3, 12, restarts=4, seed=2, executor="serial", sharpen=True, hops=0)
    assert np.all((code.values > 0) & (code.values < 1))
    assert code.rho_one_vs_rest >= 1.0 - float(np.min(code.values)) - 1e-9
    assert code.rho_one_vs_rest == pytest.approx(1 - T_ICOSAHEDRON, abs=1e-9)


def test_sharpening_shares_its_deadline_among_sharpness_values_and_keeps_the_reserve(monkeypatch):
    # every evaluation takes 50 ms, so no sharpness value converges in the 1.5 s left after the
    # reserve: each of the four (50 .. 3200) gets its share, and the call returns 0.5 s early.
    # Before, the first value took the whole budget (at K = 1000, d = 128 a 60 s call ended its
    # stage at beta = 50).
    import time

    from spherecodes.solvers import sharpen

    seen = []
    lse = sharpen.lse_softmax_code

    def slow(W, H, beta):
        seen.append(beta)
        time.sleep(0.05)
        return lse(W, H, beta)

    monkeypatch.setattr(sharpen, "lse_softmax_code", slow)
    W = np.random.default_rng(0).standard_normal((4, 30))
    W /= np.linalg.norm(W, axis=0)
    deadline = time.time() + 2.0
    sharpen.sharpen_softmax(W, beta_start=50.0, beta_max=3200.0, max_iter=10**6, tol=0.0, deadline=deadline,
                            reserve=lambda W: 0.5)
    assert time.time() <= deadline - 0.5 + 0.25   # a loaded machine's slack; without the reserve, 0.5 s later
    assert sorted(set(seen)) == [50.0, 200.0, 800.0, 3200.0]


def test_the_stop_flag_ends_a_softmax_sharpening_as_the_deadline_does():
    """Ctrl-C reaches a running Softmax stage: with the search's stop flag set (after the
    first L-BFGS iteration, or before the start) the stage stops there and keeps the better
    of input and output by the exact rho (hull kernel); unset, the same call sharpens."""
    import threading

    from spherecodes.solvers.sharpen import sharpen_softmax_exact

    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 40))
    W /= np.linalg.norm(W, axis=0)
    schedule = dict(beta_start=50.0, beta_max=3200.0, max_iter=300, tol=1e-7)
    free = sharpen_softmax_exact(W, **schedule)
    assert free.gained and free.rho > one_vs_rest_distances(W).rho
    stop = threading.Event()
    stop.set()
    held = sharpen_softmax_exact(W, stop=stop, **schedule)
    assert not held.gained and held.W is W and held.rho == one_vs_rest_distances(W).rho
    from spherecodes.solvers.multistart import _softmax_stage  # a restart's stage passes its flag on

    assert not _softmax_stage(W, SearchSettings.for_size(6, 40), None, stop).gained
    assert _softmax_stage(W, SearchSettings.for_size(6, 40), None).gained

    class AfterFirstCheck:  # set from the first check on: one L-BFGS iteration runs
        calls = 0

        def is_set(self):
            self.calls += 1
            return self.calls > 1

    flag = AfterFirstCheck()
    once = sharpen_softmax_exact(W, stop=flag, **schedule)
    assert flag.calls == 3  # the loop, the first iteration (stops the stage), the loop again (ends it)
    assert once.rho >= one_vs_rest_distances(W).rho - 1e-15  # never worse than the input
    assert once.rho < free.rho                               # and short of the whole stage
