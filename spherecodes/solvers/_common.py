"""Shared driver of :func:`softmax_code` and :func:`tammes_code`: search, then polish the best."""
from __future__ import annotations

import dataclasses
import math
import threading
import time
import warnings

import numpy as np

from .._validation import as_code, check_bool, check_device, check_dims, check_int, check_seconds, check_seed
from ..executor import available_cpus
from ..formatting import round_down
from .descent import max_inner_product
from .multistart import fine_hops, run_restarts, runs_serially
from .settings import LP_MAX_VARIABLES, SearchSettings, large_k
from .sharpen import HULL_MARGIN

_METHODS = ("auto", "numeric")

#: Above this many classes the final measures' cost is estimated (and left free of the polish).
MEASURED_K = 256

#: The large-K path certifies every class when that is expected to take at most this share of
#: ``time_limit``; otherwise the certificate gets ``PARTIAL_CERTIFICATE_SHARE`` of it (plus its
#: pass over the Gram matrix) and bounds the classes it does not reach by their nearest codeword
#: (``one_vs_rest_distances(time_limit=...)``): the search's time is worth more than a complete
#: certificate (a (512, 10^4) code of 60 s: 738 of 10^4 classes in 20 s bracketed rho to 0.3 %).
FULL_CERTIFICATE_SHARE = 0.5
PARTIAL_CERTIFICATE_SHARE = 0.1

#: Each of the large-K path's three estimates of the certificate's cost times classes for at most
#: this share of ``time_limit``: untimed, the 256-class sample took 77 s and 197 s of a (512, 10^4)
#: search of 1200 s, ran past the planned stop and left the certificate no time.
ESTIMATE_SHARE = 0.02


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


def check_time_limit(time_limit, name: str = "time_limit"):
    """``None`` (no limit) or a positive finite number of seconds, as float.

    Parameters
    ----------
    time_limit : float or None
        Wall-clock seconds.
    name : str
        The keyword's name in messages.

    Returns
    -------
    float or None

    Raises
    ------
    TypeError
        Not a real number (a string, a bool), as :func:`spherecodes._validation.check_real`
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
    ValueError
        Not positive, infinite or NaN (``None`` is the way to ask for no limit).
    """
    return None if time_limit is None else check_seconds(time_limit, name, positive=True)


def _check(d, K, restarts, time_limit, method, init, executor):
    d, K = check_dims(d, K)
    if restarts is not None:
        restarts = check_int(restarts, "restarts", minimum=1)
    time_limit = check_time_limit(time_limit)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if init is not None:
        init = as_code(init, normalize=True, name="init")
        if init.shape != (d, K):
            raise ValueError(f"init must have shape (d, K) = ({d}, {K}), got {init.shape}")
    if executor is not None and not isinstance(executor, str) and not hasattr(executor, "submit"):
        raise ValueError(f"executor must be a concurrent.futures.Executor, a string or None, got {executor!r}")
    return d, K, restarts, time_limit, init


def describe_value(problem: str, t: float) -> str:
    """What a search value (a max inner product ``t``) means for ``problem``, in a few words."""
    if problem == "tammes":
        angle = math.degrees(math.acos(min(1.0, max(-1.0, t))))
        return f"max<w_i,w_j> {t:.9f} ({angle:.4f} deg)"
    return f"rho >= {round_down(1.0 - t, '.9f')}"     # 1 - max<w_i,w_j>: the one-vs-rest polish only raises it


def _restarts(n: int) -> str:
    return "1 restart" if n == 1 else f"{n} restarts"


