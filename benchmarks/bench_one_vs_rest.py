"""Speed, accuracy and memory of the exact one-vs-rest distances.

Prints, all measured in this one run (machines are noisy, so only ratios
against baselines timed in the same process mean anything):

1. time ratio against cvxpy/Clarabel, the problem compiled once with
   parameters and re-solved for every class, at (d=10, K=100) (ours: the
   fastest of the calls that fit in 0.5 s; cvxpy: the fastest of the loops
   that fit in 1 s, at least five: a disturbed loop would flatter the ratio),
   on a random code and on a polished Tammes code (20 s search, seed 0), the
   kind of code the polish calls it on;
2. time ratio and error of a re-implementation of the paper's estimate
   (projected subgradient ascent on the dual, 10^4 steps, all classes batched);
3. time ratio against the BLAS Gram product ``W.T @ W`` at (64, 2048) and
   (128, 8192) (numpy's syrk path is skipped past K = 8192: OpenBLAS 0.3.31 was
   seen to segfault in it at K = 20000);
4. peak memory (fresh subprocess) against the size of the K x K Gram matrix;
5. cold start in a fresh process: import + first call, numba cache warm and cold;
6. the time of a whole call at small K, and how much of it the compiled kernel takes
   (the rest is validation, the transposed copy and the Gram product, allocation,
   dispatch and the result object).

Usage::

    python benchmarks/bench_one_vs_rest.py            # the default set
    python benchmarks/bench_one_vs_rest.py --large    # also d=512, K=20000
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from spherecodes import one_vs_rest_distances
from spherecodes.cli import ScriptParser, _positive_int


def random_code(d, K, seed=0):
    W = np.random.default_rng(seed).standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def polished_code(d, K, seed=0):
    """A Tammes code from a 20 s search on one core: the kind of code the polish calls the kernel
    on (its contacts share a hyperplane with each codeword, which makes the kernel pivot)."""
    from spherecodes import tammes_code

    return tammes_code(d, K, seed=seed, time_limit=20.0, executor="serial").W


def best_time(fn, repeat=5):
    """Minimum wall time over ``repeat`` calls (the least disturbed run)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def best_time_budget(fn, seconds=0.5, min_repeat=5):
    """Minimum wall time over as many calls as fit in ``seconds`` (at least ``min_repeat``).

    For calls of a millisecond or less on a shared machine five calls are
    often all disturbed; like ``timeit``'s autorange, repeat for a fixed
    budget and keep the least disturbed call.
    """
    times = []
    start = time.perf_counter()
    while len(times) < min_repeat or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cvxpy_loop(W):
    """One-vs-rest distances by cvxpy: one parametrized problem, re-solved per class."""
    import cvxpy as cp

    d, K = W.shape
    A = cp.Parameter((d, K - 1))
    v = cp.Parameter(d)
    lam = cp.Variable(K - 1, nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.norm(A @ lam - v)), [cp.sum(lam) == 1])

    def run():
        out = np.empty(K)
        for k in range(K):
            A.value = np.delete(W, k, axis=1)
            v.value = W[:, k]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prob.solve(solver="CLARABEL")
            out[k] = prob.value
        return out

    run_first = time.perf_counter()
    first = run()   # compiles the problem once
    compile_and_first = time.perf_counter() - run_first
    return run, first, compile_and_first


def against_cvxpy(W, label, report, key):
    """Print and record the time ratio of ours against :func:`cvxpy_loop` on ``W``; returns
    ``(our seconds, our result)``."""
    one_vs_rest_distances(W)                      # JIT warm-up (or cache load)
    ours = best_time_budget(lambda: one_vs_rest_distances(W))
    exact = one_vs_rest_distances(W)
    run, ref, t_compile = cvxpy_loop(W)
    t_cvx = best_time_budget(run, seconds=1.0)
    diff = float(np.max(np.abs(exact.distance - ref)))
    print(f"{label}: ours {ours * 1e3:.3f} ms   cvxpy loop {t_cvx * 1e3:.1f} ms (first call incl. compile "
          f"{t_compile * 1e3:.0f} ms)   ratio {t_cvx / ours:.0f}x   target >= 1000x")
    print(f"  max |ours - cvxpy| = {diff:.2e}; max certificate width = {np.max(exact.upper - exact.lower):.2e}; "
          f"{int(exact.converged.sum())} of {W.shape[1]} classes converged")
    report[key] = dict(ours_s=ours, cvxpy_s=t_cvx, ratio=t_cvx / ours, max_abs_diff=diff)
    return ours, exact


