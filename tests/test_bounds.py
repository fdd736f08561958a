"""Theorem 3.9 bounds (eq. 13) and the closed-form optima of Theorem 3.3."""
import math
import warnings

import numpy as np
import pytest

from spherecodes import constructions as C
from spherecodes.bounds import (SphereCodesWarning, Theorem39Bounds, dimension_bounds, exact_optimum,
                               theorem39_bounds)


def direct(d, K):
    """Eq. (13) evaluated literally with math.gamma (no logs)."""
    lo = 0.5 * (math.sqrt(math.pi) / K * math.gamma((d + 1) / 2) / math.gamma(d / 2 + 1)) ** (2 / (d - 1))
    hi = 2 * (2 * math.sqrt(math.pi) / K * math.gamma((d + 1) / 2) / math.gamma(d / 2)) ** (1 / (d - 1))
    return lo, hi


def quiet(d, K):
    return theorem39_bounds(d, K, warn=False)


@pytest.mark.parametrize("d", [2, 3, 4, 7, 10, 33, 60, 150])
@pytest.mark.parametrize("K", [4, 12, 100, 1000, 10**6, 2.5e9])
def test_matches_direct_gamma(d, K):
    lo, hi = direct(d, K)
    b = quiet(d, K)
    assert isinstance(b, Theorem39Bounds)
    assert b.lower == pytest.approx(lo, rel=1e-11)
    assert b.upper_raw == pytest.approx(hi, rel=1e-11)
    assert b.upper == min(b.upper_raw, 2.0)
    assert b.d == d and b.K == K


def test_min_K_condition():
    for d in (2, 3, 10, 100, 10**4):
        thr = math.sqrt(2 * math.pi * math.sqrt(math.e * d))
        assert quiet(d, 2).min_K == pytest.approx(thr, rel=1e-14)
        assert quiet(d, math.ceil(thr)).applicable
        assert not quiet(d, math.ceil(thr) - 1).applicable or math.ceil(thr) - 1 >= thr
        assert "K >=" in quiet(d, 10).condition


