"""numba kernel: Wolfe's minimum-norm-point algorithm, and its certificate.

Finds the point of ``conv{a_j}`` nearest to ``v`` by working with the shifted
points ``q_j = a_j - v`` and minimizing ``||sum_j lam_j q_j||`` over the
simplex.  Wolfe's method keeps a *corral* S of affinely independent points
(at most d + 1), alternates a major step (add the point most violating the
optimality condition ``<x, q_j> >= ||x||^2``) with minor steps (move to the
affine minimizer of S, dropping points whose weight would turn negative) and
terminates finitely.  A point that would join S while affinely dependent on it
to rounding (the rule at polished codes, whose contacts share a hyperplane) is
pivoted in for a point of S, as in the simplex method.

Numerics (see docs/theory.md, "Exact at every scale"):

* every subproblem is shifted to the query point (``q_j = a_j - v``), and
  the corral's affine minimizer is solved in reduced form, ``H beta = rhs``
  with ``H = [<d_i, d_j>]``, ``d_i = q_{S_i} - q_{S_0}`` (positive definite
  iff S is affinely independent; nothing mixes the scale of the differences
  with that of the points, see :func:`_load_cholesky`); H's Cholesky factor
  is extended by one row when a point enters, downdated by Givens rotations
  when one leaves (:func:`_cholesky_delete`), and recomputed from the first
  changed row after a pivot;
* the stopping test is relative, ``||x||^2 - min_b <x, q_b> <= tol ||x||^2``
  (the certificate's relative width), with a rounding floor that scales with
  the corral and the candidate, never with the farthest candidate;
* the certificate is computed afterwards in double-double arithmetic
  (:func:`refine_support`, :func:`lower_bound`): the support's weights are
  polished by iterative refinement on its affine hull, the hull point and the
  hyperplane bound are evaluated with error-free transformations (TwoSum,
  TwoProduct) and rounded outward.  ``converged`` is decided from that
  bracket only.

For each corral point we store its inner products with every candidate, so
one major step costs O(|S| m) instead of O(m d).

Everything here is private; the public API is in :mod:`spherecodes.hull`.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from ._jit import njit

# Status codes returned by the kernel.
OK = 0
MAX_ITER = 1
ROUNDING = 2   # stopped at rounding level (gap or pivot); the certificate says how good
DEGENERATE = ROUNDING
INSIDE = 3     # ||x||^2 at rounding level of the corral: v may lie in the hull

EPS = 2.0 ** -53           # unit roundoff
ETA = 2.0 ** -1074         # smallest subnormal: the absolute error of a product that underflows
SAFE = 2.0 ** -900         # products at least this large (or 0) are exact in double-double
DOWNDATE_MIN_CORRAL = 16    # drops downdate the factor in larger corrals, refactor it in smaller ones
REFINE_ITERS = 3           # iterative-refinement sweeps of the certificate


#: The shifted points ``q_b`` of one problem: explicit rows of ``P`` (``(m, d)``),
#: or, when ``P`` has no rows (shape ``(0, d)``), lookups in the Gram matrix
#: ``G`` (``(K, K)``) of the raw points with ``q_b = a_{idx[b]} - a_k``
#: (``idx``: ``(m,)`` int64; ``k``: int).
ShiftedPoints = namedtuple("ShiftedPoints", ["P", "G", "idx", "k"])

#: Scratch arrays of :func:`min_norm_point_ws` (from :func:`workspace`), for up to
#: ``m`` candidates and corrals of up to ``smax = min(m, d + 1)`` points.  The
#: corral is ``S[:s]``; ``d_i = q_{S_i} - q_{S_0}``.
Workspace = namedtuple("Workspace", [
    "S",       # (smax + 1,) int64: the corral, as candidate positions
    "lam",     # (smax + 1,) weights of the corral points
    "C",       # (smax + 1, m): C[i, b] = <q_{S_i}, q_b>
    "H",       # (smax + 1, smax + 1): H[i - 1, j - 1] = <d_i, d_j>
    "L",       # its Cholesky factor (lower triangle)
    "alpha",   # (smax + 1,) weights of the corral's affine minimizer
    "g",       # (m,) g_b = <x, q_b>
    "in_S",    # (m,) bool: membership of the corral
    "sq",      # (m,) ||q_b||^2
    "rhs",     # (smax + 1,) rhs[i - 1] = -<d_i, q_{S_0}>, right-hand side of the affine step
    "beta",    # (smax + 1,) beta[i - 1]: weight of d_i in the affine minimizer
])

# Performance note.  numba reference-counts every array variable (two atomic
# operations per array and call) and prunes the counting only where every
# array of a function stays live to one common point (numba's RefPrune pass
# gives up at any other release in between).  min_norm_point_ws therefore
# unpacks the workspace once per solve; the small steps it takes per iteration
# and per solve are inlined into it (``inline="always"``: numba's own IR
# inlining, which also drops the call and its counting; 9 % off a whole
# one-vs-rest call at (d, K) = (10, 100), neutral at (3, 2000) and (64, 4000)).
# Inlined code is compiled with the caller's flags, so the d-long reductions of
# the explicit path that need ``fastmath`` reassociation to vectorize stay
# separate functions (_fill_row_explicit, _load_row_explicit).  A step taking
# the Workspace and unpacking it would count all its arrays on every call
# (this was measured 30% slower).  Even so the counting that remained was about
# 30 % of a call at (10, 100): the kernels that allocate nothing
# (min_norm_point_ws, the scans, the double-double helpers, the plain-double
# hull point _point_double) are compiled without it (``refcount=False``, see
# :func:`spherecodes._jit.njit`): bit-identical results; the Gram kernel's
# time for all 100 classes went from 0.39-0.42 to 0.28-0.29 ms on random codes and
# from 0.85-0.89 to 0.55 ms on a polished Tammes code (same process, one core).
# Past the counting, a solve is latency-bound (chains of small triangular solves;
# counts, cycles and timings in docs/tables.md, "The one-vs-rest kernel against
# cvxpy"): hence the reciprocal diagonals and split chains of _forward/_backward,
# the downdate of _cholesky_delete, and refactoring from the first changed row
# (_load_cholesky).


@njit(cache=True, nogil=True, inline="always")
def _forward(L, n, y):
    """``y[:n] <- L[:n, :n]^{-1} y[:n]`` in place (forward substitution).

    Every factor ``L`` of this module stores the *reciprocals* of its
    diagonal: the substitutions multiply instead of dividing.  Both
    substitutions read ``L`` along its rows (at the corrals of order 124 of a
    Softmax code at d = 128, reads down the columns, a cache line each, made a
    whole call 30 % slower) and keep the critical path short: here each row's
    dot product runs in four independent partial sums (:func:`_dot4`), in
    :func:`_backward` each solved entry updates the others independently.
    """
    for i in range(n):
        y[i] = (y[i] - _dot4(L, i, y, i)) * L[i, i]


@njit(cache=True, nogil=True, inline="always")
def _dot4(L, i, y, n):
    """``sum_{t < n} L[i, t] y[t]`` in four interleaved partial sums (a quarter of the latency chain)."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    t = 0
    while t + 4 <= n:
        a0 += L[i, t] * y[t]
        a1 += L[i, t + 1] * y[t + 1]
        a2 += L[i, t + 2] * y[t + 2]
        a3 += L[i, t + 3] * y[t + 3]
        t += 4
    while t < n:
        a0 += L[i, t] * y[t]
        t += 1
    return (a0 + a1) + (a2 + a3)


