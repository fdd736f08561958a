"""The ``spherecodes`` command.

Subcommands (``spherecodes SUBCOMMAND --help`` for the options of each)::

    spherecodes softmax-code -d 3 -K 8          # a Softmax Code (max rho one-vs-rest)
    spherecodes tammes -d 3 -K 8                # a Tammes code (max rho one-vs-one)
    spherecodes hardmax -d 3 -K 8 -n 2          # the HardMax problem (5)
    spherecodes measure W.npy [--rows]          # separation of a code / trained classifier
    spherecodes plot W.npz --out code.png       # a picture of a code
    spherecodes bounds -d 512 -K 1000000        # Theorem 3.9 (+ a numeric search when cheap)
    spherecodes compare -d 3 -K 8               # Tammes vs Softmax side by side
    spherecodes table --d 3:4 --K 5:8           # a sweep of compare
    spherecodes train ...                       # delegates to spherecodes.train.cli

Human-readable output by default, ``--json`` for machines.  Bad arguments exit
with status 2 and a one-line message on stderr (no traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from .compare import (AGREE_TOL, COMPARE_FIELDS, _code_W, _finite, _truthy, cell_seed, compare_cell,  # noqa: F401
                      known_optimum, markdown_compare_table, measure_code)
from .formatting import bracket, round_down, round_up

__all__ = ["main", "build_parser", "parse_range", "comma_list", "parse_cells", "ScriptParser"]

class CLIError(Exception):
    """A user error with an exit status (2 for bad input)."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------- helpers
def _solver_info(code) -> dict:
    """Restart/timing information a SphereCode carries, whatever its exact attribute names."""
    info = {}
    for name in ("method", "restarts", "n_best", "seed", "status"):
        if hasattr(code, name):
            v = getattr(code, name)
            if isinstance(v, (bool, int, float, str, np.integer, np.floating)) or v is None:
                info[name] = v.item() if isinstance(v, np.generic) else v
    return info


