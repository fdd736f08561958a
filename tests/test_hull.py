import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import special_ortho_group

from spherecodes import distance_to_hull, one_vs_rest_distances, max_inner_product, rho_one_vs_rest
from conftest import random_code
from reference import cvxpy_hull_distance, cvxpy_one_vs_rest


def _check_against_cvxpy(W, classes, atol=1e-8, **kw):
    res = one_vs_rest_distances(W, **kw)
    for k in classes:
        ref = cvxpy_one_vs_rest(W, k)
        assert abs(res.distance[k] - ref) <= atol, (W.shape, k, res.distance[k], ref)
        # the certificate brackets the independent value (up to cvxpy's own accuracy)
        assert res.lower[k] - 1e-9 <= ref <= res.upper[k] + 1e-9
    return res


def test_random_codes_match_cvxpy():
    """200 random codes, d in [2, 50], K in [3, 200], two classes each against Clarabel."""
    rng = np.random.default_rng(2024)
    for i in range(200):
        d = int(rng.integers(2, 51))
        K = int(rng.integers(3, 201))
        W = random_code(rng, d, K)
        # both inner-product sources: Gram lookups and explicit shifted points
        res = _check_against_cvxpy(W, rng.choice(K, size=2, replace=False), gram=bool(i % 2))
        assert res.converged.all()
        assert np.all(res.lower <= res.distance) and np.all(res.distance <= res.upper)
        assert np.max(res.upper - res.lower) < 1e-9


def test_result_structure(rng):
    W = random_code(rng, 5, 30)
    res = one_vs_rest_distances(W)
    Wt = res.weights.toarray()
    assert res.weights.shape == (30, 30)
    assert np.all(np.diag(Wt) == 0) and np.all(Wt >= 0)
    np.testing.assert_allclose(Wt.sum(axis=1), 1.0, atol=1e-12)
    # nearest points are the stated convex combinations, at the stated distance
    np.testing.assert_allclose(W @ Wt.T, res.nearest, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(W - res.nearest, axis=0), res.distance, atol=1e-12)
    # at most d + 1 points support each projection (Caratheodory / Wolfe corral)
    assert np.diff(res.weights.indptr).max() <= 6


def test_certificate_is_a_valid_bracket(rng):
    """lower is exactly min_j <r, w_k - w_j>/||r|| for the returned point, recomputed here."""
    W = random_code(rng, 4, 40)
    res = one_vs_rest_distances(W)
    for k in range(40):
        r = W[:, k] - res.nearest[:, k]
        others = np.delete(W, k, axis=1)
        low = np.min(r @ (W[:, [k]] - others)) / np.linalg.norm(r)
        assert res.lower[k] == pytest.approx(max(low, 0.0), abs=1e-12)
        assert res.upper[k] == pytest.approx(np.linalg.norm(r), abs=1e-14)


@pytest.mark.parametrize("gram", [True, False])
def test_clustered_code_tiny_distances(gram):
    rng = np.random.default_rng(7)
    centers = random_code(rng, 6, 4)
    W = np.repeat(centers, 10, axis=1) + 1e-4 * rng.standard_normal((6, 40))
    W /= np.linalg.norm(W, axis=0)
    res = _check_against_cvxpy(W, range(0, 40, 3), gram=gram)
    assert res.rho < 1e-3


@pytest.mark.parametrize("gram", [True, False])
def test_duplicate_columns_have_distance_zero(rng, gram):
    W = random_code(rng, 3, 10)
    W = np.hstack([W, W[:, :2]])
    res = one_vs_rest_distances(W, gram=gram)
    for k in (0, 1, 10, 11):
        assert res.distance[k] <= 1e-12 and res.lower[k] == 0.0
    assert res.distance[2:10].min() > 1e-3


def test_point_inside_the_hull_of_the_others():
    W = np.array([[1.0, -1.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 1.0, -1.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 1.0]])
    # origin-centred square plus the pole: the pole is 1 away from the square's hull
    res = one_vs_rest_distances(W)
    assert res.distance[4] == pytest.approx(1.0, abs=1e-14)
    # each square vertex: distance to the hull of the three others and the pole
    ref = cvxpy_one_vs_rest(W, 0)
    assert res.distance[0] == pytest.approx(ref, abs=1e-8)


