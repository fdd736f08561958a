"""Distances between convex hulls, and the one-vs-rest margins of features (paper, eq. 4).

``dist(conv A, conv B) = min ||A lam - B mu||`` over two simplices is the
norm of the minimum-norm point of the Minkowski difference
``conv A - conv B = conv{a_i - b_j}``.  It is solved by column generation on
the pairs ``(i, j)``: Wolfe's method (:func:`spherecodes.distance_to_hull`,
the same kernel as the one-vs-rest distances) runs on a small set of
differences ``a_i - b_j``, and all ``m n`` pairs are checked at once through
``min_{i,j} <x, a_i - b_j> = min_i <x, a_i> - max_j <x, b_j>`` (two
matrix-vector products, never the ``m n`` differences); the most violated
pairs join the set and it is solved again.  Each round costs
``O((m + n) d)`` plus one small hull solve, so point sets of 10^5 and more
are fine; the number of rounds grows with the support of the answer (at most
``d + 1`` pairs).

Every result carries a certificate.  For the returned points ``p = A lam``,
``q = B mu`` and ``x = p - q``::

    max(0, (min_i <x, a_i> - max_j <x, b_j>) / ||x||)  <=  dist(conv A, conv B)  <=  ||p - q||

(the hyperplanes orthogonal to x through the extreme points separate the
sets).  Both ends are evaluated with rigorous bounds on the rounding of every
operation (dot products, sums, the weights' normalization, the common
translation applied first) and rounded outward.  Sets that touch or overlap
get ``lower = 0`` and ``upper`` at rounding level; ``converged`` is then
False unless the points found coincide exactly.

References
----------
Jiang et al., "Generalized neural collapse for a large number of classes",
eq. (4): the one-vs-rest distance of class k is the distance between the
convex hull of its features and that of all the other features.
P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11 (1976).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_features, as_matrix, check_indices, check_int, check_tol
from .formatting import bracket

__all__ = ["distance_between_hulls", "HullDistance", "feature_margins", "FeatureMargins"]

_U = 2.0 ** -53
_TINY = np.finfo(float).tiny


def _gamma(n: int) -> float:
    """Higham's ``gamma_n = n u / (1 - n u)``: relative error of an n-term dot product or sum."""
    return n * _U / (1.0 - n * _U)


def _up(x: float) -> float:
    return float(np.nextafter(x, np.inf))


def _down(x: float) -> float:
    return float(np.nextafter(x, -np.inf))


@dataclass(frozen=True, repr=False)
class HullDistance:
    """Distance between the convex hulls of two point sets, with its certificate.

    Attributes
    ----------
    distance : float
        ``||point_a - point_b||``, the distance attained by the returned points.
    lower, upper : float
        Certificate ``lower <= dist(conv A, conv B) <= upper``, rounded outward.
    point_a, point_b : ndarray, shape (d,)
        Points of ``conv A`` and ``conv B`` at that distance.
    weights_a : ndarray, shape (m,)
        Barycentric weights of ``point_a`` over the points of ``A``.
    weights_b : ndarray, shape (n,)
        Barycentric weights of ``point_b`` over the points of ``B``.
    converged : bool
        Whether ``upper - lower <= tol * upper``.
    rounds : int
        Column-generation rounds used (hull solves).

    See Also
    --------
    distance_between_hulls : the function that returns it.
    spherecodes.HullProjection : one point against one hull.

    References
    ----------
    P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11
    (1976) 128-149 (each hull solve).
    """

    distance: float
    lower: float
    upper: float
    point_a: np.ndarray
    point_b: np.ndarray
    weights_a: np.ndarray
    weights_b: np.ndarray
    converged: bool
    rounds: int = field(default=0)

    def __repr__(self) -> str:
        return (f"HullDistance(distance={self.distance:.12g}, certificate={bracket(self.lower, self.upper, '.12g')}, "
                f"support={int(np.count_nonzero(self.weights_a))}+{int(np.count_nonzero(self.weights_b))}, "
                f"converged={self.converged})")


