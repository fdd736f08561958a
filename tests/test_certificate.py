"""The certificate is never wrong: regression tests for issue 11 (items 1-4) and
certificate tests that can fail (issue 15, items 1-2).

Every reference is computed independently of the Wolfe kernel: by the mpmath
brute force over supports in ``reference_mp.py`` (80 digits, inputs converted
exactly from their doubles), by a closed form evaluated in mpmath, or by
cvxpy/Clarabel.  Brackets are checked *exactly* (``lower <= ref <= upper``
with no slack): they are rounded outward, so a bracket that misses the
reference by one ulp is a bug.
"""
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from spherecodes import distance_to_hull, one_vs_rest_distances, polygon
from conftest import random_code
from reference import cvxpy_hull_distance, cvxpy_one_vs_rest
from reference_mp import mp_hull_distance, mp_one_vs_rest

mpmath.mp.dps = 60


def _bracket_holds(lower, upper, ref):
    return mpmath.mpf(float(lower)) <= ref <= mpmath.mpf(float(upper))


def _rel(a, ref):
    return abs(mpmath.mpf(float(a)) - ref) / ref


def _check_ovr(res, W, classes, rel=1e-10):
    for k in classes:
        ref = mp_one_vs_rest(W, k)
        assert _bracket_holds(res.lower[k], res.upper[k], ref), (k, res.lower[k], res.upper[k], ref)
        assert _rel(res.distance[k], ref) <= rel, (k, res.distance[k], ref)
        assert res.converged[k]


def _near_duplicate_code(seed, d, K, gap):
    """K - 1 random unit columns plus a copy of column 0 moved by ``gap`` along the sphere."""
    rng = np.random.default_rng(seed)
    W = random_code(rng, d, K - 1)
    t = rng.standard_normal(d)
    t -= (t @ W[:, 0]) * W[:, 0]
    c = W[:, 0] + gap * t / np.linalg.norm(t)
    return np.hstack([W, (c / np.linalg.norm(c))[:, None]])


# ---------------------------------------------------------------------------
# issue 11, item 1: tiny one-vs-rest distances


@pytest.mark.parametrize("gram", [True, False])
def test_issue11_1a_near_duplicate_1e9(gram):
    """9 random unit columns in R^5 plus a copy of column 0 moved by 1e-9.

    Main printed 1.0000000286e-9 (25 % high) with converged=True.  Reference:
    mpmath brute force over supports.
    """
    W = _near_duplicate_code(5, 5, 10, 1e-9)
    res = one_vs_rest_distances(W, gram=gram)
    _check_ovr(res, W, [0, 9, 3])
    assert res.rho < 1e-9


@pytest.mark.parametrize("gram", [True, False])
def test_issue11_1b_seven_plus_four_cluster(gram):
    """Seven classes in R^3 plus four within ~1e-6 of one direction (main: rho 1.1e-7 for ~1e-12).

    Reference: mpmath brute force over supports, for every class.
    """
    rng = np.random.default_rng(2)     # a seed where one cluster point sits inside the others' triangle
    W = random_code(rng, 3, 7)
    W = np.hstack([W, W[:, [0]] + 1e-6 * rng.standard_normal((3, 4))])
    W /= np.linalg.norm(W, axis=0)
    res = one_vs_rest_distances(W, gram=gram)
    _check_ovr(res, W, range(11))
    assert res.rho < 1e-11     # the mpmath reference says ~2.4e-13


def _polygon_reference(W, k):
    """Distance from vertex k of a convex polygon to the chord of its two neighbours, in mpmath.

    For a convex polygon in the plane (columns in angular order) the hull of
    the other vertices has that chord as the facet facing w_k; the rounding
    of the coordinates (1e-16) is far below the vertex spacing, so the
    facet stays the same.  Evaluated from the rounded coordinates exactly.
    """
    K = W.shape[1]
    P, A, B = (mpmath.matrix([mpmath.mpf(float(x)) for x in W[:, j]]) for j in (k, (k - 1) % K, (k + 1) % K))
    u, w = B - A, P - A
    return abs(u[0] * w[1] - u[1] * w[0]) / mpmath.sqrt(u[0] ** 2 + u[1] ** 2)