class _Bar:
    """A tqdm bar of elapsed seconds against the time budget, with the best value so far.

    A daemon thread moves it about twice a second: a restart may take most of the budget,
    and with ``executor="serial"`` the search itself never returns to the bar between
    restarts' ends.
    """

    def __init__(self, problem, d, K, budget):
        from tqdm.auto import tqdm

        self.problem = problem
        self.t0 = time.perf_counter()
        total = None if budget is None else max(1, int(math.ceil(budget)))
        self.bar = tqdm(total=total, desc=f"{problem} d={d} K={K}", unit="s",
                        postfix="first restart running",
                        # the value first: a narrow terminal cuts the line's end
                        bar_format="{desc}{postfix}  {percentage:3.0f}%|{bar:10}| {n:.0f}/{total_fmt} s"
                        if total else "{desc}{postfix}  {n:.0f} s")
        self._closed = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()

    def _heartbeat(self):
        while not self._closed.wait(0.5):
            self._move(time.perf_counter() - self.t0)
            self.bar.refresh()

    def __call__(self, elapsed, best, n_done):
        self._move(elapsed)
        self.bar.set_postfix_str(f"best {describe_value(self.problem, best)}, {_restarts(n_done)}", refresh=True)

    def close(self, elapsed):
        self._closed.set()
        self._beat.join()
        self._move(elapsed)
        self.bar.close()

    def _move(self, elapsed):
        # two clocks (the bar's, the search's) a few ms apart: never move back
        n = max(self.bar.n, elapsed)
        self.bar.n = n if self.bar.total is None else min(n, self.bar.total)


def solve(problem, d, K, *, restarts, seed, time_limit, progress, method, executor, init, smoothing, polish,
          hops, rattler_rtol, options, device="auto"):
    """Closed form when Theorem 3.3 covers (d, K), the large-K path by size, else multistart and polish."""
    from spherecodes.code import SphereCode

    t0 = time.perf_counter()
    d, K, restarts, time_limit, init = _check(d, K, restarts, time_limit, method, init, executor)
    if hops is not None:
        hops = check_int(hops, "hops", minimum=0)
    smoothing, polish = check_bool(smoothing, "smoothing"), check_bool(polish, "polish")
    device = check_device(device)
    # every path rejects what no path accepts: an unknown option or a bad seed
    SearchSettings.for_size(d, K, **{k: v for k, v in options.items() if k != "adaptive"})
    check_seed(seed)
    # "serial" (compare_cell's default) is no executor to ignore; on the large-K path: one thread for the
    # certificate too
    serial = isinstance(executor, str) and executor == "serial"
    cf = closed_form(d, K) if (method == "auto" and init is None) or d == 1 else None
    if cf is not None:
        ignored = [n for n, v in (("restarts", restarts), ("time_limit", time_limit), ("hops", hops),
                                  ("executor", None if serial else executor)) if v is not None] + sorted(options)
        if ignored:
            warnings.warn(f"(d, K) = ({d}, {K}) has a closed-form optimum (Theorem 3.3): {', '.join(ignored)} "
                          "ignored (method='numeric' forces a search)", stacklevel=3)
        name, W = cf
        t_code = time.perf_counter() - t0
        code = SphereCode.from_W(W, problem=problem, method=f"closed-form:{name}", seed=None,
                                 settings={"method": method}, rattler_rtol=rattler_rtol,
                                 status="closed_form", message=f"closed form ({name}, Theorem 3.3)",
                                 timings={"total": t_code})
        return _with_measures_time(code, t0, t_code)
    if large_k(d, K, device):
        ignored = [n for n, v in (("restarts", restarts), ("hops", hops), ("executor", None if serial else executor),
                                  ("init", init)) if v is not None] + sorted(options)
        if ignored:
            warnings.warn(f"the large-K path (K = {K}) runs one first-order search: {', '.join(ignored)} ignored",
                          stacklevel=3)
        return _solve_large(problem, d, K, seed=seed, time_limit=time_limit, progress=progress, device=device,
                            rattler_rtol=rattler_rtol, t0=t0, n_jobs=1 if serial else available_cpus())
    # a budget the caller set is used whole; the adaptive stop ends default runs early
    adaptive = options.pop("adaptive", restarts is None and time_limit is None)
    settings = SearchSettings.for_size(d, K, restarts=restarts, adaptive=adaptive, descent=smoothing,
                                       polish=polish, hops=hops, **options)
    if time_limit is None and restarts is None:
        time_limit = settings.time_limit
    elif restarts is not None and time_limit is None:
        time_limit = None  # exactly `restarts` restarts run
    settings = _replace(settings, time_limit=time_limit)
    t_end = None if time_limit is None else time.time() + time_limit
    endgame = _endgame_share(problem, settings, executor, d, K)
    reserve = settings.polish_reserve + endgame
    search_end = t_end if (t_end is None or not settings.polish) else t_end - reserve * time_limit
    bar = progress if callable(progress) else (_Bar(problem, d, K, time_limit) if progress else None)
    try:
        ms = run_restarts(problem, d, K, settings=settings, seed=seed, executor=executor, deadline=search_end,
                          progress=bar, init=init)
        t_search = time.perf_counter() - t0
        polishes = settings.polish and ms.status != "interrupted"
        polish_end = t_end if t_end is None or not polishes else t_end - HULL_MARGIN * _measure_seconds(ms)
        W, value, polish_status = _polish_best(problem, ms, settings, deadline=polish_end)
        if polishes and ms.status == "time_limit" and endgame > 0:
            W, value, polish_status = _endgame(W, value, ms, settings, polish_end, polish_status, bar, t0)
    finally:
        if isinstance(bar, _Bar):
            bar.close(time.perf_counter() - t0)
    n_best = ms.n_hits(settings.hit_tol)
    message = _message(ms, time_limit, n_best, polish_status)
    timings = {"total": time.perf_counter() - t0, "search": t_search, "polish": time.perf_counter() - t0 - t_search,
               "time_to_best": ms.time_to_best}
    timings.update({f"sum_{k}": v for k, v in ms.stage_seconds.items()})
    code = SphereCode.from_W(W, problem=problem, normalize=True, method="numeric", restarts=ms.n_run,
                             n_best=n_best, values=ms.values[~np.isnan(ms.values)], seed=ms.seed,
                             settings=settings.asdict(), timings=timings, rattler_rtol=rattler_rtol,
                             status=ms.status, message=message)
    return _with_measures_time(code, t0, timings["total"])


