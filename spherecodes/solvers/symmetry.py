"""Codes in R^3 invariant under a rotation group: the search space of symmetric restarts.

Many best known packings on the 2-sphere have a rotation symmetry (the
icosahedral 120-point code, the 130-point code with a five-fold axis), and a
random start almost never lands in their basin: they are one of very many local
optima.  Restricted to codes invariant under a group ``G``, the descent has a
handful of free points and finds them in seconds (measured, one core:
``tammes_code``-style descents of codes invariant under the icosahedral group
reach the best known 120-point code from 20 of 20 random starts, 0.2-0.4 s each;
the free search misses it in 120 s).

A ``G``-invariant code is a union of orbits: *generic* orbits ``G x`` of
``|G|`` points each (``x`` free on the sphere), and *special* orbits of points
on the rotation axes (fewer points, no freedom).  :func:`orbit_decompositions`
lists the ways ``K`` splits into them; :class:`OrbitCode` maps the free points
``X`` (shape (3, h)) to the code and gradients back.

Groups, by name: ``"Cn"`` (cyclic, n-fold axis z), ``"Dn"`` (dihedral: adds the
two-fold axis x), ``"T"``, ``"O"``, ``"I"`` (the rotations of the tetrahedron,
octahedron and icosahedron).  Only rotations: a code whose full symmetry group
also has reflections is still invariant under its rotation subgroup.
"""
from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

import numpy as np

from ..constructions import _PHI

__all__ = ["RotationGroup", "rotation_group", "orbit_decompositions", "OrbitCode", "DEFAULT_GROUPS"]

#: The groups that rotation-symmetric restarts sweep (d = 3), the largest (fewest free points) first.
DEFAULT_GROUPS = ("I", "O", "T", "D6", "D5", "D4", "D3", "D2", "C6", "C5", "C4", "C3", "C2")

#: Largest n of the groups Cn and Dn (building a group takes O(n^2) here).
MAX_N = 120


@dataclass(frozen=True, eq=False)
class RotationGroup:
    """A finite rotation group of R^3.

    Attributes
    ----------
    name : str
    matrices : ndarray, shape (n, 3, 3)
        The n rotations, the identity first.
    special : tuple of ndarray, each of shape (3, m)
        The special orbits (points on rotation axes, ``m < n``), unit columns.
    """

    name: str
    matrices: np.ndarray
    special: tuple

    @property
    def order(self) -> int:
        """``|G|``: the size of a generic orbit."""
        return self.matrices.shape[0]


