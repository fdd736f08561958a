"""Sharpening: follow the log-sum-exp smoothing to large sharpness with L-BFGS.

The descent (:mod:`spherecodes.solvers.descent`) picks a basin at
moderate sharpness.  Its minimizer is ``O(log M / beta)`` from the local optimum,
and the trust-region LP polish needs many iterations (each an LP with
``K * (d - 1)`` variables and one row per near-active pair) to close that gap
when ``K * d`` is large.  Sharpening closes most of it cheaply: it minimizes
the smoothed objective for ``beta`` growing geometrically (each stage starts from
the previous minimizer), with scipy's L-BFGS on the unnormalized
parametrization ``W = V / ||V||`` (columnwise), which stays well conditioned far
beyond the sharpness where Riemannian CG stalls.  The distance to the local
optimum falls like ``1 / beta`` (measured at d = 10, K = 100: within 1e-8 at
``beta = 3e8``).

Two objectives:

* :func:`sharpen_tammes` — ``(1/beta) log sum_{i != j} exp(beta <w_i, w_j>)``,
  a smooth upper bound of the max inner product.
* :func:`sharpen_softmax` — the Softmax Code problem in its epigraph form
  ``max_{W, H} min_{k != j} <h_k, w_k - w_j>`` (for fixed W the max over unit
  ``h_k`` is the one-vs-rest distance of class k), smoothed as
  ``(1/beta) log sum_{k != j} exp(-beta <h_k, w_k - w_j>)``, a smooth upper bound of
  ``-min``.
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

__all__ = ["sharpen_tammes", "sharpen_softmax", "lse_softmax_code", "separating_directions", "sharpen_softmax_exact",
           "Sharpened"]


def lse_softmax_code(W: np.ndarray, H: np.ndarray, beta: float):
    """Smoothed ``-min_{k != j} <h_k, w_k - w_j>`` and its Euclidean gradients.

    Parameters
    ----------
    W, H : ndarray, shape (d, K)
        Codewords and separating directions (unit columns).
    beta : float
        Sharpness.

    Returns
    -------
    value : float
        ``(1/beta) log sum_{k != j} exp(-beta F_kj)``, ``F_kj = <h_k, w_k - w_j>``;
        at least ``-min F``.
    grad_W, grad_H : ndarray, shape (d, K)
    """
    S = H.T @ W  # S[k, j] = <h_k, w_j>
    F = np.diag(S)[:, None] - S
    np.fill_diagonal(F, np.inf)
    m = F.min()
    E = np.exp(-beta * (F - m))
    s = E.sum()
    P = E / s  # d value / d F = -P
    r = P.sum(axis=1)
    grad_H = -(W * r) + W @ P.T
    grad_W = -(H * r) + H @ P
    return float(-m + np.log(s) / beta), grad_W, grad_H


def _normalized(V):
    n = np.linalg.norm(V, axis=0)
    return V / n, n


def _continuation(X0, fun, true_value, *, beta_start, beta_max, factor, max_iter, tol, deadline=None, reserve=None,
                  stop=None):
    """Minimize ``fun(X, beta)`` over unit columns for beta = beta_start * factor^i <= beta_max.

    ``fun`` returns (value, Euclidean gradient) at unit columns.  Each stage starts
    from the previous one's minimizer; the continuation stops once a stage changes
    ``true_value`` (to minimize) by less than ``tol`` (relative), or at ``deadline``
    (``time.time()``; checked every L-BFGS iteration), and the stage output with the
    lowest ``true_value`` (the input included) is returned.  Under a deadline each stage
    gets at most an equal share of the time left with the stages left: a stage's
    ``max_iter`` iterations can take longer than the whole budget (at K = 1000, d = 128:
    300 iterations 35 s, and a 60 s call that ended its stage at beta = 50 reached rho
    0.9156; sharing, 0.9269).  ``reserve(X)``, if given, is the time the caller needs
    after the continuation, from the current point; it is taken off the deadline
    before each stage.  ``stop`` (an object with ``is_set()``, e.g. the search's Ctrl-C
    flag) ends it like the deadline, checked every iteration.
    """
    shape = X0.shape
    X = X0 / np.linalg.norm(X0, axis=0)
    best_X, best = X, true_value(X)
    previous = best

    def fg(x, beta):
        X, n = _normalized(x.reshape(shape))
        f, g = fun(X, beta)
        # chain rule through the columnwise normalization
        return f, ((g - X * np.sum(X * g, axis=0)) / n).ravel()

    stage_end = None

    def stopped():
        return stop is not None and stop.is_set()

    def out_of_time(intermediate_result):
        if (stage_end is not None and time.time() >= stage_end) or stopped():
            raise StopIteration

    beta = float(beta_start)
    stages_left = math.floor(math.log(beta_max / beta, factor) + 1e-9) + 1 if beta <= beta_max else 0
    while beta <= beta_max and (deadline is None or time.time() < deadline) and not stopped():
        if deadline is not None:
            end = deadline - (reserve(X) if reserve is not None else 0.0)
            if time.time() >= end:
                break
            stage_end = time.time() + (end - time.time()) / max(stages_left, 1)
        stages_left -= 1
        res = minimize(fg, X.ravel(), args=(beta,), jac=True, method="L-BFGS-B", callback=out_of_time,
                       options={"maxiter": max_iter, "maxcor": 30, "gtol": 1e-300, "ftol": 1e-16})
        X, _ = _normalized(res.x.reshape(shape))
        value = true_value(X)
        if value < best:
            best_X, best = X, value
        if abs(value - previous) <= tol * max(1.0, abs(value)):
            break
        previous = value
        beta *= factor
    return np.ascontiguousarray(best_X)


def sharpen_tammes(W: np.ndarray, *, beta_start: float = 1024.0, beta_max: float = 1e10, factor: float = 4.0,
                   max_iter: int = 2000, tol: float = 1e-12, deadline: float | None = None) -> np.ndarray:
    """Move ``W`` to the Tammes local optimum of its basin by a sharpness continuation.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Unit columns (typically the smoothing output).
    beta_start, beta_max, factor : float
        Sharpness schedule ``beta_start * factor**i <= beta_max``.
    max_iter : int
        L-BFGS iterations per sharpness value.
    tol : float
        Stop once a stage changes the max inner product by less than ``tol`` (relative).
    deadline : float, optional
        ``time.time()`` at which the best stage output so far is returned.

    Returns
    -------
    W : ndarray, shape (d, K)
        Unit columns; its max inner product is never above that of the input.
    """
    from .polish import tammes_value
    from .descent import lse_max_inner

    return _continuation(np.asarray(W, dtype=float), lse_max_inner, lambda X: -tammes_value(X),
                         beta_start=beta_start, beta_max=beta_max, factor=factor, max_iter=max_iter,
                         tol=tol, deadline=deadline)


def _stack_value(d, K):
    def true_value(X):  # -min_{k != j} <h_k, w_k - w_j>
        W, H = X[:, :K], X[:, K:]
        S = H.T @ W
        F = np.diag(S)[:, None] - S
        np.fill_diagonal(F, np.inf)
        return -float(F.min())

    def fun(X, beta):
        f, gW, gH = lse_softmax_code(X[:, :K], X[:, K:], beta)
        return f, np.concatenate([gW, gH], axis=1)

    return fun, true_value


def separating_directions(W: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Unit normals ``h_k = (w_k - p_k) / ||w_k - p_k||`` of the one-vs-rest separating hyperplanes.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        The code.
    nearest : ndarray, shape (d, K)
        ``p_k``, the nearest point of ``conv{w_j : j != k}`` to ``w_k``
        (:attr:`spherecodes.hull.OneVsRest.nearest`).

    Returns
    -------
    H : ndarray, shape (d, K)
        With these, ``min_{j != k} <h_k, w_k - w_j> = dist(w_k, conv{w_j : j != k})``
        (the max over unit ``h_k``), so the epigraph form of :func:`sharpen_softmax`
        starts at the exact ``rho_one_vs_rest``.  Where ``w_k`` lies in the hull
        (distance 0), ``h_k = w_k``.

    Notes
    -----
    Starting :func:`sharpen_softmax` from ``H = W`` instead leaves it on the symmetric
    set ``H = W``, where its gradient in ``H`` equals that in ``W``: for a Tammes code
    it is then a stationary point and the continuation can only move by rounding.
    """
    R = np.asarray(W, dtype=float) - np.asarray(nearest, dtype=float)
    n = np.linalg.norm(R, axis=0)
    return np.where(n > 0, R / np.where(n > 0, n, 1.0), W)


