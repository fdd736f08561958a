#!/usr/bin/env python
"""Large-K benchmark: :func:`spherecodes.solvers.large_k.spread_code` (or, with
``--solver softmax_code``, whatever path ``softmax_code`` takes at that size) against the
projected-Adam log-sum-exp baseline at equal seconds, certified by the hull kernel.

For each cell (d, K) and each budget T (seconds), in the same run:

* ours: ``spread_code(d, K, seed=seed, time_limit=T)``, or ``softmax_code(d, K,
  seed=seed, time_limit=T, executor="serial")`` (one core, as the baseline; below
  K = 2000 it is the dense multistart search, not ``spread_code``); its exact max
  inner product, then ``rho_one_vs_rest`` with its certificate ``[lower, upper]``
  from :func:`spherecodes.hull.one_vs_rest_distances` (and how long that took);
* the baseline (``benchmarks/adam_baseline.py``) given the same T seconds: its
  best max inner product (and its certified rho, unless ``--no-baseline-rho``).

Every solve and every certificate runs in its own child process (spawned, one
at a time), so ``peak_rss_mib`` is that task's own peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and nothing leaks between them.

The baseline reads the clock before every step and works on one dense ``K x K``
float64 array in place (3.2 GB at K = 20000); ``baseline_seconds`` says how long
the call really took (the step under way at T is finished).

    python benchmarks/bench_large_k.py                         # 3 cells x (60 s, 600 s)
    python benchmarks/bench_large_k.py --seconds 60            # 60 s only
    python benchmarks/bench_large_k.py --sizes 64x1000 --seconds 600
    python benchmarks/bench_large_k.py --sizes 64x1000 --solver softmax_code
    python benchmarks/bench_large_k.py --quick                 # tiny cells, ~1 minute
    python benchmarks/bench_large_k.py --out runs/large_k      # resumable CSV there
    python benchmarks/bench_large_k.py --out runs/large_k --report docs/tables/bench_large_k.md

Threads: ``--threads`` (default 1) sets OpenBLAS/OMP/MKL and torch threads in
every child.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from spherecodes import cli  # noqa: E402

#: ``--solver`` choices; rows written before the option existed are ``spread_code``.
SOLVERS = ("spread_code", "softmax_code")
COLUMNS = ["d", "K", "seconds", "seed", "solver", "ours_max_inner", "ours_rho", "ours_rho_lower", "ours_rho_upper",
           "ours_solve_seconds", "ours_iterations", "ours_refreshes", "ours_peak_rss_mib", "hull_seconds",
           "hull_peak_rss_mib", "baseline_max_inner", "baseline_rho_lower", "baseline_rho_upper",
           "baseline_seconds", "baseline_steps", "baseline_peak_rss_mib", "random_max_inner"]
DEFAULT_SIZES = [(64, 1000), (128, 10000), (512, 20000)]
QUICK_SIZES = [(16, 300), (32, 2000)]


# --------------------------------------------------------------------------- child tasks
def _limit_threads(threads):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        pass


def _peak_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # KiB on Linux


def task_ours(d, K, seconds, seed, threads, solver="spread_code"):
    """Our code for (d, K) in ``seconds``; ``info`` has ``max_inner_product``, ``iterations``
    (``softmax_code``: restarts) and ``refreshes`` (neighbour-list rebuilds; none for ``softmax_code``)."""
    _limit_threads(threads)
    from spherecodes.solvers.large_k import exact_max_inner_product, spread_code

    t = time.perf_counter()
    if solver == "softmax_code":
        from spherecodes import softmax_code

        code = softmax_code(d, K, seed=seed, time_limit=seconds, executor="serial")
        W = code.W
        info = dict(max_inner_product=exact_max_inner_product(W)[0], iterations=code.restarts, refreshes="")
    else:
        W, info = spread_code(d, K, seed=seed, time_limit=seconds)
    return dict(W=np.ascontiguousarray(W), info=info, seconds=time.perf_counter() - t, peak=_peak_mib())


def task_hull(W, threads):
    _limit_threads(threads)
    from spherecodes.hull import one_vs_rest_distances

    t = time.perf_counter()
    res = one_vs_rest_distances(W)
    return dict(rho=res.rho, lower=res.rho_lower, upper=res.rho_upper, converged=bool(res.converged.all()),
                seconds=time.perf_counter() - t, peak=_peak_mib())


def task_baseline(d, K, seconds, seed, threads):
    _limit_threads(threads)
    t = time.perf_counter()
    sys.path.insert(0, str(HERE))
    from adam_baseline import adam_lse_baseline

    W, value, steps = adam_lse_baseline(d, K, seconds=seconds, seed=seed)
    return dict(W=W, value=value, steps=steps, seconds=time.perf_counter() - t, peak=_peak_mib())


def task_random(d, K, seed, threads):
    """Max inner product of a random start (what the solvers start from)."""
    _limit_threads(threads)
    from spherecodes.solvers.large_k import exact_max_inner_product

    W = np.random.default_rng(seed).standard_normal((d, K))
    W /= np.linalg.norm(W, axis=0)
    return exact_max_inner_product(W)[0]


# --------------------------------------------------------------------------- driver
def _run(ctx, fn, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


def _parse_sizes(text):
    """``"64x1000,128x10000"`` -> [(64, 1000), (128, 10000)] (:func:`spherecodes.cli.parse_cells`)."""
    return cli.parse_cells(text, sep="x")


def _solver(row):
    """The ``solver`` of a results.csv row; rows written before that column are ``spread_code``."""
    return row.get("solver") or "spread_code"


def _read_done(path):
    if path is None or not path.exists():
        return {}
    with path.open() as f:
        return {(int(r["d"]), int(r["K"]), float(r["seconds"]), int(r["seed"]), _solver(r)): r
                for r in csv.DictReader(f)}


def _append(path, row):
    if path is None:
        return
    new = not path.exists()
    if not new:
        with path.open(newline="") as f:
            old = csv.DictReader(f)
            if old.fieldnames != COLUMNS:   # written before a column was added: rewrite it whole
                from spherecodes.io import write_csv_atomic

                rows = [dict(r, solver=_solver(r)) for r in old]
                write_csv_atomic(path, rows + [row], COLUMNS)
                return
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        w.writerow({k: row.get(k, "") for k in COLUMNS})
        f.flush()
        os.fsync(f.fileno())


def _fmt(x, nd=6):
    if x in (None, ""):
        return "-"
    return f"{float(x):.{nd}f}"


def _bracket(lower, upper):
    """A certificate's bracket rounded outward (``[-, -]`` when not measured)."""
    from spherecodes.formatting import bracket

    return "[-, -]" if lower in (None, "") else bracket(float(lower), float(upper), ".6f")


