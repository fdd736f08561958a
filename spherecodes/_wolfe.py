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


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _fill_row(P, G, idx, k, a, out):
    """out[b] = <q_a, q_b> for every candidate b.

    Two sources of inner products: explicit shifted points ``P`` (rows
    ``q_b``; used when ``P`` has rows), or a Gram matrix ``G`` of the raw
    points with ``q_b = a_{idx[b]} - a_k`` (every inner product a lookup).
    """
    m = idx.shape[0]
    if P.shape[0] > 0:
        d = P.shape[1]
        for b in range(m):
            acc = 0.0
            for t in range(d):   # reassociation lets LLVM vectorize this reduction
                acc += P[b, t] * P[a, t]
            out[b] = acc
    else:
        ia = idx[a]
        gak = G[k, ia]
        gkk = G[k, k]
        for b in range(m):
            ib = idx[b]
            out[b] = G[ia, ib] - gak - G[k, ib] + gkk


@njit(cache=True, nogil=True)
def _min(a, s):
    out = a[0]
    for i in range(1, s):
        out = min(out, a[i])
    return out


@njit(cache=True, nogil=True)
def _normalize(a, s):
    tot = 0.0
    for i in range(s):
        tot += a[i]
    for i in range(s):
        a[i] /= tot


@njit(cache=True, nogil=True)
def _load_cholesky(S, s, C, Msmall, L):
    """Rebuild ``M = Q_S^T Q_S + 1 1^T`` for the corral and its Cholesky factor."""
    for i in range(s):
        for j in range(s):
            Msmall[i, j] = C[i, S[j]] + 1.0
    return _cholesky_rebuild(Msmall, s, L)


@njit(cache=True, nogil=True)
def workspace(m, d):
    """Scratch arrays for :func:`min_norm_point_ws` with up to ``m`` candidates in R^d."""
    smax = min(m, d + 1)
    return (np.empty(smax + 1, dtype=np.int64),   # corral: candidate positions
            np.empty(smax + 1),                   # weights of corral points
            np.empty((smax + 1, m)),              # C[i, b] = <q_{S[i]}, q_b>
            np.empty((smax + 1, smax + 1)),       # M = Q_S^T Q_S + 1 1^T
            np.zeros((smax + 1, smax + 1)),       # its Cholesky factor
            np.empty(smax + 1),                   # affine minimizer
            np.empty(m),                          # g_b = <x, q_b>
            np.zeros(m, dtype=np.bool_),          # membership of the corral
            np.empty(m))                          # ||q_b||^2


@njit(cache=True, nogil=True)
def min_norm_point(P, G, idx, k, lam0, gap_tol, max_iter):
    """Wolfe's algorithm with freshly allocated scratch space (see :func:`min_norm_point_ws`)."""
    out = np.empty(idx.shape[0])
    status = min_norm_point_ws(P, G, idx, k, lam0, gap_tol, max_iter,
                               workspace(idx.shape[0], P.shape[1]), out)
    return out, status