def test_antipodal_pair():
    W = np.array([[0.0, 0.0], [1.0, -1.0], [0.0, 0.0]])
    res = one_vs_rest_distances(W)
    np.testing.assert_allclose(res.distance, 2.0, atol=1e-15)
    assert rho_one_vs_rest(W) == pytest.approx(2.0)


@pytest.mark.parametrize("kw", [dict(n_neighbors=1), dict(block_size=7), dict(n_jobs=2),
                                dict(n_neighbors=3, block_size=5), dict(gram=False),
                                dict(gram=False, n_neighbors=2, block_size=9, n_jobs=2)])
def test_screening_and_blocking_do_not_change_the_result(rng, kw):
    W = random_code(rng, 8, 60)
    base = one_vs_rest_distances(W, n_neighbors=59)   # every codeword is a candidate
    res = one_vs_rest_distances(W, **kw)
    np.testing.assert_allclose(res.distance, base.distance, atol=1e-12)
    assert res.converged.all()


def test_distance_to_hull_general_points():
    rng = np.random.default_rng(3)
    for _ in range(25):
        d = int(rng.integers(1, 12))
        m = int(rng.integers(1, 40))
        A = 3.0 * rng.standard_normal((d, m)) + 1.0
        v = 4.0 * rng.standard_normal(d)
        proj = distance_to_hull(v, A)
        ref = cvxpy_hull_distance(v, A)
        assert proj.distance == pytest.approx(ref, abs=1e-8)
        assert proj.lower - 1e-9 <= ref <= proj.upper + 1e-9
        np.testing.assert_allclose(A @ proj.weights, proj.point, atol=1e-12)
        assert proj.weights.sum() == pytest.approx(1.0) and proj.weights.min() >= 0


def test_distance_to_hull_single_point_and_interior():
    A = np.array([[1.0], [2.0]])
    assert distance_to_hull(np.zeros(2), A).distance == pytest.approx(np.sqrt(5.0))
    sq = np.array([[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]])
    proj = distance_to_hull(np.array([0.2, -0.3]), sq)
    assert proj.distance < 1e-12 and proj.lower == 0.0


@pytest.mark.parametrize("bad, match", [
    (np.ones(3), "2-D"),
    (np.ones((3, 1)) / np.sqrt(3), "K >= 2"),
    (np.full((2, 3), np.nan), "NaN"),
    (np.ones((2, 3)), "unit norm"),
    (np.zeros((0, 3)), "at least one row"),
    ([["a", "b"], ["c", "d"]], "numeric"),
])
def test_bad_codes_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        one_vs_rest_distances(bad)


@pytest.mark.parametrize("excess, accepted", [(0.4e-8, True), (0.9e-8, True), (1.1e-8, False), (np.nan, False)])
def test_unit_norm_check_at_the_tolerance(rng, excess, accepted):
    """The compiled screen of one_vs_rest_distances accepts exactly what ``as_code`` accepts.

    Column 2 has norm ``1 + excess`` (tolerance 1e-8): inside half the tolerance the
    screen accepts it, between half and the whole ``as_code`` decides, beyond it the
    error names the column; a NaN fails as "NaN or inf".
    """
    W = random_code(rng, 4, 9)
    W[:, 2] *= 1.0 + excess
    if accepted:
        assert abs(np.linalg.norm(W[:, 2]) - 1.0) <= 1e-8
        res = one_vs_rest_distances(W)
        assert res.nearest.shape == W.shape
    else:
        with pytest.raises(ValueError, match="column 2 has norm" if excess == excess else "NaN or inf"):
            one_vs_rest_distances(W)


def test_weights_same_on_both_paths(rng):
    """The Gram path keeps its support padded and builds ``weights`` lazily: same matrix as the blocked path."""
    W = random_code(rng, 5, 30)
    a = one_vs_rest_distances(W, gram=True)
    b = one_vs_rest_distances(W, gram=False)
    wa, wb = a.weights, b.weights
    assert wa.shape == wb.shape == (30, 30) and wa.diagonal().max() == 0.0
    np.testing.assert_allclose(np.asarray(wa.sum(axis=1)).ravel(), 1.0, atol=1e-12)
    np.testing.assert_allclose(wa.toarray(), wb.toarray(), atol=1e-9)
    # the weights reproduce the nearest points: W @ weights[k] = nearest[:, k]
    np.testing.assert_allclose(W @ wa.toarray().T, a.nearest, atol=1e-12)


