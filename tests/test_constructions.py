"""Closed-form codes: sizes, unit norms, exact inner products and one-vs-rest values.

Expected values are closed forms written here (not taken from the module), and
one-vs-rest distances are checked with the Wolfe solver (spherecodes.hull) and
with an independent cvxpy/Clarabel cone program on a few classes.
"""
import math

import numpy as np
import pytest

from spherecodes import constructions as C
from reference import cvxpy_one_vs_rest

S5 = math.sqrt(5.0)

# name -> (d, K, exact max inner product, exact set of inner products between distinct points).
# Sources: Cohn & Kumar, "Universally optimal distribution of points on spheres", J. AMS 20 (2007),
# Table 1 (every code below but the 24-cell, with its inner products); the 24-cell is the D4 root
# system normalized (Conway & Sloane, SPLAG, ch. 4: roots +-e_i +- e_j, inner products 0, +-1/2, -1).
# The 600-cell's values are cos of multiples of 36 deg: cos 36 = (1 + sqrt5)/4, cos 72 = (sqrt5 - 1)/4.
# ../shared/reference/named_codes.csv lists the same maxima for d = 4..8.
EXCEPTIONAL = {
    "icosahedron": (3, 12, 1 / S5, {1 / S5, -1 / S5, -1.0}),
    "cell24": (4, 24, 0.5, {0.5, 0.0, -0.5, -1.0}),
    "cell600": (4, 120, (1 + S5) / 4, {(1 + S5) / 4, 0.5, (S5 - 1) / 4, 0.0, -(S5 - 1) / 4, -0.5,
                                       -(1 + S5) / 4, -1.0}),
    "e8_roots": (8, 240, 0.5, {0.5, 0.0, -0.5, -1.0}),
    "schlafli27": (6, 27, 0.25, {0.25, -0.5}),
    "gosset56": (7, 56, 1 / 3, {1 / 3, -1 / 3, -1.0}),
    "clebsch16": (5, 16, 0.2, {0.2, -0.6}),
    "higman_sims100": (22, 100, 1 / 11, {1 / 11, -4 / 11}),
    "mclaughlin275": (22, 275, 1 / 6, {1 / 6, -1 / 4}),
    "isotropic112": (21, 112, 1 / 9, {1 / 9, -1 / 3}),
    "srg162": (21, 162, 1 / 7, {1 / 7, -2 / 7}),
    "isotropic891": (22, 891, 0.25, {0.25, -0.125, -0.5}),
    "equiangular552": (23, 552, 0.2, {0.2, -0.2, -1.0}),
    "leech_kissing4600": (23, 4600, 1 / 3, {1 / 3, 0.0, -1 / 3, -1.0}),
}


def hull():
    from spherecodes import hull as module
    return module


def offdiag_ips(W):
    G = W.T @ W
    return G[~np.eye(W.shape[1], dtype=bool)]


def assert_unit(W, d, K):
    assert W.shape == (d, K)
    assert W.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, rtol=0, atol=2e-15)


def assert_distinct_ip_set(W, expected, atol=1e-12):
    ips = offdiag_ips(W)
    exp = np.array(sorted(expected))
    nearest = np.min(np.abs(ips[:, None] - exp[None, :]), axis=1)
    assert nearest.max() < atol, "an inner product outside the expected set"
    for e in exp:  # each expected value occurs
        assert np.any(np.abs(ips - e) < atol), f"inner product {e} never occurs"


# --------------------------------------------------------------------------- polygon

@pytest.mark.parametrize("K", [2, 3, 4, 5, 7, 12, 31])
def test_polygon(K):
    W = C.polygon(K)
    assert_unit(W, 2, K)
    # consecutive points at angle 2 pi / K
    angles = np.mod(np.arctan2(W[1], W[0]), 2 * np.pi)
    gaps = np.diff(np.sort(np.append(angles, angles.min() + 2 * np.pi)))
    np.testing.assert_allclose(gaps, 2 * np.pi / K, atol=1e-12)
    assert offdiag_ips(W).max() == pytest.approx(math.cos(2 * math.pi / K), abs=1e-14)
    res = hull().one_vs_rest_distances(W)
    np.testing.assert_allclose(res.distance, 1 - math.cos(2 * math.pi / K), rtol=0, atol=1e-12)


def test_polygon_cvxpy():
    W = C.polygon(9)
    assert cvxpy_one_vs_rest(W, 4) == pytest.approx(1 - math.cos(2 * math.pi / 9), abs=1e-7)


@pytest.mark.parametrize("K", [1, 0, 2.5, "3", None, True])
def test_polygon_bad(K):
    with pytest.raises(ValueError):
        C.polygon(K)


