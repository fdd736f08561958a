"""Closed-form spherical codes.

Every function returns a code ``W``: a float64 array of shape ``(d, K)`` whose
``K`` columns are unit vectors in ``R^d`` (norms equal to 1 up to rounding,
``|1 - ||w_k||| < 1e-15``).  Each docstring states the exact maximal inner
product ``max_{j != k} <w_j, w_k>`` and the exact one-vs-rest separation
``rho_one_vs_rest(W) = min_k dist(w_k, conv{w_j : j != k})``.

For every code here the one-vs-rest value equals ``1 - max inner product``,
except ``cross_polytope(d, K)`` with ``K <= d`` (orthonormal vectors,
``rho = sqrt(K/(K-1))``).  The inequality ``rho >= 1 - max_ip`` holds for any
code (the hyperplane ``<w_k, x> = max_ip`` separates ``w_k`` from the others);
equality holds for a class whose nearest neighbours have their centroid on
the axis through ``w_k``, which the symmetry of these codes guarantees.

The list follows Table 1 of Cohn & Kumar (2007), "Universally optimal
distribution of points on spheres": the regular polygon, the simplex, the
cross-polytope, the icosahedron, the 600-cell, the E8 root system, the
Schlafli (27 in R^6), Gosset (56 in R^7) and Clebsch (16 in R^5) codes, and the
codes derived from the Leech lattice (Higman-Sims 100 in R^22, McLaughlin
275 in R^22, 112 and 162 in R^21, 891 in R^22, 552 in R^23, 4600 in R^23 and
the 196560 minimal vectors in R^24) and the isotropic-subspace family
(:func:`isotropic_code`, e.g. 325 points in R^52 for q = 4).  All of them are
built from their combinatorial definitions (root systems, the extended binary
Golay code generated from the quadratic-residue polynomial, finite-field
quadrics, strongly regular graphs); no stored coordinates are used.  The 24-cell is
included too (not universally optimal, but the best known 24-point code in R^4).
"""
from __future__ import annotations

import functools
import itertools
from typing import Callable, NamedTuple

import numpy as np

from ._validation import as_generator, check_dims, check_int

__all__ = [
    "polygon",
    "simplex_etf",
    "cross_polytope",
    "icosahedron",
    "cell24",
    "cell600",
    "e8_roots",
    "schlafli27",
    "gosset56",
    "clebsch16",
    "higman_sims100",
    "mclaughlin275",
    "isotropic112",
    "srg162",
    "isotropic891",
    "equiangular552",
    "leech_kissing4600",
    "leech_min_vectors",
    "isotropic_code",
    "named_codes",
    "NamedCode",
]

