"""UFM (problem (2)) training: checked against closed forms (icosahedron, regular polygon),
an independent cvxpy hull distance and GNC formulas written out with numpy."""
from __future__ import annotations

import math
import subprocess
import sys
import warnings

import cvxpy as cp  # a core dependency
import numpy as np
import pytest
import torch  # pinned in the test extra: a broken install must fail, not skip

from spherecodes.train.ufm import temperature_sweep, train_ufm  # noqa: E402

torch.set_num_threads(1)  # tiny tensors: one thread is fastest (and the brief caps threads at 2)

ICOSAHEDRON_RHO = 1.0 - 1.0 / math.sqrt(5.0)


def cvx_rho(W):
    """min_k dist(w_k, conv{w_j: j != k}) by cvxpy/Clarabel (independent of the package)."""
    out = []
    for k in range(W.shape[1]):
        A = np.delete(W, k, axis=1)
        lam = cp.Variable(A.shape[1], nonneg=True)
        prob = cp.Problem(cp.Minimize(cp.norm(A @ lam - W[:, k])), [cp.sum(lam) == 1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
        out.append(prob.value)
    return float(min(out))


def np_gnc1(H, y, K):
    M = np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)
    SW = sum(np.outer(H[:, i] - M[:, y[i]], H[:, i] - M[:, y[i]]) for i in range(H.shape[1])) / H.shape[1]
    SB = sum(np.outer(M[:, k], M[:, k]) for k in range(K)) / K
    return float(np.trace(SW @ np.linalg.pinv(SB)) / K)


def np_gnc3(W, H, y, K):
    M = np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)
    M = M / np.linalg.norm(M, axis=0)
    return float(np.mean([1 - W[:, k] @ M[:, k] for k in range(K)]))


def np_ce(W, H, y, tau):
    Z = W.T @ H / tau
    Zm = Z.max(axis=0)
    return float(np.mean(Zm + np.log(np.exp(Z - Zm).sum(axis=0)) - Z[y, np.arange(len(y))]))


