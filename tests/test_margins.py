"""Distances between convex hulls and feature margins, against cvxpy (Clarabel) and closed forms."""
import warnings

import cvxpy as cp
import numpy as np
import pytest

from spherecodes import distance_between_hulls, feature_margins, one_vs_rest_distances


def cvxpy_hull_to_hull(A, B):
    """min ||A lam - B mu|| over two simplices, as a second-order-cone program."""
    lam = cp.Variable(A.shape[1], nonneg=True)
    mu = cp.Variable(B.shape[1], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.norm(A @ lam - B @ mu)), [cp.sum(lam) == 1, cp.sum(mu) == 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500)
    return float(prob.value)


def separation_bound(A, B, x):
    """(min_i <x, a_i> - max_j <x, b_j>) / ||x||, recomputed here."""
    return (np.min(x @ A) - np.max(x @ B)) / np.linalg.norm(x)


def check_result(r, A, B, ref, rel=1e-8):
    assert r.lower <= r.distance <= r.upper
    # the bracket contains the independent value (to cvxpy's own accuracy)
    assert r.lower - rel * (1 + ref) <= ref <= r.upper + rel * (1 + ref)
    # the returned points are the stated convex combinations, at the stated distance
    assert np.all(r.weights_a >= 0) and np.all(r.weights_b >= 0)
    assert r.weights_a.sum() == pytest.approx(1, abs=1e-14) and r.weights_b.sum() == pytest.approx(1, abs=1e-14)
    np.testing.assert_allclose(A @ r.weights_a, r.point_a, atol=1e-12)
    np.testing.assert_allclose(B @ r.weights_b, r.point_b, atol=1e-12)
    assert np.linalg.norm(r.point_a - r.point_b) == pytest.approx(r.distance, rel=1e-10, abs=1e-14)
    x = r.point_a - r.point_b
    if r.distance > 1e-6:
        assert r.lower == pytest.approx(separation_bound(A, B, x), rel=1e-10)


def test_random_separated_sets_match_cvxpy():
    rng = np.random.default_rng(7)
    separated = 0
    for _ in range(12):
        d = int(rng.integers(2, 10))
        u = rng.standard_normal((d, 1))
        A = rng.standard_normal((d, int(rng.integers(1, 30))))
        B = rng.standard_normal((d, int(rng.integers(1, 30)))) + rng.uniform(4, 9) * u / np.linalg.norm(u)
        r = distance_between_hulls(A, B)
        ref = cvxpy_hull_to_hull(A, B)
        assert r.distance == pytest.approx(ref, rel=1e-8, abs=1e-9)
        check_result(r, A, B, ref)
        if ref > 1e-6:
            separated += 1
            assert r.converged and r.upper - r.lower <= 1e-12 * r.upper
    assert separated >= 9


def test_touching_sets():
    """Two triangles sharing the vertex (1, 1), and two squares sharing an edge: distance 0."""
    A = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    B = np.array([[1.0, 2.0, 2.0], [1.0, 1.0, 2.0]])
    sq1 = np.array([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    for P, Q in ((A, B), (sq1, sq1 + np.array([[1.0], [0.0]]))):
        r = distance_between_hulls(P, Q)
        ref = cvxpy_hull_to_hull(P, Q)
        assert abs(ref) < 1e-7
        assert r.lower == 0.0 and r.upper < 1e-14
        check_result(r, P, Q, ref)


def test_nearly_touching_sets_keep_a_valid_bracket():
    """Segments 1e-9 apart (touching after rounding at the scale 1): distance exactly 1e-9."""
    A = np.array([[0.0, 1.0], [0.0, 0.0]])
    B = np.array([[0.0, 1.0], [1e-9, 1e-9]])
    r = distance_between_hulls(A, B)
    assert r.lower <= 1e-9 <= r.upper
    assert r.distance == pytest.approx(1e-9, rel=1e-6)


def test_overlapping_sets():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 40))
    B = rng.standard_normal((5, 40)) + 0.3
    r = distance_between_hulls(A, B)
    ref = cvxpy_hull_to_hull(A, B)
    assert ref < 1e-7
    assert r.lower == 0.0 and r.upper < 1e-10 and not r.converged
    check_result(r, A, B, ref)


def test_far_from_the_origin_rows_and_torch():
    rng = np.random.default_rng(11)
    A = rng.standard_normal((4, 25))
    B = rng.standard_normal((4, 25)) + np.array([[3.0], [0.0], [0.0], [0.0]])
    ref = cvxpy_hull_to_hull(A, B)
    r = distance_between_hulls(A + 1e6, B + 1e6)                # translation: same distance
    assert r.lower <= ref * (1 + 1e-8) and ref * (1 - 1e-8) <= r.upper
    assert r.upper - r.lower < 1e-8 * ref                      # 1e6 offset costs ~1e-10 relative
    torch = pytest.importorskip("torch")
    rr = distance_between_hulls(torch.from_numpy(A.T), torch.from_numpy(B.T), layout="rows")
    r0 = distance_between_hulls(A, B)
    assert (rr.distance, rr.lower, rr.upper) == (r0.distance, r0.lower, r0.upper)


def test_a_single_point_is_distance_to_hull():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((6, 30))
    v = 3 * rng.standard_normal(6)
    from spherecodes import distance_to_hull
    ref = distance_to_hull(v, A)
    r = distance_between_hulls(A, v[:, None])
    assert r.distance == pytest.approx(ref.distance, rel=1e-12)
    assert r.lower <= ref.upper and ref.lower <= r.upper


