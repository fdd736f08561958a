"""Independent reference computations (cvxpy / Clarabel) used by the tests."""
import warnings

import cvxpy as cp
import numpy as np


def cvxpy_hull_distance(v, A):
    """dist(v, conv of the columns of A) by a second-order-cone program (Clarabel)."""
    lam = cp.Variable(A.shape[1], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.norm(A @ lam - v)), [cp.sum(lam) == 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12,
                   max_iter=500)
    return float(prob.value)


def cvxpy_one_vs_rest(W, k):
    """One-vs-rest distance of class k of the code W (d, K) by cvxpy."""
    return cvxpy_hull_distance(W[:, k], np.delete(W, k, axis=1))
