"""Generalized neural collapse metrics (Section 2.2) and the optimal features of Theorem 3.5.

Conventions: a code ``W`` is ``(d, K)`` with unit columns (the classifier
weights); features ``H`` are ``(d, N)`` with integer labels ``y`` of length
``N`` in ``range(K)``.  Class ``k``'s mean is ``hbar_k = mean of H[:, y == k]``.
With ``layout="rows"`` every function takes (and returns) PyTorch's layout
instead: ``W`` as ``(K, d)`` (``nn.Linear.weight``) and ``H`` as ``(N, d)``.
numpy arrays and torch tensors (any dtype, any device) are accepted.

* ``GNC1 = tr(Sigma_W Sigma_B^+) / K``  (variability collapse, -> 0),
* ``GNC2 = rho_one_vs_rest(W)``         (-> the Softmax Code optimum),
* ``GNC3 = (1/K) sum_k (1 - <w_k, hbar_k>)``  (self-duality, -> 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_code, as_features, check_bool, check_layout, to_layout, unit_columns

__all__ = ["class_means", "gnc1", "gnc2", "gnc3", "gnc_metrics", "GNCMetrics", "optimal_features"]


def class_means(H, y, K=None, *, layout: str = "columns") -> np.ndarray:
    """Class-mean features.

    Parameters
    ----------
    H : array_like, shape (d, N), or (N, d) for ``layout="rows"``
        Features, one column (row) per sample.
    y : array_like of int, shape (N,)
        Labels in ``range(K)``; every class needs at least one sample.
    K : int, optional
        Number of classes (default ``max(y) + 1``).
    layout : {"columns", "rows"}, keyword-only
        Samples as columns (default) or rows (PyTorch's ``(N, d)``).

    Returns
    -------
    Hbar : ndarray, shape (d, K), or (K, d) for ``layout="rows"``
        Column (row) ``k`` is the mean of the features of class ``k`` (not
        normalized; in the units of ``H``).

    Raises
    ------
    ValueError
        If ``H`` is not 2-D, has no row or column, or contains NaN or inf;
        if ``y`` is not 1-D, does not have length ``N``, has a negative or
        non-integral label or a label ``>= K``; if ``K < 2``, ``K > N``, or a
        class in ``range(K)`` has no sample; if ``layout`` is not
        ``"columns"``/``"rows"``.
    TypeError
        If ``H`` is complex or not numeric, ``y`` is not an integer array
        (booleans, strings), or ``K`` is not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    gnc1, gnc3 : the metrics built on the class means.
    spherecodes.StreamingCollapse : the same means accumulated batch by batch.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.1 (``hbar_k``, the class-mean
    feature).

    Examples
    --------
    >>> from spherecodes import class_means
    >>> class_means([[0.0, 2.0, 5.0]], [0, 0, 1]).tolist()    # d = 1, three samples
    [[1.0, 5.0]]
    """
    H, y, K = as_features(H, y, K=K, layout=layout)
    return to_layout(_means(H, y, K), layout)


def _pow2_exponent(A: np.ndarray) -> int:
    """``e`` with ``2**e`` within a factor 2 of ``max |A|`` (0 for an all-zero A)."""
    mx = float(np.abs(A).max()) if A.size else 0.0
    return int(np.frexp(mx)[1]) if mx > 0 else 0


def _means(H: np.ndarray, y: np.ndarray, K: int) -> np.ndarray:
    # Summed at unit scale (dividing by a power of two is exact), so features
    # near the overflow threshold do not overflow in the sums.
    e = _pow2_exponent(H)
    counts = np.bincount(y, minlength=K).astype(np.float64)
    sums = np.zeros((H.shape[0], K))
    np.add.at(sums.T, y, np.ldexp(H, -e).T)
    return np.ldexp(sums / counts, e)


def gnc1(H, y, *, K=None, layout: str = "columns") -> float:
    """Within-class variability collapse ``GNC1 = tr(Sigma_W Sigma_B^+) / K``.

    As written in Section 2.2 of the paper (following Papyan et al. 2020):

    * ``Sigma_B = (1/K) sum_k hbar_k hbar_k^T`` -- the second moment of the class
      means, **not** centred at the global mean (the paper's definition; on the
      sphere the global mean of a balanced Softmax Code is near 0 anyway);
    * ``Sigma_W = (1/N) sum_i (h_i - hbar_{y_i})(h_i - hbar_{y_i})^T`` with ``N``
      the total number of samples.  For balanced classes (``n`` per class) this
      is the paper's ``1/(nK)``; for unbalanced classes every sample has weight
      ``1/N`` (classes are weighted by their size).
    * ``Sigma_B^+`` is the Moore-Penrose pseudo-inverse, so within-class
      variation outside the span of the class means is not counted.  It is
      applied in that span (thin SVD of the ``(d, K)`` means), where the
      trace is a sum of squares: never negative, and free of the spurious
      rounding-level eigenvalues of the ``d x d`` matrix (docs/theory.md, "GNC1
      in the span of the class means").  The value does not depend on the scale of ``H``.

    Parameters
    ----------
    H : array_like, shape (d, N), or (N, d) for ``layout="rows"``
        Features.
    y : array_like of int, shape (N,)
        Labels in ``range(K)``; every class needs at least one sample.
    K : int, optional, keyword-only
        Number of classes (default ``max(y) + 1``).
    layout : {"columns", "rows"}, keyword-only
        Samples as columns (default) or rows (PyTorch's ``(N, d)``).

    Returns
    -------
    float
        ``>= 0`` (dimensionless, independent of the scale of ``H``); exactly
        0 when every feature equals its class mean.

    Raises
    ------
    ValueError
        If ``H`` is not 2-D, has no row or column, or contains NaN or inf;
        if ``y`` is not 1-D, does not have length ``N``, has a negative or
        non-integral label or a label ``>= K``; if ``K < 2``, ``K > N``, or a
        class in ``range(K)`` has no sample; if ``layout`` is not
        ``"columns"``/``"rows"``.
    TypeError
        If ``H`` is complex or not numeric, ``y`` is not an integer array
        (booleans, strings), or ``K`` is not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.ClassStatistics.gnc1 : the same value from streamed
        statistics, with the centring of Papyan et al. as an option.
    gnc_metrics : GNC1, GNC2 and GNC3 at once.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2 (GNC1).  V. Papyan,
    X. Y. Han, D. L. Donoho, "Prevalence of neural collapse during the
    terminal phase of deep learning training", PNAS 117 (2020) 24652-24663
    (NC1, with ``Sigma_B`` centred at the global mean).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import gnc1
    >>> gnc1(np.array([[1.0, 1.0, -1.0, -1.0]]), [0, 0, 1, 1])   # collapsed
    0.0
    """
    H, y, K = as_features(H, y, K=K, layout=layout)
    N = H.shape[1]
    # GNC1 is scale-free: work at unit scale (a power of two, exact).
    Hs = np.ldexp(H, -_pow2_exponent(H))
    M = _means(Hs, y, K)
    R = Hs - M[:, y]  # (d, N) within-class residuals
    return _gnc1_from_factor(M, R, N)


def _gnc1_from_factor(M: np.ndarray, R: np.ndarray, N: int) -> float:
    """``tr(Sigma_W Sigma_B^+) / K`` from the class means and a factor of the within-class scatter.

    ``M`` is ``(d, K)`` (the vectors spanning ``Sigma_B = M M^T / K``, centred
    or not), ``R`` is ``(d, r)`` with ``R R^T = N Sigma_W`` (the residuals
    themselves, or a square root of the accumulated scatter, as in
    :mod:`spherecodes.streaming`).  Both at unit scale.
    """
    # Sigma_B = M M^T / K has rank <= K: work in the span of the class means,
    # from the thin SVD M = U diag(s) V^T, where Sigma_B^+ = U diag(K / s^2) U^T.
    # Then tr(Sigma_W Sigma_B^+) / K = (1/N) sum_i ||diag(1/s) U^T r_i||^2, a sum
    # of squares (never negative); directions with s at rounding level of the
    # largest are outside the numerical span and are not counted.
    if M.shape[1] > M.shape[0]:
        # K > d: M^T = Q R, and M = R^T Q^T has the left singular vectors and values of R^T
        # (d x d); 3x faster at (768, 29233) than an SVD that also forms the K x d right ones.
        U, sv, _ = np.linalg.svd(np.linalg.qr(M.T, mode="r").T, full_matrices=False)
    else:
        U, sv, _ = np.linalg.svd(M, full_matrices=False)
    if sv.size == 0 or sv[0] == 0:
        return 0.0 if not np.any(R) else float("inf")
    keep = sv > sv[0] * max(M.shape) * np.finfo(float).eps
    Z = (U[:, keep].T @ R) / sv[keep, None]
    return float(np.einsum("ij,ij->", Z, Z) / N)


def gnc2(W, *, normalize: bool = False, layout: str = "columns") -> float:
    """``GNC2 = rho_one_vs_rest(W)``: the minimal one-vs-rest distance of the classifier.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Classifier weights; unit vectors (or pass ``normalize=True``).
    normalize : bool, keyword-only
        Rescale the classifier vectors to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Classes as columns (default) or rows (``nn.Linear.weight``).

    Returns
    -------
    float
        ``min_k dist(w_k, conv{w_j : j != k})`` (see :func:`spherecodes.measures.rho_one_vs_rest`),
        a Euclidean distance on the unit sphere, in ``[0, 2]``.

    Raises
    ------
    ValueError
        If ``W`` is not 2-D, has fewer than 2 codewords, contains NaN or inf,
        has a codeword whose norm differs from 1 by more than the unit-norm
        tolerance (without ``normalize``) or a zero codeword (with it), or ``layout`` is not ``"columns"``/``"rows"``.
    TypeError
        If ``W`` is complex or not numeric, ``normalize`` is not a bool or
        ``layout`` not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    spherecodes.rho_one_vs_rest : the same value.
    spherecodes.one_vs_rest_distances : every class's distance, with certificates.
    spherecodes.softmax_code : codes that maximize it (the limit of GNC2).

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2 (GNC2) and Definition 2.1,
    eq. (3).

    Examples
    --------
    >>> from spherecodes import gnc2, polygon
    >>> round(gnc2(polygon(4)), 12)              # the square: rho = 1
    1.0
    """
    from .measures import rho_one_vs_rest

    return float(rho_one_vs_rest(W, normalize=normalize, layout=layout))


def gnc3(W, H, y, *, normalize_means: bool = True, normalize: bool = False, layout: str = "columns") -> float:
    """Self-duality ``GNC3 = (1/K) sum_k (1 - <w_k, hbar_k>)``.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Classifier weights, unit vectors (or pass ``normalize=True``).
    H : array_like, shape (d, N), or (N, d) for ``layout="rows"``
        Features.
    y : array_like of int, shape (N,)
        Labels in ``range(K)``; every class needs at least one sample.
    normalize_means : bool, keyword-only
        If true (default) the class means are rescaled to unit norm before the
        inner product, as in the authors' code: then ``GNC3 = 0`` exactly when
        every class mean points along its classifier, ``0 <= GNC3 <= 2``, and
        the value does not depend on the spread of the features.  If false, the
        raw means are used (for features on the sphere ``||hbar_k|| <= 1``, so
        ``GNC3 = 0`` then also requires within-class collapse).
    normalize : bool, keyword-only
        Rescale the classifier vectors of ``W`` instead of rejecting non-unit ones.
    layout : {"columns", "rows"}, keyword-only
        ``"rows"``: ``W`` is ``(K, d)`` and ``H`` is ``(N, d)`` (PyTorch).

    Returns
    -------
    float
        Dimensionless; in ``[0, 2]`` with ``normalize_means``, up to rounding and
        the unit-norm tolerance of ``W``: features on their classifiers give
        values of order 1e-16 of either sign (not clamped, so that a mean over
        runs stays unbiased).

    Raises
    ------
    ValueError
        As :func:`gnc2` for ``W`` and :func:`class_means` for ``H`` and ``y``
        (with ``K`` taken from ``W``: a label ``>= K`` or a class without
        samples is an error); if ``H`` and ``W`` have different dimensions
        ``d``; if a class mean is zero with ``normalize_means``.
    TypeError
        As :func:`gnc2` and :func:`class_means`; ``normalize_means`` not a bool.

    See Also
    --------
    spherecodes.ClassStatistics.gnc3 : the same value from streamed statistics.
    gnc_metrics : GNC1, GNC2 and GNC3 at once.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2 (GNC3, self-duality);
    Papyan, Han & Donoho, PNAS 117 (2020) (NC3).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import gnc3
    >>> W = np.array([[1.0, -1.0], [0.0, 0.0]])
    >>> gnc3(W, W, [0, 1])                       # features on their classifiers
    0.0
    """
    W = as_code(W, normalize=normalize, layout=layout)
    d, K = W.shape
    H, y, K = as_features(H, y, K=K, layout=layout)
    if H.shape[0] != d:
        shapes = "H is (d, N), W is (d, K)" if layout == "columns" else "H is (N, d), W is (K, d)"
        raise ValueError(f"H has dimension {H.shape[0]} but W has d={d} ({shapes})")
    M = _means(H, y, K)
    return _gnc3_from_means(W, M, check_bool(normalize_means, "normalize_means"))


def _gnc3_from_means(W: np.ndarray, M: np.ndarray, normalize_means: bool) -> float:
    """``(1/K) sum_k (1 - <w_k, m_k>)`` for a validated code ``W`` and class means ``M``, both ``(d, K)``."""
    if normalize_means:
        zero = np.all(M == 0, axis=0)
        if np.any(zero):
            k = int(np.argmax(zero))
            raise ValueError(f"class {k} has a zero mean feature; cannot normalize (use normalize_means=False)")
        M = unit_columns(M)     # scale-free: no overflow at 1e200, no underflow at 1e-200
    # 1 - <w, m> = ||w - m||^2 / 2 - (||w||^2 - 1) / 2 - (||m||^2 - 1) / 2: the first
    # term keeps full relative accuracy when w and m nearly coincide (GNC3 -> 0).  Means far
    # from unit norm (normalize_means=False) take 1 - <w, m> as it stands: there the squares
    # cancel (at ||m|| = 1e12 to 1e-5) or overflow.
    msq = np.einsum("ij,ij->j", M, M)
    near = np.abs(msq - 1.0) <= 0.5
    with np.errstate(over="ignore", invalid="ignore"):
        D = W - M
        close = (np.einsum("ij,ij->j", D, D) - (np.einsum("ij,ij->j", W, W) - 1.0) - (msq - 1.0)) / 2.0
    val = np.where(near, close, 1.0 - np.einsum("ij,ij->j", W, M))
    return float(np.mean(val))


@dataclass(frozen=True)
class GNCMetrics:
    """All three GNC metrics of a classifier ``W`` (d, K) and features ``H`` (d, N).

    Attributes
    ----------
    gnc1 : float
        Within-class variability collapse, :func:`gnc1`.
    gnc2 : float
        ``rho_one_vs_rest(W)``, :func:`gnc2`.
    gnc3 : float
        Self-duality, :func:`gnc3`.

    See Also
    --------
    gnc_metrics : the function that returns it.
    spherecodes.CollapseMetrics : the streamed counterpart, with certificates and CDNV.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2.
    """

    gnc1: float
    gnc2: float
    gnc3: float


def gnc_metrics(W, H, y, *, normalize_means: bool = True, normalize: bool = False,
                layout: str = "columns") -> GNCMetrics:
    """GNC1, GNC2 and GNC3 at once (see :func:`gnc1`, :func:`gnc2`, :func:`gnc3`).

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Classifier weights with unit vectors.
    H : array_like, shape (d, N), or (N, d) for ``layout="rows"``
        Features.
    y : array_like of int, shape (N,)
        Labels in ``range(K)``; every class needs at least one sample.
    normalize_means : bool, keyword-only
        As in :func:`gnc3`.
    normalize : bool, keyword-only
        Rescale the classifier vectors of ``W`` instead of rejecting non-unit ones.
    layout : {"columns", "rows"}, keyword-only
        ``"rows"``: PyTorch's layout for both ``W`` and ``H``.

    Returns
    -------
    GNCMetrics
        ``gnc1``, ``gnc2``, ``gnc3``.

    Raises
    ------
    ValueError
        As :func:`gnc1`, :func:`gnc2` and :func:`gnc3`.
    TypeError
        As :func:`gnc1`, :func:`gnc2` and :func:`gnc3`.

    See Also
    --------
    spherecodes.ClassStatistics.metrics : the same from batches, plus CDNV and uniformity.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2 (GNC1-GNC3).
    """
    W = as_code(W, normalize=normalize, layout=layout)
    H, y, K = as_features(H, y, K=W.shape[1], layout=layout)
    return GNCMetrics(
        gnc1=gnc1(H, y, K=K),
        gnc2=gnc2(W),
        gnc3=gnc3(W, H, y, normalize_means=normalize_means),
    )


def optimal_features(W, *, normalize: bool = False, layout: str = "columns") -> np.ndarray:
    """Optimal class features of the HardMax problem for classifier ``W`` (Theorem 3.5, eq. 9).

    ``h_k = (w_k - P_k(w_k)) / ||w_k - P_k(w_k)||`` where ``P_k`` is the
    Euclidean projection onto ``conv{w_j : j != k}``.  Theorem 3.5 states that
    when ``W`` is a Softmax Code, every class ``k`` that is not a rattler has
    all its optimal features equal to this ``h_k``.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        Code with unit vectors (or pass ``normalize=True``).
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    layout : {"columns", "rows"}, keyword-only
        Classes as columns (default) or rows; the result has the same layout.

    Returns
    -------
    Hstar : ndarray, shape (d, K), or (K, d) for ``layout="rows"``
        Unit vectors, one feature per class.

    Raises
    ------
    ValueError
        If some ``w_k`` lies in the convex hull of the others (distance 0:
        the direction is undefined); as :func:`gnc2` for ``W``.
    TypeError
        As :func:`gnc2`.

    See Also
    --------
    spherecodes.one_vs_rest_distances : the projections ``P_k(w_k)`` (``nearest``).
    spherecodes.hardmax : the HardMax optimum, whose features these are.
    spherecodes.rattlers : the classes for which Theorem 3.5 does not apply.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.5, eq. (9).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import optimal_features, polygon
    >>> np.allclose(optimal_features(polygon(4)), polygon(4))   # self-dual
    True
    """
    from .hull import one_vs_rest_distances

    layout = check_layout(layout)
    W = as_code(W, normalize=normalize, layout=layout)
    res = one_vs_rest_distances(W)
    R = W - res.nearest
    norms = np.linalg.norm(R, axis=0)
    bad = (norms <= 1e-12) | (np.asarray(res.distance) <= 0)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"class {k} lies in the convex hull of the other codewords (one-vs-rest distance "
            f"{float(res.distance[k]):.3g}); its optimal feature direction is undefined"
        )
    return to_layout(np.ascontiguousarray(R / norms), layout)
