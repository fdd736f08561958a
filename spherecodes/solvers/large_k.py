"""Spread codes at large K: first-order Tammes descent on nearest-neighbour pairs.

At K in the thousands and more, every dense ``K x K`` step (the Gram matrix,
the softmax over all pairs) is the wall: 3.2 GB per float64 matrix at
K = 20000.  :func:`spread_code` works on the pairs of each codeword's ``m``
nearest neighbours only, so a step costs ``O(P d)`` with ``P <= K m`` pairs and
memory stays ``O(K (d + m))``:

1. random start (Gaussian columns, normalized), from ``seed``;
2. neighbour lists: the ``m`` largest inner products of every codeword, by a
   blocked top-k over ``W^T W`` (``block x K`` at a time, never ``K x K``);
   the union of the lists is the pair set (undirected, deduplicated);
3. projected Adam on the log-sum-exp of the listed inner products,
   ``(1/beta) log sum_{(i, j)} exp(beta <w_i, w_j>)``, with a geometric
   continuation in the sharpness ``beta`` and a geometric step decay, both
   driven by the progress ``iteration / max_iter`` (or elapsed time over
   ``time_limit``);
4. a neighbour-list certificate at every step: if codeword k moved by
   ``delta_k`` since the lists were built and the largest unlisted inner
   product of row k was at most ``s_k``, then no unlisted pair exceeds
   ``max_k (s_k + delta_k) + max_j delta_j``.  While that bound stays below
   the largest listed inner product, the listed maximum *is* the maximum; when
   it does not, the lists are rebuilt (at most half the time goes to rebuilds);
5. the best certified iterate is returned, with its maximum inner product
   recomputed exactly in float64 (the listed pairs, plus the full rows of any
   codeword the certificate cannot clear).

The result is a basin-level Tammes code (a few digits from a local optimum),
the starting point for Softmax Codes: for any W,
``rho_one_vs_rest(W) >= 1 - max_{i != j} <w_i, w_j>``.

torch is optional.  With torch the arithmetic runs batched on CPU or CUDA;
without it the same algorithm runs on numpy/scipy (on this project's 2-core
CPUs the numpy gathers were measured 3-5x faster than torch's, so
``device="auto"`` uses numpy on CPU and torch only when CUDA is present).

References
----------
Jiang, Zhou, Wang, Zhu, Qu, Zhu, "Generalized Neural Collapse for a Large
Number of Classes", Section 3 (the Softmax Code and its relation to the Tammes
problem, Theorem 3.3) and Figure 3 (the regime K >> d).
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

from .._validation import as_generator, check_device, check_dims, check_int, check_real, check_seconds

__all__ = ["spread_code", "neighbor_lists", "exact_max_inner_product", "default_neighbors"]

_TRAIN_EXTRA = 'pip install "spherecodes[train]"'
#: Target bytes of one ``block x K`` slab of the Gram matrix.
_BLOCK_BYTES = 64 * 2**20
#: Pairs per chunk when inner products are computed from gathered rows.
_PAIR_CHUNK = 4096

# --------------------------------------------------------------------------- backends
_TORCH = []


def _optional_torch():
    """torch if it is installed (imported once), else ``None``."""
    if not _TORCH:
        try:
            import torch
        except ImportError:
            torch = None
        _TORCH.append(torch)
    return _TORCH[0]


def _pair_dots_numpy(XT, I, J, out=None):
    """``out[p] = <XT[I[p]], XT[J[p]]>``, gathered in chunks into reused buffers."""
    P = I.shape[0]
    out = np.empty(P, dtype=XT.dtype) if out is None else out
    n = min(P, _PAIR_CHUNK)
    a = np.empty((n, XT.shape[1]), dtype=XT.dtype)
    b = np.empty_like(a)
    for s in range(0, P, n):
        e = min(P, s + n)
        np.take(XT, I[s:e], axis=0, out=a[:e - s])
        np.take(XT, J[s:e], axis=0, out=b[:e - s])
        np.einsum("ij,ij->i", a[:e - s], b[:e - s], out=out[s:e])
    return out


class _NumpyOps:
    """The handful of array operations the solver needs, on numpy/scipy."""

    name = "numpy"

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.device = "cpu"

    def asarray(self, a):
        return np.ascontiguousarray(a, dtype=self.dtype)

    def numpy64(self, a):
        return np.asarray(a, dtype=np.float64)

    def index(self, a):
        return np.asarray(a, dtype=np.int64)

    def index_numpy(self, a):
        return np.asarray(a)

    def gram_topk(self, XT, rows, m):
        """Top-``m`` inner products (values, indices) of codewords ``rows`` with all, self excluded."""
        G = XT[rows] @ XT.T
        G[np.arange(rows.size), rows] = -np.inf
        torch = _optional_torch() if G.shape[1] >= 4096 else None
        if torch is not None:
            # torch.topk on a zero-copy view: ~10x faster than numpy's argpartition on one core
            vals, idx = torch.topk(torch.from_numpy(G), m, dim=1, sorted=False)
            return vals.numpy(), idx.numpy()
        idx = np.argpartition(G, G.shape[1] - m, axis=1)[:, -m:]
        vals = np.take_along_axis(G, idx, axis=1)
        return vals, idx

    def gram_rows(self, XT, rows):
        G = XT[rows] @ XT.T
        G[np.arange(rows.size), rows] = -np.inf
        return G

    def pair_dots(self, XT, I, J, out=None):
        return _pair_dots_numpy(XT, I, J, out)

    def pair_operator(self, I, J, K):
        """Symmetric sparse pattern of the pairs: returns a callable ``c -> S(c)`` (K x K)."""
        import scipy.sparse as sp

        rows = np.concatenate([I, J])
        cols = np.concatenate([J, I])
        order = np.argsort(rows, kind="stable")
        indptr = np.searchsorted(rows[order], np.arange(K + 1)).astype(np.int64)
        cols = cols[order]

        def apply(c, XT):
            data = np.concatenate([c, c])[order]
            S = sp.csr_matrix((data, cols, indptr), shape=(K, K), copy=False)
            return np.asarray(S @ XT)
        return apply

    # elementwise helpers
    exp = staticmethod(np.exp)
    sqrt = staticmethod(np.sqrt)

    def zeros_like(self, a):
        return np.zeros_like(a)

    def mul_into(self, a, b, out):
        np.multiply(a, b, out=out)

    def div_into(self, a, b, out):
        np.divide(a, b, out=out)

    def sub_into(self, a, b, out):
        np.subtract(a, b, out=out)

    def sqrt_into(self, a, out):
        np.sqrt(a, out=out)

    def copy_into(self, a, out):
        np.copyto(out, a)

    def rownorm(self, a):
        return np.sqrt(np.einsum("ij,ij->i", a, a))

    def rowdot(self, a, b):
        return np.einsum("ij,ij->i", a, b)

    def scalar(self, a):
        return float(a)

    def copy(self, a):
        return a.copy()

    def nonzero(self, mask):
        return np.flatnonzero(mask)

    def unique(self, a):
        return np.unique(a)

    def memory_peak(self):
        return None


class _TorchOps(_NumpyOps):
    """The same operations on torch tensors (CPU or CUDA)."""

    name = "torch"

    def __init__(self, torch, dtype, device):
        self.torch = torch
        self.device = device
        self.dtype = dtype

    def asarray(self, a):
        return self.torch.as_tensor(np.ascontiguousarray(a), dtype=self.dtype, device=self.device).contiguous()

    def numpy64(self, a):
        return a.detach().to("cpu", self.torch.float64).numpy() if hasattr(a, "detach") else np.asarray(a, np.float64)

    def index(self, a):
        if hasattr(a, "detach"):
            return a.to(self.device, self.torch.int64)
        return self.torch.as_tensor(np.asarray(a, dtype=np.int64), device=self.device)

    def index_numpy(self, a):
        return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)

    def gram_topk(self, XT, rows, m):
        rows = self.index(rows)
        G = XT[rows] @ XT.T
        G[self.torch.arange(rows.shape[0], device=self.device), rows] = -math.inf
        vals, idx = self.torch.topk(G, m, dim=1, sorted=False)
        return vals, idx

    def gram_rows(self, XT, rows):
        rows = self.index(rows)
        G = XT[rows] @ XT.T
        G[self.torch.arange(rows.shape[0], device=self.device), rows] = -math.inf
        return G

    def pair_dots(self, XT, I, J, out=None):
        torch = self.torch
        out = torch.empty(I.shape[0], dtype=XT.dtype, device=self.device) if out is None else out
        for s in range(0, I.shape[0], _PAIR_CHUNK):
            a = torch.index_select(XT, 0, I[s:s + _PAIR_CHUNK])
            b = torch.index_select(XT, 0, J[s:s + _PAIR_CHUNK])
            out[s:s + _PAIR_CHUNK] = (a * b).sum(1)
        return out

    def pair_operator(self, I, J, K):
        import warnings

        torch = self.torch
        rows = torch.cat([I, J])
        cols = torch.cat([J, I])
        order = torch.argsort(rows, stable=True)
        indptr = torch.searchsorted(rows[order], torch.arange(K + 1, device=self.device))
        cols = cols[order]

        def apply(c, XT):
            data = torch.cat([c, c])[order]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # "sparse CSR support is in beta"
                S = torch.sparse_csr_tensor(indptr, cols, data, size=(K, K))
                return S @ XT
        return apply

    def exp(self, a):
        return self.torch.exp(a)

    def sqrt(self, a):
        return self.torch.sqrt(a)

    def zeros_like(self, a):
        return self.torch.zeros_like(a)

    def mul_into(self, a, b, out):
        self.torch.mul(a, b, out=out)

    def div_into(self, a, b, out):
        self.torch.div(a, b, out=out)

    def sub_into(self, a, b, out):
        self.torch.sub(a, b, out=out)

    def sqrt_into(self, a, out):
        self.torch.sqrt(a, out=out)

    def copy_into(self, a, out):
        out.copy_(a)

    def rownorm(self, a):
        return self.torch.linalg.vector_norm(a, dim=1)

    def rowdot(self, a, b):
        return (a * b).sum(1)

    def scalar(self, a):
        return float(a.item()) if hasattr(a, "item") else float(a)

    def copy(self, a):
        return a.clone()

    def nonzero(self, mask):
        return self.torch.nonzero(mask).flatten()

    def unique(self, a):
        return self.torch.unique(a)

    def memory_peak(self):
        if str(self.device).startswith("cuda"):
            return int(self.torch.cuda.max_memory_allocated(self.device))
        return None


def _import_torch(why: str):
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"{why} needs PyTorch; install the extra with  {_TRAIN_EXTRA}") from exc
    return torch


def _is_torch_device(device) -> bool:
    """Whether ``device`` is a ``torch.device`` (checked without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(device, torch.device)


def _make_ops(device, backend, dtype):
    """Resolve ``device`` / ``backend`` / ``dtype`` to an ops object."""
    if backend not in ("auto", "numpy", "torch"):
        raise ValueError(f"backend must be 'auto', 'numpy' or 'torch', got {backend!r}")
    if device is None:
        device = "auto"
    dev = check_device(str(device) if _is_torch_device(device) else device)
    if dev.startswith("cuda") and backend == "numpy":
        raise ValueError(f"device={dev!r} needs backend='torch' (or 'auto'), got backend='numpy'")
    if dtype is None:
        dtype = "float32"
    names = {"float32": "float32", "float64": "float64", np.float32: "float32", np.float64: "float64"}
    key = getattr(dtype, "name", None) or names.get(dtype, str(dtype))
    key = str(key).replace("torch.", "")
    if key not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")

    use_torch = backend == "torch" or dev.startswith("cuda")
    if backend == "auto" and dev == "auto":
        try:
            import torch
            use_torch = bool(torch.cuda.is_available())
        except ImportError:
            use_torch = False
    if not use_torch:
        return _NumpyOps(key)
    torch = _import_torch(f"spread_code(device={dev!r}, backend={backend!r})")
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {dev!r} requested but CUDA is not available (use device='auto' or 'cpu')")
    return _TorchOps(torch, getattr(torch, key), torch.device(dev))


# --------------------------------------------------------------------------- neighbour lists
def _block_rows(K: int, itemsize: int, block_size=None) -> int:
    if block_size is not None:
        return int(block_size)
    return int(max(1, min(K, _BLOCK_BYTES // (itemsize * K))))


def _neighbors(ops, XT, m, block, deadline=None):
    """Blocked top-``m`` lists.  Returns ``(I, J, g, s)`` or ``None`` when ``deadline`` passed.

    ``I < J`` index the undirected pairs (union of the lists, deduplicated),
    ``g`` their inner products and ``s[k]`` the m-th largest inner product of
    row k (every unlisted pair (k, j) has ``<w_k, w_j> <= min(s_k, s_j)``).
    """
    K = XT.shape[0]
    idx_all = np.empty((K, m), dtype=np.int64)
    s = np.empty(K)
    for start in range(0, K, block):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        rows = np.arange(start, min(K, start + block))
        vals, idx = ops.gram_topk(XT, rows, m)
        idx_all[rows] = ops.index_numpy(idx)
        s[rows] = ops.numpy64(vals).min(axis=1)
    k = np.repeat(np.arange(K, dtype=np.int64), m)
    j = idx_all.ravel()
    lo, hi = np.minimum(k, j), np.maximum(k, j)
    key = np.sort(lo * K + hi)          # np.unique's hash path was measured 30x slower
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    I, J = np.divmod(key, K)
    Ii, Jj = ops.index(I), ops.index(J)
    g = ops.pair_dots(XT, Ii, Jj)
    return Ii, Jj, g, s


def neighbor_lists(W, n_neighbors: int, *, block_size: int | None = None):
    """Nearest-neighbour pairs of a code, by a blocked top-k over ``W^T W``.

    Parameters
    ----------
    W : array_like, shape (d, K)
        Code with unit columns (not checked beyond shape and finiteness).
    n_neighbors : int
        ``m``: neighbours kept per codeword, ``1 <= m <= K - 1``.
    block_size : int, optional
        Rows of the Gram matrix formed at a time (memory ``block_size x K``).

    Returns
    -------
    pairs : ndarray of int64, shape (P, 2)
        Undirected pairs ``(i, j)``, ``i < j``: the union of the lists.
    inner : ndarray, shape (P,)
        Their inner products.
    s : ndarray, shape (K,)
        ``s[k]``: the m-th largest inner product of codeword k; every pair
        absent from ``pairs`` has inner product ``<= min(s[i], s[j])``.

    Raises
    ------
    ValueError
        If ``W`` is not a finite 2-D array with K >= 2 or ``n_neighbors`` is out of range.
    """
    from .._validation import as_matrix

    W = as_matrix(W, "W", min_cols=2)
    K = W.shape[1]
    m = check_int(n_neighbors, "n_neighbors", minimum=1)
    if m > K - 1:
        raise ValueError(f"n_neighbors must be <= K - 1 = {K - 1}, got {m}")
    ops = _NumpyOps(np.float64)
    XT = np.ascontiguousarray(W.T)
    I, J, g, s = _neighbors(ops, XT, m, _block_rows(K, 8, block_size))
    return np.stack([I, J], axis=1), g, s


def _float32_dot_error(d: int) -> float:
    """Bound on the rounding error of a float32 inner product of two float32-normalized vectors
    of length d: ``2 gamma_{d+4}`` with float32's unit roundoff 2^-24.

    Not :func:`spherecodes.hull._dot_error`: that one bounds float64 products of
    columns validated to unit norm within 1e-8."""
    u = 2.0 ** -24
    n = d + 4
    return 2.0 * n * u / (1.0 - n * u)


def exact_max_inner_product(W, *, block_size: int | None = None, pairs=None, s=None, moved=None,
                            slack: float = 0.0) -> tuple[float, tuple[int, int], int]:
    """Exact (float64) largest inner product of a code, cleared by neighbour lists when possible.

    Parameters
    ----------
    W : ndarray, shape (d, K)
        Code with unit columns, float64.
    pairs : ndarray of int64, shape (P, 2), optional
        Listed pairs; with ``s`` and ``moved``, rows whose bound
        ``s[k] + slack + moved[k] + max(moved)`` stays below the listed maximum
        are cleared without being recomputed.  Without them every row is recomputed
        (blocked, memory ``block_size x K``).
    s : ndarray, shape (K,), optional
        Largest unlisted inner product of each row when the lists were built.
    moved : ndarray, shape (K,), optional
        ``||w_k - w_k^ref||`` since the lists were built.
    slack : float
        Rounding allowance on ``s`` (e.g. float32 lists).

    Returns
    -------
    value : float
        ``max_{i != j} <w_i, w_j>`` in float64.
    pair : (int, int)
        A pair attaining it.
    rows_recomputed : int
        How many rows had to be recomputed in full.
    """
    d, K = W.shape
    WT = np.ascontiguousarray(W.T)
    best, pair = -np.inf, (0, 1)
    if pairs is not None and len(pairs):
        g = _pair_dots_numpy(WT, pairs[:, 0], pairs[:, 1])
        t = int(np.argmax(g))
        best, pair = float(g[t]), (int(pairs[t, 0]), int(pairs[t, 1]))
        bound = s + slack + moved + float(np.max(moved))
        rows = np.flatnonzero(bound >= best)
    else:
        rows = np.arange(K)
    B = _block_rows(K, 8, block_size)
    for start in range(0, rows.size, B):
        r = rows[start:start + B]
        G = WT[r] @ W
        G[np.arange(r.size), r] = -np.inf
        flat = int(np.argmax(G))
        i, j = divmod(flat, K)
        if G[i, j] > best:
            best, pair = float(G[i, j]), (int(r[i]), int(j))
    return best, (min(pair), max(pair)), int(rows.size)


# --------------------------------------------------------------------------- the solver
def _check_pair(value, name):
    if isinstance(value, (str, bytes)) or np.ndim(value) != 1 or len(value) != 2:
        raise ValueError(f"{name} must be a pair (start, end) of positive numbers, got {value!r}")
    a, b = (check_real(v, f"{name}[{i}]") for i, v in enumerate(value))
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"{name} must be a pair (start, end) of positive numbers, got {value!r}")
    return a, b


def default_neighbors(d: int, K: int) -> int:
    """Default ``m``: 32 neighbours per codeword up to K = 4000, 16 above (capped at K - 1).

    Above a few thousand codewords a step is bound by gathering the ``P ~ K m``
    neighbour rows; at (128, 10000) and (512, 20000) on one CPU core m = 16
    reached a lower maximum than m = 32 in the same 30-60 seconds.
    """
    return int(min(K - 1, 32 if K <= 4000 else 16))


def spread_code(d, K, *, seed=None, time_limit=None, max_iter=None, device="auto", backend="auto",
                n_neighbors=None, dtype=None, init=None, betas=None, lrs=None, block_size=None,
                callback=None):
    """A well-spread code (small maximum inner product) for large K, in O(K (d + m)) memory.

    Minimizes ``max_{i != j} <w_i, w_j>`` (the Tammes problem) approximately
    by projected Adam on a log-sum-exp of the inner products of each
    codeword's ``m`` nearest neighbours (see the module docstring for the
    algorithm and its neighbour-list certificate).  Meant for K in the
    thousands up to 100,000 and d up to 1024, where the dense solvers
    (:func:`~spherecodes.tammes_code`) cannot take a single step.

    Parameters
    ----------
    d, K : int
        Dimension (``d >= 1``) and number of codewords (``K >= 2``).
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator, keyword-only
        Random start (checked by :func:`spherecodes._validation.check_seed`,
        the solvers' seed check).  With ``time_limit=None`` the run is reproducible: the
        same seed and ``max_iter`` give the same code (on one backend,
        device and thread count).  With a ``time_limit`` the schedule follows
        the clock and is not reproducible.
    time_limit : float, optional, keyword-only
        Seconds for the whole call.  The best certified iterate so far is
        returned when it runs out; the overshoot is about one step (under a
        second at K = 20000, d = 512 on one CPU core: 0.04 s measured).  The
        first neighbour-list build always runs in full (it certifies the
        start; about 10 s at K = 20000, d = 512 on one core, O(K^2 d)), so
        a limit below that is overrun; later builds stop at the deadline.
    max_iter : int, optional, keyword-only
        Number of Adam steps.  Default 1000 without ``time_limit``, unbounded
        with it.  The sharpness/step schedules run over ``max_iter`` or,
        if it is not given, over ``time_limit``.
    device : {"auto", "cpu", "cuda", "cuda:N"}, keyword-only
        ``"auto"``: CUDA when torch is installed and sees a GPU, else CPU.
    backend : {"auto", "numpy", "torch"}, keyword-only
        ``"auto"``: torch on CUDA, numpy on CPU (faster gathers on CPU).
        ``"torch"`` with ``device="cpu"`` runs the torch path on CPU.
    n_neighbors : int, optional, keyword-only
        ``m``, neighbours per codeword (default: :func:`default_neighbors`).
    dtype : {"float32", "float64"}, optional, keyword-only
        Working precision of the steps (default float32).  The reported
        maximum is always recomputed in float64.
    init : array_like, shape (d, K), optional, keyword-only
        Start from this code (columns are normalized) instead of a random one.
    betas : (float, float), optional, keyword-only
        Sharpness at the start and at the end, in units of ``sqrt(d)``
        (default ``(2, 2000)``), interpolated geometrically.
    lrs : (float, float), optional, keyword-only
        Adam step at the start and at the end, as an angle per codeword
        (radians, default ``(0.05, 0.0002)``), interpolated geometrically.
    block_size : int, optional, keyword-only
        Rows of ``W^T W`` formed at a time in neighbour searches
        (default: a 64 MiB slab).
    callback : callable, optional, keyword-only
        ``callback(state)`` after every step with a dict holding
        ``iteration``, ``seconds``, ``beta``, ``lr``, ``listed_max`` (largest
        listed inner product, working precision), ``certified`` and
        ``best``, and ``code``: a function returning the current iterate as
        a float64 ``(d, K)`` array (a copy; call it only when needed).
        Return ``True`` to stop.

    Returns
    -------
    W : ndarray, shape (d, K)
        float64 code with unit columns (the columns are the codewords).
    info : dict
        ``max_inner_product`` (exact, float64), ``pair`` (a pair attaining
        it), ``iterations``, ``seconds``, ``refreshes`` (neighbour list
        builds), ``refresh_seconds``, ``n_neighbors``, ``pairs`` (listed pairs
        at the end), ``rows_recomputed`` (rows the final certificate could not
        clear), ``device``, ``backend``, ``dtype``, ``peak_bytes_estimate``
        (arrays of the algorithm, bytes), ``peak_device_bytes`` (CUDA only),
        ``status`` (``"max_iter"``, ``"time_limit"`` or ``"callback"``)
        and ``best_iteration``.

    Raises
    ------
    ValueError
        For a bad ``d``, ``K``, ``seed``, ``time_limit``, ``max_iter``,
        ``n_neighbors``, ``device``, ``backend``, ``dtype``, ``init``,
        ``betas``, ``lrs`` or ``block_size`` (the message names it), or for
        ``device="cuda"`` without a GPU.  A ``device`` that is not a string
        (nor a ``torch.device``) is an
        :class:`~spherecodes._validation.ArgumentTypeError`, a ``TypeError``
        that is also a ``ValueError``, as in :func:`~spherecodes.tammes_code`.
    ImportError
        ``device="cuda"`` or ``backend="torch"`` without torch (install the
        extra: ``pip install "spherecodes[train]"``).

    Notes
    -----
    Measured on one shared CPU core (``benchmarks/bench_large_k.py``, seed 1):
    against dense projected Adam on the full log-sum-exp (float64) given the
    same seconds, the max inner product was 0.1910 vs 0.3070 at (128, 10000)
    and 0.1678 vs 0.2487 (its random start) at (512, 20000) in 60 s, but
    0.1486 vs 0.1458 (60 s) and 0.1469 vs 0.1456 (600 s) at (64, 1000): at
    K ~ 1000, where a dense step is cheap, the dense descent ends lower.  Use
    this path where dense ``K x K`` steps do not fit.

    See Also
    --------
    spherecodes.tammes_code, spherecodes.softmax_code : dense solvers with polish, small K.
    spherecodes.hull.one_vs_rest_distances : certified rho_one_vs_rest of the result.

    References
    ----------
    Jiang et al., "Generalized Neural Collapse for a Large Number of Classes",
    Section 3 (Softmax Code, Tammes problem, Theorem 3.3) and Figure 3.

    Examples
    --------
    >>> from spherecodes.solvers.large_k import spread_code
    >>> W, info = spread_code(16, 500, seed=0, max_iter=200)
    >>> W.shape, info["max_inner_product"] < 0.6
    ((16, 500), True)
    """
    t0 = time.perf_counter()
    d, K = check_dims(d, K)
    if time_limit is not None:
        time_limit = check_seconds(time_limit, "time_limit", positive=True)
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter", minimum=0)
    elif time_limit is None:
        max_iter = 1000
    m = default_neighbors(d, K) if n_neighbors is None else check_int(n_neighbors, "n_neighbors", minimum=1)
    if m > K - 1:
        raise ValueError(f"n_neighbors must be <= K - 1 = {K - 1}, got {m}")
    beta0, beta1 = _check_pair((2.0, 2000.0) if betas is None else betas, "betas")
    lr0, lr1 = _check_pair((0.05, 0.0002) if lrs is None else lrs, "lrs")
    if block_size is not None:
        block_size = check_int(block_size, "block_size", minimum=1)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable, got {callback!r}")
    rng = as_generator(seed)    # checked before any work (a Generator is used as it is)
    if init is not None:
        from .._validation import as_code

        init = as_code(init, normalize=True, name="init")
        if init.shape != (d, K):
            raise ValueError(f"init must have shape (d, K) = ({d}, {K}), got {init.shape}")
    ops = _make_ops(device, backend, dtype)
    itemsize = np.dtype(str(ops.dtype).replace("torch.", "")).itemsize
    block = _block_rows(K, itemsize, block_size)
    deadline = None if time_limit is None else t0 + time_limit
    eps32 = _float32_dot_error(d) if itemsize == 4 else 4 * (d + 4) * 2.0 ** -53

    # 1. start
    if init is None:
        X0 = rng.standard_normal((K, d))
    else:
        X0 = init.T.copy()
    X0 /= np.linalg.norm(X0, axis=1, keepdims=True)
    XT = ops.asarray(X0)
    XT = XT / ops.rownorm(XT)[:, None]
    del X0

    beta_scale = math.sqrt(d)
    coord = 1.0 / math.sqrt(d)          # Adam moves each coordinate by ~lr: an angle lr*sqrt(d) per codeword
    state = dict(refreshes=0, refresh_seconds=0.0)

    def refresh(XT, hard_deadline):
        tr = time.perf_counter()
        out = _neighbors(ops, XT, m, block, hard_deadline)
        if out is None:
            return None
        dt = time.perf_counter() - tr
        state["refreshes"] += 1
        state["refresh_seconds"] += dt
        state["last_refresh"] = dt
        I, J, g, s = out
        return dict(I=I, J=J, g=g, s=ops.asarray(s), ref=ops.copy(XT), apply=ops.pair_operator(I, J, K),
                    end=time.perf_counter())

    # The first lists are needed whatever the deadline (they certify the start).
    lists = refresh(XT, None)
    g = lists["g"]
    listed = ops.scalar(g.max())
    best = dict(value=listed, X=ops.copy(XT), iteration=0, lists=lists)
    Madam = ops.zeros_like(XT)
    Vadam = ops.zeros_like(XT)
    tmp = ops.zeros_like(XT)
    b1, b2, aeps = 0.9, 0.999, 1e-12
    it = 0
    status = "max_iter"
    t_opt = time.perf_counter()
    step_time = None
    # Rebuild every `min_gap` steps at most when the run must be reproducible (no clock).
    min_gap = max(4, int(round(K / (30.0 * m))))
    last_refresh_it = 0
    while True:
        now = time.perf_counter()
        if max_iter is not None and it >= max_iter:
            status = "max_iter"
            break
        if deadline is not None:
            # stop when one more step (and the final certificate, about one step) would overrun
            need = 2.5 * (step_time or 0.0)
            if now + need > deadline:
                status = "time_limit"
                break
        if max_iter is not None:
            p = it / max(1, max_iter)
        else:
            p = min(1.0, (now - t_opt) / max(1e-9, deadline - 2.5 * (step_time or 0.0) - t_opt))
        beta = beta0 * beta_scale * (beta1 / beta0) ** p
        lr = lr0 * (lr1 / lr0) ** p
        ts = time.perf_counter()
        # 3. projected Adam on the log-sum-exp of the listed inner products (g is current).
        # In place throughout: on a shared VM every fresh K x d array costs its page faults.
        gmax = g.max()
        c = ops.exp((g - gmax) * beta)
        c /= c.sum()
        G = lists["apply"](c, XT)
        ops.mul_into(XT, ops.rowdot(G, XT)[:, None], tmp)
        G -= tmp                                        # tangent part
        it += 1
        Madam *= b1
        ops.mul_into(G, 1 - b1, tmp)
        Madam += tmp
        Vadam *= b2
        ops.mul_into(G, G, tmp)
        tmp *= 1 - b2
        Vadam += tmp
        del G
        ops.sqrt_into(Vadam, tmp)                       # Adam with bias corrections folded into scalars
        tmp *= 1.0 / math.sqrt(1 - b2 ** it)
        tmp += aeps
        ops.div_into(Madam, tmp, tmp)
        tmp *= lr * coord / (1 - b1 ** it)
        XT -= tmp
        XT /= ops.rownorm(XT)[:, None]
        # 4. certificate of the lists for the new iterate
        g = ops.pair_dots(XT, lists["I"], lists["J"], out=lists["g"])
        listed = ops.scalar(g.max())
        ops.sub_into(XT, lists["ref"], tmp)
        moved = ops.rownorm(tmp)
        bound = ops.scalar((lists["s"] + moved).max()) + ops.scalar(moved.max()) + eps32
        certified = bound <= listed
        dt = time.perf_counter() - ts
        step_time = dt if step_time is None else 0.8 * step_time + 0.2 * dt
        if certified and listed < best["value"]:
            ops.copy_into(XT, best["X"])
            best.update(value=listed, iteration=it, lists=lists)
        stop = False
        if callback is not None:
            cur = XT
            stop = bool(callback(dict(iteration=it, seconds=time.perf_counter() - t0, beta=beta, lr=lr,
                                      listed_max=listed, certified=certified, best=best["value"],
                                      code=lambda: ops.numpy64(cur).T.copy())))
        if stop:
            status = "callback"
            break
        if not certified:
            if deadline is None:
                due = it - last_refresh_it >= min_gap
            else:
                # at most half of the time in list builds, and only if one fits before the deadline
                due = (time.perf_counter() - lists["end"] >= state["last_refresh"]
                       and time.perf_counter() + state["last_refresh"] + 2 * step_time < deadline)
            if due:
                new = refresh(XT, None if deadline is None else deadline - step_time)
                if new is not None:
                    lists = new
                    last_refresh_it = it
                    g = lists["g"]
                    listed = ops.scalar(g.max())
                    if listed < best["value"]:
                        ops.copy_into(XT, best["X"])
                        best.update(value=listed, iteration=it, lists=lists)

    # 5. exact float64 maximum of the best certified iterate
    tc = time.perf_counter()
    # In row chunks: fresh large arrays are slow to fault in on shared VMs.
    bl = best["lists"]
    X64 = np.empty((K, d))
    moved64 = np.empty(K)
    chunk = max(1, (16 * 2**20) // (8 * d))
    for a in range(0, K, chunk):
        e = min(K, a + chunk)
        x = ops.numpy64(best["X"][a:e])
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        X64[a:e] = x
        r = ops.numpy64(bl["ref"][a:e])
        r /= np.linalg.norm(r, axis=1, keepdims=True)
        r -= x
        moved64[a:e] = np.linalg.norm(r, axis=1)
    W = X64.T                  # (d, K), unit columns (F-ordered: its transpose is the row-major X64)
    pairs = np.stack([ops.index_numpy(bl["I"]), ops.index_numpy(bl["J"])], axis=1)
    value, pair, nrows = exact_max_inner_product(W, pairs=pairs, s=ops.numpy64(bl["s"]), moved=moved64,
                                                 slack=eps32, block_size=block_size)
    P = pairs.shape[0]
    peak = (itemsize * K * d * 7                       # X, ref, best, Adam moments, gradient, temporaries
            + 8 * K * m * 3 + (16 + 3 * itemsize) * P * 2  # lists, pairs, sparse pattern
            + itemsize * block * K * 2                 # one Gram slab and its top-k scratch
            + 8 * K * d * 3)                           # float64 result and certificate
    info = dict(max_inner_product=value, pair=pair, iterations=it, best_iteration=best["iteration"],
                seconds=time.perf_counter() - t0, certify_seconds=time.perf_counter() - tc,
                refreshes=state["refreshes"], refresh_seconds=state["refresh_seconds"], n_neighbors=m,
                pairs=P, rows_recomputed=nrows, device=str(ops.device), backend=ops.name,
                dtype=str(ops.dtype).replace("torch.", ""), peak_bytes_estimate=int(peak),
                peak_device_bytes=ops.memory_peak(), status=status)
    return W, info