@pytest.mark.parametrize("K, gram", [(3000, True), (3000, False)])
def test_issue11_1c_polygon(K, gram):
    """one_vs_rest_distances(polygon(K)): main gave twice the true distance at K = 30000.

    Reference: closed form (distance to the neighbours' chord) in mpmath,
    close to 1 - cos(2 pi / K) = 2 sin^2(pi / K).
    """
    W = polygon(K)
    res = one_vs_rest_distances(W, gram=gram)
    assert res.converged.all()
    for k in (0, 1, K // 3, K - 1):
        ref = _polygon_reference(W, k)
        assert _bracket_holds(res.lower[k], res.upper[k], ref)
        assert _rel(res.distance[k], ref) <= 1e-12
    ideal = 2 * mpmath.sin(mpmath.pi / K) ** 2
    assert _rel(res.rho, ideal) < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("K", [12000, 30000])
def test_issue11_1c_polygon_large(K):
    """The issue's exact case, K = 30000 (about 20 s): 2.1932e-8, not 4.39e-8."""
    W = polygon(K)
    res = one_vs_rest_distances(W)
    assert res.converged.all()
    for k in (0, 7, 12345, K - 1):
        ref = _polygon_reference(W, k)
        assert _bracket_holds(res.lower[k], res.upper[k], ref)
    assert _rel(res.rho, 2 * mpmath.sin(mpmath.pi / K) ** 2) < 1e-6


# ---------------------------------------------------------------------------
# issue 11, item 2: scale


def test_issue11_2a_tiny_scale_closed_form():
    """dist(0, conv{1e-12 e1, 1e-12 e2}) = 1e-12 / sqrt(2) (main: 1e-12, converged)."""
    proj = distance_to_hull(np.zeros(2), 1e-12 * np.eye(2))
    ref = mpmath.mpf(1e-12) / mpmath.sqrt(2)
    assert _bracket_holds(proj.lower, proj.upper, ref)
    assert _rel(proj.distance, ref) < 1e-15
    assert proj.converged


@pytest.mark.parametrize("s", [1e155, 1e-200, 2.0 ** 1000, 2.0 ** -1000])
def test_issue11_2b_extreme_scales_closed_form(s):
    """dist(0, conv{s e_i}) = s / sqrt(3) (main: inf at 1e155, 0 with certificate [0, 0] at 1e-200)."""
    proj = distance_to_hull(np.zeros(3), s * np.eye(3))
    ref = mpmath.mpf(s) / mpmath.sqrt(3)
    assert _bracket_holds(proj.lower, proj.upper, ref)
    assert _rel(proj.distance, ref) < 1e-15
    assert proj.converged


def test_issue11_2c_random_points_scaled_1e8():
    """A random 5 x 20 point set scaled by 1e-8 (main: 1.9 % high): same distance, scaled."""
    rng = np.random.default_rng(11)
    A = rng.standard_normal((5, 20))
    v = 3.0 * rng.standard_normal(5)
    base = distance_to_hull(v, A)
    ref = mp_hull_distance(v, A, dps=50)
    assert _bracket_holds(base.lower, base.upper, ref) and _rel(base.distance, ref) < 1e-13
    for s in (1e-8, 1e8, 1e-150, 1e150):
        scaled = distance_to_hull(s * v, s * A)
        assert scaled.converged
        assert scaled.distance / s == pytest.approx(base.distance, rel=1e-12)
    # a power of two scales every rounding step exactly: bit-identical results
    p = distance_to_hull(2.0 ** -300 * v, 2.0 ** -300 * A)
    assert p.distance == 2.0 ** -300 * base.distance and p.lower == 2.0 ** -300 * base.lower


def test_issue11_2d_normalize_huge_code():
    """one_vs_rest_distances(1e155 * polygon(6), normalize=True).rho: 1 - cos(pi / 3) = 0.5 (main: 0)."""
    res = one_vs_rest_distances(1e155 * polygon(6), normalize=True)
    assert res.rho == pytest.approx(0.5, rel=1e-15)
    assert res.converged.all()
    res = one_vs_rest_distances(1e-200 * polygon(6), normalize=True)
    assert res.rho == pytest.approx(0.5, rel=1e-15)


# ---------------------------------------------------------------------------
# issue 15, item 1: certificates at a loose tolerance, where lower != upper


_LOOSE_CODES = [random_code(np.random.default_rng(seed), 3, 9) for seed in range(6)]
_LOOSE_REFS = {}


def _loose_ref(i, k):
    if (i, k) not in _LOOSE_REFS:
        _LOOSE_REFS[i, k] = mp_one_vs_rest(_LOOSE_CODES[i], k, dps=40)
    return _LOOSE_REFS[i, k]


@pytest.mark.parametrize("kw", [dict(gram=True), dict(gram=False), dict(gram=False, block_size=3),
                                dict(gram=True, n_jobs=2), dict(gram=False, n_neighbors=2, block_size=4)])
def test_loose_tolerance_brackets_contain_the_reference(kw):
    """tol = 0.05, one or two neighbours: Wolfe stops early, the bracket is wide and must still hold.

    Reference: mpmath brute force over supports (d = 3, K = 9).  The lower
    bound is also recomputed here from the returned point, in mpmath.
    """
    kw = dict(kw)
    nn = kw.pop("n_neighbors", 1)
    wide = 0
    for i, W in enumerate(_LOOSE_CODES):
        res = one_vs_rest_distances(W, tol=0.05, n_neighbors=nn, **kw)
        for k in range(9):
            ref = _loose_ref(i, k)
            assert _bracket_holds(res.lower[k], res.upper[k], ref), (i, k)
            assert res.lower[k] <= res.distance[k] <= res.upper[k]
            assert res.converged[k] == (res.upper[k] - res.lower[k] <= 0.05 * res.upper[k])
            # hyperplane bound of the returned point: min_j <r, w_j - w_k> / |r| >= lower
            r = [mpmath.mpf(float(a)) - mpmath.mpf(float(b)) for a, b in zip(res.nearest[:, k], W[:, k])]
            nr = mpmath.sqrt(mpmath.fsum(t * t for t in r))
            low = min(mpmath.fsum(r[t] * (mpmath.mpf(float(W[t, j])) - mpmath.mpf(float(W[t, k])))
                                  for t in range(3)) / nr for j in range(9) if j != k)
            assert mpmath.mpf(float(res.lower[k])) <= max(low, 0) * (1 + mpmath.mpf(1e-13))
            wide += res.upper[k] - res.lower[k] > 1e-6 * res.upper[k]
    assert wide > 0       # some brackets really are wide: the test can tell lower from upper


@pytest.mark.parametrize("gram", [True, False])
def test_unreachable_tolerance_reports_no_class_converged(gram):
    """tol = 1e-20 is below double precision: no bracket can be that tight, and no class may say so.

    Every bound is rounded outward (upper > distance > lower by a few ulps), so
    ``converged`` must be False everywhere; the brackets still hold, against
    the default-tolerance solve.
    """
    W = random_code(np.random.default_rng(7), 4, 12)
    res = one_vs_rest_distances(W, tol=1e-20, gram=gram)
    assert np.array_equal(res.converged, res.upper - res.lower <= 1e-20 * res.upper)
    assert not res.converged.any()
    ref = one_vs_rest_distances(W)
    assert np.all(res.lower <= ref.upper) and np.all(ref.lower <= res.upper)


def test_loose_tolerance_distance_to_hull():
    """distance_to_hull at tol = 0.05 against cvxpy and mpmath; lower recomputed from the point."""
    rng = np.random.default_rng(4)
    wide = 0
    for _ in range(12):
        A = rng.standard_normal((3, 10)) + 0.5
        v = 2.0 * rng.standard_normal(3)
        p = distance_to_hull(v, A, tol=0.05)
        ref = mp_hull_distance(v, A, dps=40)
        assert _bracket_holds(p.lower, p.upper, ref)
        assert abs(cvxpy_hull_distance(v, A) - float(ref)) < 1e-7
        r = p.point - v
        nr = np.linalg.norm(r)
        low = max(0.0, float(np.min(r @ (A - v[:, None]))) / nr) if nr > 0 else 0.0
        assert p.lower <= low * (1 + 1e-12) + 1e-300
        assert p.converged == (p.upper - p.lower <= 0.05 * p.upper)
        wide += p.upper - p.lower > 1e-6 * p.upper
    assert wide > 0


# ---------------------------------------------------------------------------
# property tests: scales 1e-150 .. 1e150, near-duplicate gaps 1e-14 .. 1e-3

exponents = st.integers(-150, 150)
gaps = st.integers(-14, -3)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), exponents, gaps)
def test_property_distance_to_hull_scales_and_gaps(seed, e, g):
    """A point set with a near-duplicate pair at gap 10^g, query near that pair, scaled by 10^e."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3, 6))
    A[:, 5] = A[:, 4] + 10.0 ** g * rng.standard_normal(3)
    v = A[:, 4] + 10.0 ** g * rng.standard_normal(3) * 3
    s = 10.0 ** e
    A, v = s * A, s * v
    p = distance_to_hull(v, A)
    ref = mp_hull_distance(v, A, dps=80)
    assert _bracket_holds(p.lower, p.upper, ref), (p, ref)
    if p.converged:
        assert p.upper - p.lower <= 1e-12 * p.upper
        assert _rel(p.distance, ref) <= 1e-12


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), gaps, st.booleans())
def test_property_one_vs_rest_near_duplicates(seed, g, gram):
    """Unit codes in R^3 with a near-duplicate of class 0 at gap 10^g: both paths."""
    W = _near_duplicate_code(seed, 3, 7, 10.0 ** g)
    res = one_vs_rest_distances(W, gram=gram, n_neighbors=3)
    for k in (0, 6, 1):
        ref = mp_one_vs_rest(W, k)
        assert _bracket_holds(res.lower[k], res.upper[k], ref), (k, res.lower[k], res.upper[k], ref)
        if res.converged[k]:
            assert res.upper[k] - res.lower[k] <= 1e-12 * res.upper[k]
            assert _rel(res.distance[k], ref) <= 1e-12


# ---------------------------------------------------------------------------
# gaps whose squares underflow: codewords 1e-140 .. 1e-320 apart

def _underflow_gap_code(seed, g):
    """Unit columns in R^3: 3 random ones, and +-e_i with three copies moved by about 10^g
    in the other two coordinates (1 + 10^(2g) rounds to 1, so all stay unit).  A gap
    survives rounding only where the coordinates are 0.  In their plane the four near
    points are (0, 0), (a, 0), (0, b), (u a, v b) with u + v > 1: in convex position, so
    none is in the others' hull (a distance of exactly 0 the mpmath reference resolves
    only to ~1e-850)."""
    rng = np.random.default_rng(seed)
    W = random_code(rng, 3, 3)
    a, b = rng.uniform(1.0, 4.0, 2) * 10.0 ** g
    u, v = rng.uniform(0.6, 2.0, 2)
    near = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, a, 0.0, u * a], [0.0, 0.0, b, v * b]])
    near = near[rng.permutation(3)] * rng.choice([-1.0, 1.0])
    return np.hstack([W, near])


@pytest.mark.parametrize("gram", [True, False])
def test_gaps_whose_squares_underflow_are_bracketed_not_certified_as_zero(gram):
    """(1, 0, 0), (1, e, 0), (1, 0, e), (-1, 0, 0): classes 1 and 2 are e from the others' hull
    (the plane y = 0, resp. z = 0, met at the vertex (1, 0, 0)), class 0 about e / sqrt(2).

    Main printed the bracket [0, 0] with converged=True from e = 1e-170 (||x||^2 underflowed
    to 0) and [9.99994e-161, 9.99994e-161] at e = 1e-160 (a subnormal square).  Reference:
    mpmath brute force over supports."""
    for e in (1e-150, 1e-160, 1e-170, 1e-200, 1e-300, 1e-320):
        W = np.array([[1.0, 0.0, 0.0], [1.0, e, 0.0], [1.0, 0.0, e], [-1.0, 0.0, 0.0]]).T
        res = one_vs_rest_distances(W, gram=gram)
        for k in range(4):
            ref = mp_one_vs_rest(W, k, dps=1500)
            assert _bracket_holds(res.lower[k], res.upper[k], ref), (e, k, res.lower[k], res.upper[k], ref)
            if res.converged[k]:
                assert res.upper[k] - res.lower[k] <= 1e-12 * res.upper[k]
        assert res.upper[1] > 0.0 and res.distance[1] > 0.0      # never "0, certified"


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31), st.integers(-320, -100), st.booleans())
def test_property_one_vs_rest_underflowing_gaps(seed, g, gram):
    """Codewords 10^g apart, g down to -320: the bracket holds for every class (converged or not)."""
    W = _underflow_gap_code(seed, g)
    res = one_vs_rest_distances(W, gram=gram, n_neighbors=3)
    for k in (3, 4, 5, 6, 0):
        ref = mp_one_vs_rest(W, k, dps=1500)
        assert _bracket_holds(res.lower[k], res.upper[k], ref), (k, res.lower[k], res.upper[k], ref)
        if res.converged[k]:
            assert res.upper[k] - res.lower[k] <= 1e-12 * res.upper[k]


@pytest.mark.parametrize("gap", [1e-160, 1e-170, 1e-300, 5e-324])
def test_kernel_hull_point_upper_bound_when_its_square_underflows(gap):
    """The kernel's hull point x of a one-point support at distance ``gap``: the upper bound it
    returns must not fall below ||x|| (exact: ``gap``), whether the plain-double path or the
    double-double path computes it (a subnormal square keeps ~10 bits)."""
    from spherecodes import _wolfe

    PT = np.array([[1.0, gap, 0.0], [-1.0, 0.0, 0.0]])
    v = np.array([1.0, 0.0, 0.0])
    for iters in (0, _wolfe.REFINE_ITERS):
        xh, xl = np.empty(3), np.empty(3)
        n, up, nup = _wolfe.refine_support(PT, v, np.array([0]), np.array([1.0]), 1, iters, 1e-12, xh, xl)
        assert up >= gap and nup >= gap, (iters, n, up, nup)
        assert up <= 2.0 * gap + 1e-320          # and not vacuous


def test_kernel_hull_point_whose_products_underflow_to_zero_is_not_certified_zero():
    """Weights 1/2 on two copies of a point 2^-1074 away: each product 2^-1075 rounds to 0, so the
    double-double point is exactly 0 while the true one is 2^-1074 away: the upper bound covers it."""
    from spherecodes import _wolfe

    tiny = 2.0 ** -1074
    PT = np.array([[1.0, tiny], [1.0, tiny]])
    v = np.array([1.0, 0.0])
    xh, xl = np.empty(2), np.empty(2)
    n, up, nup = _wolfe.refine_support(PT, v, np.array([0, 1]), np.array([0.5, 0.5]), 2, 0, 1e-12, xh, xl)
    assert up >= tiny, (n, up)


@pytest.mark.parametrize("g", [-160, -165, -170])
def test_kernel_double_double_inner_product_bound_covers_underflow(g):
    """diff_dot's value +- its error bound contains the exact <x, a - v> (mpmath) when the
    products fall into the subnormal range."""
    from spherecodes import _wolfe

    rng = np.random.default_rng(-g)
    for _ in range(50):
        xh = rng.uniform(0.5, 2.0, 3) * 10.0 ** g
        xl = np.zeros(3)
        v = np.array([1.0, 0.0, 0.0])
        a = np.array([1.0, *(rng.uniform(0.5, 2.0, 2) * 10.0 ** g)])
        val, err = _wolfe.diff_dot(xh, xl, a, v)
        with mpmath.workdps(60):
            exact = mpmath.fsum(mpmath.mpf(float(x)) * (mpmath.mpf(float(p)) - mpmath.mpf(float(q)))
                                for x, p, q in zip(xh, a, v))
            assert abs(mpmath.mpf(val) - exact) <= mpmath.mpf(err), (val, err, exact)


def test_upper_bound_covers_the_rounding_of_a_hull_point_much_closer_than_its_support():
    """Found by a reviewer (exact rational reference): the hull point is 1e-18 from v while its
    support points are ~1 away, so the double-double point's own error (eps^2 |q| ~ 1e-32) is
    above eps times the distance; the upper bound fell 1e-33 below the distance.  The same in
    a one-vs-rest cluster at gaps of 1e-5 (distance 5e-29) and 1e-91 (distance 9e-109)."""
    v = np.array([0.4903755006824047, -0.0073458463860744646, -0.248856911443264])
    A = np.array([[1.4569618153052555, -0.05318422030534141, -0.05390202547204295],
                  [0.511536419917619, -0.4208570025488712, -0.22853536747815809],
                  [0.4251487353319089, 0.2824158422444015, -1.1592967269324297]])
    p = distance_to_hull(v, A)
    assert _bracket_holds(p.lower, p.upper, mp_hull_distance(v, A, dps=100)), p
    W = np.array([[1.0, 1.0000000001862723, 1.0000000000653273, 0.9999999996976112],
                  [-1.3744040580925314e-07, 1.0667972486437839e-05, 7.154937288766581e-06, -2.4640122491981586e-05],
                  [4.9813019386072355e-06, -2.3667994768839546e-05, 2.495569044813283e-05, -8.175816590980616e-06]])
    W2 = np.array([[1.0, 1.0, 1.0, 1.0],
                   [1.9662020114823173e-91, 3.4205260142172283e-91, -8.790004296532326e-92, 3.4280251788181274e-91],
                   [-1.942922542467813e-92, -2.1717014452779622e-91, 2.6081803318021095e-91, 6.399272651008525e-92],
                   [-1.4315713371415924e-91, -5.001342939152302e-91, 3.353056107432152e-91, 8.013015920341706e-92]])
    for code, dps in ((W, 100), (W2, 1500)):
        ref = mp_one_vs_rest(code, 0, dps=dps)
        for gram in (True, False):
            res = one_vs_rest_distances(code, gram=gram)
            assert _bracket_holds(res.lower[0], res.upper[0], ref), (gram, res.lower[0], res.upper[0], ref)


@pytest.mark.parametrize("v, A", [
    (np.zeros(2), np.array([[5e-324], [5e-324]])),                           # a subnormal distance
    (np.array([2e-323, 1e-323]), np.array([[-2e-323, -1e-323, -3e-323], [5e-324, 5e-324, 1e-323]])),
    (np.array([0.0, 1e-100]), np.array([[1e300, 0.0], [0.0, 0.0]])),         # 1e300 beside 1e-100
    (np.array([0.0, 1e-100]), np.array([[1e300, -1.0], [0.0, 0.0]])),
    (np.zeros(2), np.array([[1e308], [0.0]])),                               # entries above 2^1023
    (np.zeros(2), np.array([[1.7e308, 1.7e308], [1.7e308, 1.7e308]])),       # a distance above the doubles
])
def test_distance_to_hull_at_the_ends_of_the_double_range(v, A):
    """Cases a reviewer found false (main: [5e-324, 5e-324] for 6.99e-324; [0, 0] for 1e-100;
    nan with converged=True for 1e308): the bracket holds, no warning, nothing nan."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = distance_to_hull(v, A)
    ref = mp_hull_distance(v, A, dps=1500)
    assert _bracket_holds(p.lower, p.upper, ref), (p, ref)
    assert not np.isnan([p.lower, p.upper, p.distance]).any()
    if p.converged:
        assert p.upper - p.lower <= 1e-12 * p.upper


