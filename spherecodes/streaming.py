"""Streaming collapse metrics: class statistics accumulated batch by batch, as a DataLoader yields them.

Features arrive in PyTorch's layout, ``(B, D)`` rows with labels ``(B,)``, as
numpy arrays or torch tensors on any device.  :class:`StreamingCollapse`
keeps, in float64 (whatever the input dtype) and on the device of the first
batch (CPU for numpy; MPS, which has no float64, falls back to CPU):

* the sample count and the mean of every class, ``(K,)`` and ``(K, D)``;
* the pooled within-class scatter ``sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T``, ``(D, D)``;
* every class's sum of squared deviations ``sum_{y_i = k} ||h_i - mu_k||^2``, ``(K,)``.

Each batch is reduced on its own (class sums, then its residuals from its own
class means: an exact two-pass within the batch) and merged into the running
statistics with the pairwise update of Chan, Golub & LeVeque, so the scatter
is never formed as a difference of large second moments.  Classes may be
missing from any batch; ``n_classes`` may be given or grows with the labels.
Memory is ``O(K D + D^2)`` whatever the number of samples.

:meth:`StreamingCollapse.statistics` freezes them into a
:class:`ClassStatistics` (numpy, CPU), which computes:

* **GNC1** ``tr(Sigma_W Sigma_B^+) / K`` -- the definition and the code of
  :func:`spherecodes.gnc1` (in the span of the class means, never negative),
  fed with a square root of the accumulated scatter;
* **GNC2**, certified: :func:`spherecodes.one_vs_rest_distances` of a given
  classifier ``W``, or of the normalized class means;
* **GNC3** as :func:`spherecodes.gnc3`, from the accumulated means;
* **CDNV** (Galanti et al. 2022) and the **uniformity** / **Riesz energy** of
  the class directions (:mod:`spherecodes.pairwise`);
* **NC4** (agreement of the classifier with the nearest class mean) through
  :class:`NCCAgreement`, which needs the final class means and therefore a
  **second pass** over the data (or means known in advance, e.g. from the
  previous epoch).

Where the toolboxes differ
--------------------------
``center`` (on every metric that uses the class means as vectors) chooses
the origin of the class means:

* ``"none"`` (default): the paper's GNC definitions, ``Sigma_B = (1/K) sum_k
  mu_k mu_k^T``; on the sphere the origin is the natural centre;
* ``"global"``: Papyan, Han & Donoho (2020), ``Sigma_B`` centred at the global
  mean of all samples (``mu_G = (1/N) sum_i h_i``);
* ``"means"``: centred at the unweighted average of the class means, the
  default ``m_G`` of ``rhubarbwu/neural-collapse`` (``weighted=False``); equal
  to ``"global"`` for balanced classes.

Other differences, fixed here and documented rather than offered:
``Sigma_W`` is normalized by the total sample count N (the paper, Papyan et
al., rhubarbwu ``CovarAccumulator``); rhubarbwu's ``covariance_pinv`` (at
commit c3864c2) forms ``Sigma_B`` with a ``1 / D`` normalization instead of
``1 / K``, so its value is ``D / K`` times GNC1 here.  NC4 is the fraction of
*samples* on which the two classifiers agree (rhubarbwu's ``weighted=True``);
:attr:`NCCAgreement.per_class` gives the per-class rates.

References
----------
Jiang et al., "Generalized neural collapse for a large number of classes",
Section 2.2 (GNC1-3).  V. Papyan, X. Y. Han, D. L. Donoho, "Prevalence of
neural collapse during the terminal phase of deep learning training", PNAS
2020 (NC1-NC4).  T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for
computing the sample variance: analysis and recommendations", The American
Statistician 37 (1983) (pairwise update).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validation import (ArgumentTypeError, as_real_array, centred_order_one, check_bool, check_int,
                          check_layout, is_tensor, to_numpy, unit_columns)

__all__ = ["StreamingCollapse", "ClassStatistics", "CollapseMetrics", "NCCAgreement", "LayerHooks",
           "register_hooks"]

CENTERS = ("none", "global", "means")
_U32 = 2.0 ** -24
_CHUNK_ENTRIES = 2 ** 24          # NC4 scores per chunk: 64 MiB in float32
_UNDERFLOW = 2.0 ** -500          # features all below it: squares under 2^-1000, near the subnormals


# --------------------------------------------------------------------------- array backends
class _NumpyOps:
    """Operations on the accumulator's arrays, numpy flavour."""

    name = "numpy"
    device = None

    def float64(self, x, name):
        return as_real_array(x, name)

    def labels(self, y):
        y = np.asarray(to_numpy(y))
        if y.dtype.kind not in "iu":
            raise ArgumentTypeError(f"labels must be integers, got dtype {y.dtype}")
        return y.astype(np.int64, copy=False)

    def zeros(self, shape):
        return np.zeros(shape)

    def unique_inverse(self, y):
        return np.unique(y, return_inverse=True)

    def bincount(self, inv, n):
        return np.bincount(inv, minlength=n).astype(np.float64)

    def segment_sum(self, inv, X, n):
        import scipy.sparse as sp   # noqa: PLC0415

        ind = sp.csr_matrix((np.ones(inv.shape[0]), (inv, np.arange(inv.shape[0]))), shape=(n, inv.shape[0]))
        return np.asarray(ind @ X)

    def vstack(self, a, b):
        return np.vstack([a, b])

    def sqrt(self, a):
        return np.sqrt(a)

    def all_finite(self, X):
        return bool(np.all(np.isfinite(X)))

    def item(self, x):
        return x.item() if hasattr(x, "item") else x

    def numpy(self, x):
        return np.asarray(x)

    def from_numpy(self, a):
        return np.asarray(a)

    def float32(self, x):
        return np.asarray(x, dtype=np.float32)

    def nonzero2(self, mask):
        return np.nonzero(mask)

    def row_max(self, S):
        j = np.argmax(S, axis=1)
        return S[np.arange(S.shape[0]), j], j

    def exact_float32_matmul(self):
        return True