def _print_row(r):
    print(f"d={r['d']:>4} K={r['K']:>6} T={float(r['seconds']):>5.0f}s | ours: max<.,.>={_fmt(r['ours_max_inner'])} "
          f"rho in {_bracket(r['ours_rho_lower'], r['ours_rho_upper'])} "
          f"({r['ours_iterations']} it, {float(r['ours_solve_seconds']):.1f} s, peak {float(r['ours_peak_rss_mib']):.0f} MiB; "
          f"hull {_fmt(r['hull_seconds'], 1)} s, peak {_fmt(r['hull_peak_rss_mib'], 0)} MiB) | "
          f"baseline: max<.,.>={_fmt(r['baseline_max_inner'])} rho in "
          f"{_bracket(r['baseline_rho_lower'], r['baseline_rho_upper'])} ({r['baseline_steps']} steps, "
          f"{_fmt(r['baseline_seconds'], 1)} s, "
          f"peak {_fmt(r['baseline_peak_rss_mib'], 0)} MiB) | random start {_fmt(r['random_max_inner'])}",
          flush=True)


def main(argv=None):
    p = cli.ScriptParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=_parse_sizes, default=None, help="cells as DxK,DxK (default 64x1000,128x10000,512x20000)")
    p.add_argument("--seconds", type=cli.comma_list(cli._positive_float), default=None,
                   help="comma-separated budgets in seconds (default 60,600)")
    p.add_argument("--seed", type=cli._nonneg_int, default=1)
    p.add_argument("--solver", choices=SOLVERS, default="spread_code",
                   help="ours: spread_code (default) or softmax_code, which picks its path by size (one core)")
    p.add_argument("--quick", action="store_true", help="tiny cells and 3-second budgets (smoke test)")
    p.add_argument("--threads", type=cli._positive_int, default=1, help="BLAS/torch threads in every child (default 1)")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    p.add_argument("--no-baseline-rho", action="store_true", help="skip the hull certificate of the baseline's code")
    p.add_argument("--out", default=None, help="folder for results.csv (rows already there are skipped)")
    p.add_argument("--report", default=None, metavar="FILE.md",
                   help="also write the rows of --out's results.csv as a Markdown table (needs --out)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: write --report from the rows of these cells already in --out")
    args = p.parse_args(argv)
    if args.report and not args.out:
        p.error("--report needs --out (the table is written from its results.csv)")
    if args.report_only and not args.report:
        p.error("--report-only needs --report and --out")

    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    seconds = args.seconds or ([3.0] if args.quick else [60.0, 600.0])
    out = None
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        out = Path(args.out) / "results.csv"
    done = _read_done(out)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)   # inherited by the spawned children before numpy loads
    ctx = get_context("spawn")
    print(f"# bench_large_k: seed {args.seed}, threads {args.threads}, budgets {seconds}", flush=True)
    for d, K in [] if args.report_only else sizes:
        random_max = None
        for T in seconds:
            key = (d, K, T, args.seed, args.solver)
            if key in done:
                _print_row(done[key])
                continue
            if random_max is None:
                random_max = _run(ctx, task_random, d, K, args.seed, args.threads)
            row = dict(d=d, K=K, seconds=T, seed=args.seed, solver=args.solver, random_max_inner=random_max)
            ours = _run(ctx, task_ours, d, K, T, args.seed, args.threads, args.solver)
            info = ours["info"]
            row.update(ours_max_inner=info["max_inner_product"], ours_solve_seconds=ours["seconds"],
                       ours_iterations=info["iterations"], ours_refreshes=info["refreshes"],
                       ours_peak_rss_mib=ours["peak"])
            hull = _run(ctx, task_hull, ours["W"], args.threads)
            row.update(ours_rho=hull["rho"], ours_rho_lower=hull["lower"], ours_rho_upper=hull["upper"],
                       hull_seconds=hull["seconds"], hull_peak_rss_mib=hull["peak"])
            if not args.no_baseline:
                base = _run(ctx, task_baseline, d, K, T, args.seed, args.threads)
                row.update(baseline_max_inner=base["value"], baseline_seconds=base["seconds"],
                           baseline_steps=base["steps"], baseline_peak_rss_mib=base["peak"])
                if not args.no_baseline_rho:
                    bh = _run(ctx, task_hull, base["W"], args.threads)
                    row.update(baseline_rho_lower=bh["lower"], baseline_rho_upper=bh["upper"])
            row = {k: row.get(k, "") for k in COLUMNS}  # --no-baseline(-rho) leaves columns empty
            _append(out, row)
            _print_row(row)
    if args.report:
        argv = sys.argv[1:] if argv is None else list(argv)
        keys = [(d, K, T, args.seed, args.solver) for d, K in sizes for T in seconds]  # this command's rows only
        done = _read_done(out)
        write_report(Path(args.report), [done[k] for k in keys if k in done],
                     "python benchmarks/bench_large_k.py " + " ".join(shlex.quote(a) for a in argv), args.threads,
                     missing=[k for k in keys if k not in done])
    return 0


