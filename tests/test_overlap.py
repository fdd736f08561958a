"""The overlap-penalty search of d = 3 Tammes restarts (spherecodes.solvers.overlap)."""
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from spherecodes.constructions import icosahedron
from spherecodes.solvers.overlap import _energy_grad, _pairs_within, overlap_energy, overlap_hops, relax
from spherecodes.solvers.polish import polish_tammes


def _random_code(rng, d, K):
    W = rng.standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def _brute_energy(W, c):
    """sum over pairs of max(0, sqrt(2 - 2c) - |w_i - w_j|)^2, from scipy's pairwise distances."""
    gap = np.sqrt(2.0 - 2.0 * c) - pdist(W.T)
    return float(np.sum(np.maximum(gap, 0.0) ** 2))


def _max_ip(W):
    return float(1.0 - 0.5 * pdist(W.T).min() ** 2)


@pytest.mark.parametrize("d, K, c", [(3, 40, 0.8), (3, 100, 0.9), (5, 30, 0.3), (3, 12, 0.9)])
def test_energy_against_pairwise_distances(d, K, c):
    W = _random_code(np.random.default_rng(K), d, K)
    assert overlap_energy(W, c) == pytest.approx(_brute_energy(W, c), rel=1e-12, abs=1e-300)


def test_energy_is_zero_exactly_on_codes_below_the_target():
    W = icosahedron()
    t = 1 / np.sqrt(5)
    assert overlap_energy(W, t + 1e-9) == 0.0
    assert overlap_energy(W, t - 1e-6) > 0.0
    assert _brute_energy(W, t - 1e-6) == pytest.approx(overlap_energy(W, t - 1e-6), rel=1e-9)


def test_gradient_against_finite_differences():
    rng = np.random.default_rng(3)
    W = _random_code(rng, 3, 30)
    c = 0.7
    X = np.ascontiguousarray(W.T)
    delta = np.sqrt(2 - 2 * c)
    G = np.zeros_like(X)
    _energy_grad(X, delta, G, _pairs_within(X, 2.0 * delta))
    _assert_tangent_gradient(X, G, lambda Y: _brute_energy(Y.T, c), rng)


def _assert_tangent_gradient(X, G, energy, rng):
    """``G`` (rows tangent at the unit rows ``X``) against central differences of ``energy`` (of unit
    rows) along a random tangent direction."""
    assert np.abs(np.sum(G * X, axis=1)).max() < 1e-12  # tangent rows
    V = rng.standard_normal(X.shape)
    V -= np.sum(V * X, axis=1, keepdims=True) * X
    h = 1e-6

    def moved(s):
        Y = X + s * V
        return Y / np.linalg.norm(Y, axis=1, keepdims=True)

    numeric = (energy(moved(h)) - energy(moved(-h))) / (2 * h)
    assert float(np.sum(G * V)) == pytest.approx(numeric, rel=1e-6)


def test_gradient_in_the_free_points_of_an_invariant_code_against_finite_differences():
    from spherecodes.solvers.overlap import _energy_vars
    from spherecodes.solvers.symmetry import OrbitCode, rotation_group

    rng = np.random.default_rng(4)
    orbits = OrbitCode(rotation_group("D3"), (0, 1), 4)  # 5 fixed points + 4 x 6
    V = _random_code(rng, 3, 4).T.copy()
    c = 0.6
    delta = np.sqrt(2 - 2 * c)
    C = np.ascontiguousarray(orbits.code(V.T).T)
    G, GC = np.zeros_like(V), np.zeros_like(C)
    mats, fixed = np.ascontiguousarray(orbits.group.matrices), np.ascontiguousarray(orbits.fixed.T)
    E = _energy_vars(V, delta, G, _pairs_within(C, 2.0 * delta), mats, fixed, np.empty_like(C), GC)
    assert E == pytest.approx(_brute_energy(orbits.code(V.T), c), rel=1e-12) and E > 0
    _assert_tangent_gradient(V, G, lambda Y: _brute_energy(orbits.code(Y.T), c), rng)


