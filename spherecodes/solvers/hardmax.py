"""The HardMax problem (5): the tau -> 0 limit of the CE loss under the UFM."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from .softmax import softmax_code

__all__ = ["hardmax", "HardMaxResult"]


@dataclass(frozen=True, repr=False)
class HardMaxResult:
    """Optimal classifier and features of the HardMax problem (5).

    Attributes
    ----------
    W : ndarray, shape (d, K)
        Classifier (unit columns): a Softmax Code (Theorem 3.2).
    H : ndarray, shape (d, n K)
        Features (unit columns); columns ``k n .. k n + n - 1`` belong to class k.
        For every class they equal ``normalize(w_k - P(w_k))`` with ``P(w_k)`` the
        projection of ``w_k`` on ``conv{w_j : j != k}`` (Theorem 3.5; for rattlers
        this is one optimal choice among many).
    labels : ndarray of int, shape (n K,)
        Class of every column of ``H``.
    value : float
        ``L_HardMax(W, H) = max_k max_i max_{k' != k} <w_k' - w_k, h_{k,i}>`` (= -rho_one_vs_rest).
    code : SphereCode
        The Softmax Code behind ``W`` with all its measures.
    """

    W: np.ndarray
    H: np.ndarray
    labels: np.ndarray
    value: float
    code: object

    @property
    def rattlers(self) -> np.ndarray:
        """Rattler classes of ``W`` (their features are not unique)."""
        return self.code.rattlers

    def __repr__(self) -> str:
        d, K = self.W.shape
        return (f"HardMaxResult(d={d}, K={K}, n={self.H.shape[1] // K}, value={self.value:.15g}, "
                f"rattlers={list(map(int, self.rattlers))})")


def hardmax_value(W: np.ndarray, H: np.ndarray, labels: np.ndarray) -> float:
    """``L_HardMax(W, H)`` of problem (5) for features ``H`` (d, N) with labels (N,)."""
    S = W.T @ H  # (K, N): <w_k', h_i>
    own = S[labels, np.arange(H.shape[1])]
    S[labels, np.arange(H.shape[1])] = -np.inf
    return float(np.max(S.max(axis=0) - own))


def hardmax(d, K, n=1, **kwargs) -> HardMaxResult:
    """Solve the HardMax problem (5) over W in OB(d, K) and H in OB(d, nK).

    By Theorem 3.2 the optimal W is a Softmax Code and the optimal value is
    ``-rho_one_vs_rest(W)``; the features are those of Theorem 3.5,
    ``h_k = (w_k - P(w_k)) / ||w_k - P(w_k)||``, repeated n times.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    K : int
        Number of classes, ``K >= 2``.
    n : int
        Samples per class, ``n >= 1``.
    **kwargs
        Keyword options of :func:`spherecodes.softmax_code` (``restarts``, ``seed``,
        ``method``, ``executor``, ...).

    Returns
    -------
    HardMaxResult

    Raises
    ------
    ValueError
        Bad sizes (``n < 1`` included) or options.
    """
    n = check_int(n, "n", minimum=1)
    code = softmax_code(d, K, **kwargs)
    from spherecodes.hull import one_vs_rest_distances

    W = np.array(code.W)
    res = one_vs_rest_distances(W)
    R = W - res.nearest
    norms = np.linalg.norm(R, axis=0)
    if np.any(norms <= 0):
        raise ValueError("a codeword lies in the hull of the others (rho = 0); features undefined")
    Hk = R / norms
    H = np.repeat(Hk, n, axis=1)
    labels = np.repeat(np.arange(K), n)
    H.setflags(write=False)
    labels.setflags(write=False)
    return HardMaxResult(W=code.W, H=H, labels=labels, value=hardmax_value(W, H, labels), code=code)