class _TorchOps:
    """The same operations with torch, on the device of the first batch (CPU instead of MPS)."""

    name = "torch"

    def __init__(self, torch, device):
        self.torch = torch
        self.device = torch.device("cpu") if device.type == "mps" else device

    def float64(self, x, name):
        t = self.torch
        if not is_tensor(x):
            return t.from_numpy(as_real_array(x, name)).to(self.device)
        if x.is_complex() or x.dtype == t.bool:
            raise ArgumentTypeError(f"{name} must be a real floating or integer tensor, got {x.dtype}")
        return x.detach().to(device=self.device, dtype=t.float64)

    def labels(self, y):
        t = self.torch
        if not is_tensor(y):
            y = np.asarray(y)
            if y.dtype.kind not in "iu":
                raise ArgumentTypeError(f"labels must be integers, got dtype {y.dtype}")
            return t.from_numpy(y.astype(np.int64, copy=False)).to(self.device)
        if y.is_floating_point() or y.is_complex() or y.dtype == t.bool:
            raise ArgumentTypeError(f"labels must be an integer tensor, got {y.dtype} (use labels.long())")
        return y.detach().to(device=self.device, dtype=t.int64)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def unique_inverse(self, y):
        return self.torch.unique(y, sorted=True, return_inverse=True)

    def bincount(self, inv, n):
        return self.torch.bincount(inv, minlength=n).to(self.torch.float64)

    def segment_sum(self, inv, X, n):
        return self.zeros((n,) + tuple(X.shape[1:])).index_add_(0, inv, X)

    def vstack(self, a, b):
        return self.torch.cat([a, b], dim=0)

    def sqrt(self, a):
        return self.torch.sqrt(a)

    def all_finite(self, X):
        return bool(self.torch.isfinite(X).all().item())

    def item(self, x):
        return x.item()

    def numpy(self, x):
        return x.detach().cpu().numpy()

    def from_numpy(self, a):
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def float32(self, x):
        return x.to(self.torch.float32)

    def nonzero2(self, mask):
        nz = mask.nonzero().cpu().numpy()
        return nz[:, 0], nz[:, 1]

    def row_max(self, S):
        return S.max(dim=1)

    def exact_float32_matmul(self):
        """False where float32 products may be computed at lower precision (TF32, bf16 passes)."""
        t = self.torch
        try:
            if t.get_float32_matmul_precision() != "highest":
                return False
            if self.device.type == "cuda" and t.backends.cuda.matmul.allow_tf32:
                return False
        except (AttributeError, RuntimeError):
            return False
        return True


def _ops_for(x):
    if is_tensor(x):
        import torch  # noqa: PLC0415 - the caller already imported it (it passed a tensor)

        return _TorchOps(torch, x.device)
    return _NumpyOps()


def _check_center(center) -> str:
    choices = ", ".join(map(repr, CENTERS))
    if not isinstance(center, str):
        raise ArgumentTypeError(f"center must be one of {choices}, got {center!r} ({type(center).__name__})")
    if center not in CENTERS:
        raise ValueError(f"center must be one of {choices}, got {center!r}")
    return center