@njit(cache=True, nogil=True, inline="always")
def _backward(L, n, y):
    """``y[:n] <- L[:n, :n]^{-T} y[:n]`` in place (back substitution, by rows of ``L``; see :func:`_forward`)."""
    for i in range(n - 1, -1, -1):
        yi = y[i] * L[i, i]
        y[i] = yi
        for t in range(i):
            y[t] -= L[i, t] * yi


@njit(cache=True, nogil=True, inline="always")
def _cholesky_row(M, L, n):
    """Extend the Cholesky factor ``L`` of ``M[:n, :n]`` by row ``n``; False if not PD to rounding.

    ``L`` holds the reciprocals of its diagonal (see :func:`_forward`); the row is
    ``L[:n, :n]^{-1} M[n, :n]``.
    """
    for i in range(n):
        L[n, i] = M[n, i]
    row = L[n]
    _forward(L, n, row)
    acc = M[n, n] - _dot4(L, n, row, n)
    if not acc > 1e-14 * M[n, n]:
        return False
    L[n, n] = 1.0 / np.sqrt(acc)
    return True


@njit(cache=True, nogil=True, inline="always")
def _cholesky_rebuild(Msmall, s, L, start):
    """Cholesky of the leading s x s block of Msmall into L, keeping rows ``< start`` of L;
    returns the first row that is not positive definite to rounding (its row of L up to the
    diagonal computed), -1 if none."""
    for n in range(start, s):
        if not _cholesky_row(Msmall, L, n):
            return n
    return -1


@njit(cache=True, nogil=True, refcount=False)
def _cholesky_delete(L, n, p):
    """Remove row and column ``p`` of ``L L^T`` (order ``n``) from its factor, in place.

    The rows after ``p`` move up one; each then has one entry right of its
    diagonal, which a Givens rotation of two adjacent columns clears (the
    rotations keep ``L L^T``): ``O((n - p)^2)`` operations where refactoring
    those rows costs ``O((n - p) n^2)``.  Reciprocal diagonals as everywhere
    (:func:`_forward`).  Returns False where a rotation degenerates (a zero
    pair: the caller refactors).
    """
    for r in range(p, n - 1):
        for t in range(r + 1):
            L[r, t] = L[r + 1, t]
        L[r, r + 1] = 1.0 / L[r + 1, r + 1]   # the moved row's diagonal, as a value
    for r in range(p, n - 1):
        a = L[r, r]
        b = L[r, r + 1]
        h = np.sqrt(a * a + b * b)       # the squares are entries of H in size: no scaling needed
        if not h > 0.0:
            return False
        c = a / h
        sn = b / h
        for i in range(r + 1, n - 1):
            x = L[i, r]
            y = L[i, r + 1]
            L[i, r] = c * x + sn * y
            L[i, r + 1] = c * y - sn * x
        L[r, r] = 1.0 / h
        L[r, r + 1] = 0.0
    return True


@njit(cache=True, nogil=True, refcount=False, fastmath={"reassoc", "contract"})
def _fill_row_explicit(P, a, C, row):
    """``C[row, b] = <P_a, P_b>`` for every row b of ``P``."""
    m, d = P.shape
    for b in range(m):
        acc = 0.0
        for t in range(d):   # reassociation lets LLVM vectorize this reduction
            acc += P[b, t] * P[a, t]
        C[row, b] = acc


@njit(cache=True, nogil=True, inline="always")
def _fill_row(P, G, idx, k, a, C, row):
    """``C[row, b] = <q_a, q_b>`` for every candidate b (see :data:`ShiftedPoints`)."""
    if P.shape[0] > 0:
        _fill_row_explicit(P, a, C, row)
        return
    ia = idx[a]
    gak = G[k, ia]
    gkk = G[k, k]
    for b in range(idx.shape[0]):
        ib = idx[b]
        C[row, b] = G[ia, ib] - gak - G[k, ib] + gkk


@njit(cache=True, nogil=True, inline="always")
def _min(a, s):
    out = a[0]
    for i in range(1, s):
        out = min(out, a[i])
    return out


@njit(cache=True, nogil=True, inline="always")
def _normalize(a, s):
    tot = 0.0
    for i in range(s):
        tot += a[i]
    for i in range(s):
        a[i] /= tot


@njit(cache=True, nogil=True, inline="always")
def _gram_ref(C, S, i):
    """``<d_i, q_{S_0}>`` from the corral's inner products, left to right."""
    return C[i, S[0]] - C[0, S[0]]


@njit(cache=True, nogil=True, inline="always")
def _gram_diff(C, S, i, j):
    """``<d_i, d_j>`` from the corral's inner products, left to right."""
    return C[i, S[j]] - C[i, S[0]] - C[0, S[j]] + C[0, S[0]]


@njit(cache=True, nogil=True, refcount=False, fastmath={"reassoc", "contract"})
def _load_row_explicit(P, S, i, H, rhs):
    """:func:`_load_row` from the explicit points ``P`` (vectorized reductions)."""
    d = P.shape[1]
    r = S[0]
    a = S[i]
    acc = 0.0
    for t in range(d):
        acc += (P[a, t] - P[r, t]) * P[r, t]
    rhs[i - 1] = -acc
    for j in range(1, i + 1):
        b = S[j]
        acc = 0.0
        for t in range(d):
            acc += (P[a, t] - P[r, t]) * (P[b, t] - P[r, t])
        H[i - 1, j - 1] = acc


@njit(cache=True, nogil=True, inline="always")
def _load_row(P, C, S, i, H, rhs):
    """Row ``i - 1`` of the reduced normal matrix ``H`` and entry ``i - 1`` of ``rhs``.

    ``H[i - 1, j - 1] = <d_i, d_j>`` (``j = 1..i``) and ``rhs[i - 1] =
    -<d_i, q_{S_0}>``: from the explicit points ``P``, or from the rows of
    ``C`` (Gram lookups, left to right: no reassociation here).
    """
    if P.shape[0] > 0:
        _load_row_explicit(P, S, i, H, rhs)
        return
    rhs[i - 1] = -_gram_ref(C, S, i)
    for j in range(1, i + 1):
        H[i - 1, j - 1] = _gram_diff(C, S, i, j)


@njit(cache=True, nogil=True, inline="always")
def _load_cholesky(P, C, S, s, H, L, rhs, first):
    """Rebuild the reduced normal matrix of the corral ``S[:s]`` and its Cholesky factor.

    The affine hull of the corral is written ``q_{S_0} + sum_i beta_i d_i``
    with ``d_i = q_{S_i} - q_{S_0}`` (the subproblem shifted to its reference
    point): ``H = [<d_i, d_j>]``, ``rhs = [-<d_i, q_{S_0}>]`` (i = 1..s-1).
    Unlike Wolfe's ``Q^T Q + 1 1^T``, nothing here mixes the scale of the
    differences with the scale of the points, so a corral of near-duplicates
    next to far points keeps its geometry.  Returns the first row of H that is
    not positive definite to rounding (:func:`_cholesky_rebuild`), -1 if none.

    ``first`` is the first corral position whose point changed since the
    factor was valid: the rows of ``H``, ``rhs`` and ``L`` before it stay (a
    pivot in the middle of a corral recomputes about half of the factor); 0 or
    1 rebuild everything (0: the reference point changed).
    """
    first = max(first, 1)
    for i in range(first, s):
        _load_row(P, C, S, i, H, rhs)
    return _cholesky_rebuild(H, s - 1, L, first - 1)


