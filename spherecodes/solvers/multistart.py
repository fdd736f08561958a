"""Random restarts of the smoothing + polishing pipeline, run through an Executor.

Each restart gets its own child of a ``numpy.random.SeedSequence`` (spawned
from the user's seed), so the set of results is reproducible whatever executor
runs them and in whatever order they finish.  The best restart is chosen by
value, ties broken by restart index.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field

import numpy as np

from .polish import polish_softmax, polish_tammes, softmax_value, tammes_value
from .sharpen import sharpen_softmax, sharpen_tammes
from .smoothing import DEFAULT_BETAS, smooth_tammes

__all__ = ["restart_once", "run_restarts", "root_seed", "default_restarts", "MultistartResult"]

#: With ``executor=None``, problems with ``d * K`` below this run in-process instead of in a process pool.
SMALL_PROBLEM = 100

#: Restarts whose final value is within this (relative to max(1, |best|)) of the best count as successes.
SUCCESS_TOL = 1e-9

#: Sharpen (L-BFGS continuation, :mod:`.sharpen`) before the LP polish from this many
#: tangent variables K (d - 1) on.  Below it the LPs are small and the polish alone is
#: faster (measured 2-10x at d = 3..6, K <= 60); above it each LP takes seconds (d = 10,
#: K = 100: 0.5-1.5 s for 900 variables, and the trust-region LP iteration converges slowly
#: there), while sharpening gets within about 1e-8 of the optimum of the basin in about 7 s.
SHARPEN_MIN_VARIABLES = 400


def sharpens(d: int, K: int) -> bool:
    """Whether the default pipeline sharpens before polishing (see :data:`SHARPEN_MIN_VARIABLES`)."""
    return K * (d - 1) >= SHARPEN_MIN_VARIABLES


def root_seed(seed) -> int:
    """Turn ``seed`` (None, int, SeedSequence or Generator) into the integer root entropy."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2 ** 63 - 1))
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        if isinstance(ent, (int, np.integer)):
            return int(ent)
        raise ValueError("seed: a SeedSequence with non-integer entropy is not supported")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return int(seed)


def default_restarts(d: int, K: int) -> int:
    """Default number of random restarts for a (d, K) problem.

    Grows with K (the number of local optima grows with the number of points);
    small problems with few optima need few; large ones (``K (d - 1) >= 400``, where
    each restart takes tens of seconds) get 16, and a ``time_limit`` is the way to run more.
    Default runs are adaptive: they stop
    early once the best value has been reached several times (see
    :func:`run_restarts`), so this is a cap.
    """
    if K <= d + 1 or d <= 2:
        return 8
    if sharpens(d, K):  # each restart takes tens of seconds (d = 10, K = 100: about 30 s)
        return 16
    return int(min(400, max(16, 4 * K)))


