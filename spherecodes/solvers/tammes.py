"""Tammes codes: maximize the minimum pairwise distance on OB(d, K)."""
from __future__ import annotations

from ._common import solve

__all__ = ["tammes_code"]


def tammes_code(d, K, *, restarts=None, seed=None, time_limit=None, progress=False, method="auto",
                executor=None, init=None, smoothing=True, polish=True, hops=None, rattler_rtol=1e-6,
                device="auto", **options):
    """A Tammes code: K unit vectors in R^d minimizing the largest inner product.

    Equivalently maximizing ``rho_one_vs_one`` (the minimum pairwise distance).
    Closed forms (regular polygon for d = 2, simplex for K <= d + 1,
    cross-polytope subset for d + 1 < K <= 2d, optimal by Rankin's bounds) are
    returned unless ``method="numeric"``.  Otherwise the multistart search of
    :func:`spherecodes.softmax_code`: projected-Adam log-sum-exp continuation from
    random and random antipodal starts with LP basin hopping; in d = 3, overlap-penalty
    basin hopping from random starts (:mod:`spherecodes.solvers.overlap`) and, from
    K = 80 on, rotation-symmetric starts.  Then a trust-region sequential LP polish of
    the best few restarts to a KKT point (about 1e-13 in the max inner product; after
    an L-BFGS sharpening when ``K (d - 1) >= 400``).

    Parameters
    ----------
    d, K, restarts, seed, time_limit, progress, method, executor, init, smoothing, polish, hops, rattler_rtol, **options
        As in :func:`spherecodes.softmax_code`.

    Returns
    -------
    SphereCode
        ``problem == "tammes"``; ``values`` holds the max inner product of every restart
        before the polish; ``status``/``message`` say why the search stopped.

    Raises
    ------
    ValueError, TypeError
        Bad arguments, exactly as :func:`spherecodes.softmax_code` (the same
        checks run).

    Warns
    -----
    UserWarning
        Arguments ignored where a closed form is returned or on the large-K
        path, as :func:`spherecodes.softmax_code`.

    See Also
    --------
    softmax_code : the same search, then polished on the one-vs-rest objective.
    spherecodes.rho_one_vs_one : the objective, for any code.
    spherecodes.max_inner_product : the same objective as a cosine.

    References
    ----------
    P. M. L. Tammes, "On the origin of number and arrangement of the places
    of exit on the surface of pollen-grains", Recueil des travaux
    botaniques neerlandais 27 (1930) 1-84.
    R. A. Rankin, "The closest packing of spherical caps in n dimensions",
    Proc. Glasgow Math. Assoc. 2 (1955) 139-144 (optimality of the closed
    forms for ``K <= 2d``).
    Jiang et al., *Generalized Neural Collapse for a Large Number of
    Classes*, eq. (11) (the Tammes problem), Theorem 3.8 (it is equivalent
    to the Softmax Code for ``d = 2`` or ``K <= d + 1``).

    Examples
    --------
    >>> from spherecodes import tammes_code
    >>> code = tammes_code(3, 12, restarts=4, seed=0, executor="serial")  # the icosahedron
    >>> round(code.max_inner_product, 10)                                   # 1/sqrt(5)
    0.4472135955
    """
    return solve("tammes", d, K, restarts=restarts, seed=seed, time_limit=time_limit, progress=progress,
                 method=method, executor=executor, init=init, smoothing=smoothing, polish=polish, hops=hops,
                 rattler_rtol=rattler_rtol, options=options, device=device)
