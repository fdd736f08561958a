#!/usr/bin/env python
"""Where the one-vs-rest kernel spends its time: a per-function profile under Linux ``perf``.

numba's compiled code has no symbols that ``perf`` can see.  This script compiles
the kernels in a fresh numba cache (about 30 s; a kernel loaded from the cache
keeps no record of its functions), writes their addresses to ``perf``'s map of
just-in-time code (``/tmp/perf-PID.map``), then calls
``one_vs_rest_distances`` in a loop while ``perf record`` samples this process,
and prints ``perf report``'s share of each function: Wolfe's method
(``min_norm_point_ws``), the per-class driver (``solve_classes_gram``, with the
candidate selection ``_top_m`` inlined into it), the optimality scan
(``_scan_unit``), the certified hull point (``_point_double``), numba's reference
counting (``NRT_*``), and the Python layer around them.

Functions that numba inlines (``inline="always"``, or by LLVM) are counted in their
caller; for finer detail, read ``perf annotate``-style samples against a
disassembly, or count cycles in an instrumented copy of the kernel.

Usage::

    python benchmarks/profile_kernel.py                       # random code at (10, 100)
    python benchmarks/profile_kernel.py --code tammes --seconds 20
    python benchmarks/profile_kernel.py --d 64 --K 2048 --top 20

Needs ``perf`` on the PATH and permission to sample this process
(``/proc/sys/kernel/perf_event_paranoid`` at most 2, or root).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from spherecodes.cli import ScriptParser, _nonneg_int, _positive_float, _positive_int


def kernel_symbols(module):
    """``(address, name)`` of every compiled function of the numba dispatchers in ``module``.

    Only kernels compiled in this process list their functions (a kernel loaded
    from numba's cache keeps none).  A name is the Python function's name, read
    from numba's mangled symbol; the CPython wrappers get ``_wrap`` appended.
    """
    from numba.core.registry import CPUDispatcher

    syms = set()
    for attr in dir(module):
        disp = getattr(module, attr)
        if not isinstance(disp, CPUDispatcher):
            continue
        for cres in disp.overloads.values():
            lib = cres.library
            module_ir = getattr(lib, "_final_module", None)
            for fn in (module_ir.functions if module_ir is not None else []):
                if fn.is_declaration:
                    continue
                try:
                    addr = lib.get_pointer_to_function(fn.name)
                except Exception:  # noqa: BLE001 - a symbol the engine did not emit
                    continue
                if not addr:
                    continue
                # numba mangles "<module>.<qualname>" as length-prefixed parts: 6_wolfe17min_norm_point_ws...
                m = re.search(r"_wolfe(\d+)([A-Za-z_]\w*)", fn.name)
                name = m.group(2)[:int(m.group(1))] if m else fn.name[:40]
                syms.add((addr, name + "_wrap" if fn.name.startswith("_ZN7cpython") else name))
    return sorted(syms)


def write_perf_map(syms, pid):
    """``perf``'s map of just-in-time code for process ``pid``: one ``START SIZE NAME`` line per
    function, each running to the next function's start (numba's libraries lay them out in order)."""
    path = f"/tmp/perf-{pid}.map"
    with open(path, "w") as fh:
        for i, (addr, name) in enumerate(syms):
            size = min(syms[i + 1][0] - addr, 1 << 20) if i + 1 < len(syms) else 4096
            if size > 0:
                fh.write(f"{addr:x} {size:x} {name}\n")
    return path


def main(argv=None):
    ap = ScriptParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", choices=["random", "tammes"], default="random",
                    help="a random code, or a polished Tammes code (a 20 s search) (default random)")
    ap.add_argument("--d", type=_positive_int, default=10, help="dimension (default 10)")
    ap.add_argument("--K", type=_positive_int, default=100, help="number of classes (default 100)")
    ap.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the code (default 0)")
    ap.add_argument("--seconds", type=_positive_float, default=10.0, help="seconds sampled (default 10)")
    ap.add_argument("--top", type=_positive_int, default=12, help="functions printed (default 12)")
    args = ap.parse_args(argv)
    if args.K < 2:
        ap.error(f"argument --K: must be at least 2, got {args.K}")
    perf = shutil.which("perf")
    if perf is None:
        ap.error("perf (linux-tools) is not on the PATH")

    with tempfile.TemporaryDirectory() as tmp:
        # A fresh cache: the kernels compile here, and only then list their functions.
        os.environ["NUMBA_CACHE_DIR"] = tmp
        from bench_one_vs_rest import polished_code, random_code
        from spherecodes import _wolfe, one_vs_rest_distances

        print(f"making the {args.code} code and compiling the kernels (a fresh numba cache) ...", flush=True)
        W = (random_code if args.code == "random" else polished_code)(args.d, args.K, seed=args.seed)
        one_vs_rest_distances(W)
        path = write_perf_map(kernel_symbols(_wolfe), os.getpid())
        try:
            calls, wall, rows, err = sample(perf, W, args.seconds, os.path.join(tmp, "perf.data"))
        finally:
            os.unlink(path)
    if not rows:
        sys.exit(f"perf recorded no samples of this process ({err or 'no error message'}); "
                 "try a longer --seconds")
    print(f"one_vs_rest_distances on a {args.code} code at (d={args.d}, K={args.K}): {calls} calls, "
          f"{wall / max(calls, 1) * 1e3:.3f} ms each (perf sampling included)")
    print("\n".join(ln.rstrip()[:100] for ln in rows[:args.top]))


def sample(perf, W, seconds, data):
    """Call ``one_vs_rest_distances(W)`` while ``perf record`` samples this process for ``seconds``.

    Returns ``(calls, wall seconds, report rows, perf's error text)``; the rows are
    ``perf report``'s per-function shares, empty when it recorded nothing.
    """
    from spherecodes import one_vs_rest_distances

    rec = subprocess.Popen([perf, "record", "-q", "-F", "4000", "-o", data, "-p", str(os.getpid()),
                            "--", "sleep", str(seconds)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)                       # perf attaches
    calls, t0 = 0, time.perf_counter()
    while rec.poll() is None:
        one_vs_rest_distances(W)
        calls += 1
    wall = time.perf_counter() - t0
    err = rec.stderr.read().strip()
    if rec.returncode != 0 or not os.path.exists(data):
        return calls, wall, [], err
    rep = subprocess.run([perf, "report", "-i", data, "--no-children", "--sort", "sym", "--stdio"],
                         capture_output=True, text=True)
    rows = [ln for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
    return calls, wall, rows if rep.returncode == 0 else [], err or rep.stderr.strip()


if __name__ == "__main__":
    main()
