"""Separation measures of a code ``W`` (shape ``(d, K)``, unit columns; or ``(K, d)`` rows with ``layout="rows"``).

* ``rho_one_vs_rest``: the minimum over classes of the distance from ``w_k`` to
  the convex hull of the other codewords (Definition 2.1; GNC2);
* ``rho_one_vs_one``: the minimum pairwise distance (the Tammes objective, eq. 11);
* ``max_inner_product`` and ``min_angle``: the same pairwise separation as a
  cosine and as an angle;
* ``rattlers``: classes whose one-vs-rest distance is above the minimum
  (Definition 3.4).

Pairwise quantities are computed in blocks of rows of the Gram matrix, so
memory stays ``O(block * K)`` for any K.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import math

import numpy as np

from ._validation import ArgumentTypeError, as_code, check_rtol
from .formatting import bracket
from .hull import OneVsRest, _dot_error, gram_row_blocks, nearest_codewords, one_vs_rest_distances


def _largest_inner_products(W: np.ndarray, one_vs_rest: OneVsRest | None = None):
    """``nearest_codewords(W)``, or from ``one_vs_rest`` where its time-limited path found them."""
    known = None if one_vs_rest is None else one_vs_rest._nearest_codewords
    return nearest_codewords(W) if known is None else known


def _nearest_pair(W: np.ndarray, one_vs_rest: OneVsRest | None = None) -> tuple[int, int, float, float]:
    """``(i, j, ||w_i - w_j||, max_inner_product)``: the closest pair, by distance.

    The largest inner product finds it only up to the inner products' rounding
    and the codewords' norm defects (``||w_a - w_b||^2 = ||w_a||^2 + ||w_b||^2 -
    2 <w_a, w_b>``): near-duplicates 1e-12 apart next to a pair 1e-9 apart all
    round to inner product 1.  So every pair whose inner product is within
    that slack of the largest is a candidate, and their distances are compared
    as computed from the differences (full relative accuracy); the candidates
    are the classes whose own largest inner product is within the slack.
    """
    maxip, arg = _largest_inner_products(W, one_vs_rest)
    i = int(np.argmax(maxip))
    sq = np.einsum("ij,ij->j", W, W)
    # inner products and squared norms each within _dot_error of exact; the norms' spread
    slack = 4.0 * _dot_error(W.shape[0]) + float(sq.max() - sq.min()) * (1.0 + 1e-12) + 4.0 * 2.0 ** -53
    S = np.flatnonzero(maxip >= maxip[i] - slack)
    best = (i, int(arg[i]), float(np.linalg.norm(W[:, i] - W[:, arg[i]])))
    if S.size <= 2:
        return best + (float(maxip[i]),)          # the pair is alone within the slack
    WS = W[:, S]
    for rows, G in gram_row_blocks(WS):
        a, b = np.nonzero(G >= maxip[i] - slack)
        if a.size:
            dist = np.linalg.norm(WS[:, rows[a]] - WS[:, b], axis=0)
            t = int(np.argmin(dist))
            if dist[t] < best[2]:
                best = (int(S[rows[a[t]]]), int(S[b[t]]), float(dist[t]))
    return best + (float(maxip[i]),)


def max_inner_product(W, *, normalize: bool = False, layout: str = "columns") -> float:
    """Largest inner product ``max_{j != k} <w_j, w_k>`` of a code.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Code with unit vectors (numpy or torch).
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Codewords as columns (default) or as rows (``nn.Linear.weight``).

    Returns
    -------
    float
        The cosine of the smallest angle between two codewords
        (dimensionless, in ``[-1, 1]``).

    Raises
    ------
    ValueError
        If ``W`` is not 2-D, has fewer than 2 codewords, contains NaN or inf,
        has a codeword whose norm differs from 1 by more than the unit-norm
        tolerance (without ``normalize``) or a zero codeword (with it), or
        ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``W`` is complex or not numeric, ``normalize`` is not a bool or
        ``layout`` not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    min_angle : the smallest angle, ``arccos(max_inner_product)`` for unit codewords.
    rho_one_vs_one : the smallest distance, ``sqrt(2 - 2 max_inner_product)`` for unit codewords.
    separation : every measure at once.

    References
    ----------
    Generalized Neural Collapse paper, eq. (11) (the Tammes objective, as a
    cosine); ``1 - max_inner_product`` is a lower bound on eq. (3).
    """
    W = as_code(W, normalize=normalize, layout=layout)
    return float(_largest_inner_products(W)[0].max())


def rho_one_vs_one(W, *, normalize: bool = False, layout: str = "columns") -> float:
    """Minimum pairwise Euclidean distance ``min_{j != k} ||w_j - w_k||`` (eq. 11).

    The closest pairs are found from the Gram matrix (every pair whose inner
    product is within rounding and the codewords' norm defects of the largest)
    and their distances computed directly from the difference vectors, which
    keeps full relative accuracy for nearly coincident codewords.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Code with unit vectors (numpy or torch).
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Codewords as columns (default) or as rows (``nn.Linear.weight``).

    Returns
    -------
    float
        The smallest distance between two codewords (chord length on the
        unit sphere, in ``[0, 2]``).

    Raises
    ------
    ValueError
        If ``W`` is not 2-D, has fewer than 2 codewords, contains NaN or inf,
        has a codeword whose norm differs from 1 by more than the unit-norm
        tolerance (without ``normalize``) or a zero codeword (with it), or
        ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``W`` is complex or not numeric, ``normalize`` is not a bool or
        ``layout`` not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    min_angle : the smallest angle, ``2 arcsin(rho / 2)``.
    max_inner_product : the largest cosine (of the same pair, for unit codewords up to rounding).
    rho_one_vs_rest : the one-vs-rest distance of eq. (3).
    spherecodes.tammes_code : codes that maximize this quantity.

    References
    ----------
    Generalized Neural Collapse paper, eq. (11): ``rho_one_vs_one(W)``, the
    objective of the Tammes problem.

    Examples
    --------
    >>> from spherecodes import rho_one_vs_one, polygon
    >>> round(rho_one_vs_one(polygon(4)), 12)      # sqrt(2)
    1.414213562373
    """
    W = as_code(W, normalize=normalize, layout=layout)
    return _nearest_pair(W)[2]


def min_angle(W, *, normalize: bool = False, layout: str = "columns") -> float:
    """Smallest angle between two codewords, in radians.

    Computed as ``2 arcsin(rho_one_vs_one / 2)``, accurate for tiny angles
    where ``arccos`` of the inner product is not.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Code with unit vectors (numpy or torch).
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Codewords as columns (default) or as rows (``nn.Linear.weight``).

    Returns
    -------
    float
        The smallest angle between two codewords, in radians (``[0, pi]``).

    Raises
    ------
    ValueError
        If ``W`` is not 2-D, has fewer than 2 codewords, contains NaN or inf,
        has a codeword whose norm differs from 1 by more than the unit-norm
        tolerance (without ``normalize``) or a zero codeword (with it), or
        ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``W`` is complex or not numeric, ``normalize`` is not a bool or
        ``layout`` not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    rho_one_vs_one : the chord length this angle is computed from.
    max_inner_product : its cosine.
    separation : every measure at once.

    References
    ----------
    Generalized Neural Collapse paper, eq. (11) (the Tammes objective as an
    angle).
    """
    return float(2.0 * np.arcsin(min(1.0, rho_one_vs_one(W, normalize=normalize, layout=layout) / 2.0)))


def rho_one_vs_rest(W, *, normalize: bool = False, layout: str = "columns") -> float:
    """Minimum one-vs-rest distance ``min_k dist(w_k, conv{w_j : j != k})`` (eq. 3, GNC2).

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Code with unit vectors (numpy or torch).
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Codewords as columns (default) or as rows (``nn.Linear.weight``).

    Returns
    -------
    float
        The value attained by the returned hull points; see
        :func:`spherecodes.one_vs_rest_distances` for the certificate.

    Raises
    ------
    ValueError
        If ``W`` is not 2-D, has fewer than 2 codewords, contains NaN or inf,
        has a codeword whose norm differs from 1 by more than the unit-norm
        tolerance (without ``normalize``) or a zero codeword (with it), or
        ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``W`` is complex or not numeric, ``normalize`` is not a bool or
        ``layout`` not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    spherecodes.one_vs_rest_distances : every class's distance, with certified bounds.
    rho_one_vs_one : the one-vs-one (Tammes) distance of eq. (11).
    rattlers : classes above this minimum.
    spherecodes.softmax_code : codes that maximize this quantity.

    References
    ----------
    Generalized Neural Collapse paper, Definition 2.1, eq. (3) (the
    objective of a Softmax Code, GNC2).

    Examples
    --------
    >>> from spherecodes import rho_one_vs_rest, simplex_etf
    >>> round(rho_one_vs_rest(simplex_etf(3, 4)), 12)      # K / (K - 1)
    1.333333333333
    """
    return one_vs_rest_distances(W, normalize=normalize, layout=layout).rho


def _check_result_matches(res, W: np.ndarray) -> None:
    """Reject a :class:`OneVsRest` computed for another code than ``W``.

    Its nearest points must sit at its distances from the columns of ``W``
    (to the rounding of ``W - nearest``, relative 1e-6 on top).
    """
    if not isinstance(res, OneVsRest):
        raise ArgumentTypeError(f"one_vs_rest must be a OneVsRest result, got {type(res).__name__}")
    nearest = res.nearest if getattr(res, "layout", "columns") == "columns" else res.nearest.T
    if res.distance.shape != (W.shape[1],) or nearest.shape != W.shape:
        raise ValueError("one_vs_rest does not match W: it is for a code of shape "
                         f"{res.nearest.shape}, W has shape {W.shape} as (d, K)")
    gap = np.linalg.norm(W - nearest, axis=0)
    slack = 1e-6 * res.distance + 64 * np.finfo(float).eps * (1.0 + np.abs(W).max(axis=0)) * np.sqrt(W.shape[0])
    bad = np.abs(gap - res.distance) > slack
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ValueError(f"one_vs_rest does not match W: its nearest point of class {k} is "
                         f"{gap[k]:.6g} from w_{k}, but its distance is {res.distance[k]:.6g} "
                         "(a result for another code?)")


def rattlers_from_distances(distance: np.ndarray, rtol: float, solved=None) -> np.ndarray:
    """Rattlers (Definition 3.4) from the one-vs-rest distances: ``dist_k > rho (1 + rtol)``.

    The one rule behind :func:`rattlers`, :func:`separation` and :meth:`SphereCode.verify`.

    Parameters
    ----------
    distance : array_like, shape (K,)
        One-vs-rest distance of every class (as ``OneVsRest.distance``).
    rtol : float
        Class k is a rattler when ``dist_k > rho + rtol * rho`` with
        ``rho = min(distance)``.  Not validated here (see :func:`rattlers`).
    solved : array_like of bool, shape (K,), optional
        ``OneVsRest.solved``: only these classes can be rattlers (the others'
        distances are upper bounds, from a time-limited certificate).

    Returns
    -------
    ndarray of int
        Sorted indices of the rattlers.

    Raises
    ------
    ValueError
        If ``distance`` is empty (its minimum is undefined).

    See Also
    --------
    rattlers : the same from a code.

    References
    ----------
    Generalized Neural Collapse paper, Definition 3.4, eq. (8).
    """
    distance = np.asarray(distance, dtype=np.float64)
    rho = distance.min()
    above = distance > rho + rtol * max(rho, np.finfo(float).tiny)
    return np.flatnonzero(above if solved is None else above & np.asarray(solved, dtype=bool))


def rattlers(W, *, rtol: float = 1e-6, normalize: bool = False, layout: str = "columns") -> np.ndarray:
    """Classes whose one-vs-rest distance is not at the minimum (Definition 3.4).

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Code with unit vectors (numpy or torch).
    rtol : float, keyword-only
        Class k is a rattler when ``dist_k > rho * (1 + rtol)``.
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Codewords as columns (default) or as rows (``nn.Linear.weight``).

    Returns
    -------
    ndarray of int
        Sorted indices of the rattlers (empty when every class is at the minimum).

    Raises
    ------
    ValueError
        If ``W`` is not 2-D, has fewer than 2 codewords, contains NaN or inf,
        has a codeword whose norm differs from 1 by more than the unit-norm
        tolerance (without ``normalize``) or a zero codeword (with it), or
        ``rtol`` is negative or not finite, or
        ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``W`` is complex or not numeric, ``rtol`` is not a real number, ``normalize`` is not a bool or
        ``layout`` not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    rattlers_from_distances : the rule, from precomputed distances.
    rho_one_vs_rest : the minimum these classes are above.
    separation : every measure at once.

    References
    ----------
    Generalized Neural Collapse paper, Definition 3.4, eq. (8); Theorem 3.6
    (no rattlers when ``d = 2`` or ``K <= d + 1``).

    Examples
    --------
    >>> from spherecodes import rattlers, simplex_etf
    >>> rattlers(simplex_etf(3, 4)).tolist()
    []
    """
    rtol = check_rtol(rtol)
    return rattlers_from_distances(one_vs_rest_distances(W, normalize=normalize, layout=layout).distance, rtol)


@dataclass(frozen=True)
class Separation:
    """All separation measures of one code (see :func:`separation`).

    Attributes
    ----------
    rho_one_vs_rest : float
        Minimum one-vs-rest distance.
    rho_one_vs_rest_lower, rho_one_vs_rest_upper : float
        Its certificate.
    rho_one_vs_one : float
        Minimum pairwise distance.
    max_inner_product : float
        Largest inner product between two codewords.
    min_angle : float
        Smallest angle between two codewords, radians.
    rattlers : ndarray of int
        Classes above the minimum one-vs-rest distance.
    distances : ndarray, shape (K,)
        One-vs-rest distance of every class.
    """

    rho_one_vs_rest: float
    rho_one_vs_rest_lower: float
    rho_one_vs_rest_upper: float
    rho_one_vs_one: float
    max_inner_product: float
    min_angle: float
    rattlers: np.ndarray
    distances: np.ndarray = field(repr=False)

    def __str__(self) -> str:
        from .code import _short_list

        K = len(self.distances)
        return "\n".join([
            f"Separation of K = {K} codewords",
            f"  rho one-vs-rest    {self.rho_one_vs_rest:.12g}  (min over classes of dist(w_k, conv of the others); "
            f"certified in {bracket(self.rho_one_vs_rest_lower, self.rho_one_vs_rest_upper, '.12g')} = [lower, upper])",
            f"  rho one-vs-one     {self.rho_one_vs_one:.12g}  (min pairwise distance)",
            f"  max inner product  {self.max_inner_product:.12g}",
            f"  min angle          {self.min_angle:.12g} rad ({math.degrees(self.min_angle):.8g} deg)",
            f"  rattlers           {_short_list(self.rattlers) if len(self.rattlers) else 'none'}",
        ])

    @property
    def hyperplane_bound(self) -> float:
        """``1 - max_inner_product``: a lower bound on ``rho_one_vs_rest`` for any code."""
        return 1.0 - self.max_inner_product


def separation(W, *, rtol: float = 1e-6, normalize: bool = False,
               one_vs_rest: OneVsRest | None = None, layout: str = "columns") -> Separation:
    """Summary of every separation measure of a code.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Code with unit vectors (numpy or torch).
    rtol : float, keyword-only
        Relative tolerance for :func:`rattlers`.
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Codewords as columns (default) or as rows (``nn.Linear.weight``).
    one_vs_rest : OneVsRest, optional, keyword-only
        A result of :func:`one_vs_rest_distances` for this ``W``, to avoid
        recomputing it.

    Returns
    -------
    Separation
        One-vs-rest distance with its certificate, one-vs-one distance,
        largest inner product, smallest angle (radians), rattlers and the
        per-class distances (shape ``(K,)``).

    Raises
    ------
    ValueError
        If ``W`` is not 2-D, has fewer than 2 codewords, contains NaN or inf,
        has a codeword whose norm differs from 1 by more than the unit-norm
        tolerance (without ``normalize``) or a zero codeword (with it), or
        ``rtol`` is negative or not finite,
        ``one_vs_rest`` does not match ``W`` (other shape, or its nearest
        points are not at its distances from ``W``), or ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``W`` is complex or not numeric, ``rtol`` is not a real number,
        ``one_vs_rest`` is not a :class:`OneVsRest`, ``normalize`` is not a bool or
        ``layout`` not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    rho_one_vs_rest, rho_one_vs_one, max_inner_product, min_angle, rattlers :
        each measure alone.
    spherecodes.one_vs_rest_distances : the one-vs-rest computation.

    References
    ----------
    Generalized Neural Collapse paper, eq. (3) (Definition 2.1), eq. (11)
    and Definition 3.4.
    """
    rtol = check_rtol(rtol)
    Wu = as_code(W, normalize=normalize, layout=layout)
    if one_vs_rest is not None:
        _check_result_matches(one_vs_rest, Wu)
        res = one_vs_rest
    else:   # from W as given: the certificate of a rescaled code covers the rescaling
        res = one_vs_rest_distances(W, normalize=normalize, layout=layout)
    _, _, dist, maxip = _nearest_pair(Wu, res)
    return Separation(
        rho_one_vs_rest=res.rho,
        rho_one_vs_rest_lower=res.rho_lower,
        rho_one_vs_rest_upper=res.rho_upper,
        rho_one_vs_one=dist,
        max_inner_product=maxip,
        min_angle=float(2.0 * np.arcsin(min(1.0, dist / 2.0))),
        rattlers=rattlers_from_distances(res.distance, rtol, res.solved),
        distances=res.distance,
    )