@njit(cache=True, nogil=True, inline="always")
def _affine(L, s, rhs, beta, alpha):
    """Affine minimizer of the corral: ``alpha[:s]``, summing to 1, from ``H beta = rhs``.

    ``beta[:s - 1] = (L L^T)^{-1} rhs`` (forward then back substitution,
    both into ``beta``), ``alpha[1:s] = beta``, ``alpha[0] = 1 - sum(beta)``.
    Returns ``min(alpha[:s])``.  ``s >= 2``.  The one triangular solve of
    the module: :func:`refine_support` solves its correction with it too.
    """
    n = s - 1
    for i in range(n):
        beta[i] = rhs[i]
    _forward(L, n, beta)
    _backward(L, n, beta)
    tot = 0.0
    for i in range(n):
        alpha[i + 1] = beta[i]
        tot += beta[i]
    alpha[0] = 1.0 - tot
    return _min(alpha, s)


@njit(cache=True, nogil=True)
def workspace(m, d):
    """Scratch arrays for :func:`min_norm_point_ws` with up to ``m`` candidates in R^d."""
    smax = min(m, d + 1)
    return Workspace(np.empty(smax + 1, dtype=np.int64), np.empty(smax + 1),
                     np.empty((smax + 1, m)), np.empty((smax + 1, smax + 1)),
                     np.zeros((smax + 1, smax + 1)), np.empty(smax + 1), np.empty(m),
                     np.zeros(m, dtype=np.bool_), np.empty(m), np.empty(smax + 1),
                     np.empty(smax + 1))


@njit(cache=True, nogil=True)
def min_norm_point(P, G, idx, k, lam0, gap_tol, max_iter):
    """Wolfe's algorithm with freshly allocated scratch space (see :func:`min_norm_point_ws`)."""
    out = np.empty(idx.shape[0])
    status = min_norm_point_ws(ShiftedPoints(P, G, idx, k), lam0, gap_tol, max_iter,
                               workspace(idx.shape[0], P.shape[1]), out)
    return out, status


@njit(cache=True, nogil=True, inline="always")
def _squared_norms(P, G, idx, k, sq):
    """``sq[b] = ||q_b||^2``; returns the nearest candidate and the rounding level of one inner product.

    The rounding level of ``<q_a, q_b>`` is relative to ``|q_a| |q_b|`` with
    explicit points, absolute (the Gram entries' own error) otherwise.
    """
    m = idx.shape[0]
    d = P.shape[1]
    explicit = P.shape[0] > 0
    jnear = 0
    gmax = 0.0
    for b in range(m):
        if explicit:
            acc = 0.0
            for t in range(d):
                acc += P[b, t] * P[b, t]
        else:
            ib = idx[b]
            acc = G[ib, ib] - 2.0 * G[k, ib] + G[k, k]
            gmax = max(gmax, G[ib, ib])
        sq[b] = acc
        if acc < sq[jnear]:
            jnear = b
    if explicit:
        return jnear, 4.0 * (d + 8) * EPS
    return jnear, 8.0 * (d + 8) * EPS * max(gmax, G[k, k])


@njit(cache=True, nogil=True, inline="always")
def _start_corral(pts, lam0, smax, jnear, ws):
    """Initial corral and weights: the support of the warm start ``lam0``, else ``jnear``.

    A warm start is ``lam0`` summing to a positive number; its support is cut
    to ``smax`` points.  Its weights need only be a point of the corral's hull:
    the caller's minor cycle (:func:`_minor_cycle`) drops affinely dependent
    points and moves to the affine minimizer (Wolfe's invariant).  Returns the
    corral size ``s``.
    """
    P, G, idx, k = pts
    S, lam, C, _, _, _, _, in_S, _, _, _ = ws
    m = idx.shape[0]
    for b in range(m):
        in_S[b] = False
    s = 0
    tot = 0.0
    for b in range(m):
        tot += lam0[b]
    if tot > 0.0:
        for b in range(m):
            if lam0[b] > 0.0 and s < smax:
                S[s] = b
                lam[s] = lam0[b]
                s += 1
        _normalize(lam, s)
    else:
        S[0] = jnear
        lam[0] = 1.0
        s = 1
    for i in range(s):
        _fill_row(P, G, idx, k, S[i], C, i)
        in_S[S[i]] = True
    return s


@njit(cache=True, nogil=True, inline="always")
def _major_step(C, lam, S, s, g, m):
    """``g_b = <x, q_b> = sum_i lam_i C[i, b]`` (b < m) for the corral ``S[:s]``.

    Returns ``(||x||^2, argmin_b g_b)``.
    """
    for b in range(m):
        g[b] = 0.0
    for i in range(s):
        li = lam[i]
        for b in range(m):
            g[b] += li * C[i, b]
    xx = 0.0
    for i in range(s):
        xx += lam[i] * g[S[i]]
    jmin = 0
    for b in range(1, m):
        if g[b] < g[jmin]:
            jmin = b
    return xx, jmin


@njit(cache=True, nogil=True, inline="always")
def _rounding_floors(lam, S, sq, s, jmin, cround, explicit):
    """Rounding levels of ``||x||^2`` and of the gap ``||x||^2 - g_jmin``.

    With explicit points the error of ``g_b = sum_i lam_i <q_i, q_b>`` is about
    ``cround sum_i lam_i |q_i| |q_b|``; with Gram lookups it is absolute, ``cround``.
    """
    if not explicit:
        return cround, cround
    nu = 0.0
    for i in range(s):
        nu += lam[i] * np.sqrt(max(sq[S[i]], 0.0))
    return cround * nu * nu, cround * nu * (nu + np.sqrt(max(sq[jmin], 0.0)))


@njit(cache=True, nogil=True, inline="always")
def _drop_vanished(S, lam, alpha, C, L, rhs, in_S, s, m):
    """Move ``lam`` toward the affine minimizer ``alpha`` until a weight vanishes; drop those points.

    Takes the largest step ``theta`` keeping ``lam`` nonnegative, then removes
    every point whose weight is (to 1e-15) zero, at least the smallest, with
    its row of ``C`` (m candidates).  In corrals of more than
    ``DOWNDATE_MIN_CORRAL`` points each also leaves ``rhs`` and the factor
    (:func:`_cholesky_delete`).  Returns the new corral size (the weights
    renormalized) and the first corral position whose factor row is stale:
    -1 after the downdates, 0 where the reference point ``S[0]`` left (every
    difference changes) or a rotation degenerated, else the first position
    dropped (small corrals: refactoring from there costs no more).
    """
    theta = 1.0
    for i in range(s):
        if alpha[i] <= 1e-15:
            den = lam[i] - alpha[i]
            if den > 0.0 and lam[i] / den < theta:
                theta = lam[i] / den
    ibest = 0
    for i in range(s):
        lam[i] = theta * alpha[i] + (1.0 - theta) * lam[i]
        if lam[i] < lam[ibest]:
            ibest = i
    first = -1
    for i in range(s - 1, -1, -1):       # the points that leave lose their in_S mark
        if i == ibest or lam[i] <= 1e-15:
            in_S[S[i]] = False
            first = i                    # the first position dropped
    if first > 0 and s > DOWNDATE_MIN_CORRAL:
        first = -1
        n = s - 1                        # the factor's order
        for i in range(s - 1, 0, -1):    # last first: the positions before i keep their rows
            if not in_S[S[i]]:
                if not _cholesky_delete(L, n, i - 1):
                    first = 0
                for t in range(i - 1, n - 1):
                    rhs[t] = rhs[t + 1]
                n -= 1
    w = 0
    for i in range(s):
        if not in_S[S[i]]:
            continue
        S[w] = S[i]
        lam[w] = lam[i]
        for b in range(m):
            C[w, b] = C[i, b]
        w += 1
    _normalize(lam, w)
    return w, first