# --------------------------------------------------------------------------- the accumulator
class StreamingCollapse:
    """Class means and within-class scatter of features, accumulated batch by batch.

    Parameters
    ----------
    n_classes : int, optional
        Number of classes K, ``>= 2``.  Labels must then lie in ``range(K)``.
        Default: grow with the largest label seen (``K = max label + 1``).

    Attributes
    ----------
    n_classes : int or None
        As given.
    n_samples : int
        Samples accumulated so far.

    Raises
    ------
    ValueError
        ``n_classes < 2``.
    TypeError
        ``n_classes`` not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import StreamingCollapse
    >>> rng = np.random.default_rng(0)
    >>> acc = StreamingCollapse(n_classes=3)
    >>> for _ in range(4):                                  # four batches of 32 rows
    ...     y = rng.integers(0, 3, size=32)
    ...     acc.update(np.eye(3)[y] + 0.01 * rng.standard_normal((32, 3)), y)
    >>> stats = acc.statistics()
    >>> stats.counts.sum(), stats.means.shape
    (np.int64(128), (3, 3))
    >>> round(stats.gnc1(), 4)                                # small spread: nearly collapsed
    0.0003

    See Also
    --------
    ClassStatistics : the metrics computed from the result.
    register_hooks : one accumulator per layer of a torch model.
    spherecodes.gnc1, spherecodes.class_means : the same quantities from features in memory.

    References
    ----------
    T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for computing the
    sample variance: analysis and recommendations", The American
    Statistician 37 (1983) 242-247 (the pairwise update of the scatter).
    """

    def __init__(self, n_classes: int | None = None):
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes", minimum=2)
        self._ops = None
        self._dim = None
        self._cap = 0
        self._seen = 0           # largest label + 1
        self._n = 0
        self._absmax = 0.0       # largest |feature| so far: a stream all below _UNDERFLOW underflowed
        self._counts = self._means = self._sqdev = self._scatter = None

    @property
    def n_samples(self) -> int:
        """Samples accumulated so far."""
        return self._n

    def _arrays(self, ops, dim, K):
        """``(counts, means, sqdev, scatter)`` with room for ``K`` classes, committing nothing.

        The current arrays when they are large enough, else grown copies
        (fresh zeros before the first batch); the caller writes into them
        only in :meth:`_commit`, after every check passed.
        """
        if self._ops is None:
            cap = self.n_classes or max(K, 1)
            return ops.zeros((cap,)), ops.zeros((cap, dim)), ops.zeros((cap,)), ops.zeros((dim, dim))
        if K <= self._cap:
            return self._counts, self._means, self._sqdev, self._scatter
        cap = K if self.n_classes else max(K, 2 * self._cap)
        counts, means, sqdev = ops.zeros((cap,)), ops.zeros((cap, dim)), ops.zeros((cap,))
        counts[:self._cap] = self._counts
        means[:self._cap] = self._means
        sqdev[:self._cap] = self._sqdev
        return counts, means, sqdev, self._scatter

    def update(self, features, labels) -> None:
        """Add one batch.

        Parameters
        ----------
        features : array_like or torch.Tensor, shape (B, D)
            One row per sample (any float or integer dtype; accumulated in float64).
        labels : array_like or torch.Tensor of int, shape (B,)
            Class of each row, ``>= 0`` (``< n_classes`` if given).

        Raises
        ------
        ValueError
            Features not 2-D or labels not of shape ``(B,)``, a dimension D
            different from earlier batches, NaN or inf in the features, a
            negative label or one ``>= n_classes``, or a scatter that
            overflows (features above about 1e150).  The accumulator is
            then as it was before the call.
        TypeError
            Complex or non-numeric features (boolean tensors too); labels
            that are not integers (floats included)
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

        See Also
        --------
        merge : add another accumulator's statistics.
        statistics : the result.
        """
        if self._ops is None:
            shape = getattr(features, "shape", None)
            if shape is None:
                shape = np.shape(features)
            if len(shape) != 2:
                raise ValueError(f"features must be 2-D, shape (B, D) (one row per sample), got shape "
                                 f"{tuple(shape)}; flatten them first, e.g. features.flatten(1)")
            ops, dim = _ops_for(features), int(shape[1])
        else:
            ops, dim = self._ops, self._dim
        X = ops.float64(features, "features")
        y = ops.labels(labels)
        if X.ndim != 2:
            raise ValueError(f"features must be 2-D, shape (B, D), got shape {tuple(X.shape)}")
        if X.shape[1] != dim:
            raise ValueError(f"features have D={X.shape[1]} columns but earlier batches had D={dim}")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"labels must have shape ({X.shape[0]},) to match features of shape "
                             f"{tuple(X.shape)}, got {tuple(y.shape)}")
        B = X.shape[0]
        if B == 0:
            if self._ops is None:           # an empty first batch still fixes D and the array library
                self._commit(ops, dim, self._arrays(ops, dim, 1), None, 0, 0)
            return
        if not ops.all_finite(X):
            raise ValueError("features contain NaN or inf")
        absmax = float(ops.item(abs(X).max()))
        lo, hi = int(ops.item(y.min())), int(ops.item(y.max()))
        if lo < 0:
            raise ValueError(f"labels must be >= 0, got {lo}")
        if self.n_classes is not None and hi >= self.n_classes:
            raise ValueError(f"label {hi} out of range for n_classes={self.n_classes}")
        classes, inv = ops.unique_inverse(y)
        u = classes.shape[0]
        nb = ops.bincount(inv, u)
        mb = ops.segment_sum(inv, X, u) / nb[:, None]            # batch class means
        R = X - mb[inv]                                            # residuals from them
        ssq = ops.segment_sum(inv, (R * R).sum(1), u)
        arrays = self._arrays(ops, dim, hi + 1)
        rows = self._pairwise(ops, arrays, classes, nb, mb, R, ssq)
        self._commit(ops, dim, arrays, rows, hi + 1, B)
        self._absmax = max(self._absmax, absmax)

    @staticmethod
    def _pairwise(ops, arrays, classes, nb, mb, R, ssq_b, scatter_b=None):
        """Chan-Golub-LeVeque pairwise update with a batch's per-class statistics, committing nothing.

        The batch's scatter is ``R^T R`` (its residuals ``R``), or ``scatter_b``
        when given; the update adds ``sum_k n_a n_b / n (mu_b - mu_a)(mu_b - mu_a)^T``,
        formed as one symmetric product with the residuals.  Returns
        ``(classes, counts, means, sqdev, scatter)``: the new rows of the
        batch's classes and the new scatter (a new array).

        Raises
        ------
        ValueError
            If the new scatter or squared deviations are not finite (overflow).
        """
        counts, means, sqdev, scatter = arrays
        na = counts[classes]
        n = na + nb
        delta = mb - means[classes]
        w = na * nb / n                                   # 0 for classes new in this batch
        means_k = means[classes] + delta * (nb / n)[:, None]
        Z = ops.vstack(R, delta * ops.sqrt(w)[:, None])
        S = Z.T @ Z                                       # a new array: the state's scatter stays as it is
        if scatter_b is not None:
            S += scatter_b
        S += scatter
        scatter = S
        sqdev_k = sqdev[classes] + ssq_b + w * (delta * delta).sum(1)
        if not (ops.all_finite(scatter) and ops.all_finite(sqdev_k) and ops.all_finite(means_k)):
            raise ValueError("the within-class scatter overflowed (features above ~1e150); rescale them")
        return classes, n, means_k, sqdev_k, scatter

    def _commit(self, ops, dim, arrays, rows, seen, n):
        """Make ``arrays`` (from :meth:`_arrays`), updated with ``rows`` (from :meth:`_pairwise`), the state."""
        counts, means, sqdev, scatter = arrays
        if rows is not None:
            classes, counts_k, means_k, sqdev_k, scatter = rows
            counts[classes] = counts_k
            means[classes] = means_k
            sqdev[classes] = sqdev_k
        self._ops, self._dim = ops, dim
        self._counts, self._means, self._sqdev, self._scatter = counts, means, sqdev, scatter
        self._cap = counts.shape[0]
        self._seen = max(self._seen, seen)
        self._n += n

    def merge(self, other: "StreamingCollapse") -> None:
        """Add the statistics of another accumulator (e.g. from another process or data shard).

        The result equals one accumulator fed both streams, up to rounding
        (the same pairwise update as :meth:`update`).

        Parameters
        ----------
        other : StreamingCollapse
            Left unchanged.

        Raises
        ------
        ValueError
            If the feature dimensions differ, ``other`` has more classes
            than this accumulator's ``n_classes``, or the merged scatter
            overflows.  This accumulator is then as it was before the call.
        TypeError
            If ``other`` is not a :class:`StreamingCollapse`
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
        """
        if not isinstance(other, StreamingCollapse):
            raise ArgumentTypeError(f"other must be a StreamingCollapse, got {type(other).__name__}")
        if other._ops is None:
            return
        ops, dim = (other._ops, other._dim) if self._ops is None else (self._ops, self._dim)
        if other._dim != dim:
            raise ValueError(f"cannot merge statistics of dimension {other._dim} into dimension {dim}")
        st = other.statistics(allow_empty=True)
        K = st.counts.shape[0]
        if self.n_classes is not None and K > self.n_classes:
            raise ValueError(f"other has {K} classes, more than n_classes={self.n_classes}")
        arrays = self._arrays(ops, dim, K)
        present = np.flatnonzero(st.counts > 0)
        rows = self._pairwise(ops, arrays, ops.from_numpy(present),
                              ops.from_numpy(st.counts[present].astype(np.float64)),
                              ops.from_numpy(st.means[present]), ops.zeros((0, dim)),
                              ops.from_numpy(st.sq_dev[present]), scatter_b=ops.from_numpy(st.scatter))
        self._commit(ops, dim, arrays, rows, other._seen, other._n)
        self._absmax = max(self._absmax, other._absmax)

    def statistics(self, *, allow_empty: bool = False) -> "ClassStatistics":
        """The accumulated statistics as numpy float64 arrays (a copy).

        Parameters
        ----------
        allow_empty : bool, keyword-only
            Accept classes without samples (their mean is 0).  By default a
            class in ``range(K)`` without a sample is an error.

        Returns
        -------
        ClassStatistics
            ``counts`` ``(K,)``, ``means`` ``(K, D)``, ``scatter`` ``(D, D)``
            and ``sq_dev`` ``(K,)``, in the units of the features (squared
            for the last two).

        Raises
        ------
        ValueError
            Nothing accumulated yet, (without ``allow_empty``) a class with no samples,
            or a stream whose features were all below about 1e-150 in magnitude
            (their second moments underflowed).
        TypeError
            ``allow_empty`` not a bool
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
        """
        if self._ops is None:
            raise ValueError("no features accumulated yet (call update(features, labels) first)")
        if 0.0 < self._absmax < _UNDERFLOW:
            # every square fell below the normal range: the scatter would read as collapse
            raise ValueError("every feature is below ~1e-150 in magnitude: their second moments underflowed "
                             "(GNC1 and the variances would read 0); rescale them")
        K = self.n_classes or self._seen
        ops = self._ops
        counts = np.rint(ops.numpy(self._counts[:K])).astype(np.int64)
        if not check_bool(allow_empty, "allow_empty") and np.any(counts == 0):
            k = int(np.argmin(counts))
            raise ValueError(f"class {k} has no samples (after {self._n} samples, K={K}); every class "
                             "needs one for the metrics")
        S = ops.numpy(self._scatter)           # symmetrized halves first: no overflow near the largest float
        return ClassStatistics(counts=counts, means=ops.numpy(self._means[:K]).copy(),
                               scatter=S / 2.0 + S.T / 2.0, sq_dev=ops.numpy(self._sqdev[:K]).copy())


