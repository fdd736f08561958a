"""Input checks shared by the public API.

Every public function that takes a code ``W`` or features ``H`` goes through
:func:`check_array` (via :func:`as_code`, :func:`as_features`,
:func:`as_matrix` and :func:`as_vector`), the one place where user input
becomes the toolkit's internal form -- a finite, C-contiguous float64 array
whose *columns* are the vectors -- so that bad input fails early with a
message in the user's own terms instead of crashing inside a numba kernel.

Layouts.  ``layout="columns"`` (the default, the paper's convention): a code
is ``(d, K)`` and features are ``(d, N)``.  ``layout="rows"`` (PyTorch's
convention, ``nn.Linear.weight``): a code is ``(K, d)`` and features
``(N, d)``.  Messages then speak of rows, and of shapes as the user wrote
them.

Arrays.  numpy arrays, nested sequences and torch tensors (any device,
``requires_grad`` or not, any float dtype including bfloat16) are accepted;
torch is never imported here -- a tensor can only exist if the caller
imported torch already (``sys.modules``).  Tensors are detached and copied
to host memory, since every kernel behind these checks runs on the CPU.

Wrong *types* (a string for a number, a complex or string array) raise
:class:`ArgumentTypeError`, which is both a ``TypeError`` and a ``ValueError``
(so code that caught the older ``ValueError`` keeps working); wrong *values*
raise ``ValueError``.  Every message names the parameter.
"""
from __future__ import annotations

import math
import numbers
import sys

import numpy as np

#: Unit-norm tolerance for float64 input (and the floor for every dtype).
UNIT_NORM_ATOL = 1e-8
#: Above this a "unit" vector is not one in any precision (half-precision inputs stop here).
UNIT_NORM_ATOL_MAX = 1e-2
#: The two layouts of a matrix of vectors.
LAYOUTS = ("columns", "rows")


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (also a ``ValueError`` for backward compatibility)."""


def _is_real_scalar(value) -> bool:
    return (isinstance(value, (numbers.Real, np.floating, np.integer))
            and not isinstance(value, (bool, np.bool_)))


def check_int(value, name: str, *, minimum: int) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``."""
    if type(value) is int and value >= minimum:     # the common case, without the ABC checks below
        return value
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
    if type(value) is float:                        # the common case, without the ABC checks below
        return value
    if not _is_real_scalar(value):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        return float(value)
    except OverflowError:    # an int beyond float64, e.g. 10**400
        raise ValueError(f"{name} must fit a float64 (at most about 1.8e308 in size), got {value!r}") from None


def check_reals(values, name: str, *, check=None) -> np.ndarray:
    """A real number or a 1-D sequence (array, tensor) of them, as a float64 vector.

    Each entry goes through ``check(value, f"{name}[i]")`` (default
    :func:`check_real`), so a string or a bool among them is a type error
    naming its position instead of being converted (``"0.5"`` -> 0.5,
    ``True`` -> 1.0) or failing inside numpy.

    Raises
    ------
    TypeError
        An entry that is not a real number (:class:`ArgumentTypeError`, also a ``ValueError``).
    ValueError
        More than one dimension, or what ``check`` rejects.
    """
    check = check_real if check is None else check
    arr = to_numpy(values) if is_tensor(values) else np.asarray(values, dtype=object)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a number or a 1-D sequence of numbers, got shape {arr.shape}")
    return np.array([check(v, f"{name}[{i}]") for i, v in enumerate(np.atleast_1d(arr))], dtype=np.float64)


def check_tol(value, name: str = "tol") -> float:
    """A tolerance: a finite real number ``> 0``."""
    value = check_real(value, name)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return value


def check_rtol(value, name: str = "rtol") -> float:
    """A relative tolerance that may be zero: a finite real number ``>= 0``."""
    value = check_real(value, name)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return value