@njit(cache=True, nogil=True, inline="always")
def _dependency(L, n, beta, nu):
    """``nu[:n + 2]`` with ``sum_i nu_i q_{S_i} = 0`` and ``sum nu = 0``, ``nu[n + 1] = 1``: point
    ``S[n + 1]`` written affinely by ``S[:n + 1]``, from its row ``L[n, :n]`` of the factor
    (``L^{-1} h``, ``h_i = <d_{n+1}, d_i>``): ``H^{-1} h`` by back substitution."""
    for i in range(n):
        beta[i] = L[n, i]
    _backward(L, n, beta)
    tot = 0.0
    for i in range(n):
        nu[i + 1] = -beta[i]
        tot += beta[i]
    nu[0] = tot - 1.0
    nu[n + 1] = 1.0


@njit(cache=True, nogil=True, inline="always")
def _ratio_test(lam, nu, s):
    """Move ``lam`` along ``-nu`` until the first weight vanishes (``nu_i > 0``); returns its index (-1: none)."""
    out = -1
    step = np.inf
    for i in range(s):
        if nu[i] > 1e-12 and lam[i] / nu[i] < step:
            step = lam[i] / nu[i]
            out = i
    if out >= 0:
        for i in range(s):
            lam[i] = max(lam[i] - step * nu[i], 0.0)
        lam[out] = 0.0
    return out


@njit(cache=True, nogil=True, inline="always")
def _factor_reduced(P, C, S, lam, H, L, rhs, beta, nu, in_S, s, first):
    """Factor the corral's ``H``, first dropping points affinely dependent on the others to rounding.

    Where point ``S[n + 1]`` fails the pivot test, the weights move along the
    dependency (:func:`_dependency`; the point stays where it is, to rounding) until one
    vanishes (:func:`_ratio_test`: Caratheodory's reduction), that point leaves and the
    factor is rebuilt from there.  ``first``: as in :func:`_load_cholesky`.  Returns the new
    corral size (at least 1).
    """
    m = C.shape[1]
    while s > 1:
        bad = _load_cholesky(P, C, S, s, H, L, rhs, first)
        if bad < 0:
            return s
        _dependency(L, bad, beta, nu)
        for i in range(bad + 2, s):
            nu[i] = 0.0
        out = _ratio_test(lam, nu, s)
        in_S[S[out]] = False
        for i in range(out, s - 1):
            S[i] = S[i + 1]
            lam[i] = lam[i + 1]
            for b in range(m):
                C[i, b] = C[i + 1, b]
        s -= 1
        first = out
        _normalize(lam, s)
    return s


@njit(cache=True, nogil=True, inline="always")
def _comparable_scales(sq, S, s, jmin):
    """Whether the corral and ``jmin`` have squared norms within a factor 1e8 of each other.

    The pivot test is relative to the largest of them, so among a near-duplicate
    (``||q|| ~ 1e-14``) and far points its dependency is rounding noise at the
    near-duplicate's scale, and a pivot on it loses the hull point (measured: a
    distance of 2.6e-16 left with the bracket [1.6e-16, 2.6e-16]).  Polished codes,
    where the pivot is needed, have all their contacts at one distance.
    """
    lo = hi = sq[jmin]
    for i in range(s):
        lo = min(lo, sq[S[i]])
        hi = max(hi, sq[S[i]])
    return hi <= 1e8 * lo


@njit(cache=True, nogil=True, inline="always")
def _exchange(C, S, lam, L, beta, nu, in_S, s, jmin):
    """Bring ``jmin``, in the corral's affine hull to rounding, in for a corral point (a pivot).

    Polished codes make this the rule, not the exception: the codewords at the
    minimum angle from ``w_k`` lie on the hyperplane ``<w, w_k> = t``, so the
    candidate that the major step finds next to a full face is affinely
    dependent on it to about the code's own accuracy, and appending it fails
    the pivot test (a Tammes code at (10, 100): 72 of 100 classes stopped there,
    their certificates 1e-9 wide).  Then ``q_jmin = sum_i mu_i q_{S_i}``
    (``sum mu = 1``, :func:`_dependency` from the factor's row just computed for
    ``jmin``, ``L[s - 1, :s - 1]``); moving weight onto ``jmin`` along ``mu``
    (:func:`_ratio_test`) lowers ``||x||`` as ``<x, q_jmin> < ||x||^2`` says and
    empties a corral point, whose slot ``jmin`` takes (its row of ``C`` is row
    ``s``).  Returns that slot, -1 where no point can leave; the caller refactors
    the corral from the slot on (:func:`_factor_reduced`).
    """
    _dependency(L, s - 1, beta, nu)
    for i in range(s):
        nu[i] = -nu[i]                 # mu: jmin's affine weights on the corral
    out = _ratio_test(lam, nu, s)
    if out < 0:
        return -1
    t = 0.0
    for i in range(s):
        t += lam[i]
    in_S[S[out]] = False
    in_S[jmin] = True
    S[out] = jmin
    lam[out] = 1.0 - t                 # the weight moved onto jmin
    for b in range(C.shape[1]):
        C[out, b] = C[s, b]
    _normalize(lam, s)
    return out


@njit(cache=True, nogil=True, inline="always")
def _minor_cycle(P, C, S, lam, H, L, rhs, beta, alpha, in_S, s, m, first):
    """Wolfe's minor cycle: from ``lam`` (nonnegative weights on the corral) to the affine
    minimizer of what remains, dropping the points whose weight vanishes on the way.

    ``first`` is the first corral position whose factor row is stale (-1: none; points
    affinely dependent to rounding are dropped while refactoring, :func:`_factor_reduced`).
    Leaves ``lam`` at the affine minimizer, every weight positive; returns the corral size.
    """
    while True:
        if first >= 0:
            s = _factor_reduced(P, C, S, lam, H, L, rhs, beta, alpha, in_S, s, first)
        if s == 1 or _affine(L, s, rhs, beta, alpha) > 1e-15:
            break
        s, first = _drop_vanished(S, lam, alpha, C, L, rhs, in_S, s, m)
    if s == 1:
        lam[0] = 1.0
    else:
        for i in range(s):
            lam[i] = alpha[i]
    return s