def _measure_seconds(ms) -> float:
    """Estimated seconds of the final measures of the search's best code (its exact
    one-vs-rest distances, in :meth:`SphereCode.from_W`), which the polish leaves free
    at the end of the budget.

    The slowest exact evaluation a Softmax stage timed, where restarts ran one; else,
    beyond ``MEASURED_K`` classes, :func:`spherecodes.hull.certification_seconds` of the
    best restart (measured at (128, 1000): 1.8 s, the Tammes search's overshoot before);
    else 0 (milliseconds).
    """
    timed = [r["hull_seconds"] for r in ms.results.values() if r.get("hull_seconds") is not None]
    if timed:
        return max(timed)
    W = ms.results[ms.ranked()[0]]["W"]
    if W.shape[1] <= MEASURED_K:
        return 0.0
    from spherecodes.hull import certification_seconds
    return certification_seconds(W, sample=MEASURED_K)


def _solve_large(problem, d, K, *, seed, time_limit, progress, device, rattler_rtol, t0, n_jobs):
    """The large-K path: :func:`.large_k.spread_code`, then every measure from the hull kernel.

    ``time_limit`` bounds the call: at a quarter, half and three quarters of it the
    cost of certifying the current iterate (the exact one-vs-rest distances of all K
    classes, :func:`spherecodes.hull.one_vs_rest_distances`, on ``n_jobs`` threads) is
    estimated (:func:`spherecodes.hull.certification_seconds`, timing classes for at most
    ``ESTIMATE_SHARE`` of the limit), and the search stops
    that long before the limit, the growth of the estimate extrapolated
    (:func:`certificate_reserve`); where that exceeds ``FULL_CERTIFICATE_SHARE`` of the
    limit, it stops ``PARTIAL_CERTIFICATE_SHARE`` of it (plus a pass over the Gram matrix,
    four fresh ``(d, K)`` arrays and 2 s, :func:`_fixed_seconds`) before, and the
    certificate runs under the time left: classes it does not reach are bounded by their
    nearest codeword (``settings["certified_classes"]`` counts those solved).
    ``timings["measures"]`` holds what the certificate took.
    Ctrl-C stops the search and keeps its best certified iterate.
    """
    from spherecodes.code import SphereCode
    from spherecodes.hull import certification_seconds

    from .large_k import spread_code
    from .multistart import _Interrupt

    root = check_seed(seed)
    if time_limit is None:
        from .settings import default_time_limit
        time_limit = default_time_limit(d, K)
    bar = progress if callable(progress) else (_Bar(problem, d, K, time_limit) if progress else None)
    stop = threading.Event()
    plan = {"checks": [0.25, 0.5, 0.75], "estimates": [], "reserve": 0.0, "ended": False, "overheads": None,
            "step": 0.0, "since": None}

    def callback(state):
        # the last step (with any neighbour-list rebuild, a pass over the Gram matrix), without the
        # time spent in here; before the first, the time so far (the first lists took most of it)
        plan["step"] = time.perf_counter() - (t0 if plan["since"] is None else plan["since"])
        if bar is not None and state["iteration"] % 10 == 0 and np.isfinite(state["best"]):
            bar(state["seconds"], state["best"], 1)
        now = time.perf_counter() - t0
        if plan["checks"] and now >= plan["checks"][0] * time_limit:
            plan["checks"].pop(0)
            # the blocked path's estimate, on which the reserve was measured (the Gram path's is lower)
            W_now = state["code"]()
            plan["overheads"] = plan["overheads"] or _measure_overheads(W_now)
            plan["estimates"].append((now, certification_seconds(W_now, n_jobs=n_jobs, gram=False,
                                                                    max_seconds=ESTIMATE_SHARE * time_limit)))
            plan["reserve"] = certificate_reserve(plan["estimates"], time_limit)
            if plan["reserve"] > FULL_CERTIFICATE_SHARE * time_limit:
                plan["reserve"] = PARTIAL_CERTIFICATE_SHARE * time_limit + _fixed_seconds(*plan["overheads"], 1.2) + 2.0
        # stop when the next step would end past the reserve (at d = 2048 a rebuild takes 20 s)
        if plan["reserve"] and time.perf_counter() - t0 + plan["step"] >= time_limit - plan["reserve"]:
            plan["ended"] = True  # leave the rest of the budget to the certificate
            return True
        plan["since"] = time.perf_counter()
        return stop.is_set()

    try:
        with _Interrupt([stop]):
            W, info = spread_code(d, K, seed=root, time_limit=time_limit, device=device, callback=callback)
    finally:
        if isinstance(bar, _Bar):
            bar.close(time.perf_counter() - t0)
    status = {"callback": "interrupted", "time_limit": "time_limit", "max_iter": "restarts"}[info["status"]]
    if plan["ended"] and not stop.is_set():
        status = "time_limit"
    t_search = time.perf_counter() - t0
    # the certificate's Gram pass (its order and the bounds of the classes left) is inside its
    # limit, the measures after it (fresh (d, K) arrays of separation) are not
    overheads = plan["overheads"] if plan["overheads"] is not None else _measure_overheads(W)
    certificate_limit = max(0.0, time_limit - t_search - _fixed_seconds(*overheads, 0.1))
    words = {"interrupted": "interrupted (Ctrl-C): the best certified iterate so far",
             "time_limit": f"the time limit ({time_limit:g} s) ended the search"
                           + (f", {plan['reserve']:.0f} s early to leave time for the certificate" if plan["ended"]
                              else ""),
             "restarts": "the iteration limit ended the search"}[status]
    message = (f"large-K path ({info['backend']} on {info['device']}, {info['n_neighbors']} neighbours, "
               f"{info['iterations']} steps): {words}; no polish")
    settings = {"path": "large_k", "time_limit": time_limit, "device": info["device"], "backend": info["backend"],
                "n_neighbors": info["n_neighbors"], "dtype": str(info["dtype"])}
    code = SphereCode.from_W(W, problem=problem, normalize=True, method="numeric:large-k", restarts=1, n_best=1,
                             values=[info["max_inner_product"]], seed=root, settings=settings,
                             rattler_rtol=rattler_rtol, n_jobs=n_jobs, status=status, message=message,
                             timings={"total": t_search, "search": info["seconds"]},
                             certificate_time_limit=certificate_limit)
    return _with_measures_time(code, t0, t_search)


