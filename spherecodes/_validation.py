"""Input checks shared by the public API.

Every public function that takes a code ``W`` (shape ``(d, K)``, unit columns)
or features ``H`` (shape ``(d, N)``) with labels ``y`` (length ``N``) goes
through these helpers, so that bad input fails early with a ``ValueError``
that names the problem instead of crashing inside a numba kernel.

Wrong *types* (a string for a number, a complex or string array) raise
:class:`ArgumentTypeError`, which is both a ``TypeError`` and a ``ValueError``
(so code that caught the older ``ValueError`` keeps working); wrong *values*
raise ``ValueError``.  Every message names the parameter.
"""
from __future__ import annotations

import numbers

import numpy as np

UNIT_NORM_ATOL = 1e-8


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (also a ``ValueError`` for backward compatibility)."""


def _is_real_scalar(value) -> bool:
    return (isinstance(value, (numbers.Real, np.floating, np.integer))
            and not isinstance(value, (bool, np.bool_)))


def check_int(value, name: str, *, minimum: int) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        if _is_real_scalar(value) and np.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ArgumentTypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_real(value, name: str) -> float:
    """Return ``value`` as a float if it is a real number (not a bool or a string)."""
    if not _is_real_scalar(value):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    return float(value)


def check_tol(value, name: str = "tol") -> float:
    """A tolerance: a finite real number ``> 0``."""
    value = check_real(value, name)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return value


def check_rtol(value, name: str = "rtol") -> float:
    """A relative tolerance that may be zero: a finite real number ``>= 0``."""
    value = check_real(value, name)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return value


def check_bool(value, name: str) -> bool:
    """A flag: ``True``/``False`` (numpy bools and the integers 0 and 1 accepted)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def as_real_array(A, name: str) -> np.ndarray:
    """``A`` as a float64 array; complex, string and other non-numeric input is a type error."""
    arr = np.asarray(A) if not isinstance(A, np.ndarray) else A
    kind = arr.dtype.kind
    if kind == "c":
        raise ArgumentTypeError(f"{name} must be real, got a complex array (dtype {arr.dtype})")
    if kind in "USV" or kind == "M" or kind == "m":
        raise ArgumentTypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if kind == "O":
        if any(isinstance(x, (str, bytes, complex, np.complexfloating)) for x in arr.flat):
            raise ArgumentTypeError(f"{name} must be a numeric array of real numbers")
    try:
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{name} must be a numeric array: {exc}") from None


def unit_columns(M: np.ndarray) -> np.ndarray:
    """Columns of ``M`` rescaled to unit norm without overflow or underflow (nonzero columns)."""
    colmax = np.abs(M).max(axis=0)
    e = np.frexp(np.where(colmax > 0, colmax, 1.0))[1]
    Ms = np.ldexp(M, -e[None, :])                 # exact: powers of two
    return Ms / np.linalg.norm(Ms, axis=0)


def check_dims(d, K) -> tuple[int, int]:
    """Validate a feature dimension ``d >= 1`` and a class count ``K >= 2``."""
    return check_int(d, "d", minimum=1), check_int(K, "K", minimum=2)


def as_matrix(A, name: str, *, min_cols: int = 1) -> np.ndarray:
    """Return ``A`` as a finite, C-contiguous float64 matrix of shape ``(d, m)``."""
    A = as_real_array(A, name)
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (d, {'K' if name == 'W' else 'm'}), got ndim={A.ndim}")
    if A.shape[0] < 1:
        raise ValueError(f"{name} must have at least one row (d >= 1), got shape {A.shape}")
    if A.shape[1] < min_cols:
        raise ValueError(f"{name} must have at least {min_cols} columns, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or inf")
    return np.ascontiguousarray(A)


def as_vector(v, name: str) -> np.ndarray:
    """Return ``v`` as a finite float64 vector."""
    v = as_real_array(v, name)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D with shape (d,), got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf")
    return v


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
    if check_bool(normalize, "normalize"):
        if np.any(np.all(W == 0, axis=0)):
            raise ValueError(f"{name} has a zero column; cannot normalize")
        return np.ascontiguousarray(unit_columns(W))
    norms = np.linalg.norm(W, axis=0)
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
    if y.dtype.kind in "cUSVOMmb":
        if y.dtype.kind == "O" and y.size and all(isinstance(t, numbers.Integral) for t in y.flat):
            y = y.astype(np.int64)
        else:
            raise ArgumentTypeError(f"labels y must be an integer array, got dtype {y.dtype}")
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
    N = y.shape[0]
    if K is None:
        K = int(y.max()) + 1 if y.size else 0
        if K > N:   # checked before any array of size K is allocated
            raise ValueError(f"labels y: the largest label {K - 1} implies K={K} classes but there are only "
                             f"N={N} samples, and every class needs one (pass K, or relabel y to 0..K-1)")
    else:
        K = check_int(K, "K", minimum=1)
        if y.size and y.max() >= K:
            raise ValueError(f"labels y: label {int(y.max())} out of range for K={K} classes")
    if K < 2:
        raise ValueError(f"need at least 2 classes, got K={K}")
    if K > N:
        raise ValueError(f"K={K} classes but only N={N} samples in y; every class needs at least one")
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        raise ValueError(f"class {int(np.argmin(counts))} has no samples")
    return H, y, K