def _check_out(path, *, force: bool, suffixes=(".npz",)) -> None:
    """Check ``--out`` before any work: a name with one of ``suffixes`` in a writable folder, not overwritten
    without --force."""
    if path is None:
        return
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise CLIError(f"--out must end in {' or '.join(suffixes)}, got {str(path)!r}")
    if path.exists() and not force:
        raise CLIError(f"--out {str(path)!r} exists; pass --force to overwrite it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"--out: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise CLIError(f"--out: folder {str(folder)!r} is not writable")


#: A solve holds this many (d, K) float64 arrays at once, at least (the code, its gradient, the
#: nearest hull points, the working copies of the closed forms and the measures).
_COPIES = 8


def _check_size(d: int, K: int, n: int = 0) -> None:
    """Refuse a problem whose code (and ``n`` features per class) cannot fit in this machine's memory."""
    need = _COPIES * 8 * d * K * (n + 1)
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return
    if need > have:
        what = f"d*K*(n+1) = {d}*{K}*{n + 1}" if n else f"d*K = {d}*{K}"
        raise CLIError(f"too large: {what} float64 numbers, about {_COPIES} copies of them: "
                       f"{need / 2**30:.3g} GiB, more than this machine's {have / 2**30:.3g} GiB")


def _save_code(code, path) -> str:
    from .io import save_npz_atomic

    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise CLIError(f"--out must end in .npz, got {str(path)!r}")
    if hasattr(code, "save"):
        code.save(path)
    else:
        save_npz_atomic(path, W=_code_W(code))
    return str(path)


def _show_progress(args) -> bool:
    """``--progress``/``--no-progress``; by default on when stderr is a terminal."""
    return sys.stderr.isatty() if args.progress is None else bool(args.progress)


def _solver_kwargs(args) -> dict:
    kw = {"seed": args.seed, "progress": _show_progress(args)}
    if args.restarts is not None:
        kw["restarts"] = args.restarts
    if args.time_limit is not None:
        kw["time_limit"] = args.time_limit
    if getattr(args, "method", None):
        kw["method"] = args.method
    return kw


class _ExecutorScope:
    """Context manager giving ``None`` (library default) or an executor from --workers/--scheduler."""

    def __init__(self, args):
        self.args = args
        self.ex = None

    def __enter__(self):
        sched = getattr(self.args, "scheduler", None)
        workers = getattr(self.args, "workers", None)
        if sched is None and workers is None:
            return None
        from .executor import get_executor

        self.ex = get_executor(sched, max_workers=workers)
        return self.ex

    def __exit__(self, *exc):
        if self.ex is not None:
            self.ex.shutdown()
        return False


def _run_solver(kind: str, d: int, K: int, args, executor=None):
    from . import solvers

    fn = {"softmax": solvers.softmax_code, "tammes": solvers.tammes_code}[kind]
    kw = _solver_kwargs(args)
    kw["rattler_rtol"] = getattr(args, "rtol", 1e-6)
    if executor is not None:
        kw["executor"] = executor
    t0 = time.perf_counter()
    code = fn(d, K, **kw)
    return code, time.perf_counter() - t0


#: Most values a --d/--K range may expand to.
MAX_RANGE = 100_000


def parse_range(text: str, name: str) -> list[int]:
    """Parse ``"3"``, ``"3:6"`` (inclusive), ``"3:10:2"``, ``"3,5,8"`` or a mix (``"3:6,10,20"``) into sorted ints."""
    vals: list[int] = []
    try:
        for item in str(text).split(","):
            item = item.strip()
            if not item:
                continue
            if ":" in item:
                parts = [int(p) for p in item.split(":")]
                if len(parts) == 2:
                    parts.append(1)
                if len(parts) != 3 or parts[2] <= 0:
                    raise ValueError
                span = range(parts[0], parts[1] + 1, parts[2])
                if len(vals) + len(span) > MAX_RANGE:
                    raise CLIError(f"{name}: {text!r} has more than {MAX_RANGE} values")
                vals += list(span)
            else:
                vals.append(int(item))
    except ValueError:
        raise CLIError(f"{name}: expected N, A:B, A:B:STEP or a comma list of those, got {text!r}") from None
    if not vals:
        raise CLIError(f"{name}: empty range {text!r}")
    return sorted(set(vals))


# ------------------------------------------------------------------ printing
def _emit(args, obj: dict, lines: list[str]):
    if getattr(args, "json", False):
        print(json.dumps(_jsonable(obj), indent=2, allow_nan=False))
    else:
        print("\n".join(lines))


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, (bool, np.bool_)):
        return bool(o)
    if isinstance(o, (int, np.integer)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return _finite(o)
    return o


def _fmt_list(v, limit=20):
    v = list(v)
    if not v:
        return "none"
    s = ", ".join(str(i) for i in v[:limit])
    return s + (f", ... ({len(v)} in all)" if len(v) > limit else f" ({len(v)})")


def _measure_lines(m: dict, title: str | None = None) -> list[str]:
    lines = [title] if title else []
    # the non-rattlers are the classes at the minimum (within rtol): name one only when it is alone there
    at_min = m["K"] - len(m["rattlers"]) if m.get("certified_classes", m["K"]) == m["K"] else 1
    where = f"class {m['worst_class']}" if at_min <= 1 else f"{at_min} classes, first {m['worst_class']}"
    lines += [
        f"  d, K                      : {m['d']}, {m['K']}",
        f"  rho one-vs-rest           : {m['rho_one_vs_rest']:.12f}  ({where}; min over k of "
        "dist(w_k, hull of the others))",
        f"    certificate             : {bracket(m['rho_lower'], m['rho_upper'], '.12f')}  (lower, upper)"
        + ("" if m.get("certified_classes", m["K"]) == m["K"] else
           f"; the time limit cut it: {m['certified_classes']} of {m['K']} classes solved, the rest bounded by "
           "their nearest codeword (rho one-vs-rest above is an upper bound)"),
        f"  rho one-vs-one            : {m['rho_one_vs_one']:.12f}  (min distance between two codewords)",
        f"  max inner product t       : {m['max_inner_product']:.12f}  (1 - t = {m['one_minus_max_inner_product']:.12f})",
        f"  min angle                 : {m['min_angle_deg']:.8f} deg ({m['min_angle_rad']:.12f} rad)",
        f"  rattlers                  : {_fmt_list(m['rattlers'])}",
    ]
    return lines


# ---------------------------------------------------------------- subcommands
def _cmd_solve(args, kind: str):
    from ._validation import check_dims

    d, K = check_dims(args.d, args.K)
    _check_size(d, K)
    _check_out(args.out, force=args.force)
    if _show_progress(args):
        from .solvers import closed_form, default_time_limit

        if closed_form(d, K) is None or args.method == "numeric":
            budget = args.time_limit if args.time_limit is not None else (
                None if args.restarts is not None else default_time_limit(d, K))
            print(f"spherecodes: searching d={d}, K={K}"
                  + (f" for at most {budget:g} s" if budget is not None else f" ({args.restarts} restarts)")
                  + "; Ctrl-C stops and keeps the best code so far", file=sys.stderr)
    with _ExecutorScope(args) as ex:
        code, elapsed = _run_solver(kind, d, K, args, executor=ex)
    m = measure_code(code, rtol=args.rtol)      # the solver's own measures, no second certificate
    opt, why = known_optimum(d, K)
    obj = {"problem": "softmax-code" if kind == "softmax" else "tammes", **m, "time": elapsed,
           "known_optimum": opt, "known_optimum_reason": why, "solver": _solver_info(code)}
    if not args.json or not args.full:
        obj.pop("distances")
    saved = _save_code(code, args.out) if args.out else None
    obj["saved"] = saved
    if args.json and args.full:
        obj["W"] = _code_W(code).tolist()
    name = "Softmax Code" if kind == "softmax" else "Tammes code"
    lines = _measure_lines(m, f"{name} for d={d}, K={K}  ({elapsed:.2f} s)")
    if opt is not None:
        lines.append(f"  known optimum             : {opt:.12f}  [{why}]")
    info = obj["solver"]
    if info:
        lines.append("  solver                    : " + ", ".join(f"{k}={v}" for k, v in info.items()))
    if getattr(code, "message", ""):
        lines.append(f"  stopped                   : {code.message}")
    if saved:
        lines.append(f"  saved to                  : {saved}")
    _emit(args, obj, lines)
    if getattr(code, "status", "") == "interrupted":
        print("spherecodes: interrupted; the best code found so far is shown" + (" and saved" if saved else ""),
              file=sys.stderr)
        return 130
    return 0


def _cmd_hardmax(args):
    from ._validation import check_dims, check_int
    from .solvers import hardmax

    d, K = check_dims(args.d, args.K)
    n = check_int(args.n, "n", minimum=1)
    _check_size(d, K, n)
    _check_out(args.out, force=args.force)
    kw = _solver_kwargs(args)
    t0 = time.perf_counter()
    with _ExecutorScope(args) as ex:
        if ex is not None:
            kw["executor"] = ex
        res = hardmax(d, K, n=n, **kw)
    elapsed = time.perf_counter() - t0
    W = np.asarray(res.W, dtype=np.float64)
    m = measure_code(W, rtol=args.rtol)
    m.pop("distances")
    value = float(getattr(res, "value", float("nan")))
    obj = {"problem": "hardmax", "n": n, "hardmax_value": value, "minus_rho_one_vs_rest": -m["rho_one_vs_rest"],
           **m, "time": elapsed}
    H = getattr(res, "H", None)
    if H is not None and getattr(res, "labels", None) is not None:
        try:
            from .collapse import gnc1, gnc3

            y = np.asarray(res.labels)
            obj["gnc1"] = float(gnc1(np.asarray(H), y))
            obj["gnc3"] = float(gnc3(W, np.asarray(H), y))
        except Exception:  # collapse metrics are informative extras  # noqa: BLE001
            pass
    saved = None
    if args.out:
        from .io import save_npz_atomic

        arrays = {"W": W}
        if H is not None:
            arrays["H"] = np.asarray(H)
        if getattr(res, "labels", None) is not None:
            arrays["labels"] = np.asarray(res.labels)
        saved = str(save_npz_atomic(args.out, **arrays))
    obj["saved"] = saved
    lines = [f"HardMax problem (5) for d={d}, K={K}, n={n}  ({elapsed:.2f} s)",
             f"  HardMax value             : {value:.12f}  (Theorem 3.2: optimum = -max rho one-vs-rest)"]
    lines += _measure_lines(m)[0:]
    for key in ("gnc1", "gnc3"):
        if key in obj:
            lines.append(f"  {key.upper():<26}: {obj[key]:.3e}")
    if saved:
        lines.append(f"  saved to                  : {saved}")
    _emit(args, obj, lines)
    return 0


def _cli_terms(message: str) -> str:
    """An API message in command-line words: ``normalize=True`` -> ``--normalize`` and so on."""
    for api, cli in (("pass normalize=True to rescale", "pass --normalize to rescale"),
                     ("normalize=True", "--normalize"), ("rows=True (--rows)", "--rows"),
                     ("rows=False (--columns)", "--columns"), ("key= (--key)", "--key"),
                     ("pass rows=True", "pass --rows"), ("pass layout='rows'", "pass --rows"),
                     ("the float32 array itself", "a float32 file")):
        message = message.replace(api, cli)
    return message


def _load_code_file(path, args):
    """``load_weights`` for the CLI: notes on stderr, messages in option names."""
    import warnings

    from .io import InputWarning, load_weights

    rows = True if args.rows else (False if getattr(args, "columns", False) else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            return load_weights(path, rows=rows, normalize=args.normalize, key=args.key)
        except ValueError as exc:
            raise CLIError(_cli_terms(" ".join(str(exc).split()))) from None
        finally:   # notes first, also before an error they may explain
            for w in caught:
                if issubclass(w.category, InputWarning):
                    print(f"spherecodes: note: {_cli_terms(str(w.message))}", file=sys.stderr)


def _cmd_measure(args):
    W = _load_code_file(args.file, args)
    d, K = W.shape
    m = measure_code(W, rtol=args.rtol)
    if not (args.json and args.full):
        m.pop("distances")
    obj = {"file": str(args.file), **m}
    lines = _measure_lines(m, f"{args.file}: {K} classes in R^{d}" + (" (rows)" if args.rows else ""))
    if args.reference or args.gnc2:
        if args.reference:
            from .io import load_weights

            try:
                Wr = load_weights(args.reference, rows=False)
            except ValueError as exc:
                raise CLIError(f"--reference: {_cli_terms(' '.join(str(exc).split()))}") from None
            if Wr.shape != W.shape:
                raise CLIError(f"--reference has shape {Wr.shape}, expected {W.shape} (d, K)")
            opt = measure_code(Wr)["rho_one_vs_rest"]
            kind, source = "reference", f"reference {args.reference}"
        else:
            opt, source = known_optimum(d, K)
            kind = "optimum"
            if opt is None:
                with _ExecutorScope(args) as ex:
                    code, elapsed = _run_solver("softmax", d, K, args, executor=ex)
                opt = code.rho_one_vs_rest
                # a search's best is a lower bound on the optimum, never the optimum itself
                kind = "best found"
                source = (f"numeric Softmax Code, best of the restarts in {elapsed:.1f} s: "
                          "a lower bound on the optimum")
                # certified: optimum >= that code's rho_lower, and this code's rho <= its rho_upper
                gap_lower = code.rho_lower - m["rho_upper"]
        gap = opt - m["rho_one_vs_rest"]
        obj["gnc2"] = {"optimum": opt if kind == "optimum" else None, "compared_with": kind,
                       "compared_rho": opt, "source": source, "gap": gap,
                       "ratio": m["rho_one_vs_rest"] / opt if opt > 0 else None}
        label = {"optimum": "optimum rho", "reference": "reference rho", "best found": "best rho found"}[kind]
        note = ""
        if kind == "best found":
            obj["gnc2"]["gap_to_optimum_at_least"] = gap_lower
            note = f"  (certified: the gap to the optimum is at least {round_down(gap_lower, '.4g')})"
        lines += [
            f"  GNC2: {label:<20}: {opt:.12f}  [{source}]",
            f"        gap (that - rho)    : {gap:.3e}  "
            f"(ratio {m['rho_one_vs_rest'] / opt if opt > 0 else float('nan'):.6f}){note}",
        ]
    _emit(args, obj, lines)
    return 0


def _cmd_plot(args):
    from .plotting import plot_code

    out = Path(args.out) if args.out else Path(Path(args.file).stem + ".png")
    _check_out(out, force=args.force, suffixes=(".png", ".svg", ".pdf"))
    W = _load_code_file(args.file, args)
    d, K = W.shape
    plot_code(W, path=out, title=args.title if args.title is not None else
              f"{Path(args.file).name}: {K} classes in R^{d}", dpi=args.dpi)
    _emit(args, {"file": str(args.file), "d": d, "K": K, "saved": str(out)},
          [f"{args.file}: {K} classes in R^{d}", f"  figure saved to           : {out}"])
    return 0


def _cmd_bounds(args):
    from ._validation import check_dims
    from .bounds import theorem39_bounds

    d, K = check_dims(args.d, args.K)
    if d < 2:
        raise CLIError("bounds: Theorem 3.9 needs d >= 2")
    b = theorem39_bounds(d, K, warn=False)
    obj = {"d": d, "K": K, "theorem39_lower": _finite(b.lower), "theorem39_upper": _finite(b.upper),
           "theorem39_upper_raw": _finite(b.upper_raw), "theorem39_applicable": bool(b.applicable),
           "theorem39_condition": b.condition}
    opt, why = known_optimum(d, K)
    obj["known_optimum"], obj["known_optimum_reason"] = opt, why
    lines = [f"Bounds on max rho one-vs-rest over OB({d}, {K})",
             f"  Theorem 3.9 lower         : {round_down(b.lower, '.12g')}",
             f"  Theorem 3.9 upper         : {round_up(b.upper, '.12g')}"
             + ("" if b.upper_raw == b.upper else f"  (capped at 2; eq. (13) gives {round_up(b.upper_raw, '.6g')})"),
             f"  Theorem 3.9 applies       : {'yes' if b.applicable else 'NO, bounds not guaranteed'}"
             f"  ({b.condition})"]
    if opt is not None:
        lines.append(f"  exact optimum             : {opt:.12f}  [{why}]")
    run = args.optimum == "always" or (args.optimum == "auto" and opt is None and d * K <= args.cheap)
    if run:
        with _ExecutorScope(args) as ex:
            code, elapsed = _run_solver("softmax", d, K, args, executor=ex)
        m = measure_code(code, rtol=code.rattler_rtol)
        # the certificate brackets this code's rho; the optimum is at least its lower end
        obj["numeric_best"] = m["rho_one_vs_rest"]
        obj["numeric_certificate"] = [m["rho_lower"], m["rho_upper"]]
        obj["numeric_time"] = elapsed
        lines.append(f"  numeric, best found       : {m['rho_one_vs_rest']:.12f}  "
                     f"(certificate of this code {bracket(m['rho_lower'], m['rho_upper'], '.12f')}, "
                     f"{elapsed:.1f} s; the optimum is at least {round_down(m['rho_lower'], '.12f')})")
    elif opt is None and args.optimum == "auto":
        dk = f"{d * K:.6g}" if d * K < 1e300 else f"{Decimal(d * K):.3e}"    # past the doubles too
        lines.append(f"  numeric, best found       : skipped (d*K = {dk} > {args.cheap}; use --optimum always)")
    if args.target_rho is not None:
        tr = _size_dimension(K, args.target_rho)
        obj.update(tr)
        suff = (f"d >= {tr['d_sufficient']} suffices (Theorem 3.3 or the 3.9 lower bound)"
                if tr["d_sufficient"] is not None else "no d up to 2^20 is guaranteed to reach it")
        nec = (f"d >= {tr['d_necessary']} is necessary (Theorem 3.3 or the 3.9 upper bound)"
               if tr["d_necessary"] is not None else "no d reaches it (rho* <= K/(K-1) for every d)")
        lines.append(f"  for rho >= {args.target_rho:g}: {suff}; {nec}")
    _emit(args, obj, lines)
    return 0


def _size_dimension(K: int, rho: float, d_max: int = 1 << 20) -> dict:
    """:func:`spherecodes.bounds.dimension_bounds` for ``--target-rho``, as output fields."""
    from .bounds import dimension_bounds

    if not (0 < rho <= 2):
        raise CLIError(f"--target-rho must be in (0, 2], got {rho}")
    b = dimension_bounds(K, rho, max_d=d_max)
    return {"target_rho": rho, "d_sufficient": b.sufficient, "d_necessary": b.necessary}


def _compare_lines(r: dict) -> list[str]:
    yn = lambda b: "yes" if b else "NO"  # noqa: E731
    return [
        f"Tammes vs Softmax for d={r['d']}, K={r['K']}",
        f"  {'':28}{'Softmax Code':>18}{'Tammes code':>18}",
        f"  {'rho one-vs-rest':28}{r['rho_softmax']:>18.12f}{r['rho_tammes']:>18.12f}",
        f"  {'  certificate lower':28}{round_down(r['rho_softmax_lower'], '.12f'):>18}"
        f"{round_down(r['rho_tammes_lower'], '.12f'):>18}",
        f"  {'  certificate upper':28}{round_up(r['rho_softmax_upper'], '.12f'):>18}"
        f"{round_up(r['rho_tammes_upper'], '.12f'):>18}",
        f"  {'rho one-vs-one':28}{r['softmax_ovo']:>18.12f}{r['tammes_ovo']:>18.12f}",
        f"  {'rattlers':28}{r['rattlers_softmax']:>18d}{r['rattlers_tammes']:>18d}",
        f"  {'time [s]':28}{r['time_softmax']:>18.2f}{r['time_tammes']:>18.2f}",
        f"  1 - t* (Tammes)             : {r['one_minus_t']:.12f}",
        f"  agree to {AGREE_TOL:g}             : {yn(r['agree'])}  (difference {r['difference']:.3e})",
        f"  Tammes rho = 1 - t*         : {yn(r['tammes_tight'])}",
    ] + ([f"  known optimum               : {r['known_optimum']:.12f}"] if r["known_optimum"] is not None else [])


def _cmd_compare(args):
    from ._validation import check_dims

    d, K = check_dims(args.d, args.K)
    _check_size(d, K)
    if args.save_dir is not None and Path(args.save_dir).exists() and not Path(args.save_dir).is_dir():
        raise CLIError(f"--save-dir {args.save_dir!r} is a file, not a folder")     # before any work
    with _ExecutorScope(args) as ex:
        r = compare_cell(d, K, restarts=args.restarts, seed=cell_seed(args.seed, d, K), time_limit=args.time_limit,
                         method=args.method, save_dir=args.save_dir, rtol=args.rtol, executor=ex)
    _emit(args, r, _compare_lines(r))
    return 0


def _table_cell(d, K, seed, kw):
    return compare_cell(d, K, seed=seed, **kw)


def _cmd_table(args):
    from ._validation import check_dims
    from .io import write_csv_atomic

    _check_out(args.out, force=args.force, suffixes=(".csv",))     # before the sweep, as everywhere
    ds = parse_range(args.d, "--d")
    cells = []
    for d in ds:
        Ks = parse_range(args.K, "--K") if args.K else range(d + 2, args.K_max + 1)
        if len(cells) + len(Ks) > MAX_RANGE:
            raise CLIError(f"the sweep has more than {MAX_RANGE} cells (check --d/--K/--K-max)")
        for K in Ks:
            check_dims(d, K)
            _check_size(d, K)
            cells.append((d, K))
    if not cells:
        raise CLIError("the sweep is empty (check --d/--K/--K-max)")
    rows = []
    from .executor import get_executor, submit_unordered

    workers = args.workers if args.workers is not None else (1 if len(cells) == 1 else None)
    kw = dict(restarts=args.restarts, time_limit=args.time_limit, method=args.method, rtol=args.rtol)
    with get_executor(args.scheduler, max_workers=workers) as ex:
        jobs = [(d, K, cell_seed(args.seed, d, K), kw) for d, K in cells]
        bar = None
        if _show_progress(args):
            from tqdm import tqdm

            bar = tqdm(total=len(jobs), desc="cells", file=sys.stderr)
        for _, f in submit_unordered(ex, _table_cell, jobs, max_pending=None if workers != 1 else 1):
            rows.append(f.result())
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()
    rows.sort(key=lambda r: (r["d"], r["K"]))
    if args.out:
        write_csv_atomic(args.out, rows, COMPARE_FIELDS)
    agree = sum(1 for r in rows if r["agree"])
    obj = {"cells": rows, "agree": agree, "total": len(rows), "saved": args.out}
    lines = [markdown_compare_table(rows).rstrip(), "", f"{agree} of {len(rows)} cells agree to {AGREE_TOL:g}"]
    if args.out:
        lines.append(f"CSV written to {args.out}")
    _emit(args, obj, lines)
    return 0


# ---------------------------------------------------------------- the parser
def _int_at_least(text, minimum: int, what: str):
    """An integer ``>= minimum`` (``what`` names that range in the error)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < minimum:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {v}")
    return v


def _positive_int(text):
    return _int_at_least(text, 1, "positive")


def _finite_float(text, *, zero: bool):
    """A finite number > 0, or >= 0 with ``zero``."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and (v >= 0 if zero else v > 0)):
        what = "non-negative" if zero else "positive"
        raise argparse.ArgumentTypeError(f"expected a {what} finite number, got {text!r}")
    return v


def _positive_float(text):
    return _finite_float(text, zero=False)


_MAX_CLASS_COUNT = Decimal(sys.float_info.max)


def _class_count(text):
    # Decimal, not float: "1e100" is 10**100 exactly, not the integer nearest its double
    try:
        v = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number of classes, got {text!r}") from None
    if not (v.is_finite() and v == v.to_integral_value() and v >= 1):
        raise argparse.ArgumentTypeError(f"expected a positive integer number of classes, got {text!r}")
    if v > _MAX_CLASS_COUNT:      # the bounds are evaluated in floating point
        raise argparse.ArgumentTypeError(f"expected at most the largest double, about 1.8e308 classes, got {text!r}")
    return int(v)


def _nonneg_int(text):
    return _int_at_least(text, 0, "non-negative")


def _nonneg_float(text):
    """A finite number >= 0 (a spread, where 0 is the limit case, not an error)."""
    return _finite_float(text, zero=True)


def _classes(text):
    """A number of classes K >= 2, as :func:`_class_count` reads it (``1e6`` notation accepted)."""
    v = _class_count(text)
    if v < 2:
        raise argparse.ArgumentTypeError(f"expected at least 2 classes, got {text!r}")
    return v


# ------------------------------------------- option parsers shared with benchmarks/
def comma_list(item=str, *, choices=None):
    """An argparse ``type=`` for a comma-separated list: ``"a, b,c"`` -> ``[item("a"), item("b"), item("c")]``.

    ``item`` parses one stripped item (``_positive_int``, ``_nonneg_int``, ``_positive_float``
    or ``str``) and raises :class:`argparse.ArgumentTypeError` or ValueError for a bad one;
    ``choices``, when given, lists the items allowed.  An empty list or an empty item
    (``"0,,1"``, a trailing comma) is refused.  Errors are ArgumentTypeErrors, which argparse
    reports as ``argument --OPTION: MESSAGE``.
    """
    def comma_list(text):
        items = [s.strip() for s in str(text).split(",")]
        if not all(items):
            raise argparse.ArgumentTypeError(f"expected a comma-separated list without empty items, got {text!r}")
        where = f" in {text!r}" if len(items) > 1 else ""
        values = []
        for s in items:
            if choices is not None and s not in choices:
                raise argparse.ArgumentTypeError(f"unknown {s!r}{where}; choose from {', '.join(choices)}")
            try:
                values.append(item(s))
            except (argparse.ArgumentTypeError, ValueError) as exc:
                raise argparse.ArgumentTypeError(f"{_one_line(exc)}{where}") from None
        return values

    return comma_list


def parse_cells(text: str, *, sep: str = ":", groups: dict | None = None) -> list[tuple[int, int]]:
    """A comma-separated list of (d, K) cells, in order, repeats kept: ``"3:5-7,4:24"`` ->
    ``[(3, 5), (3, 6), (3, 7), (4, 24)]``.

    With ``sep=":"`` an item is ``D:K``, ``D:K1-K2`` (K1 to K2 inclusive) or ``D:K1-K2:STEP``;
    with ``sep="x"`` it is ``DxK`` (or ``DXK``) only.  ``groups`` maps a name to a list in the
    same syntax (``{"named": "4:24,4:120"}``), expanded where the name stands.  Refused, with
    :class:`argparse.ArgumentTypeError` (so that, wrapped to one argument, it serves as an
    argparse ``type=``): an empty item, a malformed one, d < 1, K < 2, STEP < 1, a range with no
    K (K2 < K1), more than ``MAX_RANGE`` cells.
    """
    syntax = ", ".join((["D:K", "D:K1-K2", "D:K1-K2:STEP"] if sep == ":" else [f"D{sep}K"]) + list(groups or ()))
    cells: list[tuple[int, int]] = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {syntax} (no empty items); "
                                             f"got {text!r}")
        if groups and item in groups:
            cells += parse_cells(groups[item], sep=sep)
            continue
        bits = item.lower().split(sep)
        try:
            if len(bits) not in ((2, 3) if sep == ":" else (2,)):
                raise ValueError
            lo, dash, hi = bits[1].partition("-") if sep == ":" else (bits[1], "", "")
            d, K1, K2 = int(bits[0]), int(lo), int(hi if dash else lo)
            step = int(bits[2]) if len(bits) == 3 else 1
        except ValueError:
            where = f" in {text!r}" if item != str(text).strip() else ""
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {syntax}; "
                                             f"got {item!r}{where}") from None
        for ok, need in ((d >= 1, "d >= 1"), (min(K1, K2) >= 2, "K >= 2"), (step >= 1, "STEP >= 1")):
            if not ok:
                raise argparse.ArgumentTypeError(f"cell {item!r}: need {need}")
        span = range(K1, K2 + 1, step)
        if not span:
            raise argparse.ArgumentTypeError(f"cell {item!r}: no K from {K1} up to {K2}")
        if len(cells) + len(span) > MAX_RANGE:
            raise argparse.ArgumentTypeError(f"{text!r} has more than {MAX_RANGE} cells")
        cells += [(d, K) for K in span]
    return cells


