"""Random restarts of the descent, run through an Executor, anytime.

Each restart gets its own child of a ``numpy.random.SeedSequence`` spawned from
the user's seed, so the set of results is reproducible whatever executor runs
them and in whatever order they finish; the best restart is chosen by value,
ties broken by restart index.

Every restart receives an absolute wall-clock deadline and a stop flag, and
returns its best point so far when either fires: ``time_limit`` bounds the
whole call, and Ctrl-C (SIGINT) stops the search and keeps what was found.
"""
from __future__ import annotations

import math
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_seed
from ..executor import available_cpus
from .descent import Antipodal, _expired, lse_descent, max_inner_product
from .settings import SearchSettings, golden_fraction

__all__ = ["restart_once", "run_restarts", "runs_serially", "fine_hops", "root_seed", "MultistartResult", "SMALL_PROBLEM"]

#: With ``executor=None``, problems with ``d * K`` below this run in-process instead of in a process pool.
SMALL_PROBLEM = 100

#: The stop flag of a pool worker (set by :func:`_worker_init`).
_WORKER_STOP = None


#: The seed check, now :func:`spherecodes._validation.check_seed` (this name kept for callers).
root_seed = check_seed


def _worker_init(stop):
    """Pool workers leave Ctrl-C to the parent, which tells them through ``stop``, and die with it."""
    global _WORKER_STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_STOP = stop
    _exit_with_parent()


