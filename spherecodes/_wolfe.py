"""numba kernel: Wolfe's minimum-norm-point algorithm.

Finds the point of ``conv{a_j}`` nearest to ``v`` by working with the shifted
points ``q_j = a_j - v`` and minimizing ``||sum_j lam_j q_j||`` over the
simplex.  Wolfe's method keeps a *corral* S of affinely independent points
(at most d + 1), alternates a major step (add the point most violating the
optimality condition ``<x, q_j> >= ||x||^2``) with minor steps (move to the
affine minimizer of S, dropping points whose weight would turn negative) and
terminates finitely.

Numerics: the affine minimizer of S solves ``M alpha = 1`` with
``M = Q_S^T Q_S + 1 1^T`` (positive definite iff S is affinely independent,
which is Wolfe's original trick); M's Cholesky factor is extended by one row
when a point enters and rebuilt when points leave.  For each corral point we
store its inner products with every candidate, so one major step costs
O(|S| m) instead of O(m d).

Everything here is private; the public API is in :mod:`spherecodes.hull`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# Status codes returned by the kernel.
OK = 0
MAX_ITER = 1
DEGENERATE = 2
INSIDE = 3  # v lies in the hull to rounding: distance 0


@njit(cache=True, nogil=True)
def _cholesky_rebuild(Msmall, s, L):
    """Cholesky of the leading s x s block of Msmall into L; returns False if not PD."""
    for i in range(s):
        for j in range(i + 1):
            acc = Msmall[i, j]
            for t in range(j):
                acc -= L[i, t] * L[j, t]
            if i == j:
                if acc <= 0.0:
                    return False
                L[i, i] = np.sqrt(acc)
            else:
                L[i, j] = acc / L[j, j]
    return True


@njit(cache=True, nogil=True)
def _affine_minimizer(L, s, alpha):
    """alpha = M^{-1} 1 / (1^T M^{-1} 1) given M = L L^T (first s entries)."""
    # forward: L z = 1
    for i in range(s):
        acc = 1.0
        for t in range(i):
            acc -= L[i, t] * alpha[t]
        alpha[i] = acc / L[i, i]
    # backward: L^T a = z
    for i in range(s - 1, -1, -1):
        acc = alpha[i]
        for t in range(i + 1, s):
            acc -= L[t, i] * alpha[t]
        alpha[i] = acc / L[i, i]
    tot = 0.0
    for i in range(s):
        tot += alpha[i]
    for i in range(s):
        alpha[i] /= tot


@njit(cache=True, nogil=True)
def min_norm_point(Q, lam0, gap_tol, max_iter):
    """Minimum-norm point of conv of the rows of Q.

    Parameters
    ----------
    Q : (m, d) float64
        Shifted candidate points ``q_j = a_j - v`` as rows.
    lam0 : (m,) float64
        Warm start: nonnegative weights summing to 1 on an affinely independent
        set, or all zeros for a cold start.
    gap_tol : float
        Stop when ``(||x||^2 - min_j <x, q_j>) / ||x|| <= gap_tol`` (the width of
        the distance certificate), or when the squared gap hits rounding level.
    max_iter : int
        Cap on major iterations (a safeguard; Wolfe's method terminates finitely).

    Returns
    -------
    lam : (m,) float64
        Barycentric weights of the nearest point.
    x : (d,) float64
        ``sum_j lam_j q_j`` (the nearest point minus v).
    status : int
        0 converged, 1 iteration cap, 2 numerical degeneracy (result still valid
        as a feasible point; its certificate says how good), 3 v lies in the
        hull to rounding (``||x||^2 <= 1e-14 max_j ||q_j||^2``).
    """
    m, d = Q.shape
    smax = min(m, d + 1)
    # norms for the rounding floor and the cold start
    sq = np.empty(m)
    scale = 0.0
    for j in range(m):
        acc = 0.0
        for t in range(d):
            acc += Q[j, t] * Q[j, t]
        sq[j] = acc
        if acc > scale:
            scale = acc
    floor = 1e-14 * max(scale, 1e-300)

    S = np.empty(smax + 1, dtype=np.int64)     # corral: candidate positions
    lam = np.empty(smax + 1)                   # weights of corral points
    C = np.empty((smax + 1, m))                # C[i] = Q @ q_{S[i]}
    Msmall = np.empty((smax + 1, smax + 1))
    L = np.zeros((smax + 1, smax + 1))
    alpha = np.empty(smax + 1)
    g = np.empty(m)
    x = np.zeros(d)
    in_S = np.zeros(m, dtype=np.bool_)
    s = 0

    # ---- initial corral
    tot0 = 0.0
    for j in range(m):
        tot0 += lam0[j]
    if tot0 > 0.0:
        for j in range(m):
            if lam0[j] > 0.0 and s < smax:
                S[s] = j
                lam[s] = lam0[j]
                in_S[j] = True
                s += 1
    else:
        jbest = 0
        for j in range(1, m):
            if sq[j] < sq[jbest]:
                jbest = j
        S[0] = jbest
        lam[0] = 1.0
        in_S[jbest] = True
        s = 1
    tot = 0.0
    for i in range(s):
        tot += lam[i]
    for i in range(s):
        lam[i] /= tot
    for i in range(s):
        qi = S[i]
        for j in range(m):
            acc = 0.0
            for t in range(d):
                acc += Q[j, t] * Q[qi, t]
            C[i, j] = acc
    for i in range(s):
        for k in range(s):
            Msmall[i, k] = C[i, S[k]] + 1.0
    if not _cholesky_rebuild(Msmall, s, L):
        # warm start was not affinely independent: fall back to a cold start
        for i in range(s):
            in_S[S[i]] = False
        jbest = 0
        for j in range(1, m):
            if sq[j] < sq[jbest]:
                jbest = j
        S[0] = jbest
        lam[0] = 1.0
        in_S[jbest] = True
        s = 1
        for j in range(m):
            C[0, j] = 0.0
            for t in range(d):
                C[0, j] += Q[j, t] * Q[jbest, t]
        Msmall[0, 0] = C[0, jbest] + 1.0
        _cholesky_rebuild(Msmall, s, L)
        # a single point: its own affine minimizer
    else:
        # make the warm start the affine minimizer of its corral if feasible
        _affine_minimizer(L, s, alpha)
        ok = True
        for i in range(s):
            if alpha[i] <= 0.0:
                ok = False
        if ok:
            for i in range(s):
                lam[i] = alpha[i]

    status = MAX_ITER
    for _ in range(max_iter):
        # ---- major step: g_j = <x, q_j> = sum_i lam_i C[i, j]
        for j in range(m):
            g[j] = 0.0
        for i in range(s):
            li = lam[i]
            for j in range(m):
                g[j] += li * C[i, j]
        xx = 0.0
        for i in range(s):
            xx += lam[i] * g[S[i]]
        if xx <= floor:
            status = INSIDE
            break
        jmin = 0
        for j in range(1, m):
            if g[j] < g[jmin]:
                jmin = j
        gap = xx - g[jmin]
        if gap <= gap_tol * np.sqrt(xx) or gap <= floor:
            status = OK
            break
        if in_S[jmin] or s >= smax:
            status = DEGENERATE
            break
        # ---- add jmin to the corral
        S[s] = jmin
        lam[s] = 0.0
        in_S[jmin] = True
        for j in range(m):
            acc = 0.0
            for t in range(d):
                acc += Q[j, t] * Q[jmin, t]
            C[s, j] = acc
        # extend the Cholesky factor by one row
        for i in range(s):
            Msmall[s, i] = C[i, jmin] + 1.0
            Msmall[i, s] = Msmall[s, i]
        Msmall[s, s] = C[s, jmin] + 1.0
        for i in range(s):
            acc = Msmall[s, i]
            for t in range(i):
                acc -= L[s, t] * L[i, t]
            L[s, i] = acc / L[i, i]
        acc = Msmall[s, s]
        for t in range(s):
            acc -= L[s, t] * L[s, t]
        if acc <= 1e-14 * Msmall[s, s]:
            # affinely dependent to rounding: no further progress is possible
            in_S[jmin] = False
            status = DEGENERATE
            break
        L[s, s] = np.sqrt(acc)
        s += 1
        # ---- minor cycle
        while True:
            _affine_minimizer(L, s, alpha)
            allpos = True
            for i in range(s):
                if alpha[i] <= 1e-15:
                    allpos = False
                    break
            if allpos:
                for i in range(s):
                    lam[i] = alpha[i]
                break
            theta = 1.0
            for i in range(s):
                if alpha[i] <= 1e-15:
                    den = lam[i] - alpha[i]
                    if den > 0.0:
                        th = lam[i] / den
                        if th < theta:
                            theta = th
            ibest = -1
            worst = np.inf
            for i in range(s):
                lam[i] = theta * alpha[i] + (1.0 - theta) * lam[i]
                if lam[i] < worst:
                    worst = lam[i]
                    ibest = i
            # drop every point whose weight vanished (at least the smallest)
            w = 0
            for i in range(s):
                if i == ibest or lam[i] <= 1e-15:
                    in_S[S[i]] = False
                    continue
                S[w] = S[i]
                lam[w] = lam[i]
                for j in range(m):
                    C[w, j] = C[i, j]
                w += 1
            s = w
            tot = 0.0
            for i in range(s):
                tot += lam[i]
            for i in range(s):
                lam[i] /= tot
            for i in range(s):
                for k in range(s):
                    Msmall[i, k] = C[i, S[k]] + 1.0
            _cholesky_rebuild(Msmall, s, L)
            if s == 1:
                lam[0] = 1.0
                break

    out = np.zeros(m)
    for i in range(s):
        out[S[i]] = lam[i]
    for j in range(m):
        lj = out[j]
        if lj != 0.0:
            for t in range(d):
                x[t] += lj * Q[j, t]
    return out, x, status


@njit(cache=True, nogil=True)
def select_neighbors(Gb, m0, out):
    """Column indices of the ``m0`` largest entries of each row of ``Gb``, ascending.

    ``Gb`` is ``(b, K)``; entries to exclude must already be ``-inf`` (they
    are never selected unless a row has fewer than ``m0`` finite entries).
    A size-``m0`` min-heap keeps the running best: one pass over each row.
    """
    b, K = Gb.shape
    hv = np.empty(m0)
    hi = np.empty(m0, dtype=np.int64)
    for i in range(b):
        row = Gb[i]
        for j in range(m0):  # heapify the first m0 entries
            hv[j] = row[j]
            hi[j] = j
        for start in range(m0 // 2 - 1, -1, -1):
            _sift_down(hv, hi, start, m0)
        for j in range(m0, K):
            if row[j] > hv[0]:
                hv[0] = row[j]
                hi[0] = j
                _sift_down(hv, hi, 0, m0)
        out[i, :m0] = np.sort(hi)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def solve_rows(WT, ks, todo, cand, ncand, lam, X, status, tol, max_iter):
    """Run :func:`min_norm_point` for several classes of one block.

    ``WT`` is the code transposed, ``(K, d)``.  For local row ``i`` in
    ``todo``: class ``ks[i]``, candidates ``cand[i, :ncand[i]]`` with warm
    start ``lam[i, :ncand[i]]``; writes back ``lam``, ``X[i]`` (the nearest
    point minus ``w_k``) and ``status[i]``.
    """
    d = WT.shape[1]
    for t in range(todo.shape[0]):
        i = todo[t]
        k = ks[i]
        m = ncand[i]
        Q = np.empty((m, d))
        for a in range(m):
            j = cand[i, a]
            for c in range(d):
                Q[a, c] = WT[j, c] - WT[k, c]
        mi = max_iter if max_iter > 0 else 50 * (min(m, d + 1) + 10)
        lam_i, x, st = min_norm_point(Q, lam[i, :m].copy(), tol, mi)
        lam[i, :m] = lam_i
        X[i] = x
        status[i] = st
