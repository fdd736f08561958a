"""Overlap-penalty basin hopping for Tammes codes.

For a target ``c`` of the max inner product, the overlap energy

    E_c(X) = sum_{i < j} max(0, delta - |x_i - x_j|)^2,   delta = sqrt(2 - 2 c),

of unit vectors ``x_i`` (the columns of ``W``) is zero exactly on the codes with ``max <x_i, x_j> <= c``
(``|x_i - x_j|^2 = 2 - 2 <x_i, x_j>``): a feasibility problem for caps of chord
``delta``.  Minimizing it (:func:`relax`, L-BFGS on the sphere, numba-compiled,
a neighbour list of the pairs within ``1.5 delta``) costs milliseconds where a
trust-region LP polish of the max inner product costs a tenth of a second, so
a restart can try hundreds of moves.  Unlike ``max(0, <x_i, x_j> - c)^2``, whose pull
vanishes as two points meet, the chord penalty pushes nearly coincident points apart
(exactly equal ones have no direction to move in and stay).

:func:`overlap_hops` is monotonic basin hopping on it, after the iterated
dynamic neighbourhood search of Lai et al.: the target sits just below the best
max inner product found so far, a move shifts the codewords of a small cap
(``perturb``), the relaxed code is kept when its energy is lower, and the
target follows every improvement.  The relaxed codes are approximate (their
overlaps are about ``slack (1 - t)``); the restart LP-polishes the result.

Measured (restarts of this search, each LP-polished, for 100 s on one core, seed 0;
the scripts are described in docs/theory.md): the best known value at K = 80 from 22 of 22 restarts,
at K = 95 from 11 of 15; at K = 110, 115 and 125 from none (10, 10 and 7 restarts).

In d = 3 the same search also runs among the codes invariant under a rotation group
(``_hops`` with an :class:`.symmetry.OrbitCode`): the variables are then the free
points, and the energy and its gradient those of the whole code, pulled back
(:func:`_energy_vars`).  Relaxing all K points instead need not stay invariant: an
invariant optimum can be a saddle of the whole energy, and rounding grows off it (a
29-point code under D3, patience 20: an image 0.43 in chord from every codeword).

References
----------
X. Lai, D. Yue, J.-K. Hao, F. Glover, Z. Lü, "Iterated dynamic neighborhood search
for packing equal circles on a sphere", Computers & Operations Research (2023),
doi:10.1016/j.cor.2022.106121 (the method, not code: nothing here is taken from it).
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import njit
from .descent import _expired, max_inner_product

__all__ = ["overlap_energy", "relax", "overlap_hops"]

#: Neighbour-list margin: pairs closer than ``(1 + _SKIN) delta`` are listed, and the list is
#: rebuilt once a point has moved ``_SKIN delta / 2`` since (then no pair can have entered).
_SKIN = 0.5

#: L-BFGS memory (4, 8, 20 and 40 measured at (3, 115): the same iterations, 8 the fastest).
_MEMORY = 8


@njit(cache=True)
def _list_pairs(X, cut2, pairs):
    """Fill ``pairs`` with the index pairs ``i < j`` of rows closer than ``sqrt(cut2)``; return their
    number (which may exceed ``len(pairs)``: then the caller enlarges it and calls again)."""
    K, d = X.shape
    n = 0
    for i in range(K):
        for j in range(i + 1, K):
            r2 = 0.0
            for a in range(d):
                t = X[i, a] - X[j, a]
                r2 += t * t
            if r2 < cut2:
                if n < pairs.shape[0]:
                    pairs[n, 0] = i
                    pairs[n, 1] = j
                n += 1
    return n


@njit(cache=True)
def _pairs_within(X, cut):
    pairs = np.empty((max(16, 16 * X.shape[0]), 2), np.int64)
    n = _list_pairs(X, cut * cut, pairs)
    if n > pairs.shape[0]:
        pairs = np.empty((n, 2), np.int64)
        n = _list_pairs(X, cut * cut, pairs)
    return pairs[:n]


@njit(cache=True)
def _energy_grad(X, delta, G, pairs):
    """``E`` over the listed pairs; ``G`` receives its Riemannian gradient (tangent rows)."""
    K, d = X.shape
    d2 = delta * delta
    E = 0.0
    G[:] = 0.0
    for p in range(pairs.shape[0]):
        i = pairs[p, 0]
        j = pairs[p, 1]
        r2 = 0.0
        for a in range(d):
            t = X[i, a] - X[j, a]
            r2 += t * t
        if r2 < d2:
            r = np.sqrt(r2)
            o = delta - r
            E += o * o
            f = -2.0 * o / max(r, 1e-300)  # coincident points: no direction, no push (measure zero)
            for a in range(d):
                t = f * (X[i, a] - X[j, a])
                G[i, a] += t
                G[j, a] -= t
    for i in range(K):
        s = 0.0
        for a in range(d):
            s += G[i, a] * X[i, a]
        for a in range(d):
            G[i, a] -= s * X[i, a]
    return E


@njit(cache=True)
def _orbit_code(V, mats, fixed, X):
    """``X`` (rows) = the fixed points, then ``mats[g] @ V[j]`` at row ``nf + g h + j``: the layout of
    :meth:`.symmetry.OrbitCode.code` (g-major) for the free points ``V`` (h rows)."""
    nf, h = fixed.shape[0], V.shape[0]
    X[:nf] = fixed
    for g in range(mats.shape[0]):
        for j in range(h):
            for a in range(3):
                s = 0.0
                for b in range(3):
                    s += mats[g, a, b] * V[j, b]
                X[nf + g * h + j, a] = s


@njit(cache=True)
def _energy_vars(V, delta, G, pairs, mats, fixed, X, GX):
    """``E`` and its Riemannian gradient ``G`` in the variables ``V``: the code itself without
    ``mats`` (none given), else the free points of the invariant code ``X`` (:func:`_orbit_code`;
    ``GX`` receives the gradient at ``X``, pulled back as ``sum_g mats[g]^T GX[nf + g h + j]``)."""
    if mats.shape[0] == 0:
        return _energy_grad(V, delta, G, pairs)
    _orbit_code(V, mats, fixed, X)
    E = _energy_grad(X, delta, GX, pairs)
    nf, h = fixed.shape[0], V.shape[0]
    G[:] = 0.0
    for g in range(mats.shape[0]):
        for j in range(h):
            for a in range(3):
                u = GX[nf + g * h + j, a]
                for b in range(3):
                    G[j, b] += mats[g, a, b] * u
    return E


@njit(cache=True)
def _retract(X, P, t, out):
    """``out`` = rows of ``X + t P`` normalized."""
    K, d = X.shape
    for i in range(K):
        s = 0.0
        for a in range(d):
            v = X[i, a] + t * P[i, a]
            out[i, a] = v
            s += v * v
        s = 1.0 / np.sqrt(s)
        for a in range(d):
            out[i, a] *= s


@njit(cache=True)
def _max_moved2(X, X0):
    m = 0.0
    for i in range(X.shape[0]):
        r2 = 0.0
        for a in range(X.shape[1]):
            u = X[i, a] - X0[i, a]
            r2 += u * u
        m = max(m, r2)
    return m


@njit(cache=True)
def _lbfgs(X, delta, max_iter, memory, skin, mats, fixed):
    """Minimize the overlap energy from the rows ``X`` (in place); returns ``(E, iterations)``.

    ``X`` holds the code, or with ``mats`` (shape (n, 3, 3), n > 0) the free points of the
    invariant code of :func:`_orbit_code` (``fixed``: its fixed points, rows).

    L-BFGS (two-loop recursion, stored pairs not transported: the steps are short)
    with an Armijo backtracking search along the normalization retraction; stops at
    ``max_iter``, at ``E <= 1e-28``, when a step no longer lowers ``E`` by a relative
    1e-16, or when the search finds no decrease.
    """
    K, d = X.shape
    n = K * d
    cut = delta * (1.0 + skin)
    # the whole code (empty without mats), its gradient, and its pairs: rotations move every image of
    # a free point as far as the point, so the list is rebuilt on the free points' moves as before
    C = np.empty((fixed.shape[0] + mats.shape[0] * K, d))
    GC = np.empty_like(C)
    if mats.shape[0] > 0:
        _orbit_code(X, mats, fixed, C)
    pairs = _pairs_within(C if mats.shape[0] > 0 else X, cut)
    X0 = X.copy()
    moved2 = (0.5 * delta * skin) ** 2
    S = np.zeros((memory, n))
    Y = np.zeros((memory, n))
    rho = np.zeros(memory)
    alpha = np.zeros(memory)
    G = np.zeros((K, d))
    Gn = np.zeros((K, d))
    Xn = np.empty((K, d))
    E = _energy_vars(X, delta, G, pairs, mats, fixed, C, GC)
    head = 0
    stored = 0
    it = 0
    while it < max_iter and E > 1e-28:
        it += 1
        q = -G.ravel().copy()
        for k in range(stored):
            idx = (head - 1 - k) % memory
            alpha[idx] = rho[idx] * np.dot(S[idx], q)
            q -= alpha[idx] * Y[idx]
        if stored > 0:
            idx = (head - 1) % memory
            q *= np.dot(S[idx], Y[idx]) / np.dot(Y[idx], Y[idx])
        else:
            q *= 1e-2 / max(1e-300, np.sqrt(np.dot(q, q)))
        for k in range(stored - 1, -1, -1):
            idx = (head - 1 - k) % memory
            b = rho[idx] * np.dot(Y[idx], q)
            q += (alpha[idx] - b) * S[idx]
        slope = np.dot(G.ravel(), q)
        if slope >= 0.0:  # not a descent direction: restart from the gradient
            q = -G.ravel().copy()
            slope = -np.dot(q, q)
            stored = 0
        P = q.reshape(K, d)
        t = 1.0
        En = E
        found = False
        for _ in range(40):
            _retract(X, P, t, Xn)
            En = _energy_vars(Xn, delta, Gn, pairs, mats, fixed, C, GC)
            if En <= E + 1e-4 * t * slope:
                found = True
                break
            t *= 0.5
        if not found:
            break
        s = (Xn - X).ravel()
        y = (Gn - G).ravel()
        sy = np.dot(s, y)
        if sy > 1e-300:
            S[head] = s
            Y[head] = y
            rho[head] = 1.0 / sy
            head = (head + 1) % memory
            stored = min(stored + 1, memory)
        X[:] = Xn
        G[:] = Gn
        if _max_moved2(X, X0) > moved2:  # a pair may have come within delta: list again
            if mats.shape[0] > 0:
                _orbit_code(X, mats, fixed, C)
            pairs = _pairs_within(C if mats.shape[0] > 0 else X, cut)
            X0[:] = X
            E = _energy_vars(X, delta, G, pairs, mats, fixed, C, GC)
            continue
        if E - En < 1e-16 * E:
            E = En
            break
        E = En
    return E, it


def _delta(c: float) -> float:
    return float(np.sqrt(max(0.0, 2.0 - 2.0 * c)))


def _check_target(c) -> float:
    from .._validation import check_real

    c = check_real(c, "c")
    if not -1.0 <= c <= 1.0:
        raise ValueError(f"c (a target max inner product) must be in [-1, 1], got {c!r}")
    return c


def overlap_energy(W, c, *, normalize: bool = False) -> float:
    """The overlap energy ``E_c`` of the code ``W`` (module doc).

    Parameters
    ----------
    W : array_like, shape (d, K)
        Unit columns, ``K >= 2``.
    c : float
        Target max inner product, in [-1, 1].
    normalize : bool
        Rescale the columns of ``W`` to unit norm instead of rejecting them.

    Returns
    -------
    float
        ``sum_{i<j} max(0, sqrt(2 - 2c) - |w_i - w_j|)^2``; zero iff ``max <w_i, w_j> <= c``.

    Raises
    ------
    ValueError, TypeError
        ``W`` not a finite (d, K) array of unit columns (a zero column with ``normalize``);
        ``c`` not a real in [-1, 1].
    """
    from .._validation import as_code

    X = np.ascontiguousarray(as_code(W, normalize=normalize, rows_option=False).T)
    delta = _delta(_check_target(c))
    return float(_energy_grad(X, delta, np.zeros_like(X), _pairs_within(X, delta)))


def relax(W, c, *, max_iter: int = 3000, normalize: bool = False):
    """Minimize the overlap energy ``E_c`` from ``W`` (a local minimum).

    Parameters
    ----------
    W : array_like, shape (d, K)
        Unit columns, ``K >= 2`` (the start; not modified).
    c : float
        Target max inner product, in [-1, 1].
    max_iter : int
        L-BFGS iterations allowed (a jammed code of 100 points takes about 1000).
    normalize : bool
        Rescale the columns of ``W`` to unit norm instead of rejecting them.

    Returns
    -------
    W : ndarray, shape (d, K)
        The relaxed code (unit columns).
    energy : float
        Its overlap energy.

    Raises
    ------
    ValueError, TypeError
        As :func:`overlap_energy`; ``max_iter`` not an integer >= 0.
    """
    from .._validation import as_code, check_int

    return _relax(as_code(W, normalize=normalize, rows_option=False), _check_target(c),
                  check_int(max_iter, "max_iter", minimum=0))


def _relax(W, c, max_iter=3000, orbits=None):
    """``(W, E)`` relaxed; with ``orbits`` (an :class:`.symmetry.OrbitCode` of which ``W`` is a code)
    among its invariant codes only: the variables are the free points."""
    max_iter = int(min(max_iter, 2 ** 62))  # numba's int64
    if orbits is None:
        X = np.array(W.T, order="C")
        E, _ = _lbfgs(X, _delta(c), max_iter, _MEMORY, _SKIN, _NO_MATS, np.zeros((0, X.shape[1])))
        return np.ascontiguousarray(X.T), float(E)
    nf = orbits.fixed.shape[1]
    V = np.array(W[:, nf:nf + orbits.h].T, order="C")  # g_1 is the identity
    mats, fixed = np.ascontiguousarray(orbits.group.matrices), np.ascontiguousarray(orbits.fixed.T)
    E, _ = _lbfgs(V, _delta(c), max_iter, _MEMORY, _SKIN, mats, fixed)
    X = np.empty((W.shape[1], 3))
    _orbit_code(V, mats, fixed, X)
    return np.ascontiguousarray(X.T), float(E)


#: ``mats`` of a relaxation without symmetry.
_NO_MATS = np.zeros((0, 3, 3))


def overlap_hops(W: np.ndarray, *, perturb, patience: int, slack: float = 1e-4, deadline=None, stop=None,
                 normalize: bool = False):
    """Monotonic basin hopping on the overlap energy (module doc), from ``W``.

    Parameters
    ----------
    W : array_like, shape (d, K)
        Unit columns, ``K >= 2``, no two equal (any start: it is relaxed first).
    perturb : callable
        ``perturb(W, t) -> X`` (the shape of ``W``; its columns are normalized): a move
        of (a copy of) the code ``W``, whose max inner product is ``t``.
    patience : int
        Stop after this many moves in a row that lowered neither the energy nor the max
        inner product.
    slack : float
        The target is ``t - slack (1 - t)`` for the lowest max inner product ``t``
        met so far: just below every code found, so that the energy ranks codes
        nearly as their max inner product does.  Measured at d = 3, K = 80, 100 s of
        restarts of 200-move patience on one core: the best
        known code after the LP polish from 22 of 22 restarts at 1e-4, 5 of 9 at
        1e-5 (slower moves), 0 of 52 at 1e-3, where a target 8e-5 below ranks basins
        4e-6 apart by their overlaps' sum of squares, not by their largest.
    deadline : float, optional
        ``time.time()`` at which to stop (checked before every move).
    stop : object with ``is_set()``, optional
        Checked before every move.
    normalize : bool
        Rescale the columns of ``W`` to unit norm instead of rejecting them.

    Returns
    -------
    W : ndarray, shape (d, K)
        The code of lowest energy at the last target (the one the moves ended at), not
        polished.
    value : float
        Its max inner product.
    moves : int
        Moves made.

    Raises
    ------
    ValueError, TypeError
        ``W`` as in :func:`overlap_energy` or with two equal columns; ``patience`` not an
        integer >= 0, ``slack`` not in (0, 1), ``deadline`` nan, ``stop`` without
        ``is_set``; ``perturb`` not callable, or returning another shape, a non-finite
        value or a zero column.
    """
    from .._validation import as_code, check_int, check_real

    W = as_code(W, normalize=normalize, rows_option=False)
    patience = check_int(patience, "patience", minimum=0)
    slack = check_real(slack, "slack")
    if not 0.0 < slack < 1.0:
        raise ValueError(f"slack must be in (0, 1), got {slack!r}")
    if not callable(perturb):
        raise TypeError(f"perturb must be callable, got {type(perturb).__name__}")
    if deadline is not None and math.isnan(check_real(deadline, "deadline")):
        raise ValueError("deadline must be a time.time() value or None, got nan")
    if stop is not None and not callable(getattr(stop, "is_set", None)):
        raise TypeError(f"stop must have an is_set() method (a threading.Event), got {type(stop).__name__}")
    return _hops(W, perturb, patience, slack, deadline, stop)


def _hops(W, perturb, patience, slack=1e-4, deadline=None, stop=None, orbits=None):
    """:func:`overlap_hops` on checked arguments; with ``orbits`` (an :class:`.symmetry.OrbitCode`),
    among its invariant codes: ``W`` and every move ``perturb`` returns must be such codes, and the
    relaxations move the free points only (a relaxation of all K points can leave the invariant
    codes: module doc)."""
    from .._validation import as_code

    K = W.shape[1]
    t = max_inner_product(W)
    if t >= 1.0 - 1e-15:  # no direction to push them apart in: the target would stay at 1
        i, j = sorted(np.argwhere(np.triu(W.T @ W, 1) >= t)[0])
        raise ValueError(f"W has coincident columns {i} and {j}; separate them first")
    # a random start is first spread at a target below the optimum for every K (in d = 3 about
    # 1 - 7.3/K, hexagonal caps); a spread start keeps its own max inner product as the target
    X, _ = _relax(W, max(-1.0, min(t, 1.0 - 8.0 / K)), orbits=orbits)
    best = t = max_inner_product(X)
    c = best - slack * (1.0 - best)
    X, E = _relax(X, c, orbits=orbits)
    fails = moves = 0
    while not _expired(deadline, stop):
        # the target follows the code down, without spending moves, until the code overlaps it
        if (t := max_inner_product(X)) < best:
            best = t
            c = best - slack * (1.0 - best)
            X, E = _relax(X, c, orbits=orbits)
            fails = 0
            continue
        if fails >= patience:
            break
        Y = perturb(X.copy(), t)  # a copy: a perturb that works in place cannot change the kept code
        try:
            Y = as_code(Y, normalize=True, name="perturb's output")  # ArgumentTypeError is a ValueError
        except ValueError as exc:
            raise ValueError(f"perturb must return a finite real array of the shape of W {X.shape}: {exc}") from None
        if Y.shape != X.shape:
            raise ValueError(f"perturb must return a finite real array of the shape of W {X.shape}, got {Y.shape}")
        Y, E2 = _relax(Y, c, orbits=orbits)
        moves += 1
        if E2 < E * (1.0 - 1e-9):
            X, E, fails = Y, E2, 0
        else:
            fails += 1
    return X, max_inner_product(X), moves
