import numpy as np
import pytest

from spherecodes import (max_inner_product, min_angle, rattlers, rho_one_vs_one, rho_one_vs_rest,
                         separation)
from conftest import random_code
from reference import cvxpy_one_vs_rest
from reference_mp import mp_circle_code_distances


def _brute_pairwise(W):
    K = W.shape[1]
    dists = [np.linalg.norm(W[:, i] - W[:, j]) for i in range(K) for j in range(i + 1, K)]
    ips = [W[:, i] @ W[:, j] for i in range(K) for j in range(i + 1, K)]
    return min(dists), max(ips)


@pytest.mark.parametrize("d, K", [(2, 3), (3, 17), (7, 60)])
def test_pairwise_measures_against_brute_force(rng, d, K):
    W = random_code(rng, d, K)
    dmin, ipmax = _brute_pairwise(W)
    assert rho_one_vs_one(W) == pytest.approx(dmin, abs=1e-14)
    assert max_inner_product(W) == pytest.approx(ipmax, abs=1e-14)
    assert min_angle(W) == pytest.approx(np.arccos(np.clip(ipmax, -1, 1)), abs=1e-7)


def test_min_angle_is_accurate_for_tiny_angles():
    t = 1e-9
    W = np.array([[1.0, np.cos(t), -1.0], [0.0, np.sin(t), 0.0]])
    assert min_angle(W) == pytest.approx(t, rel=1e-6)


def test_rattlers_definition(rng):
    W = random_code(rng, 3, 7)
    dist = np.array([cvxpy_one_vs_rest(W, k) for k in range(7)])
    expected = np.flatnonzero(dist > dist.min() * (1 + 1e-6))
    np.testing.assert_array_equal(rattlers(W), expected)
    assert expected.size == 6     # generic random codes: a single class attains the minimum


def test_square_plus_pole_has_no_rattlers():
    # every class is at distance exactly 1 from the hull of the others
    W = np.array([[1.0, 0.0, -1.0, 0.0, 0.0],
                  [0.0, 1.0, 0.0, -1.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 1.0]])
    np.testing.assert_allclose([cvxpy_one_vs_rest(W, k) for k in range(5)], 1.0, atol=1e-8)
    assert rattlers(W).size == 0


def test_no_rattlers_in_a_regular_polygon():
    th = 2 * np.pi * np.arange(9) / 9
    assert rattlers(np.vstack([np.cos(th), np.sin(th)])).size == 0


def test_separation_summary_is_consistent(rng):
    W = random_code(rng, 4, 25)
    s = separation(W)
    assert s.rho_one_vs_rest == pytest.approx(rho_one_vs_rest(W))
    assert s.rho_one_vs_rest_lower <= s.rho_one_vs_rest <= s.rho_one_vs_rest_upper
    assert s.rho_one_vs_one == pytest.approx(rho_one_vs_one(W))
    assert s.max_inner_product == pytest.approx(max_inner_product(W))
    assert s.rho_one_vs_rest >= s.hyperplane_bound - 1e-12
    assert s.distances.shape == (25,)
    np.testing.assert_array_equal(s.rattlers, rattlers(W))


def test_blocked_pairwise_search_on_larger_code(rng):
    W = random_code(rng, 3, 3000)   # several Gram blocks
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    assert max_inner_product(W) == pytest.approx(G.max(), abs=1e-15)


def test_bad_input():
    with pytest.raises(ValueError, match="rtol"):
        rattlers(np.eye(3), rtol=-1)
    with pytest.raises(ValueError, match="unit norm"):
        rho_one_vs_one(np.ones((2, 3)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rattlers_just_inside_and_just_outside_the_tolerance(seed):
    """Set equality with rattler sets from independent distances, at rtol straddling each ratio.

    A hexagon with perturbed angles has one-vs-rest distances spread by ~1e-2;
    the reference distances are the closed form (distance to the neighbours'
    chord) in mpmath.  For every class k above the minimum, with
    r_k = d_k / rho - 1: rtol just below r_k makes k a rattler, just above does
    not, and the whole set must match the reference, both ways.
    """
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(6) / 6 + 0.05 * rng.uniform(-1, 1, 6)
    W, ref = mp_circle_code_distances(angles)
    rho = min(ref)
    ratios = [d / rho - 1 for d in ref]
    checked = 0
    for r in sorted(set(ratios)):
        if r <= 1e-9:
            continue
        for rtol in (r * (1 - 1e-6), r * (1 + 1e-6)):
            expected = {k for k in range(6) if ref[k] > rho * (1 + rtol)}
            got = set(rattlers(W, rtol=rtol).tolist())
            assert got == expected, (rtol, got, expected)
            assert set(separation(W, rtol=rtol).rattlers.tolist()) == expected
            checked += 1
    assert checked >= 6
    # rtol = 0: every class strictly above the minimum
    assert set(rattlers(W, rtol=0.0).tolist()) == {k for k in range(6) if ratios[k] > 1e-12}


def _brute_force_min_distance(W):
    K = W.shape[1]
    return min(float(np.linalg.norm(W[:, a] - W[:, b])) for a in range(K) for b in range(a + 1, K))


def test_closest_pair_by_distance_among_saturated_inner_products():
    """Pairs 1e-9 and 1e-12 apart both have inner product 1.0 in float64: the first
    one found was taken (1000x too large).  And with norms 1 - 9e-9 (accepted as unit)
    the inner products order the pairs wrongly: a pair 5e-5 apart lost to one 1e-4 apart."""
    from spherecodes import min_angle, rho_one_vs_one, separation

    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 6))
    W /= np.linalg.norm(W, axis=0)
    W[:, 1] = W[:, 0] + 1e-9 * np.array([1.0, 0.0, 0.0])
    W[:, 3] = W[:, 2] + 1e-12 * np.array([0.0, 1.0, 0.0])
    W /= np.linalg.norm(W, axis=0)
    ref = _brute_force_min_distance(W)
    assert ref < 2e-12
    assert rho_one_vs_one(W) == ref == separation(W).rho_one_vs_one
    assert min_angle(W) == pytest.approx(2 * np.arcsin(ref / 2), rel=1e-15)
    V = rng.standard_normal((3, 6))
    V /= np.linalg.norm(V, axis=0)
    V[:, 1] = V[:, 0] + 1e-4 * np.array([0.0, 0.0, 1.0])
    V[:, 3] = V[:, 2] + 5e-5 * np.array([1.0, 0.0, 0.0])
    V /= np.linalg.norm(V, axis=0)
    V[:, 2:4] *= 1 - 9e-9
    ref = _brute_force_min_distance(V)
    assert ref < 6e-5
    assert rho_one_vs_one(V) == ref
