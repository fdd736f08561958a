"""Softmax Codes: maximize the minimum one-vs-rest distance on OB(d, K) (Definition 2.1)."""
from __future__ import annotations

from ._common import solve

__all__ = ["softmax_code"]


def softmax_code(d, K, *, restarts=None, seed=None, time_limit=None, progress=False, method="auto",
                 executor=None, init=None, smoothing=True, polish=True, hops=None, rattler_rtol=1e-6,
                 device="auto", **options):
    """A Softmax Code: K unit vectors in R^d maximizing ``rho_one_vs_rest``.

    ``rho_one_vs_rest(W) = min_k dist(w_k, conv{w_j : j != k})`` (the paper's
    Definition 2.1).  When (d, K) falls under Theorem 3.3 (``d = 2``: regular
    polygon; ``K <= d + 1``: simplex ETF; ``d + 1 < K <= 2d``: cross-polytope
    subset with rho = 1) the exact closed form is returned unless
    ``method="numeric"``.

    Otherwise a multistart search runs until ``time_limit``: each restart draws a
    random point of OB(d, K) and runs a projected-Adam continuation on the
    log-sum-exp of the inner products (:func:`spherecodes.solvers.descent.lse_descent`;
    every other restart on centrally symmetric codes ``[X, -X]``, where the root-system
    codes lie; in d = 3 where restarts basin-hop (K <= 150 by default) none, and the
    free ones run an overlap-penalty search instead, see ``overlap_patience``; in d = 3 from K = 80 on,
    every other one (one in four beside antipodal restarts) on codes invariant under a rotation
    group, see ``rotation_period``, as the icosahedral 120-point code; where ``K (d - 1) >= 400`` each restart then sharpens the Softmax objective,
    and one in four is symmetric, see ``softmax_antipodal_period`` of
    :class:`~spherecodes.solvers.SearchSettings`; up to ``K (d - 1) = 1000`` it then
    basin-hops on that objective, moving an eighth of the codewords at a time, see
    ``softmax_hops``: at (10, 100) rho 0.66886 to 0.66904 in 60 s on one core, seven runs).
    The best few restarts are then polished to a KKT point: for the Tammes objective by
    trust-region sequential LP (after an L-BFGS sharpening when ``K (d - 1) >= 400``), then on the true one-vs-rest objective (exact hull
    distances, linearized through the separating directions ``h_k``; for large
    problems an L-BFGS continuation on the epigraph form instead, whose LPs would take
    minutes).  Since ``rho_one_vs_rest(W) >= 1 - max_{i != j} <w_i, w_j>`` for every W,
    good Tammes codes are the starting points.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    K : int
        Number of classes, ``K >= 2``.
    restarts : int, optional, keyword-only
        Given: exactly that many restarts (within ``time_limit`` if also given).
        Default with a ``time_limit``: as many as fit in it, at most ``min(2000, max(16,
        8 K))`` (the call may then end before the limit).  Default without either:
        adaptive, stop once at least 8 restarts ran and the best basin (max inner product
        within ``hit_tol = 3e-5``, relative) was reached 4 times (``adaptive=True`` keeps
        that stop with a ``time_limit`` too).
    seed : None, int or numpy.random.Generator, keyword-only
        Root of a ``SeedSequence``; restart i uses its i-th child, so results do not
        depend on the executor (unless ``time_limit`` cuts restarts short).
    time_limit : float, optional, keyword-only
        Wall-clock seconds for the whole call, final polish included (running restarts
        return their best point at the deadline; measured overshoot under two seconds at
        small sizes).  Default with ``restarts=None``:
        :func:`spherecodes.solvers.default_time_limit` (``30 + K (d - 1) / 2``, at most
        300); with ``restarts`` given: none.
    progress : bool or callable, keyword-only
        ``True``: a tqdm bar of elapsed seconds against the budget, with the best value so
        far.  A callable is called as ``progress(elapsed_seconds, best_max_inner_product,
        restarts_done)`` as restarts finish and about twice a second from the first
        finished restart on (not before: there is no value yet, and at large sizes one
        restart may take a good part of the budget); if it returns
        ``True`` the search stops there (the final polish still runs, ``status="callback"``),
        e.g. to stop at a target value.
    method : {"auto", "numeric"}, keyword-only
        ``"numeric"`` forces the search even where a closed form exists.
    executor : concurrent.futures.Executor or str, optional, keyword-only
        Where restarts run: default a local process pool (``available_cpus()``
        workers; in-process when ``d * K < 100``); ``"serial"`` in this process; any
        Executor (e.g. ``distributed.Client(...).get_executor()``).  A passed Executor
        is not shut down.
    init : array_like, shape (d, K), optional, keyword-only
        Starting code for restart 0 (columns are normalized).
    smoothing, polish : bool, keyword-only
        Switch the descent or the final polish off (for benchmarks).
    hops : int, optional, keyword-only
        Basin-hopping moves per restart (perturb every codeword by ``hop_stepsize``
        times the minimum angle, LP-polish, keep if better; free restarts only).  Default 30
        where ``K (d - 1) <= 300`` (an LP polish is cheap there), else 0.
    rattler_rtol : float, keyword-only
        Relative tolerance for rattlers (Definition 3.4).
    device : {"auto", "cpu", "cuda", "cuda:N"}, keyword-only
        Where the large-K path runs.  From ``K >= 2000`` (:data:`spherecodes.solvers.settings.LARGE_K`),
        or with an explicit ``"cuda"``, the search is
        :func:`spherecodes.solvers.large_k.spread_code`: projected Adam on the log-sum-exp of
        each codeword's nearest-neighbour inner products, memory ``O(K (d + m))``, batched in
        torch on a GPU (``"auto"``: CUDA when torch sees one, else numpy), one run until
        ``time_limit``, no polish; the result's certificate then comes from the exact hull
        kernel on every available core (``executor="serial"``: one thread), inside the
        ``time_limit``: the search stops early by the certificate's estimated cost
        (``timings["measures"]``: at K = 20000, d = 512 about 4 minutes on one thread for
        a 60 s code).  Where that estimate exceeds half the limit, the search keeps a
        tenth of it (plus a pass over the Gram matrix and its copies of W) and the
        certificate runs under the time left (:func:`spherecodes.one_vs_rest_distances`
        with ``time_limit``): the
        classes it does not reach are bounded by their nearest codeword, the bracket
        ``[rho_lower, rho_upper]`` is wider, and ``settings["certified_classes"]`` and
        ``message`` say so (measured, one core, 60 s: (512, 10^4) 59.7 s, 505 classes
        solved, rho in [0.89384, 0.89921]; (512, 20000) 58.3 s; (2048, 10^4) 58.7 s).  ``"cuda"``
        needs torch (``pip install "spherecodes[train]"``).
    **options
        Further fields of :class:`spherecodes.solvers.SearchSettings` (``n_polish``,
        ``beta_spread``, ``antipodal``, ``sharpen``, ...).

    Returns
    -------
    SphereCode
        ``W`` of shape (d, K) and its measures (``rho_one_vs_rest`` with its
        certificate, ``distances``, ``rattlers``...), the restarts run, how many reached
        the best basin, ``values`` (max inner product of every restart before the
        polish), seed, settings, timings, and ``status``/``message``: why the search
        stopped (``"adaptive"``, ``"restarts"``, ``"time_limit"``, ``"interrupted"``, ``"callback"``) and
        how the polish ended.  Ctrl-C (SIGINT) during the search returns the best code
        found so far with ``status="interrupted"``; a second Ctrl-C raises.

    Raises
    ------
    ValueError
        ``d < 1``, ``K < 2``, ``restarts < 1`` or ``hops < 0``; a ``method``
        other than ``"auto"``/``"numeric"``; a ``time_limit`` that is not
        positive; an ``init`` that is not a finite ``(d, K)`` array without zero
        columns; an ``executor`` that is neither an Executor, a string nor None;
        a ``device`` string other than ``"auto"``, ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``; a negative or non-finite ``rattler_rtol``.  On the search
        path only (not where a closed form is returned): a negative or
        non-integer ``seed``, or an option out of range.
    TypeError
        ``d``, ``K``, ``restarts`` or ``hops`` not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``);
        a ``time_limit`` that is not a number; a ``device`` that is not a
        string.  On the search path only: an unknown option (not a field of
        :class:`spherecodes.solvers.SearchSettings`), or an option of the
        wrong type.

    Warns
    -----
    UserWarning
        ``restarts``, ``time_limit``, ``hops`` or ``executor`` given where a closed form
        is returned, and ``restarts``, ``hops``, an ``executor`` other than ``"serial"``, ``init`` or an
        option given on the large-K path (they are ignored).

    See Also
    --------
    tammes_code : the same search on the Tammes objective.
    hardmax : the HardMax problem (5) solved through this code.
    spherecodes.one_vs_rest_distances : the certified distances behind ``rho``.
    spherecodes.bounds.exact_optimum : the closed-form optima.
    spherecodes.bounds.theorem39_bounds : bounds on the optimum elsewhere.

    References
    ----------
    Jiang et al., *Generalized Neural Collapse for a Large Number of Classes*:
    Definition 2.1, eq. (3) (Softmax Code), Theorem 3.2 (it is the optimal
    classifier of the HardMax problem (5)), Theorem 3.3 (closed forms).
    D. P. Kingma and J. Ba, "Adam: A method for stochastic optimization",
    ICLR 2015 (the projected-Adam descent).
    D. J. Wales and J. P. K. Doye, "Global optimization by basin-hopping and
    the lowest energy structures of Lennard-Jones clusters", J. Phys. Chem. A
    101 (1997) 5111-5116 (the ``hops``).

    Examples
    --------
    >>> from spherecodes import softmax_code
    >>> code = softmax_code(3, 6)          # d + 1 < K <= 2d: closed form, rho = 1
    >>> round(code.rho_one_vs_rest, 12)
    1.0
    """
    return solve("softmax", d, K, restarts=restarts, seed=seed, time_limit=time_limit, progress=progress,
                 method=method, executor=executor, init=init, smoothing=smoothing, polish=polish, hops=hops,
                 rattler_rtol=rattler_rtol, options=options, device=device)