def check_seconds(value, name: str, *, positive: bool = False) -> float:
    """Wall-clock seconds: a finite real number, at least 0 (``> 0`` with ``positive``).

    Raises
    ------
    TypeError
        Not a real number (:class:`ArgumentTypeError`, also a ``ValueError``).
    ValueError
        Infinite, NaN, negative, or 0 with ``positive`` (messages say that
        ``None`` is the way to ask for no limit).
    """
    seconds = check_real(value, name)
    if positive and not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{name} must be a positive finite number of seconds (None: no limit), got {value!r}")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"{name} must be a finite number of seconds, at least 0 (None: no limit), got {value!r}")
    return seconds


def check_bool(value, name: str) -> bool:
    """A flag: ``True``/``False`` (numpy bools and the integers 0 and 1 accepted)."""
    if value is True or value is False:
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")



def check_device(device, name: str = "device") -> str:
    """A compute device for the solvers: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    if not isinstance(device, str):
        raise ArgumentTypeError(f"{name} must be a string such as 'auto', 'cpu' or 'cuda', got {device!r} "
                                f"({type(device).__name__})")
    if not (device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())):
        raise ValueError(f"{name} must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return device


def check_seed(seed) -> int:
    """Turn ``seed`` (None, int, SeedSequence or Generator) into the integer root entropy.

    The one seed check of the toolkit (the solvers, the constructions and
    the training helpers).  ``None`` draws fresh entropy from the OS; a
    ``Generator`` is advanced by one draw (use :func:`as_generator` to keep
    it as it is).

    Raises
    ------
    TypeError
        A seed that is not None, an integer, a SeedSequence or a Generator (the
        exception is also a ValueError, as this one used to be).
    ValueError
        A negative seed, or a SeedSequence with non-integer entropy.
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2 ** 63 - 1))
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        if isinstance(ent, (int, np.integer)):
            return int(ent)
        raise ValueError("seed: a SeedSequence with non-integer entropy is not supported")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ArgumentTypeError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return int(seed)


def as_generator(seed) -> np.random.Generator:
    """``seed`` (None, int, ``SeedSequence`` or ``Generator``) as a ``numpy.random.Generator``.

    A ``Generator`` is returned as it is (no draw); any other seed is first
    checked by :func:`check_seed` (its messages), then passed to
    ``numpy.random.default_rng``.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        check_seed(seed)
    return np.random.default_rng(seed)


def check_layout(layout, name: str = "layout") -> str:
    """``"columns"`` or ``"rows"`` (see the module docstring)."""
    if not isinstance(layout, str):
        raise ArgumentTypeError(f"{name} must be 'columns' or 'rows', got {layout!r} ({type(layout).__name__})")
    if layout not in LAYOUTS:
        raise ValueError(f"{name} must be 'columns' or 'rows', got {layout!r}")
    return layout


def _torch_tensor(A):
    """``A`` if it is a torch tensor (without importing torch), else None."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(A, torch.Tensor):
        return A
    return None


def is_tensor(A) -> bool:
    """Whether ``A`` is a ``torch.Tensor`` (checked without importing torch)."""
    return _torch_tensor(A) is not None


def unit_roundoff(A) -> float:
    """Unit roundoff ``u = eps / 2`` of the floating-point type ``A`` is held in (float64's for anything else).

    Works for numpy arrays and torch tensors (bfloat16 included) before any conversion.
    """
    t = _torch_tensor(A)
    if t is not None:
        if t.dtype.is_floating_point:
            return float(sys.modules["torch"].finfo(t.dtype).eps) / 2
        return 2.0 ** -53
    dt = getattr(A, "dtype", None)
    try:
        dt = np.dtype(dt) if dt is not None else None
    except TypeError:
        dt = None
    if dt is not None and dt.kind == "f":
        return float(np.finfo(dt).eps) / 2
    return 2.0 ** -53


