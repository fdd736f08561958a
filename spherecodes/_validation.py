"""Input checks shared by the public API.

Every public function that takes a code ``W`` (shape ``(d, K)``, unit columns)
or features ``H`` (shape ``(d, N)``) with labels ``y`` (length ``N``) goes
through these helpers, so that bad input fails early with a ``ValueError``
that names the problem instead of crashing inside a numba kernel.
"""
from __future__ import annotations

import numbers

import numpy as np

UNIT_NORM_ATOL = 1e-8


def check_int(value, name: str, *, minimum: int) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer() and not isinstance(value, bool):
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_dims(d, K) -> tuple[int, int]:
    """Validate a feature dimension ``d >= 1`` and a class count ``K >= 2``."""
    return check_int(d, "d", minimum=1), check_int(K, "K", minimum=2)


def as_matrix(A, name: str, *, min_cols: int = 1) -> np.ndarray:
    """Return ``A`` as a finite, C-contiguous float64 matrix of shape ``(d, m)``."""
    try:
        A = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (d, {'K' if name == 'W' else 'm'}), got ndim={A.ndim}")
    if A.shape[0] < 1:
        raise ValueError(f"{name} must have at least one row (d >= 1), got shape {A.shape}")
    if A.shape[1] < min_cols:
        raise ValueError(f"{name} must have at least {min_cols} columns, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or inf")
    return np.ascontiguousarray(A)


def as_code(W, *, normalize: bool = False, atol: float = UNIT_NORM_ATOL, name: str = "W") -> np.ndarray:
    """Validate a code: a float64 array of shape ``(d, K)`` with unit columns, ``K >= 2``.

    Parameters
    ----------
    W : array_like, shape (d, K)
        Columns are the codewords.
    normalize : bool
        If true, rescale columns to unit norm (zero columns are still an error).
        Otherwise a column whose norm differs from 1 by more than ``atol`` is an error.
    """
    W = as_matrix(W, name, min_cols=1)
    if W.shape[1] < 2:
        raise ValueError(f"{name} must have K >= 2 columns (classes), got shape {W.shape}")
    norms = np.linalg.norm(W, axis=0)
    if normalize:
        if np.any(norms == 0):
            raise ValueError(f"{name} has a zero column; cannot normalize")
        return np.ascontiguousarray(W / norms)
    bad = np.abs(norms - 1.0) > atol
    if np.any(bad):
        k = int(np.argmax(np.abs(norms - 1.0)))
        raise ValueError(
            f"{name} columns must have unit norm (tolerance {atol:g}); column {k} has norm {norms[k]:.12g}"
            " (pass normalize=True to rescale)"
        )
    return W


def as_features(H, y, *, K: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate features ``H`` of shape ``(d, N)`` and integer labels ``y`` of length ``N``.

    Returns ``(H, y, K)`` where ``K`` is the number of classes (``max(y) + 1``
    unless given).  Every class in ``range(K)`` must have at least one sample.
    """
    H = as_matrix(H, "H")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels y must be 1-D, got ndim={y.ndim}")
    if y.shape[0] != H.shape[1]:
        raise ValueError(f"labels y has length {y.shape[0]} but H has N={H.shape[1]} columns (H is (d, N))")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"labels y must be integers, got dtype {y.dtype}")
    y = y.astype(np.int64, copy=False)
    if y.size and y.min() < 0:
        raise ValueError(f"labels y must be >= 0, got {int(y.min())}")
    if K is None:
        K = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= K:
        raise ValueError(f"label {int(y.max())} out of range for K={K} classes")
    if K < 2:
        raise ValueError(f"need at least 2 classes, got K={K}")
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        raise ValueError(f"class {int(np.argmin(counts))} has no samples")
    return H, y, K