@pytest.mark.parametrize("g", [-160, -200, -320])
def test_distance_to_hull_of_points_whose_gap_squares_underflow(g):
    """distance_to_hull of (1, 0) from the segment {(1, 10^g), (1, 2 * 10^g)}: 10^g exactly
    (nearest point the first end); its square underflows below 10^-154."""
    e = 10.0 ** g
    p = distance_to_hull(np.array([1.0, 0.0]), np.array([[1.0, 1.0], [e, 2.0 * e]]))
    ref = mp_hull_distance(np.array([1.0, 0.0]), np.array([[1.0, 1.0], [e, 2.0 * e]]), dps=1500)
    assert _bracket_holds(p.lower, p.upper, ref), (p, ref)
    assert p.upper > 0.0


# ---------------------------------------------------------------------------
# time-limited certificates: classes left by the limit are bounded by their nearest codeword


def _rotated_simplices(n, seed):
    """n random rotations of the regular simplex in R^3 (4 classes each): the nearest-codeword
    bound 1 - max <w_k, w_j> = 4/3 is the exact distance there, so the bound is tight."""
    from scipy.stats import special_ortho_group

    from spherecodes import simplex_etf
    rng = np.random.default_rng(seed)
    return [special_ortho_group.rvs(3, random_state=rng) @ simplex_etf(3, 4) for _ in range(n)]