@njit(cache=True, nogil=True, refcount=False)
def min_norm_point_ws(pts, lam0, gap_tol, max_iter, ws, out):
    """Minimum-norm point of the convex hull of shifted points ``q_b``.

    Wolfe's method: from a corral (:func:`_start_corral`), alternate a major
    step (:func:`_major_step`: the candidate ``jmin`` that most violates
    ``<x, q_b> >= ||x||^2``; stop at the relative gap or at rounding level,
    :func:`_rounding_floors`), a Cholesky append (``jmin`` joins the corral:
    :func:`_fill_row`, :func:`_load_row`, :func:`_cholesky_row`; where ``jmin`` is
    affinely dependent on the corral to rounding, it is pivoted in for a corral
    point instead, :func:`_exchange`, at most ``2 smax`` times a solve and only
    among points of comparable norms, :func:`_comparable_scales`) and a minor
    cycle (move to the corral's affine minimizer, :func:`_affine`, dropping
    the points whose weight would turn negative, :func:`_drop_vanished`, and any
    left affinely dependent, :func:`_factor_reduced`).

    Parameters
    ----------
    pts : ShiftedPoints
        ``(P, G, idx, k)``: the ``m`` candidates, explicit or by Gram lookups.
    lam0 : (m,) float64
        Warm start: nonnegative weights with a positive sum (their support, cut
        to ``min(m, d + 1)`` points, may be affinely dependent), or all zeros
        for a cold start at the nearest candidate.
    gap_tol : float
        Stop when ``||x||^2 - min_b <x, q_b> <= gap_tol ||x||^2`` (the relative
        width of the distance certificate).
    max_iter : int
        Cap on major iterations (a safeguard; Wolfe's method terminates finitely).
    ws : Workspace
        Scratch arrays from :func:`workspace` (for at least m candidates).
    out : (m,) float64
        Receives the barycentric weights of the nearest point ``v + sum_b lam_b q_b``.

    Returns
    -------
    status : int
        0 converged, 1 iteration cap, 2 stopped at rounding level (gap below
        the rounding floor, or a corral affinely dependent to rounding), 3
        ``||x||^2`` itself at rounding level (v may lie in the hull).  Only the
        certificate computed afterwards decides what the result is worth.

    References
    ----------
    P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11
    (1976) 128-149.
    """
    P, G, idx, k = pts
    S, lam, C, H, L, alpha, g, in_S, sq, rhs, beta = ws
    m = idx.shape[0]
    explicit = P.shape[0] > 0
    smax = min(m, P.shape[1] + 1)
    jnear, cround = _squared_norms(P, G, idx, k, sq)
    s = _start_corral(pts, lam0, smax, jnear, ws)
    s = _minor_cycle(P, C, S, lam, H, L, rhs, beta, alpha, in_S, s, m, 0)
    status = MAX_ITER
    exchanges = 0
    for _ in range(max_iter):
        # ---- major step
        xx, jmin = _major_step(C, lam, S, s, g, m)
        gap = xx - g[jmin]
        if gap <= gap_tol * xx:
            status = OK
            break
        floor_x, floor_g = _rounding_floors(lam, S, sq, s, jmin, cround, explicit)
        if xx <= floor_x:
            status = INSIDE
            break
        if gap <= floor_g or in_S[jmin] or s >= smax:
            status = ROUNDING
            break
        # ---- Cholesky append: jmin joins the corral with weight 0
        S[s] = jmin
        lam[s] = 0.0
        _fill_row(P, G, idx, k, jmin, C, s)
        _load_row(P, C, S, s, H, rhs)
        first = -1                     # the first corral position to refactor from (-1: none)
        if _cholesky_row(H, L, s - 1):
            in_S[jmin] = True
            s += 1
        else:
            # a pivot may cycle where several points are dependent to rounding: a few per solve
            exchanges += 1
            if exchanges <= 2 * smax and _comparable_scales(sq, S, s, jmin):
                first = _exchange(C, S, lam, L, beta, alpha, in_S, s, jmin)
            if first < 0:
                status = ROUNDING      # affinely dependent to rounding, and nothing can leave
                break
        s = _minor_cycle(P, C, S, lam, H, L, rhs, beta, alpha, in_S, s, m, first)
    for b in range(m):
        out[b] = 0.0
    for i in range(s):
        out[S[i]] = lam[i]
    return status


# ---------------------------------------------------------------------------
# Double-double arithmetic for the certificate (error-free transformations:
# Knuth's TwoSum, Dekker's TwoProduct).  Inputs are O(1) after the callers'
# power-of-two scaling, so Dekker's split cannot overflow.

@njit(cache=True, nogil=True)
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, nogil=True)
def _two_prod(a, b):
    p = a * b
    c = 134217729.0 * a
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(cache=True, nogil=True)
def _dd_add(ah, al, bh, bl):
    s, e = _two_sum(ah, bh)
    e += al + bl
    h = s + e
    return h, e - (h - s)


@njit(cache=True, nogil=True)
def _dd_mul(ah, al, bh, bl):
    p, e = _two_prod(ah, bh)
    e += ah * bl + al * bh
    h = p + e
    return h, e - (h - p)


@njit(cache=True, nogil=True)
def _dd_div(ah, al, bh, bl):
    q = ah / bh
    ph, pl = _dd_mul(q, 0.0, bh, bl)
    rh, rl = _dd_add(ah, al, -ph, -pl)
    q2 = rh / bh
    h = q + q2
    return h, q2 - (h - q)


@njit(cache=True, nogil=True, refcount=False)
def diff_dot(xh, xl, a, v):
    """``<x, a - v>`` with ``x = xh + xl``, in double-double; returns (value, error bound)."""
    sh = 0.0
    sl = 0.0
    sabs = 0.0
    for t in range(a.shape[0]):
        dh, dl = _two_sum(a[t], -v[t])
        ph, pl = _dd_mul(xh[t], xl[t], dh, dl)
        sh, sl = _dd_add(sh, sl, ph, pl)
        sabs += abs(xh[t] * dh)
    val = sh + sl
    n = a.shape[0]
    # the last term: products that underflow (codewords ~1e-150 apart) lose up to ETA each
    return val, 2.0 * EPS * abs(val) + (8.0 * n + 16.0) * EPS * EPS * sabs + (8.0 * n + 16.0) * ETA


@njit(cache=True, nogil=True, refcount=False)
def _point_dd(Qh, Ql, lh, ll, s, xh, xl):
    """x = sum_i lam_i q_i in double-double; returns ||x||^2 rounded to double."""
    nn = 0.0
    for t in range(Qh.shape[1]):
        ph = 0.0
        pl = 0.0
        for i in range(s):
            th, tl = _dd_mul(lh[i], ll[i], Qh[i, t], Ql[i, t])
            ph, pl = _dd_add(ph, pl, th, tl)
        xh[t] = ph
        xl[t] = pl
        nn += ph * ph
    return nn


@njit(cache=True, nogil=True, refcount=False)
def _point_double(PT, v, sidx, lam, s, tol, xh, xl):
    """The fast path of :func:`refine_support`: ``x`` in plain double with a rigorous error bound.

    ``x = sum_i lam_i q_i / T`` (``T = sum_i lam_i``) into ``xh`` (``xl = 0``);
    its error is at most ``(2s + 8) eps sum_i lam_i ||q_i|| / T`` (rounding of
    the differences, products, sums and the division).  Returns ``(norm,
    upper, nup, verdict)``: verdict 0 when that bracket is far inside ``tol``
    (``lam`` is then normalized and the three bounds are final), 1 when the
    point must be formed in double-double, 2 when the support must be refined
    first (the lower bound loses about ``eps (sigma / ||x||)^2`` relative to
    the distance without refinement, ``sigma`` the largest support distance).
    Allocates nothing (compiled without reference counting).
    """
    d = PT.shape[1]
    tot = 0.0
    ax = 0.0
    sig = 0.0
    for i in range(s):
        tot += lam[i]
        acc = 0.0
        for t in range(d):
            q = PT[sidx[i], t] - v[t]
            acc += q * q
        sig = max(sig, acc)
        ax += lam[i] * np.sqrt(acc)
    nn = 0.0
    for t in range(d):
        acc = 0.0
        vt = v[t]
        for i in range(s):
            acc += lam[i] * (PT[sidx[i], t] - vt)
        xh[t] = acc / tot
        xl[t] = 0.0
        nn += xh[t] * xh[t]
    nx = np.sqrt(nn)
    err = (2.0 * s + 8.0) * EPS * ax / tot + (s + 2.0) * d * ETA
    if s >= 2 and 16.0 * EPS * sig > tol * nn:
        return nx, 0.0, 0.0, 2
    # below 2^-400 the squares above come near underflow: double-double path, scaled
    if nx > 2.0 ** -400 and err <= 0.0625 * tol * nx:
        for i in range(s):
            lam[i] = lam[i] / tot
        grow = 1.0 + (d + 4.0) * EPS
        return nx, nx * grow + err, nx * grow, 0
    return nx, 0.0, 0.0, 1