def _bracket(AT, BT, rA, rB, wA, wB):
    """Point, certificate and inner products for the weights ``wA``, ``wB`` (rows ``AT``, ``BT``).

    Returns ``(x, norm_x, upper, lower, gA, gB)`` with ``x = AT^T wA / sum wA -
    BT^T wB / sum wB`` as computed; ``upper``/``lower`` bound the exact hull
    distance of the (exact) sets ``AT``, ``BT`` (see the module docstring).
    ``rA``, ``rB`` are upper bounds on the row norms.
    """
    d = AT.shape[1]
    sA, sB = np.flatnonzero(wA), np.flatnonzero(wB)   # the sums run over the supports only
    m, n = sA.size, sB.size
    AS, BS, wa, wb = AT[sA], BT[sB], wA[sA], wB[sB]
    sa, sb = math.fsum(wa), math.fsum(wb)      # correctly rounded: |sa - exact| <= u sa
    yA = AS.T @ wa                             # |yA - A wA| <= gamma_m |A| wA
    yB = BS.T @ wb
    x = yA / sa - yB / sb
    # Exact points p = A wA / SA (SA the exact sum); |p - yA / sa| <= e_A componentwise.
    absA = (np.abs(AS).T @ wa) * (1.0 + _gamma(m + 1))
    absB = (np.abs(BS).T @ wb) * (1.0 + _gamma(n + 1))
    eA = absA * (_gamma(m) + 4 * _U) / sa * (1.0 + 4 * _U)
    eB = absB * (_gamma(n) + 4 * _U) / sb * (1.0 + 4 * _U)
    e = (eA + eB + 2 * _U * np.abs(x)) * (1.0 + 4 * _U) + 4 * _TINY
    norm_x = float(np.linalg.norm(x))
    upper = _up((norm_x + float(np.linalg.norm(e))) * (1.0 + _gamma(d + 4)))
    gA = AT @ x
    gB = BT @ x
    if norm_x == 0.0:
        return x, norm_x, upper, 0.0, gA, gB
    # |gA_i - <a_i, x>| <= gamma_d ||a_i|| ||x|| (Cauchy-Schwarz on |a_i|.|x|)
    nxu = norm_x * (1.0 + _gamma(d + 2))
    errA = _gamma(d + 2) * rA * nxu + d * _TINY
    errB = _gamma(d + 2) * rB * nxu + d * _TINY
    lo_a = float(np.min(gA - errA))
    hi_b = float(np.max(gB + errB))
    num = lo_a - hi_b
    num -= 4 * _U * (abs(lo_a) + abs(hi_b) + float(np.max(errA)) + float(np.max(errB)))
    lower = _down(num / nxu * (1.0 - 4 * _U)) if num > 0 else 0.0
    return x, norm_x, upper, max(0.0, min(lower, upper)), gA, gB


def _as_points(A, name: str, layout: str) -> np.ndarray:
    return as_matrix(A, name, layout=layout)


