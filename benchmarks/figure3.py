#!/usr/bin/env python
"""Figure 3 analog: the Softmax Code optimum at K = 1000 against the feature dimension d.

The paper's Figure 3 (ResNet-50 on ImageNet, K = 1000) plots
``max_W rho_one_vs_rest(W)`` and its Theorem 3.9 bounds against d.  This script
does the geometric half for d in ``--d`` (default 8 to 512):

* d with a closed form (Theorem 3.3: K <= 2 d here): the exact optimum;
* otherwise :func:`spherecodes.softmax_code` time-boxed by ``--time-limit`` (one core,
  ``executor="serial"``).  Its rho is certified by the hull kernel (the certificate's
  lower end is printed), and is a **lower bound** on the optimum only: the search is
  time-limited, which the table says in every such row;
* the Theorem 3.9 lower and upper bounds (:func:`spherecodes.bounds.theorem39_bounds`),
  with a check that the certified value does not exceed the upper bound.

Rows go to ``--out/figure3.csv`` as they finish (resumable: rows already there with the
same ``--time-limit`` are kept), with ``figure3.md`` and ``figure3.png``.

Usage::

    python benchmarks/figure3.py --time-limit 60 --seed 0 --out docs/tables/figure3
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

from spherecodes import cli

FIELDS = ["d", "K", "source", "rho", "certified_lower", "bound_lower", "bound_upper", "within_bounds", "seconds",
          "status", "message"]


def run_cell(d: int, K: int, time_limit: float, seed: int) -> dict:
    """One d: exact optimum or a time-limited certified search, with the Theorem 3.9 bounds."""
    import spherecodes as sc
    from spherecodes.bounds import exact_optimum, theorem39_bounds

    b = theorem39_bounds(d, K, warn=False)
    t0 = time.perf_counter()
    exact = exact_optimum(d, K)
    if exact is not None:
        rho, lower, source, status, message = exact, exact, "exact (Thm 3.3)", "closed_form", ""
    else:
        code = sc.softmax_code(d, K, seed=seed, time_limit=time_limit, executor="serial")
        rho = code.rho_one_vs_rest
        lower = code.rho_lower
        source, status, message = f"search, {time_limit:g} s limit", code.status, code.message
    return {"d": d, "K": K, "source": source, "rho": rho, "certified_lower": lower, "bound_lower": b.lower,
            "bound_upper": b.upper, "within_bounds": "yes" if lower <= b.upper else "NO",
            "seconds": round(time.perf_counter() - t0, 1), "status": status, "message": message}


def markdown(rows, command: str) -> str:
    from spherecodes.formatting import round_down, round_up

    lines = [f"`{command}`", "",
             "| d | K | rho one-vs-rest | certified lower end | Thm 3.9 lower | Thm 3.9 upper | source | seconds |",
             "|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        lines.append(f"| {r['d']} | {r['K']} | {float(r['rho']):.10f} | {round_down(float(r['certified_lower']))} | "
                     f"{round_down(float(r['bound_lower']), '.6g')} | {round_up(float(r['bound_upper']), '.6g')} "
                     f"| {r['source']} | "
                     f"{float(r['seconds']):.1f} |")
    lines += ["", "Rows marked *search* are time-limited searches: their value is a certified lower bound on "
              "the optimum, not the optimum."]
    return "\n".join(lines) + "\n"


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spherecodes.bounds import theorem39_bounds
    from spherecodes.io import atomic_path

    K = int(rows[0]["K"])
    ds = sorted(int(r["d"]) for r in rows)
    grid = sorted(set(range(ds[0], ds[-1] + 1, max(1, (ds[-1] - ds[0]) // 200))) | set(ds))
    bounds = [theorem39_bounds(d, K, warn=False) for d in grid]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(grid, [b.lower for b in bounds], [b.upper for b in bounds], color="0.85",
                    label="Theorem 3.9 bounds")
    by_d = {int(r["d"]): r for r in rows}
    exact = [d for d in ds if by_d[d]["status"] == "closed_form"]
    search = [d for d in ds if d not in exact]
    ax.plot(ds, [float(by_d[d]["rho"]) for d in ds], "-", color="C0", lw=1)
    ax.plot(search, [float(by_d[d]["rho"]) for d in search], "o", color="C0", label="search (certified lower bound)")
    ax.plot(exact, [float(by_d[d]["rho"]) for d in exact], "s", color="C3", label="exact (Theorem 3.3)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("feature dimension d")
    ax.set_ylabel(r"$\max_W \rho_{\mathrm{one\text{-}vs\text{-}rest}}(W)$")
    ax.set_title(f"K = {K} classes (Figure 3 analog)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    from spherecodes.formatting import bracket, round_down
    from spherecodes.io import merge_csv_atomic, write_text_atomic

    ap = cli.ScriptParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--K", type=cli._classes, default=1000, help="number of classes (default 1000)")
    ap.add_argument("--d", type=cli.comma_list(cli._positive_int), default="8,16,32,64,128,256,512",
                    help="comma-separated dimensions (default 8..512)")
    ap.add_argument("--time-limit", type=cli._positive_float, default=60.0, help="seconds per search (default 60)")
    ap.add_argument("--seed", type=cli._nonneg_int, default=0, help="solver seed (default 0)")
    ap.add_argument("--out", default="out/figure3", help="output folder (default out/figure3)")
    args = ap.parse_args(argv)
    ds = args.d
    if min(ds) < 2:
        ap.error("--d values must be >= 2")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "figure3.csv"
    key = lambda r: (int(r["K"]), int(r["d"]))  # noqa: E731
    rows = merge_csv_atomic(csv_path, [], FIELDS, key)
    done = {key(r) for r in rows if r["status"] == "closed_form" or r["source"].endswith(f"{args.time_limit:g} s limit")}
    print(f"# figure3: K = {args.K}, d = {ds}, time_limit {args.time_limit:g} s, cpu_count {os.cpu_count()}",
          flush=True)
    for d in ds:
        if (args.K, d) in done:
            continue
        r = run_cell(d, args.K, args.time_limit, args.seed)
        print(f"d = {d:4d}: rho {r['rho']:.10f} (certified >= {round_down(r['certified_lower'])}), Thm 3.9 "
              f"{bracket(r['bound_lower'], r['bound_upper'], '.6g')}, {r['source']}, {r['seconds']} s", flush=True)
        rows = merge_csv_atomic(csv_path, [{k: str(v) for k, v in r.items()}], FIELDS, key)
    rows = [r for r in rows if int(r["K"]) == args.K and int(r["d"]) in ds]
    command = "python benchmarks/figure3.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    write_text_atomic(out / "figure3.md", markdown(rows, command))
    plot(rows, out / "figure3.png")
    bad = [r["d"] for r in rows if r["within_bounds"] != "yes"]
    print(f"# {len(rows)} rows; outside the Theorem 3.9 upper bound: {bad or 'none'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