class ScriptParser(argparse.ArgumentParser):
    """argparse for the scripts in benchmarks/: a bad argument is one line on stderr
    (``PROG: error: MESSAGE``) and exit status 2, as the ``spherecodes`` command answers."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line on stderr and exit status 2."""

    def error(self, message):
        raise CLIError(f"{self.prog}: error: {message}", 2)


def _add_output(p, *, full=True):
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    if full:
        p.add_argument("--full", action="store_true", help="with --json, include per-class distances (and W)")
    p.add_argument("--rtol", type=_positive_float, default=1e-6,
                   help="relative tolerance for rattlers (default 1e-6)")


def _add_input(p):
    """The input-file options shared by ``measure`` and ``plot``."""
    p.add_argument("file", help=".npz (saved code, or array W), .npy, .pt/.pth checkpoint, .safetensors, "
                                ".csv or text matrix")
    layout = p.add_mutually_exclusive_group()
    layout.add_argument("--rows", action="store_true", help="classes are rows, shape (K, d) (as nn.Linear.weight)")
    layout.add_argument("--columns", action="store_true",
                        help="classes are columns, shape (d, K) (the default; silences the note when d > K)")
    p.add_argument("--normalize", action="store_true", help="rescale class vectors to unit norm")
    p.add_argument("--key", default=None,
                   help="array name in an .npz, tensor name in a checkpoint or .safetensors (e.g. fc.weight)")