def distance_between_hulls(A, B, *, tol: float = 1e-12, layout: str = "columns",
                           max_rounds: int = 1000) -> HullDistance:
    """Exact distance between the convex hulls of two finite point sets, with a certificate.

    Parameters
    ----------
    A : array_like or torch.Tensor, shape (d, m)
        The first set, points as columns (``layout="rows"``: shape ``(m, d)``).
    B : array_like or torch.Tensor, shape (d, n)
        The second set, same dimension ``d``.
    tol : float, keyword-only
        Target relative width of the certificate, ``upper - lower <= tol *
        upper``.  Finite and positive.
    layout : {"columns", "rows"}, keyword-only
        Whether points are the columns (default, the package's convention)
        or the rows (PyTorch's ``(N, D)`` features).
    max_rounds : int, keyword-only
        Cap on column-generation rounds (each one hull solve); the result
        says ``converged=False`` if it is reached before the bracket closes.

    Returns
    -------
    HullDistance
        ``distance``, the certificate ``lower``/``upper``, the two nearest
        points and their barycentric weights.

    Raises
    ------
    ValueError
        ``A`` or ``B`` not 2-D, without points, or with NaN or inf;
        dimensions ``d`` that disagree; ``tol`` not finite and positive;
        ``max_rounds < 1``; ``layout`` not ``"columns"``/``"rows"``.
    TypeError
        Complex or non-numeric ``A`` or ``B``, ``tol`` not a real number or
        ``max_rounds`` not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.distance_to_hull : one point to a hull (``B`` a single point).
    feature_margins : the one-vs-rest distance of every class of features.

    References
    ----------
    P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11
    (1976) 128-149 (the hull solves); Generalized Neural Collapse paper,
    eq. (4) (the distance between the convex hulls of two classes).

    Notes
    -----
    The sets are first translated by a common point and scaled by a power of
    two; the rounding of the translation (at most ``u`` per coordinate of the
    translated points) is added to the bracket, so it holds for the sets as
    given.  Accuracy is relative to the spread of the translated points: the
    bracket is tight when the distance is well above ``d eps`` times their
    size, otherwise it stays valid and wide (``converged=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import distance_between_hulls
    >>> A = np.array([[0.0, 0.0], [0.0, 1.0]])     # segment from (0, 0) to (0, 1)
    >>> B = np.array([[2.0, 3.0], [0.5, 0.5]])     # segment from (2, .5) to (3, .5)
    >>> round(distance_between_hulls(A, B).distance, 12)
    2.0
    """
    A = _as_points(A, "A", layout)
    B = _as_points(B, "B", layout)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must have the same dimension d: A has shape {A.shape}, B has shape {B.shape} "
                         f"(layout={layout!r})")
    tol = check_tol(tol)
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    return _hull_distance(A, B, tol, max_rounds)


