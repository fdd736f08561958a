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
    """Best ``(W, max_inner_product, steps)`` found by restarted projected Adam within ``seconds``.

    Parameters
    ----------
    d, K : int
        Dimension and number of unit vectors; ``W`` has shape (d, K).
    seconds : float
        Wall-clock budget for all restarts together (the clock is read before every
        step: one step takes seconds at K = 20000).
    seed : int
        Seed of the random starting points.

    Returns
    -------
    W : ndarray, shape (d, K)
    t : float
        ``max_{i != j} <w_i, w_j>`` of ``W``.
    steps : int
        Adam steps taken in all.
    """
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + seconds
    best_W, best_t = None, np.inf
    b1, b2, eps = 0.9, 0.999, 1e-12
    diag = np.arange(K)
    steps = 0
    while time.perf_counter() < deadline:
        W = rng.standard_normal((d, K))
        W /= np.linalg.norm(W, axis=0)
        m = np.zeros_like(W)
        v = np.zeros_like(W)
        beta, step = beta0, 0
        while beta <= beta_max and time.perf_counter() < deadline:
            rate = lr * np.sqrt(beta0 / beta)
            for _ in range(steps_per_beta):
                if time.perf_counter() >= deadline:
                    break
                G = W.T @ W  # the one K x K array, worked on in place
                G[diag, diag] = -np.inf
                t = G.max()
                if t < best_t:
                    best_W, best_t = W.copy(), float(t)
                G -= t
                G *= beta
                np.exp(G, out=G)
                G /= G.sum()
                grad = 2.0 * W @ G
                del G
                grad -= W * np.sum(W * grad, axis=0)  # tangent part: the radial part only stalls Adam
                step += 1
                steps += 1
                m = b1 * m + (1 - b1) * grad
                v = b2 * v + (1 - b2) * grad * grad
                W = W - rate * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
                W /= np.linalg.norm(W, axis=0)
            beta *= 2.0
    if best_W is None:  # not a single step fitted in the budget
        best_W = W
        G = W.T @ W
        G[diag, diag] = -np.inf
        best_t = float(G.max())
    return best_W, best_t, steps