@njit(cache=True, nogil=True)
def refine_support(PT, v, sidx, lam, s, iters, tol, xh, xl):
    """Certified hull point of the support ``PT[sidx[:s]]`` with weights ``lam[:s]``.

    Polishes the weights by ``iters`` sweeps of iterative refinement on the
    affine hull of the support (residuals in double-double, corrections from
    the Cholesky factor of the differences' normal matrix), stopping early if
    a weight would turn negative.  With ``iters == 0`` it refines only when the
    bracket could not otherwise be tight to ``tol``: the lower bound loses
    about ``eps (sigma / ||x||)^2`` relative to the distance, ``sigma`` the
    largest support distance.  Writes ``x = sum_i lam_i (p_i - v) / sum_i lam_i`` as
    ``xh + xl`` (double-double) and the polished weights, normalized, into
    ``lam``.  Returns ``(norm, upper, nup)``: ``||x||`` to double-double accuracy
    rounded to double; ``upper``, an upper bound on ``dist(v, conv PT)``
    attained by the point with those weights (rounded outward); and ``nup``,
    an upper bound on ``||xh + xl||`` for :func:`lower_bound`.  When plain
    double precision already gives a bracket far inside ``tol`` (the usual
    case at distances of order one), ``x`` is formed in double with a
    rigorous error bound and ``xl = 0``.
    """
    d = PT.shape[1]
    if iters == 0:
        nx, up, nup, verdict = _point_double(PT, v, sidx, lam, s, tol, xh, xl)
        if verdict == 0:
            return nx, up, nup
        if verdict == 2:
            iters = REFINE_ITERS
    Qh = np.empty((s, d))
    Ql = np.empty((s, d))
    for i in range(s):
        p = PT[sidx[i]]
        for t in range(d):
            Qh[i, t], Ql[i, t] = _two_sum(p[t], -v[t])
    lh = np.empty(s)
    ll = np.zeros(s)
    for i in range(s):
        lh[i] = lam[i]
    have_x = False
    if iters > 0 and s >= 2:
        # Differences to the first support point, d_i = q_i - q_0 (double-double),
        # and the reduced normal matrix H = [<d_i, d_j>] from their high parts.
        n = s - 1
        Dh = np.empty((n, d))
        Dl = np.empty((n, d))
        for i in range(n):
            for t in range(d):
                Dh[i, t], Dl[i, t] = _dd_add(Qh[i + 1, t], Ql[i + 1, t], -Qh[0, t], -Ql[0, t])
        H = np.empty((n, n))
        L = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1):
                acc = 0.0
                for t in range(d):
                    acc += Dh[i, t] * Dh[j, t]
                H[i, j] = acc
                H[j, i] = acc
        if _cholesky_rebuild(H, n, L, 0) < 0:
            r = np.empty(n)
            delta = np.empty(n)
            shifted = np.empty(n + 1)
            for _ in range(iters):
                _point_dd(Qh, Ql, lh, ll, s, xh, xl)     # x = sum_i lam_i q_i
                for i in range(n):      # r_i = <d_i, x>: zero at the affine minimizer
                    ph = 0.0
                    pl = 0.0
                    for t in range(d):
                        th, tl = _dd_mul(Dh[i, t], Dl[i, t], xh[t], xl[t])
                        ph, pl = _dd_add(ph, pl, th, tl)
                    r[i] = -(ph + pl)
                _affine(L, s, r, delta, shifted)   # H delta = -r; weight 0 takes -sum(delta)
                d0 = 0.0
                ok = True
                dmax = 0.0
                for i in range(n):
                    d0 -= delta[i]
                    if lh[i + 1] + delta[i] < 0.0:
                        ok = False
                    dmax = max(dmax, abs(delta[i]))
                if not ok or lh[0] + d0 < 0.0:
                    break
                have_x = False
                lh[0], ll[0] = _dd_add(lh[0], ll[0], d0, 0.0)
                for i in range(n):
                    lh[i + 1], ll[i + 1] = _dd_add(lh[i + 1], ll[i + 1], delta[i], 0.0)
                if dmax <= 1e-30:
                    break
    # final point x = sum_i lam_i q_i / sum_i lam_i, in double-double
    Th = 0.0
    Tl = 0.0
    for i in range(s):
        Th, Tl = _dd_add(Th, Tl, lh[i], ll[i])
    if not have_x:
        _point_dd(Qh, Ql, lh, ll, s, xh, xl)
    mx = 0.0
    for t in range(d):
        ph, pl = _dd_div(xh[t], xl[t], Th, Tl)
        xh[t] = ph
        xl[t] = pl
        mx = max(mx, abs(ph))
    for i in range(s):
        lam[i] = _dd_div(lh[i], ll[i], Th, Tl)[0]
    # the point the weights attain is within err of xh + xl: the upper bound covers it,
    # which matters when the point is far closer to v than its support (err ~ eps^2 |q|)
    err = _point_error(Qh, lh, s, Th)
    if mx == 0.0:
        return 0.0, err, 0.0      # x = 0 exactly (err = 0) only for a support on v itself
    n = _dd_norm(xh, xl, mx)
    nup = n * (1.0 + 8.0 * EPS)
    if n < 2.0 ** -1022:
        nup += ETA                # n itself subnormal: rounded
    return n, nup + err, nup


@njit(cache=True, nogil=True, refcount=False)
def _point_error(Qh, lh, s, T):
    """Bound on ``||xh + xl - sum_i lam_i q_i / T||`` for the double-double point of :func:`refine_support`.

    Each coordinate is a double-double sum of ``s`` double-double products,
    divided by ``T``: its error is at most ``(8 s + 32) eps^2 sum_i |lam_i q_i|``
    while no product underflows.  A product below ``SAFE`` (codewords less than
    ~1e-150 apart) may lose up to ``ETA`` at each of a few operations per
    coordinate.  0 when every ``q_i`` is 0 (the support is ``v`` itself).
    """
    d = Qh.shape[1]
    acc = 0.0
    under = False
    for i in range(s):
        for t in range(d):
            q = Qh[i, t]
            p = abs(lh[i] * q)
            acc += p
            if q != 0.0 and lh[i] != 0.0 and p < SAFE:
                under = True
    err = (8.0 * s + 32.0) * EPS * EPS * acc / T * (1.0 + 8.0 * d * EPS)
    if under:
        err += (8.0 * s + 32.0) * (d + 1.0) * ETA
    return err


@njit(cache=True, nogil=True, refcount=False)
def _dd_norm(xh, xl, mx):
    """``||xh + xl||`` to double-double accuracy, rounded to double (``mx = max_t |xh_t| > 0``).

    Scaled by the power of two that brings ``mx`` into [0.5, 1) (``ldexp``: exact,
    subnormals included), so that the squares neither underflow nor overflow;
    unscaled at the end (exact unless the result is subnormal).
    """
    ex = math.frexp(mx)[1]
    nh = 0.0
    nl = 0.0
    for t in range(xh.shape[0]):
        yh = math.ldexp(xh[t], -ex)
        yl = math.ldexp(xl[t], -ex)
        th, tl = _dd_mul(yh, yl, yh, yl)
        nh, nl = _dd_add(nh, nl, th, tl)
    n = np.sqrt(nh)
    ph, pl = _two_prod(n, n)
    n = n + ((nh - ph) - pl + nl) / (2.0 * n)
    return math.ldexp(n, ex)


