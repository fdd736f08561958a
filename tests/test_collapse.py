"""GNC metrics (Section 2.2) and the optimal features of Theorem 3.5.

References are written with explicit loops over classes and samples, so they
share no code path with the vectorized implementation.
"""
import warnings

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spherecodes import constructions as C
from spherecodes.collapse import class_means, gnc1, gnc2, gnc3, gnc_metrics, optimal_features
from reference import cvxpy_one_vs_rest


def random_features(rng, d, counts, spread=0.3):
    """Unit features around random class centres; counts[k] samples of class k (shuffled)."""
    K = len(counts)
    centres = rng.standard_normal((d, K))
    y = np.concatenate([np.full(n, k) for k, n in enumerate(counts)])
    rng.shuffle(y)
    H = centres[:, y] + spread * rng.standard_normal((d, y.size))
    return H / np.linalg.norm(H, axis=0), y


def loop_means(H, y, K):
    d = H.shape[0]
    out = np.zeros((d, K))
    for k in range(K):
        s, n = np.zeros(d), 0
        for i in range(H.shape[1]):
            if y[i] == k:
                s += H[:, i]
                n += 1
        out[:, k] = s / n
    return out


def loop_gnc1(H, y, K):
    d, N = H.shape
    M = loop_means(H, y, K)
    SB = np.zeros((d, d))
    for k in range(K):
        SB += np.outer(M[:, k], M[:, k])
    SB /= K
    SW = np.zeros((d, d))
    for i in range(N):
        r = H[:, i] - M[:, y[i]]
        SW += np.outer(r, r)
    SW /= N
    # pseudo-inverse from an eigendecomposition, dropping the null space
    vals, vecs = np.linalg.eigh(SB)
    keep = vals > vals.max() * 1e-10
    SBp = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    return np.trace(SW @ SBp) / K


def loop_gnc3(W, H, y, normalize_means):
    K = W.shape[1]
    M = loop_means(H, y, K)
    total = 0.0
    for k in range(K):
        m = M[:, k]
        if normalize_means:
            m = m / np.sqrt(sum(x * x for x in m))
        total += 1.0 - sum(W[i, k] * m[i] for i in range(W.shape[0]))
    return total / K


def cvxpy_projection(v, A):
    lam = cp.Variable(A.shape[1], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ lam - v)), [cp.sum(lam) == 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver="CLARABEL")
    return A @ lam.value


def hull():
    from spherecodes import hull as module
    return module


# --------------------------------------------------------------------------- class means / GNC1

def test_class_means(rng):
    H, y = random_features(rng, 5, [3, 7, 1, 4])
    np.testing.assert_allclose(class_means(H, y), loop_means(H, y, 4), atol=1e-14)
    M = class_means(H, y, K=4)
    assert M.shape == (5, 4)


@pytest.mark.parametrize("d,counts", [(3, [5, 5, 5, 5, 5, 5, 5]), (6, [4, 9, 2, 7]), (10, [3, 3, 3]),
                                      (4, [20, 1, 6, 6, 2, 9])])
def test_gnc1_against_loops(rng, d, counts):
    H, y = random_features(rng, d, counts)
    K = len(counts)
    assert gnc1(H, y) == pytest.approx(loop_gnc1(H, y, K), rel=1e-9)
    assert gnc1(H, y) > 0


def test_gnc1_balanced_is_paper_normalization(rng):
    # balanced: Sigma_W = 1/(nK) sum_k sum_i, the paper's formula
    d, K, n = 4, 6, 5
    H, y = random_features(rng, d, [n] * K)
    M = loop_means(H, y, K)
    SW = sum(np.outer(H[:, i] - M[:, y[i]], H[:, i] - M[:, y[i]]) for i in range(n * K)) / (n * K)
    SB = sum(np.outer(M[:, k], M[:, k]) for k in range(K)) / K
    assert gnc1(H, y) == pytest.approx(np.trace(SW @ np.linalg.inv(SB)) / K, rel=1e-9)


def test_gnc1_scale_invariant_and_not_centred(rng):
    H, y = random_features(rng, 3, [4, 4, 4, 4])
    assert gnc1(7.0 * H, y) == pytest.approx(gnc1(H, y), rel=1e-10)
    # Sigma_B is not centred by the global mean: a global shift changes the value
    assert abs(gnc1(H + 3.0, y) - gnc1(H, y)) > 1e-3


