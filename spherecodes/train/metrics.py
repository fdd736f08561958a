"""GNC metrics used along training runs.

The metrics come from the geometry core when it is installed
(:mod:`spherecodes.collapse`, :mod:`spherecodes.measures`); while those modules
are missing (or fail to import) small numpy/scipy fallbacks implementing the
same definitions (paper Section 2.2) are used so that training never breaks:

* ``gnc1 = tr(Sigma_W Sigma_B^+) / K`` with ``Sigma_B = (1/K) sum_k m_k m_k^T`` and
  ``Sigma_W = (1/N) sum_i (h_i - m_{y_i})(h_i - m_{y_i})^T``;
* ``gnc2 = rho_one_vs_rest(W)``, the minimum over classes of the distance of
  ``w_k`` to the convex hull of the other columns;
* ``gnc3 = (1/K) sum_k (1 - <w_k, m_k / ||m_k||>)`` with ``m_k`` the class mean,
  normalized as in the authors' code and in :func:`spherecodes.collapse.gnc3`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from .._validation import as_code, as_features


def _core(module: str, name: str):
    try:
        mod = __import__(f"spherecodes.{module}", fromlist=[name])
        return getattr(mod, name)
    except Exception:  # geometry core not available yet
        return None


def class_means(H, y, K=None) -> np.ndarray:
    """Class means ``(d, K)`` of features ``H`` ``(d, N)`` with labels ``y`` ``(N,)``."""
    H, y, K = as_features(H, y, K=K)
    M = np.zeros((H.shape[0], K))
    np.add.at(M.T, y, H.T)
    return M / np.bincount(y, minlength=K)


def _gnc1_fallback(H, y, K):
    M = class_means(H, y, K)
    R = H - M[:, y]
    sigma_w = R @ R.T / H.shape[1]
    sigma_b = M @ M.T / K
    return float(np.trace(sigma_w @ np.linalg.pinv(sigma_b, rcond=1e-10, hermitian=True)) / K)


def _gnc3_fallback(W, H, y, K):
    M = class_means(H, y, K)
    norms = np.linalg.norm(M, axis=0)
    norms[norms == 0] = 1.0
    return float(np.mean(1.0 - np.sum(W * (M / norms), axis=0)))


def _distance_to_hull_nnls(v, A) -> float:
    """dist(v, conv(A)) through NNLS with a heavily weighted sum-to-one row."""
    scale = 1e3 * (1.0 + np.abs(A).max())
    A_aug = np.vstack([A, scale * np.ones((1, A.shape[1]))])
    b_aug = np.concatenate([v, [scale]])
    lam, _ = nnls(A_aug, b_aug, maxiter=50 * A.shape[1] + 100)
    lam = lam / lam.sum()
    return float(np.linalg.norm(v - A @ lam))


def rho_one_vs_rest(W) -> float:
    """min_k dist(w_k, conv{w_j : j != k}) for a code ``W`` ``(d, K)`` with unit columns."""
    W = as_code(W, normalize=True)
    core = _core("measures", "rho_one_vs_rest")
    if core is not None:
        return float(core(W))
    K = W.shape[1]
    return min(_distance_to_hull_nnls(W[:, k], np.delete(W, k, axis=1)) for k in range(K))


def gnc1(H, y, K=None) -> float:
    H, y, K = as_features(H, y, K=K)
    core = _core("collapse", "gnc1")
    if core is not None:
        try:
            return float(core(H, y, K=K))
        except TypeError:  # an older signature without K
            return float(core(H, y))
    return _gnc1_fallback(H, y, K)


def gnc3(W, H, y) -> float:
    W = as_code(W, normalize=True)
    H, y, K = as_features(H, y, K=W.shape[1])
    core = _core("collapse", "gnc3")
    if core is not None:
        return float(core(W, H, y))
    return _gnc3_fallback(W, H, y, K)


@dataclass
class GNCMetrics:
    """GNC1/GNC2/GNC3 of one snapshot (see module docstring for definitions)."""

    gnc1: float
    gnc2: float
    gnc3: float

    def as_dict(self) -> dict:
        return {"gnc1": self.gnc1, "gnc2": self.gnc2, "gnc3": self.gnc3}


def gnc_metrics(W, H, y) -> GNCMetrics:
    """All three GNC metrics for a code ``W`` ``(d, K)`` and features ``H`` ``(d, N)``, labels ``y``."""
    W = as_code(W, normalize=True)
    H, y, K = as_features(H, y, K=W.shape[1])
    return GNCMetrics(gnc1=gnc1(H, y, K), gnc2=rho_one_vs_rest(W), gnc3=gnc3(W, H, y))