def unit_norm_atol(u: float, d: int) -> float:
    """Tolerance on ``| ||w|| - 1 |`` for a vector of length ``d`` normalized in a precision with unit roundoff ``u``.

    ``(4 sqrt(d) + 4) u``, at least :data:`UNIT_NORM_ATOL` and at most
    :data:`UNIT_NORM_ATOL_MAX`.  Rounding each stored entry moves the norm by
    at most ``u`` (a weighted mean of the relative errors) and the division by
    the norm by another ``u``; the norm itself, summed in that precision, is
    off by about ``lambda sqrt(d) u`` with high probability (the
    probabilistic bound of Higham and Mary, SIAM J. Sci. Comput. 41 (2019)
    A2815), where the worst case ``d u`` is never seen in practice.  Measured
    on 2,000 random float32 vectors each: deviations of at most ``2u``
    (``numpy``, ``torch.nn.functional.normalize``, pairwise sums) and
    ``0.4 sqrt(d) u`` (sequential sums) for d = 3 .. 4096; ``lambda = 4``
    leaves a factor of ten.  float64 input keeps the fixed 1e-8 of the
    paper's examples, which also admits codes written with about 9 digits.
    """
    return float(min(UNIT_NORM_ATOL_MAX, max(UNIT_NORM_ATOL, (4.0 * np.sqrt(d) + 4.0) * u)))


def to_numpy(A) -> np.ndarray:
    """``A`` as a numpy array, without a copy where possible; torch tensors are detached and brought to the host.

    bfloat16 tensors (which numpy cannot hold) become float32, exactly.
    """
    t = _torch_tensor(A)
    if t is None:
        return A if isinstance(A, np.ndarray) else np.asarray(A)
    t = t.detach()
    if t.is_complex():
        t = t.resolve_conj()
    elif t.dtype.is_floating_point and t.dtype.itemsize < 4 and str(t.dtype) != "torch.float16":
        t = t.float()                    # bfloat16 and the float8 types -> float32, exact
    return t.cpu().numpy()


def as_real_array(A, name: str) -> np.ndarray:
    """``A`` as a float64 array; complex, string and other non-numeric input is a type error."""
    arr = to_numpy(A)
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


def _shape_words(layout: str, vectors: str) -> str:
    return f"(d, {vectors})" if layout == "columns" else f"({vectors}, d)"


def check_array(A, name: str, *, layout: str = "columns", vectors: str = "m", min_vectors: int = 1) -> np.ndarray:
    """The one entry point from user input to the toolkit's internal matrix form.

    Parameters
    ----------
    A : array_like or torch.Tensor
        A matrix of vectors: shape ``(d, m)`` for ``layout="columns"``,
        ``(m, d)`` for ``layout="rows"``.  Any real dtype, any torch device.
    name : str
        The parameter's name in messages (``"W"``, ``"H"``, ``"A"``).
    layout : {"columns", "rows"}
        Which axis holds the vectors.
    vectors : str
        The symbol for the number of vectors in messages (``"K"``, ``"N"``, ``"m"``).
    min_vectors : int
        Fewer vectors than this is an error.

    Returns
    -------
    numpy.ndarray, shape (d, m), float64, C-contiguous
        Columns are the vectors, whatever the input layout.

    Raises
    ------
    TypeError
        Complex, string or other non-numeric input (:class:`ArgumentTypeError`).
    ValueError
        Not 2-D, empty, too few vectors, or a NaN/inf entry (named by its
        index in the user's array).
    """
    layout = check_layout(layout)
    A = as_real_array(A, name)
    shape = _shape_words(layout, vectors)
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape {shape}, got shape {A.shape}")
    if layout == "rows":
        user = A
        A = A.T
    else:
        user = A
    if A.shape[0] < 1:
        axis = "row" if layout == "columns" else "column"
        raise ValueError(f"{name} must have at least one {axis} (d >= 1; shape {shape}), got shape {user.shape}")
    if A.shape[1] < min_vectors:
        where = "columns" if layout == "columns" else "rows"
        raise ValueError(f"{name} must have at least {min_vectors} {where} ({vectors} >= {min_vectors}; "
                         f"shape {shape}), got shape {user.shape}")
    finite = np.isfinite(user)
    if not finite.all():
        i, j = (int(x) for x in np.argwhere(~finite)[0])
        raise ValueError(f"{name} contains NaN or inf: {name}[{i}, {j}] = {user[i, j]}")
    return np.ascontiguousarray(A)


