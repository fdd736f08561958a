"""Pictures of a code: the sphere itself for d = 2 and 3, the Gram matrix and the one-vs-rest distances for any d.

:func:`plot_code` draws on a :class:`matplotlib.figure.Figure` created
directly (no ``pyplot``, no GUI backend: the Agg canvas renders it), so it
works on headless machines and inside worker processes.  :meth:`SphereCode.plot
<spherecodes.SphereCode.plot>` and ``spherecodes plot FILE`` call it.

Panels:

* d = 3: the codewords on the unit sphere, coloured by their one-vs-rest
  distance (Definition 2.1), rattlers (Definition 3.4) hollow, the edges of
  their convex hull drawn as great-circle arcs (the spherical Delaunay
  triangulation), and the worst class joined to its nearest point of the
  hull of the others -- the segment whose length is ``rho_one_vs_rest``;
* d = 2: the same on the unit circle;
* any d: the Gram matrix ``<w_i, w_j>`` as a heat map (the first
  ``max_gram`` classes when K is larger), and a histogram of the K
  one-vs-rest distances with ``rho_one_vs_rest`` marked.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._validation import as_code, check_int

__all__ = ["plot_code", "save_figure", "FIGURE_SUFFIXES"]

#: Largest resolution accepted (a 15-inch figure at 1200 dpi is 18000 pixels wide).
MAX_DPI = 1200
#: File types :func:`save_figure` writes.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def plot_code(W, *, layout: str = "columns", normalize: bool = False, one_vs_rest=None, title: str | None = None,
              hull: bool = True, max_gram: int = 1000, path=None, dpi: int = 150):
    """Draw a code: sphere view (d = 2, 3), Gram-matrix heat map and one-vs-rest histogram.

    Parameters
    ----------
    W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
        The code, unit vectors (numpy or torch).
    layout : {"columns", "rows"}, keyword-only
        Codewords as columns (default) or rows.
    normalize : bool, keyword-only
        Rescale the codewords to unit norm instead of rejecting them.
    one_vs_rest : OneVsRest, optional, keyword-only
        A result of :func:`spherecodes.one_vs_rest_distances` for this code,
        to avoid recomputing it.
    title : str, optional, keyword-only
        Figure title (default: ``"K classes in R^d"`` and rho).
    hull : bool, keyword-only
        Draw the hull edges and the worst class's nearest hull point in the sphere view.
    max_gram : int, keyword-only
        Largest number of classes shown in the Gram heat map (the first ones).
    path : str or path-like, optional, keyword-only
        Also save the figure there, atomically (``.png``, ``.svg`` or ``.pdf``).
    dpi : int, keyword-only
        Resolution of a saved PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Invalid ``W`` (see :func:`spherecodes.one_vs_rest_distances`), or a
        ``path`` with another suffix.

    See Also
    --------
    spherecodes.SphereCode.plot, spherecodes.one_vs_rest_distances
    """
    from matplotlib.figure import Figure

    from .hull import one_vs_rest_distances
    from .measures import _check_result_matches, rattlers_from_distances

    W = as_code(W, normalize=normalize, layout=layout)
    max_gram = check_int(max_gram, "max_gram", minimum=2)
    dpi = check_int(dpi, "dpi", minimum=10)
    if dpi > MAX_DPI:
        raise ValueError(f"dpi must be <= {MAX_DPI}, got {dpi}")
    if path is not None:
        _check_suffix(path)
    if one_vs_rest is None:
        res = one_vs_rest_distances(W)
    else:
        _check_result_matches(one_vs_rest, W)
        res = one_vs_rest
    nearest = res.nearest if res.layout == "columns" else res.nearest.T
    d, K = W.shape
    sphere = d in (2, 3)
    fig = Figure(figsize=(15.0 if sphere else 10.5, 4.8), layout="constrained")
    n = 3 if sphere else 2
    if d == 3:
        _sphere_panel(fig.add_subplot(1, n, 1, projection="3d"), W, res.distance, nearest, hull)
    elif d == 2:
        _circle_panel(fig.add_subplot(1, n, 1), W, res.distance, nearest, hull)
    _gram_panel(fig, fig.add_subplot(1, n, n - 1), W, max_gram)
    _histogram_panel(fig.add_subplot(1, n, n), res.distance, rattlers_from_distances(res.distance, 1e-6, res.solved))
    fig.suptitle(title if title is not None else
                 f"{K} classes in R^{d}:  rho one-vs-rest = {res.rho:.10g}")
    if path is not None:
        save_figure(fig, path, dpi=dpi)
    return fig


def _check_suffix(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise ValueError(f"path must end in {', '.join(FIGURE_SUFFIXES)}, got {str(path)!r}")
    return suffix


def save_figure(fig, path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (``.png``, ``.svg`` or ``.pdf``) atomically: a reader never sees half a file."""
    from .io import atomic_path

    suffix = _check_suffix(path)
    with atomic_path(path, suffix=suffix) as tmp:
        fig.savefig(tmp, format=suffix[1:], dpi=dpi)
    return Path(path)


