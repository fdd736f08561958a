"""Polish a max-min problem on products of spheres to a KKT point.

Trust-region sequential linear programming on the epigraph form

    maximize t  subject to  f_c(X) >= t  for every constraint c,

where the columns of ``X`` (shape (d, M)) are unit vectors.  Each iteration
keeps only the constraints within a margin of the current minimum (a step in
the trust region cannot move any other one below the minimum), linearizes them
in the tangent space of every column (orthonormal tangent bases from Householder
reflections), solves the LP with HiGHS inside a box trust region, retracts by
column normalization, and accepts or rejects by the ratio of actual to predicted
improvement of the *true* objective.

Two problems are provided:

* :func:`polish_tammes` — Tammes: f_{ij} = -<w_i, w_j>.
* :func:`polish_softmax` — Softmax Code: the one-vs-rest distance of class k is
  dist_k = max_{|h|=1} min_{j != k} <h, w_k - w_j>, attained at
  h_k = (w_k - p_k)/||w_k - p_k|| with p_k the projection of w_k on the hull of
  the rest (from :func:`spherecodes.hull.one_vs_rest_distances`).  The model
  linearizes the bilinear pieces <h_k, w_k - w_j> in both W and h_k (their
  lam-weighted combination is the envelope gradient of dist_k), and every step
  is accepted or rejected on the exact, certified one-vs-rest distances.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = ["PolishResult", "polish_tammes", "polish_softmax", "tangent_bases", "tammes_value",
           "softmax_value"]


@dataclass
class PolishResult:
    """Outcome of a polishing run.

    Attributes
    ----------
    W : ndarray, shape (d, K)
        Polished code (unit columns).
    value : float
        Final objective (to maximize): ``-max inner product`` for Tammes,
        ``rho_one_vs_rest`` for Softmax.
    iterations : int
        LP solves.
    predicted : float
        Last predicted improvement (a KKT residual: 0 at a KKT point of the LP model).
    radius : float
        Final trust radius.
    converged : bool
        Whether the predicted improvement fell below ``tol``.
    status : str
        Why the LP loop ended: ``"converged"``, ``"max_iter"``, ``"time_limit"``,
        ``"min_radius"`` (the trust region shrank below 1e-13) or ``"stopped"`` (stop flag).
    """

    W: np.ndarray
    value: float
    iterations: int
    predicted: float
    radius: float
    converged: bool
    status: str = "converged"

    @property
    def message(self) -> str:
        """A readable form of :attr:`status`."""
        return _POLISH_MESSAGES[self.status].format(self)


_POLISH_MESSAGES = {
    "converged": "KKT point: the LP predicts an improvement of {0.predicted:.3g} (below tol)",
    "max_iter": "stopped after {0.iterations} LPs (max_iter)",
    "time_limit": "stopped by the time limit after {0.iterations} LPs",
    "min_radius": "trust radius {0.radius:.3g} below the minimum",
    "stopped": "stopped on request after {0.iterations} LPs",
}


def tangent_bases(X: np.ndarray) -> np.ndarray:
    """Orthonormal bases of the tangent spaces of the unit columns of ``X``.

    Parameters
    ----------
    X : ndarray, shape (d, M)

    Returns
    -------
    B : ndarray, shape (M, d, d-1)
        ``B[m]`` has orthonormal columns orthogonal to ``X[:, m]``.
    """
    d, M = X.shape
    u = X.T.copy()  # (M, d)
    s = np.where(u[:, 0] >= 0, 1.0, -1.0)
    u[:, 0] += s
    nrm2 = np.einsum("md,md->m", u, u)
    Hh = np.eye(d)[None, :, :] - 2.0 * u[:, :, None] * u[:, None, :] / nrm2[:, None, None]
    return np.ascontiguousarray(Hh[:, :, 1:])


def tammes_value(W: np.ndarray) -> float:
    """``-max_{i != j} <w_i, w_j>`` (to maximize)."""
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    return -float(G.max())


def softmax_value(W: np.ndarray):
    """Exact one-vs-rest distances from the geometry core: ``(rho, result)``."""
    from spherecodes.hull import one_vs_rest_distances
    res = one_vs_rest_distances(W)
    return float(np.min(res.distance)), res


_HIGHS = threading.local()
_BANNER_LOCK = threading.Lock()


def _highs():
    """A per-thread highspy solver (a Highs object is not thread-safe).

    HiGHS prints its banner when the first solver of a process is created: silence it.
    """
    h = getattr(_HIGHS, "solver", None)
    if h is None:
        import highspy

        with _BANNER_LOCK:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                with open(os.devnull, "w") as devnull:
                    os.dup2(devnull.fileno(), 1)
                    h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
        h.setOptionValue("output_flag", False)
        _HIGHS.solver = h
    import highspy
    return highspy, h


def _solve_lp(rows, cols, vals, f, nvar, radius, time_limit=None):
    """maximize tau s.t. f_c + sum_i A_ci a_i >= tau, |a|_inf <= radius.

    Returns (a, tau) or None when the LP fails or runs out of ``time_limit``
    seconds.  Uses highspy directly (a cvxpy dependency; 3x less overhead than
    ``scipy.optimize.linprog``), else linprog.
    """
    # HiGHS checks its own clock: one LP at d = 30, K = 100 (2900 variables, thousands of
    # near-active rows) can take minutes, far past a limit checked only between LPs.
    seconds = None if time_limit is None else max(float(time_limit), 1e-3)
    # Solve the scaled LP in u = a / radius, s = (tau - f0) / radius: near convergence the
    # radius falls to 1e-7 and below and the f_c agree to 1e-12, under HiGHS's absolute
    # tolerances (1e-7), where its dual simplex stalled for hours (d = 6, K = 25: a 250-variable
    # LP at radius 3e-7 ran past 20 s unscaled, 0.09 s scaled).
    f0 = float(np.min(f)) if f.size else 0.0
    fs = (np.asarray(f, dtype=np.float64) - f0) / radius
    ncon = f.shape[0]
    width = rows.shape[0] // max(ncon, 1)  # every row has the same number of entries
    # variables z = [a (nvar), tau]; rows: -A a + tau <= f   (row-wise storage)
    index = np.empty((ncon, width + 1), dtype=np.int32)
    index[:, :width] = cols.reshape(ncon, width)
    index[:, width] = nvar
    value = np.empty((ncon, width + 1))
    value[:, :width] = -vals.reshape(ncon, width)
    value[:, width] = 1.0
    start = np.arange(0, ncon * (width + 1) + 1, width + 1, dtype=np.int32)
    c = np.zeros(nvar + 1)
    c[-1] = -1.0
    try:
        highspy, h = _highs()
    except ImportError:  # pragma: no cover - highspy ships with cvxpy
        highspy = None
    if highspy is not None:
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_ = nvar + 1
        lp.num_row_ = ncon
        lp.col_cost_ = c
        lo = np.full(nvar + 1, -1.0)
        hi = np.full(nvar + 1, 1.0)
        lo[-1], hi[-1] = -inf, inf
        lp.col_lower_ = lo
        lp.col_upper_ = hi
        lp.row_lower_ = np.full(ncon, -inf)
        lp.row_upper_ = fs
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = index.ravel()
        lp.a_matrix_.value_ = value.ravel()
        h.passModel(lp)
        # HiGHS measures time_limit on the solver's cumulative run clock, and this solver
        # object is reused by the thread: offset the limit by the time already spent.
        h.setOptionValue("time_limit", inf if seconds is None else h.getRunTime() + seconds)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            h.clearModel()
            return None
        x = np.array(h.getSolution().col_value)
        h.clearModel()
    else:
        A = sp.csr_matrix((value.ravel(), index.ravel(), start), shape=(ncon, nvar + 1))
        bounds = [(-1.0, 1.0)] * nvar + [(None, None)]
        options = {} if seconds is None else {"time_limit": seconds}
        res = linprog(c, A_ub=A, b_ub=fs, bounds=bounds, method="highs", options=options)
        if res.status != 0 or res.x is None:
            return None
        x = res.x
    return radius * np.clip(x[:nvar], -1.0, 1.0), f0 + radius * x[nvar]


def _tammes_model(W, value, radius, B):
    """Near-active pair constraints of the Tammes problem, linearized."""
    d, K = W.shape
    G = W.T @ W
    margin = 2.0 * (2.0 * np.sqrt(d - 1) * radius + (d - 1) * radius ** 2) + 1e-12
    iu, ju = np.nonzero(np.triu(np.ones((K, K), dtype=bool), 1) & (G >= -value - margin))
    f = -G[iu, ju]
    # d(-<w_i,w_j>) = -<w_j, v_i> - <w_i, v_j>, v_m = B_m a_m
    gi = -np.einsum("dc,cde->ce", W[:, ju], B[iu])  # (ncon, d-1)
    gj = -np.einsum("dc,cde->ce", W[:, iu], B[ju])
    n = iu.shape[0]
    e = np.arange(d - 1)
    rows = np.repeat(np.arange(n), 2 * (d - 1))
    cols = np.concatenate([iu[:, None] * (d - 1) + e[None, :], ju[:, None] * (d - 1) + e[None, :]], axis=1).ravel()
    vals = np.concatenate([gi, gj], axis=1).ravel()
    return rows, cols, vals, f, K * (d - 1)


def _run_slp(W, evaluate, model, retract, *, radius, tol, max_iter, time_limit=None, min_radius=1e-13, stop=None):
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    value, state = evaluate(W)
    it = 0
    predicted = np.inf
    status = "max_iter"
    while it < max_iter:
        if deadline is not None and time.perf_counter() >= deadline:
            status = "time_limit"
            break
        if stop is not None and stop.is_set():
            status = "stopped"
            break
        rows, cols, vals, f, nvar, B = model(W, value, radius, state)
        remaining = None if deadline is None else deadline - time.perf_counter()
        sol = _solve_lp(rows, cols, vals, f, nvar, radius, time_limit=remaining)
        it += 1
        if sol is None:
            if deadline is not None and time.perf_counter() >= deadline:
                status = "time_limit"
                break  # out of time, not a failed model: keep the radius
            radius *= 0.25
            if radius < min_radius:
                status = "min_radius"
                break
            continue
        a, tau = sol
        predicted = tau - value
        if predicted <= tol * max(1.0, abs(value)):
            status = "converged"
            break
        W_new = retract(W, B, a)
        new_value, new_state = evaluate(W_new)
        ratio = (new_value - value) / predicted
        step = np.max(np.abs(a)) if a.size else 0.0
        if ratio > 0.0 and new_value > value:
            W, value, state = W_new, new_value, new_state
            if ratio > 0.75 and step > 0.9 * radius:
                radius = min(2.0 * radius, 0.5)
            elif ratio < 0.25:
                radius = 0.5 * step
        else:
            radius = 0.25 * step
        if radius < min_radius:
            status = "min_radius"
            break
    return PolishResult(W=W, value=value, iterations=it, predicted=float(predicted), radius=float(radius),
                        converged=status == "converged", status=status)


def _retract_w(W, B, a):
    d, K = W.shape
    V = np.einsum("kde,ke->dk", B, a.reshape(K, d - 1))
    Wn = W + V
    return Wn / np.linalg.norm(Wn, axis=0)


def polish_tammes(W: np.ndarray, *, radius: float = 0.05, tol: float = 1e-14, max_iter: int = 500,
                  time_limit: float | None = None, stop=None) -> PolishResult:
    """Polish a code for the Tammes problem (minimize the max inner product).

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Unit columns; typically the output of the smoothing stage.
    radius : float
        Initial trust radius (in tangent coordinates).
    tol : float
        Stop when the LP predicts an improvement below ``tol`` (relative).
    max_iter : int
        Maximum LP solves.
    time_limit : float, optional
        Wall-clock seconds for the whole polish, enforced inside each LP too
        (large problems: each LP has ``K (d - 1)`` variables and one row per
        near-active pair); the best point so far is returned.
    stop : object with ``is_set()``, optional
        Checked before every LP (e.g. a ``threading.Event`` set on Ctrl-C).

    Returns
    -------
    PolishResult
        ``value`` is ``-max_{i != j} <w_i, w_j>``.
    """
    d, K = W.shape
    if d < 2:
        return PolishResult(W=W.copy(), value=tammes_value(W), iterations=0, predicted=0.0, radius=0.0,
                            converged=True)

    def evaluate(X):
        return tammes_value(X), None

    def model(X, value, rad, state):
        B = tangent_bases(X)
        return (*_tammes_model(X, value, rad, B), B)

    return _run_slp(np.array(W, dtype=float), evaluate, model, _retract_w, radius=radius, tol=tol,
                    max_iter=max_iter, time_limit=time_limit, stop=stop)


def _softmax_model(W, value, radius, res):
    d, K = W.shape
    R = W - res.nearest
    nr = np.linalg.norm(R, axis=0)
    H = R / nr
    # f_kj = <h_k, w_k - w_j>
    F = H.T @ W  # F[k, j] = <h_k, w_j>
    Fk = np.diag(F).copy()
    Fkj = Fk[:, None] - F
    np.fill_diagonal(Fkj, np.inf)
    step_bound = np.sqrt(d - 1) * radius
    margin = 2.0 * (4.0 * step_bound + 4.0 * step_bound ** 2) + 1e-12
    kk, jj = np.nonzero(Fkj <= value + margin)
    f = Fkj[kk, jj]
    X = np.concatenate([W, H], axis=1)
    B = tangent_bases(X)  # (2K, d, d-1)
    # gradient wrt w_k: h_k; wrt w_j: -h_k; wrt h_k: w_k - w_j
    gk = np.einsum("dc,cde->ce", H[:, kk], B[kk])
    gj = -np.einsum("dc,cde->ce", H[:, kk], B[jj])
    gh = np.einsum("dc,cde->ce", W[:, kk] - W[:, jj], B[K + kk])
    n = kk.shape[0]
    e = np.arange(d - 1)
    rows = np.repeat(np.arange(n), 3 * (d - 1))
    cols = np.concatenate([kk[:, None] * (d - 1) + e, jj[:, None] * (d - 1) + e,
                           (K + kk)[:, None] * (d - 1) + e], axis=1).ravel()
    vals = np.concatenate([gk, gj, gh], axis=1).ravel()
    return rows, cols, vals, f, 2 * K * (d - 1), B


def _retract_softmax(W, B, a):
    d, K = W.shape
    V = np.einsum("kde,ke->dk", B[:K], a[: K * (d - 1)].reshape(K, d - 1))
    Wn = W + V
    return Wn / np.linalg.norm(Wn, axis=0)


def polish_softmax(W: np.ndarray, *, radius: float = 0.02, tol: float = 1e-14, max_iter: int = 500,
                   time_limit: float | None = None, stop=None) -> PolishResult:
    """Polish a code for the Softmax Code problem (maximize the min one-vs-rest distance).

    Every accepted step increases the exact minimum one-vs-rest distance computed by
    :func:`spherecodes.hull.one_vs_rest_distances`.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Unit columns.
    radius, tol, max_iter, time_limit, stop
        As in :func:`polish_tammes`.

    Returns
    -------
    PolishResult
        ``value`` is ``rho_one_vs_rest(W)``.
    """
    d, K = W.shape

    def evaluate(X):
        return softmax_value(X)

    if d < 2:
        v, _ = evaluate(W)
        return PolishResult(W=W.copy(), value=v, iterations=0, predicted=0.0, radius=0.0, converged=True)
    return _run_slp(np.array(W, dtype=float), evaluate, lambda X, v, r, s: _softmax_model(X, v, r, s),
                    _retract_softmax, radius=radius, tol=tol, max_iter=max_iter, time_limit=time_limit, stop=stop)
