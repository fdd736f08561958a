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

from .polish import polish_softmax, polish_tammes
from .smoothing import DEFAULT_BETAS, smooth_tammes

__all__ = ["restart_once", "run_restarts", "root_seed", "default_restarts", "MultistartResult"]

#: With ``executor=None``, problems with ``d * K`` below this run in-process instead of in a process pool.
SMALL_PROBLEM = 100

#: Restarts whose final value is within this (relative to max(1, |best|)) of the best count as successes.
SUCCESS_TOL = 1e-9


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
    small problems with few optima need few.  Default runs are adaptive: they stop
    early once the best value has been reached several times (see
    :func:`run_restarts`), so this is a cap.
    """
    if K <= d + 1 or d <= 2:
        return 8
    return int(min(400, max(16, 4 * K)))


def default_hops(d: int, K: int) -> int:
    """Default cap on basin-hopping moves per restart (stopped earlier by ``hop_patience`` failures)."""
    if K <= d + 1 or d <= 2:
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
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed_seq)
    if init is None:
        W = rng.standard_normal((d, K))
        W /= np.linalg.norm(W, axis=0)
    else:
        W = np.array(init, dtype=np.float64)
    timings = {}
    if settings.get("smoothing", True):
        betas = settings.get("betas") or default_betas(d, K)
        f = beta_factor(index, settings.get("beta_spread", (1.0, 1.0)))
        W = smooth_tammes(W, betas=[b * f for b in betas], max_iterations=settings.get("cg_iterations", 300))
    t1 = time.perf_counter()
    timings["smoothing"] = t1 - t0
    if settings.get("polish", True):
        rt = polish_tammes(W, radius=settings.get("radius", 0.1), max_iter=settings.get("polish_iterations", 500))
        W = rt.W
    t2 = time.perf_counter()
    timings["polish_tammes"] = t2 - t1
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    value = float(G.max())
    hops = int(settings.get("hops", 0)) if settings.get("polish", True) and d >= 2 else 0
    n_hops = 0
    if hops > 0:
        W, value, n_hops = _hop(W, value, rng, hops=hops, patience=int(settings.get("hop_patience", 5)),
                                sigma=float(settings.get("hop_sigma", 0.15)), settings=settings)
        t3 = time.perf_counter()
        timings["hops"] = t3 - t2
        t2 = t3
    if problem == "softmax":
        if settings.get("polish", True):
            rs = polish_softmax(W, radius=settings.get("softmax_radius", 0.02),
                                max_iter=settings.get("polish_iterations", 500))
            W, value = rs.W, rs.value
        else:
            from spherecodes.hull import one_vs_rest_distances
            value = float(one_vs_rest_distances(W).distance.min())
        timings["polish_softmax"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    return {"W": W, "value": value, "timings": timings, "hops": n_hops}


def _hop(W, value, rng, *, hops, patience, sigma, settings):
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
        r = polish_tammes(W2, radius=settings.get("radius", 0.1), max_iter=settings.get("polish_iterations", 500))
        if -r.value < value - SUCCESS_TOL * max(1.0, abs(value)):
            W, value, fails = r.W, -r.value, 0
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