def subgradient_estimate(W, steps=10_000, step0=0.5):
    """The paper's estimate: projected subgradient ascent on the dual, all classes at once.

    dist(w_k, conv{w_j}) = max_{||u|| <= 1} min_{j != k} <u, w_k - w_j>; every
    iterate gives a lower bound, the best one is returned (no certificate).
    """
    d, K = W.shape
    U = W.copy()
    best = np.full(K, -np.inf)
    idx = np.arange(K)
    for t in range(1, steps + 1):
        G = W.T @ U                       # G[j, k] = <w_j, u_k>
        G[idx, idx] = -np.inf
        j = np.argmax(G, axis=0)
        val = np.einsum("ij,ij->j", W, U) - G[j, idx]
        best = np.maximum(best, val)
        U += (step0 / np.sqrt(t)) * (W - W[:, j])
        U /= np.maximum(1.0, np.linalg.norm(U, axis=0))
    return best


def per_call_overhead(d, K):
    """Seconds of a whole ``one_vs_rest_distances`` call on a random ``(d, K)`` code, and of its
    compiled kernel alone on the same code (Gram path, arrays prepared beforehand)."""
    from spherecodes import hull

    W = random_code(d, K)
    one_vs_rest_distances(W)
    call = best_time_budget(lambda: one_vs_rest_distances(W))
    WT = np.ascontiguousarray(W.T)
    G = WT @ W
    out = hull._gram_outputs(K, d)
    ks = np.arange(K)
    m0 = hull._default_neighbors(d, K)
    solve = hull._kernel().solve_classes_gram
    kernel = best_time_budget(lambda: solve(WT, W, G, ks, m0, 1e-12, *out))
    return call, kernel