def _measure_overheads(W) -> tuple[float, float]:
    """Estimated seconds of one pass over the Gram matrix of ``W`` (``(d, K)``, by blocks of
    rows), and of one fresh ``(d, K)`` array (its page faults: 1-2 s at (2048, 10^4) here)."""
    K = W.shape[1]
    b = min(K, 256)
    t = time.perf_counter()
    W[:, :b].T @ W
    t_pass = (time.perf_counter() - t) * K / b
    t = time.perf_counter()
    np.array(W, copy=True)
    return t_pass, time.perf_counter() - t


def _fixed_seconds(pass_seconds, copy_seconds, passes) -> float:
    """Seconds the measures take besides the certificate's solves: ``passes`` Gram passes and
    four fresh ``(d, K)`` arrays (from_W's copy of W, the nearest points, separation's check)."""
    return passes * pass_seconds + 4.0 * copy_seconds


def _with_measures_time(code, t0, t_before):
    """Count the measures (the certificate) of ``code``, computed after ``t_before``, in its timings."""
    now = time.perf_counter()
    code.timings["measures"] = now - t0 - t_before
    code.timings["total"] = now - t0
    return code


def certificate_reserve(estimates, time_limit: float) -> float:
    """Seconds before ``time_limit`` at which the large-K search stops to leave time for the certificate.

    ``estimates`` are ``(elapsed seconds, estimated certification seconds)`` of the
    search's iterates so far, oldest first.  The certificate gets slower as the code
    spreads (at d = 512, K = 10000: 237 s for a 60 s code, over 41 min for a 600 s
    one), so the last estimate is extrapolated, at the rate of growth since the one
    before (never falling), to the time the search will stop: the reserve ``R``
    solves ``R = 1.2 (e + g (time_limit - R - t)) + 1`` for the last estimate ``e``
    at ``t`` and growth rate ``g``; 1.2 and the second are a margin for its noise.
    """
    t, e = estimates[-1]
    g = 0.0
    if len(estimates) > 1:
        t0, e0 = estimates[-2]
        g = max(0.0, (e - e0) / max(t - t0, 1e-9))
    return (1.2 * (e + g * max(time_limit - t, 0.0)) + 1.0) / (1.0 + 1.2 * g)