# --------------------------------------------------------------------------- simplex ETF

@pytest.mark.parametrize("d,K", [(1, 2), (2, 3), (3, 4), (5, 3), (10, 11), (7, 7)])
@pytest.mark.parametrize("seed", [None, 0, "gen"])
def test_simplex_etf(d, K, seed):
    if seed == "gen":
        seed = np.random.default_rng(5)
    W = C.simplex_etf(d, K, seed=seed)
    assert_unit(W, d, K)
    # Theorem 3.3: W^T W = K/(K-1) (I - 11^T/K) for W = sqrt(K/(K-1)) P (I - 11^T/K)
    np.testing.assert_allclose(W.T @ W, K / (K - 1) * (np.eye(K) - np.ones((K, K)) / K), atol=1e-14)
    np.testing.assert_allclose(W.sum(axis=1), 0.0, atol=1e-14)
    assert offdiag_ips(W).max() == pytest.approx(-1 / (K - 1), abs=1e-14)
    res = hull().one_vs_rest_distances(W)
    np.testing.assert_allclose(res.distance, K / (K - 1), atol=1e-12)


def test_simplex_etf_cvxpy():
    W = C.simplex_etf(6, 7, seed=3)
    for k in (0, 6):
        assert cvxpy_one_vs_rest(W, k) == pytest.approx(7 / 6, abs=1e-7)


def test_simplex_etf_seed():
    a = C.simplex_etf(6, 4, seed=1)
    b = C.simplex_etf(6, 4, seed=1)
    c = C.simplex_etf(6, 4, seed=2)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3
    np.testing.assert_array_equal(C.simplex_etf(6, 4), C.simplex_etf(6, 4))
    # the deterministic default lives in the first K - 1 coordinates
    assert np.all(C.simplex_etf(6, 4)[3:] == 0)
    # a random rotation actually uses all coordinates
    assert np.all(np.abs(a).sum(axis=1) > 0)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, [1, 2]])
def test_simplex_etf_bad_seed_as_the_solvers(seed):
    """A bad seed gets the solvers' own error (it was numpy's, a TypeError for 1.5 and "3")."""
    from spherecodes.solvers.multistart import root_seed

    with pytest.raises(ValueError) as solver_error:
        root_seed(seed)
    with pytest.raises(ValueError) as etf_error:
        C.simplex_etf(6, 4, seed=seed)
    assert type(etf_error.value) is type(solver_error.value)
    assert str(etf_error.value) == str(solver_error.value) and "seed" in str(etf_error.value)


def test_simplex_etf_seed_kinds():
    # a SeedSequence and a Generator still work, and give the rotation numpy's default_rng would
    ss = np.random.SeedSequence(7)
    np.testing.assert_array_equal(C.simplex_etf(6, 4, seed=ss), C.simplex_etf(6, 4, seed=7))
    np.testing.assert_array_equal(C.simplex_etf(6, 4, seed=np.random.default_rng(7)), C.simplex_etf(6, 4, seed=7))


@pytest.mark.parametrize("d,K", [(3, 5), (1, 3), (0, 2), (3, 1), (2.5, 3)])
def test_simplex_etf_bad(d, K):
    with pytest.raises(ValueError):
        C.simplex_etf(d, K)


# --------------------------------------------------------------------------- cross-polytope

@pytest.mark.parametrize("d", [2, 3, 4, 6])
def test_cross_polytope_rho_one(d):
    h = hull()
    for K in range(d + 2, 2 * d + 1):  # Theorem 3.3: d + 1 < K <= 2d has optimum exactly 1
        W = C.cross_polytope(d, K)
        assert_unit(W, d, K)
        assert offdiag_ips(W).max() == 0.0
        assert h.one_vs_rest_distances(W).distance.min() == pytest.approx(1.0, abs=1e-12)
    W = C.cross_polytope(d)
    assert W.shape == (d, 2 * d)
    # full cross-polytope: every class at distance exactly 1
    np.testing.assert_allclose(h.one_vs_rest_distances(W).distance, 1.0, atol=1e-12)


def test_cross_polytope_small_K():
    h = hull()
    for K in (2, 3, 5):  # orthonormal vectors: distance sqrt(K / (K - 1))
        W = C.cross_polytope(5, K)
        np.testing.assert_allclose(W.T @ W, np.eye(K))
        np.testing.assert_allclose(h.one_vs_rest_distances(W).distance, math.sqrt(K / (K - 1)), atol=1e-12)
    W = C.cross_polytope(1)
    np.testing.assert_array_equal(W, [[1.0, -1.0]])


