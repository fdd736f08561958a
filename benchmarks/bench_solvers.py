#!/usr/bin/env python
"""Do the solvers reach the best known codes within a time budget, and beat the 40-line baseline?

For every cell (d, K, seed), in one worker process and one after the other:

* the solver with ``time_limit=T`` (default 120 s, used whole): for cells with a
  published best-known Tammes value (``shared/reference/``) :func:`spherecodes.tammes_code`,
  else :func:`spherecodes.softmax_code`;
* the projected-Adam log-sum-exp baseline (``adam_baseline.py``) given the seconds the
  solver took.

Both run on one core (the solver with ``executor="serial"``), so ``--workers 2`` runs
two cells side by side on a 2-core machine.

Printed per cell: the best value of each (max inner product, or rho one-vs-rest for
Softmax cells, the baseline's rho computed exactly by the hull kernel), the best known
value, ``hit``/``MISS`` (within 1e-9, or half a unit of the last digit of a value
published to fewer digits: :func:`published.reach_tolerance`), the time until a restart
(or the endgame's fine hops, :func:`spherecodes.solvers.multistart.fine_hops`) first
reached the best known value (within that tolerance where restarts LP-polish, else
within 1e-4, the descent's basin; where only the final polish reached it, the wall
time), the wall time and the overshoot past ``T``.  The last line counts hits, misses, cells ahead of the baseline
and the largest overshoot.

With ``--until-hit`` a solve stops (through its ``progress`` callback) once a restart
reaches the best known basin; the final polish still runs and the baseline gets the
seconds the solver used, so the comparison stays at equal time while cells that hit
early cost seconds instead of the whole budget.

Rows go to ``--out/bench_solvers.csv`` as cells finish (atomic rewrite); a rerun with
the same ``--out`` skips the cells already there.  Cells run through an Executor
(``--workers``; 1 = in this process; give each cell a core of its own for timing).

Usage::

    python benchmarks/bench_solvers.py                      # the full list of the issue (hours)
    python benchmarks/bench_solvers.py --cells named --time-limit 120 --seeds 0,1,2
    python benchmarks/bench_solvers.py --cells "3:5-60,3:65-130:5" --seeds 0
    python benchmarks/bench_solvers.py --cells "10:100,20:200" --time-limit 60
"""
from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from adam_baseline import adam_lse_baseline  # noqa: E402
from published import best_known, reach_tolerance  # noqa: E402

from spherecodes import cli  # noqa: E402

HIT_TOL = 1e-9
BASIN_TOL = 1e-4
NAMED = "4:24,4:120,5:16,5:40,6:27,6:72,7:56,7:126,8:240"
#: --cells groups, by name.
GROUPS = {"d3": "3:5-60,3:65-130:5", "named": NAMED, "large": "10:100,20:200"}
FIELDS = ["d", "K", "seed", "problem", "time_limit", "value", "baseline", "best_known", "status", "hit",
          "ahead", "t_hit", "wall", "overshoot", "restarts", "baseline_restarts", "until_hit", "message",
          "solver_cores"]


def parse_cells(text: str) -> list[tuple[int, int]]:
    """``"3:5-60,3:65-130:5,named"`` -> [(3, 5), ..., (3, 60), (3, 65), (3, 70), ...]
    (:func:`spherecodes.cli.parse_cells` with the groups of ``GROUPS``)."""
    return cli.parse_cells(text, groups=GROUPS)


def _warm_up() -> None:
    """Compile the hull kernels and load HiGHS before the clock starts (once per process)."""
    import spherecodes as sc

    sc.tammes_code(3, 5, restarts=1, seed=0, method="numeric", executor="serial")


def run_cell(d: int, K: int, seed: int, time_limit: float, restarts: int | None = None,
             until_hit: bool = False, solver_cores: str = "one") -> dict:
    """Solver then baseline on one cell; see the module docstring.

    ``restarts`` caps the search; ``until_hit`` stops it (through the ``progress``
    callback) once a restart reaches the best known basin, after which the final
    polish runs and the baseline gets the same seconds.  ``solver_cores="all"`` runs
    the solver's restarts on its default executor (a process per available core)
    instead of in this process.
    """
    import spherecodes as sc
    from spherecodes.hull import one_vs_rest_distances
    from spherecodes.solvers.settings import SearchSettings

    _warm_up()
    ref = best_known(d, K)
    problem = "tammes" if ref is not None else "softmax"
    target = None if ref is None else ref[0]
    hit_tol = HIT_TOL if ref is None else reach_tolerance(ref[1], HIT_TOL)
    first_hit = []
    # restarts that LP-polish (hop) report values exact to about 1e-12, and neighbouring
    # optima of large d = 3 codes lie within 1e-4 of each other; others are descents within
    # about 1e-5 of their basin
    basin_tol = hit_tol if SearchSettings.for_size(d, K).hops > 0 else BASIN_TOL
    t0 = time.perf_counter()

    def watch(elapsed, best, n_done):
        if target is not None and not first_hit and best <= target + basin_tol:
            first_hit.append(elapsed)
        return until_hit and bool(first_hit)

    solve = sc.tammes_code if problem == "tammes" else sc.softmax_code
    # one core each by default: the solver's restarts in this process, as the baseline's
    code = solve(d, K, seed=seed, time_limit=time_limit, restarts=restarts, method="numeric", progress=watch,
                 executor="serial" if solver_cores == "one" else None)
    wall = time.perf_counter() - t0
    W_b, t_b, _ = adam_lse_baseline(d, K, seconds=wall, seed=seed)
    if problem == "tammes":
        value, baseline = code.max_inner_product, t_b
        hit = target is not None and value <= target + hit_tol
        ahead = value < baseline - HIT_TOL
    else:
        value, baseline = code.rho_one_vs_rest, float(one_vs_rest_distances(W_b).distance.min())
        hit = target is not None and value >= 1.0 - target - hit_tol
        ahead = value > baseline + HIT_TOL
    return {"d": d, "K": K, "seed": seed, "problem": problem, "time_limit": time_limit, "value": value,
            "baseline": baseline, "best_known": "" if ref is None else ref[0], "status": "" if ref is None else ref[1],
            "hit": "" if ref is None else ("hit" if hit else "MISS"), "ahead": "yes" if ahead else "no",
            "t_hit": f"{first_hit[0] if first_hit else wall:.1f}" if hit else "", "wall": round(wall, 2),
            "overshoot": round(wall - time_limit, 2), "restarts": code.restarts, "baseline_restarts": "",
            "until_hit": "yes" if until_hit else "no", "message": code.message, "solver_cores": solver_cores}