def sharpen_softmax(W: np.ndarray, H: np.ndarray | None = None, *, beta_start: float = 1024.0,
                    beta_max: float = 1e10, factor: float = 4.0, max_iter: int = 2000,
                    tol: float = 1e-12, deadline: float | None = None, reserve=None, stop=None) -> np.ndarray:
    """Improve ``W`` for the Softmax Code problem by a sharpness continuation on (W, H).

    For every W, ``rho_one_vs_rest(W) >= min_{k != j} <h_k, w_k - w_j>`` for any unit
    ``h_k`` (equality at the separating directions), so raising the smoothed min
    raises a lower bound of rho.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Unit columns (typically a polished Tammes code).
    H : ndarray, shape (d, K), optional
        Starting separating directions, best :func:`separating_directions` (the start
        is then the exact rho).  Default ``W`` itself (``<h_k, w_k - w_j> = 1 - <w_k, w_j>``,
        the Tammes value), from which a Tammes code cannot move (see
        :func:`separating_directions`).
    beta_start, beta_max, factor, max_iter, tol, deadline
        As in :func:`sharpen_tammes`.
    reserve : callable, optional
        ``reserve(W)``: seconds the caller needs after the continuation, from the
        current codewords ``(d, K)``; taken off ``deadline`` before each sharpness value.
    stop : object with ``is_set()``, optional
        Ends the continuation when set (checked every L-BFGS iteration), as the deadline.

    Returns
    -------
    W : ndarray, shape (d, K)
        Unit columns.  Callers compare the exact ``rho_one_vs_rest`` of input and output.
    """
    W = np.asarray(W, dtype=float)
    d, K = W.shape
    H = W if H is None else np.asarray(H, dtype=float)
    fun, true_value = _stack_value(d, K)
    X = _continuation(np.concatenate([W, H], axis=1), fun, true_value, beta_start=beta_start,
                      beta_max=beta_max, factor=factor, max_iter=max_iter, tol=tol, deadline=deadline,
                      reserve=None if reserve is None else (lambda X: reserve(X[:, :K])), stop=stop)
    return np.ascontiguousarray(X[:, :K])


