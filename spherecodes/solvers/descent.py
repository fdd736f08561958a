"""Basin finding: projected Adam on a log-sum-exp of the inner products, with rising sharpness.

The max inner product ``max_{i != j} <w_i, w_j>`` is replaced by its smooth
upper bound

    f_beta(W) = (1 / beta) log sum_{i != j} exp(beta <w_i, w_j>),

(for unit columns ``exp(beta <w_i, w_j>)`` is a Gaussian potential in the
distance, so small ``beta`` is an energy that sees every pair and large ``beta``
sees only the closest ones).  Adam steps on the *tangent* part of the gradient
(the radial part is removed by the renormalization anyway, and left in it stalls
Adam), every column renormalized after each step, ``beta`` doubled every
``steps_per_beta`` steps and the step length shrunk like ``beta^-3/4``.  The
best iterate by the true max inner product is returned.

An *antipodal* descent searches codes ``[X, -X]`` only (K even): half the
variables, and the landscape then leads to the centrally symmetric optima that
random starts almost never find otherwise (measured: the E6 roots at d = 6,
K = 72 from 5 of 10 random antipodal starts, none of 10 free ones; the 24-cell
from 10 of 10).

Each step costs one ``K x K`` Gram matrix; the loop checks a wall-clock
``deadline`` and a ``stop`` flag every few steps and returns its best point so
far when either fires.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["lse_descent", "lse_max_inner", "max_inner_product", "antipodal_code", "Antipodal", "sharpness_scale"]

#: Steps between two checks of the deadline and the stop flag.
CHECK_EVERY = 25


def sharpness_scale(d: int, K: int) -> float:
    """Typical inverse gap of the inner products near an optimum of (d, K).

    Nearest-neighbour angles of K well-spread points scale like ``K^(-1/(d-1))`` and
    inner-product gaps like the angle squared, so sharpness values are multiplied
    by ``max(1, K^(2/(d-1)) / 4)`` to keep the exponents ``beta * gap`` of order one.
    """
    return max(1.0, float(K) ** (2.0 / max(d - 1, 1)) / 4.0)


def max_inner_product(W: np.ndarray) -> float:
    """``max_{i != j} <w_i, w_j>`` of the columns of ``W`` (shape (d, K))."""
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


def lse_max_inner(W: np.ndarray, beta: float) -> tuple[float, np.ndarray]:
    """Log-sum-exp smoothing of the max off-diagonal inner product and its Euclidean gradient.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Unit columns.
    beta : float
        Sharpness.

    Returns
    -------
    value : float
        ``(1/beta) log sum_{i != j} exp(beta <w_i, w_j>)``, at least the max inner product.
    grad : ndarray, shape (d, K)
        Euclidean gradient ``2 W P`` with ``P`` the softmax weights of the pairs.
    """
    t, s, grad = _max_and_lse_terms(W, beta)
    return float(t + np.log(s) / beta), grad


def _max_and_lse_terms(W: np.ndarray, beta: float) -> tuple[float, float, np.ndarray]:
    """``(t, s, grad)``: the exact max off-diagonal inner product ``t`` of ``W`` (d, K), the sum
    ``s = sum_{i != j} exp(beta (<w_i, w_j> - t))`` and the gradient of :func:`lse_max_inner`."""
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    t = G.max()
    E = np.exp(beta * (G - t))
    s = E.sum()
    return t, s, 2.0 * (W @ E) / s  # E is symmetric


def antipodal_code(X: np.ndarray) -> np.ndarray:
    """``[X, -X]``: the centrally symmetric code of shape (d, 2 h) from ``X`` of shape (d, h)."""
    return np.concatenate([X, -X], axis=1)


class Antipodal:
    """The symmetry map of antipodal descents: free points ``X`` (d, h) to the code ``[X, -X]``.

    Any object with these two methods can be passed as ``symmetry`` to :func:`lse_descent`
    (the rotation-invariant codes of :class:`.symmetry.OrbitCode` are the other kind).
    """

    def code(self, X: np.ndarray) -> np.ndarray:
        """The code ``[X, -X]``, shape (d, 2 h)."""
        return antipodal_code(X)

    def pullback(self, grad: np.ndarray) -> np.ndarray:
        """The gradient in ``X`` from the gradient ``grad`` (d, 2 h) in the code."""
        h = grad.shape[1] // 2
        return grad[:, :h] - grad[:, h:]


def lse_descent(W: np.ndarray, *, beta0: float, beta_max: float = 1e6, steps_per_beta: int = 200,
                lr: float = 0.01, decay: float = 0.75, factor: float = 2.0, antipodal: bool = False,
                symmetry=None, deadline: float | None = None, stop=None) -> tuple[np.ndarray, float]:
    """Minimize the max inner product from ``W`` by a log-sum-exp continuation.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Starting point, unit columns.  With ``antipodal=True`` the columns are the
        free half ``X`` of the code ``[X, -X]``; with ``symmetry``, the free points of
        ``symmetry.code(X)``.
    beta0, beta_max : float
        Sharpness schedule ``beta0 * factor**i <= beta_max``.
    steps_per_beta : int
        Adam steps per sharpness value.
    lr, decay : float
        Adam step length ``lr * (beta0 / beta)**decay`` at sharpness ``beta`` (radians per
        coordinate, roughly): shrinking faster than ``beta^-1/2`` leaves the result within
        about 1e-5 of its basin's optimum (measured at d = 3..6, K = 20..100).
    antipodal : bool
        Search the codes ``[X, -X]`` (the same as ``symmetry=Antipodal()``).
    symmetry : object, optional
        Search the codes ``symmetry.code(X)`` only, with gradients taken back to ``X``
        by ``symmetry.pullback`` (:class:`Antipodal`, :class:`.symmetry.OrbitCode`), or,
        where it has one, by ``symmetry.max_and_gradient(X, beta)`` (the max inner product
        of the code and the smoothed gradient in ``X``).
    deadline : float, optional
        ``time.time()`` after which the best point so far is returned.
    stop : object with ``is_set()``, optional
        Checked with the deadline (e.g. a ``multiprocessing.Event`` set on Ctrl-C).

    Returns
    -------
    W : ndarray, shape (d, K) (or (d, 2 K) with ``antipodal``, the shape of ``symmetry.code(X)`` with ``symmetry``)
        The best iterate as a full code, unit columns.
    t : float
        Its max inner product (exact, not smoothed).

    Raises
    ------
    ValueError
        Both ``antipodal`` and ``symmetry``.
    """
    if antipodal:
        if symmetry is not None:
            raise ValueError("pass antipodal=True or a symmetry, not both")
        symmetry = Antipodal()
    # a symmetry may compute the step itself (OrbitCode: from the orbit representatives' rows)
    fast = getattr(symmetry, "max_and_gradient", None)
    X = np.array(W, dtype=np.float64)
    X /= np.linalg.norm(X, axis=0)
    m = np.zeros_like(X)
    v = np.zeros_like(X)
    b1, b2, eps = 0.9, 0.999, 1e-12
    best_X, best = X, np.inf
    beta, step = float(beta0), 0
    while beta <= beta_max:
        rate = lr * (beta0 / beta) ** decay
        for _ in range(steps_per_beta):
            if step % CHECK_EVERY == 0 and step and _expired(deadline, stop):
                return _result(best_X, best, symmetry, fast)
            if fast is not None:
                t, g = fast(X, beta)
            else:
                # the exact max (not the smoothed value) decides the best iterate
                t, _, g = _max_and_lse_terms(X if symmetry is None else symmetry.code(X), beta)
                if symmetry is not None:
                    g = symmetry.pullback(g)
            if t < best:
                best_X, best = X, float(t)
            g -= X * np.sum(X * g, axis=0)
            step += 1
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * g * g
            X = X - rate * (m / (1.0 - b1 ** step)) / (np.sqrt(v / (1.0 - b2 ** step)) + eps)
            X /= np.linalg.norm(X, axis=0)
        beta *= factor
    C = X if symmetry is None else symmetry.code(X)
    t = max_inner_product(C)
    if t < best:
        best_X, best = X, t
    return _result(best_X, best, symmetry, fast)


def _result(X, t, symmetry, fast):
    """``(code, max inner product)``; the value recomputed on the whole code where a fast
    symmetric step took it from the representatives' rows (the rotated copies round differently)."""
    W = np.ascontiguousarray(X if symmetry is None else symmetry.code(X))
    return W, (max_inner_product(W) if fast is not None else t)


def _expired(deadline, stop) -> bool:
    return (deadline is not None and time.time() >= deadline) or (stop is not None and stop.is_set())