def _exit_with_parent():
    """Linux: have the kernel kill this process when its parent dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl: workers end at their deadline
        pass


def _random_columns(rng, d, K):
    W = rng.standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def restart_once(problem: str, d: int, K: int, seed_seq, settings: SearchSettings, init=None, index: int = 0,
                 deadline: float | None = None, stop=None) -> dict:
    """One restart: a random point (or ``init``), the log-sum-exp descent, LP polish and basin hopping.

    Restart ``index`` runs an antipodal descent when ``settings.antipodal`` and
    ``index`` is odd (d >= 3), and rotation-symmetric searches (:func:`_rotation_tries`)
    when d = 3 and ``index % settings.rotation_period == settings.rotation_period // 2``.  The value (to minimize) is the max inner product of
    the result, or for the Softmax problem where the polish sharpens (``s.sharpen``)
    ``1 - rho_one_vs_rest`` after a Softmax sharpening stage and its basin hops
    (:func:`_softmax_hops`, where ``s.softmax_hops``); for every value,
    ``rho_one_vs_rest >= 1 - value``.  Small Softmax problems are LP-polished on their
    own objective later, on the best candidates only.

    Parameters
    ----------
    problem : {"tammes", "softmax"}
    d, K : int
    seed_seq : numpy.random.SeedSequence
    settings : SearchSettings
    init : ndarray, shape (d, K), optional
    index : int
        Restart number (sets the starting sharpness and the antipodal choice).
    deadline : float, optional
        ``time.time()`` at which the restart returns its best point so far.
    stop : object with ``is_set()``, optional
        Stop flag (in a pool worker, the one installed by the pool's initializer).

    Returns
    -------
    dict
        ``W`` (d, K), ``value`` (see above), ``antipodal``, ``symmetry`` (``None``,
        ``"antipodal"`` or the group and orbits of a rotation-symmetric start), ``hops`` (Tammes and Softmax
        hops made), ``timings``, and ``hull_seconds``: the slowest of the exact
        one-vs-rest evaluations of the Softmax stage and its hops (``None`` without the stage).

    Notes
    -----
    BLAS runs single-threaded inside (threadpoolctl): restarts run side by side, one
    per core, on small matrices, where BLAS threads only contend.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _restart(problem, d, K, seed_seq, settings, init, index, deadline,
                        stop if stop is not None else _WORKER_STOP)


def _restart(problem, d, K, seed_seq, s: SearchSettings, init, index, deadline, stop):
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed_seq)
    softmax_stage = s.softmax_stage(problem)
    period = s.softmax_antipodal_period if softmax_stage else 2
    antipodal = init is None and s.antipodal and d >= 3 and index % period == 1
    # a rotation turn that falls on an antipodal restart (an odd softmax_antipodal_period) stays antipodal
    groups = (_rotation_groups(s, K) if init is None and not antipodal and d == 3 and s.rotation_period > 0
              and index % s.rotation_period == s.rotation_period // 2 else [])
    rotation = bool(groups)
    symmetry = "antipodal" if antipodal else None
    # The Softmax stage restarts the continuation at softmax_beta: a descent beyond it is
    # wasted (40 restarts on one core: the same rho after the stage, mean 0.66180 / 0.66185 at
    # (10, 100), 0.76845 / 0.76840 at (20, 200), from a descent stopped at 1000 / at 50, in
    # 1.80 / 1.35 s and 5.6 / 4.5 s a restart).  Every restart still runs its first sharpness.
    beta_max = min(s.beta_max, max(s.softmax_beta, s.beta_top(d, K))) if softmax_stage else s.beta_max
    run = dict(beta_max=beta_max, steps_per_beta=s.steps(index), lr=s.lr, decay=s.decay, deadline=deadline,
               stop=stop)
    overlap_search = init is None and s.overlap_search
    overlap = overlap_search and not (antipodal or rotation)
    if init is not None:
        W = np.array(init, dtype=np.float64)
    elif not (antipodal or rotation):
        W = _random_columns(rng, d, K)
    n_moves = 0
    kept = []  # codes the hops also polish, continuing from the best
    if overlap:
        W, value, n_moves = _overlap_restart(W, rng, s, run)
    elif antipodal:
        W, value = _antipodal_tries(rng, d, K, s, index, run)
    elif rotation:
        W, value, symmetry = _rotation_tries(rng, groups, K, s, index, run, overlap=overlap_search)
        if overlap_search:  # the symmetric code's neighbourhood, searched without the symmetry
            kept.append(W)
            W, value, n_moves = _overlap_restart(W, rng, s, run)
    elif s.descent:
        W, value = lse_descent(W, beta0=s.beta0(d, K, index), **run)
    else:
        value = max_inner_product(W)
    first = time.perf_counter() - t0
    timings = {"overlap" if overlap else "descent": first}
    n_hops, hull_seconds = 0, None
    # A restart of several antipodal descents keeps its symmetric best (hops would break it). One
    # antipodal descent (d = 3, where few best known codes are centrally symmetric) is just
    # another start: it hops like the rest, and so do the rotation-symmetric restarts (bench_solvers, d = 3, K = 80, seed 0: missed in 120 s
    # while half the restarts did not hop, hit in 70 s).
    if s.polish and s.hops > 0 and (not antipodal or s.antipodal_tries == 1):
        W, value, n_hops = _hop(W, value, rng, s, run, hops=0 if overlap else s.hops, also=kept, fine=rotation)
        n_hops += n_moves
        timings["hops"] = time.perf_counter() - t0 - first
    if softmax_stage and not _expired(deadline, stop):
        t1 = time.perf_counter()
        r = _softmax_stage(W, s, deadline, stop)
        W, value = r.W, 1.0 - r.rho
        timings["softmax"] = time.perf_counter() - t1
        hull_seconds = r.hull_seconds
        if s.softmax_hops > 0 and not _expired(deadline, stop):
            t1 = time.perf_counter()
            W, value, n_softmax, hop_hull = _softmax_hops(W, value, rng, s, deadline, stop)
            n_hops += n_softmax
            timings["softmax_hops"] = time.perf_counter() - t1
            hull_seconds = max(hull_seconds, hop_hull)
    timings["total"] = time.perf_counter() - t0
    return {"W": W, "value": value, "antipodal": antipodal, "symmetry": symmetry, "hops": n_hops,
            "timings": timings, "hull_seconds": hull_seconds}


def _softmax_stage(W, s: SearchSettings, deadline, stop=None):
    """Sharpen the Softmax objective from the descent's point (a :class:`.sharpen.Sharpened`).

    The epigraph form (:func:`.sharpen.sharpen_softmax`) starts at the exact separating
    directions and at a moderate sharpness ``s.softmax_beta``, low enough to leave the
    Tammes basin for a better Softmax one (measured at d = 10, K = 100: rho 0.6605 ->
    0.6659 from a start of 50, 0.6649 from 15 or 150, +1e-5 from 1e6).  It stops at
    ``s.softmax_beta_max``; the final polish continues the best restarts from
    :meth:`SearchSettings.softmax_polish_beta` on.  The restart's value is ``1 - rho``,
    which keeps the meaning of restart values: ``rho >= 1 - value``.
    """
    from .sharpen import sharpen_softmax_exact

    return sharpen_softmax_exact(W, beta_start=s.softmax_beta, beta_max=s.softmax_beta_max,
                                 max_iter=s.softmax_iterations, tol=1e-7, deadline=deadline, stop=stop)


def _antipodal_tries(rng, d, K, s: SearchSettings, index, run):
    """The best of ``s.antipodal_tries`` antipodal descents (odd K: one codeword dropped, the rest relaxed).

    A symmetric descent costs a small fraction of a free restart that basin-hops, and
    each finds a symmetric optimum only from a narrow band of starting sharpness (the
    D5 roots at d = 5, K = 40: 1 or 2 of 10 descents, near beta0 = 30), so one
    restart tries several, sweeping the sharpness with the sub-index
    ``index * tries + j``.  Where restarts hop, each descent is followed by
    symmetric hops (:func:`_symmetric_hops`).
    """
    best_W, best = None, np.inf
    tries = s.antipodal_tries
    for j in range(tries):
        if j and _expired(run["deadline"], run["stop"]):
            break
        beta0 = s.beta0(d, K, index * tries + j)
        W, value = _symmetric_descent(_random_columns(rng, d, (K + 1) // 2), Antipodal(), beta0, s, run)
        if s.descent and s.polish and s.hops > 0 and tries > 1:
            W, value = _symmetric_hops(W, value, rng, s, run)
        if W.shape[1] > K:  # odd K: drop a codeword of the closest pair, relax the rest
            G = W.T @ W
            np.fill_diagonal(G, -np.inf)
            W = np.delete(W, int(np.unravel_index(np.argmax(G), G.shape)[0]), axis=1)
            W, value = lse_descent(W, beta0=8.0 * beta0, **run) if s.descent else (W, max_inner_product(W))
        if value < best:
            best_W, best = W, value
    return best_W, best


def _rotation_tries(rng, groups, K, s: SearchSettings, index, run, overlap=False):
    """The best of ``s.rotation_tries`` searches among rotation-invariant codes in R^3.

    The tries sweep ``groups`` (:func:`_rotation_groups`: those of ``s.rotation_groups``
    with an orbit decomposition of ``K``, never empty), continuing from one
    rotation-symmetric restart to the next: each group once in turn (so every group comes
    up, where random draws missed the icosahedral group in all 24 tries of a 120 s search at
    K = 120), then in proportion to its free points (:func:`_group_turn`); each try
    draws a decomposition and random free points and runs the descent on the free points
    (:class:`.symmetry.OrbitCode`), its starting sharpness swept with the sub-index
    ``index * tries + j`` as in :func:`_antipodal_tries`.  With ``overlap``, a try is instead
    overlap basin hopping among the invariant codes (:func:`_symmetric_overlap`) with half
    of ``s.overlap_patience``, and two tries' searches go on with all of it: the best try's
    and, where it is another, the best try of the most free points (``OrbitCode.h``).
    Returns ``(W, value, label)``, ``label`` naming the group and orbits of the best (e.g.
    ``"I: 0 on axes + 2 x 60"``).

    Why the second: a group of few free points converges within a try's patience and
    wins the ranking, while one of many is still far from its best.  At K = 115, seed 0,
    the C5 try was the best in each of the first four rotation-symmetric restarts, and its
    search always ended at 0.9419547, while the best known code is C2-invariant (57
    free points); going on from the best C2 try too, the third such restart reached it
    (docs/theory.md, stop 33).

    The descents rank the groups badly where the overlap search does not (measured at
    K = 125, one core, three tries per orbit decomposition, ``/work/exp/s30/grp.py``): D3
    descents end at 0.94688-0.94730 and D5 ones at 0.94653-0.94659, while D3 searches of
    20 moves' patience reach 0.946405 in 3 of 6 tries, 0.5-0.8 s each, D5 ones 0.946528;
    the best known code was reached from the D3 codes (docs/theory.md).  Half, not a fifth:
    at K = 115 tries of 20 moves' patience rank C2, the group of the best known code, below
    C5 and D5 (0.94207-0.94216 against 0.94196-0.94197); tries of 50 reach 0.94192 and
    0.94194 in 2 of 6 under C2 (``grp.py 115 50 3``).
    """
    from .symmetry import OrbitCode

    # A few free points need no slow anneal: s.steps_per_beta, not the restart's cycle (measured,
    # 20 descents each, hits of the best known value: K = 130 under D5 10 / 11 at 200 / 200-800
    # steps, under C5 14 / 15, K = 120 under I 20 / 20; 0.17 / 0.4 s a descent).
    run = {**run, "steps_per_beta": s.steps_per_beta}
    done = []  # (W, value, orbits) of each try
    tries = s.rotation_tries
    first = (index // s.rotation_period) * tries  # tries made by the earlier rotation-symmetric restarts
    for j in range(tries):
        if j and _expired(run["deadline"], run["stop"]):
            break
        group, decs = groups[_group_turn(first + j, groups)]
        special, h = decs[int(rng.integers(len(decs)))]
        orbits = OrbitCode(group, special, h)
        X = _random_columns(rng, 3, h)
        if overlap:
            W, value = _symmetric_overlap(X, orbits, rng, s, run, patience=max(1, s.overlap_patience // 2))
        else:
            W, value = _symmetric_descent(X, orbits, s.beta0(3, K, index * tries + j), s, run)
        done.append((W, value, orbits))
    best = min(done, key=lambda t: t[1])
    W, value, orbits = best
    if overlap:
        widest = max(done, key=lambda t: (t[2].h, -t[1]))  # the best try of the most free points
        for W1, _, o1 in [best] if widest is best else [best, widest]:
            if _expired(run["deadline"], run["stop"]):
                break
            n1 = o1.fixed.shape[1]
            W2, value2 = _symmetric_overlap(W1[:, n1:n1 + o1.h], o1, rng, s, run, patience=s.overlap_patience)
            if value2 < value:
                W, value, orbits = W2, value2, o1
    nf = orbits.fixed.shape[1]
    return W, value, f"{orbits.group.name}: {nf} on axes + {orbits.h} x {orbits.group.order}"


def _group_turn(t, groups):
    """Index into ``groups`` (:func:`_rotation_groups`) of rotation try ``t``, counted over the restarts.

    Each group once in turn, then in proportion to its free points (the mean ``h`` of its
    decompositions), by the golden-ratio sequence.  Why: a group of few free points ends
    at the same code try after try (at K = 115, of about 19 tries each: C6 always at
    0.94267, D5 and C5 nearly always at 0.94197 and 0.94196), while one of many keeps
    finding new ones; the best known 115-point code is C2-invariant (57 free points).
    Measured on rotation-symmetric restarts 1, 3, ..., 23 at K = 115 (one core, the same
    seeds): 4 of 12 reached the best known value, against 1 of 12 with the groups in turn,
    in 14.0 and 13.6 s a restart.  At K = 110, whose best known code comes from C5 and D3
    codes, the same restarts did the reverse (1 of 12 against 4 of 12): a trade between
    the two cells, kept for (3, 115), which the benchmark's list run missed (docs/theory.md,
    stop 32).
    """
    n = len(groups)
    if t < n:
        return t
    weights = np.array([np.mean([h for _, h in decs]) for _, decs in groups])
    u = golden_fraction(t - n)
    return int(min(n - 1, np.searchsorted(np.cumsum(weights) / weights.sum(), u, side="right")))


def _symmetric_descent(X, symmetry, beta0, s: SearchSettings, run):
    """``(W, value)``: the descent from the free points ``X`` among the codes ``symmetry.code(X)``
    (:func:`.descent.lse_descent`), or with ``s.descent`` off that code as it is."""
    if s.descent:
        return lse_descent(X, beta0=beta0, symmetry=symmetry, **run)
    W = symmetry.code(X)
    return W, max_inner_product(W)


def _symmetric_overlap(X, orbits, rng, s: SearchSettings, run, patience):
    """``(W, max inner product)`` after overlap basin hopping (:func:`.overlap.overlap_hops`)
    among the codes ``orbits.code(Y)`` (:class:`.symmetry.OrbitCode`), from the free points ``X``.

    A move shifts free points (:func:`_orbit_cap_jitter`) and the relaxations move the
    free points only, so the search space is that of ``h`` points: the hops find basins
    that free restarts almost never reach (measured in docs/theory.md).
    """
    from .overlap import _hops

    W, value, _ = _hops(orbits.code(X), patience=patience, deadline=run["deadline"], stop=run["stop"],
                        perturb=lambda W, t: _orbit_cap_jitter(W, orbits, rng, s.overlap_stepsize, s.overlap_share, t),
                        orbits=orbits)
    return W, value


def _orbit_cap_jitter(W, orbits, rng, stepsize, share, t):
    """The invariant code of ``orbits`` (an :class:`.symmetry.OrbitCode`) whose free points are those
    of ``W`` (shape (3, K), ``orbits.code(X)`` relaxed: its columns ``X``) with the :func:`_cap_size`
    of ``share`` of them nearest a random one (the orbit's nearest point counts) moved by steps of
    ``stepsize`` times the angle of ``t``, the max inner product of ``W``.  Returns shape (3, K)."""
    nf, h = orbits.fixed.shape[1], orbits.h
    X = W[:, nf:nf + h]  # g_1 is the identity
    images = W[:, nf:].reshape(3, orbits.group.order, h)
    near = np.einsum("igh,i->gh", images, X[:, int(rng.integers(h))]).max(axis=0)
    cap = np.argsort(-near, kind="stable")[:_cap_size(share, h)]
    return orbits.code(_jitter(X, rng, _min_angle(t), stepsize, cap))


def _rotation_groups(s: SearchSettings, K):
    """``[(group, decompositions)]`` of the groups of ``s.rotation_groups`` with a ``K``-point invariant code."""
    from .symmetry import orbit_decompositions, rotation_group

    return [(g, decs) for g in map(rotation_group, s.rotation_groups) if (decs := orbit_decompositions(g, K))]


def _basin_hops(W, value, run, *, hops, patience, perturb, local, gain=1e-12, report=None):
    """Monotonic basin hopping from ``(W, value)`` (to minimize).

    A hop draws ``X = perturb(W, value)`` (unit columns) and hands it to ``local``, which
    returns ``(W2, value2)``; the result is kept if better.  Ends after ``patience`` hops
    in a row that did not lower the value by more than ``gain`` (relative to
    ``max(1, |value|)``: a local step that only continues an unfinished polish is kept
    but is no new basin), ``hops`` hops, at the deadline / stop flag of ``run``, or when
    ``report(value, hops made)``, called after each hop, returns True.
    Returns ``(W, value, hops made)``.
    """
    fails = n = 0
    while n < hops and fails < patience and not _expired(run["deadline"], run["stop"]):
        n += 1
        W2, value2 = local(perturb(W, value))
        scale = max(1.0, abs(value))
        fails = 0 if value2 < value - gain * scale else fails + 1
        if value2 < value - 1e-12 * scale:
            W, value = W2, value2
        if report is not None and report(value, n) is True:
            break
    return W, value, n


def _jitter(W, rng, angle, stepsize, columns):
    """``W`` with ``columns`` moved by Gaussian steps of typical length ``stepsize * angle``, renormalized."""
    d = W.shape[0]
    X = W.copy()
    moved = X[:, columns]
    moved += (stepsize * angle / np.sqrt(max(d - 1, 1))) * rng.standard_normal(moved.shape)
    X[:, columns] = moved / np.linalg.norm(moved, axis=0)
    return X


def _cap_size(share, K):
    """How many codewords a cap of ``share`` holds: ``ceil(share * K)``, at least 2, at most K
    (rounded to 1e-9 first, so that 0.07 of 100 is 7, not 8)."""
    return min(K, max(2, math.ceil(round(share * K, 9))))


def _cap_jitter(W, rng, stepsize, share):
    """:func:`_jitter` of the :func:`_cap_size` codewords nearest a random one (itself included).

    The step is in units of the minimum angle of ``W``.  Returns the moved code
    (unit columns, shape of ``W``).
    """
    K = W.shape[1]
    G = W.T @ W
    cap = np.argsort(-G[int(rng.integers(K))], kind="stable")[:_cap_size(share, K)]
    np.fill_diagonal(G, -np.inf)
    return _jitter(W, rng, _min_angle(G.max()), stepsize, cap)


def _min_angle(t):
    """The angle of inner product ``t``."""
    return float(np.arccos(np.clip(t, -1.0, 1.0)))


def _symmetric_hops(W, value, rng, s: SearchSettings, run):
    """Basin hopping among centrally symmetric codes ``[X, -X]``: perturb ``X``, descend again.

    A hop (:func:`_basin_hops`, step ``s.symmetric_hop_stepsize``) repeats the antipodal
    descent from a sharpness above every restart's start (twice the top of the
    spread), so the new point stays near the old basin.
    Measured at d = 5, K = 40 (symmetric descents swept over the spread as in
    :func:`_antipodal_tries`, one core, seeds 0-5): the D5 roots after a median 7 s
    (0.6-35 s) with these hops, 25 s (14-59 s) from the descents alone.
    """
    d, n = W.shape[0], W.shape[1] // 2
    beta_hop = min(2.0 * s.beta_top(d, 2 * n), run["beta_max"])  # a start above the cap would not descend
    W, value, _ = _basin_hops(
        W, value, run, hops=s.hops, patience=s.hop_patience,
        perturb=lambda W, v: _jitter(W[:, :n], rng, _min_angle(v), s.symmetric_hop_stepsize, slice(None)),
        local=lambda X: lse_descent(X, beta0=beta_hop, antipodal=True, **run))
    return W, value


def _overlap_restart(W, rng, s: SearchSettings, run):
    """``(W, max inner product, moves)`` after overlap-penalty basin hopping from ``W`` (:func:`.overlap.overlap_hops`)."""
    from .overlap import overlap_hops

    return overlap_hops(W, perturb=lambda X, t: _cap_jitter(X, rng, s.overlap_stepsize, s.overlap_share),
                        patience=s.overlap_patience, deadline=run["deadline"], stop=run["stop"])


def _hop(W, value, rng, s: SearchSettings, run, hops, also=(), fine=False):
    """Polish, then basin hopping: perturb the codewords (:func:`_tammes_perturb`), LP-polish, keep if better.

    The descent's point is polished first (trust-region sequential LP, :func:`.polish.polish_tammes`);
    a hop (:func:`_basin_hops`, step ``hop_stepsize``) polishes from a wide trust region
    (``hop_radius``).  In d = 3 this reaches the best known codes that the descent alone
    misses (measured: K = 50 in 5 s and K = 60 in 8 s with hops, neither in 90 s of
    descents alone).  ``hops`` caps the hops (0: the polish only, after the overlap search).
    The codes ``also`` are polished too, and the hops go on from the best of all: a
    rotation-symmetric restart keeps its symmetric code so, which the search without the
    symmetry can leave for a worse one (it follows the overlap energy, not the max inner
    product): at K = 115, C2 tries only, six restarts reached the best known value 4 times
    with it, 3 without (``/work/exp/s31/rot115_C2_*.log``).  With ``fine``, the hops go on
    with steps of ``s.fine_hop_stepsize`` (0: none).  Returns ``(W, value, hops made)``.
    """
    W, value = min(map(_polisher(s, run, s.radius), (W, *also)), key=lambda r: r[1])
    moves = [lambda W, v: _tammes_perturb(W, v, rng, s)]
    if fine and s.fine_hop_stepsize > 0:
        moves.append(_fine_move(rng, s))
    n = 0
    for perturb in moves:
        W, value, made = _basin_hops(W, value, run, hops=hops, patience=s.hop_patience, perturb=perturb,
                                     local=_polisher(s, run, s.hop_radius))
        n += made
    return W, value, n


def _polisher(s: SearchSettings, run, radius):
    """``polish(X) -> (W, max inner product)``: the LP polish of a hop (:func:`.polish.polish_tammes`,
    trust radius ``radius``), each given the time left before ``run``'s deadline."""
    from .polish import polish_tammes

    deadline, stop = run["deadline"], run["stop"]

    def polish(X):
        left = None if deadline is None else max(1e-3, deadline - time.time())
        r = polish_tammes(X, radius=radius, max_iter=s.polish_iterations, time_limit=left, stop=stop)
        return r.W, -r.value

    return polish


def _fine_move(rng, s: SearchSettings):
    """A fine hop's move ``(W, max inner product) -> X``: every codeword by ``s.fine_hop_stepsize``
    times the minimum angle."""
    return lambda W, v: _jitter(W, rng, _min_angle(v), s.fine_hop_stepsize, slice(None))


def fine_hops(W, value, seed_seq, s: SearchSettings, *, deadline: float, report=None):
    """The endgame of a Tammes search: fine basin hops from its best code until ``deadline``.

    Every codeword moves by ``s.fine_hop_stepsize`` times the minimum angle, the LP polish
    (trust radius ``s.hop_radius``) follows, and the result is kept if better; there is no
    patience limit, only the deadline (``time.time()``), Ctrl-C (the best so far is
    kept) or ``report(value, hops made)`` returning True.  Why: at (3, 110) the restarts
    end on one of many optima within 1e-8 of the best known value (0.939026295626,
    0.939026293239, 0.939026291719, ...), which such hops connect where new restarts
    rarely land: from a 0.939026295626 code, one of two 60 s runs reached the best known
    0.939026290863 (in 9.8 s), and the restarts of a 120 s search, which reach the
    0.93902629 area several times, missed it with one seed of four (docs/theory.md, stop 34).

    Parameters
    ----------
    W : ndarray, shape (d, K)
        The code to start from (unit columns).
    value : float
        Its max inner product.
    seed_seq : numpy.random.SeedSequence
        The moves' randomness.
    s : SearchSettings
        ``fine_hop_stepsize``, ``hop_radius`` and ``polish_iterations`` are used.
    deadline : float
        ``time.time()`` at which the hops end (an LP polish running then returns its best point).
    report : callable, optional
        ``report(best value, hops made)`` after each hop; True stops the hops.

    Returns
    -------
    (W, value, hops made, whether Ctrl-C stopped them)
    """
    if deadline is None:  # no patience limit: only the deadline ends the hops
        raise ValueError("fine_hops needs a deadline (time.time() seconds), got None")
    rng = np.random.default_rng(seed_seq)
    stop = threading.Event()
    with _Interrupt([stop]) as intr:
        run = {"deadline": deadline, "stop": stop}
        W, value, n = _basin_hops(W, value, run, hops=math.inf, patience=math.inf, report=report,
                                  perturb=_fine_move(rng, s), local=_polisher(s, run, s.hop_radius))
    return W, value, n, intr.fired


def _tammes_perturb(W, value, rng, s: SearchSettings):
    """A Tammes hop's move: every codeword (``hop_share`` 1) or a cap of them, by ``hop_stepsize``
    times the minimum angle (``value`` is the max inner product of ``W``)."""
    if s.hop_share >= 1.0:
        return _jitter(W, rng, _min_angle(value), s.hop_stepsize, slice(None))
    return _cap_jitter(W, rng, s.hop_stepsize, s.hop_share)


def _softmax_hops(W, value, rng, s: SearchSettings, deadline, stop):
    """Basin hopping on the Softmax objective: move a cap of codewords, sharpen again, keep if better.

    A hop (:func:`_basin_hops`) moves the codewords nearest to a random one
    (:func:`_cap_size` of ``softmax_hop_share``) by steps of ``softmax_hop_stepsize`` times the minimum angle, then reruns
    the Softmax stage (:func:`_softmax_stage`, from ``softmax_beta``); ``value`` is
    ``1 - rho``.  Local moves leave the rest of a good code in place, where moving every
    codeword by as much would undo it; measured at d = 10, K = 100 from a code of rho
    0.66555 (a 30 s search, one core, 40 s of hops, step 1.0 times the minimum angle):
    rho 0.66876 after 6 accepted hops of 82 moving the 12 nearest, 0.66827 after 1 of 81
    moving all 100 by 0.6.  Returns ``(W, value, hops made, slowest exact evaluation)``.
    """
    hull_seconds = 0.0

    def local(X):
        nonlocal hull_seconds
        r = _softmax_stage(X, s, deadline, stop)
        hull_seconds = max(hull_seconds, r.hull_seconds)
        return r.W, 1.0 - r.rho

    W, value, n = _basin_hops(W, value, {"deadline": deadline, "stop": stop}, hops=s.softmax_hops,
                              patience=s.softmax_hop_patience, gain=s.softmax_hop_gain, local=local,
                              perturb=lambda W, v: _cap_jitter(W, rng, s.softmax_hop_stepsize, s.softmax_hop_share))
    return W, value, n, hull_seconds


@dataclass
class MultistartResult:
    """All restarts of one run.

    Attributes
    ----------
    results : dict
        Restart index -> the dict of :func:`restart_once`, for the restarts kept.
    values : ndarray, shape (restarts,)
        Max inner product of every restart in restart order (NaN where it did not run).
    seed : int
        Root entropy.
    status : str
        Why the search ended: ``"adaptive"`` (the best value was reached often enough),
        ``"restarts"`` (all restarts ran), ``"time_limit"``, ``"interrupted"`` (Ctrl-C) or
        ``"callback"`` (``progress`` returned True).
    wall : float
        Wall-clock seconds of the search.
    time_to_best : float
        Wall-clock seconds until the first restart reaching the best value finished.
    stage_seconds : dict
        Per-stage seconds summed over restarts.
    """

    results: dict
    values: np.ndarray
    seed: int
    status: str
    wall: float = 0.0
    time_to_best: float = 0.0
    stage_seconds: dict = field(default_factory=dict)

    @property
    def n_run(self) -> int:
        """Restarts kept."""
        return len(self.results)

    def ranked(self) -> list[int]:
        """Restart indices, best value first (ties by index)."""
        return sorted(self.results, key=lambda i: (self.results[i]["value"], i))

    def n_hits(self, tol: float) -> int:
        """Restarts within ``tol`` (relative) of the best value."""
        best = self.results[self.ranked()[0]]["value"]
        return sum(1 for r in self.results.values() if r["value"] <= best + tol * max(1.0, abs(best)))


class _Interrupt:
    """Turns Ctrl-C into a stop flag while the search runs (main thread only).

    A second Ctrl-C raises KeyboardInterrupt as usual.
    """

    def __init__(self, flags):
        self.flags = flags
        self.fired = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.fired:
            raise KeyboardInterrupt
        self.fired = True
        for f in self.flags:
            f.set()

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def _serial_default(d, K, restarts) -> bool:
    """Whether ``executor=None`` runs the restarts in this process: one restart, one CPU, or a
    small problem, where worker start-up (imports, loading numba kernels) costs more than it saves."""
    return restarts == 1 or available_cpus() == 1 or d * K < SMALL_PROBLEM


def runs_serially(executor, d, K, restarts) -> bool:
    """Whether :func:`run_restarts` with ``executor`` (its argument) runs the restarts one at a time."""
    from spherecodes.executor import SerialExecutor

    if executor is None:
        return _serial_default(d, K, restarts)
    if isinstance(executor, str):
        return executor.strip().lower() == "serial"
    return isinstance(executor, SerialExecutor)


def _make_executor(executor, d, K, restarts, stop_mp):
    """``(executor, owned, serial)`` for the ``executor`` argument (see :func:`run_restarts`)."""
    from spherecodes.executor import SerialExecutor, get_executor

    if executor is None:
        if _serial_default(d, K, restarts):
            return SerialExecutor(), True, True
        from concurrent.futures import ProcessPoolExecutor
        return ProcessPoolExecutor(max_workers=min(restarts, available_cpus()), initializer=_worker_init,
                                   initargs=(stop_mp,)), True, False
    if isinstance(executor, str):
        ex = get_executor(executor)
        return ex, True, isinstance(ex, SerialExecutor)
    if not isinstance(executor, Executor) and not hasattr(executor, "submit"):
        raise ValueError(f"executor must be a concurrent.futures.Executor, a string or None, got {executor!r}")
    return executor, False, isinstance(executor, SerialExecutor)


def run_restarts(problem: str, d: int, K: int, *, settings: SearchSettings, seed, executor=None,
                 deadline: float | None = None, progress=None, init=None) -> MultistartResult:
    """Run up to ``settings.restarts`` restarts until ``deadline``, the adaptive stop or Ctrl-C.

    Parameters
    ----------
    problem : {"tammes", "softmax"}
    d, K : int
    settings : SearchSettings
    seed : None, int or Generator
    executor : concurrent.futures.Executor, str or None
        ``None``: a local process pool with :func:`spherecodes.executor.available_cpus` workers (in-process
        when ``restarts == 1`` or ``d * K < SMALL_PROBLEM``); a string is passed to
        :func:`spherecodes.executor.get_executor` (``"serial"`` or a Dask scheduler
        address); any Executor instance (e.g. ``distributed.Client(...).get_executor()``)
        is used as is and not shut down.
    deadline : float, optional
        ``time.time()`` by which every restart has returned its best point so far.
    progress : callable, optional
        ``progress(elapsed_seconds, best_value, n_done)``, called as restarts finish and
        about twice a second from the first finished restart on; returning ``True`` stops the search (running restarts
        return their best point so far, status ``"callback"``).
    init : array, optional
        Starting point of restart 0 (the others are random).

    Returns
    -------
    MultistartResult
        With the adaptive stop, exactly the prefix ``0 .. n-1`` of restarts is kept, so
        that the result does not depend on the executor.
    """
    import multiprocessing

    root = root_seed(seed)
    restarts = settings.restarts
    children = np.random.SeedSequence(root).spawn(restarts)
    stop_mp = multiprocessing.get_context().Event()
    stop_local = threading.Event()
    executor, own, serial = _make_executor(executor, d, K, restarts, stop_mp)
    # Restarts are submitted a few at a time so that the deadline and the adaptive stop waste
    # little work; executors of unknown size (a Dask cluster) get a deeper queue.
    workers = getattr(executor, "_max_workers", None)
    max_inflight = 1 if serial else (2 * workers if workers else max(64, 2 * available_cpus()))
    stop_arg = stop_local if serial else None

    values = np.full(restarts, np.nan)
    results: dict[int, dict] = {}
    finish = np.full(restarts, np.nan)
    t_start = time.perf_counter()
    best = None
    pending: dict = {}
    nxt = prefix = 0
    status = "restarts"
    stop_at = None
    with _Interrupt([stop_mp, stop_local]) as intr:
        try:
            while True:
                out_of_time = deadline is not None and time.time() >= deadline
                if intr.fired and status != "interrupted":
                    status = "interrupted"
                    for fut in pending:  # queued ones never start; running ones return at once
                        fut.cancel()
                elif out_of_time and nxt > 0:
                    status = "time_limit"
                while (nxt < restarts and len(pending) < max_inflight and not intr.fired
                       and not (out_of_time and nxt > 0) and stop_at is None):
                    fut = executor.submit(restart_once, problem, d, K, children[nxt], settings,
                                          init if nxt == 0 else None, nxt, deadline, stop_arg)
                    pending[fut] = nxt
                    nxt += 1
                if not pending:
                    break
                done, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    if fut.cancelled():
                        continue
                    r = fut.result()
                    results[i] = r
                    values[i] = r["value"]
                    finish[i] = time.perf_counter() - t_start
                    best = r["value"] if best is None else min(best, r["value"])
                if progress is not None and best is not None and stop_at is None:
                    if progress(time.perf_counter() - t_start, best, len(results)) is True:
                        status = "callback"
                        stop_at = restarts  # keep every restart that returns
                        for fut in pending:
                            fut.cancel()
                        stop_mp.set()
                        stop_local.set()
                if settings.adaptive and stop_at is None:
                    while prefix in results and stop_at is None:
                        prefix += 1
                        if prefix >= settings.min_restarts:
                            pv = values[:prefix]
                            b = pv.min()
                            if np.sum(pv <= b + settings.hit_tol * max(1.0, abs(b))) >= settings.stop_hits:
                                stop_at = prefix
                    if stop_at is not None:  # later restarts are not kept: stop them
                        status = "adaptive"
                        for fut in pending:
                            fut.cancel()
                        stop_mp.set()
                        stop_local.set()
                        break
        finally:
            if own:
                executor.shutdown(wait=True, cancel_futures=True)
    if stop_at is not None:
        for i in [i for i in results if i >= stop_at]:
            del results[i]
        values[stop_at:] = np.nan
        finish[stop_at:] = np.nan
    if not results:
        raise KeyboardInterrupt("interrupted before the first restart returned")
    stage: dict = {}
    for r in results.values():
        for key, t in r["timings"].items():
            stage[key] = stage.get(key, 0.0) + t
    ms = MultistartResult(results=results, values=values, seed=root, status=status,
                          wall=time.perf_counter() - t_start, stage_seconds=stage)
    b = results[ms.ranked()[0]]["value"]
    hits = [i for i in results if results[i]["value"] <= b + settings.hit_tol * max(1.0, abs(b))]
    ms.time_to_best = float(np.nanmin(finish[hits]))
    return ms