@njit(cache=True, nogil=True, refcount=False)
def lower_bound(PT, v, exclude, xh, xl, norm, g, e, upper, tol):
    """Certified lower bound ``min_j <x, p_j - v> / ||x||`` on ``dist(v, conv PT)``.

    ``g[j]`` holds a fast value of ``<xh, p_j - v>`` and ``e[j]`` a bound on
    its error (row ``exclude`` is skipped); ``norm >= ||xh + xl||``.  If the
    fast values already bound the distance within ``tol / 2`` of ``upper``
    that bound is returned; otherwise every ``j`` that could attain the
    minimum is recomputed in double-double (``g[j]`` and ``e[j]`` are
    overwritten).  The result is rounded down.  Valid for any nonzero ``x``.
    """
    if norm <= 0.0:
        return 0.0
    n = PT.shape[0]
    hi = np.inf
    lo = np.inf
    for j in range(n):
        if j != exclude:
            hi = min(hi, g[j] + e[j])
            lo = min(lo, g[j] - e[j])
    if lo > 0.0:
        fast = lo / norm * (1.0 - 4.0 * EPS)
        if upper - fast <= 0.5 * tol * upper:
            return fast
    tmin = np.inf
    for j in range(n):
        if j == exclude or g[j] - e[j] > hi:
            continue
        t, err = diff_dot(xh, xl, PT[j], v)
        g[j] = t
        e[j] = err
        tmin = min(tmin, t - err)
    if not tmin > 0.0:
        return 0.0
    return tmin / norm * (1.0 - 4.0 * EPS)


@njit(cache=True, nogil=True, refcount=False)
def _top_m(row, exclude, m, hv, hi):
    """Indices of the (at most) ``m`` largest finite entries of ``row``, skipping ``exclude``.

    A size-``m`` min-heap (values ``hv``, indices ``hi``) keeps the running
    best in one pass.  Returns how many were found; they are ``hi[:count]``.
    """
    n = 0
    for j in range(row.shape[0]):
        v = row[j]
        if j == exclude or v == -np.inf:
            continue
        if n < m:          # push and sift up
            pos = n
            hv[pos] = v
            hi[pos] = j
            n += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if hv[pos] < hv[parent]:
                    hv[pos], hv[parent] = hv[parent], hv[pos]
                    hi[pos], hi[parent] = hi[parent], hi[pos]
                    pos = parent
                else:
                    break
        elif v > hv[0]:    # replace the smallest kept value
            hv[0] = v
            hi[0] = j
            _sift_down(hv, hi, 0, n)
    return n


@njit(cache=True, nogil=True)
def select_neighbors(Gb, ks, m0, out):
    """For each row i of ``Gb`` ``(b, K)``: the ``m0`` largest entries, skipping column ``ks[i]``."""
    hv = np.empty(m0)
    hi = np.empty(m0, dtype=np.int64)
    for i in range(Gb.shape[0]):
        _top_m(Gb[i], ks[i], m0, hv, hi)
        out[i, :m0] = hi


@njit(cache=True, nogil=True, refcount=False)
def _sift_down(hv, hi, pos, n):
    while True:
        left = 2 * pos + 1
        if left >= n:
            return
        small = left
        if left + 1 < n and hv[left + 1] < hv[left]:
            small = left + 1
        if hv[small] < hv[pos]:
            hv[pos], hv[small] = hv[small], hv[pos]
            hi[pos], hi[small] = hi[small], hi[pos]
            pos = small
        else:
            return


@njit(cache=True, nogil=True, refcount=False)
def _support(cand, lam, m, sidx, sw):
    s = 0
    for a in range(m):
        if lam[a] > 0.0:
            sidx[s] = cand[a]
            sw[s] = lam[a]
            s += 1
    return s


@njit(cache=True, nogil=True, inline="always")
def _scan_error(d, norm, gj):
    """Error bound of a fast ``<xh, w_j - w_k>`` = ``gj`` (see :func:`_scan_unit`; ``ETA``: products that underflow)."""
    return (4.0 * d + 24.0) * EPS * norm + (2.0 * d + 8.0) * ETA + 2.0 * EPS * abs(gj)


@njit(cache=True, nogil=True, refcount=False, fastmath={"reassoc", "contract", "nnan", "nsz"})
def _scan_unit(W, k, xh, norm, g, e):
    """Fast ``g[j] = <xh, w_j - w_k>`` over all codewords with an error bound ``e[j]``.

    ``W`` is the code, ``(d, K)`` C-contiguous: the products run along its
    rows, so they vectorize over the codewords even where d is small.  The
    bound covers the dot products' rounding (``gamma_d`` per product, any
    summation order, fused multiply-adds or not), the subtraction, and the low
    part of ``x`` that ``xh`` leaves out, for columns of norm at most ``1 +
    1e-8``.  ``g[k] = inf``, ``e[k] = 0``.  Returns ``min_j g[j] - e[j]``, a
    certified lower bound on ``min_j <x, w_j - w_k>``.  Finite inputs only
    (the fast-math flags assume no NaN; the code was validated).
    """
    d, K = W.shape
    for j in range(K):
        g[j] = 0.0
    for t in range(d):
        xt = xh[t]
        for j in range(K):
            g[j] += W[t, j] * xt
    xk = g[k]
    lo = np.inf
    for j in range(K):
        gj = g[j] - xk
        ej = _scan_error(d, norm, gj)
        g[j] = gj
        e[j] = ej
        lo = min(lo, gj - ej if j != k else np.inf)
    g[k] = np.inf
    e[k] = 0.0
    return lo