def _add_solver(p, *, dims=True, out=True):
    if dims:
        p.add_argument("-d", type=_positive_int, required=True, help="feature dimension d >= 1")
        p.add_argument("-K", type=_positive_int, required=True, help="number of classes K >= 2")
    p.add_argument("--restarts", type=_positive_int, default=None, help="random restarts (default: solver's)")
    p.add_argument("--seed", type=_nonneg_int, default=None, help="random seed (reproducible runs)")
    p.add_argument("--time-limit", type=_positive_float, default=None, metavar="SECONDS",
                   help="wall-clock seconds for the whole solve, final polish included (default: "
                        "30 + K (d - 1) / 2, at most 300, unless --restarts is given)")
    p.add_argument("--method", default="auto", choices=("auto", "numeric"),
                   help="auto: the closed form where Theorem 3.3 gives one; numeric: always search (default auto)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr: elapsed time against the budget and the best value so far "
                        "(default: on when stderr is a terminal)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="local worker processes for the restarts (1: in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (needs the 'distributed' package)")
    if out:
        p.add_argument("--out", default=None, metavar="FILE.npz", help="save the code (.npz; checked before solving)")
        p.add_argument("--force", action="store_true", help="overwrite an existing --out file")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``spherecodes`` command."""
    from . import __version__

    parser = _Parser(prog="spherecodes", description="Softmax Codes, Tammes codes and generalized neural collapse.",
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="Codes are (d, K) matrices with unit columns. See `spherecodes SUBCOMMAND --help`.")
    parser.add_argument("--version", action="version", version=f"spherecodes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("softmax-code", help="find a Softmax Code: max over OB(d,K) of rho one-vs-rest (Def. 2.1)")
    _add_solver(p)
    _add_output(p)
    p.set_defaults(func=lambda a: _cmd_solve(a, "softmax"))

    p = sub.add_parser("tammes", help="find a Tammes code: max over OB(d,K) of rho one-vs-one (Eq. 11)")
    _add_solver(p)
    _add_output(p)
    p.set_defaults(func=lambda a: _cmd_solve(a, "tammes"))

    p = sub.add_parser("hardmax", help="solve the HardMax problem (5) for W and H")
    _add_solver(p)
    p.add_argument("-n", type=_positive_int, default=1, help="samples per class (default 1)")
    _add_output(p, full=False)
    p.set_defaults(func=_cmd_hardmax)

    p = sub.add_parser("measure", help="separation of a code or a trained classifier's weights")
    _add_input(p)
    p.add_argument("--gnc2", action="store_true",
                   help="compare with the optimum (closed form if known, else a numeric Softmax Code)")
    p.add_argument("--reference", default=None, metavar="FILE",
                   help="use this saved code's rho as the optimum for GNC2")
    _add_solver(p, dims=False, out=False)
    _add_output(p)
    p.set_defaults(func=_cmd_measure)

    p = sub.add_parser("plot", help="a picture of a code: sphere (d = 2, 3), Gram matrix, one-vs-rest histogram")
    _add_input(p)
    p.add_argument("--out", default=None, metavar="FILE.png",
                   help="image file, .png, .svg or .pdf (default: FILE's name with .png, in this folder)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--title", default=None, help="figure title")
    p.add_argument("--dpi", type=_positive_int, default=150, help="resolution of a PNG, 10 to 1200 (default 150)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("bounds", help="Theorem 3.9 bounds (plus a numeric search when cheap)")
    p.add_argument("-d", type=_positive_int, required=True, help="feature dimension d >= 2")
    p.add_argument("-K", type=_class_count, required=True, help="number of classes (1e6 notation accepted)")
    p.add_argument("--optimum", choices=("auto", "always", "never"), default="auto",
                   help="search for a Softmax Code (its rho is a lower bound on the optimum): "
                        "auto = when d*K <= --cheap and no closed form")
    p.add_argument("--cheap", type=_positive_int, default=200, help="d*K limit for --optimum auto (default 200)")
    p.add_argument("--target-rho", type=_positive_float, default=None, metavar="RHO",
                   help="also report the d range that Theorem 3.9 allows for margin RHO at this K")
    _add_solver(p, dims=False, out=False)
    _add_output(p, full=False)
    p.set_defaults(func=_cmd_bounds)

    p = sub.add_parser("compare", help="Tammes code vs Softmax Code side by side")
    _add_solver(p, out=False)
    p.add_argument("--save-dir", default=None, metavar="DIR", help="save both codes (.npz) in DIR")
    _add_output(p, full=False)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("table", help="a sweep of compare over d and K (Markdown table, --out CSV)")
    # -d/-K as in every other subcommand; --d/--K kept
    p.add_argument("-d", "--d", dest="d", default="3:4",
                   help="dimensions: N, A:B (inclusive), A:B:STEP or a,b,c (default 3:4)")
    p.add_argument("-K", "--K", dest="K", default=None, help="class counts (same syntax); default d+2 .. --K-max")
    p.add_argument("--K-max", type=_positive_int, default=8, help="largest K when --K is not given (default 8)")
    _add_solver(p, dims=False, out=False)
    p.add_argument("--out", default=None, metavar="FILE.csv", help="write the rows as CSV")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    _add_output(p, full=False)
    p.set_defaults(func=_cmd_table)

    p = sub.add_parser("train", help="UFM / network experiments (spherecodes.train; needs torch)", add_help=False)
    p.set_defaults(func=None)
    return parser


def _delegate_train(argv):
    try:
        from .train.cli import main as train_main
    except ImportError as exc:
        raise CLIError(f"spherecodes train: unavailable ({exc})", 1) from None
    rc = train_main(list(argv))
    return 0 if rc is None else int(rc)


def main(argv=None) -> int:
    """Entry point of the ``spherecodes`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    import warnings

    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        if not sys.warnoptions:          # -W or PYTHONWARNINGS given: the user's filters rule
            warnings.simplefilter("once")    # e.g. compare's two solvers on one closed-form cell: one line
        return _main(argv)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line on stderr: ``spherecodes: warning: ...``."""
    print(f"spherecodes: warning: {_one_line(message)}", file=sys.stderr if file is None else file)


def _main(argv) -> int:
    try:
        if argv and argv[0] == "train":
            return _delegate_train(argv[1:])
        parser = build_parser()
        if not argv:  # a bare command: the list of subcommands, not an error about a missing one
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except CLIError as exc:
        msg = str(exc)
        print(msg if msg.startswith("spherecodes") else f"spherecodes: error: {msg}", file=sys.stderr)
        return exc.status
    except ValueError as exc:
        print(f"spherecodes: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("spherecodes: error: not enough memory for a problem this size (MemoryError); "
              "use smaller -d/-K/-n or a larger machine", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1
    except OSError as exc:
        print(f"spherecodes: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"spherecodes: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("spherecodes: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line unless SPHERECODES_DEBUG is set
        import os

        if os.environ.get("SPHERECODES_DEBUG"):
            raise
        print(f"spherecodes: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(set SPHERECODES_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