@njit(cache=True, nogil=True)
def min_norm_point_ws(P, G, idx, k, lam0, gap_tol, max_iter, ws, out):
    """Minimum-norm point of the convex hull of shifted points ``q_b``.

    Parameters
    ----------
    P : (m, d) float64, or (0, d)
        Explicit shifted points ``q_b = a_b - v`` as rows; when it has no rows
        the inner products come from ``G`` instead.
    G : (K, K) float64, or (0, 0)
        Gram matrix of raw points; then ``q_b = a_{idx[b]} - a_k``.
    idx : (m,) int64
        Candidate indices into ``G`` (ignored with explicit ``P``).
    k : int
        Index of the point v in ``G`` (ignored with explicit ``P``).
    lam0 : (m,) float64
        Warm start: nonnegative weights summing to 1 on an affinely independent
        set, or all zeros for a cold start.
    gap_tol : float
        Stop when ``(||x||^2 - min_b <x, q_b>) / ||x|| <= gap_tol`` (the width of
        the distance certificate), or when the squared gap hits rounding level.
    max_iter : int
        Cap on major iterations (a safeguard; Wolfe's method terminates finitely).

    ws : tuple
        Scratch arrays from :func:`workspace` (for at least m candidates).
    out : (m,) float64
        Receives the barycentric weights of the nearest point ``v + sum_b lam_b q_b``.

    Returns
    -------
    status : int
        0 converged, 1 iteration cap, 2 numerical degeneracy (the point is
        still feasible; its certificate says how good), 3 v lies in the hull
        to rounding (``||x||^2 <= 1e-14 max_b ||q_b||^2``).
    """
    m = idx.shape[0]
    d = P.shape[1]
    smax = min(m, d + 1)
    S, lam, C, Msmall, L, alpha, g, in_S, sq = ws
    jnear = 0
    scale = 1e-300
    for b in range(m):
        if P.shape[0] > 0:
            acc = 0.0
            for t in range(d):
                acc += P[b, t] * P[b, t]
        else:
            ib = idx[b]
            acc = G[ib, ib] - 2.0 * G[k, ib] + G[k, k]
        sq[b] = acc
        scale = max(scale, acc)
        if acc < sq[jnear]:
            jnear = b
    floor = 1e-14 * scale

    for b in range(m):
        in_S[b] = False

    # ---- initial corral: the warm start if it is usable, else the nearest point
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
        for i in range(s):
            _fill_row(P, G, idx, k, S[i], C[i])
        if _load_cholesky(S, s, C, Msmall, L):
            _affine_minimizer(L, s, alpha)
            if _min(alpha, s) > 0.0:
                for i in range(s):
                    lam[i] = alpha[i]
            else:
                _normalize(lam, s)
        else:
            s = 0
    if s == 0:
        S[0] = jnear
        lam[0] = 1.0
        s = 1
        _fill_row(P, G, idx, k, S[0], C[0])
        _load_cholesky(S, s, C, Msmall, L)
    for i in range(s):
        in_S[S[i]] = True

    status = MAX_ITER
    for _ in range(max_iter):
        # ---- major step: g_b = <x, q_b> = sum_i lam_i C[i, b]
        for b in range(m):
            g[b] = 0.0
        for i in range(s):
            li = lam[i]
            for b in range(m):
                g[b] += li * C[i, b]
        xx = 0.0
        for i in range(s):
            xx += lam[i] * g[S[i]]
        if xx <= floor:
            status = INSIDE
            break
        jmin = 0
        for b in range(1, m):
            if g[b] < g[jmin]:
                jmin = b
        gap = xx - g[jmin]
        if gap <= gap_tol * np.sqrt(xx) or gap <= floor:
            status = OK
            break
        if in_S[jmin] or s >= smax:
            status = DEGENERATE
            break
        # ---- add jmin: extend the Cholesky factor of M by one row
        S[s] = jmin
        lam[s] = 0.0
        _fill_row(P, G, idx, k, jmin, C[s])
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
            status = DEGENERATE  # affinely dependent to rounding: no progress possible
            break
        L[s, s] = np.sqrt(acc)
        in_S[jmin] = True
        s += 1
        # ---- minor cycle: move toward the affine minimizer, dropping points
        while True:
            _affine_minimizer(L, s, alpha)
            if _min(alpha, s) > 1e-15:
                for i in range(s):
                    lam[i] = alpha[i]
                break
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
            w = 0
            for i in range(s):   # drop every vanished weight (at least the smallest)
                if i == ibest or lam[i] <= 1e-15:
                    in_S[S[i]] = False
                    continue
                S[w] = S[i]
                lam[w] = lam[i]
                for b in range(m):
                    C[w, b] = C[i, b]
                w += 1
            s = w
            _normalize(lam, s)
            _load_cholesky(S, s, C, Msmall, L)
            if s == 1:
                lam[0] = 1.0
                break

    for b in range(m):
        out[b] = 0.0
    for i in range(s):
        out[S[i]] = lam[i]
    return status


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dot(a, b):
    acc = 0.0
    for t in range(a.shape[0]):
        acc += a[t] * b[t]
    return acc