def _hull_distance(A: np.ndarray, B: np.ndarray, tol: float, max_rounds: int) -> HullDistance:
    from .hull import _pow2_scale, distance_to_hull, scaled_bracket

    d, m = A.shape
    n = B.shape[1]
    # Entries past 2^1000 first come down by a power of two, so that neither the centroid
    # nor the translation overflows (exact, except entries that fall below the subnormals'
    # spacing: each moves by at most 2^-1075, added to the shift below).
    e0 = max(0, int(np.frexp(max(float(np.abs(A).max()), float(np.abs(B).max())))[1]) - 1000)
    A0, B0 = (np.ldexp(A, -e0), np.ldexp(B, -e0)) if e0 else (A, B)
    # Common translation (rounded: each translated point is within u |.| of the exact one)
    # and power-of-two scaling (exact).
    c = 0.5 * (A0.mean(axis=1) + B0.mean(axis=1))
    At, Bt = A0 - c[:, None], B0 - c[:, None]
    scale = _pow2_scale(max(float(np.abs(At).max()), float(np.abs(Bt).max())))
    AT = np.ascontiguousarray((At / scale).T)
    BT = np.ascontiguousarray((Bt / scale).T)
    rA = np.linalg.norm(AT, axis=1) * (1.0 + _gamma(d + 2))
    rB = np.linalg.norm(BT, axis=1) * (1.0 + _gamma(d + 2))
    # translation error of the points (scaled): ||fl(a - c) - (a - c)|| <= u ||fl(a - c)|| / (1 - u)
    shift = _up((float(rA.max()) + float(rB.max())) * _U * (1.0 + 4 * _U) + 2 * d * _TINY)
    if not np.any(c) and not e0:
        shift = 0.0                                   # no translation, nothing rounded
    if e0:     # each point of each set moved by at most sqrt(d) 2^-1075 before the scaling
        shift = _up(shift + float(np.ldexp(math.sqrt(d), -1074 - int(np.frexp(scale)[1]) + 1)))

    floor = 64.0 * (d + 8) * _U * max(float(rA.max()), float(rB.max()))
    # initial pairs: the extreme points of each set along the centroid direction
    x0 = BT.mean(axis=0) - AT.mean(axis=0)
    if not np.any(x0):
        x0 = BT[0] - AT[0]
    p0 = min(m, 8)
    q0 = min(n, 8)
    ia = np.argsort(-(AT @ x0), kind="stable")[:p0]
    jb = np.argsort(BT @ x0, kind="stable")[:q0]
    pairs = {(int(i), int(j)) for i in ia for j in jb}
    grow = max(8, min(64, d + 1))
    rounds = 0
    while True:
        rounds += 1
        P = np.array(sorted(pairs), dtype=np.int64)
        D = AT[P[:, 0]] - BT[P[:, 1]]                   # the candidate differences, rows
        hp = distance_to_hull(np.zeros(d), np.ascontiguousarray(D.T), tol=tol)
        wA = np.bincount(P[:, 0], weights=hp.weights, minlength=m)
        wB = np.bincount(P[:, 1], weights=hp.weights, minlength=n)
        x, nx, upper, lower, gA, gB = _bracket(AT, BT, rA, rB, wA, wB)
        upper = _up(upper + shift)
        lower = max(0.0, _down(lower - shift))
        if upper - lower <= tol * upper or rounds >= max_rounds:
            break
        if nx <= floor:
            break            # x at rounding level of the points: the hulls touch or overlap
        # most violated pairs: <x, a_i - b_j> < ||x||^2 (1 - tol), from the extremes of each side
        bar = nx * nx * (1.0 - tol)
        kA = min(m, grow)
        kB = min(n, grow)
        ia = np.argpartition(gA, kA - 1)[:kA] if kA < m else np.arange(m)
        jb = np.argpartition(-gB, kB - 1)[:kB] if kB < n else np.arange(n)
        viol = gA[ia][:, None] - gB[jb][None, :]
        order = np.argsort(viol, axis=None, kind="stable")
        new = []
        for flat in order:
            a, b = divmod(int(flat), jb.size)
            if viol[a, b] >= bar:
                break
            pair = (int(ia[a]), int(jb[b]))
            if pair not in pairs:
                new.append(pair)
                if len(new) >= grow:
                    break
        if not new:
            break                                      # the certificate says how close
        pairs.update(new)
        # keep the set small: drop pairs outside the current support once it is large
        if len(pairs) > 4 * (d + 1) + grow:
            support = {tuple(p) for p, w in zip(P.tolist(), hp.weights) if w > 0}
            pairs = support | set(new)
    sa, sb = math.fsum(wA), math.fsum(wB)
    wA, wB = wA / sa, wB / sb
    point_a = A @ wA
    point_b = B @ wB
    lower, upper = scaled_bracket(lower, upper, scale, e0)
    with np.errstate(over="ignore"):
        distance = float(np.ldexp(nx, int(np.frexp(scale)[1]) - 1 + e0))
    return HullDistance(distance=distance, lower=lower, upper=upper,
                        point_a=point_a, point_b=point_b, weights_a=wA, weights_b=wB,
                        converged=bool(np.isfinite(upper) and upper - lower <= tol * upper), rounds=rounds)


@dataclass(frozen=True, repr=False)
class FeatureMargins:
    """One-vs-rest margins of features: ``dist(conv H_k, conv H_rest)`` for every class (eq. 4).

    Attributes
    ----------
    distance : ndarray, shape (K,)
        Distance attained by the returned points, per class.
    lower, upper : ndarray, shape (K,)
        Certificate per class, rounded outward.
    converged : ndarray of bool, shape (K,)
        Whether each class's certificate is tight, ``upper - lower <= tol * upper``.

    Classes left out through ``classes`` hold NaN (``converged`` False).

    See Also
    --------
    feature_margins : the function that returns it.
    spherecodes.OneVsRest : the classifier's one-vs-rest distances, to compare with.

    References
    ----------
    Generalized Neural Collapse paper, eq. (4).
    """

    distance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    converged: np.ndarray

    @property
    def min(self) -> float:
        """Smallest margin over the classes (the features' own ``rho``)."""
        return float(self.distance.min())

    @property
    def min_lower(self) -> float:
        """Certified lower bound on the smallest margin."""
        return float(self.lower.min())

    @property
    def min_upper(self) -> float:
        """Certified upper bound on the smallest margin."""
        return float(self.upper.min())

    def __repr__(self) -> str:
        return (f"FeatureMargins(K={self.distance.shape[0]}, min={self.min:.12g}, "
                f"certificate={bracket(self.min_lower, self.min_upper, '.12g')}, "
                f"converged={int(self.converged.sum())}/{self.converged.size})")


