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
    small problems with few optima need few.
    """
    if K <= d + 1 or d <= 2:
        return 4
    return int(min(200, max(8, 2 * K)))


def default_betas(d: int, K: int) -> list[float]:
    """Default sharpness schedule of the smoothing continuation."""
    scale = max(1.0, float(K) ** (2.0 / max(d - 1, 1)) / 4.0)
    return [b * scale for b in DEFAULT_BETAS]


def restart_once(problem: str, d: int, K: int, seed_seq, settings: dict, init=None) -> dict:
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
        W = smooth_tammes(W, betas=settings.get("betas"), max_iterations=settings.get("cg_iterations", 300))
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
    return {"W": W, "value": value, "timings": timings}


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
                 time_limit: float | None = None, progress: bool = False, init=None) -> MultistartResult:
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
        ``None``: a local process pool (in-process when ``restarts == 1``);
        a string is passed to :func:`spherecodes.executor.get_executor`
        (``"serial"`` or a Dask scheduler address); any Executor instance (e.g.
        ``distributed.Client(...).get_executor()``) is used as is and not shut down.
    time_limit : float, optional
        Seconds; no new restart is submitted after it (running ones finish).
    progress : bool
        Show a tqdm bar with the best value so far.
    init : array, optional
        Starting point of restart 0 (the others are random).
    """
    from spherecodes.executor import SerialExecutor, get_executor

    root = root_seed(seed)
    children = np.random.SeedSequence(root).spawn(restarts)
    own = False
    if executor is None:
        ncpu = os.cpu_count() or 1
        if restarts == 1 or ncpu == 1:
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
    max_inflight = max(1, getattr(executor, "_max_workers", None) or (os.cpu_count() or 1)) * 2
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
    try:
        while nxt < restarts or pending:
            while nxt < restarts and len(pending) < max_inflight:
                if time_limit is not None and nxt > 0 and time.perf_counter() - t_start > time_limit:
                    nxt = restarts  # stop submitting
                    break
                fut = executor.submit(restart_once, problem, d, K, children[nxt], settings,
                                      init if nxt == 0 else None)
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