@njit(cache=True, nogil=True)
def solve_classes_gram(WT, G, k0, k1, m0, tol, supp_idx, supp_w, X, lower, status):
    """One-vs-rest projections of classes ``k0 <= k < k1`` with the whole Gram matrix.

    For each class: solve on its ``m0`` nearest codewords, form the nearest
    point explicitly, check optimality against all K codewords
    (``<x, w_j - w_k> >= ||x||^2``), add the worst violators and re-solve
    warm-started, until none is left.  Writes the support (``supp_idx``,
    ``supp_w``: ``(K, smax)``, index -1 past the support), ``X[k]`` (the
    nearest point minus ``w_k``), the certificate's ``lower[k]`` and
    ``status[k]``.
    """
    K, d = WT.shape
    empty = np.empty((0, d))
    cand = np.empty(K - 1, dtype=np.int64)
    lam0 = np.empty(K - 1)
    hv = np.empty(K)
    hi = np.empty(K, dtype=np.int64)
    tneg = np.empty(K)
    mark = np.zeros(K, dtype=np.bool_)
    x = np.empty(d)
    lam = np.empty(K - 1)
    ws = workspace(K - 1, d)
    grow = max(8, m0)
    for k in range(k0, k1):
        m = _top_m(G[k], k, m0, hv, hi)
        for a in range(m):
            cand[a] = hi[a]
            lam0[a] = 0.0
        while True:
            st = min_norm_point_ws(empty, G, cand[:m], k, lam0[:m], tol,
                                   50 * (min(m, d + 1) + 10), ws, lam)
            for t in range(d):
                x[t] = -WT[k, t]
            for a in range(m):
                if lam[a] != 0.0:
                    for t in range(d):
                        x[t] += lam[a] * WT[cand[a], t]
            xx = _dot(x, x)
            nx = np.sqrt(xx)
            xk = _dot(x, WT[k])
            tmin = np.inf
            for j in range(K):
                if j == k:
                    tneg[j] = -np.inf
                    continue
                tj = _dot(WT[j], x) - xk
                tneg[j] = -tj
                tmin = min(tmin, tj)
            if st == INSIDE or nx == 0.0:
                lower[k] = 0.0
                break
            lower[k] = min(nx, max(0.0, tmin / nx))
            if xx - tmin <= max(tol * nx, 4e-14):
                break
            # violators outside the candidate set, most violated first
            for a in range(m):
                mark[cand[a]] = True
            bar = -(xx - tol * nx)
            for j in range(K):
                if mark[j] or tneg[j] <= bar:
                    tneg[j] = -np.inf
            for a in range(m):
                mark[cand[a]] = False
            n_new = _top_m(tneg, k, grow, hv, hi)
            if n_new == 0:
                break           # a rounding-level degeneracy; the certificate says how close
            for a in range(m):
                lam0[a] = lam[a]
            for a in range(n_new):
                cand[m + a] = hi[a]
                lam0[m + a] = 0.0
            m += n_new
        c = 0
        for a in range(m):
            if lam[a] > 0.0 and c < supp_idx.shape[1]:
                supp_idx[k, c] = cand[a]
                supp_w[k, c] = lam[a]
                c += 1
        for a in range(c, supp_idx.shape[1]):
            supp_idx[k, a] = -1
            supp_w[k, a] = 0.0
        X[k] = x
        status[k] = st


@njit(cache=True, nogil=True)
def solve_rows(WT, G, ks, todo, cand, ncand, lam, X, status, tol):
    """Run :func:`min_norm_point` for several classes of one block.

    ``WT`` is the code transposed, ``(K, d)``; ``G`` its full Gram matrix, or
    ``(0, 0)`` to work from explicit shifted points instead.  For local row
    ``i`` in ``todo``: class ``ks[i]``, candidates ``cand[i, :ncand[i]]`` with
    warm start ``lam[i, :ncand[i]]``; writes back ``lam``, ``X[i]`` (the
    nearest point minus ``w_k``, formed explicitly for full accuracy) and
    ``status[i]``.
    """
    d = WT.shape[1]
    empty = np.empty((0, d))
    for t in range(todo.shape[0]):
        i = todo[t]
        k = ks[i]
        m = ncand[i]
        c = cand[i, :m]
        if G.shape[0] > 0:
            P = empty
        else:
            P = np.empty((m, d))
            for a in range(m):
                for t in range(d):
                    P[a, t] = WT[c[a], t] - WT[k, t]
        lam0 = np.empty(m)
        for a in range(m):
            lam0[a] = lam[i, a]
        lam_i, st = min_norm_point(P, G, c, k, lam0, tol, 50 * (min(m, d + 1) + 10))
        for t in range(d):
            X[i, t] = -WT[k, t]
        for a in range(m):
            lam[i, a] = lam_i[a]
            if lam_i[a] != 0.0:
                for t in range(d):
                    X[i, t] += lam_i[a] * WT[c[a], t]
        status[i] = st