def feature_margins(H, y, *, K: int | None = None, layout: str = "columns", tol: float = 1e-12,
                    classes=None) -> FeatureMargins:
    """One-vs-rest margin of each class of features: ``dist(conv{h_i : y_i = k}, conv{h_i : y_i != k})``.

    Eq. (4) of the paper: under collapse (GNC1, GNC3) it equals the
    one-vs-rest distance of the classifier, ``dist(w_k, conv{w_j : j != k})``,
    so comparing it with GNC2 shows how much of the classifier's separation
    the features really have.  Without collapse the hulls of the features
    usually overlap and the margin is 0.

    Parameters
    ----------
    H : array_like or torch.Tensor, shape (d, N)
        Features as columns (``layout="rows"``: ``(N, d)``, PyTorch's layout).
    y : array_like of int, shape (N,)
        Labels in ``range(K)``; every class needs at least one sample.
    K : int, optional, keyword-only
        Number of classes (default ``max(y) + 1``).
    layout : {"columns", "rows"}, keyword-only
        Samples as columns (default) or rows.
    tol : float, keyword-only
        Target relative width of each certificate, finite and positive.
    classes : array_like of int, optional, keyword-only
        Only these classes (the others get NaN); default all.

    Returns
    -------
    FeatureMargins
        ``distance``, ``lower``, ``upper`` and ``converged``, each ``(K,)``;
        distances in the units of ``H``.

    Raises
    ------
    ValueError
        As :func:`spherecodes.class_means` for ``H``, ``y`` and ``K``; ``tol``
        not finite and positive; a class index out of range.
    TypeError
        As :func:`spherecodes.class_means`; ``tol`` not a real number; a
        class index in ``classes`` that is not an integer (``1.5``, a string,
        a bool) (:class:`spherecodes._validation.ArgumentTypeError`, also a
        ``ValueError``).

    See Also
    --------
    distance_between_hulls : the distance between two hulls.
    spherecodes.one_vs_rest_distances : the classifier's side of eq. (4).

    References
    ----------
    Generalized Neural Collapse paper, eq. (4); P. Wolfe, "Finding the nearest
    point in a polytope", Math. Programming 11 (1976) 128-149.

    Notes
    -----
    Cost per class: a few rounds of two matrix-vector products over all
    ``N`` features plus one hull solve of at most a few hundred points, so
    ``O(K N d)`` per round in all; fine for ``N`` up to about 10^5, slow for
    a full ImageNet feature set (pass ``classes`` to sample).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import feature_margins
    >>> H = np.array([[0.0, 0.0, 3.0, 3.0], [0.0, 1.0, 0.0, 1.0]])   # two vertical segments
    >>> feature_margins(H, [0, 0, 1, 1]).distance.round(12).tolist()
    [3.0, 3.0]
    """
    H, y, K = as_features(H, y, K=K, layout=layout)
    tol = check_tol(tol)
    todo = np.arange(K) if classes is None else np.unique(check_indices(classes, "classes", stop=K))
    out = np.full((3, K), np.nan)
    conv = np.zeros(K, dtype=bool)
    for k in todo:
        mask = y == k
        r = _hull_distance(H[:, mask], H[:, ~mask], tol, 1000)
        out[:, k] = (r.distance, r.lower, r.upper)
        conv[k] = r.converged
    return FeatureMargins(distance=out[0], lower=out[1], upper=out[2], converged=conv)