def _replace(settings, **changes):
    return dataclasses.replace(settings, **changes)


_STATUS_WORDS = {
    "adaptive": "the best basin was reached {n_best} times in the first {restarts} (adaptive stop)",
    "restarts": "all {restarts} ran",
    "time_limit": "the time limit ({limit:g} s) ended the search after {restarts}",
    "interrupted": "interrupted (Ctrl-C) after {restarts}: the best code so far",
    "callback": "the progress callback stopped the search after {restarts}",
}


def _message(ms, time_limit, n_best, polish_status):
    words = _STATUS_WORDS[ms.status].format(n_best=n_best, restarts=_restarts(ms.n_run), limit=time_limit or 0.0)
    return f"{words}; final polish: {polish_status}"


def _endgame_share(problem, s: SearchSettings, executor, d, K) -> float:
    """The share of the time limit kept for :func:`.multistart.fine_hops`: Tammes only, where
    the restarts run one at a time (:func:`.multistart.runs_serially`; see ``endgame_share``)."""
    if problem != "tammes" or s.fine_hop_stepsize <= 0:
        return 0.0
    return s.endgame_share if runs_serially(executor, d, K, s.restarts) else 0.0


def _endgame(W, value, ms, s: SearchSettings, deadline, polish_status, progress, t0):
    """Fine hops from the polished best code until ``deadline`` (:func:`.multistart.fine_hops`):
    ``(W, value, polish status)``, the status with the hops made.  Their moves draw from the
    seed sequence after the restarts' (spawn key ``s.restarts``); ``progress`` sees the best
    value after each hop, and may stop them."""
    seq = np.random.SeedSequence(ms.seed, spawn_key=(s.restarts,))
    report = None if progress is None else (lambda v, n: progress(time.perf_counter() - t0, v, ms.n_run))
    W, value, n, interrupted = fine_hops(W, value, seq, s, deadline=deadline, report=report)
    return W, value, f"{polish_status}, then {n} fine hop{'s' if n != 1 else ''}{' (Ctrl-C)' if interrupted else ''}"