@njit(cache=True, nogil=True)
def solve_classes_gram(WT, W, G, ks, m0, tol, supp_idx, supp_w, nearest, dist, lower, upper, converged):
    """One-vs-rest projections of the classes ``ks`` (int64 array) with the whole Gram matrix.

    ``WT`` ``(K, d)`` and ``W`` ``(d, K)`` are the code in both layouts
    (C-contiguous; the scans run along the rows of ``W``), ``G = WT @ W``.
    For each class: solve on its ``m0`` nearest codewords, certify the
    support's hull point (:func:`refine_support`), check optimality against
    all K codewords (``<x, w_j - w_k> >= ||x||^2``, :func:`lower_bound`), add
    the worst violators and re-solve warm-started, until the certificate is
    tight (``upper - lower <= tol * upper``) or nothing is left to try: the
    Gram lookups lose absolute accuracy ~1e-16, so a class whose bracket stays
    wide is re-solved from explicit shifted points, and its support polished
    by iterative refinement.  Writes the support (``supp_idx``, ``supp_w``:
    ``(K, smax)``, index -1 past the support), ``nearest[:, k]`` (the nearest
    point, ``(d, K)``), ``dist[k]``, the certificate ``lower[k] <= upper[k]``
    and ``converged[k]`` (``upper - lower <= tol * upper``).
    """
    K, d = WT.shape
    empty = np.empty((0, d))
    cand = np.empty(K - 1, dtype=np.int64)
    lam0 = np.empty(K - 1)
    hv = np.empty(K)
    hi = np.empty(K, dtype=np.int64)
    tneg = np.empty(K)
    g = np.empty(K)
    e = np.empty(K)
    mark = np.zeros(K, dtype=np.bool_)
    xh = np.empty(d)
    xl = np.empty(d)
    lam = np.empty(K - 1)
    smax = min(K - 1, d + 1)
    sidx = np.empty(smax + 1, dtype=np.int64)
    sw = np.empty(smax + 1)
    ws = workspace(K - 1, d)
    grow = max(8, m0)
    for k in ks:
        m = _top_m(G[k], k, m0, hv, hi)
        for a in range(m):
            cand[a] = hi[a]
            lam0[a] = 0.0
        explicit = False
        iters = 0
        refined = False
        while True:
            if explicit:
                P = np.empty((m, d))
                for a in range(m):
                    for t in range(d):
                        P[a, t] = WT[cand[a], t] - WT[k, t]
            else:
                P = empty
            st = min_norm_point_ws(ShiftedPoints(P, G, cand[:m], k), lam0[:m], tol,
                                   50 * (min(m, d + 1) + 10), ws, lam)
            s = _support(cand, lam, m, sidx, sw)
            nx, up, nup = refine_support(WT, WT[k], sidx, sw, s, iters, tol, xh, xl)
            tlo = _scan_unit(W, k, xh, nx, g, e)
            lo = 0.0
            if tlo > 0.0 and nup > 0.0:
                lo = tlo / nup * (1.0 - 4.0 * EPS)
            if not up - lo <= 0.5 * tol * up:
                lo = lower_bound(WT, WT[k], k, xh, xl, nup, g, e, up, tol)
            if up - lo <= tol * up:
                break
            # violators outside the candidate set, most violated first
            xx = nx * nx
            bar = xx * (1.0 - tol)
            for a in range(m):
                mark[cand[a]] = True
            for j in range(K):
                if mark[j] or j == k or g[j] + e[j] >= bar:
                    tneg[j] = -np.inf
                else:
                    tneg[j] = -g[j]
            for a in range(m):
                mark[cand[a]] = False
            n_new = _top_m(tneg, k, grow, hv, hi)
            for a in range(m):
                lam0[a] = lam[a]
            if n_new > 0:
                for a in range(n_new):
                    cand[m + a] = hi[a]
                    lam0[m + a] = 0.0
                m += n_new
            elif not explicit:
                explicit = True          # Gram lookups at their rounding floor: start cold
                for a in range(m):
                    lam0[a] = 0.0
            elif not refined:
                refined = True
                iters = REFINE_ITERS     # polish the support in double-double
            else:
                break                    # the certificate says how close
        for a in range(s):
            supp_idx[k, a] = sidx[a]
            supp_w[k, a] = sw[a]
        for a in range(s, supp_idx.shape[1]):
            supp_idx[k, a] = -1
            supp_w[k, a] = 0.0
        for t in range(d):
            nearest[t, k] = WT[k, t] + xh[t]
        dist[k] = nx
        lower[k] = min(lo, nx)
        upper[k] = up
        converged[k] = up - lower[k] <= tol * up


@njit(cache=True, nogil=True)
def unit_norm_defect(W):
    """``max_k | ||w_k|| - 1 |`` over the columns of ``W`` ``(d, K)``; ``inf`` if an entry is not finite.

    A fast screen for valid codes: the caller accepts a code only well inside
    the tolerance and leaves every other case to the full validation.
    """
    d, K = W.shape
    worst = 0.0
    for k in range(K):
        acc = 0.0
        for t in range(d):
            x = W[t, k]
            if not np.isfinite(x):
                return np.inf
            acc += x * x
        worst = max(worst, abs(np.sqrt(acc) - 1.0))
    return worst


@njit(cache=True, nogil=True)
def solve_rows(WT, ks, todo, cand, ncand, lam, X, XL, dist, upper, nupper, status, iters, tol):
    """Run Wolfe's kernel on explicit shifted points for several classes of one block.

    ``WT`` is the code transposed, ``(K, d)``.  For local row ``i`` in
    ``todo``: class ``ks[i]``, candidates ``cand[i, :ncand[i]]`` with warm
    start ``lam[i, :ncand[i]]``; certifies the support's hull point with
    ``iters[i]`` refinement sweeps (:func:`refine_support`) and writes back
    ``lam`` (the polished weights), ``X[i] + XL[i]`` (the nearest point minus
    ``w_k``, double-double), ``dist[i]``, ``upper[i]``, ``nupper[i]`` (a bound
    on the norm of ``X[i] + XL[i]``) and ``status[i]``.
    """
    d = WT.shape[1]
    G = np.empty((0, 0))
    for t in range(todo.shape[0]):
        i = todo[t]
        k = ks[i]
        m = ncand[i]
        c = cand[i, :m]
        P = np.empty((m, d))
        for a in range(m):
            for q in range(d):
                P[a, q] = WT[c[a], q] - WT[k, q]
        lam0 = np.empty(m)
        for a in range(m):
            lam0[a] = lam[i, a]
        lam_i, st = min_norm_point(P, G, c, k, lam0, tol, 50 * (min(m, d + 1) + 10))
        sidx = np.empty(m, dtype=np.int64)
        sw = np.empty(m)
        s = _support(c, lam_i, m, sidx, sw)
        xh = X[i]
        xl = XL[i]
        nx, up, nup = refine_support(WT, WT[k], sidx, sw, s, iters[i], tol, xh, xl)
        nupper[i] = nup
        r = 0
        for a in range(m):
            if lam_i[a] > 0.0:
                lam[i, a] = sw[r]
                r += 1
            else:
                lam[i, a] = 0.0
        dist[i] = nx
        upper[i] = up
        status[i] = st


@njit(cache=True, nogil=True)
def lower_rows(WT, ks, rows, X, XL, dist, upper, nupper, g, tol, lower):
    """Certified lower bounds for rows ``rows`` of a block, from fast values ``g`` (p, K).

    ``g[p, j]`` is ``<X[rows[p]], w_j - w_k>`` from one matrix product (the
    entry of ``k`` itself +inf); the error bounds are those of
    :func:`_scan_unit`.  As in :func:`lower_bound`: the fast bound if it is
    tight enough, else the entries that could attain the minimum recomputed
    in double-double, in place.
    """
    K, d = WT.shape
    for p in range(rows.shape[0]):
        i = rows[p]
        k = ks[i]
        nx = dist[i]
        nup = nupper[i]
        if nx <= 0.0 or nup <= 0.0:
            lower[p] = 0.0
            continue
        row = g[p]
        hi = np.inf
        lo = np.inf
        for j in range(K):
            if j != k:
                ej = _scan_error(d, nx, row[j])
                hi = min(hi, row[j] + ej)
                lo = min(lo, row[j] - ej)
        if lo > 0.0:
            fast = lo / nup * (1.0 - 4.0 * EPS)
            if upper[i] - fast <= 0.5 * tol * upper[i]:
                lower[p] = min(fast, nx)
                continue
        tmin = np.inf
        for j in range(K):
            if j == k or row[j] - _scan_error(d, nx, row[j]) > hi:
                continue
            t, err = diff_dot(X[i], XL[i], WT[j], WT[k])
            row[j] = t
            tmin = min(tmin, t - err)
        low = 0.0
        if tmin > 0.0:
            low = tmin / nup * (1.0 - 4.0 * EPS)
        lower[p] = min(low, nx)
