"""Tammes codes: maximize the minimum pairwise distance on OB(d, K)."""
from __future__ import annotations

from ._common import solve

__all__ = ["tammes_code"]


def tammes_code(d, K, *, restarts=None, seed=None, time_limit=None, progress=False, method="auto",
                executor=None, init=None, smoothing=True, polish=True, hops=None, rattler_rtol=1e-6,
                **options):
    """A Tammes code: K unit vectors in R^d minimizing the largest inner product.

    Equivalently maximizing ``rho_one_vs_one`` (the minimum pairwise distance).
    Closed forms (regular polygon for d = 2, simplex for K <= d + 1,
    cross-polytope subset for d + 1 < K <= 2d, optimal by Rankin's bounds) are
    returned unless ``method="numeric"``.  Otherwise: random starts, log-sum-exp
    smoothing continuation (pymanopt, Oblique(d, K)), then trust-region sequential LP
    on the active pairs to a KKT point (about 1e-13 in the max inner product),
    multistart.  Large problems (``K (d - 1) >= 400``) are sharpened with L-BFGS
    before a short polish (about 1e-8; see :func:`spherecodes.softmax_code`).

    Parameters
    ----------
    d, K, restarts, seed, time_limit, progress, method, executor, init, smoothing, polish, betas, rattler_rtol
        As in :func:`spherecodes.softmax_code`.

    Returns
    -------
    SphereCode
        ``problem == "tammes"``; ``values`` holds the max inner product of every restart.

    Raises
    ------
    ValueError
        Bad arguments (see :func:`spherecodes.softmax_code`).

    Examples
    --------
    >>> from spherecodes import tammes_code
    >>> code = tammes_code(3, 12, restarts=4, seed=0, executor="serial")  # the icosahedron
    >>> round(code.max_inner_product, 10)                                   # 1/sqrt(5)
    0.4472135955
    """
    return solve("tammes", d, K, restarts=restarts, seed=seed, time_limit=time_limit, progress=progress,
                 method=method, executor=executor, init=init, smoothing=smoothing, polish=polish, hops=hops,
                 rattler_rtol=rattler_rtol, options=options)