def unit_columns(M: np.ndarray) -> np.ndarray:
    """Columns of ``M`` rescaled to unit norm without overflow or underflow (nonzero columns)."""
    colmax = np.abs(M).max(axis=0)
    e = np.frexp(np.where(colmax > 0, colmax, 1.0))[1]
    Ms = np.ldexp(M, -e[None, :])                 # exact: powers of two
    return Ms / np.linalg.norm(Ms, axis=0)


def centred_order_one(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The rows of ``X`` ``(n, d)`` centred at their mean and brought to order one by powers of two.

    Returns ``(Y, c, pre, e)`` with ``Y = (X 2^-pre - c) 2^-e`` and ``max |Y|`` in
    ``[1/2, 1)`` (``Y`` is 0 where the rows coincide; ``e = 0`` then): distances and
    nearest centres are unchanged but for the shared power of two, and their
    squares neither overflow nor underflow.  ``pre`` is 2 where the centring
    could overflow (entries past 2^1020), else 0.  The powers of two are exact
    but for entries that fall among the subnormals.
    """
    pre = 2 if float(np.abs(X).max()) >= 2.0 ** 1020 else 0
    X = np.ldexp(X, -pre)
    c = (X / X.shape[0]).sum(axis=0)           # the mean, without the sum's overflow
    Y = X - c
    big = float(np.abs(Y).max())
    e = int(np.frexp(big)[1]) if big > 0 else 0
    return np.ldexp(Y, -e), c, pre, e


def unit_columns_error(d: int) -> float:
    """Bound on ``||unit_columns(M)[:, k] - M[:, k] / ||M[:, k]|| ||`` for ``M`` of ``d`` rows.

    The scaling by a power of two is exact but for entries that fall below the
    normal range (each square then off by at most ``2^-1075`` against a sum of
    at least 1/4); the sum of ``d`` squares has relative error at most ``d u``
    in any order of summation, fused multiply-adds or not (``u = 2^-53``), the
    square root halves it and adds ``u``, each quotient adds ``u``: at most
    ``(d / 2 + 2) u`` to first order, returned with 1 % to spare.
    """
    return 1.01 * (d / 2.0 + 2.0) * 2.0 ** -53 + d * 2.0 ** -1070


def rescales(W, normalize: bool) -> bool:
    """Whether :func:`as_code` returns ``W`` rescaled in float64 (see there) rather than as given.

    ``normalize``, or input of lower precision than float64 (float32, float16,
    bfloat16; numpy or torch), which ``as_code`` renormalizes in float64.
    """
    if normalize:
        return True
    return not (type(W) is np.ndarray and W.dtype == np.float64) and unit_roundoff(W) > 2.0 ** -53


def check_dims(d, K) -> tuple[int, int]:
    """Validate a feature dimension ``d >= 1`` and a class count ``K >= 2``."""
    return check_int(d, "d", minimum=1), check_int(K, "K", minimum=2)


def as_matrix(A, name: str, *, min_cols: int = 1, layout: str = "columns") -> np.ndarray:
    """Return ``A`` as a finite, C-contiguous float64 matrix of shape ``(d, m)`` (see :func:`check_array`)."""
    return check_array(A, name, layout=layout, vectors="K" if name == "W" else "m", min_vectors=min_cols)


def as_vector(v, name: str) -> np.ndarray:
    """Return ``v`` as a finite float64 vector."""
    v = as_real_array(v, name)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D with shape (d,), got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        i = int(np.flatnonzero(~np.isfinite(v))[0])
        raise ValueError(f"{name} contains NaN or inf: {name}[{i}] = {v[i]}")
    return v


def as_code(W, *, normalize: bool = False, atol: float | None = None, name: str = "W",
            layout: str = "columns", rows_option: bool = True) -> np.ndarray:
    """Validate a code: unit vectors, ``K >= 2`` of them, returned as float64 ``(d, K)`` columns.

    Parameters
    ----------
    W : array_like or torch.Tensor, shape (d, K) or (K, d)
        The codewords: columns for ``layout="columns"``, rows for ``layout="rows"``.
    normalize : bool
        If true, rescale the vectors to unit norm (a zero vector is still an error).
        Otherwise a vector whose norm differs from 1 by more than ``atol`` is an error.
    atol : float, optional
        Default :func:`unit_norm_atol` of the input's precision and ``d``:
        1e-8 for float64, about 7e-6 for float32 vectors of length 768.
    name : str
        The parameter's name in messages.
    layout : {"columns", "rows"}
        Which axis holds the codewords.
    rows_option : bool
        Whether the caller offers ``layout="rows"``: a non-unit column's message
        then suggests it (a PyTorch weight read as columns is the usual slip).

    Returns
    -------
    numpy.ndarray, shape (d, K), float64
        The codewords as columns: normalized if asked; float64 input
        otherwise exactly as given; lower-precision input (float32, float16,
        bfloat16) that is unit to its own precision is renormalized in
        float64, a change below its rounding error.

    Raises
    ------
    ValueError
        Wrong shape, NaN/inf, fewer than 2 codewords, a zero vector with
        ``normalize``, or a non-unit vector without it (named as row or
        column ``k``, with ``normalize=True`` suggested).
    """
    u = unit_roundoff(W)
    layout = check_layout(layout)
    W = check_array(W, name, layout=layout, vectors="K", min_vectors=1)
    word = "column" if layout == "columns" else "row"
    if W.shape[1] < 2:
        shape = _shape_words(layout, "K")
        raise ValueError(f"{name} must have K >= 2 {word}s (classes; shape {shape}), got "
                         f"{'one ' + word} of length {W.shape[0]}")
    if check_bool(normalize, "normalize"):
        zero = np.all(W == 0, axis=0)
        if np.any(zero):
            raise ValueError(f"{name} has a zero {word} ({word} {int(np.argmax(zero))}); cannot normalize")
        return np.ascontiguousarray(unit_columns(W))
    d = W.shape[0]
    tol = unit_norm_atol(u, d) if atol is None else float(atol)
    dev = np.abs(np.linalg.norm(W, axis=0) - 1.0)
    if np.any(dev > tol):
        k = int(np.argmax(dev))
        norm = float(np.linalg.norm(W[:, k]))
        hint = ""
        if u == 2.0 ** -53 and dev[k] <= unit_norm_atol(2.0 ** -24, d):
            hint = "; normalized in float32? pass the float32 array itself"
        elif layout == "columns" and rows_option:
            # the usual slip: a PyTorch weight read as columns, where normalize=True alone gives a wrong code
            hint = "; if the classes are rows, (K, d) like nn.Linear.weight, pass layout='rows'"
        raise ValueError(
            f"{name} {word}s must have unit norm (tolerance {tol:.2g}); {word} {k} has norm {norm:.12g}"
            f" (pass normalize=True to rescale{hint})")
    if u > 2.0 ** -53:
        # Unit in the input's precision: made unit in float64 (a change below that precision's
        # rounding), so that every later float64 check and kernel sees unit vectors.
        return np.ascontiguousarray(unit_columns(W))
    return W


def as_labels(y, N: int, *, layout: str = "columns", name: str = "labels y") -> np.ndarray:
    """Integer labels ``y`` of length ``N`` (numpy, sequence or torch tensor) as int64.

    ``name`` is the parameter in messages (``"labels y"``, ``"labels"``).
    """
    y = to_numpy(y)
    if y.dtype.kind in "cUSVOMmb":
        if y.dtype.kind == "O" and y.size and all(isinstance(t, numbers.Integral) for t in y.flat):
            y = y.astype(np.int64)
        else:
            raise ArgumentTypeError(f"{name} must be an integer array, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got ndim={y.ndim}")
    if y.shape[0] != N:
        where = "columns (H is (d, N))" if layout == "columns" else "rows (H is (N, d))"
        hint = ""
        if layout == "columns":
            hint = "; if the samples are rows, (N, d), pass layout='rows'"
        raise ValueError(f"{name} has length {y.shape[0]} but H has N={N} {where}{hint}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{name} must be integers, got dtype {y.dtype}")
    y = y.astype(np.int64, copy=False)
    if y.size and y.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {int(y.min())}")
    return y


def check_indices(values, name: str, *, stop: int, stop_name: str = "K") -> np.ndarray:
    """Integer indices in ``range(stop)`` (a sequence, array or tensor of any shape) as a flat int64 array.

    Integer-valued floats are accepted (as :func:`check_int` accepts ``2.0``);
    ``1.5``, NaN, booleans, strings and complex numbers are type errors (an
    index is never silently truncated).

    Raises
    ------
    TypeError
        An entry that is not an integer (:class:`ArgumentTypeError`, also a ``ValueError``).
    ValueError
        An index outside ``range(stop)``.
    """
    # a list keeps its entries as they are (numpy would turn [1, True] into [1, 1])
    arr = np.asarray(values, dtype=object) if isinstance(values, (list, tuple)) else to_numpy(values)
    if arr.dtype.kind == "O":
        if not all(_is_real_scalar(v) for v in arr.flat):
            bad = next(v for v in arr.flat if not _is_real_scalar(v))
            raise ArgumentTypeError(f"{name} must be integers, got {bad!r} ({type(bad).__name__})")
        arr = arr.astype(np.float64) if any(isinstance(v, (float, np.floating)) for v in arr.flat) \
            else arr.astype(np.int64)
    kind = arr.dtype.kind
    if kind == "f":
        whole = np.isfinite(arr) & (arr == np.round(arr))
        if not whole.all():
            raise ArgumentTypeError(f"{name} must be integers, got {float(arr[~whole].flat[0])!r}")
    elif kind not in "iu":
        raise ArgumentTypeError(f"{name} must be integers, got dtype {arr.dtype}")
    arr = arr.reshape(-1)
    if arr.size and (arr.min() < 0 or arr.max() >= stop):
        raise ValueError(f"{name} must be in range({stop_name}) = range({stop}), got "
                         f"{arr.min():.0f}..{arr.max():.0f}")
    return arr.astype(np.int64)


def as_features(H, y, *, K: int | None = None, layout: str = "columns") -> tuple[np.ndarray, np.ndarray, int]:
    """Validate features ``H`` and integer labels ``y`` of length ``N``.

    ``H`` is ``(d, N)`` for ``layout="columns"``, ``(N, d)`` for
    ``layout="rows"`` (numpy or torch); it is returned as float64 ``(d, N)``.
    Returns ``(H, y, K)`` where ``K`` is the number of classes (``max(y) + 1``
    unless given).  Every class in ``range(K)`` must have at least one sample.
    """
    H = check_array(H, "H", layout=layout, vectors="N")
    y = as_labels(y, H.shape[1], layout=layout)
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


def to_layout(M: np.ndarray, layout: str) -> np.ndarray:
    """An internal ``(d, m)`` column matrix in the caller's layout (``(m, d)`` for rows, C-contiguous)."""
    return M if layout == "columns" else np.ascontiguousarray(M.T)


def as_labelled_features(W, H, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A classifier ``W`` ``(d, K)``, features ``H`` ``(d, N)`` and their ``labels`` in ``range(K)``.

    For the losses of problems (2) and (5), where every class need not have a
    sample.  Returns float64 ``W`` and ``H`` (finite, ``K >= 2``, ``N >= 1``,
    the same ``d``; norms not checked) and int64 ``labels`` of shape ``(N,)``.
    """
    W = as_matrix(W, "W", min_cols=2)
    H = as_matrix(H, "H")
    if H.shape[0] != W.shape[0]:
        raise ValueError(f"H has dimension d={H.shape[0]} but W has d={W.shape[0]} "
                         f"(W is (d, K) = {W.shape}, H is (d, N) = {H.shape})")
    K = W.shape[1]
    labels = as_labels(labels, H.shape[1], name="labels")
    if labels.max() >= K:
        raise ValueError(f"labels must be in range(K) = range({K}) for W of shape {W.shape}, "
                         f"got label {int(labels.max())}")
    return W, H, labels