def test_normalize_opt_in(rng):
    W = random_code(rng, 3, 8)
    res = one_vs_rest_distances(2.5 * W, normalize=True)
    np.testing.assert_allclose(res.distance, one_vs_rest_distances(W).distance, atol=1e-12)


def test_distance_to_hull_bad_input():
    with pytest.raises(ValueError, match="shape"):
        distance_to_hull(np.zeros(3), np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        distance_to_hull(np.array([np.inf, 0.0]), np.ones((2, 4)))


codes = st.tuples(st.integers(2, 6), st.integers(3, 24), st.integers(0, 2**32 - 1))


@settings(max_examples=40, deadline=None)
@given(codes)
def test_hyperplane_lower_bound(args):
    """For any W: rho_one_vs_rest(W) >= 1 - max inner product (separating hyperplane)."""
    d, K, seed = args
    W = random_code(np.random.default_rng(seed), d, K)
    res = one_vs_rest_distances(W)
    assert res.rho_upper >= 1.0 - max_inner_product(W) - 1e-12
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    assert np.all(res.distance >= 1.0 - G.max(axis=1) - 1e-12)


@settings(max_examples=30, deadline=None)
@given(codes)
def test_invariance_under_rotations_and_permutations(args):
    d, K, seed = args
    rng = np.random.default_rng(seed)
    W = random_code(rng, d, K)
    R = special_ortho_group.rvs(d, random_state=seed) if d > 1 else np.eye(1)
    perm = rng.permutation(K)
    base = one_vs_rest_distances(W).distance
    rotated = one_vs_rest_distances(R @ W).distance
    permuted = one_vs_rest_distances(W[:, perm]).distance
    np.testing.assert_allclose(rotated, base, atol=1e-10)
    np.testing.assert_allclose(permuted, base[perm], atol=1e-10)


class _Clock:
    """A stand-in for ``time`` whose perf_counter advances one second per reading."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("gram", [True, False])
def test_time_limit_solves_the_classes_most_at_risk_first(monkeypatch, gram):
    """Under a clock that ticks one second per reading, a 10 s limit leaves time for two
    one-class chunks: the two classes with the largest inner product to another codeword
    (their nearest-codeword bounds are the smallest); the rest keep those bounds."""
    from spherecodes import hull

    rng = np.random.default_rng(3)
    W = random_code(rng, 6, 40)
    full = one_vs_rest_distances(W, gram=gram)
    monkeypatch.setattr(hull, "time", _Clock())
    res = one_vs_rest_distances(W, gram=gram, time_limit=10.0)
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    at_risk = np.argsort(-G.max(axis=1))[:2]
    np.testing.assert_array_equal(np.flatnonzero(res.solved), np.sort(at_risk))
    s = res.solved
    np.testing.assert_array_equal(res.distance[s], full.distance[s])
    assert res.converged[s].all() and not res.converged[~s].any()
    assert np.all(res.lower <= full.lower) and np.all(res.upper >= full.upper)
    assert res.rho_lower <= full.rho_lower and res.rho_upper >= full.rho_upper
    assert "solved 2 of 40 classes" in repr(res)


def test_time_limit_is_checked_and_not_with_an_executor():
    from spherecodes.executor import SerialExecutor

    W = random_code(np.random.default_rng(0), 3, 6)
    for bad in (-1.0, float("nan"), float("inf"), 10**400):
        with pytest.raises(ValueError, match="time_limit"):
            one_vs_rest_distances(W, time_limit=bad)
    with pytest.raises(TypeError, match="time_limit"):
        one_vs_rest_distances(W, time_limit="5")
    with pytest.raises(ValueError, match="time_limit cannot be combined with executor"):
        one_vs_rest_distances(W, time_limit=5.0, executor=SerialExecutor())
    assert one_vs_rest_distances(W, time_limit=60.0).complete


@pytest.mark.parametrize("gram", [True, False])
def test_the_largest_time_limits_are_no_limit(gram):
    # 1e308 s: the chunk of classes that fits is inf classes; it must become "all of them"
    from spherecodes.hull import certification_seconds

    W = random_code(np.random.default_rng(1), 3, 12)
    exact = one_vs_rest_distances(W, gram=gram)
    for limit in (1e308, np.finfo(float).max):
        res = one_vs_rest_distances(W, gram=gram, time_limit=limit)
        assert res.complete and np.array_equal(res.distance, exact.distance)
        assert 0 < certification_seconds(W, gram=gram, max_seconds=limit) < 1.0
