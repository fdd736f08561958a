#!/usr/bin/env python
"""Footnote 5 of the paper, done openly: one-vs-rest value of the universally optimal codes.

The paper states that it "numerically verif[ied] the equivalence for all the
cases with d <= 100 in Table 1 of Cohn & Kumar (2007)".  This script builds
every closed-form code of :func:`spherecodes.constructions.named_codes`
(polygons, simplices, cross-polytopes, icosahedron, 24-cell, 600-cell, E8
roots, Schlafli 27, Gosset 56, Clebsch 16 and the Leech-lattice codes),
computes

* ``rho`` = rho one-vs-rest (Definition 2.1) with its certificate
  ``[lower, upper]`` (:func:`spherecodes.hull.one_vs_rest_distances` /
  :func:`spherecodes.hull.distance_to_hull`),
* ``1 - t`` with ``t`` the max inner product (computed, and the exact value
  from the construction),

and reports whether ``rho == 1 - t`` to 1e-9.  For any code
``rho >= 1 - t``; equality means the Tammes bound is tight, i.e. the code's
one-vs-rest separation is the one-vs-one separation ``1 - t`` a Tammes-optimal
code has.

All these codes have a symmetry group that is transitive on the points, so
every class has the same one-vs-rest distance and one class suffices.  For
codes with at most ``--all-classes-max`` points every class is computed anyway
(the output shows that the spread of the distances is at rounding level); for
the larger ones class 0 and ``--sample`` random classes are computed.
``--cvxpy`` adds an independent check of class 0 with a cvxpy (Clarabel) QP
for codes with at most 1000 points.

Outputs ``universal_codes.csv`` and ``universal_codes.md`` in ``--out``.

Example (the committed table)::

    python benchmarks/universal_codes.py --max-K 196560 --cvxpy
"""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import numpy as np

from spherecodes import cli
from spherecodes.constructions import named_codes
from spherecodes.hull import distance_to_hull, one_vs_rest_distances
from spherecodes.formatting import bracket
from spherecodes.io import write_csv_atomic, write_text_atomic

NAME = "universal_codes"
TOL = 1e-9
FIELDS = ["name", "description", "d", "K", "classes", "rho", "rho_lower", "rho_upper", "spread",
          "one_minus_t", "one_minus_t_exact", "difference", "equal", "cvxpy_class0", "time"]


def max_inner_product(W: np.ndarray, rows=None) -> float:
    """Max off-diagonal inner product ``<w_k, w_j>``, ``j != k``, over the classes ``rows`` (default all), blockwise."""
    K = W.shape[1]
    rows = np.arange(K) if rows is None else np.asarray(rows)
    best = -np.inf
    step = max(1, min(len(rows), 4_000_000 // max(K, 1)))
    for a in range(0, len(rows), step):
        idx = rows[a:a + step]
        G = W[:, idx].T @ W
        G[np.arange(len(idx)), idx] = -np.inf
        best = max(best, float(G.max()))
    return best


def cvxpy_distance(v: np.ndarray, A: np.ndarray) -> float:
    """dist(v, conv(columns of A)) as a cvxpy QP (independent of spherecodes.hull)."""
    import cvxpy as cp

    lam = cp.Variable(A.shape[1], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ lam - v)), [cp.sum(lam) == 1])
    prob.solve(solver=cp.CLARABEL)
    return float(np.sqrt(max(prob.value, 0.0)))


def measure(name, build, desc, t_exact, *, all_classes_max, sample, rng, use_cvxpy):
    t0 = time.perf_counter()
    W = np.asarray(build(), dtype=np.float64)
    d, K = W.shape
    if K <= all_classes_max:
        res = one_vs_rest_distances(W)
        dist, lo, up = np.asarray(res.distance), np.asarray(res.lower), np.asarray(res.upper)
        classes = "all"
        t = max_inner_product(W)
    else:
        ks = [0] + sorted(rng.choice(np.arange(1, K), size=min(sample, K - 1), replace=False).tolist())
        dist, lo, up = [], [], []
        for k in ks:
            others = np.delete(W, k, axis=1)
            p = distance_to_hull(W[:, k], others)
            dist.append(p.distance)
            lo.append(p.lower)
            up.append(p.upper)
        dist, lo, up = map(np.asarray, (dist, lo, up))
        classes = "0," + ",".join(str(k) for k in ks[1:]) if len(ks) > 1 else "0"
        t = max_inner_product(W, ks)  # the same for every class when the group is point-transitive
    rho = float(dist.min())
    row = {
        "name": name, "description": desc, "d": d, "K": K, "classes": classes,
        "rho": rho, "rho_lower": float(lo.min()), "rho_upper": float(up.min()),
        "spread": float(dist.max() - dist.min()),
        "one_minus_t": 1.0 - t, "one_minus_t_exact": 1.0 - t_exact,
        "difference": rho - (1.0 - t_exact),
        "equal": bool(abs(rho - (1.0 - t_exact)) <= TOL and abs(t - t_exact) <= TOL),
        "cvxpy_class0": None,
    }
    if use_cvxpy and K <= 1000:
        row["cvxpy_class0"] = cvxpy_distance(W[:, 0], W[:, 1:])
    row["time"] = time.perf_counter() - t0
    return row