def write_report(path, rows, command, threads, missing=()):
    """The rows of ``results.csv`` as a Markdown table (written atomically), the command on top;
    ``missing`` (d, K, seconds, seed[, solver]) cells of the command that have no row are listed under it."""
    from spherecodes.io import write_text_atomic

    lines = [f"`{command}`", "",
             f"On CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores visible), {threads} "
             f"thread(s) per task, one task at a time; ours: "
             f"{', '.join(sorted({_solver(r) for r in rows})) or '-'}. rho = certified rho one-vs-rest "
             "(hull kernel bracket [lower, upper]); the baseline is the dense projected-Adam "
             "log-sum-exp descent given the same seconds.", "",
             "| d | K | seconds | seed | ours max<w_i,w_j> | ours rho [lower, upper] | baseline max<w_i,w_j> "
             "| baseline rho [lower, upper] | ours lower - baseline upper | ours peak MiB | hull s | "
             "hull peak MiB | baseline peak MiB |",
             "|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: (int(r["K"]), int(r["d"]), float(r["seconds"]))):
        base = r["baseline_rho_lower"] not in ("", None)
        diff = f"{float(r['ours_rho_lower']) - float(r['baseline_rho_upper']):+.6f}" if base else "-"
        lines.append(f"| {r['d']} | {r['K']} | {float(r['seconds']):g} | {r['seed']} | {_fmt(r['ours_max_inner'])} | "
                     f"{_fmt(r['ours_rho'])} {_bracket(r['ours_rho_lower'], r['ours_rho_upper'])} | "
                     f"{_fmt(r['baseline_max_inner'])} | {_bracket(r['baseline_rho_lower'], r['baseline_rho_upper'])} "
                     f"| {diff} | {_fmt(r['ours_peak_rss_mib'], 0)} | "
                     f"{_fmt(r['hull_seconds'], 1)} | {_fmt(r['hull_peak_rss_mib'], 0)} | "
                     f"{_fmt(r['baseline_peak_rss_mib'], 0)} |")
    if missing:
        lines += ["", "Not measured (no finished row): " + ", ".join(
            f"(d = {d}, K = {K}, {T:g} s, seed {s})" for d, K, T, s, *_ in missing) + "."]
    return write_text_atomic(path, "\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