def test_relax_lowers_the_energy_and_reports_it_on_every_pair():
    """Points travel far from a random start: the reported energy must count pairs that
    were not neighbours at the start (the neighbour list is rebuilt)."""
    rng = np.random.default_rng(1)
    W0 = _random_code(rng, 3, 80)
    c = 1.0 - 8.0 / 80
    W, E = relax(W0, c)
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=1e-14)
    assert E == pytest.approx(_brute_energy(W, c), rel=1e-10)
    assert E < 0.05 * _brute_energy(W0, c)
    np.testing.assert_array_equal(W0, _random_code(np.random.default_rng(1), 3, 80))  # not modified


def test_relax_separates_near_duplicates():
    """The chord penalty pushes two points 1e-9 apart away from each other (a penalty on
    <w_i, w_j> - c would not: its pull vanishes as they meet)."""
    W = icosahedron()
    W = np.concatenate([W, W[:, :1] + 1e-9 * np.array([[0.0], [1.0], [0.0]])], axis=1)
    W /= np.linalg.norm(W, axis=0)
    W2, E = relax(W, 0.6)
    assert _max_ip(W2) < 0.7  # 13 caps: the best known max inner product is 0.5704


@pytest.mark.parametrize("K, seed", [(12, 0), (24, 1)])
def test_hops_reach_proven_optima(K, seed):
    """From random points to the icosahedron (Schütte-van der Waerden, proven) and the snub
    cube (Robinson, proven), after the LP polish; the unpolished code is within the slack."""
    rng = np.random.default_rng(seed)
    best = {12: 1 / np.sqrt(5), 24: 0.7230784683335085}[K]  # as in test_solvers.TAMMES_D3

    def perturb(X, t):
        X = X + 0.3 * np.arccos(t) * rng.standard_normal(X.shape) / np.sqrt(2)
        return X / np.linalg.norm(X, axis=0)

    W, value, moves = overlap_hops(_random_code(rng, 3, K), perturb=perturb, patience=60)
    assert value == pytest.approx(_max_ip(W), abs=1e-15)
    assert moves >= 60
    assert value < best + 5e-3
    assert -polish_tammes(W, radius=1e-3).value == pytest.approx(best, abs=1e-9)


def test_hops_stop_at_the_deadline():
    rng = np.random.default_rng(0)
    W, value, moves = overlap_hops(_random_code(rng, 3, 60), perturb=lambda X, t: X, patience=10**9, deadline=0.0)
    assert moves == 0 and value == pytest.approx(_max_ip(W), abs=1e-15)


