#!/usr/bin/env python
"""Make the pictures of the user guide (committed under docs/images/).

* ``one_vs_rest_vs_one_vs_one.png``: the paper's Figure 1 redrawn: (a, b) the
  one-vs-rest distance of w_1 to conv{w_2, w_3, w_4} for 4 points in the plane,
  uniform and non-uniform; (c) the one-vs-one distance of w_1 to its nearest
  neighbour.
* ``softmax_code_sphere.png``: a Softmax Code of K = 8 points on the sphere in
  R^3 (found from random starts by :func:`spherecodes.softmax_code`), with its
  convex hull and, for one class, the nearest point of the hull of the others.
* ``plot_icosahedron.png``: :func:`spherecodes.plot_code` of the icosahedron
  (what ``spherecodes plot`` and ``SphereCode.plot`` draw).

Usage::

    python docs/make_figures.py [--out docs/images] [--seed 0]
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

from spherecodes.hull import distance_to_hull, one_vs_rest_distances
from spherecodes.io import write_bytes_atomic


def _save(fig, path: Path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    write_bytes_atomic(path, buf.getvalue())


def figure1(path: Path):
    import matplotlib.pyplot as plt

    configs = {
        "(a) Case 1: uniform": np.deg2rad([0, 90, 180, 270]),
        "(b) Case 2: non-uniform": np.deg2rad([0, 60, 180, 240]),
        "(c) one-vs-one distance": np.deg2rad([0, 60, 180, 240]),
    }
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    t = np.linspace(0, 2 * np.pi, 400)
    for ax, (title, ang) in zip(axes, configs.items()):
        W = np.vstack([np.cos(ang), np.sin(ang)])
        ax.plot(np.cos(t), np.sin(t), color="0.8", lw=1)
        for k in range(4):
            ax.annotate("", xy=W[:, k], xytext=(0, 0),
                        arrowprops=dict(arrowstyle="-|>", color="tab:red" if k == 0 else "tab:blue", lw=1.6))
            ax.text(*(1.15 * W[:, k]), f"$w_{k + 1}$", ha="center", va="center", fontsize=11)
        if title.startswith("(c)"):
            G = W[:, 1:].T @ W[:, 0]
            j = 1 + int(np.argmax(G))
            ax.plot(*np.c_[W[:, 0], W[:, j]], color="tab:green", lw=2.5)
            dist = np.linalg.norm(W[:, 0] - W[:, j])
            ax.set_title(f"{title}\n$\\|w_1 - w_{j + 1}\\|$ = {dist:.3f}", fontsize=10)
        else:
            rest = W[:, 1:]
            hull = np.c_[rest, rest[:, :1]]
            ax.fill(*rest, color="tab:blue", alpha=0.12)
            ax.plot(*hull, color="tab:blue", lw=1)
            pr = distance_to_hull(W[:, 0], rest)
            ax.plot(*np.c_[W[:, 0], pr.point], color="tab:green", lw=2.5)
            ax.plot(*pr.point, "o", color="tab:green", ms=4)
            ax.set_title(f"{title}\ndist($w_1$, conv{{$w_2,w_3,w_4$}}) = {pr.distance:.3f}", fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlim(-1.35, 1.35)
        ax.set_ylim(-1.35, 1.35)
        ax.axis("off")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def sphere_figure(path: Path, seed: int):
    import matplotlib.pyplot as plt
    from scipy.spatial import ConvexHull

    from spherecodes.solvers import softmax_code

    K = 8
    code = softmax_code(3, K, seed=seed, restarts=8, executor="serial")
    W = np.asarray(code.W)
    res = one_vs_rest_distances(W)
    k = int(np.argmin(res.distance))
    fig = plt.figure(figsize=(6, 6))
    ax = fig.add_subplot(projection="3d")
    u, v = np.mgrid[0:2 * np.pi:40j, 0:np.pi:20j]
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.4)
    hull = ConvexHull(W.T)
    for simplex in hull.simplices:
        tri = W[:, list(simplex) + [simplex[0]]]
        ax.plot(*tri, color="tab:blue", lw=0.8, alpha=0.7)
    ax.scatter(*W, color="tab:blue", s=40, depthshade=False)
    ax.scatter(*W[:, [k]], color="tab:red", s=70, depthshade=False)
    p = res.nearest[:, k]
    ax.plot(*np.c_[W[:, k], p], color="tab:green", lw=3)
    ax.scatter(*p[:, None], color="tab:green", s=25, depthshade=False)
    ax.set_title(f"A Softmax Code, K = {K} in $R^3$: $\\rho_{{one-vs-rest}}$ = {code.rho_one_vs_rest:.6f}\n"
                 f"(red: class {k}; green: its distance to the hull of the others)", fontsize=10)
    ax.set_box_aspect((1, 1, 1))
    ax.set_axis_off()
    _save(fig, path)
    plt.close(fig)
    return code


def code_plot(path: Path):
    from spherecodes import icosahedron, plot_code

    plot_code(icosahedron(), path=path, dpi=90, title="spherecodes.plot_code(icosahedron())")


def main(argv=None):
    p = argparse.ArgumentParser(description="Make the user-guide figures.")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "images"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    figure1(out / "one_vs_rest_vs_one_vs_one.png")
    code = sphere_figure(out / "softmax_code_sphere.png", args.seed)
    code_plot(out / "plot_icosahedron.png")
    print(f"wrote {out / 'one_vs_rest_vs_one_vs_one.png'} and {out / 'softmax_code_sphere.png'} "
          f"(K=8 Softmax Code: rho = {code.rho_one_vs_rest:.12f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