_PHI = (1.0 + np.sqrt(5.0)) / 2.0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _unit_columns(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return np.ascontiguousarray(X / np.linalg.norm(X, axis=0))


def _intrinsic(X: np.ndarray, rank: int) -> np.ndarray:
    """Coordinates of the columns of ``X`` (n, K) in an orthonormal basis of their span.

    ``rank`` is the known dimension of the span (checked).  The basis comes from
    an SVD, so the result is an isometric copy of the columns of ``X``.
    """
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    tol = s[0] * 1e-10
    r = int(np.sum(s > tol))
    if r != rank:  # pragma: no cover - construction bug
        raise RuntimeError(f"internal error: expected a span of dimension {rank}, got {r}")
    return U[:, :rank].T @ X


def _projector_coordinates(E: np.ndarray, rank: int) -> np.ndarray:
    """Columns of a symmetric projector ``E`` (v, v) of known rank, in coordinates of R^rank.

    An orthonormal basis ``Q`` of the range of ``E`` is obtained from
    ``E @ Omega`` for a fixed Gaussian ``Omega`` (v, rank), so the cost is
    O(v^2 rank) instead of an O(v^3) factorization; ``Q^T E`` is an isometric
    copy of the columns of ``E`` (deterministic: ``Omega`` has a fixed seed).
    """
    omega = np.random.default_rng(0).standard_normal((E.shape[0], rank))
    Q, R = np.linalg.qr(E @ omega)
    if np.min(np.abs(np.diag(R))) < 1e-8 * np.max(np.abs(np.diag(R))):  # pragma: no cover
        raise RuntimeError("internal error: projector range not captured")
    X = Q.T @ E
    resid = np.linalg.norm(E - Q @ X) / np.linalg.norm(E)
    if resid > 1e-10:  # pragma: no cover - construction bug (rank too small)
        raise RuntimeError(f"internal error: projector is not of rank {rank} (residual {resid:.2e})")
    return X


def _haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    Z = rng.standard_normal((d, d))
    Q, R = np.linalg.qr(Z)
    return Q * np.sign(np.diag(R))


def _helmert_basis(K: int) -> np.ndarray:
    """Orthonormal basis (K, K-1) of the hyperplane ``sum x = 0`` in R^K."""
    B = np.zeros((K, K - 1))
    for j in range(1, K):
        B[:j, j - 1] = 1.0
        B[j, j - 1] = -float(j)
        B[:, j - 1] /= np.sqrt(j * (j + 1.0))
    return B


def _neighbour_code(W: np.ndarray, index: int, value: float, rank: int) -> np.ndarray:
    """Derived code: the columns with inner product ``value`` with column ``index``,
    projected onto the orthogonal complement of that column and renormalized."""
    w = W[:, index]
    ip = w @ W
    sel = np.flatnonzero(np.abs(ip - value) < 1e-9)
    X = W[:, sel] - np.outer(w, ip[sel])
    return _unit_columns(_intrinsic(X, rank))


# ---------------------------------------------------------------------------
# elementary families
# ---------------------------------------------------------------------------

def polygon(K) -> np.ndarray:
    """Regular K-gon on the unit circle: ``w_k = (cos(2 pi k/K), sin(2 pi k/K))``.

    Parameters
    ----------
    K : int
        Number of points, ``K >= 2`` (``K = 2`` gives an antipodal pair).

    Returns
    -------
    W : ndarray, shape (2, K)
        Unit columns.  Max inner product ``cos(2 pi / K)``; one-vs-rest value
        ``rho = 1 - cos(2 pi / K)`` (the nearest point of the hull of the others
        is the midpoint of the chord between the two neighbours).  This is the
        Softmax Code for ``d = 2`` (Theorem 3.3).

    Raises
    ------
    ValueError
        If ``K < 2``.
    TypeError
        If ``K`` is not an integer (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    cross_polytope, simplex_etf : the other closed forms of Theorem 3.3.
    spherecodes.bounds.exact_optimum : the optimal value.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.3 (``d = 2``) and Theorem 3.6
    (no rattlers for ``d = 2``).
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.

    Examples
    --------
    >>> from spherecodes import polygon, rho_one_vs_rest
    >>> round(rho_one_vs_rest(polygon(6)), 12)     # 1 - cos(2 pi / 6)
    0.5
    """
    K = check_int(K, "K", minimum=2)
    t = 2.0 * np.pi * np.arange(K) / K
    return _unit_columns(np.vstack([np.cos(t), np.sin(t)]))


def simplex_etf(d, K, *, seed=None) -> np.ndarray:
    """Simplex equiangular tight frame of ``K <= d + 1`` points in R^d (Theorem 3.3).

    ``W = sqrt(K/(K-1)) P (I_K - 1 1^T / K)`` written in coordinates: the centred
    simplex spans a ``(K-1)``-dimensional subspace, so it is embedded through an
    orthonormal basis ``B`` of ``{x in R^K : sum x = 0}`` (Helmert basis) and
    ``W = sqrt(K/(K-1)) Q[:, :K-1] B^T``, with ``Q`` a d x d orthogonal matrix.
    This covers ``K = d + 1`` (where no orthonormal ``P`` with K columns fits in R^d).

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    K : int
        Number of points, ``2 <= K <= d + 1``.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator, keyword-only
        ``None`` (default): ``Q = I`` (the code lives in the first ``K-1``
        coordinates, deterministic).  Otherwise ``Q`` is a Haar-random rotation
        drawn from ``numpy.random.default_rng(seed)``.  The seeds the solvers
        accept (checked by the same function,
        :func:`spherecodes._validation.check_seed`).

    Returns
    -------
    W : ndarray, shape (d, K)
        Unit columns with ``<w_j, w_k> = -1/(K-1)`` for all ``j != k`` (the max
        inner product) and one-vs-rest value ``rho = K/(K-1)``.

    Raises
    ------
    ValueError
        If ``d < 1``, ``K < 2`` or ``K > d + 1`` (no simplex fits); a
        ``seed`` that is negative or neither None, an integer, a
        ``SeedSequence`` nor a ``Generator`` (the solvers' message).
    TypeError
        If ``d`` or ``K`` is not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    polygon, cross_polytope : the other closed forms of Theorem 3.3.
    spherecodes.bounds.exact_optimum : the optimal value ``K/(K-1)``.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.3 (``K <= d + 1``) and
    Theorem 3.6 (no rattlers).
    V. Papyan, X. Y. Han and D. L. Donoho, "Prevalence of neural collapse
    during the terminal phase of deep learning training", PNAS 117 (2020)
    24652-24663 (the simplex ETF of neural collapse).
    """
    d, K = check_dims(d, K)
    if K > d + 1:
        raise ValueError(f"a simplex ETF of K={K} points needs d >= K-1 = {K - 1}, got d={d}")
    B = _helmert_basis(K)  # (K, K-1)
    C = np.sqrt(K / (K - 1.0)) * B.T  # (K-1, K): coordinates of P(I - 11^T/K)
    W = np.zeros((d, K))
    W[: K - 1] = C
    if seed is not None:
        W = _haar_orthogonal(d, as_generator(seed)) @ W
    return _unit_columns(W)


def cross_polytope(d, K=None) -> np.ndarray:
    """The first ``K`` vertices of the cross-polytope in R^d, ordered ``e_1..e_d, -e_1..-e_d``.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    K : int, optional
        Number of vertices, ``2 <= K <= 2d`` (default ``2d``, the full cross-polytope).

    Returns
    -------
    W : ndarray, shape (d, K)
        Unit columns.  Exact values:

        * ``K <= d`` (orthonormal vectors): max inner product 0,
          ``rho = sqrt(K/(K-1))``;
        * ``d + 1 <= K <= 2d`` with ``d >= 2``: max inner product 0 and
          ``rho = 1`` (some ``e_i`` sees ``e_j`` and ``-e_j``, whose midpoint is the
          origin; the hyperplane ``x_i = 0`` separates).  For ``d + 1 < K <= 2d``
          this is the optimum of Theorem 3.3;
        * ``d = 1, K = 2``: the antipodal pair, max inner product -1, ``rho = 2``.

    Raises
    ------
    ValueError
        If ``d < 1``, ``K < 2`` or ``K > 2d``.
    TypeError
        If ``d`` or ``K`` is not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    simplex_etf, polygon : the other closed forms of Theorem 3.3.
    spherecodes.bounds.exact_optimum : the optimal value.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.3 (``d + 1 < K <= 2d``).
    R. A. Rankin, "The closest packing of spherical caps in n dimensions",
    Proc. Glasgow Math. Assoc. 2 (1955) 139-144 (max inner product >= 0 for
    ``K > d + 1``).
    """
    d = check_int(d, "d", minimum=1)
    if K is None:
        K = 2 * d
    K = check_int(K, "K", minimum=2)
    if K > 2 * d:
        raise ValueError(f"a cross-polytope in R^{d} has 2d = {2 * d} vertices, got K={K}")
    V = np.hstack([np.eye(d), -np.eye(d)])
    return np.ascontiguousarray(V[:, :K])


# ---------------------------------------------------------------------------
# exceptional codes in low dimension
# ---------------------------------------------------------------------------

def icosahedron() -> np.ndarray:
    """Vertices of the regular icosahedron: cyclic permutations of ``(0, +-1, +-phi)``.

    Returns
    -------
    W : ndarray, shape (3, 12)
        Unit columns.  Max inner product ``1/sqrt(5)``; one-vs-rest value
        ``rho = 1 - 1/sqrt(5)`` (the five neighbours of a vertex form a regular
        pentagon centred on its axis at height ``1/sqrt(5)``).

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    cell600 : its four-dimensional analogue.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    Generalized Neural Collapse paper, footnote 5 (Softmax Codes and Tammes
    codes checked equal on Table 1 of Cohn & Kumar).
    """
    pts = []
    for s1 in (1.0, -1.0):
        for s2 in (_PHI, -_PHI):
            v = (0.0, s1, s2)
            for r in range(3):
                pts.append(v[-r:] + v[:-r] if r else v)
    return _unit_columns(np.array(pts).T)


def cell24() -> np.ndarray:
    """Vertices of the 24-cell: the 24 roots of D4, permutations of ``(+-1, +-1, 0, 0)/sqrt(2)``.

    Returns
    -------
    W : ndarray, shape (4, 24)
        Unit columns.  Max inner product ``1/2``; one-vs-rest value ``rho = 1/2``
        (the 8 nearest neighbours form a cube centred on the axis at height 1/2).

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    cell600, e8_roots : the other root-system codes.

    References
    ----------
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999). (the D4 root system)
    """
    pts = []
    for i, j in itertools.combinations(range(4), 2):
        for si in (1.0, -1.0):
            for sj in (1.0, -1.0):
                v = np.zeros(4)
                v[i], v[j] = si, sj
                pts.append(v)
    return _unit_columns(np.array(pts).T)


def _even_permutations(n: int):
    for p in itertools.permutations(range(n)):
        inv = sum(1 for a in range(n) for b in range(a + 1, n) if p[a] > p[b])
        if inv % 2 == 0:
            yield p


def cell600() -> np.ndarray:
    """Vertices of the 600-cell (120 points in R^4, the binary icosahedral group).

    8 permutations of ``(+-1, 0, 0, 0)``, 16 points ``(+-1/2, +-1/2, +-1/2, +-1/2)``
    and 96 even permutations of ``(+-phi, +-1, +-1/phi, 0)/2``, ``phi`` the golden ratio.

    Returns
    -------
    W : ndarray, shape (4, 120)
        Unit columns.  Max inner product ``cos(36 deg) = (1 + sqrt 5)/4``;
        one-vs-rest value ``rho = 1 - (1 + sqrt 5)/4`` (the 12 nearest neighbours
        form an icosahedron centred on the axis).

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    icosahedron : the vertex figure.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999).
    """
    pts = []
    for i in range(4):
        for s in (1.0, -1.0):
            v = np.zeros(4)
            v[i] = s
            pts.append(v)
    for signs in itertools.product((0.5, -0.5), repeat=4):
        pts.append(np.array(signs))
    base = np.array([_PHI, 1.0, 1.0 / _PHI, 0.0]) / 2.0
    for perm in _even_permutations(4):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            v = base.copy()
            v[:3] *= signs
            pts.append(v[list(perm)])
    return _unit_columns(np.array(pts).T)


def e8_roots() -> np.ndarray:
    """The 240 roots of E8, normalized: the kissing configuration in R^8.

    112 vectors ``(+-1, +-1, 0^6)`` (all positions and signs) and 128 vectors
    ``(+-1/2)^8`` with an even number of minus signs, divided by ``sqrt 2``.

    Returns
    -------
    W : ndarray, shape (8, 240)
        Unit columns.  Max inner product ``1/2``; one-vs-rest value ``rho = 1/2``
        (the 56 nearest neighbours have their centroid on the axis at height 1/2).

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    gosset56 : its kissing configuration (E7*).

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999). (the E8 root system)
    """
    pts = []
    for i, j in itertools.combinations(range(8), 2):
        for si in (1.0, -1.0):
            for sj in (1.0, -1.0):
                v = np.zeros(8)
                v[i], v[j] = si, sj
                pts.append(v)
    for signs in itertools.product((0.5, -0.5), repeat=8):
        if sum(1 for s in signs if s < 0) % 2 == 0:
            pts.append(np.array(signs))
    return _unit_columns(np.array(pts).T)


@functools.lru_cache(maxsize=1)
def _gosset56() -> np.ndarray:
    # minimal vectors of E7*: in the hyperplane sum x = 0 of R^8, the 28 vectors
    # with two entries 3/4 and six entries -1/4, and their negatives
    pts = []
    for i, j in itertools.combinations(range(8), 2):
        v = np.full(8, -0.25)
        v[i] = v[j] = 0.75
        pts.append(v)
    X = np.array(pts + [-p for p in pts]).T  # (8, 56)
    W = _unit_columns(_helmert_basis(8).T @ X)
    W.setflags(write=False)
    return W


def gosset56() -> np.ndarray:
    """The 56 minimal vectors of the E7* lattice (Gosset polytope 3_21 in R^7).

    In the hyperplane ``sum x = 0`` of R^8: the 28 vectors with two entries
    ``3/4`` and six entries ``-1/4`` and their negatives, written in an
    orthonormal (Helmert) basis of that hyperplane.

    Returns
    -------
    W : ndarray, shape (7, 56)
        Unit columns with inner products in ``{1/3, -1/3, -1}``.  Max inner
        product ``1/3``; one-vs-rest value ``rho = 2/3``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    schlafli27 : derived from it.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999).
    """
    return _gosset56().copy()


def schlafli27() -> np.ndarray:
    """The 27 points of the Schlafli configuration in R^6 (the 27 lines on a cubic surface).

    Derived from :func:`gosset56`: the 27 points with inner product ``1/3`` with
    one fixed point, projected onto its orthogonal complement (R^6) and renormalized.

    Returns
    -------
    W : ndarray, shape (6, 27)
        Unit columns with inner products in ``{1/4, -1/2}`` (16 and 10 per point).
        Max inner product ``1/4``; one-vs-rest value ``rho = 3/4``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    gosset56 : its parent.
    isotropic_code : ``q = 2`` gives the same code.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999).
    """
    return _neighbour_code(_gosset56(), 0, 1.0 / 3.0, 6)


def clebsch16() -> np.ndarray:
    """The 16 points of the halved 5-cube (Clebsch configuration) in R^5.

    The vectors ``(+-1, ..., +-1)/sqrt(5)`` with an even number of minus signs.

    Returns
    -------
    W : ndarray, shape (5, 16)
        Unit columns with inner products in ``{1/5, -3/5}``.  Max inner product
        ``1/5``; one-vs-rest value ``rho = 4/5``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    """
    pts = [s for s in itertools.product((1.0, -1.0), repeat=5) if sum(1 for x in s if x < 0) % 2 == 0]
    return _unit_columns(np.array(pts).T)


# ---------------------------------------------------------------------------
# Golay code, Leech lattice and the derived codes
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _golay_codewords() -> np.ndarray:
    """All 4096 codewords (4096, 24) of the extended binary Golay code.

    Cyclic quadratic-residue code of length 23 generated by
    ``g(x) = 1 + x^2 + x^4 + x^5 + x^6 + x^10 + x^11``, extended by a parity bit.
    """
    g = (0, 2, 4, 5, 6, 10, 11)
    G = np.zeros((12, 24), dtype=np.int64)
    for r in range(12):
        G[r, [r + e for e in g]] = 1
    G[:, 23] = G[:, :23].sum(axis=1) % 2
    msgs = (np.arange(4096)[:, None] >> np.arange(12)) & 1
    C = (msgs @ G) % 2
    C.setflags(write=False)
    return C


@functools.lru_cache(maxsize=1)
def _leech_min_int() -> np.ndarray:
    """The 196560 minimal vectors of the Leech lattice, scaled by sqrt(8): int8 (196560, 24).

    Shapes ``(+-2^8, 0^16)`` on octads with an even number of minus signs,
    ``(-3, 1^23)`` with signs flipped on a Golay codeword, and ``(+-4, +-4, 0^22)``.
    Squared norm 32 (= 4 in the standard scaling).
    """
    C = _golay_codewords()
    octads = C[C.sum(axis=1) == 8].astype(bool)  # (759, 24)
    signs = np.array([s for s in itertools.product((1, -1), repeat=8) if s.count(-1) % 2 == 0], dtype=np.int8)
    shape2 = np.zeros((759 * 128, 24), dtype=np.int8)
    for i, oc in enumerate(octads):
        shape2[i * 128:(i + 1) * 128][:, oc] = 2 * signs
    base = np.ones((24, 24), dtype=np.int8) - 4 * np.eye(24, dtype=np.int8)  # row i: -3 at i
    flip = (1 - 2 * C).astype(np.int8)  # (4096, 24)
    shape3 = (base[:, None, :] * flip[None, :, :]).reshape(-1, 24)
    shape4 = []
    for i, j in itertools.combinations(range(24), 2):
        for si in (4, -4):
            for sj in (4, -4):
                v = np.zeros(24, dtype=np.int8)
                v[i], v[j] = si, sj
                shape4.append(v)
    X = np.vstack([shape2, shape3, np.array(shape4, dtype=np.int8)])
    X.setflags(write=False)
    return X


def leech_min_vectors() -> np.ndarray:
    """The 196560 minimal vectors of the Leech lattice, normalized (kissing configuration in R^24).

    Built from the extended binary Golay code (see the module docstring).

    Returns
    -------
    W : ndarray, shape (24, 196560)
        Unit columns (about 38 MB).  Inner products in ``{+-1, +-1/2, +-1/4, 0}``;
        max inner product ``1/2``; one-vs-rest value ``rho = 1/2``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    leech_kissing4600 : its kissing configuration.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999). (the Leech lattice and the Golay code)
    """
    return np.ascontiguousarray(_leech_min_int().T.astype(np.float64) / np.sqrt(32.0))


@functools.lru_cache(maxsize=1)
def _kissing4600() -> np.ndarray:
    X = _leech_min_int()
    v = X[-1].astype(np.int64)  # (0^22, -4, -4); any minimal vector works
    ip = X.astype(np.int64) @ v
    sel = X[ip == 16].astype(np.float64).T  # <x, v> / 32 = 1/2
    P = sel - np.outer(v, np.full(sel.shape[1], 0.5))
    W = _unit_columns(_intrinsic(P, 23))
    W.setflags(write=False)
    return W


def leech_kissing4600() -> np.ndarray:
    """4600 points in R^23: the kissing configuration of the 196560-point code.

    The Leech minimal vectors with inner product ``1/2`` with a fixed one,
    projected onto its orthogonal complement and renormalized.

    Returns
    -------
    W : ndarray, shape (23, 4600)
        Unit columns with inner products in ``{1/3, 0, -1/3, -1}``.
        Max inner product ``1/3``; one-vs-rest value ``rho = 2/3``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    leech_min_vectors : its parent.
    isotropic891 : derived from it.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999).
    """
    return _kissing4600().copy()


def isotropic891() -> np.ndarray:
    """891 points in R^22 (the isotropic-subspace code of Cohn-Kumar Table 1).

    Derived from :func:`leech_kissing4600`: the points with inner product ``1/3``
    with a fixed one, projected onto its orthogonal complement and renormalized.

    Returns
    -------
    W : ndarray, shape (22, 891)
        Unit columns with inner products in ``{1/4, -1/8, -1/2}``.  Max inner
        product ``1/4``; one-vs-rest value ``rho = 3/4``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    leech_kissing4600 : its parent.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    """
    return _neighbour_code(_kissing4600(), 0, 1.0 / 3.0, 22)


@functools.lru_cache(maxsize=1)
def _equiangular552() -> np.ndarray:
    X = _leech_min_int()
    u = np.ones(24, dtype=np.int64)
    u[0] = 5  # (5, 1^23): a Leech vector of type 3 (norm 6), scaled norm 48
    ip = X.astype(np.int64) @ u
    sel = X[ip == 24].astype(np.float64).T  # <x, u> = 3 in the standard scaling
    P = sel - np.outer(u.astype(np.float64), np.full(sel.shape[1], 0.5))
    W = _unit_columns(_intrinsic(P, 23))
    W.setflags(write=False)
    return W


def equiangular552() -> np.ndarray:
    """552 points in R^23: both unit vectors on each of the 276 equiangular lines.

    The Leech minimal vectors ``x`` with ``<x, u> = 3`` for the type-3 vector
    ``u = (5, 1^23)/sqrt(8)``, i.e. those with ``u - x`` also minimal, shifted
    to ``x - u/2`` and renormalized.

    Returns
    -------
    W : ndarray, shape (23, 552)
        Unit columns with inner products in ``{1/5, -1/5, -1}``.  Max inner
        product ``1/5``; one-vs-rest value ``rho = 4/5``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    leech_min_vectors : its parent.
    mclaughlin275 : derived from it.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999).
    """
    return _equiangular552().copy()


@functools.lru_cache(maxsize=1)
def _mclaughlin275() -> np.ndarray:
    W = _neighbour_code(_equiangular552(), 0, 0.2, 22)
    W.setflags(write=False)
    return W


def mclaughlin275() -> np.ndarray:
    """275 points in R^22 from the McLaughlin graph.

    Derived from :func:`equiangular552`: the points at inner product ``1/5``
    with a fixed one, projected onto its orthogonal complement and renormalized.

    Returns
    -------
    W : ndarray, shape (22, 275)
        Unit columns with inner products in ``{1/6, -1/4}`` (162 and 112 per point).
        Max inner product ``1/6``; one-vs-rest value ``rho = 5/6``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    equiangular552 : its parent.
    srg162, isotropic112 : derived from it.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    """
    return _mclaughlin275().copy()


def srg162() -> np.ndarray:
    """162 points in R^21 (a strongly regular graph code of Cohn-Kumar Table 1).

    The points of :func:`mclaughlin275` at inner product ``1/6`` with a fixed
    one, projected onto its orthogonal complement and renormalized.

    Returns
    -------
    W : ndarray, shape (21, 162)
        Unit columns with inner products in ``{1/7, -2/7}``.  Max inner product
        ``1/7``; one-vs-rest value ``rho = 6/7``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    mclaughlin275 : its parent.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    """
    return _neighbour_code(_mclaughlin275(), 0, 1.0 / 6.0, 21)


def isotropic112() -> np.ndarray:
    """112 points in R^21 (isotropic subspaces of a 4-dim unitary space over GF(9)).

    The points of :func:`mclaughlin275` at inner product ``-1/4`` with a fixed
    one, projected onto its orthogonal complement and renormalized.

    Returns
    -------
    W : ndarray, shape (21, 112)
        Unit columns with inner products in ``{1/9, -1/3}``.  Max inner product
        ``1/9``; one-vs-rest value ``rho = 8/9``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    mclaughlin275 : its parent.
    isotropic_code : ``q = 3`` gives a code with the same inner products.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    """
    return _neighbour_code(_mclaughlin275(), 0, -0.25, 21)


def higman_sims100() -> np.ndarray:
    """100 points in R^22 from the Higman-Sims graph.

    The graph is built from the Steiner system S(3, 6, 22) (octads of the Golay
    code through two fixed points): vertices are a point ``*``, the 22 points
    and the 77 hexads; ``*`` ~ points, point ~ hexad containing it, hexad ~
    disjoint hexad.  The code is the spectral embedding on the eigenvalue
    ``-8`` eigenspace (multiplicity 22) of the adjacency matrix ``A``: the exact
    projector ``E = (A - 2 I)(A - 22 I) / 300`` is factored as ``E = X^T X``.

    Returns
    -------
    W : ndarray, shape (22, 100)
        Unit columns with inner products ``-4/11`` (adjacent vertices) and
        ``1/11`` (non-adjacent).  Max inner product ``1/11``; one-vs-rest value
        ``rho = 10/11``.

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    J. H. Conway and N. J. A. Sloane, *Sphere Packings, Lattices and
    Groups*, 3rd ed., Springer (1999). (the Steiner system S(5, 8, 24) from the Golay code)
    """
    C = _golay_codewords()
    octads = C[C.sum(axis=1) == 8].astype(bool)
    hexads = octads[octads[:, 22] & octads[:, 23]][:, :22]  # (77, 22)
    n = 100
    A = np.zeros((n, n), dtype=np.int64)
    A[0, 1:23] = A[1:23, 0] = 1
    A[1:23, 23:] = hexads.T
    A[23:, 1:23] = hexads
    inter = hexads.astype(np.int64) @ hexads.T.astype(np.int64)
    A[23:, 23:] = inter == 0
    I = np.eye(n, dtype=np.int64)
    E = ((A - 2 * I) @ (A - 22 * I)).astype(np.float64) / 300.0
    return _unit_columns(_projector_coordinates(E, 22))


def _gf4_tables():
    # GF(4) = {0, 1, w, w^2} encoded 0, 1, 2, 3 with w^2 = w + 1; addition is XOR
    mul = np.zeros((4, 4), dtype=np.int64)
    log = {1: 0, 2: 1, 3: 2}
    for a in range(1, 4):
        for b in range(1, 4):
            mul[a, b] = [1, 2, 3][(log[a] + log[b]) % 3]
    return mul


def _elliptic_quadric_graph(q: int) -> np.ndarray:
    """Collinearity graph of the elliptic quadric Q^-(5, q), a generalized quadrangle GQ(q, q^2).

    Points: projective points ``x`` of PG(5, q) with ``Q(x) = 0``, where
    ``Q = x0 x1 + x2 x3 + f(x4, x5)`` and ``f`` is an irreducible binary quadratic
    form; two points are adjacent iff they are distinct and orthogonal for the
    polar form ``B(x, y) = Q(x + y) - Q(x) - Q(y)``.
    """
    vecs = np.array(list(itertools.product(range(q), repeat=6)), dtype=np.int64)[1:]
    first = vecs[np.arange(vecs.shape[0]), np.argmax(vecs != 0, axis=1)]
    vecs = vecs[first == 1]  # one representative per projective point
    if q == 4:
        mul = _gf4_tables()
        m = lambda a, b: mul[a, b]  # noqa: E731
        # f(x4, x5) = x4^2 + x4 x5 + w x5^2: t^2 + t + w has no root in GF(4)
        Qv = (m(vecs[:, 0], vecs[:, 1]) ^ m(vecs[:, 2], vecs[:, 3]) ^ m(vecs[:, 4], vecs[:, 4])
              ^ m(vecs[:, 4], vecs[:, 5]) ^ m(2, m(vecs[:, 5], vecs[:, 5])))
        P = vecs[Qv == 0]
        n = P.shape[0]
        B = np.zeros((n, n), dtype=np.int64)
        for a, b in ((0, 1), (1, 0), (2, 3), (3, 2), (4, 5), (5, 4)):
            B ^= mul[P[:, a][:, None], P[:, b][None, :]]
    else:  # q prime
        if q == 2:
            Qv = (vecs[:, 0] * vecs[:, 1] + vecs[:, 2] * vecs[:, 3] + vecs[:, 4] ** 2 + vecs[:, 4] * vecs[:, 5]
                  + vecs[:, 5] ** 2) % 2
            G = np.array([[0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0],
                          [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0]])
        else:
            squares = {(x * x) % q for x in range(1, q)}
            nsq = min(x for x in range(2, q) if x not in squares)
            diag = np.array([0, 0, 0, 0, 1, -nsq])
            Qv = (vecs[:, 0] * vecs[:, 1] + vecs[:, 2] * vecs[:, 3] + diag[4] * vecs[:, 4] ** 2
                  + diag[5] * vecs[:, 5] ** 2) % q
            G = np.array([[0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0],
                          [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 2, 0], [0, 0, 0, 0, 0, -2 * nsq]])
        P = vecs[Qv == 0]
        B = (P @ G @ P.T) % q
    A = (B == 0).astype(np.int64)
    np.fill_diagonal(A, 0)
    return A


def isotropic_code(q) -> np.ndarray:
    """The isotropic-subspace codes of Cohn-Kumar Table 1, for ``q`` a prime or 4.

    ``(q + 1)(q^3 + 1)`` points in ``R^m`` with ``m = q (q^3 + 1)/(q + 1)``:
    the spectral embedding of the collinearity graph of the generalized
    quadrangle GQ(q, q^2), realized as the singular points of the elliptic
    quadric Q^-(5, q) (equivalently, the totally isotropic lines of the
    Hermitian surface H(3, q^2)).  The graph is strongly regular with
    eigenvalues ``q(q^2+1)``, ``q - 1`` and ``-(q^2 + 1)``; the code is given by
    the exact projector onto the ``-(q^2+1)`` eigenspace (multiplicity ``m``).

    ``q = 2`` gives the Schlafli code (27 in R^6), ``q = 3`` the 112 points in
    R^21, ``q = 4`` 325 points in R^52, ``q = 5`` 756 points in R^105.

    Parameters
    ----------
    q : int
        A prime or 4 (``q <= 7``: the construction enumerates ``q^6`` vectors).

    Returns
    -------
    W : ndarray, shape (q (q^3+1)/(q+1), (q+1)(q^3+1))
        Unit columns with inner products ``-1/q`` (collinear points) and ``1/q^2``
        (non-collinear).  Max inner product ``1/q^2``; one-vs-rest value
        ``rho = 1 - 1/q^2``.

    Raises
    ------
    ValueError
        If ``q`` is not one of 2, 3, 4, 5, 7.
    TypeError
        If ``q`` is not an integer (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    See Also
    --------
    named_codes : every code of this module with its exact max inner product.
    schlafli27, isotropic112 : the cases ``q = 2`` and ``q = 3``.

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    S. E. Payne and J. A. Thas, *Finite Generalized Quadrangles*, Pitman
    (1984) (GQ(q, q^2) as the elliptic quadric Q^-(5, q)).
    """
    q = check_int(q, "q", minimum=2)
    if q not in (2, 3, 4, 5, 7):
        raise ValueError(f"q must be a prime or 4 with q <= 7 (2, 3, 4, 5 or 7), got {q}")
    A = _elliptic_quadric_graph(q)
    v = (q + 1) * (q**3 + 1)
    m = q * (q**3 + 1) // (q + 1)
    if A.shape[0] != v:  # pragma: no cover - construction bug
        raise RuntimeError(f"internal error: expected {v} points, got {A.shape[0]}")
    k, r, s = q * (q * q + 1), q - 1, -(q * q + 1)
    I = np.eye(v)
    Af = A.astype(np.float64)  # integer-valued products below are exact in float64
    E = ((Af - r * I) @ (Af - k * I)) / float((s - r) * (s - k))
    return _unit_columns(_projector_coordinates(E, m))


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------

class NamedCode(NamedTuple):
    """Entry of :func:`named_codes`: ``(build, description, max_inner_product)``.

    ``build()`` returns the code ``W`` of shape ``(d, K)``; for every entry the
    exact one-vs-rest value is ``1 - max_inner_product``.

    See Also
    --------
    named_codes : the registry of these entries.
    """

    build: Callable[[], np.ndarray]
    description: str
    max_inner_product: float


def named_codes(*, max_K: int = 1000) -> dict[str, NamedCode]:
    """Closed-form codes with known exact max inner product, for tests and benchmarks.

    Parameters
    ----------
    max_K : int, keyword-only
        Leave out codes with more than ``max_K`` points (default 1000: keeps
        everything up to the 891-point code; the 4600- and 196560-point codes
        need ``max_K >= 4600`` / ``196560``).

    Returns
    -------
    dict
        ``name -> NamedCode(build, description, max_inner_product)``; unpacks as
        ``build, description, max_ip = codes[name]``.  ``build()`` takes no
        arguments and returns ``W`` of shape ``(d, K)`` with unit columns.  For
        every entry ``rho_one_vs_rest(build()) == 1 - max_ip`` exactly.

    Raises
    ------
    ValueError
        If ``max_K < 2``.
    TypeError
        If ``max_K`` is not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.rho_one_vs_rest : to check ``1 - max_ip`` on a built code.
    spherecodes.compare.compare_cell : Softmax versus Tammes codes for one (d, K).

    References
    ----------
    H. Cohn and A. Kumar, "Universally optimal distribution of points on
    spheres", J. Amer. Math. Soc. 20 (2007) 99-148, Table 1.
    Generalized Neural Collapse paper, footnote 5 (Softmax Codes and Tammes
    codes checked equal on Table 1 of Cohn & Kumar).
    """
    max_K = check_int(max_K, "max_K", minimum=2)
    s5 = np.sqrt(5.0)
    table = [
        ("pentagon", lambda: polygon(5), 5, "regular pentagon, 5 in R^2", np.cos(2 * np.pi / 5)),
        ("heptagon", lambda: polygon(7), 7, "regular heptagon, 7 in R^2", np.cos(2 * np.pi / 7)),
        ("tetrahedron", lambda: simplex_etf(3, 4), 4, "regular simplex, 4 in R^3", -1.0 / 3.0),
        ("simplex11", lambda: simplex_etf(10, 11), 11, "regular simplex ETF, 11 in R^10", -0.1),
        ("octahedron", lambda: cross_polytope(3), 6, "cross-polytope, 6 in R^3", 0.0),
        ("cross16", lambda: cross_polytope(8), 16, "cross-polytope, 16 in R^8", 0.0),
        ("icosahedron", icosahedron, 12, "icosahedron, 12 in R^3", 1.0 / s5),
        ("cell24", cell24, 24, "24-cell (D4 roots), 24 in R^4", 0.5),
        ("cell600", cell600, 120, "600-cell, 120 in R^4", (1.0 + s5) / 4.0),
        ("clebsch16", clebsch16, 16, "halved 5-cube (Clebsch), 16 in R^5", 0.2),
        ("schlafli27", schlafli27, 27, "Schlafli configuration, 27 in R^6", 0.25),
        ("gosset56", gosset56, 56, "E7* minimal vectors (Gosset 3_21), 56 in R^7", 1.0 / 3.0),
        ("e8_roots", e8_roots, 240, "E8 root system, 240 in R^8", 0.5),
        ("isotropic112", isotropic112, 112, "isotropic subspaces, 112 in R^21", 1.0 / 9.0),
        ("srg162", srg162, 162, "strongly regular graph code, 162 in R^21", 1.0 / 7.0),
        ("higman_sims100", higman_sims100, 100, "Higman-Sims graph, 100 in R^22", 1.0 / 11.0),
        ("mclaughlin275", mclaughlin275, 275, "McLaughlin graph, 275 in R^22", 1.0 / 6.0),
        ("isotropic325", lambda: isotropic_code(4), 325, "isotropic subspaces (GQ(4, 16)), 325 in R^52", 1.0 / 16.0),
        ("isotropic891", isotropic891, 891, "isotropic subspaces, 891 in R^22", 0.25),
        ("equiangular552", equiangular552, 552, "276 equiangular lines (both signs), 552 in R^23", 0.2),
        ("leech_kissing4600", leech_kissing4600, 4600, "Leech kissing configuration, 4600 in R^23", 1.0 / 3.0),
        ("leech_min_vectors", leech_min_vectors, 196560, "Leech lattice minimal vectors, 196560 in R^24", 0.5),
    ]
    return {
        name: NamedCode(build, desc, float(ip))
        for name, build, K, desc, ip in table
        if K <= max_K
    }
