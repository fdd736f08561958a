"""High-precision references (mpmath) for the certificate tests.

``mp_hull_distance`` is a brute force over supports: for every subset S of
at most ``d`` points (at most ``d + 1`` to detect an interior point) it
solves the affine minimum-norm problem on S exactly in ``dps``-digit
arithmetic (the KKT system ``[Q^T Q, 1; 1^T, 0]``, inputs converted exactly
from their doubles) and keeps the point that is feasible (weights >= 0) and
optimal against every point (``<x, q_j> >= ||x||^2``).  It shares no code
and no numerical method with the Wolfe kernel; it is exponential in d and
meant for d <= 4 and a dozen points.
"""
from itertools import combinations

import mpmath
import numpy as np


def mp_hull_distance(v, A, dps=80, max_support=None):
    """dist(v, conv of the columns of A) as an ``mpmath.mpf`` (brute force over supports)."""
    with mpmath.workdps(dps):
        A = np.asarray(A, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        d, m = A.shape
        Q = [[mpmath.mpf(float(A[t, j])) - mpmath.mpf(float(v[t])) for t in range(d)] for j in range(m)]
        G = [[mpmath.fsum(Q[a][t] * Q[b][t] for t in range(d)) for b in range(m)] for a in range(m)]
        scale = max(G[j][j] for j in range(m))
        if scale == 0:
            return mpmath.mpf(0)
        tiny = mpmath.mpf(10) ** (-dps // 2)
        best = None
        top = min(m, d + 1) if max_support is None else max_support
        for size in range(1, top + 1):
            for S in combinations(range(m), size):
                n = size + 1
                M = mpmath.matrix(n, n)
                rhs = mpmath.matrix(n, 1)
                for i, a in enumerate(S):
                    for j, b in enumerate(S):
                        M[i, j] = G[a][b] / scale
                    M[i, size] = 1
                    M[size, i] = 1
                rhs[size] = 1
                try:
                    sol = mpmath.lu_solve(M, rhs)
                except (ZeroDivisionError, TypeError):   # singular: mpmath's pivot search may find no row
                    continue
                alpha = [sol[i] for i in range(size)]
                if min(alpha) < -tiny:
                    continue
                if any(not mpmath.isfinite(a) for a in alpha):
                    continue
                gx = [mpmath.fsum(alpha[i] * G[S[i]][j] for i in range(size)) for j in range(m)]
                xx = mpmath.fsum(alpha[i] * gx[S[i]] for i in range(size))
                if xx < 0:
                    xx = mpmath.mpf(0)
                if min(gx) < xx - tiny * scale:
                    continue
                dist = mpmath.sqrt(xx)
                if best is None or dist < best:
                    best = dist
            if best is not None:
                return best
        raise RuntimeError("no optimal support found")


def mp_one_vs_rest(W, k, dps=80):
    """One-vs-rest distance of class k of W (d, K) as an ``mpmath.mpf``."""
    W = np.asarray(W, dtype=np.float64)
    return mp_hull_distance(W[:, k], np.delete(W, k, axis=1), dps=dps)


def mp_circle_code_distances(angles, dps=60):
    """One-vs-rest distances of the planar code ``(cos a_k, sin a_k)`` (angles sorted, convex position).

    Closed form: the hull of the other vertices has the chord of vertex k's
    two neighbours as the facet facing it, so the distance is that of w_k to
    the chord, evaluated in mpmath from the rounded double coordinates.
    """
    with mpmath.workdps(dps):
        W = np.vstack([np.cos(angles), np.sin(angles)])
        K = W.shape[1]
        out = []
        for k in range(K):
            P, A, B = ([mpmath.mpf(float(x)) for x in W[:, j]] for j in (k, (k - 1) % K, (k + 1) % K))
            u = (B[0] - A[0], B[1] - A[1])
            w = (P[0] - A[0], P[1] - A[1])
            out.append(abs(u[0] * w[1] - u[1] * w[0]) / mpmath.sqrt(u[0] ** 2 + u[1] ** 2))
        return W, out