def write_markdown(path, rows, command, wall):
    eq = sum(r["equal"] for r in rows)
    lines = [
        "# Footnote 5: universally optimal codes",
        "",
        "Generated by",
        "",
        "```",
        command,
        "```",
        "",
        f"{eq} of {len(rows)} codes have rho one-vs-rest = 1 - t (max inner product t) to {TOL:g}. "
        f"Wall time {wall:.1f} s.",
        "",
        "Every code here has a symmetry group transitive on its points, so one class suffices; "
        "'classes' says which were computed; where all were, the largest spread max_k dist_k - min_k dist_k "
        f"is {max(r['spread'] for r in rows if r['classes'] == 'all') if any(r['classes'] == 'all' for r in rows) else float('nan'):.1e}. "
        "The 24-cell is not universally optimal (Cohn & Kumar 2007) but is included as the best known 24-point code in R^4. "
        "rho_lower/rho_upper is the certificate of the hull solver. "
        "cvxpy: class 0 recomputed with an independent cvxpy/Clarabel QP (accurate to ~1e-8).",
        "",
        "| code | d | K | classes | rho one-vs-rest | certificate | 1 - t (exact) | rho - (1 - t) | equal | cvxpy class 0 |",
        "|---|---:|---:|---|---:|---|---:|---:|:---:|---:|",
    ]
    for r in rows:
        cls = r["classes"] if len(str(r["classes"])) < 20 else f"{len(str(r['classes']).split(','))} sampled"
        cv = "" if r["cvxpy_class0"] is None else f"{r['cvxpy_class0']:.9f}"
        lines.append(
            f"| {r['description']} | {r['d']} | {r['K']} | {cls} | {r['rho']:.15f} "
            f"| {bracket(r['rho_lower'], r['rho_upper'], '.12f')} | {r['one_minus_t_exact']:.15f} "
            f"| {r['difference']:.1e} | {'yes' if r['equal'] else '**no**'} | {cv} |"
        )
    write_text_atomic(path, "\n".join(lines) + "\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = cli.ScriptParser(description="Footnote-5 check on the universally optimal codes.")
    p.add_argument("--out", default="docs/tables", help="output directory (default docs/tables)")
    p.add_argument("--max-K", type=cli._classes, default=1000,
                   help="leave out codes with more points (default 1000; 196560 includes the Leech codes)")
    p.add_argument("--only", type=cli.comma_list(), default=None, help="comma list of code names to run")
    p.add_argument("--all-classes-max", type=cli._nonneg_int, default=1000,
                   help="compute every class for codes up to this many points (default 1000)")
    p.add_argument("--sample", type=cli._nonneg_int, default=3,
                   help="extra random classes for larger codes (default 3)")
    p.add_argument("--cvxpy", action="store_true", help="independent cvxpy check of class 0 (K <= 1000)")
    p.add_argument("--seed", type=cli._nonneg_int, default=0, help="seed for the sampled classes")
    args = p.parse_args(argv)
    codes = named_codes(max_K=args.max_K)
    if args.only:
        unknown = [w for w in args.only if w not in codes]
        if unknown:
            p.error(f"--only: unknown code(s) {', '.join(unknown)}; known: {', '.join(codes)}")
        codes = {k: codes[k] for k in args.only}
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    command = "python benchmarks/universal_codes.py " + " ".join(shlex.quote(a) for a in argv)
    print("All codes below have a point-transitive symmetry group: one class suffices "
          f"(every class is computed anyway when K <= {args.all_classes_max}).")
    t0 = time.perf_counter()
    rows = []
    for name, (build, desc, t_exact) in codes.items():
        r = measure(name, build, desc, t_exact, all_classes_max=args.all_classes_max, sample=args.sample,
                    rng=rng, use_cvxpy=args.cvxpy)
        rows.append(r)
        cv = "" if r["cvxpy_class0"] is None else f"  cvxpy {r['cvxpy_class0']:.9f}"
        print(f"{name:20s} d={r['d']:3d} K={r['K']:6d} classes={str(r['classes'])[:20]:<20s} "
              f"rho={r['rho']:.15f}  1-t={r['one_minus_t_exact']:.15f}  "
              f"{'EQUAL' if r['equal'] else 'DIFFERENT'} ({r['difference']:.1e}){cv}  {r['time']:.1f}s", flush=True)
        write_csv_atomic(out / f"{NAME}.csv", rows, FIELDS)
    wall = time.perf_counter() - t0
    write_markdown(out / f"{NAME}.md", rows, command, wall)
    eq = sum(r["equal"] for r in rows)
    print(f"{eq} of {len(rows)} codes: rho one-vs-rest = 1 - t to {TOL:g}; wall time {wall:.1f} s; "
          f"wrote {out / (NAME + '.csv')}, {out / (NAME + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