@pytest.mark.parametrize("seed", [0, 1])
def test_icosahedron_at_tau_005(seed):
    r = train_ufm(3, 12, 4, 0.05, steps=300, lr=0.1, polish=300, seed=seed, device="cpu")
    assert r.W.shape == (3, 12) and r.H.shape == (3, 48)
    np.testing.assert_allclose(np.linalg.norm(r.W, axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(r.H, axis=0), 1.0, atol=1e-12)
    np.testing.assert_array_equal(r.labels, np.repeat(np.arange(12), 4))
    rho = cvx_rho(r.W)
    assert abs(rho - ICOSAHEDRON_RHO) < 5e-3
    assert abs(r.rho_one_vs_rest - rho) < 1e-6
    assert np_gnc1(r.H, r.labels, 12) < 1e-2
    assert np_gnc3(r.W, r.H, r.labels, 12) < 1e-2
    # the icosahedron's Gram matrix: each vertex has 5 neighbours at <.,.> = 1/sqrt5,
    # 5 at -1/sqrt5 and one antipode
    G = np.sort(r.W.T @ r.W, axis=1)
    expected = np.array([-1] + [-1 / math.sqrt(5)] * 5 + [1 / math.sqrt(5)] * 5 + [1.0])
    np.testing.assert_allclose(G, np.tile(expected, (12, 1)), atol=5e-3)
    # reported loss is the CE loss (1) at the returned point; the history is recorded
    assert r.final_loss == pytest.approx(np_ce(r.W, r.H, r.labels, 0.05), rel=1e-9)
    assert r.loss[-1] == pytest.approx(r.final_loss, rel=1e-6)
    assert set(r.history) >= {"step", "loss", "gnc1", "gnc2", "gnc3"}
    assert r.history["gnc2"][-1] == pytest.approx(rho, abs=1e-6)


def test_first_order_only_decreases_loss():
    r = train_ufm(3, 6, 2, 0.5, steps=100, polish=0, seed=3, device="cpu")
    assert len(r.loss) == 100
    assert r.loss[-1] < r.loss[0]


def test_reproducible_and_seed_matters():
    a = train_ufm(2, 5, 2, 0.2, steps=50, polish=0, seed=7, device="cpu")
    b = train_ufm(2, 5, 2, 0.2, steps=50, polish=0, seed=7, device="cpu")
    c = train_ufm(2, 5, 2, 0.2, steps=50, polish=0, seed=8, device="cpu")
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    assert not np.allclose(a.W, c.W)


def test_sweep_pentagon_lemma31():
    """d = 2: the Softmax Code is the regular K-gon, rho = 1 - cos(2 pi / K) (Theorem 3.3)."""
    K = 5
    sw = temperature_sweep(2, K, 3, [0.5, 0.05], restarts=1, steps=150, seed=0, device="cpu", compare=False)
    assert [row["tau"] for row in sw.rows] == [0.5, 0.05]
    assert sw.rho[-1] == pytest.approx(1 - math.cos(2 * math.pi / K), abs=1e-3)
    assert sw.gnc1[-1] < 1e-6 and sw.gnc3[-1] < 1e-6
    assert np.isnan(sw.softmax_optimum)
    # the selected run is the lowest-loss one: its loss is the CE loss of its point
    for run, loss in zip(sw.runs, sw.loss):
        assert loss == pytest.approx(np_ce(run.W, run.H, run.labels, run.tau), rel=1e-9)


def test_sweep_rows_recomputed_from_each_run():
    """Each row's GNC1/GNC2/GNC3 from that row's run (its W and H), by the formulas above and cvxpy."""
    K, n = 5, 3
    sw = temperature_sweep(2, K, n, [0.5, 0.1], restarts=2, steps=150, seed=4, device="cpu", compare=False)
    assert len(sw.runs) == len(sw.rows) == 2
    for run, row in zip(sw.runs, sw.rows):
        y = np.asarray(run.labels)
        np.testing.assert_array_equal(np.bincount(y, minlength=K), np.full(K, n))
        assert row["gnc1"] == pytest.approx(np_gnc1(run.H, y, K), rel=1e-9, abs=1e-14)
        assert row["gnc3"] == pytest.approx(np_gnc3(run.W, run.H, y, K), rel=1e-9, abs=1e-14)
        assert row["rho_one_vs_rest"] == pytest.approx(cvx_rho(run.W), abs=1e-7)
    # d = 2, tau = 0.1: the regular pentagon, rho = 1 - cos(2 pi / 5) (Theorem 3.3, Lemma 3.1)
    assert sw.rows[-1]["rho_one_vs_rest"] == pytest.approx(1 - math.cos(2 * math.pi / K), abs=1e-3)


def test_sweep_compares_with_solvers():
    sw = temperature_sweep(2, 4, 2, [0.1], restarts=1, steps=100, polish=50, seed=0, device="cpu", compare=True)
    # 4 points in the plane: the square, rho = 1 - cos(pi/2) = 1
    assert sw.softmax_optimum == pytest.approx(1.0, abs=1e-8)
    assert sw.hardmax_rho == pytest.approx(1.0, abs=1e-8)
    assert sw.rows[0]["rho_gap"] == pytest.approx(1.0 - sw.rho[0])


@pytest.mark.parametrize("kwargs, word", [
    ({"tau": 0.0}, "tau"), ({"tau": -1.0}, "tau"), ({"K": 1}, "K"), ({"n": 0}, "n"),
    ({"steps": 0, "polish": 0}, "steps"),
    ({"device": "tpu9"}, "device"), ({"dtype": "int8"}, "dtype"),
])
def test_bad_input(kwargs, word):
    args = {"d": 3, "K": 4, "n": 2, "tau": 0.1}
    args.update({k: v for k, v in kwargs.items() if k in args})
    opts = {k: v for k, v in kwargs.items() if k not in args}
    with pytest.raises(ValueError, match=word):
        train_ufm(args["d"], args["K"], args["n"], args["tau"], **opts)


@pytest.mark.parametrize("taus, error, match", [
    ([0.5, "0.1"], TypeError, r"taus\[1\] must be a real number"),
    (["abc"], TypeError, r"taus\[0\] must be a real number"),
    ([True], TypeError, r"taus\[0\] must be a real number"),
    ([0.5, -1.0], ValueError, r"taus\[1\] must be finite and > 0"),
    ([], ValueError, "taus must contain at least one temperature"),
])
def test_sweep_bad_temperatures_name_taus(taus, error, match):
    """Strings were numpy's "could not convert string to float" ("0.1" was even accepted)."""
    with pytest.raises(error, match=match):
        temperature_sweep(2, 3, 1, taus, restarts=1, steps=1, device="cpu", compare=False)


def test_import_does_not_pull_torch():
    code = "import sys, spherecodes, spherecodes.train; spherecodes.train.train_ufm; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_icosahedron_default_settings_many_seeds(seed):
    r = train_ufm(3, 12, 4, 0.05, seed=100 + seed, device="cpu")
    assert abs(cvx_rho(r.W) - ICOSAHEDRON_RHO) < 5e-3
    assert np_gnc1(r.H, r.labels, 12) < 1e-2 and np_gnc3(r.W, r.H, r.labels, 12) < 1e-2


def icosahedron_log_loss(tau):
    """log CE of the collapsed icosahedron (H = W) with mpmath: each vertex has 5 neighbours at
    <.,.> = 1/sqrt5, 5 at -1/sqrt5 and its antipode, so CE = log(1 + S) with
    S = 5 e^{-(1 - c)/tau} + 5 e^{-(1 + c)/tau} + e^{-2/tau}, c = 1/sqrt5."""
    import mpmath

    mpmath.mp.dps = 50
    c = 1 / mpmath.sqrt(5)
    S = 5 * mpmath.exp(-(1 - c) / tau) + 5 * mpmath.exp(-(1 + c) / tau) + mpmath.exp(-2 / tau)
    return float(mpmath.log(mpmath.log1p(S)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tiny_tau_reaches_icosahedron_in_log_space(dtype):
    """tau = 1e-4: the optimum of (3, 12) is the icosahedron, rho = 1 - 1/sqrt5 (the closed form,
    and rho of `constructions.icosahedron()` by cvxpy); the loss ~ exp(-5526) is reported in log space."""
    from spherecodes.constructions import icosahedron

    assert cvx_rho(icosahedron()) == pytest.approx(ICOSAHEDRON_RHO, abs=1e-7)
    tau = 1e-4
    r = train_ufm(3, 12, 4, tau, steps=600, polish=150, seed=0, device="cpu", dtype=dtype, record_every=600)
    assert abs(cvx_rho(r.W) - ICOSAHEDRON_RHO) < 1e-3
    assert abs(r.rho_one_vs_rest - ICOSAHEDRON_RHO) < 1e-3
    assert np_gnc1(r.H, r.labels, 12) < 1e-6 and np_gnc3(r.W, r.H, r.labels, 12) < 1e-6
    # the loss underflows; its log does not, and matches the collapsed icosahedron's
    assert r.final_loss == 0.0
    assert r.final_log_loss == pytest.approx(icosahedron_log_loss(tau), rel=1e-6)
    assert np.isfinite(r.log_loss).all() and r.log_loss[-1] == pytest.approx(r.final_log_loss, rel=1e-6)
    # the continuation: temperatures run down from 0.1 to tau, then stay at tau
    assert r.taus[0] == pytest.approx(0.1) and r.taus[-1] == tau and np.all(np.diff(r.taus) <= 0)


def test_log_loss_matches_numpy_ce_where_representable():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 5))
    W /= np.linalg.norm(W, axis=0)
    H = rng.standard_normal((3, 20))
    H /= np.linalg.norm(H, axis=0)
    y = rng.integers(0, 5, 20)
    from spherecodes.train.ufm import ufm_log_loss

    for tau in (1.0, 0.1, 0.01):
        assert ufm_log_loss(W, H, y, tau) == pytest.approx(math.log(np_ce(W, H, y, tau)), rel=1e-10)


def test_ufm_loss_against_the_formula_and_its_label_checks():
    """ufm_loss indexed with unchecked labels: 5 with K = 4 was an IndexError, -1 silently the last class."""
    from spherecodes.train.ufm import ufm_log_loss, ufm_loss

    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4))
    W /= np.linalg.norm(W, axis=0)
    H = rng.standard_normal((3, 6))
    H /= np.linalg.norm(H, axis=0)
    y = np.array([0, 1, 2, 3, 0, 1])
    Z = W.T @ H / 0.5
    ce = [-math.log(math.exp(Z[y[i], i]) / sum(math.exp(Z[j, i]) for j in range(4))) for i in range(6)]
    assert ufm_loss(W, H, y, 0.5) == pytest.approx(sum(ce) / 6, rel=1e-12)
    for labels, error, match in [([0, 1, 2, 3, 0, 4], ValueError, r"labels must be in range\(K\) = range\(4\)"),
                                 ([0, 1, 2, 3, 0, -1], ValueError, "labels must be >= 0"),
                                 ([0, 1, 2], ValueError, "labels has length 3 but H has N=6"),
                                 ([0.5] * 6, ValueError, "labels must be integers")]:
        with pytest.raises(error, match=match):
            ufm_log_loss(W, H, labels, 0.5)
    with pytest.raises(ValueError, match="H has dimension d=2 but W has d=3"):
        ufm_loss(W, H[:2], y, 0.5)
    with pytest.raises(TypeError, match="tau must be a real number"):
        ufm_loss(W, H, y, "0.5")
    with pytest.raises(TypeError, match="tau must be a real number"):
        train_ufm(3, 4, 2, "0.1")
