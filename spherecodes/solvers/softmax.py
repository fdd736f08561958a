"""Softmax Codes: maximize the minimum one-vs-rest distance on OB(d, K) (Definition 2.1)."""
from __future__ import annotations

from ._common import solve

__all__ = ["softmax_code"]


def softmax_code(d, K, *, restarts=None, seed=None, time_limit=None, progress=False, method="auto",
                 executor=None, init=None, smoothing=True, polish=True, hops=None, rattler_rtol=1e-6,
                 **options):
    """A Softmax Code: K unit vectors in R^d maximizing ``rho_one_vs_rest``.

    ``rho_one_vs_rest(W) = min_k dist(w_k, conv{w_j : j != k})``.  When (d, K) falls
    under Theorem 3.3 (``d = 2``: regular polygon; ``K <= d + 1``: simplex ETF;
    ``d + 1 < K <= 2d``: cross-polytope subset with rho = 1) the exact closed
    form is returned unless ``method="numeric"``.

    Otherwise each restart draws a random point of OB(d, K), runs a log-sum-exp
    smoothing continuation (Riemannian CG with pymanopt) to reach a basin, polishes
    it for the Tammes problem by trust-region sequential LP, improves it by basin
    hopping (perturb and re-polish), then polishes it on the
    true one-vs-rest objective (exact hull distances of
    :func:`spherecodes.hull.one_vs_rest_distances`, linearized through the
    separating directions ``h_k``) to a KKT point, about 1e-12 in rho.

    Large problems (``K (d - 1) >= 400``) are sharpened first: the smoothing is
    followed to sharpness 1e10 with L-BFGS (:mod:`spherecodes.solvers.sharpen`), on the
    max inner product and then on the epigraph form ``min_{k != j} <h_k, w_k - w_j>``
    of rho; the Tammes LP polish is cut to 10 LPs or 30 s and the one-vs-rest LP polish is
    skipped (its LPs take about 30 s each at d = 10, K = 100), so rho is accurate to
    about 1e-8 there.  Their default is 16 restarts (each takes tens of seconds).

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    K : int
        Number of classes, ``K >= 2``.
    restarts : int, optional, keyword-only
        Random restarts.  Given: exactly that many run.  Default (adaptive): up to
        :func:`spherecodes.solvers.multistart.default_restarts` (grows with K), stopping
        as soon as the first n >= 8 restarts have reached their best value 4 times.
    seed : None, int or numpy.random.Generator, keyword-only
        Root of a ``SeedSequence``; restart i uses its i-th child, so results do not
        depend on the executor.
    time_limit : float, optional, keyword-only
        Seconds after which no new restart starts.
    progress : bool, keyword-only
        tqdm bar over restarts showing the best value so far.
    method : {"auto", "numeric"}, keyword-only
        ``"numeric"`` forces the solve even where a closed form exists.
    executor : concurrent.futures.Executor or str, optional, keyword-only
        Where restarts run: default a local process pool (``os.cpu_count()``
        workers; in-process when ``d * K < 100``); ``"serial"`` in this process; any Executor (e.g.
        ``distributed.Client(...).get_executor()``).  A passed Executor is not shut down.
    init : array_like, shape (d, K), optional, keyword-only
        Starting code for restart 0 (columns are normalized).
    smoothing, polish : bool, keyword-only
        Switch the stages off (for benchmarks).
    betas : sequence of float, optional, keyword-only
        Sharpness schedule of the smoothing (default: scaled with K, and varied
        across restarts over a factor 300).
    hops : int, optional, keyword-only
        Basin-hopping moves per restart after the first polish (perturb every
        codeword by 0.15 of the minimum angle, polish, keep if better; a restart stops
        after 5 failures in a row).  Default ``max(5, K // 2)`` for ``K > d + 1, d >= 3``,
        except 0 for large problems (``K (d - 1) >= 400``), where a hop costs about a restart.
    rattler_rtol : float, keyword-only
        Relative tolerance for rattlers.

    Returns
    -------
    SphereCode
        ``W`` of shape (d, K) and its measures (``rho_one_vs_rest`` with its
        certificate, ``distances``, ``rattlers``...), restarts run and reaching the
        best value, seed, settings and timings.

    Raises
    ------
    ValueError
        ``d < 1``, ``K < 2``, ``restarts < 1``, non-integer sizes, an unknown
        method, a bad seed or time limit, an ``init`` of the wrong shape.

    Examples
    --------
    >>> from spherecodes import softmax_code
    >>> code = softmax_code(3, 6)          # d + 1 < K <= 2d: closed form, rho = 1
    >>> round(code.rho_one_vs_rest, 12)
    1.0
    """
    return solve("softmax", d, K, restarts=restarts, seed=seed, time_limit=time_limit, progress=progress,
                 method=method, executor=executor, init=init, smoothing=smoothing, polish=polish, hops=hops,
                 rattler_rtol=rattler_rtol, options=options)
