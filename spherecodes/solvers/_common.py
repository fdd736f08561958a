"""Shared driver of :func:`softmax_code` and :func:`tammes_code`."""
from __future__ import annotations

import numbers
import time

import numpy as np

from .._validation import as_code, check_dims, check_int
from .multistart import SUCCESS_TOL, default_betas, default_hops, default_restarts, root_seed, run_restarts, sharpens

_METHODS = ("auto", "numeric")
#: Default (adaptive) runs stop once the best value was reached this many times ...
STOP_HITS = 4
#: ... after at least this many restarts.
MIN_RESTARTS = 8


def closed_form(d: int, K: int):
    """The Theorem 3.3 code for (d, K), or ``None`` when (d, K) is not covered.

    Returns ``(name, W)``.  Every case is optimal for both the Softmax Code and the
    Tammes problem: the regular K-gon (d = 2), the simplex (K <= d + 1; also
    Tammes-optimal), the cross-polytope subset (d + 1 < K <= 2d: rho = 1 and max
    inner product 0, optimal by Rankin's orthoplex bound).
    """
    from spherecodes import constructions as C

    if K <= d + 1:
        return "simplex", C.simplex_etf(d, K)
    if d == 1:
        # OB(1, K) = {-1, +1}^K: with K > 2 two codewords coincide whatever the signs.
        W = np.where(np.arange(K) % 2 == 0, 1.0, -1.0)[None, :]
        return "line", W
    if d == 2:
        return "polygon", C.polygon(K)
    if K <= 2 * d:
        return "cross-polytope", C.cross_polytope(d, K)
    return None


def check_common(d, K, restarts, time_limit, method, init, seed):
    d, K = check_dims(d, K)
    if restarts is not None:
        restarts = check_int(restarts, "restarts", minimum=1)
    if time_limit is not None:
        if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) or not time_limit > 0:
            raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
        time_limit = float(time_limit)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if init is not None:
        init = as_code(init, normalize=True, name="init")
        if init.shape != (d, K):
            raise ValueError(f"init must have shape (d, K) = ({d}, {K}), got {init.shape}")
    root = root_seed(seed)
    return d, K, restarts, time_limit, init, root


def solve(problem, d, K, *, restarts, seed, time_limit, progress, method, executor, init, smoothing,
          polish, betas, rattler_rtol, hops=None):
    from spherecodes.code import SphereCode

    t0 = time.perf_counter()
    d, K, restarts, time_limit, init, root = check_common(d, K, restarts, time_limit, method, init, seed)
    if betas is not None:
        try:
            betas = [float(b) for b in betas]
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a sequence of positive numbers, got {betas!r}") from None
        if not betas or not all(np.isfinite(b) and b > 0 for b in betas):
            raise ValueError(f"betas must be a non-empty sequence of positive numbers, got {betas!r}")
    if hops is not None:
        hops = check_int(hops, "hops", minimum=0)
    if executor is not None and not isinstance(executor, str) and not hasattr(executor, "submit"):
        raise ValueError(f"executor must be a concurrent.futures.Executor, a string or None, got {executor!r}")
    if method == "auto" and init is None:
        cf = closed_form(d, K)
        if cf is not None:
            name, W = cf
            return SphereCode.from_W(W, problem=problem, method=f"closed-form:{name}", seed=None,
                                     settings={"method": "auto"}, rattler_rtol=rattler_rtol,
                                     timings={"total": time.perf_counter() - t0})
    if d == 1:
        name, W = closed_form(d, K)
        return SphereCode.from_W(W, problem=problem, method=f"closed-form:{name}", seed=None,
                                 settings={"method": method, "note": "OB(1, K) is finite"},
                                 rattler_rtol=rattler_rtol, timings={"total": time.perf_counter() - t0})
    adaptive = restarts is None
    if adaptive:
        restarts = default_restarts(d, K)
    settings = {
        "method": "numeric", "restarts": restarts, "time_limit": time_limit, "smoothing": bool(smoothing),
        "polish": bool(polish), "betas": list(map(float, betas)) if betas is not None else default_betas(d, K),
        "beta_spread": [0.01, 3.0] if betas is None else [1.0, 1.0],
        "cg_iterations": 300, "radius": 0.1,
        "hops": default_hops(d, K) if hops is None else hops, "hop_patience": 5, "hop_sigma": 0.15,
        "softmax_radius": 0.02, "polish_iterations": 500,
        "sharpen": sharpens(d, K), "beta_max": 1e10, "sharpen_iterations": 2000,
        "sharpened_radius": 1e-3, "sharpened_polish_iterations": 10,
        "sharpened_polish_seconds": 30.0, "sharpened_softmax_iterations": 0,
        "success_tol": SUCCESS_TOL,
        "stop_hits": STOP_HITS if adaptive else None, "min_restarts": MIN_RESTARTS if adaptive else restarts,
    }
    ms = run_restarts(problem, d, K, restarts=restarts, seed=root, settings=settings, executor=executor,
                      time_limit=time_limit, progress=progress, init=init,
                      stop_hits=settings["stop_hits"], min_restarts=settings["min_restarts"])
    timings = {"total": time.perf_counter() - t0, "wall_restarts": ms.wall, "time_to_best": ms.time_to_best}
    timings.update({f"sum_{k}": v for k, v in ms.stage_seconds.items()})
    return SphereCode.from_W(ms.best["W"], problem=problem, normalize=True, method="numeric", restarts=ms.n_run,
                             n_best=ms.n_best, values=ms.values[~np.isnan(ms.values)], seed=ms.seed,
                             settings=settings, timings=timings, rattler_rtol=rattler_rtol)