def test_warning():
    with pytest.warns(SphereCodesWarning, match="Theorem 3.9"):
        b = theorem39_bounds(100, 5)  # threshold sqrt(2 pi sqrt(100 e)) ~ 10.2
    assert not b.applicable
    assert issubclass(SphereCodesWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert theorem39_bounds(100, 11).applicable  # no warning
        assert not theorem39_bounds(100, 5, warn=False).applicable


@pytest.mark.parametrize("d", [2, 3, 8, 64, 512, 10**4])
def test_monotone_in_K(d):
    Ks = np.unique(np.round(np.geomspace(2, 1e12, 200)))      # K is a number of classes: integers
    lo = np.array([quiet(d, K).lower for K in Ks])
    hi = np.array([quiet(d, K).upper_raw for K in Ks])
    assert np.all(np.diff(lo) < 0) and np.all(np.diff(hi) < 0)
    assert np.all(lo < hi)


def test_large_d_and_K_finite():
    for d in (1000, 5000, 10**4, 10**5):
        for K in (10, 1e6, 1e12, 10**12):
            b = quiet(d, K)
            assert np.isfinite(b.lower) and np.isfinite(b.upper_raw)
            assert 0 < b.lower < b.upper_raw
            assert b.upper <= 2.0
    # d = 1e4, K = 1e12: the bounds are informative (paper: d ~ log K suffices)
    b = theorem39_bounds(10**4, 1e12)
    assert b.applicable and 0.1 < b.lower < b.upper <= 2
    # huge d: the raw upper bound exceeds 2 and is capped
    b = quiet(10**5, 100)
    assert b.upper_raw > 2 and b.upper == 2.0


def test_cap_reported():
    b = quiet(50, 2)
    assert b.upper_raw > 2 and b.upper == 2.0


@pytest.mark.parametrize("d,K", [(1, 10), (0, 10), (2.5, 10), ("3", 10), (3, 1), (3, 1.5), (3, float("nan")),
                                 (3, float("inf")), (3, "12"), (3, True)])
def test_bad_input(d, K):
    with pytest.raises(ValueError):
        theorem39_bounds(d, K)


@pytest.mark.parametrize("K", ["10", 10.5, True, None, np.float64(2.5), float("nan")])
@pytest.mark.parametrize("fn", [lambda K: theorem39_bounds(3, K), lambda K: dimension_bounds(K, 0.5)])
def test_K_of_the_wrong_type_is_a_type_error_naming_K(fn, K):
    """K="10", 10.5 and True were ValueErrors, and 10.5 was even accepted as a number of classes."""
    with pytest.raises(TypeError, match="K must be an integer"):
        fn(K)


@pytest.mark.parametrize("fn", [lambda K: theorem39_bounds(3, K), lambda K: dimension_bounds(K, 0.5)])
def test_K_out_of_range_is_a_value_error_naming_K(fn):
    for K in (1, 0, -5):
        with pytest.raises(ValueError, match="K must be >= 2") as info:
            fn(K)
        assert not isinstance(info.value, TypeError)
    # integer-valued floats and numpy integers are numbers of classes
    assert theorem39_bounds(3, 1e12).K == 1e12
    assert dimension_bounds(np.int64(20), 1.0).sufficient == dimension_bounds(20, 1.0).sufficient == 10


def test_rho_of_the_wrong_type_is_a_type_error_naming_rho():
    with pytest.raises(TypeError, match="rho"):
        dimension_bounds(10, "0.5")
    with pytest.raises(ValueError, match="rho"):
        dimension_bounds(10, float("nan"))


def test_known_codes_within_bounds():
    """Optimal / best known codes built in closed form lie inside eq. (13)."""
    from spherecodes import hull
    cases = [C.polygon(K) for K in (4, 5, 8, 13, 40)] + [C.icosahedron(), C.cell600(), C.e8_roots(),
                                                         C.cell24(), C.schlafli27()]
    for W in cases:
        d, K = W.shape
        rho = hull.one_vs_rest_distances(W).distance.min()
        b = theorem39_bounds(d, K)
        assert b.applicable
        assert b.lower <= rho <= b.upper, (d, K, b, rho)


def test_exact_optimum_closed_forms():
    from spherecodes import hull
    for K in (2, 3, 6, 11):
        assert exact_optimum(2, K) == pytest.approx(hull.one_vs_rest_distances(C.polygon(K)).distance.min(), abs=1e-12)
    for d, K in ((3, 4), (5, 3), (9, 10)):
        rho = hull.one_vs_rest_distances(C.simplex_etf(d, K)).distance.min()
        assert exact_optimum(d, K) == pytest.approx(rho, abs=1e-12)
    for d, K in ((3, 5), (3, 6), (7, 10)):
        rho = hull.one_vs_rest_distances(C.cross_polytope(d, K)).distance.min()
        assert exact_optimum(d, K) == pytest.approx(rho, abs=1e-12)
    assert exact_optimum(3, 7) is None and exact_optimum(8, 240) is None
    assert exact_optimum(1, 2) == 2.0 and exact_optimum(1, 3) == 0.0
    with pytest.raises(ValueError):
        exact_optimum(0, 3)


def test_polygon_optimum_keeps_its_digits_at_large_K():
    """1 - cos(2 pi / K) cancelled: 1.2 % off at K = 10^8, 0 at 10^9 (mpmath, 50 digits)."""
    import mpmath

    mpmath.mp.dps = 50
    for K in (7, 10**6, 10**8, 10**9, 10**15):
        ref = 1 - mpmath.cos(2 * mpmath.pi / K)
        assert abs(mpmath.mpf(exact_optimum(2, K)) / ref - 1) < 1e-14, K
    # and dimension_bounds, which uses it for d = 2: rho*(2, 10^8) = 1.97e-15 < 1.99e-15
    assert dimension_bounds(10**8, 1.99e-15).sufficient == 3
    assert dimension_bounds(10**9, 1e-17).necessary == 2


def test_simplex_optimum_is_correctly_rounded_past_2_to_the_53():
    from fractions import Fraction

    for K in (2 ** 53 + 1, 2 ** 53 + 2, 10 ** 30 + 1, 7):
        assert exact_optimum(K, K) == float(Fraction(K, K - 1)), K


def test_counts_past_the_doubles_are_value_errors_naming_them():
    for fn, name in ((lambda: theorem39_bounds(3, 10**400), "K"), (lambda: theorem39_bounds(10**400, 5), "d"),
                     (lambda: exact_optimum(2, 10**400), "K"), (lambda: dimension_bounds(10**400, 1.0), "K")):
        with pytest.raises(ValueError, match=f"{name} must be at most the largest double"):
            fn()
    with pytest.raises(ValueError, match="max_d must be at most"):
        dimension_bounds(5, 1.0, max_d=10**12)


def test_theorem33_inside_theorem39():
    """Where Theorem 3.3 gives the optimum and Theorem 3.9 applies, they agree."""
    n = 0
    for d in range(2, 60):
        for K in range(2, (2 * d if d > 2 else 300) + 1):
            opt = exact_optimum(d, K)
            b = quiet(d, K)
            if opt is None or not b.applicable:
                continue
            n += 1
            assert b.lower <= opt <= b.upper, (d, K)
    assert n > 3000


def _bracket(d, K):
    """(lowest, highest) possible optimum for (d, K), from the scalar functions."""
    opt = exact_optimum(d, K) if float(K).is_integer() else None
    if opt is not None:
        return opt, opt
    if d == 1:
        return 0.0, 0.0
    b = quiet(d, K)
    cap = K / (K - 1) if float(K).is_integer() else 2.0
    return (b.lower, min(b.upper_raw, cap)) if b.applicable else (0.0, cap)


@pytest.mark.parametrize("K,rho", [(5, 0.5), (10, 1.0), (10, 1.1), (12, 0.55), (100, 0.3), (1000, 0.3),
                                   (1000, 0.45), (10**6, 0.3), (1e9, 0.2), (40, 0.01)])
def test_dimension_bounds_against_scalar_bounds(K, rho):
    res = dimension_bounds(K, rho, max_d=3000)
    assert res.necessary is not None and res.sufficient is not None
    assert 1 <= res.necessary <= res.sufficient
    # just below `necessary` every d is ruled out; at `sufficient` rho is guaranteed
    for d in range(max(1, res.necessary - 5), res.necessary):
        assert _bracket(d, K)[1] < rho
    assert _bracket(res.necessary, K)[1] >= rho
    assert _bracket(res.sufficient, K)[0] >= rho
    if res.sufficient > 1:
        assert _bracket(res.sufficient - 1, K)[0] < rho


def test_dimension_bounds_closed_forms():
    assert dimension_bounds(10, 1.0).sufficient == 5       # cross-polytope, K <= 2d
    assert dimension_bounds(10, 10 / 9).sufficient == 9    # simplex, K <= d + 1
    r = dimension_bounds(10, 1.2)                          # above K/(K-1): impossible in any d
    assert r.necessary is None and r.sufficient is None
    assert dimension_bounds(2, 2.0).sufficient == 1
    r = dimension_bounds(10**6, 0.6)                       # Thm 3.9 lower bound stays below 1/2
    assert r.sufficient is None and r.necessary is not None
    # more classes never need fewer dimensions
    nec = [dimension_bounds(K, 0.3).necessary for K in (10, 100, 10**4, 10**8, 1e12)]
    suf = [dimension_bounds(K, 0.3).sufficient for K in (10, 100, 10**4, 10**8, 1e12)]
    assert nec == sorted(nec) and suf == sorted(suf)


@pytest.mark.parametrize("K,rho,max_d", [(1, 0.5, 10), (10, 0.0, 10), (10, 2.5, 10), (10, "a", 10),
                                         (10, 0.5, 1), (float("inf"), 0.5, 10)])
def test_dimension_bounds_bad(K, rho, max_d):
    with pytest.raises(ValueError):
        dimension_bounds(K, rho, max_d=max_d)


@pytest.mark.parametrize("d", [2, 3, 5, 10, 33, 100, 512, 1000, 10**4, 10**5])
def test_bounds_are_rounded_outward_against_mpmath(d):
    # lower <= the exact value of eq. (13) <= upper_raw, with no slack, and still tight to 1e-12
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    for K in [2, 4, 12, 100, 1000, 10**6, 10**12]:
        b = quiet(d, K)
        ratio = mpmath.sqrt(mpmath.pi) / K * mpmath.gamma(mpmath.mpf(d + 1) / 2)
        lo = mpmath.mpf(1) / 2 * (ratio / mpmath.gamma(mpmath.mpf(d) / 2 + 1)) ** (mpmath.mpf(2) / (d - 1))
        hi = 2 * (2 * ratio / mpmath.gamma(mpmath.mpf(d) / 2)) ** (mpmath.mpf(1) / (d - 1))
        assert mpmath.mpf(b.lower) <= lo <= mpmath.mpf(b.lower) * (1 + 1e-12), (d, K)
        assert mpmath.mpf(b.upper_raw) * (1 - 1e-12) <= hi <= mpmath.mpf(b.upper_raw), (d, K)
