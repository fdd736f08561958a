"""Bounds on the one-vs-rest separation of a Softmax Code.

:func:`theorem39_bounds` evaluates Theorem 3.9 (eq. 13) of "Generalized Neural
Collapse for a Large Number of Classes": for ``K >= sqrt(2 pi sqrt(e d))``,

    (1/2) [ sqrt(pi)/K * Gamma((d+1)/2) / Gamma(d/2 + 1) ]^(2/(d-1))
        <= max_{W in OB(d, K)} rho_one_vs_rest(W)
        <= 2 [ 2 sqrt(pi)/K * Gamma((d+1)/2) / Gamma(d/2) ]^(1/(d-1)).

Everything is computed in log space (``scipy.special.gammaln``), so ``d`` in the
tens of thousands and ``K`` up to ``1e12`` and beyond are fine.
:func:`exact_optimum` returns the optimum where Theorem 3.3 gives it in closed form.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

from scipy.special import gammaln

from ._validation import check_int

__all__ = ["theorem39_bounds", "Theorem39Bounds", "SphereCodesWarning", "exact_optimum"]


class SphereCodesWarning(UserWarning):
    """Warning category for results that hold outside the hypotheses of a theorem."""


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


def _check_K(K) -> float:
    if isinstance(K, bool) or not isinstance(K, numbers.Real):
        raise ValueError(f"K must be a real number of classes, got {K!r}")
    Kf = float(K)
    if not math.isfinite(Kf):
        raise ValueError(f"K must be finite, got {K!r}")
    if Kf < 2:
        raise ValueError(f"K must be >= 2, got {K!r}")
    return Kf


def theorem39_bounds(d, K, *, warn: bool = True) -> Theorem39Bounds:
    """Lower and upper bounds of Theorem 3.9 on ``max_W rho_one_vs_rest(W)`` over OB(d, K).

    Parameters
    ----------
    d : int
        Feature dimension, ``d >= 2`` (the exponents contain ``1/(d-1)``).
    K : int or float
        Number of classes, ``K >= 2``; a float is accepted so that e.g. ``1e12``
        can be passed directly.
    warn : bool, keyword-only
        Emit a :class:`SphereCodesWarning` when the hypothesis
        ``K >= sqrt(2 pi sqrt(e d))`` fails (default True).  The numbers are
        still returned, with ``applicable=False``; they are then not guaranteed.

    Returns
    -------
    Theorem39Bounds
        ``lower``, ``upper`` (capped at 2), ``upper_raw``, ``applicable``,
        ``condition`` and ``min_K``.

    Notes
    -----
    With ``g = gammaln``,
    ``log lower = log(1/2) + 2/(d-1) * (log(sqrt(pi)/K) + g((d+1)/2) - g(d/2+1))``
    and ``log upper = log 2 + 1/(d-1) * (log(2 sqrt(pi)/K) + g((d+1)/2) - g(d/2))``.
    """
    d = check_int(d, "d", minimum=2)
    Kf = _check_K(K)
    log_ratio_lo = 0.5 * math.log(math.pi) - math.log(Kf) + gammaln((d + 1) / 2.0) - gammaln(d / 2.0 + 1.0)
    log_ratio_hi = math.log(2.0) + 0.5 * math.log(math.pi) - math.log(Kf) + gammaln((d + 1) / 2.0) - gammaln(d / 2.0)
    lower = math.exp(math.log(0.5) + 2.0 / (d - 1) * float(log_ratio_lo))
    upper_raw = math.exp(math.log(2.0) + float(log_ratio_hi) / (d - 1))
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
        value is 0.
    """
    d = check_int(d, "d", minimum=1)
    K = check_int(K, "K", minimum=2)
    if K <= d + 1:
        return K / (K - 1.0)
    if d == 1:
        return 0.0
    if d == 2:
        return 1.0 - math.cos(2.0 * math.pi / K)
    if K <= 2 * d:
        return 1.0
    return None