def format_row(r: dict) -> str:
    what = "max<w_i,w_j>" if r["problem"] == "tammes" else "rho"
    known = f"{float(r['best_known']):.12f}" if r["best_known"] != "" else "-"
    return (f"({r['d']:>2}, {r['K']:>3}) seed {r['seed']} {what:>12} {float(r['value']):.12f}  baseline "
            f"{float(r['baseline']):.12f}  best known {known}  {r['hit'] or '-':>4}  ahead {r['ahead']:>3}  "
            f"t_hit {r['t_hit'] or '-':>6}  wall {float(r['wall']):7.1f} s  overshoot {float(r['overshoot']):+6.1f} s"
            + ("  (solver on all cores)" if r.get("solver_cores") == "all" else ""))


def _key(row) -> tuple:
    return int(row["d"]), int(row["K"]), int(row["seed"]), float(row["time_limit"])


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def summary(rows) -> str:
    hits = sum(r["hit"] == "hit" for r in rows)
    misses = [f"({r['d']}, {r['K']}) s{r['seed']}" for r in rows if r["hit"] == "MISS"]
    ahead = sum(r["ahead"] == "yes" for r in rows)
    over = max((float(r["overshoot"]) for r in rows), default=0.0)
    return (f"{len(rows)} cells: {hits} hit the best known value, {len(misses)} missed"
            f"{' (' + ', '.join(misses) + ')' if misses else ''}; ahead of the baseline in {ahead}; "
            f"largest time_limit overshoot {over:+.1f} s")


def main(argv=None) -> int:
    from spherecodes.executor import get_executor, submit_unordered
    from spherecodes.io import merge_csv_atomic, write_text_atomic

    ap = cli.ScriptParser(description=__doc__.split("\n\n")[0],
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=parse_cells, default="d3,named,large",
                    help="cells: d:K, d:K1-K2[:step], or the groups d3, named, large (default: all three)")
    ap.add_argument("--seeds", type=cli.comma_list(cli._nonneg_int), default=None,
                    help="seeds, e.g. 0,1,2 (default: 0 for d = 3, 0,1,2 for named cells)")
    ap.add_argument("--time-limit", type=cli._positive_float, default=120.0, help="seconds per solver call (default 120)")
    ap.add_argument("--restarts", type=cli._positive_int, default=None,
                    help="cap on restarts per solve (default: as many as fit in --time-limit)")
    ap.add_argument("--until-hit", action="store_true",
                    help="stop a solve once a restart reaches the best known basin (the baseline then gets "
                         "the seconds used); default: every solve uses its whole --time-limit")
    ap.add_argument("--workers", type=cli._positive_int, default=1, help="cells in parallel (default 1: in this process)")
    ap.add_argument("--solver-cores", choices=("one", "all"), default="one",
                    help="the solver's restarts in the cell's process (one, default) or on a process per "
                         "available core (all; run with --workers 1)")
    ap.add_argument("--out", default="out/bench_solvers", help="folder of the resumable CSV (default out/bench_solvers)")
    args = ap.parse_args(argv)

    named = set(parse_cells(NAMED))
    jobs = []
    for d, K in args.cells:
        seeds = args.seeds or ([0, 1, 2] if (d, K) in named else [0])
        jobs += [(d, K, s) for s in seeds]
    out = Path(args.out)
    csv_path = out / "bench_solvers.csv"
    rows = [r for r in read_rows(csv_path) if float(r["time_limit"]) == args.time_limit]
    done = {(int(r["d"]), int(r["K"]), int(r["seed"])) for r in rows}
    todo = [j for j in jobs if j not in done]
    print(f"# bench_solvers: {len(jobs)} cells ({len(jobs) - len(todo)} already in {csv_path}), "
          f"time_limit {args.time_limit:g} s, workers {args.workers}, solver cores {args.solver_cores}, "
          f"cpu_count {os.cpu_count()}", flush=True)
    for r in rows:
        print(format_row(r), flush=True)
    t0 = time.perf_counter()
    with get_executor(max_workers=args.workers) as ex:
        for _, fut in submit_unordered(ex, run_cell, [(d, K, s, args.time_limit, args.restarts, args.until_hit,
                                                    args.solver_cores)
                                                   for d, K, s in todo]):
            r = fut.result()
            print(format_row(r), flush=True)
            # merged under a lock: another run writing to the same --out keeps its cells
            rows = [r_ for r_ in merge_csv_atomic(csv_path, [{k: str(v) for k, v in r.items()}], FIELDS, _key)
                    if float(r_["time_limit"]) == args.time_limit]
    line = summary(rows)
    print(f"# {line}; wall {time.perf_counter() - t0:.0f} s", flush=True)
    command = "python benchmarks/bench_solvers.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    write_text_atomic(out / "bench_solvers.md", f"`{command}`\n\n```\n" + "\n".join(format_row(r) for r in rows)
                      + f"\n# {line}\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
