"""Bounds on the one-vs-rest separation of a Softmax Code.

:func:`theorem39_bounds` evaluates Theorem 3.9 (eq. 13) of "Generalized Neural
Collapse for a Large Number of Classes": for ``K >= sqrt(2 pi sqrt(e d))``,

    (1/2) [ sqrt(pi)/K * Gamma((d+1)/2) / Gamma(d/2 + 1) ]^(2/(d-1))
        <= max_{W in OB(d, K)} rho_one_vs_rest(W)
        <= 2 [ 2 sqrt(pi)/K * Gamma((d+1)/2) / Gamma(d/2) ]^(1/(d-1)).

Everything is computed in log space (``scipy.special.gammaln``), so ``d`` in the
tens of thousands and ``K`` up to ``1e12`` and beyond are fine.
:func:`exact_optimum` returns the optimum where Theorem 3.3 gives it in closed form,
and :func:`dimension_bounds` turns both into the feature dimension needed for
a target separation with ``K`` classes.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ._validation import check_int, check_real

__all__ = ["theorem39_bounds", "Theorem39Bounds", "SphereCodesWarning", "exact_optimum",
           "dimension_bounds", "DimensionBounds"]


class SphereCodesWarning(UserWarning):
    """Warning category for results that hold outside the hypotheses of a theorem.

    See Also
    --------
    theorem39_bounds : warns with it when Theorem 3.9's hypothesis fails.
    """


@dataclass(frozen=True)
class Theorem39Bounds:
    """Result of :func:`theorem39_bounds`.

    Attributes
    ----------
    d : int
        Feature dimension.
    K : float
        Number of classes (kept as given, possibly a float such as ``1e12``).
    lower : float
        Lower bound of eq. (13) on the optimal one-vs-rest distance.
    upper : float
        Upper bound, capped at 2 (``rho_one_vs_rest <= 2`` for any code).
    upper_raw : float
        The right-hand side of eq. (13) before the cap (may exceed 2).
    applicable : bool
        Whether the hypothesis ``K >= sqrt(2 pi sqrt(e d))`` of Theorem 3.9 holds.
    condition : str
        The hypothesis written out with the numbers plugged in.
    min_K : float
        ``sqrt(2 pi sqrt(e d))``, the smallest ``K`` for which the theorem applies.
    """

    d: int
    K: float
    lower: float
    upper: float
    upper_raw: float
    applicable: bool
    condition: str
    min_K: float


def _as_float(n: int, name: str) -> float:
    """An integer count as a float for the formulas; a ``ValueError`` naming it past the doubles."""
    try:
        return float(n)
    except OverflowError:
        raise ValueError(f"{name} must be at most the largest double, about 1.8e308 (the bounds are evaluated "
                         f"in floating point), got an integer of {n.bit_length()} bits") from None


def _check_K(K) -> float:
    """``K`` as a float, after :func:`spherecodes._validation.check_int` (an integer ``>= 2``).

    Integer-valued floats such as ``1e12`` are accepted (and kept as floats),
    as ``check_int`` does.
    """
    return _as_float(check_int(K, "K", minimum=2), "K")


def _polygon_rho(Kf: float) -> float:
    """``1 - cos(2 pi / K) = 2 sin(pi / K)^2``, the regular K-gon's rho (Theorem 3.3, d = 2).

    The sine form keeps full relative accuracy for large K, where ``1 - cos`` cancels
    (at K = 10^9 it gives 0 for 1.97e-17).
    """
    return 2.0 * math.sin(math.pi / Kf) ** 2


#: Relative accuracy assumed of each logarithm and log-gamma value (libm's log and scipy's
#: gammaln are accurate to a few units in the last place; checked against 50-digit mpmath
#: in tests/test_bounds.py), with room for the sums that combine them.
_LOG_SLACK = 64.0 * 2.0 ** -53


def _outward_bounds(d, Kf):
    """Theorem 3.9's ``(lower, upper_raw)`` for ``d >= 2`` (scalar or array), rounded outward.

    Evaluated in logarithms (eq. (13) with ``gammaln``), then widened by the
    rounding those logarithms may carry, so that ``lower`` is at most and
    ``upper_raw`` at least the exact value of the formula.
    """
    d = np.asarray(d, dtype=np.float64)
    half_log_pi, log_K, log2 = 0.5 * math.log(math.pi), math.log(Kf), math.log(2.0)
    a, b_lo, b_hi = gammaln((d + 1.0) / 2.0), gammaln(d / 2.0 + 1.0), gammaln(d / 2.0)
    dm1 = d - 1.0
    log_lo = -log2 + 2.0 / dm1 * (half_log_pi - log_K + a - b_lo)
    log_hi = log2 + (log2 + half_log_pi - log_K + a - b_hi) / dm1
    # every term within _LOG_SLACK of its magnitude; the sums' and the division's rounding is
    # inside the same slack, and exp adds at most a few units in the last place
    size = (log2 + half_log_pi + abs(log_K) + np.abs(a) + np.maximum(np.abs(b_lo), np.abs(b_hi))) * 2.0 / dm1
    err = _LOG_SLACK * (size + log2)
    lower = np.nextafter(np.exp(log_lo - err) * (1.0 - 8.0 * 2.0 ** -53), 0.0)
    upper = np.nextafter(np.exp(log_hi + err) * (1.0 + 8.0 * 2.0 ** -53), np.inf)
    return lower, upper


def theorem39_bounds(d, K, *, warn: bool = True) -> Theorem39Bounds:
    """Lower and upper bounds of Theorem 3.9 on ``max_W rho_one_vs_rest(W)`` over OB(d, K).

    Parameters
    ----------
    d : int
        Feature dimension, ``d >= 2`` (the exponents contain ``1/(d-1)``).
    K : int or float
        Number of classes, an integer ``K >= 2``; an integer-valued float is
        accepted so that e.g. ``1e12`` can be passed directly.
    warn : bool, keyword-only
        Emit a :class:`SphereCodesWarning` when the hypothesis
        ``K >= sqrt(2 pi sqrt(e d))`` fails (default True).  The numbers are
        still returned, with ``applicable=False``; they are then not guaranteed.

    Returns
    -------
    Theorem39Bounds
        ``lower``, ``upper`` (capped at 2), ``upper_raw``, ``applicable``,
        ``condition`` and ``min_K``.  The bounds are Euclidean distances
        on the unit sphere (dimensionless, in ``[0, 2]``).

    Raises
    ------
    ValueError
        If ``d < 2`` or ``K < 2``, or either exceeds the largest double (1.8e308).
    TypeError
        If ``d`` or ``K`` is not an integer (a bool, a string, None, a
        non-integral or non-finite float)
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    Warns
    -----
    SphereCodesWarning
        When ``warn`` is true and ``K < sqrt(2 pi sqrt(e d))``.

    See Also
    --------
    exact_optimum : the optimum itself where Theorem 3.3 gives it.
    dimension_bounds : the feature dimension needed for a target ``rho``.
    spherecodes.rho_one_vs_rest : the quantity bounded.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.9, eq. (13).

    Notes
    -----
    With ``g = gammaln``,
    ``log lower = log(1/2) + 2/(d-1) * (log(sqrt(pi)/K) + g((d+1)/2) - g(d/2+1))``
    and ``log upper = log 2 + 1/(d-1) * (log(2 sqrt(pi)/K) + g((d+1)/2) - g(d/2))``.
    The floats are rounded outward: ``lower`` is at most and ``upper_raw`` at
    least the exact value of these expressions (about 1e-14 relative wider).

    Examples
    --------
    >>> from spherecodes.bounds import theorem39_bounds
    >>> b = theorem39_bounds(3, 100)
    >>> b.applicable, b.lower < b.upper
    (True, True)
    """
    d = check_int(d, "d", minimum=2)
    _as_float(d, "d")
    Kf = _check_K(K)
    lower, upper_raw = (float(v) for v in _outward_bounds(d, Kf))
    min_K = math.sqrt(2.0 * math.pi * math.sqrt(math.e * d))
    applicable = Kf >= min_K
    rel = ">=" if applicable else "<"
    condition = f"K >= sqrt(2 pi sqrt(e d)): K = {K:g} {rel} {min_K:.6g} (d = {d})"
    if not applicable and warn:
        warnings.warn(
            f"Theorem 3.9 does not apply: K = {K:g} < sqrt(2 pi sqrt(e d)) = {min_K:.6g} for d = {d}; "
            "the bounds are not guaranteed",
            SphereCodesWarning,
            stacklevel=2,
        )
    return Theorem39Bounds(
        d=d, K=K if isinstance(K, numbers.Integral) else Kf, lower=lower, upper=min(upper_raw, 2.0),
        upper_raw=upper_raw, applicable=applicable, condition=condition, min_K=min_K,
    )


def exact_optimum(d, K) -> float | None:
    """The optimal one-vs-rest distance over OB(d, K) where Theorem 3.3 gives it, else ``None``.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    K : int
        Number of classes, ``K >= 2``.

    Returns
    -------
    float or None
        ``1 - cos(2 pi / K)`` for ``d = 2`` (regular polygon), ``K/(K-1)`` for
        ``K <= d + 1`` (simplex ETF), ``1`` for ``d + 1 < K <= 2d``
        (cross-polytope); ``None`` otherwise.  For ``d = 1`` only ``K = 2`` is
        covered (value 2); for ``d = 1, K >= 3`` two points coincide and the
        value is 0.  A Euclidean distance on the unit sphere (dimensionless).

    Raises
    ------
    ValueError
        If ``d < 1`` or ``K < 2``, or ``K`` exceeds the largest double (1.8e308).
    TypeError
        If ``d`` or ``K`` is not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    theorem39_bounds : bounds on the optimum where no closed form is known.
    dimension_bounds : the feature dimension needed for a target ``rho``.
    spherecodes.simplex_etf, spherecodes.polygon, spherecodes.cross_polytope :
        codes attaining these values.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.3 (simplex ETF for
    ``K <= d + 1``, regular polygon for ``d = 2``, cross-polytope for
    ``d + 1 < K <= 2d``).

    Examples
    --------
    >>> from spherecodes.bounds import exact_optimum
    >>> exact_optimum(3, 4), exact_optimum(3, 6), exact_optimum(3, 7) is None
    (1.3333333333333333, 1.0, True)
    """
    d = check_int(d, "d", minimum=1)
    Kf = _check_K(K)
    K = int(Kf) if Kf < 2.0 ** 53 else check_int(K, "K", minimum=2)   # exact for the comparisons below
    if K <= d + 1:
        return K / (K - 1)          # integers: correctly rounded (K = 2^53 + 1 too)
    if d == 1:
        return 0.0
    if d == 2:
        return _polygon_rho(Kf)
    if K <= 2 * d:
        return 1.0
    return None


@dataclass(frozen=True)
class DimensionBounds:
    """Result of :func:`dimension_bounds`.

    Attributes
    ----------
    K : float
        Number of classes.
    rho : float
        Target one-vs-rest separation.
    necessary : int or None
        Smallest ``d`` not ruled out: for every ``d < necessary`` no code in
        OB(d, K) reaches ``rho``.  ``None`` if every ``d <= max_d`` is ruled out.
    sufficient : int or None
        Smallest ``d`` for which a code in OB(d, K) with
        ``rho_one_vs_rest >= rho`` is guaranteed to exist (then for every larger
        ``d`` too).  ``None`` if no ``d <= max_d`` is guaranteed: the lower bound
        of Theorem 3.9 never exceeds 1/2, and past it only Theorem 3.3 guarantees,
        from ``d = ceil(K / 2)`` on (``rho <= 1``; ``d = K - 1`` for ``rho <= K/(K-1)``),
        which may lie beyond ``max_d`` (raise ``max_d``).
    max_d : int
        Largest dimension examined.
    """

    K: float
    rho: float
    necessary: int | None
    sufficient: int | None
    max_d: int


_MAX_D = 2 ** 24


def dimension_bounds(K, rho, *, max_d: int = 100_000) -> DimensionBounds:
    """Feature dimension needed to separate ``K`` classes by a one-vs-rest distance ``rho``.

    For each ``d`` in ``[1, max_d]`` the optimal separation
    ``rho*(d, K) = max_{W in OB(d, K)} rho_one_vs_rest(W)`` is bracketed by

    * its exact value where Theorem 3.3 gives one (``d = 2``, ``K <= 2d``),
      see :func:`exact_optimum`; also ``rho* <= K/(K-1)`` for every ``d``;
    * otherwise the bounds of Theorem 3.9 where it applies
      (``K >= sqrt(2 pi sqrt(e d))``), and ``[0, 2]`` elsewhere.

    ``rho*`` is non-decreasing in ``d`` (R^d embeds in R^(d+1)), so the smallest
    ``d`` that is not ruled out and the smallest ``d`` that is guaranteed
    bracket the minimal feature dimension.

    Parameters
    ----------
    K : int or float
        Number of classes, an integer ``K >= 2`` (integer-valued floats such
        as ``1e9`` are fine).
    rho : float
        Target separation, ``0 < rho <= 2``.
    max_d : int, keyword-only
        Largest dimension examined (default 100000; at most 2^24).

    Returns
    -------
    DimensionBounds
        ``necessary <= (minimal dimension) <= sufficient``.

    Raises
    ------
    ValueError
        If ``K < 2``; if ``rho`` is not in ``(0, 2]`` (NaN included); if
        ``max_d < 2`` or ``max_d > 2^24``; if ``K`` exceeds the largest double.
    TypeError
        If ``K`` or ``max_d`` is not an integer, or ``rho`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    exact_optimum : the closed forms used (Theorem 3.3).
    theorem39_bounds : the bounds used elsewhere (Theorem 3.9).

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.3 and Theorem 3.9, eq. (13)
    (the paper's use of eq. (13) for choosing ``d``, Section 3.2 and Figure 3).

    Examples
    --------
    >>> from spherecodes.bounds import dimension_bounds
    >>> b = dimension_bounds(20, 1.0)          # cross-polytope: d = 10 suffices
    >>> b.sufficient
    10
    """
    Kf = _check_K(K)
    rho = check_real(rho, "rho")
    if not 0 < rho <= 2:
        raise ValueError(f"rho must be a number in (0, 2], got {rho!r}")
    max_d = check_int(max_d, "max_d", minimum=2)
    if max_d > _MAX_D:      # a few arrays of max_d doubles: keep them in memory
        raise ValueError(f"max_d must be at most 2^24 = {_MAX_D}, got {max_d}")
    d = np.arange(1, max_d + 1, dtype=np.float64)
    known = np.full(d.shape, np.nan)
    # Theorem 3.3 (see exact_optimum)
    known[2 * d >= Kf] = 1.0
    known[d + 1 >= Kf] = Kf / (Kf - 1.0)
    if max_d >= 2 and Kf > 3:
        known[1] = _polygon_rho(Kf)
    known[0] = 2.0 if Kf == 2 else 0.0  # d = 1: at most two distinct points
    lower, upper = _outward_bounds(np.maximum(d, 2.0), Kf)   # d = 1 is known above
    applicable = (Kf >= np.sqrt(2.0 * np.pi * np.sqrt(np.e * d))) & (d >= 2)
    has_known = ~np.isnan(known)
    possible = np.where(has_known, known >= rho, ~applicable | (upper >= rho))
    guaranteed = np.where(has_known, known >= rho, applicable & (lower >= rho))
    possible &= Kf / (Kf - 1.0) >= rho        # rho*(d, K) <= rho*(K - 1, K) = K/(K-1) for every d
    nec = int(d[np.argmax(possible)]) if possible.any() else None
    suf = int(d[np.argmax(guaranteed)]) if guaranteed.any() else None
    return DimensionBounds(K=K if isinstance(K, numbers.Integral) else Kf, rho=rho,
                           necessary=nec, sufficient=suf, max_d=max_d)