def _rotation(axis, angle):
    """Rotation by ``angle`` about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    A = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + np.sin(angle) * A + (1.0 - np.cos(angle)) * A @ A


def _closure(generators):
    """Every product of the generators (a finite group), the identity first."""
    found = [np.eye(3)]
    keys = {tuple(np.round(np.eye(3), 8).ravel())}
    frontier = [np.eye(3)]
    while frontier:
        new = []
        for A in frontier:
            for g in generators:
                B = g @ A
                key = tuple(np.round(B, 8).ravel())
                if key not in keys:
                    keys.add(key)
                    found.append(B)
                    new.append(B)
        frontier = new
    return np.array(found)


def _orbit(matrices, v):
    """The distinct points ``g v`` (unit columns, shape (3, m)), in group order."""
    v = np.asarray(v, dtype=float)
    v = v / np.linalg.norm(v)
    points = []
    for p in matrices @ v:
        if all(np.linalg.norm(p - q) > 1e-6 for q in points):
            points.append(p)
    return np.array(points).T


def rotation_group(name: str) -> RotationGroup:
    """The rotation group called ``name``: ``"Cn"``, ``"Dn"`` (2 <= n <= :data:`MAX_N`), ``"T"``, ``"O"`` or ``"I"``.

    Raises
    ------
    ValueError
        An unknown name.
    """
    match = re.fullmatch(r"([CD])([1-9][0-9]{0,5})", name) if isinstance(name, str) else None
    if isinstance(name, str) and (name in ("T", "O", "I") or (match and 2 <= int(match.group(2)) <= MAX_N)):
        return _rotation_group(str(name))
    raise ValueError(f"unknown rotation group {name!r}: expected 'Cn' or 'Dn' (2 <= n <= {MAX_N}), 'T', 'O' or 'I'")


@functools.lru_cache(maxsize=None)
def _rotation_group(name: str) -> RotationGroup:
    match = re.fullmatch(r"([CD])([0-9]+)", name)
    if match:
        n = int(match.group(2))
        gens = [_rotation((0, 0, 1), 2 * np.pi / n)]
        axes = [(0, 0, 1), (0, 0, -1)]  # the poles: orbits of one point each under Cn
        if match.group(1) == "D":
            gens.append(_rotation((1, 0, 0), np.pi))
            # poles (one orbit of 2), and the two kinds of two-fold axes in the equator
            axes = [(0, 0, 1), (1, 0, 0), (np.cos(np.pi / n), np.sin(np.pi / n), 0)]
    elif name == "T":
        gens = [_rotation((0, 0, 1), np.pi), _rotation((1, 1, 1), 2 * np.pi / 3)]
        axes = [(1, 1, 1), (-1, -1, -1), (0, 0, 1)]
    elif name == "O":
        gens = [_rotation((0, 0, 1), np.pi / 2), _rotation((1, 1, 1), 2 * np.pi / 3)]
        axes = [(0, 0, 1), (1, 1, 1), (1, 1, 0)]
    else:  # "I"
        gens = [_rotation((0, 1, _PHI), 2 * np.pi / 5), _rotation((1, 1, 1), 2 * np.pi / 3)]
        axes = [(0, 1, _PHI), (1, 1, 1), (1, 0, 0)]
    matrices = _closure(gens)
    matrices.setflags(write=False)
    special = tuple(_orbit(matrices, a) for a in axes)
    for orb in special:
        orb.setflags(write=False)
    return RotationGroup(name, matrices, special)


def orbit_decompositions(group: RotationGroup, K: int) -> list[tuple[tuple[int, ...], int]]:
    """The ways ``K`` points form a ``group``-invariant code.

    Returns
    -------
    list of (special, h)
        ``special``: indices into ``group.special`` (each special orbit at most once),
        ``h``: the number of generic orbits, with
        ``sum(len of special orbits) + h * group.order == K`` and ``h >= 1``.
    """
    sizes = [orb.shape[1] for orb in group.special]
    out = []
    for r in range(len(sizes) + 1):
        for subset in itertools.combinations(range(len(sizes)), r):
            rest = K - sum(sizes[i] for i in subset)
            if rest >= group.order and rest % group.order == 0:
                out.append((subset, rest // group.order))
    return out


class OrbitCode:
    """The code ``[F, g_1 X, ..., g_n X]`` of the special orbits ``F`` and the orbits of the columns of ``X``.

    Parameters
    ----------
    group : RotationGroup
    special : sequence of int
        Indices into ``group.special``.
    h : int
        Number of generic orbits (the columns of ``X``).
    """

    def __init__(self, group: RotationGroup, special, h: int):
        self.group = group
        self.h = int(h)
        parts = [group.special[i] for i in special]
        self.fixed = np.concatenate(parts, axis=1) if parts else np.zeros((3, 0))
        self.K = self.fixed.shape[1] + group.order * self.h
        # One representative per orbit (the first point of each special orbit; X itself, as
        # g_1 is the identity) and the orbit sizes: every row of the Gram matrix of an invariant
        # code is a permutation of a representative's row.
        starts = np.cumsum([0] + [p.shape[1] for p in parts])
        nf = self.fixed.shape[1]
        self._reps = np.concatenate([starts[:-1], nf + np.arange(self.h)]).astype(np.int64)
        self._sizes = np.array([p.shape[1] for p in parts] + [group.order] * self.h, dtype=float)

    def __repr__(self):
        return f"OrbitCode({self.group.name}, fixed={self.fixed.shape[1]}, h={self.h})"

    def code(self, X: np.ndarray) -> np.ndarray:
        """The full code, shape (3, K), from the free points ``X`` (3, h)."""
        moved = np.einsum("gij,jh->igh", self.group.matrices, X).reshape(3, -1)
        return np.concatenate([self.fixed, moved], axis=1)

    def max_and_gradient(self, X: np.ndarray, beta: float) -> tuple[float, np.ndarray]:
        """Max inner product of the code and the gradient in ``X`` of its log-sum-exp smoothing.

        The same as ``pullback`` of :func:`.descent.lse_max_inner`'s gradient at ``code(X)``,
        from the representatives' rows of the Gram matrix only (one row per orbit instead
        of K): the gradient at a point ``g x`` is ``g`` times that at ``x``, so the
        pullback is ``|G|`` times the gradient at ``x``.

        Returns
        -------
        t : float
            ``max_{i != j} <c_i, c_j>`` of ``C = code(X)``, over the representatives' rows (to
            rounding the max of the whole code; :func:`.descent.lse_descent` recomputes the
            value it returns).
        grad : ndarray, shape (3, h)
            Euclidean gradient in ``X`` of ``(1/beta) log sum_{i != j} exp(beta <c_i, c_j>)``.
        """
        C = self.code(X)
        R = C[:, self._reps].T @ C
        R[np.arange(len(self._reps)), self._reps] = -np.inf
        t = float(R.max())
        E = np.exp(beta * (R - t))
        total = self._sizes @ E.sum(axis=1)  # the sum over all K (K - 1) pairs
        free = E[len(self._reps) - self.h:]
        return t, (2.0 * self.group.order / total) * (C @ free.T)

    def pullback(self, grad: np.ndarray) -> np.ndarray:
        """The gradient in ``X`` (3, h) of a function of the code, from its gradient ``grad`` (3, K)."""
        n = self.group.order
        moved = grad[:, self.fixed.shape[1]:].reshape(3, n, self.h)
        return np.einsum("gji,jgh->ih", self.group.matrices, moved)