# --------------------------------------------------------------------------- frozen statistics
def _rows_of(W, K, D, layout, normalize, name="W"):
    """A classifier (numpy or torch) as validated unit columns ``(D, K)`` for the GNC functions."""
    from ._validation import as_code

    A = np.asarray(to_numpy(W))
    if check_layout(layout) == "rows":
        if A.ndim == 2 and A.shape == (D, K) and D != K:
            raise ValueError(f"{name} has shape {A.shape} = (D, K): pass layout='columns' "
                             f"(layout='rows' expects (K, D) = ({K}, {D}), like nn.Linear.weight)")
        if A.ndim != 2 or A.shape != (K, D):
            raise ValueError(f"{name} must have shape (K, D) = ({K}, {D}) with layout='rows', got {A.shape}")
        A = A.T
    elif A.ndim != 2 or A.shape != (D, K):
        raise ValueError(f"{name} must have shape (D, K) = ({D}, {K}) with layout='columns', got {A.shape}")
    try:
        return as_code(A, normalize=normalize, name=name, rows_option=layout == "columns")
    except ValueError as exc:
        if layout == "rows":   # speak of rows, as the caller gave them
            raise type(exc)(str(exc).replace("columns", "rows").replace("column", "row")) from None
        raise


@dataclass(frozen=True, repr=False)
class ClassStatistics:
    """Per-class first and second moments of features, and the collapse metrics computed from them.

    Attributes
    ----------
    counts : ndarray of int64, shape (K,)
        Samples per class.
    means : ndarray, shape (K, D)
        Class means as rows (the layout of ``nn.Linear.weight``).
    scatter : ndarray, shape (D, D)
        Pooled within-class scatter ``sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T`` (``N Sigma_W``).
    sq_dev : ndarray, shape (K,)
        ``sum_{y_i = k} ||h_i - mu_k||^2`` for each class.

    See Also
    --------
    StreamingCollapse.statistics : how it is made from batches.
    from_features : from features held in memory.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2 (GNC1-GNC3); V. Papyan, X. Y. Han,
    D. L. Donoho, "Prevalence of neural collapse during the terminal phase of
    deep learning training", PNAS 117 (2020) 24652-24663 (NC1-NC4).
    """

    counts: np.ndarray
    means: np.ndarray
    scatter: np.ndarray
    sq_dev: np.ndarray

    @classmethod
    def from_features(cls, features, labels, *, n_classes: int | None = None) -> "ClassStatistics":
        """Statistics of features held in memory, ``(N, D)`` rows (one :meth:`StreamingCollapse.update`).

        Parameters
        ----------
        features : array_like or torch.Tensor, shape (N, D)
            One row per sample.
        labels : array_like or torch.Tensor of int, shape (N,)
            Class of each row.
        n_classes : int, optional, keyword-only
            Number of classes (default ``max(labels) + 1``).

        Returns
        -------
        ClassStatistics

        Raises
        ------
        ValueError
            As :meth:`StreamingCollapse.update`; a class in ``range(K)`` with no sample.
        TypeError
            As :meth:`StreamingCollapse.update`.

        Examples
        --------
        >>> from spherecodes import ClassStatistics
        >>> st = ClassStatistics.from_features([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]], [0, 0, 1])
        >>> st.means.tolist(), st.sq_dev.tolist()
        ([[2.0, 0.0], [0.0, 2.0]], [2.0, 0.0])
        """
        acc = StreamingCollapse(n_classes)
        acc.update(features, labels)
        return acc.statistics()

    @property
    def n_samples(self) -> int:
        """Total number of samples N."""
        return int(self.counts.sum())

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return int(self.counts.shape[0])

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.means.shape[1])

    @property
    def sigma_w(self) -> np.ndarray:
        """Within-class covariance ``Sigma_W = scatter / N``, ``(D, D)``."""
        return self.scatter / self.n_samples

    @property
    def class_variances(self) -> np.ndarray:
        """``Var_k = E ||h - mu_k||^2`` over class k (the variance in the CDNV), ``(K,)``."""
        return self.sq_dev / self.counts

    @property
    def global_mean(self) -> np.ndarray:
        """Mean of all N samples, ``(D,)``."""
        return (self.counts / self.n_samples) @ self.means

    def centered_means(self, center: str = "none") -> np.ndarray:
        """Class means ``(K, D)`` about the origin chosen by ``center`` (see the module docstring).

        Parameters
        ----------
        center : {"none", "global", "means"}
            ``"none"``: the origin (the paper); ``"global"``: the mean of all
            samples (Papyan et al. 2020); ``"means"``: the unweighted mean of
            the class means.

        Returns
        -------
        ndarray, shape (K, D)

        Raises
        ------
        ValueError
            ``center`` not one of the three.
        TypeError
            ``center`` not a string
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
        """
        center = _check_center(center)
        if center == "none":
            return self.means
        origin = self.global_mean if center == "global" else self.means.mean(axis=0)
        return self.means - origin

    def _require_all(self):
        if np.any(self.counts == 0):
            raise ValueError(f"class {int(np.argmin(self.counts))} has no samples")

    def gnc1(self, *, center: str = "none") -> float:
        """Within-class variability collapse ``GNC1 = tr(Sigma_W Sigma_B^+) / K``.

        The definition and the code of :func:`spherecodes.gnc1` (Section 2.2
        of the paper; with ``center="global"``, NC1 of Papyan et al. 2020).
        The scatter enters through its symmetric square root (eigenvalues
        below 0, at rounding level, count as 0), so the value is never
        negative.

        Parameters
        ----------
        center : {"none", "global", "means"}, keyword-only
            Origin of ``Sigma_B``.

        Returns
        -------
        float
            ``>= 0``, dimensionless.

        Raises
        ------
        ValueError
            A class without samples; a bad ``center`` (as :meth:`centered_means`).
        TypeError
            ``center`` not a string.

        See Also
        --------
        spherecodes.gnc1 : the same value from features in memory.

        References
        ----------
        Generalized Neural Collapse paper, Section 2.2 (GNC1); Papyan, Han & Donoho, PNAS
        117 (2020) (NC1, ``center="global"``).
        """
        from .collapse import _gnc1_from_factor, _pow2_exponent

        self._require_all()
        M = self.centered_means(center).T                       # (D, K)
        e = _pow2_exponent(M)                                     # GNC1 is scale-free
        Ms = np.ldexp(M, -e)
        lam, V = np.linalg.eigh(np.ldexp(self.scatter, -2 * e))
        F = V * np.sqrt(np.maximum(lam, 0.0))                     # F F^T = scatter (scaled)
        return _gnc1_from_factor(Ms, F, self.n_samples)

    def gnc2(self, W=None, *, layout: str = "rows", normalize: bool = False, center: str = "none",
             tol: float = 1e-12, executor=None, n_jobs: int = 1):
        """Certified one-vs-rest distances (GNC2) of the classifier ``W``, or of the normalized class means.

        Parameters
        ----------
        W : array_like or torch.Tensor, optional
            Classifier, ``(K, D)`` rows by default (``nn.Linear.weight``);
            ``layout="columns"`` for ``(D, K)``.  Unit rows, or pass
            ``normalize=True``.  Default: the class means (centred by
            ``center``), rescaled to unit norm.
        layout : {"rows", "columns"}, keyword-only
        normalize : bool, keyword-only
            Rescale the rows of ``W`` to unit norm instead of rejecting them.
        center : {"none", "global", "means"}, keyword-only
            Used only for the class means.
        tol, executor, n_jobs
            Passed to :func:`spherecodes.one_vs_rest_distances`.

        Returns
        -------
        OneVsRest
            ``.rho`` is GNC2, ``.rho_lower`` / ``.rho_upper`` its certificate.

        Raises
        ------
        ValueError
            ``W`` not of shape ``(K, D)`` (``(D, K)`` for ``layout="columns"``),
            with NaN or inf, or with a row that is not unit (without
            ``normalize``) or zero (with it); a class without samples or a
            zero class mean when ``W`` is None; a bad ``layout``, ``center``
            or option of :func:`spherecodes.one_vs_rest_distances`.
        TypeError
            ``normalize`` not a bool, ``layout`` or ``center`` not a string,
            or an option of the wrong type
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

        See Also
        --------
        spherecodes.gnc2, spherecodes.one_vs_rest_distances

        References
        ----------
        Generalized Neural Collapse paper, Section 2.2 (GNC2) and Definition 2.1, eq. (3).
        """
        from ._validation import rescales
        from .hull import one_vs_rest_distances, widened_for_rescaling

        if W is None:
            self._require_all()
            Wc = _rows_of(self.centered_means(center), self.n_classes, self.dim, "rows", True, "means")
            rescaled = True
        else:
            normalize = check_bool(normalize, "normalize")
            Wc = _rows_of(W, self.n_classes, self.dim, layout, normalize)
            rescaled = rescales(W, normalize)
        res = one_vs_rest_distances(Wc, tol=tol, executor=executor, n_jobs=n_jobs)
        # the certificate of the code before _rows_of rescaled it in float64
        return widened_for_rescaling(res, tol) if rescaled else res

    def gnc3(self, W, *, layout: str = "rows", normalize: bool = False, normalize_means: bool = True,
             center: str = "none") -> float:
        """Self-duality ``GNC3 = (1/K) sum_k (1 - <w_k, mu_k>)``, as :func:`spherecodes.gnc3`.

        Parameters
        ----------
        W : array_like or torch.Tensor
            Classifier, ``(K, D)`` rows (``layout="columns"``: ``(D, K)``).
        normalize : bool, keyword-only
            Rescale ``W`` to unit rows instead of rejecting them.
        normalize_means : bool, keyword-only
            Rescale the class means to unit norm first (default, as the authors' code).
        center : {"none", "global", "means"}, keyword-only
            Origin of the class means (rhubarbwu's ``self_duality_error``
            centres at the global mean).

        Returns
        -------
        float
            Dimensionless; in ``[0, 2]`` with ``normalize_means``.

        Raises
        ------
        ValueError
            As :meth:`gnc2` for ``W``; a class without samples; a zero class
            mean with ``normalize_means``.
        TypeError
            As :meth:`gnc2`; ``normalize_means`` not a bool.

        See Also
        --------
        spherecodes.gnc3 : the same value from features in memory.

        References
        ----------
        Generalized Neural Collapse paper, Section 2.2 (GNC3); Papyan, Han & Donoho, PNAS
        117 (2020) (NC3).
        """
        from .collapse import _gnc3_from_means

        self._require_all()
        Wc = _rows_of(W, self.n_classes, self.dim, layout, check_bool(normalize, "normalize"))
        M = self.centered_means(center).T
        nm = check_bool(normalize_means, "normalize_means")
        if nm and np.any(np.all(M == 0, axis=0)):
            k = int(np.argmax(np.all(M == 0, axis=0)))
            raise ValueError(f"class {k} has a zero mean feature; cannot normalize (use normalize_means=False)")
        return _gnc3_from_means(Wc, np.ascontiguousarray(M), nm)

    def cdnv(self) -> float:
        """Class-distance normalized variance, averaged over pairs (:func:`spherecodes.cdnv`).

        Raises
        ------
        ValueError
            A class without samples.

        References
        ----------
        T. Galanti, A. Gyorgy, M. Hutter, "On the role of neural collapse in
        transfer learning", ICLR 2022, Definition 1.
        """
        from .pairwise import cdnv

        self._require_all()
        return cdnv(self.means, self.class_variances, layout="rows")

    def uniformity(self, *, t: float = 2.0, center: str = "none") -> float:
        """Uniformity of the class directions (:func:`spherecodes.uniformity`, Wang & Isola 2020).

        Parameters
        ----------
        t : float, keyword-only
            Temperature, finite and ``> 0``.
        center : {"none", "global", "means"}, keyword-only
            Origin of the class means.

        Raises
        ------
        ValueError
            A class without samples, a zero (centred) class mean, a bad ``t``
            or ``center``.
        TypeError
            ``t`` not a real number, ``center`` not a string.

        References
        ----------
        T. Wang, P. Isola, "Understanding contrastive representation learning
        through alignment and uniformity on the hypersphere", ICML 2020, eq. (5).
        """
        from .pairwise import uniformity

        self._require_all()
        return uniformity(self.centered_means(center), t=t, layout="rows")

    def riesz_energy(self, *, s: float = 1.0, log: bool = False, center: str = "none") -> float:
        """Riesz s-energy of the class directions (:func:`spherecodes.riesz_energy`).

        Parameters
        ----------
        s : float, keyword-only
            Exponent, finite and ``>= 0``.
        log : bool, keyword-only
            Return the logarithm of the energy (``s > 0``).
        center : {"none", "global", "means"}, keyword-only
            Origin of the class means.

        Raises
        ------
        ValueError
            A class without samples, a zero (centred) class mean, a bad ``s``
            or ``center``, ``log=True`` with ``s = 0``.
        TypeError
            ``s`` not a real number, ``log`` not a bool, ``center`` not a string.

        References
        ----------
        W. Liu et al., "Learning towards minimum hyperspherical energy",
        NeurIPS 2018, eq. (1).
        """
        from .pairwise import riesz_energy

        self._require_all()
        return riesz_energy(self.centered_means(center), s=s, log=log, layout="rows")

    def agreement(self, W=None, *, bias=None, layout: str = "rows", normalize: bool = False) -> "NCCAgreement":
        """An :class:`NCCAgreement` accumulator (NC4) with these class means frozen.

        Feed it a second pass over the data (``update(features, logits=...)``,
        or ``W`` here to compute the linear predictions).

        Parameters
        ----------
        W, bias, layout, normalize
            As in :class:`NCCAgreement`.

        Returns
        -------
        NCCAgreement

        Raises
        ------
        ValueError, TypeError
            As :class:`NCCAgreement`.
        """
        return NCCAgreement(self.means, W=W, bias=bias, layout=layout, normalize=normalize)

    def metrics(self, W=None, *, layout: str = "rows", normalize: bool = False, center: str = "none",
                gnc2: bool = True, tol: float = 1e-12, executor=None, n_jobs: int = 1,
                t: float = 2.0) -> "CollapseMetrics":
        """All the one-pass metrics at once.

        Parameters
        ----------
        W : array_like or torch.Tensor, optional
            Classifier (``(K, D)`` rows by default).  Without it GNC2 is the
            one of the normalized class means and GNC3 is not computed.
        gnc2 : bool, keyword-only
            Compute the certified GNC2 (the expensive part at large K).
        t : float, keyword-only
            Temperature of the uniformity.
        layout, normalize, center, tol, executor, n_jobs
            As in :meth:`gnc2` and :meth:`gnc3`.

        Returns
        -------
        CollapseMetrics

        Raises
        ------
        ValueError
            As :meth:`gnc1`, :meth:`gnc2`, :meth:`gnc3`, :meth:`cdnv` and
            :meth:`uniformity`.
        TypeError
            As those; ``gnc2`` not a bool.

        See Also
        --------
        spherecodes.gnc_metrics : GNC1-GNC3 from features in memory.

        References
        ----------
        Generalized Neural Collapse paper, Section 2.2; Papyan, Han & Donoho, PNAS 117
        (2020); Galanti et al., ICLR 2022 (CDNV); Wang & Isola, ICML 2020
        (uniformity).
        """
        center = _check_center(center)
        ovr = self.gnc2(W, layout=layout, normalize=normalize, center=center, tol=tol, executor=executor,
                        n_jobs=n_jobs) if check_bool(gnc2, "gnc2") else None
        return CollapseMetrics(
            n_samples=self.n_samples, n_classes=self.n_classes, center=center,
            gnc1=self.gnc1(center=center),
            gnc2=None if ovr is None else ovr.rho,
            gnc2_lower=None if ovr is None else ovr.rho_lower,
            gnc2_upper=None if ovr is None else ovr.rho_upper,
            gnc2_of=None if ovr is None else ("means" if W is None else "W"),
            gnc3=None if W is None else self.gnc3(W, layout=layout, normalize=normalize, center=center),
            cdnv=self.cdnv(), uniformity=self.uniformity(t=t, center=center), one_vs_rest=ovr)

    def __repr__(self) -> str:
        return f"ClassStatistics(K={self.n_classes}, D={self.dim}, N={self.n_samples})"


