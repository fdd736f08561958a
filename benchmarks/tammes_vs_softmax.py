#!/usr/bin/env python
"""Tammes codes vs Softmax Codes over a grid of (d, K).

For every cell the best Softmax Code (max rho one-vs-rest, Definition 2.1) and
the best Tammes code (max rho one-vs-one, Eq. 11) found by the solvers are
compared: rho one-vs-rest of each, ``1 - t*`` (t* = max inner product of the
Tammes code), whether the two one-vs-rest values agree to 1e-9 (the paper's
conjecture after Theorem 3.7), rattlers of each (Definition 3.4) and the time.

Outputs in ``--out`` (default ``docs/tables``):

* ``tammes_vs_softmax.csv``   one row per cell, rewritten atomically after each
  finished cell; a rerun resumes and skips the cells already there;
* ``tammes_vs_softmax.md``    the Markdown table, with the command that made it;
* ``tammes_vs_softmax.png``   rho one-vs-rest against K, one curve per d;
* ``disagreements/``          both codes of every cell that does not agree.

Cells run through a ``concurrent.futures.Executor``: local processes by default,
``--workers 1`` in this process, ``--scheduler ADDRESS`` on a Dask cluster.

Example (the committed table)::

    python benchmarks/tammes_vs_softmax.py --d 3:6 --K-max 40 --seed 0
"""
from __future__ import annotations

import csv
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spherecodes.cli import ScriptParser, _classes, _nonneg_int, _positive_float, _positive_int, parse_range
from spherecodes.compare import AGREE_TOL, COMPARE_FIELDS, cell_seed, compare_cell, markdown_compare_table
from spherecodes.executor import get_executor, submit_unordered
from spherecodes.io import merge_csv_atomic, recorded_commands, save_npz_atomic, write_text_atomic

NAME = "tammes_vs_softmax"
D_MAX, K_MAX = 8, 100
FIELDS = COMPARE_FIELDS + ["seed"]


def mark_published(row: dict) -> dict:
    """Add the published best-known max inner product (``shared/reference/``) and the verdict.

    ``published`` is the smallest published max inner product t_pub for (d, K) (empty when
    none); ``vs_published`` is ``"reaches"`` when our Tammes code's t* <= t_pub + 1e-9 and the
    Softmax value >= 1 - t_pub - 1e-9 (1 - t_pub is a lower bound on the Softmax optimum),
    else ``"**SHORT** ..."`` with the shortfall, so that a shortfall is never shown as an
    agreement.
    """
    from published import best_known, reach_tolerance

    ref = best_known(row["d"], row["K"])
    row["published"] = "" if ref is None else ref[0]
    if ref is None:
        row["vs_published"] = ""
        return row
    t_pub = ref[0]
    short_t = (1.0 - float(row["one_minus_t"])) - t_pub
    short_rho = (1.0 - t_pub) - float(row["rho_softmax"])
    tol = reach_tolerance(ref[1], AGREE_TOL)
    if short_t <= tol and short_rho <= tol:
        row["vs_published"] = "reaches"
    else:
        row["vs_published"] = (f"**SHORT**: t* above by {max(short_t, 0.0):.2e}, "
                               f"rho Softmax below 1 - t_pub by {max(short_rho, 0.0):.2e}")
    return row


def run_cell(d, K, seed, restarts, time_limit, method):
    row = compare_cell(d, K, restarts=restarts, seed=seed, time_limit=time_limit, method=method, return_codes=True)
    row["seed"] = seed
    W_s, W_t = row.pop("W_softmax"), row.pop("W_tammes")
    if not row["agree"]:  # keep the codes of a disagreement: it is a finding to look at
        row["_W_softmax"], row["_W_tammes"] = W_s, W_t
    return row


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        try:
            r["d"], r["K"] = int(r["d"]), int(r["K"])
        except (KeyError, ValueError):
            continue
        for k in COMPARE_FIELDS:
            if k in ("d", "K", "agree", "tammes_tight", "softmax_from_tammes", "tammes_from_softmax"):
                continue
            v = r.get(k, "")
            r[k] = float(v) if v not in ("", "None") else None
        for k in ("restarts_softmax", "restarts_tammes"):
            r[k] = None if r.get(k) in (None, "", "None") else int(float(r[k]))
        r["rattlers_softmax"] = int(r["rattlers_softmax"])
        r["rattlers_tammes"] = int(r["rattlers_tammes"])
        r["agree"] = str(r["agree"]).lower() == "true"
        r["softmax_from_tammes"] = str(r.get("softmax_from_tammes", "")).lower() == "true"
        r["tammes_from_softmax"] = str(r.get("tammes_from_softmax", "")).lower() == "true"
        r["tammes_tight"] = str(r["tammes_tight"]).lower() == "true"
        out.append(r)
    return out