def _colors(dist):
    from matplotlib import colormaps

    lo, hi = float(dist.min()), float(dist.max())
    equal = hi - lo <= 1e-9 * max(hi, 1e-300)         # rounding-level differences are not shown
    t = np.zeros_like(dist) if equal else (dist - lo) / (hi - lo)
    return colormaps["viridis"](t)


def _arc(a, b, n=24):
    """Points of the great-circle arc from unit vector ``a`` to ``b`` (shape (3, n))."""
    omega = np.arccos(np.clip(a @ b, -1.0, 1.0))
    if omega < 1e-9:
        return np.stack([a, b], axis=1)
    t = np.linspace(0.0, 1.0, n)
    return (np.outer(a, np.sin((1 - t) * omega)) + np.outer(b, np.sin(t * omega))) / np.sin(omega)


def _hull_edges(W):
    """Edges of the convex hull of the columns of a (3, K) code, or none when it is flat."""
    from scipy.spatial import ConvexHull, QhullError

    if W.shape[1] < 4:
        return []
    try:
        simplices = ConvexHull(W.T).simplices
    except (QhullError, ValueError):
        return []
    edges = {tuple(sorted((int(s[i]), int(s[j])))) for s in simplices for i, j in ((0, 1), (1, 2), (0, 2))}
    return sorted(edges)


def _sphere_panel(ax, W, dist, nearest, hull):
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 37), np.linspace(0, np.pi, 19))
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", linewidth=0.4)
    if hull:
        for i, j in _hull_edges(W):
            x, y, z = _arc(W[:, i], W[:, j])
            ax.plot(x, y, z, color="0.45", linewidth=0.8)
        k = int(np.argmin(dist))
        ax.plot(*np.stack([W[:, k], nearest[:, k]], axis=1), color="crimson", linewidth=2.0,
                label=f"rho = dist(w_{k}, hull of the rest)")
        ax.legend(loc="lower left", fontsize=8)
    ax.scatter(*W, c=_colors(dist), s=40, depthshade=False, edgecolors="black", linewidths=0.5)
    ax.set_box_aspect((1, 1, 1))
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_ticks([-1, 0, 1])
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_zlim(-1, 1)
    ax.set_title("codewords on the sphere (colour: one-vs-rest distance)", fontsize=10)


def _circle_panel(ax, W, dist, nearest, hull):
    t = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(t), np.sin(t), color="0.8", linewidth=0.8)
    order = np.argsort(np.arctan2(W[1], W[0]))
    if hull and W.shape[1] >= 3:
        ring = np.append(order, order[0])
        ax.plot(W[0, ring], W[1, ring], color="0.45", linewidth=0.8)
    if hull:
        k = int(np.argmin(dist))
        ax.plot([W[0, k], nearest[0, k]], [W[1, k], nearest[1, k]], color="crimson", linewidth=2.0,
                label=f"rho = dist(w_{k}, hull of the rest)")
        ax.legend(loc="lower left", fontsize=8)
    ax.scatter(W[0], W[1], c=_colors(dist), s=40, edgecolors="black", linewidths=0.5, zorder=3)
    ax.set_aspect("equal")
    ax.set_title("codewords on the circle (colour: one-vs-rest distance)", fontsize=10)


def _gram_panel(fig, ax, W, max_gram):
    K = W.shape[1]
    m = min(K, max_gram)
    G = W[:, :m].T @ W[:, :m]
    im = ax.imshow(G, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.85)
    ax.set_title("Gram matrix <w_i, w_j>" + (f" (first {m} of {K} classes)" if m < K else ""), fontsize=10)
    ax.set_xlabel("class j")
    ax.set_ylabel("class i")


def _histogram_panel(ax, dist, rattlers):
    K = dist.size
    rho = float(dist.min())
    lo, hi = rho, float(dist.max())
    span = hi - lo
    if span <= 1e-9 * max(hi, 1e-300):                 # all classes at the minimum (no rattlers)
        rng = (lo - max(0.05 * lo, 1e-12), hi + max(0.05 * hi, 1e-12))
        bins = 21
    else:
        rng = (lo - 0.02 * span, hi + 0.02 * span)
        bins = int(min(60, max(10, np.sqrt(K))))
    ax.hist(dist, bins=bins, range=rng, color="steelblue", edgecolor="white")
    ax.axvline(rho, color="crimson", linewidth=1.5, label=f"rho one-vs-rest = {rho:.8g}")
    ax.set_xlabel("one-vs-rest distance dist(w_k, conv{w_j : j != k})")
    ax.set_ylabel("classes")
    ax.set_title(f"{K} classes, {len(rattlers)} rattlers (Def. 3.4)", fontsize=10)
    ax.legend(fontsize=8)