@dataclass(frozen=True)
class CollapseMetrics:
    """Collapse metrics of one set of class statistics (see :meth:`ClassStatistics.metrics`).

    Attributes
    ----------
    n_samples, n_classes : int
    center : str
        Origin of the class means used (``"none"``: the paper's definitions).
    gnc1 : float
        ``tr(Sigma_W Sigma_B^+) / K``.
    gnc2, gnc2_lower, gnc2_upper : float or None
        ``rho_one_vs_rest`` and its certificate ``[lower, upper]``; None if not computed.
    gnc2_of : {"W", "means"} or None
        Whose one-vs-rest distances: the classifier's or the normalized class means'.
    gnc3 : float or None
        Self-duality (None without a classifier).
    cdnv : float
        Class-distance normalized variance.
    uniformity : float
        ``log mean exp(-t ||u_i - u_j||^2)`` of the class directions.
    one_vs_rest : OneVsRest or None
        Every class's certified distance.

    See Also
    --------
    ClassStatistics.metrics : the function that returns it.
    spherecodes.GNCMetrics : GNC1-GNC3 of features in memory.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2 (GNC1-GNC3).
    """

    n_samples: int
    n_classes: int
    center: str
    gnc1: float
    gnc2: float | None
    gnc2_lower: float | None
    gnc2_upper: float | None
    gnc2_of: str | None
    gnc3: float | None
    cdnv: float
    uniformity: float
    one_vs_rest: object = field(default=None, repr=False, compare=False)