def write_markdown(path: Path, rows: list[dict], command: str, wall: float, todo: int):
    rows = [mark_published(dict(r)) for r in rows]
    with_ref = [r for r in rows if r["published"] != ""]
    short = [r for r in with_ref if r["vs_published"] != "reaches"]
    agree = sum(1 for r in rows if r["agree"])
    bad = [r for r in rows if not r["agree"]]
    numeric = [r for r in rows if r.get("known_optimum") in (None, "", "None")]
    n_agree = sum(1 for r in numeric if r["agree"])
    tight = sum(1 for r in rows if r["tammes_tight"])
    lines = [
        "# Tammes codes vs Softmax Codes",
        "",
        "Generated by",
        "",
        "```",
        *([command] if isinstance(command, str) else command),
        "```",
        "",
        f"{len(rows)} cells, {agree} agree to {AGREE_TOL:g} (|rho Softmax - rho one-vs-rest of the Tammes code|)."
        + (f" {todo} cells still to run." if todo else ""),
        f"Wall time of the last invocation: {wall:.0f} s.",
        "",
        f"Cells with K <= 2d are closed forms for both problems (Theorem 3.3). The other {len(numeric)} cells are "
        f"numeric; {n_agree} of them agree. Both solvers get the same seed, so restart i of the Softmax solver "
        "polishes (on the one-vs-rest objective) the same random start that restart i of the Tammes solver polishes "
        "(on the max inner product). Then each code is polished on the other problem's objective, and the better "
        "code of each kind is kept (cross-polish; the searches alone are `rho_softmax_search` and `t_tammes_search` "
        "in the CSV, with flags `softmax_from_tammes` / `tammes_from_softmax`; these columns are empty for rows "
        "computed before the cross-polish existed, where the searches alone were compared). "
        f"In {tight} of {len(rows)} cells the Tammes code's one-vs-rest value equals 1 - t* to 1e-9.",
        "",
        f"**Against published codes.** {len(with_ref)} cells have a published best-known Tammes code "
        "(`shared/reference/`: Sloane's tables and Lai et al. 2023 for d = 3, root systems and other named codes "
        f"for d = 4..8); {len(with_ref) - len(short)} reach it, {len(short)} fall short"
        + (": " + ", ".join(f"({r['d']}, {r['K']})" for r in short) + ". In a cell that falls short the "
           "agreement compares two codes that are not optimal and says nothing about the conjecture."
           if short else ".")
        + " Each search is time-limited (the command's `--time-limit`), so a value is a lower bound on the "
        "optimum of its problem unless it reaches a published or closed-form value.",
        "",
        "rho = rho one-vs-rest (Definition 2.1); t* = max inner product of the Tammes code, "
        "so 1 - t* <= rho one-vs-rest of the Tammes code <= max rho one-vs-rest, and the best Softmax Code found "
        "is a certified lower bound on that maximum. Both rho columns print the lower end of the code's "
        "certificate, rounded down (the closed form where Theorem 3.3 gives one); 1 - t* is rounded down "
        "too; 'reaches' means within 1e-9 of the published value. "
        "Rattlers: classes whose one-vs-rest distance exceeds the minimum by more than 1e-6 (relative).",
        "",
        markdown_compare_table(rows).rstrip(),
        "",
    ]
    short = monotonicity_shortfalls(rows)
    if short:
        lines += ["## Cells below a larger K", "",
                  "The optimum is non-increasing in K (removing a codeword only shrinks the hulls of the "
                  "others), so a cell whose best rho is below that of a larger K in the same d is a search "
                  "shortfall: its value is a lower bound that restarts did not push to the optimum.", ""]
        lines += [f"- d={d}, K={K}: {v:.12f} < {w:.12f} at K={K2}" for d, K, v, K2, w in short]
        lines.append("")
    if bad:
        lines += ["## Cells that do not agree", "",
                  "A cell where the Softmax value is *below* the Tammes code's one-vs-rest value is a shortfall of the "
                  "Softmax search (the Tammes code itself is a better Softmax candidate), not a counterexample; "
                  "a counterexample would need the Softmax value *above* it with both codes at their optima. "
                  "Both codes of every such cell are in `disagreements/`.", ""]
        for r in bad:
            kind = ("Softmax search fell short" if r["rho_softmax"] < r["rho_tammes"]
                    else "Softmax Code better than the Tammes code found: a counterexample only if the Tammes search is "
                    "ruled out (polish the saved Softmax Code on the Tammes objective)")
            ran = ""
            if r.get("restarts_softmax") not in (None, "", "None"):
                ran = f"; restarts run: Softmax {int(float(r['restarts_softmax']))}, " \
                      f"Tammes {int(float(r['restarts_tammes']))}"
            lines.append(f"- d={r['d']}, K={r['K']}: Softmax {r['rho_softmax']:.12f}, "
                         f"Tammes {r['rho_tammes']:.12f} (difference {r['rho_softmax'] - r['rho_tammes']:.3e}): "
                         f"{kind}{ran}")
        lines.append("")
    write_text_atomic(path, "\n".join(lines))