def _antipodal_pairs(n, seed):
    """n pairs (w, -w), w a rounded unit vector of R^5: the distance 2 ||w|| equals the bound
    (||w||^2 + ||w||^2) / ||w|| exactly, for the rounded w too."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w = rng.standard_normal(5)
        w /= np.linalg.norm(w)
        out.append(np.stack([w, -w], axis=1))
    return out


@pytest.mark.parametrize("gram", [True, False])
def test_time_limited_bounds_are_rounded_outward_where_tight(gram):
    for W in _rotated_simplices(6, seed=1) + _antipodal_pairs(40, seed=2):
        res = one_vs_rest_distances(W, time_limit=0, gram=gram)
        assert not res.solved.any() and not res.complete
        for k in range(W.shape[1]):
            ref = mp_one_vs_rest(W, k)
            assert _bracket_holds(res.lower[k], res.upper[k], ref), (k, res.lower[k], res.upper[k], ref)
            assert _rel(res.lower[k], ref) <= 1e-14          # tight: the bound is the distance


@pytest.mark.parametrize("gram", [True, False])
def test_time_limited_bounds_where_loose(gram):
    """Random codes (d = 3, 10 classes; a near-duplicate pair): every bracket holds the 80-digit
    distance, and the ends are the closed forms: 1 - max_j <w_k, w_j> and ||w_k - w_j*||."""
    rng = np.random.default_rng(7)
    for W in (random_code(rng, 3, 10), _near_duplicate_code(3, 3, 10, 1e-9)):
        res = one_vs_rest_distances(W, time_limit=0, gram=gram)
        G = W.T @ W
        np.fill_diagonal(G, -np.inf)
        j = G.argmax(axis=1)
        for k in range(W.shape[1]):
            ref = mp_one_vs_rest(W, k)
            assert _bracket_holds(res.lower[k], res.upper[k], ref), (k, res.lower[k], res.upper[k], ref)
            assert res.lower[k] == pytest.approx(max(0.0, 1.0 - G[k, j[k]]), abs=1e-14)
            assert res.upper[k] == pytest.approx(np.linalg.norm(W[:, k] - W[:, j[k]]), rel=1e-14)
            np.testing.assert_array_equal(res.nearest[:, k], W[:, j[k]])
        assert res.rho_lower < res.rho                       # loose: nothing was solved
        assert not res.converged.any()
        np.testing.assert_allclose(res.weights.sum(axis=1), 1.0)


def test_time_limited_upper_bound_of_a_tiny_gap_does_not_underflow():
    """Two codewords 1e-200 apart: the distance (their gap, K = 2) is bracketed; squaring the
    difference unscaled would underflow to 0."""
    for gap in (1e-160, 1e-200):
        W = np.array([[1.0, 1.0], [0.0, gap]])
        # unit as they are (1 + gap^2 rounds to 1): normalize=True would widen the bracket by the
        # rescaling's rounding, ~1e-15, far above the gap (test_certificate_covers_the_exactly_normalized_code)
        res = one_vs_rest_distances(W, time_limit=0)
        Wn = W
        ref = mpmath.norm([mpmath.mpf(float(a)) - mpmath.mpf(float(b)) for a, b in zip(Wn[:, 0], Wn[:, 1])])
        for k in range(2):
            assert _bracket_holds(res.lower[k], res.upper[k], ref), (gap, k, res.upper[k], ref)
            assert _rel(res.upper[k], ref) < 1e-14
        # with normalize=True too: wide (the rescaling's rounding) but holding, and not converged
        rn = one_vs_rest_distances(W, time_limit=0, normalize=True)
        a, b = _mp_unit_columns(W)
        refn = mpmath.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
        assert all(_bracket_holds(rn.lower[k], rn.upper[k], refn) for k in range(2)) and not rn.converged.any()


def _perturbed(W0, eps, seed):
    """``W0`` moved by Gaussian noise of size ``eps``, columns renormalized: every contact of
    the named code becomes a near-contact, affinely dependent on its neighbours to ~eps."""
    W = W0 + eps * np.random.default_rng(seed).standard_normal(W0.shape)
    return W / np.linalg.norm(W, axis=0)


@pytest.mark.parametrize("gram", [True, False])
@pytest.mark.parametrize("eps, seed", [(1e-11, 0), (1e-9, 1), (1e-7, 3)])
def test_near_degenerate_code_is_certified_tight(eps, seed, gram):
    """A polished code's contacts lie on the hyperplane ``<w, w_k> = t`` to about its own
    accuracy, so Wolfe's next candidate is affinely dependent on the corral to rounding; the
    kernel used to stop there with a 1e-9-wide bracket (the icosahedron moved by 1e-9: 4 to
    7 of 12 classes not converged).  Now it pivots the candidate in: every class converged,
    and every bracket holds the mpmath distance."""
    from spherecodes.constructions import icosahedron

    W = _perturbed(icosahedron(), eps, seed)
    _check_ovr(one_vs_rest_distances(W, gram=gram), W, range(12), rel=1e-12)


@pytest.mark.parametrize("name", ["cell600", "e8_roots"])
def test_perturbed_root_systems_are_certified_tight(name):
    """The 600-cell and the E8 roots moved by 1e-7 (many contacts per class, each class's
    nearest face degenerate several ways): every class converged (before the pivot: 53 % and
    62 %), the distances within cvxpy's accuracy of Clarabel's."""
    from spherecodes import constructions

    W = _perturbed(getattr(constructions, name)(), 1e-7, 0)
    res = one_vs_rest_distances(W)
    assert res.converged.all(), np.flatnonzero(~res.converged)
    for k in (0, 1, 2):
        assert abs(res.distance[k] - cvxpy_one_vs_rest(W, k)) <= 1e-6


def test_kernel_pivot_dependency_is_the_affine_combination():
    """The pivot's dependency (``_wolfe._dependency``, from the factor row of a candidate that
    failed the pivot test) is the candidate's affine combination of the corral, here built
    exactly: ``q_4 = sum_i a_i q_i`` with ``sum a = 1`` gives ``nu = (-a, 1)``."""
    from spherecodes import _wolfe

    rng = np.random.default_rng(0)
    Q = rng.standard_normal((4, 5))                      # a corral of 4 points in R^5
    a = np.array([0.5, -0.25, 0.4, 0.35])
    Q = np.vstack([Q, a @ Q])                            # the candidate, affinely dependent
    D = Q[1:] - Q[0]
    H = D @ D.T
    L = np.zeros_like(H)
    assert all(_wolfe._cholesky_row(H, L, n) for n in range(3))
    assert not _wolfe._cholesky_row(H, L, 3)             # the candidate fails the pivot test
    beta, nu = np.empty(5), np.empty(5)
    _wolfe._dependency(L, 3, beta, nu)
    np.testing.assert_allclose(nu, np.append(-a, 1.0), atol=1e-12)


def _dependent_corral():
    """8 points of R^5 away from the origin (the nearest point of their hull is on its
    boundary), point 3 the affine combination ``0.5 q_0 - 1.5 q_1 + 2 q_2``; ``(8, 5)``."""
    rng = np.random.default_rng(3)
    Q = rng.standard_normal((3, 5)) + 2.0
    return np.vstack([Q, np.array([0.5, -1.5, 2.0]) @ Q, rng.standard_normal((4, 5)) + 2.0])


def _factor(L, n):
    """The leading n x n Cholesky factor of a kernel factor ``L``, whose diagonal holds reciprocals."""
    return np.tril(L[:n, :n], -1) + np.diag(1.0 / np.diag(L[:n, :n]))


def test_kernel_drops_a_dependent_warm_start_point_and_refactors_the_rest():
    """A warm start whose corral holds an affinely dependent point, ``q_3 = 0.5 q_0 - 1.5 q_1 +
    2 q_2``: Caratheodory's reduction empties ``q_1`` (the largest ratio), not the dependent
    point, so every factor row after position 1 must be recomputed.  The kernel's point must
    be the nearest point of the hull (cvxpy), from that start as from a cold one."""
    from spherecodes import _wolfe

    Q = _dependent_corral()
    ref = cvxpy_hull_distance(np.zeros(5), Q.T)
    for lam0 in (np.array([0.2] * 5 + [0.0] * 3), np.zeros(8)):
        lam, _ = _wolfe.min_norm_point(Q, np.empty((0, 0)), np.arange(8), 0, lam0, 1e-14, 500)
        assert lam.min() >= 0 and abs(lam.sum() - 1) < 1e-12
        assert abs(np.linalg.norm(lam @ Q) - ref) <= 1e-8


def test_kernel_refactor_after_a_dependent_point_leaves_matches_the_new_corral():
    """``_wolfe._factor_reduced`` on the corral of the test above: ``q_1`` leaves, the
    weights keep the point (Caratheodory), and the factor (reciprocal diagonal) and
    right-hand side are those of the new corral, recomputed here with numpy."""
    from spherecodes import _wolfe

    Q = _dependent_corral()
    S, lam, C, H, L, alpha, _, in_S, _, rhs, beta = _wolfe.workspace(8, 5)
    S[:5], lam[:5], in_S[:5] = np.arange(5), 0.2, True
    C[:5, :8] = Q[:5] @ Q.T                              # C[i, b] = <q_{S_i}, q_b>
    s = _wolfe._factor_reduced(Q, C, S, lam, H, L, rhs, beta, alpha, in_S, 5, 0)
    assert s == 4 and list(S[:s]) == [0, 2, 3, 4] and list(np.flatnonzero(in_S)) == [0, 2, 3, 4]
    np.testing.assert_allclose(lam[:s] @ Q[S[:s]], 0.2 * Q[:5].sum(axis=0), atol=1e-12)
    D = Q[S[1:s]] - Q[S[0]]
    F = _factor(L, s - 1)
    np.testing.assert_allclose(F @ F.T, D @ D.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rhs[:s - 1], -D @ Q[S[0]], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [0, 1, 4, 6])
def test_kernel_cholesky_delete_is_the_factor_of_the_submatrix(p):
    """``_wolfe._cholesky_delete`` (Givens rotations on the factor) against numpy's Cholesky
    factor of ``H`` without row and column ``p``; the module's factors store reciprocal
    diagonals, and Cholesky factors with positive diagonals are unique."""
    from spherecodes import _wolfe

    rng = np.random.default_rng(p)
    D = rng.standard_normal((7, 9))
    H = D @ D.T
    L = np.zeros((8, 8))
    assert all(_wolfe._cholesky_row(H, L, n) for n in range(7))
    assert _wolfe._cholesky_delete(L, 7, p)
    keep = np.delete(np.arange(7), p)
    F = _factor(L, 6)
    np.testing.assert_allclose(F, np.linalg.cholesky(H[np.ix_(keep, keep)]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("drop", [0, 5, 19])
def test_kernel_drop_in_a_large_corral_downdates_the_factor_or_asks_for_a_rebuild(drop):
    """``_wolfe._drop_vanished`` on a corral of 20 points (past ``DOWNDATE_MIN_CORRAL``):
    a point other than the reference leaves the factor and right-hand side of the
    remaining corral (numpy's Cholesky factor and ``-D q_0``); the reference point
    ``S[0]`` leaving asks for a rebuild (every difference changes)."""
    from spherecodes import _wolfe

    s, d = 20, 24
    assert s > _wolfe.DOWNDATE_MIN_CORRAL
    rng = np.random.default_rng(drop)
    Q = rng.standard_normal((s, d)) + 1.0
    S, lam, C, H, L, alpha, _, in_S, _, rhs, _ = _wolfe.workspace(s, d)
    S[:s], lam[:s], in_S[:s] = np.arange(s), 1.0 / s, True
    C[:s, :s] = Q @ Q.T
    assert _wolfe._load_cholesky(Q, C, S, s, H, L, rhs, 0) < 0
    alpha[:s] = 1.0 / s
    alpha[drop] = -0.5                                   # the weight that vanishes first
    w, first = _wolfe._drop_vanished(S, lam, alpha, C, L, rhs, in_S, s, s)
    keep = np.delete(np.arange(s), drop)
    assert w == s - 1 and list(S[:w]) == list(keep) and not in_S[drop]
    if drop == 0:
        assert first == 0
        return
    assert first == -1
    D = Q[keep[1:]] - Q[keep[0]]
    F = _factor(L, w - 1)
    np.testing.assert_allclose(F @ F.T, D @ D.T, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rhs[:w - 1], -D @ Q[keep[0]], rtol=1e-12, atol=1e-12)


# A code from a reviewer's search (stop 26) on which the pivot, as first written, lost a tight
# bracket that the kernel had had.
_NEAR_DUPLICATE_ARC = np.array([
    [-0.6681843997132277, -0.661122902674749, -0.6687292425806772, -0.6759772795882785, -0.6687292425806636,
     -0.6611229026747437, -0.6576139506273833, -0.6602578829582235, -0.6576139506273958, 0.6681843997132182],
    [0.643418069607268, 0.6434822516037795, 0.635790188899485, 0.6325287447037624, 0.6357901888994941,
     0.643482251603778, 0.6510990268070925, 0.654178710896854, 0.651099026807074, -0.6434180696072591],
    [0.373554274079056, 0.38580707540148135, 0.38545043237312737, 0.37810329885351823, 0.38545043237313614,
     0.3858070754014934, 0.3789643112894701, 0.3689305384497942, 0.37896431128948044, -0.37355427407908814]])


@pytest.mark.parametrize("gram", [True, False])
@pytest.mark.parametrize("n_neighbors", [None, 1, 2, 3])
def test_pivot_keeps_a_near_duplicate_tight(n_neighbors, gram):
    """Class 8 of the arc is 2.6e-16 from the others' hull, next to a near-duplicate: a pivot
    on a dependency found at the far points' scale left [1.6e-16, 2.6e-16] (pivots now need
    the corral's norms within 1e8 of each other)."""
    res = one_vs_rest_distances(_NEAR_DUPLICATE_ARC, gram=gram, n_neighbors=n_neighbors)
    _check_ovr(res, _NEAR_DUPLICATE_ARC, [8], rel=1e-13)


def _mp_unit_columns(W):
    """The exactly normalized columns of ``W``'s doubles, in mpmath."""
    cols = [[mpmath.mpf(float(x)) for x in W[:, k]] for k in range(W.shape[1])]
    return [[x / mpmath.sqrt(sum(y * y for y in c)) for x in c] for c in cols]


@pytest.mark.parametrize("gap", [1e-1, 1e-9, 1e-13])
def test_certificate_covers_the_exactly_normalized_code(gap):
    """normalize=True and float32 input are rescaled in float64; the certificate is for the code as
    passed, normalized exactly: a near-duplicate pair's bracket once missed it by 5e-8 relative,
    converged.  K = 2: the distance is the distance between the two unit vectors (mpmath)."""
    w0 = np.array([0.6, -0.48, 0.64])
    W = np.stack([3.7 * w0, 0.3 * (w0 + gap * np.array([0.3, 0.7, -0.2]))], axis=1)
    a, b = _mp_unit_columns(W)
    ref = mpmath.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    res = one_vs_rest_distances(W, normalize=True)
    for k in range(2):
        assert _bracket_holds(res.lower[k], res.upper[k], ref), (k, res.lower[k], res.upper[k], ref)
    # the other ways to the same certificate: separation, and GNC2 of streamed statistics
    from spherecodes import StreamingCollapse, separation

    sep = separation(W, normalize=True)
    assert _bracket_holds(sep.rho_one_vs_rest_lower, sep.rho_one_vs_rest_upper, ref)
    acc = StreamingCollapse()
    acc.update(np.eye(3)[:2], [0, 1])
    g = acc.statistics().gnc2(W.T, normalize=True)
    assert _bracket_holds(g.rho_lower, g.rho_upper, ref)
    # where rescaling's rounding (~1e-16) exceeds tol * distance, converged says so
    assert res.converged.all() == (gap > 1e-2)
    W32 = W.astype(np.float32)
    a, b = _mp_unit_columns(W32.astype(np.float64))
    ref32 = mpmath.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    r32 = one_vs_rest_distances(W32, normalize=True)
    assert all(_bracket_holds(r32.lower[k], r32.upper[k], ref32) for k in range(2))


def test_rescaled_code_stays_converged_at_ordinary_distances():
    # the widening (~1e-15) is far inside tol at distances of order one: converged as before
    W = random_code(np.random.default_rng(40), 3, 8) * np.array([1e-3, 2.0, 7.0, 1.0, 0.5, 3e3, 1e-100, 1e100])
    res = one_vs_rest_distances(W, normalize=True)
    plain = one_vs_rest_distances(W / np.linalg.norm(W, axis=0))
    assert res.converged.all()
    assert np.all(res.upper - res.lower > plain.upper - plain.lower)
