"""Smoothing continuation on OB(d, K): find the basin of a max-min problem.

The Tammes objective ``max_{i != j} <w_i, w_j>`` is replaced by its
log-sum-exp smoothing

    f_beta(W) = (1 / beta) * log sum_{i != j} exp(beta * <w_i, w_j>),

an upper bound that tends to the max as ``beta -> inf``.  It is minimized by
Riemannian conjugate gradients on pymanopt's ``Oblique(d, K)`` with an explicit
Euclidean gradient ``2 W P`` (``P`` the softmax weights of the pairs), for a
rising sequence of sharpness values.  Smoothing only finds a basin: the result
is a few digits from the local optimum; :mod:`spherecodes.solvers.polish`
finishes the job.

The same basin serves the Softmax Code problem (for any W,
``rho_one_vs_rest(W) >= 1 - max_{i != j} <w_i, w_j>``), whose polish then runs on
the true one-vs-rest objective.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

__all__ = ["smooth_tammes", "lse_max_inner", "import_pymanopt", "DEFAULT_BETAS"]

#: Default sharpness schedule (multiplied by a K-dependent scale, see :func:`smooth_tammes`).
DEFAULT_BETAS = (16.0, 64.0, 256.0)


def import_pymanopt():
    """Import pymanopt without letting it import torch.

    pymanopt 2.2 imports every autodiff backend it finds at import time, which
    would pull torch (about a second, and against the package rule that only
    ``spherecodes.train`` imports torch).  We only use its numpy backend, so
    torch is hidden while pymanopt is imported unless it is already loaded.
    """
    if "pymanopt" in sys.modules and "pymanopt.optimizers" in sys.modules:
        return sys.modules["pymanopt"]
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # makes "import torch" raise ImportError
    try:
        import pymanopt
        import pymanopt.manifolds  # noqa: F401
        import pymanopt.optimizers  # noqa: F401
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return pymanopt


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
        ``(1/beta) log sum_{i != j} exp(beta <w_i, w_j>)``.
    grad : ndarray, shape (d, K)
        Euclidean gradient ``2 W P``.
    """
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    m = G.max()
    E = np.exp(beta * (G - m))
    s = E.sum()
    P = E / s
    return float(m + np.log(s) / beta), 2.0 * (W @ P)


def smooth_tammes(W0: np.ndarray, *, betas=None, max_iterations: int = 300,
                  min_gradient_norm: float = 1e-7) -> np.ndarray:
    """Run the smoothing continuation from ``W0`` and return the final point.

    Parameters
    ----------
    W0 : ndarray, shape (d, K)
        Starting point with unit columns.
    betas : sequence of float, optional
        Sharpness values; the default scales :data:`DEFAULT_BETAS` by ``K^(2/(d-1))``-like
        growth of the neighbour count so that the exponent gaps stay O(1).
    max_iterations : int
        Conjugate-gradient iterations per sharpness value.

    Returns
    -------
    W : ndarray, shape (d, K)
    """
    pymanopt = import_pymanopt()
    d, K = W0.shape
    if d < 2:
        return W0.copy()
    if betas is None:
        # typical nearest-neighbour angle ~ K^(-1/(d-1)); inner-product gaps ~ angle^2
        scale = max(1.0, float(K) ** (2.0 / max(d - 1, 1)) / 4.0)
        betas = [b * scale for b in DEFAULT_BETAS]
    manifold = pymanopt.manifolds.Oblique(d, K)
    W = W0.copy()
    for beta in betas:
        memo = {}

        def both(X, _b=beta, _memo=memo):
            # pymanopt asks for the cost and then the gradient at the same point: compute once
            key = _memo.get("X")
            if key is None or key.shape != X.shape or not np.array_equal(key, X):
                _memo["X"] = np.array(X, copy=True)
                _memo["val"] = lse_max_inner(X, _b)
            return _memo["val"]

        @pymanopt.function.numpy(manifold)
        def cost(X):
            return both(X)[0]

        @pymanopt.function.numpy(manifold)
        def egrad(X):
            return both(X)[1]

        problem = pymanopt.Problem(manifold, cost, euclidean_gradient=egrad)
        opt = pymanopt.optimizers.ConjugateGradient(
            max_iterations=max_iterations, min_gradient_norm=min_gradient_norm,
            verbosity=0, log_verbosity=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = opt.run(problem, initial_point=W).point
        W = W / np.linalg.norm(W, axis=0)
    return np.ascontiguousarray(W)