# --------------------------------------------------------------------------- NC4
class NCCAgreement:
    """NC4: how often the classifier's prediction equals the nearest-class-mean (NCC) prediction.

    The class means must be final, so this is a **second pass** over the
    data after :class:`StreamingCollapse` (or means known in advance).

    Parameters
    ----------
    means : array_like or torch.Tensor, shape (K, D)
        Class means as rows (``layout="columns"``: ``(D, K)``).
    W : array_like or torch.Tensor, optional, keyword-only
        Linear classifier (same layout as ``means``), used when
        :meth:`update` gets no ``logits``: prediction ``argmax_k <w_k, h> + b_k``.
    bias : array_like, shape (K,), optional, keyword-only
        The classifier's bias ``b`` (default 0).
    layout : {"rows", "columns"}, keyword-only
    normalize : bool, keyword-only
        Rescale the rows of ``W`` to unit norm first (a cosine classifier).

    Notes
    -----
    NCC prediction: ``argmin_k ||h - mu_k||``, i.e. ``argmax_k <h, mu_k> -
    ||mu_k||^2 / 2``.  Both predictions are the argmax of the exact scores of
    the float64 inputs: scores are screened in float32 (twice the speed, and
    the precision of GPU matmuls), with a rigorous bound on their error; every
    class that could be the maximum within that bound is re-scored in float64
    (up to ties at float64 rounding, ``~d eps`` relative).  The screen is
    skipped when torch may compute float32 products at lower precision
    (TF32 or ``set_float32_matmul_precision`` other than ``"highest"``).
    Ties go to the smallest class index, as ``argmax`` does.  Given
    ``logits`` are used as they are (``argmax`` in their own dtype).

    Attributes
    ----------
    value : float
        Fraction of the samples seen on which both predictions agree.
    per_class : ndarray, shape (K,)
        The same per true class.
    n_samples, matches : int
        Samples seen and samples on which the predictions agree.

    Raises
    ------
    ValueError
        ``means`` not 2-D, with fewer than 2 classes, or with NaN or inf;
        ``W`` of the wrong shape or not finite (or, with ``normalize``, a
        zero row); ``bias`` of a shape other than ``(K,)``, not finite, or
        given without ``W``; ``layout`` not ``"rows"``/``"columns"``.
    TypeError
        Complex or non-numeric ``means``, ``W`` or ``bias``; ``layout`` not a
        string or ``normalize`` not a bool
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    ClassStatistics.agreement : made from accumulated class means.

    References
    ----------
    V. Papyan, X. Y. Han, D. L. Donoho, "Prevalence of neural collapse during
    the terminal phase of deep learning training", PNAS 117 (2020)
    24652-24663 (NC4: simplification to the nearest class centre).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes import NCCAgreement
    >>> acc = NCCAgreement(np.eye(2), W=np.eye(2))      # the classifier is the class means
    >>> acc.update(np.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> acc.value
    1.0
    """

    def __init__(self, means, *, W=None, bias=None, layout: str = "rows", normalize: bool = False):
        layout = check_layout(layout)
        M = as_real_array(means, "means")
        if M.ndim != 2:
            raise ValueError(f"means must be 2-D, got shape {M.shape}")
        if layout == "columns":
            M = M.T
        if not np.all(np.isfinite(M)):
            raise ValueError("means contain NaN or inf")
        self.K, self.dim = M.shape
        if self.K < 2:
            raise ValueError(f"means must hold K >= 2 classes, got shape {M.shape}")
        # The nearest class center is unchanged when means and features move by one vector and
        # scale by one power of two: centred at the means' mean (a common offset, 1e12 + 1 against
        # 1e12, is otherwise lost in the scores' rounding) and brought to order one (||mu||^2
        # neither overflows at 1e155 nor underflows at 1e-170); features follow in update.
        M, self._ncc_center, self._ncc_pre, self._ncc_exp = centred_order_one(M)
        self._means = np.ascontiguousarray(M)
        self._W = None
        self._bias = None
        if W is not None:
            if check_bool(normalize, "normalize"):
                self._W = np.ascontiguousarray(_rows_of(W, self.K, self.dim, layout, True).T)
            else:
                self._W = self._linear(W, layout)
            if bias is not None:
                b = as_real_array(bias, "bias")
                if b.shape != (self.K,):
                    raise ValueError(f"bias must have shape ({self.K},), got {b.shape}")
                if not np.all(np.isfinite(b)):
                    raise ValueError("bias contains NaN or inf")
                self._bias = b
        elif bias is not None:
            raise ValueError("bias given without W")
        self._ops = None
        self._dev = {}
        self.n_samples = 0
        self.matches = 0
        self._class_n = np.zeros(self.K, dtype=np.int64)
        self._class_hits = np.zeros(self.K, dtype=np.int64)

    def _linear(self, W, layout):
        A = as_real_array(W, "W")
        shape = (self.K, self.dim) if layout == "rows" else (self.dim, self.K)
        if A.shape != shape:
            raise ValueError(f"W must have shape {shape} with layout={layout!r}, got {A.shape}")
        A = A if layout == "rows" else A.T
        if not np.all(np.isfinite(A)):
            raise ValueError("W contains NaN or inf")
        return np.ascontiguousarray(A)

    @property
    def value(self) -> float:
        """Fraction of the samples seen on which both predictions agree (NaN before any)."""
        return self.matches / self.n_samples if self.n_samples else float("nan")

    @property
    def per_class(self) -> np.ndarray:
        """Agreement rate per true class (needs ``labels`` in :meth:`update`; NaN where none), ``(K,)``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self._class_n > 0, self._class_hits / np.maximum(self._class_n, 1), np.nan)

    def _classifier(self, name, C, b):
        """Device copies of a classifier: float64 and float32 rows, bias, and the error-bound scales."""
        if name not in self._dev:
            ops = self._ops
            b = np.zeros(C.shape[0]) if b is None else b
            self._dev[name] = dict(C64=ops.from_numpy(C), C32=ops.float32(ops.from_numpy(C)),
                                   b64=ops.from_numpy(b), b32=ops.float32(ops.from_numpy(b)),
                                   cmax=float(np.linalg.norm(C, axis=1).max()), bmax=float(np.abs(b).max()))
        return self._dev[name]

    def update(self, features, *, logits=None, labels=None) -> None:
        """Add one batch: count the samples where both predictions agree.

        Parameters
        ----------
        features : array_like or torch.Tensor, shape (B, D)
        logits : array_like or torch.Tensor, shape (B, K), optional, keyword-only
            The network's outputs; its prediction is their argmax.  Without
            them the prediction comes from ``W`` given at construction.
        labels : array_like of int, shape (B,), optional, keyword-only
            True classes, for :attr:`per_class`.

        Raises
        ------
        ValueError
            Shapes that do not match, NaN or inf in the features, neither
            ``logits`` nor ``W``, or ``labels`` that are not integers in
            ``range(K)``.
        TypeError
            Complex or non-numeric features (boolean tensors too)
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
        """
        ops = self._ops if self._ops is not None else _ops_for(features)
        X = ops.float64(features, "features")
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"features must have shape (B, {self.dim}), got {tuple(X.shape)}")
        B = X.shape[0]
        if B == 0:
            return
        if not ops.all_finite(X):
            raise ValueError("features contain NaN or inf")
        self._ops = ops  # the array library of the first good batch (the classifiers' copies live there)
        if logits is not None:
            L = logits
            shape = tuple(getattr(L, "shape", np.shape(L)))
            if shape != (B, self.K):
                raise ValueError(f"logits must have shape ({B}, {self.K}), got {shape}")
            lin = np.asarray(to_numpy(L.argmax(1) if is_tensor(L) else np.argmax(np.asarray(L), axis=1)))
        elif self._W is not None:
            clf = self._classifier("W", self._W, self._bias)
            lin = self._predict(X, clf)
        else:
            raise ValueError("NC4 needs the classifier's predictions: pass logits=... to update, "
                             "or W=... when creating the NCCAgreement")
        half = -(self._ncc_exp // 2)                  # two factors: 2^1074 alone is not a double
        Xn = (X * 2.0 ** -self._ncc_pre - ops.from_numpy(self._ncc_center)) * 2.0 ** half * 2.0 ** (
            -self._ncc_exp - half)
        ncc = self._predict(Xn, self._classifier("ncc", self._means, -0.5 * np.einsum("ij,ij->i", self._means,
                                                                                      self._means)))
        hit = lin.astype(np.int64) == ncc
        if labels is not None:  # checked before any counter moves: a bad batch changes nothing
            y = np.asarray(to_numpy(labels))
            if y.dtype.kind not in "iu" or y.shape != (B,):
                raise ValueError(f"labels must be integers of shape ({B},), got {y.dtype} {y.shape}")
            if y.size and (y.min() < 0 or y.max() >= self.K):
                raise ValueError(f"labels must lie in range({self.K})")
        self.n_samples += B
        self.matches += int(hit.sum())
        if labels is not None:
            np.add.at(self._class_n, y, 1)
            np.add.at(self._class_hits, y, hit.astype(np.int64))

    def _predict(self, X, clf) -> np.ndarray:
        """``argmax_k <x, c_k> + b_k`` for the rows of ``X`` (float64 on the ops' device), as numpy."""
        ops = self._ops
        K, d = self.K, self.dim
        out = []
        step = max(1, _CHUNK_ENTRIES // K)
        screen = ops.exact_float32_matmul()
        for i0 in range(0, X.shape[0], step):
            Xc = X[i0:i0 + step]
            if screen:
                with np.errstate(over="ignore", invalid="ignore"):   # past float32's range: float64 below
                    S = ops.float32(Xc) @ clf["C32"].T + clf["b32"]
                if not ops.all_finite(S):
                    S = None
            else:
                S = None
            if S is None:                                    # plain float64
                S64 = Xc @ clf["C64"].T + clf["b64"]
                out.append(ops.numpy(ops.row_max(S64)[1]).astype(np.int64))
                continue
            best, arg = ops.row_max(S)
            nx = ops.numpy((Xc * Xc).sum(1)) ** 0.5
            best_np = np.abs(ops.numpy(best).astype(np.float64))
            # |S - exact| <= gamma_{d+4}(u32) ||x|| max||c|| + 2 u32 (max|b| + |S|) + underflow
            g = (d + 4) * _U32 / (1.0 - (d + 4) * _U32)
            err = (g * nx * clf["cmax"] * (1.0 + 2.0 ** -20) + 2 * _U32 * (clf["bmax"] + best_np)
                   + (d + 2) * 2.0 ** -149)
            thr = ops.numpy(best).astype(np.float64) - 2.0 * err - 4 * _U32 * best_np
            pred = ops.numpy(arg).astype(np.int64)
            mask = S >= ops.float32(ops.from_numpy(np.nextafter(thr.astype(np.float32), -np.inf)))[:, None]
            cnt = ops.numpy(mask.sum(1))
            amb = np.flatnonzero(cnt > 1)
            if amb.size:
                sub = mask[ops.from_numpy(amb)]
                r, k = ops.nonzero2(sub)
                rows = amb[r]
                Xr = Xc[ops.from_numpy(rows)]
                kk = ops.from_numpy(k)
                v = ops.numpy((Xr * clf["C64"][kk]).sum(1) + clf["b64"][kk])
                order = np.lexsort((k, -v, rows))
                first = np.ones(order.size, dtype=bool)
                first[1:] = rows[order][1:] != rows[order][:-1]
                pred[rows[order][first]] = k[order][first]
            out.append(pred)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


# --------------------------------------------------------------------------- forward hooks
class LayerHooks:
    """Accumulators fed by forward hooks on several layers of a torch model (see :func:`register_hooks`).

    Set :attr:`labels` to the batch's labels before each forward pass.  Use
    as a context manager (or call :meth:`remove`) to detach the hooks.

    Attributes
    ----------
    accumulators : dict of str to StreamingCollapse
        One accumulator per hooked layer (also ``hooks[name]``).
    labels : array_like or torch.Tensor of int, shape (B,)
        The labels of the batch about to go through the model.

    See Also
    --------
    register_hooks : the function that returns it.
    """

    def __init__(self):
        self.accumulators: dict[str, StreamingCollapse] = {}
        self.labels = None
        self._handles = []

    def __getitem__(self, name: str) -> StreamingCollapse:
        return self.accumulators[name]

    def __iter__(self):
        return iter(self.accumulators)

    def statistics(self) -> dict:
        """``{layer: ClassStatistics}`` for every hooked layer."""
        return {name: acc.statistics() for name, acc in self.accumulators.items()}

    def remove(self) -> None:
        """Detach every hook from the model."""
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def register_hooks(model, layers, *, n_classes: int | None = None, inputs: bool = False) -> LayerHooks:
    """Accumulate class statistics of the outputs (or inputs) of named layers of a torch model.

    Parameters
    ----------
    model : torch.nn.Module
    layers : iterable of str
        Names as in ``model.named_modules()`` (e.g. ``"layer4"``, ``"fc"``).
    n_classes : int, optional, keyword-only
        Passed to each :class:`StreamingCollapse`.
    inputs : bool, keyword-only
        Hook each layer's first input instead of its output (``"fc"`` with
        ``inputs=True`` gives the features entering the classifier).

    Returns
    -------
    LayerHooks
        ``hooks[name]`` is the accumulator of that layer.  Outputs are
        flattened to ``(B, -1)`` and detached.  A forward pass raises
        ``RuntimeError`` while ``hooks.labels`` is unset.

    Raises
    ------
    ValueError
        A name that is not a submodule of ``model``; ``n_classes < 2``.
    TypeError
        ``inputs`` not a bool or ``n_classes`` not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    StreamingCollapse : the accumulator behind each layer.

    References
    ----------
    V. Papyan, X. Y. Han, D. L. Donoho, PNAS 117 (2020) (collapse measured
    layer by layer); Generalized Neural Collapse paper, Section 2.2.

    Examples
    --------
    ::

        with register_hooks(model, ["layer3", "fc"], inputs=True) as hooks:
            for x, y in loader:
                hooks.labels = y
                model(x)
        stats = hooks.statistics()          # {"layer3": ClassStatistics, "fc": ...}
    """
    inputs = check_bool(inputs, "inputs")
    modules = dict(model.named_modules())
    names = [layers] if isinstance(layers, str) else list(layers)
    missing = [n for n in names if n not in modules]
    if missing:
        known = ", ".join(n for n in list(modules)[:12] if n)
        raise ValueError(f"layers {missing} are not submodules of the model (some names: {known})")
    hooks = LayerHooks()
    for name in names:
        acc = StreamingCollapse(n_classes)
        hooks.accumulators[name] = acc

        def hook(module, args, output, acc=acc, name=name):
            x = args[0] if inputs else output
            if isinstance(x, (tuple, list)):
                x = x[0]
            if hooks.labels is None:
                raise RuntimeError(f"layer {name!r}: set hooks.labels = y before the forward pass")
            acc.update(x.detach().flatten(1), hooks.labels)

        hooks._handles.append(modules[name].register_forward_hook(hook))
    return hooks