@pytest.mark.parametrize("call, error, match", [
    (lambda W: overlap_energy(W, 1.5), ValueError, r"c \(a target max inner product\) must be in \[-1, 1\]"),
    (lambda W: overlap_energy(W, float("nan")), ValueError, "c"),
    (lambda W: overlap_energy(W, "0.5"), TypeError, "c"),
    (lambda W: overlap_energy(2 * W, 0.5), ValueError, "unit norm"),
    (lambda W: relax(0 * W, 0.5, normalize=True), ValueError, "zero column"),
    (lambda W: overlap_energy(W, 0.5, normalize="yes"), TypeError, "normalize"),
    (lambda W: overlap_energy(W[:, :1], 0.5), ValueError, "K >= 2"),
    (lambda W: relax(W, 0.5, max_iter=-1), ValueError, "max_iter"),
    (lambda W: relax(W, 0.5, max_iter=2.5), TypeError, "max_iter"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: X, patience=-1), ValueError, "patience"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: X, patience=5, slack=0.0), ValueError, "slack"),
    (lambda W: overlap_hops(W, perturb=None, patience=5), TypeError, "perturb must be callable"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: X[:, 1:], patience=5), ValueError, "perturb must return"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: X * np.nan, patience=5), ValueError, "perturb must return"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: "x", patience=5), ValueError, "perturb must return"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: 0 * X, patience=5), ValueError, "zero column"),
    (lambda W: overlap_hops(np.concatenate([W, W[:, :1]], axis=1), perturb=lambda X, t: X, patience=5),
     ValueError, "coincident columns 0 and 12"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: X, patience=5, deadline=float("nan")), ValueError, "deadline"),
    (lambda W: overlap_hops(W, perturb=lambda X, t: X, patience=5, stop=True), TypeError, "stop"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call(icosahedron())


def test_normalize_rescales_the_columns_first():
    """The unit-norm error suggests ``normalize=True``; every entry point takes it and then
    works on the rescaled code (checked against the call on the unit code itself, to rounding)."""
    W = icosahedron()
    scales = np.linspace(0.5, 3.0, W.shape[1])
    c = 0.3
    assert overlap_energy(W * scales, c, normalize=True) == pytest.approx(overlap_energy(W, c), rel=1e-12)
    X, E = relax(W * scales, c, normalize=True)
    X0, E0 = relax(W, c)
    np.testing.assert_allclose(X, X0, atol=1e-12)
    assert E == pytest.approx(E0, rel=1e-9)
    X, value, _ = overlap_hops(W * scales, perturb=lambda Y, t: Y, patience=0, normalize=True)
    assert value == pytest.approx(_max_ip(W), abs=1e-14)


def test_hops_keep_their_own_code_whatever_perturb_returns():
    """perturb gets a copy (changing it in place cannot touch the kept code) and its columns are
    normalized: a move that scales the code by 3 is still a unit code."""
    rng = np.random.default_rng(4)

    def perturb(X, t):
        X *= 3.0
        X += 0.2 * rng.standard_normal(X.shape)
        return X

    W, value, _ = overlap_hops(_random_code(rng, 3, 40), perturb=perturb, patience=20)
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=1e-14)
    assert value == pytest.approx(_max_ip(W), abs=1e-15) and value < 0.9


def test_patience_counts_moves_only_after_the_target_settles():
    """The target slides down with the code without spending moves: even with patience 0 the
    search ends far below the code after one step of the target, computed here by hand
    (a sliding target counted as failed moves stopped K = 40 mid-slide at patience 100)."""
    rng = np.random.default_rng(2)
    W0 = _random_code(rng, 3, 40)
    W1, _ = relax(W0, 1.0 - 8.0 / 40)
    t1 = _max_ip(W1)
    t2 = _max_ip(relax(W1, t1 - 1e-4 * (1.0 - t1))[0])
    W, value, moves = overlap_hops(W0, perturb=lambda X, t: X, patience=0)
    assert moves == 0
    assert value < t2 - 0.005  # measured: 0.83755 against 0.84903


def test_no_antipodal_restarts_only_where_the_overlap_search_runs():
    from spherecodes.solvers.settings import SearchSettings

    assert not SearchSettings.for_size(3, 20).antipodal
    assert SearchSettings.for_size(3, 200).antipodal  # K (d - 1) > 300: no hops, no overlap search
    assert SearchSettings.for_size(3, 20, polish=False).antipodal
    assert SearchSettings.for_size(3, 20, overlap_patience=0).antipodal
    assert SearchSettings.for_size(4, 20).antipodal


def test_relax_leaves_exactly_coincident_columns():
    """No direction to push two equal columns apart: they stay (documented), while 1e-12 apart they separate."""
    W = icosahedron()
    same = np.concatenate([W, W[:, :1]], axis=1)
    W2, _ = relax(same, 0.6)
    assert float(W2[:, 0] @ W2[:, 12]) == pytest.approx(1.0, abs=1e-12)
    near = same.copy()
    near[:, 12] += 1e-12 * np.array([0.0, 1.0, 0.0])
    near /= np.linalg.norm(near, axis=0)
    W3, _ = relax(near, 0.6)
    assert float(W3[:, 0] @ W3[:, 12]) < 0.7


def test_huge_max_iter_is_accepted():
    W, E = relax(icosahedron(), 0.5, max_iter=10**30)
    assert E == pytest.approx(_brute_energy(W, 0.5), rel=1e-10)