def _polish_best(problem, ms, s: SearchSettings, *, deadline):
    """Polish the ``s.n_polish`` best restarts (one per basin where restarts are ranked by the
    polished objective, see :func:`_distinct`) and return ``(W, value, polish status)`` of the best.

    Candidates are the best restarts by max inner product, in that order; each gets an
    equal share of the time left.  The Softmax objective (exact one-vs-rest distances)
    is polished here only, on these candidates.
    """
    ranked = ms.ranked()
    if s.softmax_stage(problem):
        # a restart that the deadline stopped before its Softmax stage has only a max inner
        # product: polishing it took the time of the real candidates at (256, 1000)
        ranked = [i for i in ranked if ms.results[i].get("hull_seconds") is not None] or ranked
        # kept if no polish finishes; a restart's value is 1 - rho after its Softmax stage (1 - max
        # <w_i, w_j> <= rho if the deadline skipped it), so no hull solve runs past the deadline here
        best = (ms.results[ranked[0]]["W"], 1.0 - ms.results[ranked[0]]["value"])
    else:
        W = ms.results[ranked[0]]["W"]
        best = (W, _objective(problem, W))
    if not s.polish or ms.status == "interrupted":
        return best[0], best[1], "skipped" if s.polish else "off"
    # a small Softmax problem ranks restarts by max inner product but polishes rho: two restarts
    # with one max inner product can polish to different rho, so each is a candidate of its own
    same_objective = problem == "tammes" or s.sharpen
    candidates = _distinct(ms, ranked, s) if same_objective else ranked[: s.n_polish]
    statuses = []
    for n, i in enumerate(candidates):
        share = None if deadline is None else max(0.0, (deadline - time.time()) / (len(candidates) - n))
        # a Softmax sharpening evaluates its input, and leaves HULL_MARGIN evaluations for its output
        needs = (1.0 + HULL_MARGIN) * (ms.results[i].get("hull_seconds") or 0.0)
        if share is not None and share <= needs:
            statuses.append("time_limit")
            continue
        W, value, status = _polish_one(problem, ms.results[i]["W"], s, share)
        statuses.append(status)
        if value < best[1] if problem == "tammes" else value > best[1]:
            best = (W, value)
    return best[0], best[1], "/".join(statuses)


def _distinct(ms, ranked, s: SearchSettings):
    """The ``s.n_polish`` best restarts with distinct values (within ``s.hit_tol``).

    Restarts that reached the same value are taken to be the same basin (up to an
    isometry), so polishing more than one of them only spends the time left: at
    (8, 240) three copies of E8 used the 100 s after the first hit.
    """
    kept, values = [], []
    for i in ranked:
        v = ms.results[i]["value"]
        if all(abs(v - u) > s.hit_tol * max(1.0, abs(u)) for u in values):
            kept.append(i)
            values.append(v)
            if len(kept) == s.n_polish:
                break
    return kept


def _objective(problem, W):
    if problem == "tammes":
        return max_inner_product(W)
    from .polish import softmax_value
    return softmax_value(W)[0]


def _polish_one(problem, W, s: SearchSettings, seconds):
    """Polish one candidate: ``(W, value, status)``.

    Tammes: LP polish (after sharpening for large problems).  Softmax: for large
    problems, the Softmax sharpening of the restart continued from where the restart
    stopped it (:meth:`SearchSettings.softmax_polish_beta`) to 1e10 (the
    one-vs-rest LPs take about 30 s each at d = 10, K = 100); otherwise the Tammes LP
    polish, then the one-vs-rest LP polish.
    """
    from threadpoolctl import threadpool_limits

    from .polish import polish_softmax, polish_tammes, softmax_value
    from .sharpen import sharpen_softmax_exact, sharpen_tammes

    end = None if seconds is None else time.time() + seconds

    def left():
        return None if end is None else max(1e-3, end - time.time())

    with threadpool_limits(limits=1, user_api="blas"):
        if s.softmax_stage(problem):  # the restarts sharpened the Softmax objective: finish it
            r = sharpen_softmax_exact(W, beta_start=s.softmax_polish_beta(), deadline=end)
            return r.W, r.rho, "sharpened" if r.gained else "sharpened (no gain)"
        if s.sharpen:
            W = sharpen_tammes(W, beta_start=s.beta_max, deadline=end)
            lps = s.sharpened_polish_iterations if W.shape[1] * (W.shape[0] - 1) <= LP_MAX_VARIABLES else 0
            r = polish_tammes(W, radius=s.sharpened_radius, max_iter=lps, time_limit=left())
        else:
            r = polish_tammes(W, radius=s.radius, max_iter=s.polish_iterations, time_limit=left())
        W, status = r.W, r.status
        if problem == "tammes":
            return W, -r.value, status
        value = softmax_value(W)[0]
        rs = polish_softmax(W, radius=s.softmax_radius, max_iter=s.polish_iterations, time_limit=left())
        if rs.value >= value:
            W, value = rs.W, rs.value
        return W, value, f"{status}+{rs.status}"
