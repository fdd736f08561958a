"""Re-implementation of the paper's approach: projected subgradient descent on OB(d, K).

Baseline for ``bench_solvers.py``.  Each iteration takes a subgradient of the
nonsmooth max-min objective at its active term only and steps with a decaying
step size ``eta_t = eta0 / sqrt(1 + t)``, then projects each column back to the
sphere (normalization); the best iterate is kept.

* Tammes: minimize ``max_{i != j} <w_i, w_j>``; the subgradient moves the closest
  pair apart: ``w_i -= eta w_j``, ``w_j -= eta w_i``.
* Softmax Code: maximize ``min_k dist(w_k, conv{w_j : j != k})``; for the active
  class k with projection ``p_k = sum_j lam_kj w_j`` and ``u = (w_k - p_k)/||.||``:
  ``w_k += eta u``, ``w_j -= eta lam_kj u`` (envelope theorem).
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["subgradient_tammes", "subgradient_softmax"]


def _random_code(rng, d, K):
    W = rng.standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def subgradient_tammes(d, K, *, iterations=20000, eta0=0.1, seed=None, time_limit=None):
    """Projected subgradient descent on the max inner product.

    Returns
    -------
    W : ndarray, shape (d, K)
        Best iterate (unit columns).
    value : float
        Its max inner product.
    seconds : float
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    W = _random_code(rng, d, K)
    best, best_W = np.inf, W.copy()
    for t in range(iterations):
        G = W.T @ W
        np.fill_diagonal(G, -np.inf)
        idx = int(np.argmax(G))
        i, j = divmod(idx, K)
        v = G[i, j]
        if v < best:
            best, best_W = v, W.copy()
        eta = eta0 / np.sqrt(1.0 + t)
        wi, wj = W[:, i].copy(), W[:, j].copy()
        W[:, i] -= eta * wj
        W[:, j] -= eta * wi
        W[:, i] /= np.linalg.norm(W[:, i])
        W[:, j] /= np.linalg.norm(W[:, j])
        if time_limit is not None and (t & 255) == 0 and time.perf_counter() - t0 > time_limit:
            break
    return best_W, float(best), time.perf_counter() - t0


def subgradient_softmax(d, K, *, iterations=3000, eta0=0.1, seed=None, time_limit=None):
    """Projected subgradient ascent on the minimum one-vs-rest distance (exact distances from the core).

    Returns ``(W, rho, seconds)`` for the best iterate.
    """
    from spherecodes.hull import one_vs_rest_distances

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    W = _random_code(rng, d, K)
    best, best_W = -np.inf, W.copy()
    for t in range(iterations):
        res = one_vs_rest_distances(W)
        k = int(np.argmin(res.distance))
        rho = float(res.distance[k])
        if rho > best:
            best, best_W = rho, W.copy()
        u = W[:, k] - res.nearest[:, k]
        nu = np.linalg.norm(u)
        if nu == 0:
            break
        u /= nu
        eta = eta0 / np.sqrt(1.0 + t)
        lam = res.weights.getrow(k)
        W[:, k] += eta * u
        for j, l in zip(lam.indices, lam.data):
            W[:, j] -= eta * l * u
        W /= np.linalg.norm(W, axis=0)
        if time_limit is not None and (t & 31) == 0 and time.perf_counter() - t0 > time_limit:
            break
    return best_W, float(best), time.perf_counter() - t0