def test_cross_polytope_cvxpy():
    W = C.cross_polytope(5, 8)
    dists = [cvxpy_one_vs_rest(W, k) for k in range(8)]
    np.testing.assert_allclose(dists, 1.0, atol=1e-7)  # every hull of the others contains the origin
    # K = d + 1: only +-e_1 present; for e_1 and -e_1 the others do not contain the origin
    W = C.cross_polytope(5, 6)
    dists = [cvxpy_one_vs_rest(W, k) for k in range(6)]
    assert min(dists) == pytest.approx(1.0, abs=1e-7)
    assert dists[0] > 1.01 and dists[5] > 1.01


@pytest.mark.parametrize("d,K", [(3, 7), (3, 1), (0, None), (2, 2.5)])
def test_cross_polytope_bad(d, K):
    with pytest.raises(ValueError):
        C.cross_polytope(d, K)


# --------------------------------------------------------------------------- exceptional codes

@pytest.mark.parametrize("name", sorted(EXCEPTIONAL))
def test_exceptional_code(name):
    d, K, max_ip, ip_set = EXCEPTIONAL[name]
    W = getattr(C, name)()
    assert_unit(W, d, K)
    assert np.linalg.matrix_rank(W) == d
    assert offdiag_ips(W).max() == pytest.approx(max_ip, abs=1e-13)
    if K <= 1000:
        assert_distinct_ip_set(W, ip_set)
    else:
        assert_distinct_ip_set(W[:, :400], ip_set)
    # antipodal codes and spherical designs: the centroid is the origin
    np.testing.assert_allclose(W.mean(axis=1), 0.0, atol=1e-13)


@pytest.mark.parametrize("name", sorted(n for n in EXCEPTIONAL if EXCEPTIONAL[n][1] <= 1000))
def test_exceptional_one_vs_rest(name):
    d, K, max_ip, _ = EXCEPTIONAL[name]
    W = getattr(C, name)()
    res = hull().one_vs_rest_distances(W)
    # every class at the same distance 1 - max_ip (vertex-transitive codes)
    np.testing.assert_allclose(res.distance, 1 - max_ip, rtol=0, atol=1e-12)
    assert np.all(res.lower <= 1 - max_ip + 1e-12) and np.all(res.upper >= 1 - max_ip - 1e-12)


@pytest.mark.parametrize("name,classes", [("icosahedron", (0, 7)), ("cell600", (0, 50, 119)),
                                          ("e8_roots", (0, 120, 239)), ("schlafli27", (3,)),
                                          ("gosset56", (10,)), ("clebsch16", (15,)),
                                          ("higman_sims100", (0, 99)), ("mclaughlin275", (5,))])
def test_exceptional_cvxpy(name, classes):
    max_ip = EXCEPTIONAL[name][2]
    W = getattr(C, name)()
    for k in classes:
        assert cvxpy_one_vs_rest(W, k) == pytest.approx(1 - max_ip, abs=1e-7)


def test_neighbour_counts():
    # strongly regular graph parameters: number of neighbours at the larger inner product
    for name, ip, count in [("schlafli27", 0.25, 16), ("clebsch16", 0.2, 10), ("higman_sims100", 1 / 11, 77),
                            ("mclaughlin275", 1 / 6, 162), ("icosahedron", 1 / S5, 5), ("cell600", (1 + S5) / 4, 12),
                            ("e8_roots", 0.5, 56), ("gosset56", 1 / 3, 27), ("cell24", 0.5, 8)]:
        W = getattr(C, name)()
        G = W.T @ W
        np.testing.assert_array_equal(np.sum(np.abs(G - ip) < 1e-12, axis=1), count, err_msg=name)


def test_higman_sims_graph_is_srg():
    # adjacency = pairs at inner product -4/11; Higman-Sims graph is srg(100, 22, 0, 6)
    W = C.higman_sims100()
    A = (np.abs(W.T @ W + 4 / 11) < 1e-12).astype(int)
    A2 = A @ A
    assert np.all(A.sum(axis=1) == 22)
    off = ~np.eye(100, dtype=bool)
    assert np.all(A2[(A == 1)] == 0)
    assert np.all(A2[(A == 0) & off] == 6)


