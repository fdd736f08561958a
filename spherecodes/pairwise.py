"""Averages over pairs of classes: CDNV and hyperspherical energies, computed in blocks.

Each metric is a mean over the ``K (K - 1) / 2`` pairs ``i < j`` of a function
of the squared distance ``||x_i - x_j||^2`` between two class vectors (class
means, or class means rescaled to unit norm).  Pairs are visited in blocks of
rows, so memory stays at a few ``block x K`` matrices (about 64 MiB each) and
never reaches ``K x K``: 30,000 classes need no more than 1,000.

Squared distances come from inner products (one matrix product per block)
after centring the rows, and every pair whose value fell below ``2**-10`` of
``||x_i||^2 + ||x_j||^2`` (where the inner-product form cancels) is
recomputed from the difference itself, so each squared distance carries a
relative error below about ``1e3 d eps`` (``1e-10`` at d = 768).

* :func:`cdnv`: class-distance normalized variance (Galanti et al. 2022);
* :func:`uniformity`: Gaussian-potential uniformity of the directions
  (Wang & Isola 2020);
* :func:`riesz_energy`: Riesz s-energy of the directions (minimum hyperspherical
  energy, Liu et al. 2018).

All take the class vectors as columns ``(d, K)`` (``layout="rows"`` for
``(K, d)``, e.g. rows of ``nn.Linear.weight``), numpy arrays or torch tensors.

References
----------
T. Galanti, A. Gyorgy, M. Hutter, "On the role of neural collapse in transfer
learning", ICLR 2022 (CDNV).
T. Wang, P. Isola, "Understanding contrastive representation learning through
alignment and uniformity on the hypersphere", ICML 2020.
W. Liu, R. Lin, Z. Liu, L. Liu, Z. Yu, B. Dai, L. Song, "Learning towards
minimum hyperspherical energy", NeurIPS 2018.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._validation import as_matrix, as_vector, centred_order_one, check_bool, check_real, unit_columns

__all__ = ["cdnv", "uniformity", "riesz_energy"]

_BLOCK_BYTES = 64 * 2**20
_CANCEL = 2.0 ** -10


def _class_rows(M, layout: str, name: str = "means") -> np.ndarray:
    """Validated ``(K, d)`` float64 rows of class vectors, ``K >= 2``."""
    M = as_matrix(M, name, layout=layout)
    if M.shape[1] < 2:
        raise ValueError(f"{name} must hold K >= 2 classes, got shape "
                         f"{M.shape if layout == 'columns' else M.T.shape} (layout={layout!r})")
    return np.ascontiguousarray(M.T)


def _directions(M, layout: str) -> np.ndarray:
    """Rows of ``M`` rescaled to unit norm (a zero row is an error)."""
    X = _class_rows(M, layout)
    zero = np.all(X == 0, axis=1)
    if np.any(zero):
        raise ValueError(f"class {int(np.argmax(zero))} has a zero vector; it has no direction")
    return np.ascontiguousarray(unit_columns(X.T).T)


def pair_blocks(X: np.ndarray, block_rows: int | None = None) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Squared distances of all pairs ``i < j`` of rows of ``X`` ``(K, d)``, block by block.

    Parameters
    ----------
    X : ndarray, shape (K, d), float64
        The vectors as rows (validated by the caller).
    block_rows : int, optional
        Rows per block (default: a ``block x K`` matrix of about 64 MiB).

    Yields
    ------
    rows : slice
        ``i0:i1``, the rows of this block.
    D2 : ndarray, shape (i1 - i0, K - i0)
        ``D2[a, b] = ||x_{i0+a} - x_{i0+b}||^2`` (units of ``X`` squared).
    upper : ndarray of bool, same shape
        The entries with ``j > i`` (each pair once).

    See Also
    --------
    cdnv, uniformity, riesz_energy : the averages built on it.
    """
    K, d = X.shape
    X = X - X.mean(axis=0)                  # distances are translation invariant; norms shrink
    sq = np.einsum("ij,ij->i", X, X)
    B = block_rows or int(max(1, min(K, _BLOCK_BYTES // (8 * K))))
    for i0 in range(0, K - 1, B):
        i1 = min(K, i0 + B)
        Xi, Xj = X[i0:i1], X[i0:]
        scale = sq[i0:i1, None] + sq[None, i0:]
        D2 = scale - 2.0 * (Xi @ Xj.T)
        upper = np.arange(i0, K)[None, :] > np.arange(i0, i1)[:, None]
        a, b = np.nonzero((D2 < _CANCEL * scale) & upper)
        if a.size:                          # cancellation: recompute from the difference
            diff = Xi[a] - Xj[b]
            D2[a, b] = np.einsum("ij,ij->i", diff, diff)
        np.maximum(D2, 0.0, out=D2)
        yield slice(i0, i1), D2, upper


def _n_pairs(K: int) -> int:
    return K * (K - 1) // 2


def cdnv(means, variances, *, layout: str = "columns") -> float:
    """Class-distance normalized variance, averaged over pairs of classes.

    ``CDNV = mean over i < j of (Var_i + Var_j) / (2 ||mu_i - mu_j||^2)``
    with ``Var_k = E ||h - mu_k||^2`` over the samples of class k (the trace
    of its covariance, normalized by its sample count).  Tends to 0 under
    neural collapse.

    Parameters
    ----------
    means : array_like or torch.Tensor, shape (d, K), or (K, d) for ``layout="rows"``
        Class means as columns (any units).
    variances : array_like, shape (K,)
        ``Var_k``, nonnegative, in the units of ``means`` squared (e.g.
        :attr:`ClassStatistics.class_variances
        <spherecodes.streaming.ClassStatistics.class_variances>`).
    layout : {"columns", "rows"}, keyword-only
        Classes as columns (default) or as rows, ``(K, d)``.

    Returns
    -------
    float
        Dimensionless, ``>= 0``; ``inf`` when two class means coincide (and a
        variance is positive).

    Raises
    ------
    ValueError
        ``means`` not 2-D, with fewer than 2 classes, or with NaN or inf;
        ``variances`` not 1-D, non-finite, negative or of a length other than
        ``K``; ``layout`` not ``"columns"``/``"rows"``.
    TypeError
        Complex or non-numeric ``means`` or ``variances``
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.ClassStatistics.cdnv : the same from streamed statistics.
    spherecodes.gnc1 : the paper's variability collapse (a ratio of covariances).

    References
    ----------
    T. Galanti, A. Gyorgy, M. Hutter, "On the role of neural collapse in
    transfer learning", ICLR 2022, Definition 1 (``rhubarbwu/neural-collapse``
    ``variability_cdnv`` with ``dist_exp=1`` computes the same average).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import cdnv
    >>> cdnv(np.array([[0.0, 2.0]]), [1.0, 1.0])     # (1 + 1) / (2 * 2^2)
    0.25
    """
    X = _class_rows(means, layout)
    V = as_vector(variances, "variances")
    K = X.shape[0]
    if V.shape[0] != K:
        raise ValueError(f"variances has length {V.shape[0]} but means hold K={K} classes")
    if np.any(V < 0):
        raise ValueError(f"variances must be >= 0; class {int(np.argmin(V))} has {float(V.min()):.6g}")
    # CDNV is translation invariant: the means, centred, are brought to order one by a power of
    # two 2^-e (exact up to the subnormals), so that their squared distances neither overflow (at
    # 1e160) nor underflow (at 1e-170); the variances stay as they are, and each quotient takes the
    # 2^(2e) back through the exponents (a scaled variance would underflow next to a large offset)
    X, _, pre, e = centred_order_one(X)
    e += pre
    total = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for rows, D2, upper in pair_blocks(X):
            num = V[rows, None] + V[None, rows.start:]
            (mn, en), (md, ed) = np.frexp(num), np.frexp(2.0 * D2)
            q = np.where(upper, np.ldexp(mn / md, en - ed - 2 * e), 0.0)   # num / (2 D2 2^(2e))
            q[upper & (num == 0)] = 0.0           # identical, collapsed classes: 0 / 0 counts 0
            total += float(q.sum())
    return total / _n_pairs(K)


def _logmeanexp_pairs(X: np.ndarray, fn) -> float:
    """``log(mean over pairs i < j of exp(fn(D2_ij)))`` with a running log-sum-exp."""
    m, s = -np.inf, 0.0
    for _, D2, upper in pair_blocks(X):
        with np.errstate(divide="ignore"):
            e = fn(D2[upper])
        if e.size == 0:
            continue
        bm = float(e.max())
        if bm == np.inf:
            return np.inf
        if bm == -np.inf:
            continue
        if bm > m:
            s = s * math.exp(m - bm) if m > -np.inf else 0.0
            m = bm
        s += float(np.exp(e - m).sum())
    if s == 0.0:
        return -np.inf
    return m + math.log(s) - math.log(_n_pairs(X.shape[0]))


def uniformity(means, *, t: float = 2.0, layout: str = "columns") -> float:
    """Uniformity of the class directions: ``log mean over i < j of exp(-t ||u_i - u_j||^2)``.

    ``u_k = mu_k / ||mu_k||``.  The lower, the more uniformly the directions
    spread over the sphere (``<= 0``; ``-4 t`` would mean every pair antipodal).
    Wang & Isola define it on the features of a contrastive encoder with
    ``t = 2``; here it is evaluated on the class directions, as neural-collapse
    toolboxes do.

    Parameters
    ----------
    means : array_like or torch.Tensor, shape (d, K)
        Class vectors (means or classifier weights); normalized here.
    t : float, keyword-only
        Temperature, finite and ``> 0`` (per squared unit distance).
    layout : {"columns", "rows"}, keyword-only
        Classes as columns (default) or as rows, ``(K, d)``.

    Returns
    -------
    float
        Dimensionless, in ``[-4 t, 0]``.

    Raises
    ------
    ValueError
        ``means`` not 2-D, with fewer than 2 classes, or with NaN or inf, or a zero
        column (no direction); ``t`` not finite and ``> 0``; ``layout`` not
        ``"columns"``/``"rows"``.
    TypeError
        Complex or non-numeric ``means``, or ``t`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    riesz_energy : the Riesz energy of the same directions.
    spherecodes.ClassStatistics.uniformity : the same from streamed class means.

    References
    ----------
    T. Wang, P. Isola, "Understanding contrastive representation learning
    through alignment and uniformity on the hypersphere", ICML 2020, eq. (5)
    (``L_uniform`` with ``t = 2``).

    Examples
    --------
    >>> from spherecodes import uniformity, polygon
    >>> round(uniformity(polygon(2), t=1.0), 12)    # one antipodal pair: -t * 4
    -4.0
    """
    t = check_real(t, "t")
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"t must be finite and > 0, got {t!r}")
    return _logmeanexp_pairs(_directions(means, layout), lambda D2: -t * D2)


def riesz_energy(means, *, s: float = 1.0, log: bool = False, layout: str = "columns") -> float:
    """Riesz s-energy of the class directions: ``mean over i < j of ||u_i - u_j||^(-s)``.

    ``u_k = mu_k / ||mu_k||``.  ``s = 0`` gives the logarithmic energy
    ``mean of log(1 / ||u_i - u_j||)``.  Minimum hyperspherical energy (MHE)
    codes minimize it; ``s = d - 2`` is the Newtonian case used by
    neural-collapse toolboxes.

    Parameters
    ----------
    means : array_like or torch.Tensor, shape (d, K)
        Class vectors; normalized here.
    s : float, keyword-only
        Exponent, finite and ``>= 0``.
    log : bool, keyword-only
        Return the natural logarithm of the energy (``s > 0``), which stays
        finite where the energy itself overflows (large ``s``).
    layout : {"columns", "rows"}, keyword-only
        Classes as columns (default) or as rows, ``(K, d)``.

    Returns
    -------
    float
        Dimensionless (directions are unit vectors); ``inf`` if two
        directions coincide.

    Raises
    ------
    ValueError
        ``means`` not 2-D, with fewer than 2 classes, or with NaN or inf, or a zero
        column (no direction); ``s`` not finite and ``>= 0``; ``log=True``
        with ``s = 0``; ``layout`` not ``"columns"``/``"rows"``.
    TypeError
        Complex or non-numeric ``means``, ``s`` not a real number or ``log``
        not a bool (:class:`spherecodes._validation.ArgumentTypeError`, also a
        ``ValueError``).

    See Also
    --------
    uniformity : the Gaussian potential of the same directions.
    spherecodes.ClassStatistics.riesz_energy : the same from streamed class means.

    References
    ----------
    W. Liu, R. Lin, Z. Liu, L. Liu, Z. Yu, B. Dai, L. Song, "Learning towards
    minimum hyperspherical energy", NeurIPS 2018, eq. (1); the average is over
    pairs, as in ``rhubarbwu/neural-collapse`` ``kernel_stats`` with
    ``riesz_kernel``.

    Examples
    --------
    >>> from spherecodes import riesz_energy, polygon
    >>> riesz_energy(polygon(2), s=1.0)              # one antipodal pair: 1 / 2
    0.5
    """
    s = check_real(s, "s")
    if not (math.isfinite(s) and s >= 0):
        raise ValueError(f"s must be finite and >= 0, got {s!r}")
    log = check_bool(log, "log")
    U = _directions(means, layout)
    if s == 0:
        if log:
            raise ValueError("log=True needs s > 0 (the logarithmic energy s = 0 can be negative)")
        total = 0.0
        for _, D2, upper in pair_blocks(U):
            with np.errstate(divide="ignore"):
                total += float(-0.5 * np.log(D2[upper]).sum())
        return total / _n_pairs(U.shape[0])
    lme = _logmeanexp_pairs(U, lambda D2: -0.5 * s * np.log(D2))
    if log:
        return lme
    try:
        return math.exp(lme)
    except OverflowError:           # the mean energy itself exceeds the double range
        return math.inf