def monotonicity_shortfalls(rows: list[dict], tol: float = 1e-9) -> list[tuple]:
    """Cells whose best rho one-vs-rest is below that of a larger K with the same d.

    Returns ``(d, K, rho, K2, rho2)`` tuples, ``K2 > K`` the largest-rho such cell.
    """
    out = []
    for d in sorted({r["d"] for r in rows}):
        best = None  # the largest-rho cell with a larger K, walking down in K
        for r in sorted((r for r in rows if r["d"] == d), key=lambda r: r["K"], reverse=True):
            if best is not None and r["rho_softmax"] < best["rho_softmax"] - tol:
                out.append((d, r["K"], r["rho_softmax"], best["K"], best["rho_softmax"]))
            if best is None or r["rho_softmax"] >= best["rho_softmax"]:
                best = r
    return sorted(out)


def write_figure(path: Path, rows: list[dict]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for d in sorted({r["d"] for r in rows}):
        rs = sorted((r for r in rows if r["d"] == d), key=lambda r: r["K"])
        Ks = [r["K"] for r in rs]
        line, = ax.plot(Ks, [r["rho_softmax"] for r in rs], "o-", ms=3, label=f"d={d} Softmax Code")
        ax.plot(Ks, [r["rho_tammes"] for r in rs], "x", ms=5, color=line.get_color(), label=f"d={d} Tammes code")
    ax.set_xlabel("K (number of classes)")
    ax.set_ylabel(r"$\rho_{\mathrm{one-vs-rest}}$")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Best Softmax Code vs best Tammes code (one-vs-rest)")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def parse_args(argv):
    p = ScriptParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--d", default="3:6", help="dimensions: A:B (inclusive), a,b,c or N (default 3:6; at most 8)")
    p.add_argument("--K", default=None, help="class counts, same syntax (default d+2 .. --K-max)")
    p.add_argument("--K-max", type=_classes, default=40,
                   help="largest K when --K is not given (default 40; at most 100)")
    p.add_argument("--restarts", type=_positive_int, default=None, help="random restarts per solve (default: solver's)")
    p.add_argument("--time-limit", type=_positive_float, default=None, help="seconds per solve (default: none)")
    p.add_argument("--method", default="auto")
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument("--out", default="docs/tables", help="output directory (default docs/tables)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="local processes (default: all cores; 1 = in-process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address")
    p.add_argument("--fresh", action="store_true", help="ignore cells already in the CSV")
    p.add_argument("--no-figure", action="store_true")
    p.add_argument("--max-cells", type=_nonneg_int, default=None, help="stop after this many new cells (time-boxing)")
    p.add_argument("--redo-short", action="store_true",
                   help="also rerun the cells already in the CSV that fall short of a published value")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rewrite the Markdown table and the figure from the CSV")
    args = p.parse_args(argv)
    try:
        ds = parse_range(args.d, "--d")
        cells = []
        for d in ds:
            Ks = parse_range(args.K, "--K") if args.K else list(range(d + 2, args.K_max + 1))
            cells += [(d, K) for K in Ks]
    except Exception as exc:  # CLIError
        p.error(str(exc))
    for d, K in cells:
        if not (2 <= d <= D_MAX and 2 <= K <= K_MAX):
            p.error(f"cell d={d}, K={K} outside 2 <= d <= {D_MAX}, 2 <= K <= {K_MAX}")
    if not cells:
        p.error("empty grid")
    return args, cells


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args, cells = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path, png_path = out / f"{NAME}.csv", out / f"{NAME}.md", out / f"{NAME}.png"
    command = "python benchmarks/tammes_vs_softmax.py " + " ".join(shlex.quote(a) for a in argv)

    done = {} if args.fresh else {(r["d"], r["K"]): r for r in read_rows(csv_path)}
    # cheap cells first (small K), so that a time-boxed run covers a contiguous region
    redo = {c for c, r in done.items() if args.redo_short and mark_published(dict(r))["vs_published"] not in ("", "reaches")}
    todo = sorted(((d, K) for d, K in cells if (d, K) not in done or (d, K) in redo), key=lambda c: (c[1], c[0]))
    if args.max_cells is not None:
        todo = todo[: args.max_cells]
    prev_wall = None
    commands = [command]
    if not args.fresh:  # keep the commands that produced the rows already there
        prev, wall = recorded_commands(md_path, "python benchmarks/tammes_vs_softmax.py")
        if prev:
            commands = list(dict.fromkeys(prev + ([] if args.report_only else [command])))
        if args.report_only:
            prev_wall = wall
    if args.report_only:
        todo = []
    command = commands
    print(f"{len(cells)} cells in the grid, {len(cells) - len([c for c in cells if c not in done])} already done, "
          f"running {len(todo)}", flush=True)
    t0 = time.perf_counter()
    rows = dict(done)
    with get_executor(args.scheduler, max_workers=args.workers) as ex:
        jobs = [(d, K, cell_seed(args.seed, d, K), args.restarts, args.time_limit, args.method) for d, K in todo]
        for (d, K, *_), f in submit_unordered(ex, run_cell, jobs):
            r = f.result()
            for tag in ("softmax", "tammes"):
                W = r.pop(f"_W_{tag}", None)
                if W is not None:
                    save_npz_atomic(out / "disagreements" / f"{tag}_d{d}_K{K}.npz", W=W)
            # every finished cell is on disk, merged under a lock with any other run into this --out
            merge_csv_atomic(csv_path, [r], FIELDS, lambda row: (int(row["d"]), int(row["K"])))
            rows = {(row["d"], row["K"]): row for row in read_rows(csv_path)}
            ordered = [rows[c] for c in sorted(rows)]
            write_markdown(md_path, ordered, command, time.perf_counter() - t0,
                           len([c for c in cells if c not in rows]))
            print(f"d={d:2d} K={K:3d}  softmax {r['rho_softmax']:.12f}  tammes {r['rho_tammes']:.12f}  "
                  f"{'agree' if r['agree'] else 'DIFFER'}  {r['time']:.1f}s", flush=True)
    wall = time.perf_counter() - t0 if prev_wall is None else prev_wall
    ordered = [rows[c] for c in sorted(rows)]
    remaining = len([c for c in cells if c not in rows])
    write_markdown(md_path, ordered, command, wall, remaining)
    if not args.no_figure and ordered:
        write_figure(png_path, ordered)
    agree = sum(1 for r in ordered if r["agree"])
    print(f"wall time {wall:.1f} s; {agree} of {len(ordered)} cells agree to {AGREE_TOL:g}; "
          f"wrote {csv_path}, {md_path}" + ("" if args.no_figure else f", {png_path}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