def peak_memory(d, K):
    """Peak resident memory (MiB) of a fresh process during the call, and the Gram size.

    The kernel's high-water mark (VmHWM) is reset just before the call, so the
    peak counts the call only on top of what the process already held.
    """
    code = (
        "import numpy as np\n"
        "from spherecodes import one_vs_rest_distances\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key):\n"
        "            return int(line.split()[1]) / 1024\n"
        f"W = np.random.default_rng(0).standard_normal(({d}, {K})); W /= np.linalg.norm(W, axis=0)\n"
        "one_vs_rest_distances(W[:, :50])\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "base = status('VmRSS')\n"
        "one_vs_rest_distances(W)\n"
        "print(base, status('VmHWM'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    base, peak = map(float, out.stdout.split())
    return base, peak, K * K * 8 / 2**20


def cold_start(cache_dir=None):
    """Seconds for import + first call in a fresh process."""
    code = (
        "import time; t = time.perf_counter()\n"
        "import numpy as np\n"
        "from spherecodes import one_vs_rest_distances\n"
        "t_import = time.perf_counter() - t\n"
        "W = np.random.default_rng(0).standard_normal((3, 20)); W /= np.linalg.norm(W, axis=0)\n"
        "one_vs_rest_distances(W)\n"
        "print(t_import, time.perf_counter() - t)\n"
    )
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return tuple(map(float, out.stdout.split()))


def main(argv=None):
    ap = ScriptParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--large", action="store_true", help="also run d=512, K=20000")
    ap.add_argument("--steps", type=_positive_int, default=10_000, help="subgradient steps (paper: 10^4)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    report = {}

    print("== (d=10, K=100) against cvxpy/Clarabel, compiled once, looped over classes")
    W = random_code(10, 100)
    ours, exact = against_cvxpy(W, "random code", report, "cvxpy")
    polished = polished_code(10, 100)
    against_cvxpy(polished, "Tammes code (tammes_code(10, 100, seed=0, time_limit=20))", report, "cvxpy_polished")

    t = time.perf_counter()
    est = subgradient_estimate(W, steps=args.steps)
    t_sub = time.perf_counter() - t
    err = exact.distance - est
    print(f"== paper's subgradient estimate ({args.steps} projected steps, all classes batched)")
    print(f"time {t_sub:.2f} s   ratio {t_sub / ours:.0f}x   error of the estimate: "
          f"max {err.max():.2e}, mean {err.mean():.2e}, rho error {exact.rho - est.min():.2e}")
    report["subgradient"] = dict(seconds=t_sub, ratio=t_sub / ours, max_error=float(err.max()),
                                 rho_error=float(exact.rho - est.min()))

    sizes = [(64, 2048), (128, 8192)] + ([(512, 20000)] if args.large else [])
    print("== against the BLAS Gram product W.T @ W (same process; the faster of numpy's syrk"
          " path `W.T @ W` and a plain GEMM `WT @ W`)")
    for d, K in sizes:
        W = random_code(d, K, seed=1)
        WT = np.ascontiguousarray(W.T)
        t_gram = min(best_time(lambda: W.T @ W, repeat=5) if K <= 8192 else np.inf,
                     best_time(lambda: WT @ W, repeat=3))
        reps = 3 if K <= 8192 else 1
        t1 = best_time(lambda: one_vs_rest_distances(W), repeat=reps)
        t2 = best_time(lambda: one_vs_rest_distances(W, n_jobs=2), repeat=reps)
        res = one_vs_rest_distances(W, n_jobs=2)
        print(f"(d={d}, K={K}): gram {t_gram * 1e3:.1f} ms   ours {t1 * 1e3:.0f} ms (1 thread) "
              f"{t2 * 1e3:.0f} ms (2 threads)   ratio {t1 / t_gram:.1f}x / {t2 / t_gram:.1f}x   "
              f"rho {res.rho:.6f}   max gap {np.max(res.upper - res.lower):.1e}   "
              f"converged {res.converged.all()}")
        report[f"gram_{d}_{K}"] = dict(gram_s=t_gram, ours_1_s=t1, ours_2_s=t2,
                                      ratio_1=t1 / t_gram, ratio_2=t2 / t_gram)

    print("== peak memory (fresh process, VmHWM reset before the call)")
    for d, K in sizes[1:]:
        base, peak, gram = peak_memory(d, K)
        print(f"(d={d}, K={K}): peak RSS {peak:.0f} MiB (before the call {base:.0f} MiB, "
              f"increase {peak - base:.0f} MiB); one K x K Gram matrix would be {gram:.0f} MiB")
        report[f"memory_{d}_{K}"] = dict(base_mib=base, peak_mib=peak, gram_mib=gram)

    print("== a whole call at small K against its compiled kernel (same process)")
    for d, K in [(3, 5), (3, 20), (10, 100)]:
        call, kernel = per_call_overhead(d, K)
        print(f"(d={d}, K={K}): call {call * 1e6:.1f} us   kernel {kernel * 1e6:.1f} us   "
              f"the rest {(call - kernel) * 1e6:.1f} us")
        report[f"call_{d}_{K}"] = dict(call_s=call, kernel_s=kernel)

    print("== cold start in a fresh process: import + first call (d=3, K=20)")
    warm = cold_start()
    with tempfile.TemporaryDirectory() as tmp:
        cold = cold_start(cache_dir=tmp)
    print(f"numba cache warm: import {warm[0]:.2f} s, import + first call {warm[1]:.2f} s")
    print(f"numba cache cold: import {cold[0]:.2f} s, import + first call {cold[1]:.2f} s")
    report["cold_start"] = dict(warm=warm, cold=cold)
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(report, fh, indent=2)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