def default_hops(d: int, K: int) -> int:
    """Default cap on basin-hopping moves per restart (stopped earlier by ``hop_patience`` failures)."""
    if K <= d + 1 or d <= 2 or sharpens(d, K):
        # large problems: a hop (sharpening) costs about as much as a restart without hops
        # (d = 10, K = 100: one restart with hops took 300 s, one without 30 s, and reached a
        # higher rho), so their time goes to restarts
        return 0
    return int(max(5, K // 2))


def default_betas(d: int, K: int) -> list[float]:
    """Default sharpness schedule of the smoothing continuation."""
    scale = max(1.0, float(K) ** (2.0 / max(d - 1, 1)) / 4.0)
    return [b * scale for b in DEFAULT_BETAS]


_GOLDEN = 0.6180339887498949


def beta_factor(index: int, spread) -> float:
    """Sharpness multiplier of restart ``index``: log-uniform over ``spread = (lo, hi)``, stratified.

    Restarts sweep the range with the golden-ratio sequence, so that any run of
    consecutive restarts covers it evenly.  Which basin the continuation picks
    depends on the starting sharpness in a (d, K)-dependent way (measured: d = 3,
    K = 15 wants low values and K = 13 higher ones; the 24-cell, d = 4, K = 24, is
    found only from very low ones), so restarts vary it.
    """
    lo, hi = spread
    if lo == hi:
        return float(lo)
    u = (0.5 + index * _GOLDEN) % 1.0
    return float(lo * (hi / lo) ** u)


def restart_once(problem: str, d: int, K: int, seed_seq, settings: dict, init=None, index: int = 0) -> dict:
    """One restart: random point (or ``init``) -> smoothing -> Tammes polish [-> Softmax polish].

    Returns a dict with ``W``, ``value`` (max inner product for ``"tammes"``,
    rho_one_vs_rest for ``"softmax"``) and per-stage ``timings``.

    BLAS runs single-threaded inside (threadpoolctl): restarts run side by side,
    one per core, on small matrices, where BLAS threads only contend (measured:
    sharpening at d = 10, K = 100 was 5x slower with OpenBLAS threads at load 7 on
    2 cores).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _restart(problem, d, K, seed_seq, settings, init, index)


def _restart(problem, d, K, seed_seq, settings, init, index):
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed_seq)
    if init is None:
        W = rng.standard_normal((d, K))
        W /= np.linalg.norm(W, axis=0)
    else:
        W = np.array(init, dtype=np.float64)
    timings = {}
    betas = settings.get("betas") or default_betas(d, K)
    f = beta_factor(index, settings.get("beta_spread", (1.0, 1.0)))
    if settings.get("smoothing", True):
        W = smooth_tammes(W, betas=[b * f for b in betas], max_iterations=settings.get("cg_iterations", 300))
    t1 = time.perf_counter()
    timings["smoothing"] = t1 - t0
    polish = settings.get("polish", True) and d >= 2
    # sharpening continues where the smoothing stopped
    sharpen = {"beta_start": 4.0 * max(betas) * f, "beta_max": settings.get("beta_max", 1e10),
               "max_iterations": settings.get("sharpen_iterations", 2000)} if settings.get("sharpen", False) else None
    hops = int(settings.get("hops", 0)) if polish else 0
    if polish:
        W = _tammes_basin_optimum(W, settings, sharpen, polish=sharpen is None or hops == 0)
    t2 = time.perf_counter()
    timings["polish_tammes"] = t2 - t1
    value = -tammes_value(W)  # the max inner product
    n_hops = 0
    if hops > 0:
        W, value, n_hops = _hop(W, value, rng, hops=hops, patience=int(settings.get("hop_patience", 5)),
                                sigma=float(settings.get("hop_sigma", 0.15)), settings=settings, sharpen=sharpen)
        if sharpen is not None:
            W = _finish_tammes(W, settings)
            value = -tammes_value(W)
        t3 = time.perf_counter()
        timings["hops"] = t3 - t2
        t2 = t3
    if problem == "softmax":
        if polish:
            W, value = _softmax_optimum(W, settings, sharpen)
        else:
            from spherecodes.hull import one_vs_rest_distances
            value = float(one_vs_rest_distances(W).distance.min())
        timings["polish_softmax"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    return {"W": W, "value": value, "timings": timings, "hops": n_hops}


def _tammes_basin_optimum(W, settings, sharpen, *, polish=True):
    """Sharpen (when enabled) and LP-polish a point to the Tammes optimum of its basin.

    With sharpening the LP polish is a short finish (``polish=False`` skips it:
    basin hopping compares sharpened points and polishes only the one it keeps).
    """
    if sharpen is None:
        return polish_tammes(W, radius=settings.get("radius", 0.1), max_iter=settings.get("polish_iterations", 500),
                             time_limit=settings.get("polish_seconds")).W
    W = sharpen_tammes(W, **sharpen)
    return _finish_tammes(W, settings) if polish else W


def _finish_tammes(W, settings):
    """Short LP polish of a sharpened point (close to the optimum: small trust region, few LPs)."""
    # Capped in time too: at d = 20, K = 100 one LP (1900 variables) takes tens of seconds, and
    # after sharpening the polish gains about 1e-8 (d = 10, K = 100: 3e-8 in 10 LPs).
    return polish_tammes(W, radius=settings.get("sharpened_radius", 1e-3),
                         max_iter=settings.get("sharpened_polish_iterations", 10),
                         time_limit=settings.get("polish_seconds", settings.get("sharpened_polish_seconds", 30.0))).W


def _softmax_optimum(W, settings, sharpen):
    """Sharpen (when enabled) and LP-polish a Tammes code on the Softmax Code objective.

    Returns ``(W, rho_one_vs_rest)``; the sharpened point is kept only if its exact
    one-vs-rest value is higher.
    """
    radius, iterations = settings.get("softmax_radius", 0.02), settings.get("polish_iterations", 500)
    if sharpen is not None:
        W2 = sharpen_softmax(W, **sharpen)
        value, value2 = softmax_value(W)[0], softmax_value(W2)[0]
        if value2 > value:
            W, value = W2, value2
        # Each LP of the one-vs-rest polish has 2 K (d - 1) variables: at d = 10, K = 100,
        # 10 LPs took 293 s and raised rho by 6e-9, so by default large problems stop here.
        radius, iterations = settings.get("sharpened_radius", 1e-3), settings.get("sharpened_softmax_iterations", 0)
        if iterations == 0:
            return W, value
    rs = polish_softmax(W, radius=radius, max_iter=iterations, time_limit=settings.get("polish_seconds"))
    return rs.W, rs.value


def _hop(W, value, rng, *, hops, patience, sigma, settings, sharpen=None):
    """Basin hopping on the Tammes objective: perturb, re-polish, keep if better.

    Each hop moves every codeword by a random tangent step of typical length
    ``sigma`` times the current minimum angle and polishes again; the restart stops
    hopping after ``patience`` hops in a row without improvement (or ``hops`` in all).
    In d = 3 at K = 60 this finds the best known packing from most smoothing
    outputs, which random restarts alone reach about once in 60.
    """
    d, K = W.shape
    fails = 0
    n = 0
    while n < hops and fails < patience:
        n += 1
        ang = float(np.arccos(np.clip(value, -1.0, 1.0)))
        W2 = W + (sigma * ang / np.sqrt(max(d - 1, 1))) * rng.standard_normal(W.shape)
        W2 /= np.linalg.norm(W2, axis=0)
        W2 = _tammes_basin_optimum(W2, settings, sharpen, polish=sharpen is None)
        v2 = -tammes_value(W2)
        if v2 < value - SUCCESS_TOL * max(1.0, abs(value)):
            W, value, fails = W2, v2, 0
        else:
            fails += 1
    return W, value, n


@dataclass
class MultistartResult:
    """All restarts of one run.

    Attributes
    ----------
    best : dict
        The best restart (``W``, ``value``, ``timings``, ``index``).
    values : ndarray, shape (n,)
        Final values in restart order (NaN for restarts that did not run).
    n_run : int
        Restarts that finished.
    n_best : int
        Restarts within ``SUCCESS_TOL`` of the best value.
    seed : int
        Root entropy.
    stage_seconds : dict
        Per-stage seconds summed over restarts.
    wall : float
        Wall-clock seconds of the whole run.
    time_to_best : float
        Wall-clock seconds until the first restart reaching the final best value finished.
    """

    best: dict
    values: np.ndarray
    n_run: int
    n_best: int
    seed: int
    stage_seconds: dict = field(default_factory=dict)
    wall: float = 0.0
    time_to_best: float = 0.0


def _better(problem):
    if problem == "tammes":
        return lambda a, b: a < b
    return lambda a, b: a > b


def run_restarts(problem: str, d: int, K: int, *, restarts: int, seed, settings: dict, executor=None,
                 time_limit: float | None = None, progress: bool = False, init=None,
                 stop_hits: int | None = None, min_restarts: int = 1) -> MultistartResult:
    """Run ``restarts`` independent restarts and return the best.

    Parameters
    ----------
    problem : {"tammes", "softmax"}
    d, K : int
    restarts : int
    seed : None, int or Generator
    settings : dict
        Passed to :func:`restart_once`.
    executor : concurrent.futures.Executor, str or None
        ``None``: a local process pool with ``os.cpu_count()`` workers (in-process
        when ``restarts == 1`` or ``d * K < SMALL_PROBLEM``);
        a string is passed to :func:`spherecodes.executor.get_executor`
        (``"serial"`` or a Dask scheduler address); any Executor instance (e.g.
        ``distributed.Client(...).get_executor()``) is used as is and not shut down.
    time_limit : float, optional
        Seconds; no new restart is submitted after it (running ones finish).
    progress : bool
        Show a tqdm bar with the best value so far.
    init : array, optional
        Starting point of restart 0 (the others are random).
    stop_hits : int, optional
        Adaptive stop: once the restarts ``0 .. n-1`` (a prefix, whatever order they
        finished in) include at least ``min_restarts`` and their best value has been
        reached ``stop_hits`` times, stop and keep exactly that prefix.  The result is
        then the same for every executor.
    min_restarts : int
        See ``stop_hits``.
    """
    from spherecodes.executor import SerialExecutor, get_executor

    root = root_seed(seed)
    children = np.random.SeedSequence(root).spawn(restarts)
    own = False
    if executor is None:
        ncpu = os.cpu_count() or 1
        # small problems: worker start-up (imports, loading numba kernels) costs more than it saves
        if restarts == 1 or ncpu == 1 or d * K < SMALL_PROBLEM:
            executor = SerialExecutor()
        else:
            from concurrent.futures import ProcessPoolExecutor
            executor = ProcessPoolExecutor(max_workers=min(restarts, ncpu))
        own = True
    elif isinstance(executor, str):
        executor = get_executor(executor)
        own = True
    elif not isinstance(executor, Executor) and not hasattr(executor, "submit"):
        raise ValueError(f"executor must be a concurrent.futures.Executor, a string or None, got {executor!r}")
    # Restarts are submitted a few at a time so that time_limit and the adaptive stop waste
    # little work; executors of unknown size (a Dask cluster) get a deeper queue.
    workers = getattr(executor, "_max_workers", None)
    max_inflight = 2 * workers if workers else max(64, 2 * (os.cpu_count() or 1))
    if isinstance(executor, SerialExecutor):
        max_inflight = 1

    better = _better(problem)
    values = np.full(restarts, np.nan)
    results: dict[int, dict] = {}
    finish_time = np.full(restarts, np.nan)
    t_start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=restarts, desc=f"{problem} d={d} K={K}", unit="restart")
    best_val = None
    pending = {}
    nxt = 0
    prefix = 0  # restarts 0..prefix-1 are all done
    stop_at = None
    try:
        while (nxt < restarts or pending) and stop_at is None:
            while nxt < restarts and len(pending) < max_inflight:
                if time_limit is not None and nxt > 0 and time.perf_counter() - t_start > time_limit:
                    nxt = restarts  # stop submitting
                    break
                fut = executor.submit(restart_once, problem, d, K, children[nxt], settings,
                                      init if nxt == 0 else None, nxt)
                pending[fut] = nxt
                nxt += 1
            if not pending:
                break
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                r = fut.result()
                results[i] = r
                values[i] = r["value"]
                finish_time[i] = time.perf_counter() - t_start
                if best_val is None or better(r["value"], best_val):
                    best_val = r["value"]
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(best=f"{best_val:.12g}")
            if stop_hits is not None:
                while prefix in results and stop_at is None:
                    prefix += 1
                    if prefix >= min_restarts:
                        pv = values[:prefix]
                        b = pv.min() if problem == "tammes" else pv.max()
                        if np.sum(np.abs(pv - b) <= SUCCESS_TOL * max(1.0, abs(b))) >= stop_hits:
                            stop_at = prefix
        if stop_at is not None:
            for fut in pending:
                fut.cancel()
            for i in [i for i in results if i >= stop_at]:
                del results[i]
            values[stop_at:] = np.nan
            finish_time[stop_at:] = np.nan
    finally:
        if bar is not None:
            bar.close()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    wall = time.perf_counter() - t_start
    ran = sorted(results)
    best_i = ran[0]
    for i in ran[1:]:
        if better(results[i]["value"], results[best_i]["value"]):
            best_i = i
    bv = results[best_i]["value"]
    tol = SUCCESS_TOL * max(1.0, abs(bv))
    hits = [i for i in ran if abs(results[i]["value"] - bv) <= tol]
    stage = {}
    for r in results.values():
        for key, t in r["timings"].items():
            stage[key] = stage.get(key, 0.0) + t
    best = dict(results[best_i])
    best["index"] = best_i
    return MultistartResult(best=best, values=values, n_run=len(ran), n_best=len(hits), seed=root,
                            stage_seconds=stage, wall=wall, time_to_best=float(np.nanmin(finish_time[hits])))