def test_feature_margins_against_cvxpy_and_eq4():
    rng = np.random.default_rng(2)
    K, d, n = 4, 3, 6
    M = rng.standard_normal((d, K))
    M /= np.linalg.norm(M, axis=0)
    y = np.repeat(np.arange(K), n)
    H = M[:, y] + 0.02 * rng.standard_normal((d, K * n))
    fm = feature_margins(H, y)
    for k in range(K):
        ref = cvxpy_hull_to_hull(H[:, y == k], H[:, y != k])
        assert fm.distance[k] == pytest.approx(ref, rel=1e-7, abs=1e-9)
        assert fm.lower[k] - 1e-8 <= ref <= fm.upper[k] + 1e-8
    # Eq. (4): collapsed features (every feature at its class mean) have the one-vs-rest distances of the means
    Hc = M[:, y]
    ovr = one_vs_rest_distances(M)
    fmc = feature_margins(Hc.T, y, layout="rows")
    np.testing.assert_allclose(fmc.distance, ovr.distance, rtol=1e-12)
    assert fmc.min_lower <= ovr.rho_upper and ovr.rho_lower <= fmc.min_upper
    part = feature_margins(H, y, classes=[2])
    assert np.isnan(part.distance[0]) and part.distance[2] == fm.distance[2]


def test_bad_input():
    A = np.zeros((3, 2))
    with pytest.raises(ValueError, match="same dimension d"):
        distance_between_hulls(A, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN or inf"):
        distance_between_hulls(A, np.full((3, 1), np.nan))
    with pytest.raises(ValueError, match="layout must be"):
        distance_between_hulls(A, A, layout="row")
    with pytest.raises(ValueError, match="tol"):
        distance_between_hulls(A, A, tol=0)
    with pytest.raises(ValueError, match="classes must be in range"):
        feature_margins(np.eye(3), [0, 1, 2], classes=[3])


def test_classes_are_never_truncated():
    """classes=[1.5] used to run class 1 (numpy's cast); non-integers are type errors, and an
    integer-valued float is the integer (the same margins as the plain index)."""
    H = np.array([[0.0, 0.0, 3.0, 3.0, 6.0], [0.0, 1.0, 0.0, 1.0, 0.0]])
    y = [0, 0, 1, 1, 2]
    for bad in ([1.5], 1.5, [True], ["1"], [np.nan]):
        with pytest.raises(TypeError, match="classes must be integers"):
            feature_margins(H, y, classes=bad)
    with pytest.raises(ValueError, match=r"classes must be in range\(K\) = range\(3\), got -1"):
        feature_margins(H, y, classes=[-1, 1])
    one = feature_margins(H, y, classes=[1.0])
    assert one.distance[1] == feature_margins(H, y, classes=[1]).distance[1]
    assert np.isnan(one.distance[0]) and np.isnan(one.distance[2])
    # class 0 is the segment x = 0, the rest lies on x = 3 and x = 6: distance 3 by hand
    assert feature_margins(H, y, classes=[0]).distance[0] == pytest.approx(3.0, abs=1e-9)


def test_hull_distance_brackets_hold_at_the_ends_of_the_doubles():
    """Subnormal distances were scaled back unrounded (a bracket of width 0 that missed the
    exact value); past 2^1023 the centroid overflowed to NaN.  Exact values in mpmath."""
    import mpmath
    import warnings

    mpmath.mp.dps = 40
    T = 2.0 ** -1074
    cases = [(np.array([[5e-324], [0.0]]), np.array([[0.0], [5e-324]])),
             (np.zeros((3, 1)), np.full((3, 1), 1e-320)),
             # next to entries of 2^1010, brought down by 2^-11 first: the small ones lose bits
             (np.array([[2.0 ** 1010], [3000 * T]]), np.array([[2.0 ** 1010], [9000 * T]])),
             (np.array([[2.0 ** 1010], [0.0], [0.0]]), np.array([[2.0 ** 1010], [2.0 ** -1063], [2.0 ** -1063]])),
             (np.array([[2.0 ** 990], [0.0], [0.0]]), np.array([[2.0 ** 990], [2.0 ** -1063], [2.0 ** -1063]]))]
    for A, B in cases:
        r = distance_between_hulls(A, B)
        ref = mpmath.sqrt(sum((mpmath.mpf(float(a)) - mpmath.mpf(float(b))) ** 2 for a, b in zip(A[:, 0], B[:, 0])))
        assert mpmath.mpf(r.lower) <= ref <= mpmath.mpf(r.upper), (r.lower, r.upper, ref)
        assert not r.converged          # some subnormal steps wide: not within 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for A, B in ([[[1e308]], [[-1e308]]], [[[1.5e308, 1.7e308]], [[-1.7e308]]]):
            r = distance_between_hulls(A, B)   # 2e308 and 3.2e308: past the largest double
            assert r.lower == np.finfo(float).max and r.upper == np.inf and not r.converged
        # large but finite: the same digits as the problem scaled down by a power of two
        A, B = np.array([[1.0, 3.0], [0.0, 1.0]]), np.array([[-1.0], [0.5]])
        big = distance_between_hulls(A * 2.0 ** 1020, B * 2.0 ** 1020)
        small = distance_between_hulls(A, B)
        assert big.converged and small.converged
        assert big.lower <= np.ldexp(small.distance, 1020) <= big.upper
