"""The HardMax problem (5): the tau -> 0 limit of the CE loss under the UFM."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_labelled_features, check_int
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

    See Also
    --------
    hardmax : the function that returns it.

    References
    ----------
    Generalized Neural Collapse paper, eq. (5), Theorems 3.2 and 3.5.
    """

    W: np.ndarray
    H: np.ndarray
    labels: np.ndarray
    value: float
    code: object

    @property
    def rattlers(self) -> np.ndarray:
        """Rattler classes of ``W`` (their features are not unique).

        See Also
        --------
        spherecodes.rattlers : the rule (Definition 3.4).
        """
        return self.code.rattlers

    def __repr__(self) -> str:
        d, K = self.W.shape
        return (f"HardMaxResult(d={d}, K={K}, n={self.H.shape[1] // K}, value={self.value:.15g}, "
                f"rattlers={list(map(int, self.rattlers))})")


def hardmax_value(W, H, labels) -> float:
    """``L_HardMax(W, H)`` of problem (5) for features ``H`` (d, N) with labels (N,).

    Parameters
    ----------
    W : array_like, shape (d, K)
        Classifier, one class per column, ``K >= 2`` (unit columns on
        ``OB(d, K)``; the norms are not checked).
    H : array_like, shape (d, N)
        Features, one sample per column, ``N >= 1`` (unit columns on
        ``OB(d, N)``; the norms are not checked).
    labels : array_like of int, shape (N,)
        Class of every column of ``H``, in ``range(K)``.

    Returns
    -------
    float
        ``max_i max_{k' != y_i} <w_k' - w_{y_i}, h_i>`` (dimensionless, in
        ``[-2, 2]`` for unit columns).

    Raises
    ------
    ValueError
        If ``W`` or ``H`` is not 2-D, is empty, has NaN or inf, or ``K < 2``;
        if their dimensions ``d`` differ; if ``labels`` is not 1-D, has a
        length other than ``N``, a non-integral value, or a label outside
        ``range(K)``.
    TypeError
        If ``W`` or ``H`` is not a real numeric array, or ``labels`` is not
        an integer array (booleans, strings)
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    hardmax : the optimum of this value.
    spherecodes.rho_one_vs_rest : ``-L_HardMax`` at the optimum (Theorem 3.2).

    References
    ----------
    Generalized Neural Collapse paper, eq. (5).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes.solvers.hardmax import hardmax_value
    >>> W = np.array([[1.0, -1.0], [0.0, 0.0]])      # two antipodal classes in R^2
    >>> hardmax_value(W, W, [0, 1])                  # features on their classifiers
    -2.0
    """
    W, H, labels = as_labelled_features(W, H, labels)
    N = H.shape[1]
    S = W.T @ H  # (K, N): <w_k', h_i>
    cols = np.arange(N)
    own = S[labels, cols]
    S[labels, cols] = -np.inf
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
        ``W`` (d, K), ``H`` (d, n K), ``labels`` (n K,), the optimal value
        (``-rho_one_vs_rest(W)``) and the underlying ``code``.

    Raises
    ------
    ValueError
        ``n < 1``; bad sizes or options (as :func:`spherecodes.softmax_code`);
        a code with ``rho_one_vs_rest = 0`` (a codeword in the hull of the
        others, e.g. ``d = 1, K >= 3``), where the features are undefined.
    TypeError
        ``n`` not an integer (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``), or an unknown option or option of the wrong
        type (as :func:`spherecodes.softmax_code`).

    See Also
    --------
    softmax_code : the classifier ``W`` (Theorem 3.2).
    hardmax_value : the objective of problem (5).
    spherecodes.one_vs_rest_distances : the projections ``P(w_k)``.

    References
    ----------
    Generalized Neural Collapse paper, eq. (5) (the HardMax problem, the
    ``tau -> 0`` limit of the CE loss, Lemma 3.1, eq. (6)), Theorem 3.2 (``W`` is a
    Softmax Code) and Theorem 3.5, eq. (9) (the features).

    Examples
    --------
    >>> from spherecodes.solvers.hardmax import hardmax
    >>> res = hardmax(2, 4, n=2)               # square: rho = 1
    >>> round(res.value, 12), res.H.shape
    (-1.0, (2, 8))
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