@pytest.mark.parametrize("q", [2, 3, 4])
def test_isotropic_code(q):
    """GQ(q, q^2) codes: srg((q+1)(q^3+1), q(q^2+1), q-1, q^2+1) on the inner product -1/q."""
    v, m = (q + 1) * (q**3 + 1), q * (q**3 + 1) // (q + 1)
    W = C.isotropic_code(q)
    assert_unit(W, m, v)
    assert np.linalg.matrix_rank(W) == m
    assert_distinct_ip_set(W, {1 / q**2, -1 / q})
    G = W.T @ W
    A = (np.abs(G + 1 / q) < 1e-12).astype(np.int64)
    A2 = A @ A
    off = ~np.eye(v, dtype=bool)
    assert np.all(A.sum(axis=1) == q * (q * q + 1))
    assert np.all(A2[A == 1] == q - 1)
    assert np.all(A2[(A == 0) & off] == q * q + 1)
    res = hull().one_vs_rest_distances(W)
    np.testing.assert_allclose(res.distance, 1 - 1 / q**2, atol=1e-12)
    k = v // 2
    assert cvxpy_one_vs_rest(W, k) == pytest.approx(1 - 1 / q**2, abs=1e-7)


def test_isotropic_code_matches_derived_codes():
    # q = 2 and q = 3 are the Schlafli and 112-point codes built another way (from E7*, Leech):
    # same Gram spectrum (of the adjacency on the inner product -1/q)
    for q, other in ((2, C.schlafli27()), (3, C.isotropic112())):
        W = C.isotropic_code(q)
        ev1 = np.linalg.eigvalsh((np.abs(W.T @ W + 1 / q) < 1e-12).astype(float))
        ev2 = np.linalg.eigvalsh((np.abs(other.T @ other + 1 / q) < 1e-12).astype(float))
        np.testing.assert_allclose(ev1, ev2, atol=1e-9)


@pytest.mark.parametrize("q", [1, 6, 8, 9, 2.5])
def test_isotropic_code_bad(q):
    with pytest.raises(ValueError):
        C.isotropic_code(q)


@pytest.mark.slow
def test_isotropic_code_q5():
    W = C.isotropic_code(5)
    assert_unit(W, 105, 756)
    assert_distinct_ip_set(W, {1 / 25, -1 / 5})
    np.testing.assert_allclose(hull().one_vs_rest_distances(W).distance, 1 - 1 / 25, atol=1e-12)


def test_golay_code():
    Cw = C._golay_codewords()
    w = Cw.sum(axis=1)
    vals, counts = np.unique(w, return_counts=True)
    assert dict(zip(vals.tolist(), counts.tolist())) == {0: 1, 8: 759, 12: 2576, 16: 759, 24: 1}
    # linear: closed under addition (sample)
    rng = np.random.default_rng(0)
    words = {tuple(c) for c in Cw.tolist()}
    for i, j in rng.integers(0, 4096, size=(50, 2)):
        assert tuple(((Cw[i] + Cw[j]) % 2).tolist()) in words


def test_leech_min_vectors():
    W = C.leech_min_vectors()
    assert_unit(W, 24, 196560)
    np.testing.assert_allclose(W.mean(axis=1), 0.0, atol=1e-15)
    # kissing distribution of the Leech lattice seen from any minimal vector
    expected = {1.0: 1, 0.5: 4600, 0.25: 47104, 0.0: 93150, -0.25: 47104, -0.5: 4600, -1.0: 1}
    for k in (0, 100000, 196559):
        ips = np.round(W[:, k] @ W, 12)
        vals, counts = np.unique(ips, return_counts=True)
        assert dict(zip(vals.tolist(), counts.tolist())) == expected
    # all minimal vectors are distinct
    assert np.unique(np.round(W.T * 32**0.5).astype(np.int8), axis=0).shape[0] == 196560


# --------------------------------------------------------------------------- registry

def test_named_codes():
    codes = C.named_codes()
    assert "leech_min_vectors" not in codes and "leech_kissing4600" not in codes
    for name, entry in codes.items():
        build, desc, max_ip = entry
        W = build()
        assert W.shape[1] <= 1000
        assert isinstance(desc, str) and str(W.shape[1]) in desc and f"R^{W.shape[0]}" in desc
        assert offdiag_ips(W).max() == pytest.approx(max_ip, abs=1e-13), name
    assert set(EXCEPTIONAL) - {"leech_kissing4600"} <= set(codes)
    assert "leech_kissing4600" in C.named_codes(max_K=5000)
    assert "leech_min_vectors" in C.named_codes(max_K=196560)
    assert set(C.named_codes(max_K=20)) == {n for n, e in codes.items() if e.build().shape[1] <= 20}
    with pytest.raises(ValueError):
        C.named_codes(max_K=1)


def test_named_codes_one_vs_rest():
    h = hull()
    for name, (build, _, max_ip) in C.named_codes(max_K=300).items():
        res = h.one_vs_rest_distances(build())
        assert res.distance.min() == pytest.approx(1 - max_ip, abs=1e-12), name