def test_collapsed_features():
    W = C.icosahedron()
    y = np.repeat(np.arange(12), 4)
    H = W[:, y]
    assert gnc1(H, y) == 0.0
    assert gnc3(W, H, y) == pytest.approx(0.0, abs=1e-15)
    assert gnc3(W, H, y, normalize_means=False) == pytest.approx(0.0, abs=1e-15)
    m = gnc_metrics(W, H, y)
    assert m.gnc1 == 0.0 and abs(m.gnc3) < 1e-15
    assert m.gnc2 == pytest.approx(1 - 1 / np.sqrt(5), abs=1e-12)


def test_gnc1_rank_deficient_means(rng):
    # K = 3 class means span 2 dims in R^5; pinv ignores within-class noise off that span
    W = C.simplex_etf(5, 3)
    y = np.repeat(np.arange(3), 5)
    noise = np.zeros((5, 15))
    noise[3:] = rng.standard_normal((2, 15))  # orthogonal to the means' span
    noise -= loop_means(noise, y, 3)[:, y]
    H = W[:, y] + noise
    assert gnc1(H, y) == pytest.approx(0.0, abs=1e-12)
    assert gnc1(H, y) == pytest.approx(loop_gnc1(H, y, 3), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 8), K=st.integers(2, 6))
def test_gnc_invariance_properties(seed, d, K):
    """GNC1 is invariant under rotations and rescaling of H and under relabelling;
    GNC3 under a common rotation of W and H."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 5, size=K)
    H, y = random_features(rng, d, counts.tolist())
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    g = gnc1(H, y)
    assert g >= 0
    # Sigma_B^+ amplifies rounding by its condition number: scale the tolerance with it
    means = loop_means(H, y, K)
    sv = np.linalg.svd(means, compute_uv=False)
    rel = max(1e-9, 1e-13 * (sv[0] / sv[sv > 1e-12 * sv[0]][-1]) ** 2)
    assert gnc1(2.5 * (Q @ H), y) == pytest.approx(g, rel=max(rel, 1e-7), abs=1e-12)
    perm = rng.permutation(K)
    assert gnc1(H, perm[y]) == pytest.approx(g, rel=rel, abs=1e-12)
    W = rng.standard_normal((d, K))
    W /= np.linalg.norm(W, axis=0)
    g3 = gnc3(W, H, y)
    assert 0 <= g3 <= 2
    assert gnc3(Q @ W, Q @ H, y) == pytest.approx(g3, rel=1e-9, abs=1e-12)
    assert gnc3(W[:, np.argsort(perm)], H, perm[y]) == pytest.approx(g3, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- GNC2 / GNC3

@pytest.mark.parametrize("normalize_means", [True, False])
def test_gnc3_against_loops(rng, normalize_means):
    for d, counts in ((3, [4, 4, 4, 4, 4]), (8, [1, 5, 2, 9, 3, 3])):
        H, y = random_features(rng, d, counts)
        W = rng.standard_normal((d, len(counts)))
        W /= np.linalg.norm(W, axis=0)
        val = gnc3(W, H, y, normalize_means=normalize_means)
        assert val == pytest.approx(loop_gnc3(W, H, y, normalize_means), rel=1e-12)
    # aligned means but spread features: zero only with normalized means
    W = C.cross_polytope(3)
    y = np.repeat(np.arange(6), 2)
    H = W[:, y].copy()
    perp = np.roll(W, 1, axis=0)  # a unit vector orthogonal to each w_k
    H[:, ::2] += 0.5 * perp[:, y[::2]]
    H[:, 1::2] -= 0.5 * perp[:, y[1::2]]
    H /= np.linalg.norm(H, axis=0)
    assert gnc3(W, H, y) == pytest.approx(0.0, abs=1e-15)
    assert gnc3(W, H, y, normalize_means=False) == pytest.approx(1 - 1 / np.sqrt(1.25), rel=1e-12)


def test_gnc2(rng):
    W = rng.standard_normal((3, 7))
    W /= np.linalg.norm(W, axis=0)
    ref = min(cvxpy_one_vs_rest(W, k) for k in range(7))
    assert gnc2(W) == pytest.approx(ref, abs=1e-7)
    assert gnc2(C.polygon(8)) == pytest.approx(1 - np.cos(2 * np.pi / 8), abs=1e-12)
    assert gnc2(3 * C.polygon(8), normalize=True) == pytest.approx(1 - np.cos(2 * np.pi / 8), abs=1e-12)


# --------------------------------------------------------------------------- Theorem 3.5

@pytest.mark.parametrize("d,K", [(2, 3), (3, 4), (6, 4), (9, 10), (5, 2)])
def test_optimal_features_simplex(d, K):
    hull()
    W = C.simplex_etf(d, K, seed=d * K)
    Hs = optimal_features(W)
    assert Hs.shape == (d, K)
    np.testing.assert_allclose(Hs, W, atol=1e-12)


@pytest.mark.parametrize("d", [2, 3, 7])
def test_optimal_features_cross_polytope_and_symmetric_codes(d):
    hull()
    W = C.cross_polytope(d)
    np.testing.assert_allclose(optimal_features(W), W, atol=1e-12)
    for W in (C.polygon(7), C.icosahedron(), C.cell600()):
        np.testing.assert_allclose(optimal_features(W), W, atol=1e-10)


def test_optimal_features_random_code(rng):
    hull()
    d, K = 3, 9
    W = rng.standard_normal((d, K))
    W /= np.linalg.norm(W, axis=0)
    Hs = optimal_features(W)
    np.testing.assert_allclose(np.linalg.norm(Hs, axis=0), 1.0, atol=1e-14)
    for k in (0, 4, 8):
        p = cvxpy_projection(W[:, k], np.delete(W, k, axis=1))
        r = W[:, k] - p
        np.testing.assert_allclose(Hs[:, k], r / np.linalg.norm(r), atol=1e-6)
    # HardMax margin of class k with feature h: max_{j != k} <w_j - w_k, h>.
    # h_k attains -dist_k, and no unit vector does better (minimax duality).
    dist = np.array([cvxpy_one_vs_rest(W, k) for k in range(K)])
    trial = rng.standard_normal((d, 2000))
    trial /= np.linalg.norm(trial, axis=0)
    for k in range(K):
        others = np.delete(W, k, axis=1)
        margin_opt = np.max((others - W[:, [k]]).T @ Hs[:, k])
        assert margin_opt == pytest.approx(-dist[k], abs=1e-6)
        assert np.min(np.max((others - W[:, [k]]).T @ trial, axis=0)) >= margin_opt - 1e-9


def test_optimal_features_zero_distance():
    hull()
    W = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # w_0 == w_1: inside the hull of the others
    with pytest.raises(ValueError, match="convex hull"):
        optimal_features(W)


# --------------------------------------------------------------------------- validation

def test_validation(rng):
    H, y = random_features(rng, 3, [2, 2, 2])
    W = C.simplex_etf(3, 3)
    with pytest.raises(ValueError):
        gnc1(H[:, :-1], y)  # length mismatch
    with pytest.raises(ValueError):
        gnc1(H, y.astype(float) + 0.5)  # non-integer labels
    with pytest.raises(ValueError):
        gnc1(H, np.where(y == 1, 2, y))  # class 1 empty
    with pytest.raises(ValueError):
        class_means(H, y, K=2)  # label out of range
    with pytest.raises(ValueError):
        gnc1(np.full((3, 6), np.nan), y)
    with pytest.raises(ValueError):
        gnc3(2 * W, H, y)  # non-unit classifier
    assert gnc3(2 * W, H, y, normalize=True) == pytest.approx(gnc3(W, H, y), rel=1e-14)
    with pytest.raises(ValueError, match="dimension"):
        gnc3(C.simplex_etf(4, 3), H, y)  # d mismatch
    with pytest.raises(ValueError):
        gnc3(C.simplex_etf(3, 4), H, y)  # class 3 has no samples
    with pytest.raises(ValueError, match="zero mean"):
        gnc3(C.cross_polytope(3, 3), np.hstack([H[:, :4], np.array([[1, -1], [0, 0], [0, 0.0]])]),
             np.array([0, 1, 0, 1, 2, 2]))
    with pytest.raises(ValueError):
        optimal_features(2 * W)
    with pytest.raises(ValueError):
        gnc2(np.ones((3, 1)))


# ---------------------------------------------------------------------------
# issue 11, item 3: GNC1 never negative, GNC1/GNC3 scale-free


def _gnc1_reference(H, y, K):
    """tr(Sigma_W Sigma_B^+) / K with Sigma_B^+ = K (M^+)^T M^+ and M^+ = pinv of the (d, K) means.

    (M M^T / K)^+ = K (M^T)^+ M^+ for any M; a per-sample loop in long double.
    Independent of the library's SVD-in-the-span code path.
    """
    M = np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)
    Mp = np.linalg.pinv(M, rcond=1e-10)            # (K, d)
    tot = np.longdouble(0)
    for i in range(H.shape[1]):
        z = Mp @ (H[:, i] - M[:, y[i]])
        tot += np.longdouble(z @ z)
    return float(tot * K / H.shape[1] / K)


@pytest.mark.parametrize("seed", range(4))
def test_issue11_3a_gnc1_nearly_collapsed_high_dimension(seed):
    """d = 512, K = 10, n = 20, spread 0.01 around random unit means: main gave -1.05e8.

    The d x d pseudo-inverse fails sporadically (here: seed 1 gave 7.4e10 on
    OpenBLAS, where the reference is 9.9e-4), so several seeds are checked.
    """
    rng = np.random.default_rng(seed)
    d, K, n = 512, 10, 20
    means = rng.standard_normal((d, K))
    means /= np.linalg.norm(means, axis=0)
    y = np.repeat(np.arange(K), n)
    H = means[:, y] + 0.01 * rng.standard_normal((d, K * n))
    g = gnc1(H, y)
    assert g >= 0
    assert g == pytest.approx(_gnc1_reference(H, y, K), rel=1e-9)
    # scale-free: the same value at 1e200 and 1e-200 (overflow / underflow before)
    assert gnc1(1e200 * H, y) == pytest.approx(g, rel=1e-12)
    assert gnc1(1e-200 * H, y) == pytest.approx(g, rel=1e-12)
    assert gnc1(2.0 ** 600 * H, y) == g          # a power of two is exact


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31), st.integers(2, 40), st.integers(-6, -1))
def test_gnc1_never_negative_property(seed, d, e):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 8))
    y = np.repeat(np.arange(K), 3)
    H = rng.standard_normal((d, K))[:, y] + 10.0 ** e * rng.standard_normal((d, 3 * K))
    g = gnc1(H, y)
    assert g >= 0
    assert g == pytest.approx(_gnc1_reference(H, y, K), rel=1e-7, abs=1e-300)


def test_issue11_3b_gnc3_scale_free():
    """gnc3(W, 1e200 * H, y) gave 1.0 (true 0.00355-like); gnc1(1e-200 * H, y) gave 0."""
    rng = np.random.default_rng(5)
    d, K, n = 8, 5, 4
    W = rng.standard_normal((d, K))
    W /= np.linalg.norm(W, axis=0)
    y = np.repeat(np.arange(K), n)
    H = W[:, y] + 0.3 * rng.standard_normal((d, K * n))
    # reference: loop over classes, angle from the normalized mean
    ref = np.mean([1.0 - W[:, k] @ (H[:, y == k].mean(axis=1) / np.linalg.norm(H[:, y == k].mean(axis=1)))
                   for k in range(K)])
    g = gnc3(W, H, y)
    assert g == pytest.approx(ref, abs=1e-15)
    for s in (1e200, 1e-200, 1e300, 1e-300):
        assert gnc3(W, s * H, y) == pytest.approx(ref, abs=1e-15)
    assert gnc1(1e-200 * H, y) == pytest.approx(gnc1(H, y), rel=1e-12)
    assert gnc1(1e-200 * H, y) > 0


def test_gnc3_unnormalized_means_far_from_unit_norm():
    """normalize_means=False with features of norm s: GNC3 = 1 - s exactly here; the
    difference-of-squares form lost it to cancellation (-999989182464 at s = 1e12, 0 at 1e16)
    and to overflow (nan at 1e155)."""
    from fractions import Fraction

    W = np.array([[1.0, -1.0], [0.0, 0.0]])
    for s in (1e12, 1e16, 1e20, 1e155, 1.5, 0.25):
        assert gnc3(W, s * W, [0, 1], normalize_means=False) == float(1 - Fraction(s)), s
    # and near unit norm the difference form still keeps the digits of 1 - <w, m>
    rng = np.random.default_rng(3)
    Wr = rng.standard_normal((4, 3))
    Wr /= np.linalg.norm(Wr, axis=0)
    M = Wr + 1e-9 * rng.standard_normal((4, 3))
    ref = np.mean([float(1 - sum(Fraction(float(a)) * Fraction(float(b)) for a, b in zip(Wr[:, k], M[:, k])))
                   for k in range(3)])
    assert gnc3(Wr, M, [0, 1, 2], normalize_means=False) == pytest.approx(ref, rel=1e-6)
