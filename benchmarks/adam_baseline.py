"""The baseline the solvers must beat: projected Adam on a log-sum-exp of the inner products.

About forty lines that a practitioner would write first: start from random unit
columns, minimise ``(1/beta) log sum_{i != j} exp(beta <w_i, w_j>)`` (a smooth
upper bound of the max inner product) with Adam on the tangent part of the
gradient, renormalise the columns after every step, raise ``beta`` geometrically
(the step shrinks as ``beta^-1/2``), keep the best iterate by the true max
inner product, restart from a new random point until the time is spent.

``benchmarks/bench_solvers.py`` and ``benchmarks/bench_large_k.py`` give it the
same seconds as the solver, in the same run.  Dense ``K x K`` per step: fine up to
K of a few tens of thousands in float32.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["adam_lse_baseline"]


def adam_lse_baseline(d, K, *, seconds, seed=0, lr=0.01, beta0=10.0, beta_max=1e5, steps_per_beta=200):
    """Best ``(W, max_inner_product)`` found by restarted projected Adam within ``seconds``.

    Parameters
    ----------
    d, K : int
        Dimension and number of unit vectors; ``W`` has shape (d, K).
    seconds : float
        Wall-clock budget for all restarts together.
    seed : int
        Seed of the random starting points.

    Returns
    -------
    W : ndarray, shape (d, K)
    t : float
        ``max_{i != j} <w_i, w_j>`` of ``W``.
    """
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + seconds
    best_W, best_t = None, np.inf
    b1, b2, eps = 0.9, 0.999, 1e-12
    while time.perf_counter() < deadline:
        W = rng.standard_normal((d, K))
        W /= np.linalg.norm(W, axis=0)
        m = np.zeros_like(W)
        v = np.zeros_like(W)
        beta, step = beta0, 0
        while beta <= beta_max and time.perf_counter() < deadline:
            rate = lr * np.sqrt(beta0 / beta)
            for _ in range(steps_per_beta):
                if time.perf_counter() >= deadline:  # every step: one step takes seconds at large K
                    break
                G = W.T @ W
                np.fill_diagonal(G, -np.inf)
                t = G.max()
                if t < best_t:
                    best_W, best_t = W.copy(), float(t)
                E = np.exp(beta * (G - t))
                grad = 2.0 * W @ (E / E.sum())
                grad -= W * np.sum(W * grad, axis=0)  # tangent part: the radial part only stalls Adam
                step += 1
                m = b1 * m + (1 - b1) * grad
                v = b2 * v + (1 - b2) * grad * grad
                W = W - rate * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
                W /= np.linalg.norm(W, axis=0)
            beta *= 2.0
    if best_W is None:  # not a single step fitted in the budget
        best_W = W
        G = W.T @ W
        np.fill_diagonal(G, -np.inf)
        best_t = float(G.max())
    return best_W, best_t
