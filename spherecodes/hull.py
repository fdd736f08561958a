"""Exact, certified distances from points to convex hulls.

The one-vs-rest distance of class k in a code ``W`` (shape ``(d, K)``, unit
columns) is ``dist(w_k, conv{w_j : j != k})`` (Definition 2.1 of the paper).
It is the quadratic program ``min ||v - A lam||`` over the simplex, solved here
exactly by Wolfe's minimum-norm-point algorithm (:mod:`spherecodes._wolfe`).

Every returned value carries a certificate.  For the returned hull point p
with ``r = p - v``::

    lower = max(0, min_j <r, a_j - v> / ||r||)  <=  dist(v, conv A)  <=  ||r|| <= upper

(the hyperplane orthogonal to r through ``v + lower r/||r||`` separates v
from every a_j).  Both ends are evaluated with rigorous rounding-error
bounds -- in plain double precision when that already makes the bracket
tight, otherwise in double-double arithmetic after iterative refinement of
the support's weights -- and rounded outward, so the bracket holds at every
scale, including distances far below the rounding level of the coordinates
(near-duplicate classes).
``distance`` is ``||r||``, the distance attained by the returned point;
``converged`` means the bracket is tight *relative to it*:
``upper - lower <= tol * upper``.  Where double precision cannot reach that
(a point inside the hull, or a face ill-conditioned at rounding level) the
bracket stays valid and ``converged`` is False.  So too for codewords less
than ~1e-150 apart, whose squared gaps leave the normal range of doubles: the
norm of the hull point is taken after a power-of-two rescaling, products that
underflow widen the error bounds by the smallest subnormal each, and such a
class gets a valid but usually loose bracket (not converged), never a
"certified" 0.

For all K classes at once, each class is first solved on its nearest
neighbours (largest inner products), then checked against all K codewords in
one matrix product per block of classes; codewords that violate optimality
join the candidate set and the class is re-solved, warm-started.  Blocks keep
memory to two ``block_size x K`` matrices.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import cache, cached_property

import numpy as np
import scipy.sparse as sp

from ._validation import (UNIT_NORM_ATOL, ArgumentTypeError, as_code, as_matrix, as_vector, check_bool, check_int,
                          check_seconds, check_tol, rescales, unit_columns_error)
from .executor import available_cpus
from .formatting import bracket

_EPS = 2.0 ** -53
# Above this the K x K Gram matrix is not kept whole (23170 classes at most).
_FULL_GRAM_BYTES = 4 * 2**30


@dataclass(frozen=True, repr=False)
class HullProjection:
    """Nearest point of a convex hull to a point ``v``.

    Attributes
    ----------
    distance : float
        ``||v - point||``, the distance attained by ``point``.
    lower, upper : float
        Certificate: ``lower <= dist(v, conv A) <= upper``, rounded outward
        (``lower <= distance <= upper``).
    point : ndarray, shape (d,)
        The nearest hull point found.
    weights : ndarray, shape (m,)
        Barycentric weights of ``point`` over the columns of ``A``.
    converged : bool
        Whether the certificate is tight relative to the distance,
        ``upper - lower <= tol * upper``.

    See Also
    --------
    distance_to_hull : the function that returns it.
    spherecodes.HullDistance : the same for two hulls.

    References
    ----------
    P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11
    (1976) 128-149 (the minimum-norm-point algorithm behind ``point``).
    """

    distance: float
    lower: float
    upper: float
    point: np.ndarray
    weights: np.ndarray
    converged: bool

    def __repr__(self) -> str:
        return (f"HullProjection(distance={self.distance:.12g}, certificate={bracket(self.lower, self.upper, '.12g')}, "
                f"support={int(np.count_nonzero(self.weights))})")


@dataclass(frozen=True, repr=False)
class OneVsRest:
    """One-vs-rest distances of all classes of a code ``W`` (shape ``(d, K)``).

    Attributes
    ----------
    distance : ndarray, shape (K,)
        ``dist(w_k, conv{w_j : j != k})`` attained by ``nearest[:, k]`` (for a
        class not ``solved``: the distance to its nearest codeword, an upper bound).
    lower, upper : ndarray, shape (K,)
        Certificate: ``lower <= exact distance <= upper``, rounded outward
        (``lower <= distance <= upper``; ``upper`` exceeds ``distance`` by a
        few units in the last place).
    nearest : ndarray, shape (d, K), or (K, d) for ``layout="rows"``
        Nearest point of the hull of the other codewords, for each class,
        in the layout of the input code.
    weights : scipy.sparse.csr_matrix, shape (K, K)
        Row k holds the barycentric weights of ``nearest[:, k]`` over the
        columns ``j != k`` (zero diagonal; each row sums to 1).
    converged : ndarray of bool, shape (K,)
        Whether each class's certificate is tight relative to its distance,
        ``upper - lower <= tol * upper``.
    layout : {"columns", "rows"}
        The layout of the code it was computed for (and of ``nearest``).
    solved : ndarray of bool, shape (K,)
        Whether the exact solver ran on each class.  All True unless a
        ``time_limit`` stopped it; the others are bounded by their nearest
        codeword only (``1 - max_j <w_k, w_j> <= distance <= ||w_k - w_j||``
        for unit codewords; ``converged`` only where those meet, as for an
        antipodal pair).
    complete : bool
        Whether every class was solved.

    See Also
    --------
    one_vs_rest_distances : the function that returns it.
    spherecodes.rattlers : the classes whose distance exceeds ``rho`` (Definition 3.4).

    References
    ----------
    Generalized Neural Collapse paper, Definition 2.1, eq. (3): ``rho`` is
    ``rho_one_vs_rest(W)``; ``W - nearest`` gives the optimal features of
    Theorem 3.5, eq. (9).
    """

    distance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    nearest: np.ndarray
    converged: np.ndarray
    # ``weights`` as (rows, cols, values), or as (indices, values) of shape (K, smax)
    # with index -1 past each class's support
    _support: tuple = field(repr=False, compare=False)
    layout: str = "columns"
    solved: np.ndarray | None = None
    # (max_j <w_k, w_j>, argmax) of every class, where the time-limited path computed them
    _nearest_codewords: tuple | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.solved is None:
            object.__setattr__(self, "solved", np.ones(self.distance.shape[0], dtype=bool))

    @property
    def complete(self) -> bool:
        """Whether the exact solver ran on every class (no ``time_limit`` cut it short)."""
        return bool(self.solved.all())

    @cached_property
    def weights(self) -> sp.csr_matrix:
        """Barycentric weights, ``(K, K)`` sparse; built on first access."""
        if len(self._support) == 2:
            idx, w = self._support
            nz = idx >= 0
            rows, cols, vals = np.nonzero(nz)[0], idx[nz], w[nz]
        else:
            rows, cols, vals = self._support
        K = self.distance.shape[0]
        return sp.csr_matrix((vals, (rows, cols)), shape=(K, K))

    @property
    def rho(self) -> float:
        """The minimum one-vs-rest distance, ``rho_one_vs_rest(W)``."""
        return float(self.distance.min())

    @property
    def rho_lower(self) -> float:
        """Certified lower bound on ``rho_one_vs_rest(W)``."""
        return float(self.lower.min())

    @property
    def rho_upper(self) -> float:
        """Certified upper bound on ``rho_one_vs_rest(W)``."""
        return float(self.upper.min())

    def __repr__(self) -> str:
        K = self.distance.shape[0]
        cut = "" if self.complete else f", solved {int(self.solved.sum())} of {K} classes"
        return (f"OneVsRest(K={K}, rho={self.rho:.12g}, certificate={bracket(self.rho_lower, self.rho_upper, '.12g')}, "
                f"max gap={float(np.max(self.upper - self.lower)):.2g}{cut})")


@cache
def _kernel():
    # Imported lazily: numba compiles (or loads its cache) on first use only; cached, since
    # the import statement costs about a microsecond per call even once the module is loaded.
    from . import _wolfe
    return _wolfe


def _as_unit_code(W, normalize: bool, layout: str = "columns") -> np.ndarray:
    """``as_code(W, normalize=normalize, layout=layout)``, with a fast path for the common case.

    A C-contiguous float64 ``(d, K)`` array whose column norms are within half
    the tolerance of 1 (one compiled pass) is returned as it is, as
    ``as_code`` would; everything else, the borderline included, goes through
    ``as_code``, which decides and words any error.
    """
    if (not normalize and layout == "columns" and type(W) is np.ndarray and W.dtype == np.float64 and W.ndim == 2
            and W.shape[0] >= 1 and W.shape[1] >= 2 and W.flags.c_contiguous
            and _kernel().unit_norm_defect(W) <= 0.5 * UNIT_NORM_ATOL):
        return W
    return as_code(W, normalize=normalize, layout=layout)


def _max_iter(m: int, d: int) -> int:
    return 50 * (min(m, d + 1) + 10)


def _pow2_scale(x: float) -> float:
    """The power of two ``s`` with ``x / s`` in [1, 2) (1 for 0); finite for every finite ``x``."""
    return float(np.ldexp(1.0, int(np.frexp(x)[1]) - 1)) if x > 0 else 1.0


def scaled_bracket(lo: float, up: float, scale: float, exponent: int = 0) -> tuple[float, float]:
    """``(lo, up) * scale * 2^exponent`` rounded outward (``scale`` a power of two, ``lo >= 0``).

    One multiplication by the whole power of two (two could round twice):
    exact unless the result is subnormal (rounded: one step outward) or
    overflows (upper ``inf``, lower the largest double).
    """
    e = int(np.frexp(scale)[1]) - 1 + exponent
    with np.errstate(over="ignore"):
        lower = float(np.ldexp(lo, e))
        upper = float(np.ldexp(up, e))
    if lower < np.finfo(float).tiny:
        lower = float(np.nextafter(lower, 0.0))
    if upper < np.finfo(float).tiny:
        upper = float(np.nextafter(upper, np.inf)) if upper > 0 or up > 0 else 0.0
    return min(lower, float(np.finfo(float).max)), upper


def _column_norms(D: np.ndarray) -> np.ndarray:
    """Euclidean norms of the columns of ``D`` ``(d, n)``, accurate at every scale.

    A column whose plain norm leaves [2^-450, 2^450] (squares near underflow or
    overflow) is divided by the power of two of its largest entry first (exact
    but for entries below 2^-1022 of it, negligible in the norm) and the norm
    multiplied back.
    """
    with np.errstate(over="ignore", under="ignore"):   # those columns are redone below
        r = np.linalg.norm(D, axis=0)
    for t in np.flatnonzero(~((r >= 2.0 ** -450) & (r <= 2.0 ** 450))):
        big = np.abs(D[:, t]).max()
        if big > 0:
            scale = _pow2_scale(big)
            r[t] = scale * np.linalg.norm(D[:, t] / scale)
    return r


def _norm_upper(r: np.ndarray, d: int) -> np.ndarray:
    """Upper bounds on exact norms of d-vectors whose entries (differences) and :func:`_column_norms`
    ``r`` were rounded: the differences and squares within 1 ulp each, the sum within d + 2, the root 1."""
    return np.nextafter(r * (1.0 + 2.0 * (d + 4) * _EPS), np.inf)


def _nearest_point_projection(v: np.ndarray, A: np.ndarray) -> "HullProjection":
    """The nearest of the points ``A`` (d, m) to ``v``: a point of the hull, so its distance bounds
    ``dist(v, conv A)`` from above; the bracket ``[0, that bound]``."""
    r = _column_norms(A - v[:, None])
    j = int(np.argmin(r))
    upper = 0.0 if r[j] == 0 else float(_norm_upper(r[j:j + 1], A.shape[0])[0])
    weights = np.zeros(A.shape[1])
    weights[j] = 1.0
    return HullProjection(distance=float(r[j]), lower=0.0, upper=upper, point=A[:, j].copy(),
                          weights=weights, converged=upper == 0.0)


def distance_to_hull(v, A, *, tol: float = 1e-12, layout: str = "columns") -> HullProjection:
    """Exact distance from a point to the convex hull of a finite point set.

    Parameters
    ----------
    v : array_like, shape (d,)
        The point (any vector, not necessarily of unit norm).
    A : array_like, shape (d, m), or (m, d) for ``layout="rows"``
        The points spanning the hull (numpy or torch, any real dtype).
    tol : float, keyword-only
        Target relative width of the certificate, ``upper - lower <= tol *
        upper``.  Finite and positive.
    layout : {"columns", "rows"}, keyword-only
        Whether the points are the columns or the rows of ``A``.

    Returns
    -------
    HullProjection
        ``distance``, its certificate ``lower``/``upper``, the nearest
        ``point`` and its barycentric ``weights`` (shape ``(m,)``).

    Raises
    ------
    ValueError
        If ``A`` is not 2-D or has no point, ``v`` is not 1-D, either
        contains NaN or inf, their dimensions disagree, ``tol`` is not finite
        and positive, or ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``A`` or ``v`` is complex or not numeric, or ``tol`` is not a real
        number (:class:`spherecodes._validation.ArgumentTypeError`, also a
        ``ValueError``).

    See Also
    --------
    one_vs_rest_distances : every codeword against the hull of the others.
    spherecodes.distance_between_hulls : the distance between two hulls.

    References
    ----------
    P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11
    (1976) 128-149 (the algorithm); Generalized Neural Collapse paper,
    Definition 2.1 (``dist(v, W)``, the distance to a convex hull).

    Notes
    -----
    The problem is scaled by a power of two (exact) to unit size, so the
    result is scale-equivariant from the smallest to the largest doubles
    (a subnormal result is rounded outward; a distance beyond the largest
    double has ``upper = inf``).  Entries spanning more than the doubles'
    range (1e300 beside 1e-100) cannot all be scaled exactly: the result is
    then the nearest of the points, bracketed by ``[0, its distance]`` and not
    converged.  A point inside the hull gets ``lower = 0`` and an ``upper`` at
    rounding level; ``converged`` is then False unless the hull point found
    is ``v`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import distance_to_hull
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0]])     # e1 and e2 as columns
    >>> round(distance_to_hull(np.zeros(2), A).distance ** 2, 12)
    0.5
    """
    A = as_matrix(A, "A", layout=layout)
    v = as_vector(v, "v")
    if v.shape[0] != A.shape[0]:
        shown = A.shape if layout == "columns" else A.T.shape
        raise ValueError(f"v must have shape ({A.shape[0]},) to match A of shape {shown}, got {v.shape}")
    tol = check_tol(tol)
    kern = _kernel()
    d, m = A.shape
    scale = _pow2_scale(max(float(np.abs(A).max()), float(np.abs(v).max())))
    As = np.ascontiguousarray((A / scale).T)          # (m, d), exact ...
    vs = v / scale
    if not (np.array_equal(As.T * scale, A) and np.array_equal(vs * scale, v)):
        # ... unless entries span more than the doubles' range (1e300 beside 1e-100): the
        # scaled problem is not this one, so only the nearest point's bracket is certain
        return _nearest_point_projection(v, A)
    Q = np.ascontiguousarray(As - vs)
    lam, status = kern.min_norm_point(Q, np.empty((0, 0)), np.arange(m), 0, np.zeros(m),
                                      tol, _max_iter(m, d))
    sidx = np.flatnonzero(lam > 0)
    xh, xl = np.empty(d), np.empty(d)
    for iters in (0, kern.REFINE_ITERS):
        sw = lam[sidx].copy()
        nx, up, nup = kern.refine_support(As, vs, sidx, sw, sidx.size, iters, tol, xh, xl)
        # every point recomputed in double-double (g = 0, e = inf marks them all)
        lo = kern.lower_bound(As, vs, -1, xh, xl, nup, np.zeros(m), np.full(m, np.inf), up, tol)
        lo = min(lo, nx)
        if up - lo <= tol * up:
            break
    weights = np.zeros(m)
    weights[sidx] = sw
    lower, upper = scaled_bracket(lo, up, scale)
    return HullProjection(distance=nx * scale, lower=lower, upper=upper,
                          point=(vs + xh) * scale, weights=weights,
                          converged=bool(np.isfinite(upper) and upper - lower <= tol * upper))


def _default_block(K: int) -> int:
    # two (block x K) float64 matrices of at most ~64 MiB each
    return int(max(1, min(K, (64 * 2**20) // (8 * K))))


def one_vs_rest_distances(W, *, normalize: bool = False, tol: float = 1e-12,
                          n_neighbors: int | None = None, block_size: int | None = None,
                          n_jobs: int = 1, gram: bool | None = None, executor=None,
                          layout: str = "columns", time_limit: float | None = None) -> OneVsRest:
    """Exact one-vs-rest distances of every class of a code, with certificates.

    For each k, the distance from ``w_k`` to the convex hull of the other
    codewords (Definition 2.1 of Jiang et al.).

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        The code: unit vectors (to 1e-8 in float64, to the input's precision
        otherwise, see :func:`spherecodes._validation.unit_norm_atol`),
        ``K >= 2``; numpy or torch (any device).
    normalize : bool, keyword-only
        Rescale the columns to unit norm instead of rejecting them.  The
        rescaling (as that of float32 or other lower-precision input) is done
        in float64; each end of a certificate moves out by twice its rounding
        error (:func:`spherecodes._validation.unit_columns_error`, about ``(d / 2
        + 2) 2^-53`` a codeword), so that it holds for the code as passed,
        normalized exactly: distances below about ``(d + 4) 2^-52 / tol`` (1.6e-3
        at d = 3, 0.46 at d = 2048, for ``tol = 1e-12``) are then not ``converged``.
    tol : float, keyword-only
        Target relative width of each certificate, ``upper - lower <= tol *
        upper``.  Finite and positive.
    n_neighbors : int, optional, keyword-only
        Size of the initial candidate set per class (its nearest codewords);
        default ``min(d, 128) + 8``.  Only speed depends on it: the result
        is checked against all codewords.
    block_size : int, optional, keyword-only
        Classes processed per matrix product; bounds memory to about
        ``2 * block_size * K`` floats.  Default keeps each block near 64 MiB.
    n_jobs : int, keyword-only
        Threads for the per-class solves (the numba kernels release the GIL).
    gram : bool, optional, keyword-only
        Keep the whole ``K x K`` Gram matrix (every inner product the solver
        needs is then a lookup).  Default: when it takes at most 4 GiB and
        there is no ``time_limit`` (at (512, 20000) the product alone took 27 s).
        Otherwise shifted points are formed explicitly, block by block.
    executor : concurrent.futures.Executor, optional, keyword-only
        Spread the blocks of classes over this executor (a process or thread
        pool, :func:`spherecodes.executor.get_executor`, or a Dask
        ``distributed.Client(...).get_executor()``).  Each job receives ``W``
        and solves whole blocks with the explicit (blocked) path, so the
        result is bit-identical to ``one_vs_rest_distances(W, gram=False,
        block_size=block_size)`` in this process (same blocks, same
        operations).  ``gram=True`` cannot be combined with it (the ``K x K``
        Gram matrix is not shipped).  ``n_jobs`` threads run inside each job.
    layout : {"columns", "rows"}, keyword-only
        ``"rows"`` for classes as rows, ``(K, d)`` like ``nn.Linear.weight``;
        ``nearest`` is then ``(K, d)`` too.
    time_limit : float, optional, keyword-only
        Seconds (at least 0) for the whole call: an anytime certificate.  The
        classes are solved most at risk first (largest inner product with
        another codeword first, where the bound below is smallest) until the
        limit; each class left is bounded by its nearest codeword ``w_j``,
        ``(||w_k||^2 - <w_k, w_j>) / ||w_k|| <= distance <= ||w_k - w_j||``
        (the hyperplane normal to ``w_k``; the point ``w_j`` of the hull), rounded
        outward, and marked not ``solved``.  ``rho_lower`` is then at least
        ``1 - max_inner_product`` (up to rounding), ``rho_upper`` the smallest
        upper bound (a solved distance, or ``rho_one_vs_one`` when none is
        smaller).  Always done, whatever the limit: one pass over the Gram
        matrix, by blocks, that orders the classes (``K^2 d`` flops: 3 s at
        (512, 10^4) on one core, 13 s at (512, 20000)), and the first load of the
        compiled kernels in a process (under a second; a minute on a cold numba
        cache).  Past those the overshoot is about one class per thread (at
        d = 512, K = 10^4, 0.07 s).  Default: no limit.  Not with ``executor``.

    Returns
    -------
    OneVsRest
        ``distance``, ``lower``, ``upper`` (each ``(K,)``), ``nearest``
        (``(d, K)``), ``weights`` (sparse ``(K, K)``), ``converged`` and
        ``solved`` (each ``(K,)``).

    Raises
    ------
    ValueError
        If ``W`` is not a finite ``(d, K)`` code with unit columns (without
        ``normalize``; a zero column with it), ``K < 2``, an option is out of
        range (``tol`` must be finite and positive, ``n_neighbors``,
        ``block_size`` and ``n_jobs`` at least 1, ``time_limit`` finite and at
        least 0), ``layout`` is not ``"columns"``/``"rows"``, or ``gram=True`` or
        ``time_limit`` is combined with ``executor``.
    TypeError
        If ``W`` is complex or not numeric, or an option has the wrong type
        (also a ``ValueError``, see :class:`spherecodes._validation.ArgumentTypeError`),
        or ``executor`` has no ``submit`` method.

    See Also
    --------
    distance_to_hull : one point against one hull.
    spherecodes.rho_one_vs_rest : the minimum alone, ``OneVsRest.rho``.
    spherecodes.optimal_features : the features of Theorem 3.5 from ``nearest``.
    spherecodes.executor.get_executor : executors for ``executor``.

    References
    ----------
    Generalized Neural Collapse paper, Definition 2.1, eq. (3) (the
    one-vs-rest distance); P. Wolfe, "Finding the nearest point in a
    polytope", Math. Programming 11 (1976) 128-149 (the algorithm).

    Examples
    --------
    >>> from spherecodes import one_vs_rest_distances, polygon
    >>> res = one_vs_rest_distances(polygon(6))
    >>> round(res.rho, 12)       # 1 - cos(2 pi / 6)
    0.5
    """
    t_start = time.perf_counter()
    normalize = check_bool(normalize, "normalize")
    rescaled = rescales(W, normalize)
    W = _as_unit_code(W, normalize, layout)
    tol = check_tol(tol)
    d, K = W.shape
    m0 = _default_neighbors(d, K) if n_neighbors is None else min(K - 1, check_int(n_neighbors, "n_neighbors",
                                                                                        minimum=1))
    if block_size is not None:
        block_size = check_int(block_size, "block_size", minimum=1)
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    deadline = None
    if time_limit is not None:
        deadline = t_start + check_seconds(time_limit, "time_limit")
        if executor is not None:
            raise ValueError("time_limit cannot be combined with executor (the jobs run whole blocks)")
    if executor is not None:
        if not callable(getattr(executor, "submit", None)):
            raise ArgumentTypeError("executor must be a concurrent.futures.Executor (with a submit method), "
                                    f"got {type(executor).__name__}")
        if gram is not None and check_bool(gram, "gram"):
            raise ValueError("gram=True cannot be combined with executor: each job solves its blocks "
                             "from W (pass gram=False or leave it unset)")
        gram = False
    if gram is None:
        # under a time limit the full product may cost more than the classes it leaves time for
        gram = deadline is None and 8 * K * K <= _FULL_GRAM_BYTES
    else:
        gram = check_bool(gram, "gram")
    if executor is not None:
        B = _default_block(K) if block_size is None else block_size
        out = _ovr_on_executor(executor, W, m0, tol, B, n_jobs) + (None, None)
    else:
        out = _ovr_here(W, m0, tol, gram, block_size, n_jobs, deadline)
    dist, lower, upper, nearest, converged, support, solved, neighbors = out
    res = OneVsRest(distance=dist, lower=lower, upper=upper,
                    nearest=nearest if layout == "columns" else np.ascontiguousarray(nearest.T),
                    converged=converged, _support=support, layout=layout, solved=solved,
                    _nearest_codewords=neighbors)
    return widened_for_rescaling(res, tol) if rescaled else res


def widened_for_rescaling(res: OneVsRest, tol: float) -> OneVsRest:
    """``res`` with certificates that hold for the code before its float64 rescaling.

    Each codeword of the rescaled code lies within ``e`` =
    :func:`spherecodes._validation.unit_columns_error` of the exactly rescaled
    one, and the distance from a point to a hull moves by at most the largest
    move of the point plus that of the hull's points, so each end of every
    bracket moves out by ``2 e``, rounded outward; ``converged`` is decided again
    on the wider bracket (a near-duplicate pair, ~1e-9 apart, is then no longer
    converged at ``tol = 1e-12``).  For callers that rescale with
    :func:`spherecodes._validation.as_code` (see :func:`~spherecodes._validation.rescales`).
    """
    d = res.nearest.shape[0 if res.layout == "columns" else 1]
    slack = 2.0 * unit_columns_error(d)
    lower = np.maximum(np.nextafter(res.lower - slack, -np.inf), 0.0)
    upper = np.nextafter(res.upper + slack, np.inf)
    return replace(res, lower=lower, upper=upper, converged=res.converged & (upper - lower <= tol * upper))


def _default_neighbors(d: int, K: int) -> int:
    # measured best at (64, 2048) and (128, 8192) among d/2 .. 2d + 8; capped at 136 for
    # larger d (supports stay near 70 there): 2x faster at (256, 4000) and (768, 2000)
    return min(K - 1, min(d, 128) + 8)


def certification_seconds(W, *, n_jobs: int = 1, sample: int = 256, layout: str = "columns",
                          gram: bool | None = None, max_seconds: float | None = None) -> float:
    """Estimated wall-clock seconds of ``one_vs_rest_distances(W, n_jobs=n_jobs, gram=gram)``.

    Times the exact solve of the first ``sample`` classes (each against all K
    codewords, on the path the full run takes) and scales by ``K / sample / n_jobs``,
    after a call that loads the compiled kernels; on the Gram path the product
    ``W.T @ W`` is timed and added once.  The estimate assumes the column order
    carries no geometry (true of the solvers' codes).  A planning figure (the
    solvers stop this long before their deadline), not a bound.  Per-class costs
    vary widely, hence the large default sample.  The cost grows as a code spreads
    (at K = 1000, d = 128: 1.1 s after the descent, 14 s after the Softmax stage).

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        The code; columns are normalized.
    n_jobs : int, keyword-only
        Threads the full run will use (assumed to scale perfectly).
    sample : int, keyword-only
        Classes timed, at least 1 (at most K).
    layout : {"columns", "rows"}, keyword-only
    gram : bool, optional, keyword-only
        Time the Gram path (``True``) or the blocked path (``False``); default: the
        one :func:`one_vs_rest_distances` takes.  The Gram path is usually faster
        (measured at (8, 2000) and (32, 3000), random codes: 1.8 and 2.3 times).
    max_seconds : float, optional, keyword-only
        Stop timing classes once this many seconds are spent on them (at least one
        class is timed; the chunks are sized by the cost per class so far, so the
        overrun is about one class).  The kernels' loading and the Gram product are
        not counted.  Well-spread codes are slow to certify: at (512, 10^4) the 256
        classes of the default sample took 77 s and then 197 s of a 1200 s search.

    Returns
    -------
    float
        Seconds, positive.

    Raises
    ------
    ValueError
        As :func:`one_vs_rest_distances` for ``W`` and ``layout``; ``n_jobs`` or
        ``sample`` below 1; ``max_seconds`` negative or not finite.
    TypeError
        ``n_jobs`` or ``sample`` not an integer, ``max_seconds`` not a real number.
    """
    W = _as_unit_code(W, True, layout)
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    sample = check_int(sample, "sample", minimum=1)
    if max_seconds is not None:
        max_seconds = check_seconds(max_seconds, "max_seconds")
    d, K = W.shape
    gram = 8 * K * K <= _FULL_GRAM_BYTES if gram is None else check_bool(gram, "gram")
    W = np.ascontiguousarray(W)
    WT = np.ascontiguousarray(W.T)
    m0 = _default_neighbors(d, K)
    t_gram = 0.0
    if not gram:
        _ovr_blocked(WT, W, m0, 1e-12, 2, None, 1, np.arange(min(K, 2)))  # compiled kernels loaded first

        def solve(ks):
            _ovr_blocked(WT, W, m0, 1e-12, ks.size, None, 1, ks)
    else:
        solve_classes_gram = _kernel().solve_classes_gram
        t = time.perf_counter()
        G = WT @ W
        t_gram = time.perf_counter() - t
        out = _gram_outputs(K, d)
        solve_classes_gram(WT, W, G, np.arange(1), m0, 1e-12, *out)  # compiled kernel loaded before the clock starts

        def solve(ks):
            solve_classes_gram(WT, W, G, ks, m0, 1e-12, *out)
    per_class = _seconds_per_class(solve, min(K, sample), max_seconds)
    return t_gram + per_class * K / n_jobs


def _seconds_per_class(solve, m, max_seconds):
    """Mean seconds of ``solve(ks)`` per class over the classes ``0 .. m - 1`` (or, with
    ``max_seconds``, the first of them that fit in it: a first class alone, then chunks of
    half the time left at the cost so far)."""
    done, spent = 0, 0.0
    while done < m:
        n = m - done
        if max_seconds is not None:
            n = 1 if done == 0 else int(min(n, 0.5 * (max_seconds - spent) * done / max(spent, 1e-9)))
            if n < 1:
                break
        t = time.perf_counter()
        solve(np.arange(done, done + n))
        spent += time.perf_counter() - t
        done += n
    return max(spent, 1e-9) / done


def _ovr_here(W, m0, tol, gram, block_size, n_jobs, deadline=None):
    """All classes in this process, with ``n_jobs`` threads: Gram lookups or explicit blocks;
    ``(dist, lower, upper, nearest, converged, support, solved, neighbors)``, the last two
    None without a deadline (see :func:`_ovr_timed`)."""
    K = W.shape[1]
    W = np.ascontiguousarray(W)     # the kernels' scans run along its rows
    WT = np.ascontiguousarray(W.T)
    with ThreadPoolExecutor(n_jobs) if n_jobs > 1 else nullcontext() as pool:
        if deadline is not None:
            return _ovr_timed(WT, W, m0, tol, gram, block_size, n_jobs, deadline, pool)
        if gram:
            # Every inner product the solver needs is a lookup in the Gram matrix.
            out = _ovr_gram(WT, W, m0, tol, pool, n_jobs)
        else:
            B = _default_block(K) if block_size is None else block_size
            out = _ovr_blocked(WT, W, m0, tol, B, pool, n_jobs, np.arange(K))
    return out + (None, None)


def nearest_codewords(W, G=None):
    """Each codeword's largest inner product with another codeword, and that codeword.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        The code, float64.
    G : ndarray, shape (K, K), optional
        Its Gram matrix ``W.T @ W``, when already computed (read only).

    Returns
    -------
    maxip : ndarray, shape (K,)
        ``max_{j != k} <w_k, w_j>`` as computed in float64 (each inner product is
        within :func:`_dot_error` of the exact one).
    arg : ndarray of int64, shape (K,)
        The first ``j != k`` attaining it.
    """
    K = W.shape[1]
    maxip = np.empty(K)
    arg = np.empty(K, dtype=np.int64)
    for rows, Gb in gram_row_blocks(W, G):
        arg[rows] = np.argmax(Gb, axis=1)
        maxip[rows] = Gb[np.arange(rows.size), arg[rows]]
    return maxip, arg


def gram_row_blocks(W, G=None):
    """Blocks of rows of the Gram matrix ``W.T @ W`` (``W`` ``(d, K)``), the diagonal set to ``-inf``.

    Yields ``(rows, Gb)``: the row indices (an int array) and ``Gb = G[rows]``
    ``(len(rows), K)``, a new array of about 64 MiB at most
    (:func:`_default_block`); from ``G`` when it is given (read only).
    """
    K = W.shape[1]
    block = _default_block(K)
    for start in range(0, K, block):
        rows = np.arange(start, min(K, start + block))
        Gb = W[:, rows].T @ W if G is None else G[rows].copy()
        Gb[np.arange(rows.size), rows] = -np.inf
        yield rows, Gb


def _dot_error(d: int) -> float:
    """Bound on the rounding error of a float64 inner product of two vectors of length d
    and norms at most ``1 + UNIT_NORM_ATOL`` (Higham, Accuracy and Stability, eq. (3.5)),
    in any order of summation, with fused multiply-adds or not."""
    n = d + 2
    return 1.01 * n * _EPS / (1.0 - n * _EPS)


def _neighbor_bounds(W, ks, maxip, arg):
    """Certified bounds on the one-vs-rest distances of classes ``ks`` from their nearest codeword.

    ``w_j`` (``j = arg[k]``) lies in the hull of the other codewords, so the
    distance is at most ``||w_k - w_j||``; the hyperplane normal to ``w_k``
    separates ``w_k`` from that hull, so it is at least ``(||w_k||^2 - max_j <w_k,
    w_j>) / ||w_k||`` (the bound ``rho >= 1 - max inner product`` of a unit code).
    Both ends rounded outward.  Returns ``(dist, lower, upper)``, each ``(len(ks),)``.
    """
    d = W.shape[0]
    dist, lower, upper = np.empty(ks.size), np.empty(ks.size), np.empty(ks.size)
    e = _dot_error(d)
    step = max(1, (4 * 2**20) // (8 * d))      # column blocks of about 4 MiB: cache-sized temporaries
    for i in range(0, ks.size, step):
        k = ks[i:i + step]
        r = _column_norms(W[:, k] - W[:, arg[k]])
        dist[i:i + step] = r
        upper[i:i + step] = _norm_upper(r, d)
        Wk = W[:, k]
        sq = np.einsum("ij,ij->j", Wk, Wk)
        m = maxip[k]
        # each inner product within _dot_error; the slack also covers the rounding of both subtractions
        num = (sq - m) - (2.0 * e + 4.0 * _EPS * (sq + np.abs(m)))
        lower[i:i + step] = num * (1.0 - 8.0 * _EPS) / np.sqrt(sq + 2.0 * e)
    return dist, np.nextafter(np.maximum(lower, 0.0), -np.inf).clip(0.0), upper


def _ovr_timed(WT, W, m0, tol, gram, block_size, n_jobs, deadline, pool):
    """Exact solves most-at-risk first until ``deadline`` (``time.perf_counter()``), the
    rest bounded by their nearest codeword (:func:`_neighbor_bounds`).

    Returns the tuple of :func:`_ovr_here`, ``solved`` (``(K,)`` bool) and the
    ``(maxip, arg)`` of :func:`nearest_codewords`.  Classes
    go in chunks sized to a quarter of the time left at the cost per class
    measured so far; a chunk that would not finish by the deadline shrinks, so the
    overshoot is about one class per thread.
    """
    d, K = W.shape
    G = WT @ W if gram else None
    maxip, arg = nearest_codewords(W, G)
    order = np.argsort(-maxip, kind="stable")        # largest inner product first: the smallest bounds
    # every class starts bounded by its nearest codeword (inside the limit: at (2048, 10^4) the
    # fresh (d, K) array of nearest points alone costs seconds of page faults)
    dist, lower, upper = _neighbor_bounds(W, np.arange(K), maxip, arg)
    nearest = np.ascontiguousarray(WT[arg].T)         # rows of WT: a gather of W's columns is 20x slower
    converged = upper - lower <= tol * upper
    if gram:
        supp_idx, supp_w = _gram_outputs(K, d)[:2]
        out = (supp_idx, supp_w, nearest, dist, lower, upper, converged)
    B = _default_block(K) if block_size is None else block_size
    supports = []
    solved = np.zeros(K, dtype=bool)
    done, per_class, n = 0, None, n_jobs
    while done < K:
        left = deadline - time.perf_counter()
        if per_class is not None:
            n = int(min(K - done, min(0.25 * left, left - per_class) / per_class)) * n_jobs  # no int(inf) at 1e308 s
        if left <= 0 or n < 1:
            break
        ks = order[done:done + n]
        t = time.perf_counter()
        if gram:
            _solve_gram(WT, W, G, ks, m0, tol, out, pool, n_jobs)
        else:
            part = _ovr_blocked(WT, W, m0, tol, min(B, ks.size), pool, n_jobs, ks)
            dist[ks], lower[ks], upper[ks], nearest[:, ks], converged[ks] = part[:5]
            supports.append(part[5])
        per_class = max((time.perf_counter() - t) * n_jobs / ks.size, 1e-6)
        solved[ks] = True
        done += ks.size
    rest = order[done:]
    if gram:
        supp_idx[rest] = -1
        supp_w[rest] = 0.0
        supp_idx[rest, 0] = arg[rest]
        supp_w[rest, 0] = 1.0
        support = (supp_idx, supp_w)
    else:
        supports.append((rest, arg[rest], np.ones(rest.size)))
        support = tuple(np.concatenate([p[i] for p in supports]) for i in range(3))
    return dist, lower, upper, nearest, converged, support, solved, (maxip, arg)


def _split(pool, n_jobs, K, fn):
    """Run ``fn(k0, k1)`` over ``range(K)``, in ``n_jobs`` contiguous chunks on ``pool``."""
    if pool is None or K < 2 * n_jobs:
        fn(0, K)
        return
    edges = np.linspace(0, K, n_jobs + 1).astype(int)
    list(pool.map(fn, edges[:-1], edges[1:]))


def _gram_outputs(K, d):
    """Output arrays of ``solve_classes_gram``: support indices and weights ``(K, smax)``,
    ``nearest`` ``(d, K)``, ``dist``, ``lower``, ``upper``, ``converged`` ``(K,)``."""
    smax = min(K - 1, d + 1)
    return (np.empty((K, smax), dtype=np.int64), np.empty((K, smax)), np.empty((d, K)), np.empty(K), np.empty(K),
            np.empty(K), np.empty(K, dtype=np.bool_))


def _ovr_gram(WT, W, m0, tol, pool, n_jobs):
    """The Gram path: ``(dist, lower, upper, nearest, converged, support)``, support padded."""
    K, d = WT.shape
    # A plain GEMM: numpy routes ``W.T @ W`` to OpenBLAS syrk, which was seen to
    # segfault at K = 20000 (OpenBLAS 0.3.31).
    G = WT @ W
    out = _gram_outputs(K, d)
    _solve_gram(WT, W, G, np.arange(K), m0, tol, out, pool, n_jobs)
    supp_idx, supp_w, nearest, dist, lower, upper, converged = out
    return dist, lower, upper, nearest, converged, (supp_idx, supp_w)


def _solve_gram(WT, W, G, ks, m0, tol, out, pool, n_jobs):
    """Solve the classes ``ks`` on the Gram path, writing into ``out`` (:func:`_gram_outputs`)."""
    solve_classes_gram = _kernel().solve_classes_gram
    _split(pool, n_jobs, ks.size, lambda i0, i1: solve_classes_gram(WT, W, G, ks[i0:i1], m0, tol, *out))


def _dask_client(executor):
    """The ``distributed.Client`` behind ``executor`` (``Client.get_executor()`` or
    :class:`spherecodes.executor.DaskExecutor`), else None."""
    client = getattr(executor, "client", None) or getattr(executor, "_client", None)
    return client if callable(getattr(client, "scatter", None)) else None


def _executor_workers(executor) -> int:
    """How many jobs ``executor`` runs at once, where it says so (else the local CPU count)."""
    n = getattr(executor, "_max_workers", None)
    client = _dask_client(executor)
    if not n and client is not None and callable(getattr(client, "nthreads", None)):
        try:
            n = sum(client.nthreads().values())
        except Exception:  # noqa: BLE001 - only a hint for the number of jobs
            n = None
    return max(1, int(n or available_cpus()))


def _ovr_job(W, k0, k1, m0, tol, B, n_jobs):
    """One job of :func:`_ovr_on_executor`: classes ``k0 <= k < k1`` (whole blocks) of ``W``."""
    WT = np.ascontiguousarray(W.T)
    with ThreadPoolExecutor(n_jobs) if n_jobs > 1 else nullcontext() as pool:
        return _ovr_blocked(WT, W, m0, tol, B, pool, n_jobs, np.arange(k0, k1))


def _ovr_on_executor(executor, W, m0, tol, B, n_jobs):
    """The blocked path with groups of whole blocks as jobs on ``executor``; results in class order."""
    K = W.shape[1]
    starts = list(range(0, K, B))
    n_tasks = min(len(starts), 4 * _executor_workers(executor))
    groups = [g for g in np.array_split(np.asarray(starts), n_tasks) if g.size]
    edges = [(int(g[0]), min(K, int(g[-1]) + B)) for g in groups]
    client = _dask_client(executor)
    data = client.scatter(W, broadcast=True) if client is not None else W   # sent to each worker once
    futures = [executor.submit(_ovr_job, data, k0, k1, m0, tol, B, n_jobs) for k0, k1 in edges]
    parts = [f.result() for f in futures]
    # (dist, lower, upper, nearest (d, k), converged, (rows, cols, vals)) of each group, in class order
    support = tuple(np.concatenate([p[5][i] for p in parts]) for i in range(3))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts], axis=1),
            np.concatenate([p[4] for p in parts]), support)


def _ovr_blocked(WT, W, m0, tol, B, pool, n_jobs, classes):
    """Blocks of classes: explicit shifted points, one matrix product per screening round.

    Solves the classes ``classes`` (int array) in blocks of ``B`` of it, in its
    order; per-class arrays are returned in that order.
    """
    from ._wolfe import REFINE_ITERS, lower_rows, select_neighbors, solve_rows

    K, d = WT.shape
    n_out = classes.size
    X_all = np.empty((n_out, d))
    dist_all = np.empty(n_out)
    lower_all = np.empty(n_out)
    upper_all = np.empty(n_out)
    rows, cols, vals = [], [], []
    for start in range(0, n_out, B):
        pos = slice(start, min(n_out, start + B))
        ks = classes[pos]
        b = ks.size
        cand = np.empty((b, m0), dtype=np.int64)
        select_neighbors(WT[ks] @ W, ks, m0, cand)   # (b, K) inner products, nearest first
        ncand = np.full(b, m0, dtype=np.int64)
        lam = np.zeros((b, m0))
        status = np.zeros(b, dtype=np.int64)
        iters = np.zeros(b, dtype=np.int64)
        refined = np.zeros(b, dtype=bool)
        X = np.empty((b, d))
        XL = np.empty((b, d))
        dist = np.empty(b)
        upper = np.empty(b)
        nupper = np.empty(b)
        lower = np.empty(b)
        pending = np.arange(b)
        while pending.size:
            todo = pending
            _split(pool, n_jobs, todo.size, lambda i0, i1: solve_rows(
                WT, ks, todo[i0:i1], cand, ncand, lam, X, XL, dist, upper, nupper, status, iters, tol))
            # One pass over all codewords: <x, q_j> = <x, w_j> - <x, w_k>.
            Xp = X[pending]
            kp = ks[pending]
            g = Xp @ W - np.einsum("ij,ij->i", WT[kp], Xp)[:, None]     # (p, K)
            g[np.arange(pending.size), kp] = np.inf
            low = np.empty(pending.size)
            lower_rows(WT, ks, pending, X, XL, dist, upper, nupper, g, tol, low)   # certified
            lower[pending] = low
            up = upper[pending]
            still, additions = [], []
            for p in np.flatnonzero(up - low > tol * up):
                i = pending[p]
                row = g[p]
                row[cand[i, :ncand[i]]] = np.inf
                margin = (4 * d + 24) * _EPS * dist[i]
                viol = np.flatnonzero(row + margin + 2 * _EPS * np.abs(row) < dist[i] ** 2 * (1 - tol))
                if viol.size:
                    still.append(i)
                    additions.append(viol[np.argsort(row[viol])[: max(8, m0)]])
                elif not refined[i]:      # polish the support in double-double
                    refined[i] = True
                    iters[i] = REFINE_ITERS
                    still.append(i)
                    additions.append(viol)
                # else: the certificate says how close
            if still:
                cap = max(int(ncand[i]) + a.size for i, a in zip(still, additions))
                if cap > cand.shape[1]:
                    grow = cap - cand.shape[1]
                    cand = np.pad(cand, ((0, 0), (0, grow)))
                    lam = np.pad(lam, ((0, 0), (0, grow)))
                for i, add in zip(still, additions):
                    m = int(ncand[i])
                    cand[i, m:m + add.size] = add
                    ncand[i] = m + add.size
            pending = np.asarray(still, dtype=np.int64)
        X_all[pos] = X
        dist_all[pos] = dist
        lower_all[pos] = lower
        upper_all[pos] = upper
        nz = lam > 0                   # padding past ncand[i] holds zero weight
        rows.append(np.repeat(ks, nz.sum(axis=1)))
        cols.append(cand[nz])
        vals.append(lam[nz])
    return (dist_all, lower_all, upper_all, W[:, classes] + X_all.T, upper_all - lower_all <= tol * upper_all,
            (np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)))
