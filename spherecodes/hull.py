"""Exact, certified distances from points to convex hulls.

The one-vs-rest distance of class k in a code ``W`` (shape ``(d, K)``, unit
columns) is ``dist(w_k, conv{w_j : j != k})`` (Definition 2.1 of the paper).
It is the quadratic program ``min ||v - A lam||`` over the simplex, solved here
exactly by Wolfe's minimum-norm-point algorithm (:mod:`spherecodes._wolfe`).

Every returned value carries a certificate.  For the returned hull point p
with ``r = v - p``::

    lower = max(0, min_j <r, v - a_j> / ||r||)  <=  dist(v, conv A)  <=  ||r|| = upper

(the hyperplane orthogonal to r through ``v - lower r/||r||`` separates v
from every a_j).  ``distance`` is ``upper``: the distance actually attained
by the returned point.

For all K classes at once, each class is first solved on its nearest
neighbours (largest inner products), then checked against all K codewords in
one matrix product per block of classes; codewords that violate optimality
join the candidate set and the class is re-solved, warm-started.  Blocks keep
memory to two ``block_size x K`` matrices.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ._validation import as_code, as_matrix

_STATUS_INSIDE = 3
_STATUS_OK = 0
# A certificate this narrow counts as converged even when Wolfe stopped on a
# rounding-level degeneracy (nearly affinely dependent corral).
_ROUNDING_GAP = 1e-10
# Above this the K x K Gram matrix is not kept whole (23170 classes at most).
_FULL_GRAM_BYTES = 4 * 2**30


@dataclass(frozen=True, repr=False)
class HullProjection:
    """Nearest point of a convex hull to a point ``v``.

    Attributes
    ----------
    distance : float
        ``||v - point||`` (equal to ``upper``).
    lower, upper : float
        Certificate: ``lower <= dist(v, conv A) <= upper``.
    point : ndarray, shape (d,)
        The nearest hull point found.
    weights : ndarray, shape (m,)
        Barycentric weights of ``point`` over the columns of ``A``.
    converged : bool
        Whether the solver met its optimality tolerance.
    """

    distance: float
    lower: float
    upper: float
    point: np.ndarray
    weights: np.ndarray
    converged: bool

    def __repr__(self) -> str:
        return (f"HullProjection(distance={self.distance:.12g}, certificate=[{self.lower:.12g}, "
                f"{self.upper:.12g}], support={int(np.count_nonzero(self.weights))})")


@dataclass(frozen=True, repr=False)
class OneVsRest:
    """One-vs-rest distances of all classes of a code ``W`` (shape ``(d, K)``).

    Attributes
    ----------
    distance : ndarray, shape (K,)
        ``dist(w_k, conv{w_j : j != k})`` attained by ``nearest[:, k]``.
    lower, upper : ndarray, shape (K,)
        Certificate: ``lower <= exact distance <= upper`` (``upper == distance``).
    nearest : ndarray, shape (d, K)
        Nearest point of the hull of the other codewords, for each class.
    weights : scipy.sparse.csr_matrix, shape (K, K)
        Row k holds the barycentric weights of ``nearest[:, k]`` over the
        columns ``j != k`` (zero diagonal; each row sums to 1).
    converged : ndarray of bool, shape (K,)
        Whether each class met the optimality tolerance (or stopped at
        rounding level with a certificate narrower than 1e-10).
    """

    distance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    nearest: np.ndarray
    converged: np.ndarray
    _support: tuple = field(repr=False, compare=False)   # (rows, cols, values) of ``weights``

    @cached_property
    def weights(self) -> sp.csr_matrix:
        """Barycentric weights, ``(K, K)`` sparse; built on first access."""
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
        return (f"OneVsRest(K={K}, rho={self.rho:.12g}, certificate=[{self.rho_lower:.12g}, "
                f"{self.rho_upper:.12g}], max gap={float(np.max(self.upper - self.lower)):.2g})")


def _kernel():
    # Imported lazily: numba compiles (or loads its cache) on first use only.
    from ._wolfe import min_norm_point
    return min_norm_point


def _max_iter(m: int, d: int) -> int:
    return 50 * (min(m, d + 1) + 10)


def distance_to_hull(v, A, *, tol: float = 1e-12) -> HullProjection:
    """Exact distance from a point to the convex hull of a finite point set.

    Parameters
    ----------
    v : array_like, shape (d,)
        The point (any vector, not necessarily of unit norm).
    A : array_like, shape (d, m)
        The points spanning the hull, as columns.
    tol : float, keyword-only
        Target width of the certificate ``upper - lower`` (absolute, in the
        units of the coordinates).

    Returns
    -------
    HullProjection
        ``distance``, its certificate ``lower``/``upper``, the nearest
        ``point`` and its barycentric ``weights`` (shape ``(m,)``).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import distance_to_hull
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0]])     # e1 and e2 as columns
    >>> round(distance_to_hull(np.zeros(2), A).distance ** 2, 12)
    0.5
    """
    A = as_matrix(A, "A")
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or v.shape[0] != A.shape[0]:
        raise ValueError(f"v must have shape ({A.shape[0]},) to match A of shape {A.shape}, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("v contains NaN or inf")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    d, m = A.shape
    Q = np.ascontiguousarray((A - v[:, None]).T)
    lam, status = _kernel()(Q, np.empty((0, 0)), np.arange(m), 0, np.zeros(m), float(tol), _max_iter(m, d))
    x = Q.T @ lam
    upper = float(np.linalg.norm(x))
    lower = 0.0 if status == _STATUS_INSIDE or upper == 0.0 else max(0.0, float((Q @ x).min()) / upper)
    lower = min(lower, upper)
    return HullProjection(distance=upper, lower=lower, upper=upper, point=v + x, weights=lam,
                          converged=status in (_STATUS_OK, _STATUS_INSIDE) or upper - lower <= _ROUNDING_GAP)


def _default_block(K: int) -> int:
    # two (block x K) float64 matrices of at most ~64 MiB each
    return int(max(1, min(K, (64 * 2**20) // (8 * K))))


def one_vs_rest_distances(W, *, normalize: bool = False, tol: float = 1e-12,
                          n_neighbors: int | None = None, block_size: int | None = None,
                          n_jobs: int = 1, gram: bool | None = None) -> OneVsRest:
    """Exact one-vs-rest distances of every class of a code, with certificates.

    For each k, the distance from ``w_k`` to the convex hull of the other
    codewords (Definition 2.1 of Jiang et al.).

    Parameters
    ----------
    W : array_like, shape (d, K)
        The code; columns are unit vectors (checked to 1e-8), ``K >= 2``.
    normalize : bool, keyword-only
        Rescale the columns to unit norm instead of rejecting them.
    tol : float, keyword-only
        Target certificate width ``upper - lower`` for each class.
    n_neighbors : int, optional, keyword-only
        Size of the initial candidate set per class (its nearest codewords);
        default ``d + 8``.  Only speed depends on it: the result
        is checked against all codewords.
    block_size : int, optional, keyword-only
        Classes processed per matrix product; bounds memory to about
        ``2 * block_size * K`` floats.  Default keeps each block near 64 MiB.
    n_jobs : int, keyword-only
        Threads for the per-class solves (the numba kernels release the GIL).
    gram : bool, optional, keyword-only
        Keep the whole ``K x K`` Gram matrix (every inner product the solver
        needs is then a lookup).  Default: when it takes at most 4 GiB.
        Otherwise shifted points are formed explicitly, block by block.

    Returns
    -------
    OneVsRest
        ``distance``, ``lower``, ``upper`` (each ``(K,)``), ``nearest``
        (``(d, K)``), ``weights`` (sparse ``(K, K)``) and ``converged``.

    Examples
    --------
    >>> from spherecodes import one_vs_rest_distances, polygon
    >>> res = one_vs_rest_distances(polygon(6))
    >>> round(res.rho, 12)       # 1 - cos(2 pi / 6)
    0.5
    """
    W = as_code(W, normalize=normalize)
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    d, K = W.shape
    if n_neighbors is None:
        m0 = d + 8        # measured best at (64, 2048) and (128, 8192) among d/2 .. 2d + 8
    else:
        m0 = int(n_neighbors)
        if m0 < 1:
            raise ValueError(f"n_neighbors must be >= 1, got {n_neighbors}")
    m0 = min(K - 1, m0)
    if block_size is not None and int(block_size) < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    n_jobs = max(1, int(n_jobs))
    if gram is None:
        gram = 8 * K * K <= _FULL_GRAM_BYTES
    WT = np.ascontiguousarray(W.T)
    with ThreadPoolExecutor(n_jobs) if n_jobs > 1 else nullcontext() as pool:
        if gram:
            # Every inner product the solver needs is a lookup in the Gram matrix.
            X, lower, status, rows, cols, vals = _ovr_gram(WT, W, m0, float(tol), pool, n_jobs)
        else:
            B = _default_block(K) if block_size is None else int(block_size)
            X, lower, status, rows, cols, vals = _ovr_blocked(WT, W, m0, float(tol), B, pool, n_jobs)
    upper = np.sqrt(np.einsum("ij,ij->i", X, X))
    lower = np.minimum(lower, upper)    # equal to rounding when the kernel's norm differs by an ulp
    converged = (status == _STATUS_OK) | (status == _STATUS_INSIDE) | (upper - lower <= _ROUNDING_GAP)
    return OneVsRest(distance=upper.copy(), lower=lower, upper=upper, nearest=W + X.T,
                     converged=converged, _support=(rows, cols, vals))


def _split(pool, n_jobs, K, fn):
    """Run ``fn(k0, k1)`` over ``range(K)``, in ``n_jobs`` contiguous chunks on ``pool``."""
    if pool is None or K < 2 * n_jobs:
        fn(0, K)
        return
    edges = np.linspace(0, K, n_jobs + 1).astype(int)
    list(pool.map(fn, edges[:-1], edges[1:]))


def _ovr_gram(WT, W, m0, tol, pool, n_jobs):
    from ._wolfe import solve_classes_gram

    K, d = WT.shape
    # A plain GEMM: numpy routes ``W.T @ W`` to OpenBLAS syrk, which was seen to
    # segfault at K = 20000 (OpenBLAS 0.3.31).
    G = WT @ W
    smax = min(K - 1, d + 1)
    supp_idx = np.empty((K, smax), dtype=np.int64)
    supp_w = np.empty((K, smax))
    X = np.empty((K, d))
    lower = np.empty(K)
    status = np.empty(K, dtype=np.int64)
    _split(pool, n_jobs, K, lambda k0, k1: solve_classes_gram(
        WT, G, k0, k1, m0, tol, supp_idx, supp_w, X, lower, status))
    nz = supp_idx >= 0
    return X, lower, status, np.nonzero(nz)[0], supp_idx[nz], supp_w[nz]


def _ovr_blocked(WT, W, m0, tol, B, pool, n_jobs):
    """Blocks of classes: explicit shifted points, one matrix product per screening round."""
    from ._wolfe import select_neighbors, solve_rows

    K, d = WT.shape
    X_all = np.empty((K, d))
    lower = np.empty(K)
    status_all = np.empty(K, dtype=np.int64)
    rows, cols, vals = [], [], []
    for start in range(0, K, B):
        ks = np.arange(start, min(K, start + B))
        b = ks.size
        cand = np.empty((b, m0), dtype=np.int64)
        select_neighbors(WT[ks] @ W, ks, m0, cand)   # (b, K) inner products, nearest first
        ncand = np.full(b, m0, dtype=np.int64)
        lam = np.zeros((b, m0))
        status = np.zeros(b, dtype=np.int64)
        X = np.empty((b, d))
        pending = np.arange(b)
        while pending.size:
            todo = pending
            _split(pool, n_jobs, todo.size, lambda i0, i1: solve_rows(
                WT, np.empty((0, 0)), ks, todo[i0:i1], cand, ncand, lam, X, status, tol))
            # One pass over all codewords: <x, q_j> = <x, w_j> - <x, w_k>.
            Xp = X[pending]
            kp = ks[pending]
            g = Xp @ W - np.einsum("ij,ij->i", WT[kp], Xp)[:, None]     # (p, K)
            g[np.arange(pending.size), kp] = np.inf
            xx = np.einsum("ij,ij->i", Xp, Xp)
            nx = np.sqrt(xx)
            gmin = g.min(axis=1)
            inside = status[pending] == _STATUS_INSIDE
            with np.errstate(divide="ignore", invalid="ignore"):
                low = np.where(inside | (nx == 0), 0.0, np.maximum(0.0, gmin / nx))
            lower[kp] = np.minimum(low, nx)
            # squared-gap test, with a rounding floor for points of norm <= 2
            violated = (~inside) & (xx - gmin > np.maximum(tol * nx, 4e-14))
            still, additions = [], []
            for p in np.flatnonzero(violated):
                i = pending[p]
                row = g[p]
                row[cand[i, :ncand[i]]] = np.inf
                viol = np.flatnonzero(row < xx[p] - tol * nx[p])
                if viol.size:  # else the kernel stopped on a degeneracy; the certificate says how close
                    still.append(i)
                    additions.append(viol[np.argsort(row[viol])[: max(8, m0)]])
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
        X_all[ks] = X
        status_all[ks] = status
        nz = lam > 0                   # padding past ncand[i] holds zero weight
        rows.append(np.repeat(ks, nz.sum(axis=1)))
        cols.append(cand[nz])
        vals.append(lam[nz])
    return X_all, lower, status_all, np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