class Sharpened(NamedTuple):
    """Result of :func:`sharpen_softmax_exact`."""

    #: (d, K): the better of input and output by the exact ``rho_one_vs_rest``.
    W: np.ndarray
    #: Its exact ``rho_one_vs_rest`` (hull kernel).
    rho: float
    #: Whether the sharpened point was kept.
    gained: bool
    #: Wall-clock seconds of the slower of its exact evaluations (input and output), a measure
    #: of what the next one costs: it grows as the code sharpens (at K = 1000, d = 128: 1.3 s
    #: after the descent, 6.4 s after the stage).
    hull_seconds: float


#: A deadline is moved this many hull evaluations earlier for the exact value that follows it.
HULL_MARGIN = 1.5

#: Classes timed to estimate an exact evaluation (:func:`spherecodes.hull.certification_seconds`)
#: before each sharpness value of a Softmax sharpening under a deadline (at K = 1000, d = 128
#: about 0.5 s for a sharpened code, whose whole evaluation takes 14 s).
HULL_SAMPLE = 32


def sharpen_softmax_exact(W: np.ndarray, *, deadline: float | None = None, stop=None, **schedule) -> Sharpened:
    """:func:`sharpen_softmax` from the exact separating directions, kept only if the exact rho rises.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Unit columns.
    deadline : float, optional
        ``time.time()`` by which the result is in: the continuation stops
        ``HULL_MARGIN`` times an exact evaluation earlier, leaving time for the output's.
        The evaluation is taken as the input's or, where larger, the estimate
        (:func:`spherecodes.hull.certification_seconds`, ``HULL_SAMPLE`` classes) for the
        current point before each sharpness value: it grows as the code sharpens (at
        K = 1000, d = 128: 1.1 s for the input, 14 s after the stage).  A target, not a
        bound.
    stop : object with ``is_set()``, optional
        Ends the continuation when set (the search's Ctrl-C flag); the output is then
        evaluated and kept if better, as at the deadline.
    **schedule
        ``beta_start``, ``beta_max``, ``max_iter``, ``tol`` of :func:`sharpen_softmax`.

    Returns
    -------
    Sharpened
        ``(W, rho, gained, hull_seconds)``.
    """
    from spherecodes.hull import certification_seconds

    from .polish import softmax_value

    t = time.perf_counter()
    rho, res = softmax_value(W)
    hull_seconds = time.perf_counter() - t
    if deadline is not None and time.time() + HULL_MARGIN * hull_seconds >= deadline:
        return Sharpened(W, rho, False, hull_seconds)

    def reserve(W2):  # the output's evaluation: at least the input's, more as the code sharpens
        return HULL_MARGIN * max(hull_seconds, certification_seconds(W2, sample=HULL_SAMPLE))

    W2 = sharpen_softmax(W, separating_directions(W, res.nearest), deadline=deadline,
                         reserve=None if deadline is None else reserve, stop=stop, **schedule)
    t = time.perf_counter()
    rho2 = softmax_value(W2)[0]
    hull_seconds = max(hull_seconds, time.perf_counter() - t)
    return Sharpened(W2, rho2, True, hull_seconds) if rho2 > rho else Sharpened(W, rho, False, hull_seconds)
