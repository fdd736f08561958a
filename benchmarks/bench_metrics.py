#!/usr/bin/env python
"""Collapse metrics at language-model scale: certified GNC2, streaming GNC1/GNC3/NC4, against dense torch.

Synthetic data with a seed: K random unit class means in R^d (float32), a
classifier ``W`` near them (unit rows, float32), and N features
``h = mu_y + noise * g / sqrt(d)`` generated batch by batch (every class
present).  In one run, each task in its own spawned child process (so
``peak MiB`` is that task's own peak resident memory, ``ru_maxrss``):

* ``gnc2``: certified ``rho_one_vs_rest(W)`` by :func:`spherecodes.one_vs_rest_distances`
  (float32 rows accepted; blocked hull kernel above 23,170 classes), with its
  bracket ``[lower, upper]``;
* ``stream``: one pass of :class:`spherecodes.StreamingCollapse` over the
  batches (class means, within-class scatter, float64), then GNC1 and GNC3,
  then a second pass of :class:`spherecodes.NCCAgreement` for NC4 over the
  first ``--nc4-samples`` features (optionally CDNV and uniformity);
* ``dense``: the same metrics the way the torch toolboxes compute them: all
  N features in memory as one float32 tensor, ``Sigma_W`` and ``Sigma_B`` as
  dense ``d x d``, ``torch.linalg.pinv``, NC4 from full score matrices, and
  the full ``K x K`` Gram matrix of ``W`` (its ``1 - max <w_i, w_j>`` is a
  lower bound on GNC2, not GNC2) and the ``K x K`` CDNV / uniformity grids.

Usage::

    python benchmarks/bench_metrics.py                                 # K = 29,233, d = 768, N = 300,000
    python benchmarks/bench_metrics.py --K 2000 --d 128 --N 20000      # quick check (~1 minute)
    python benchmarks/bench_metrics.py --tasks gnc2 --threads 2        # one task

Memory: the dense task holds the N x d features (0.9 GiB at full size) and
K x K float32 matrices (3.4 GiB each at K = 29,233; at most two at a time).
The streaming task holds O(K d + d^2) plus one batch and its K scores.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from spherecodes import cli  # noqa: E402

TASKS = ("gnc2", "stream", "dense")


# --------------------------------------------------------------------------- synthetic data
def class_means(K, d, seed):
    """K random unit vectors in R^d as float32 rows ``(K, d)``."""
    M = np.random.default_rng([seed, 0]).standard_normal((K, d))
    return (M / np.linalg.norm(M, axis=1, keepdims=True)).astype(np.float32)


def classifier(K, d, seed):
    """A classifier near the class means: unit float32 rows ``(K, d)``."""
    W = class_means(K, d, seed).astype(np.float64)
    W += 0.3 / math.sqrt(d) * np.random.default_rng([seed, 1]).standard_normal((K, d))
    return (W / np.linalg.norm(W, axis=1, keepdims=True)).astype(np.float32)


def labels(K, N, seed):
    """Every class at least once when N >= K, in a seeded order."""
    y = np.arange(N, dtype=np.int64) % K
    np.random.default_rng([seed, 2]).shuffle(y)
    return y


def batches(K, d, N, batch, noise, seed, limit=None):
    """Yield ``(features float32 (B, d), labels (B,))``, the same for every task."""
    M = class_means(K, d, seed)
    y = labels(K, N, seed)
    stop = N if limit is None else min(N, limit)
    for b0 in range(0, stop, batch):
        yb = y[b0:min(stop, b0 + batch)]
        g = np.random.default_rng([seed, 3, b0]).standard_normal((yb.size, d), dtype=np.float32)
        yield M[yb] + np.float32(noise / math.sqrt(d)) * g, yb


# --------------------------------------------------------------------------- child tasks
def _peak_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # KiB on Linux


def _cpu_seconds():
    """CPU time of this process, all threads (user + system): the work done, whatever the load."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _torch_threads(threads):
    import torch
    torch.set_num_threads(threads)
    return torch


def task_gnc2(a):
    from spherecodes import one_vs_rest_distances

    W = classifier(a["K"], a["d"], a["seed"])                  # float32 rows, as a checkpoint holds them
    cpu0 = _cpu_seconds()
    t = time.perf_counter()
    res = one_vs_rest_distances(W.T, normalize=True, tol=a["tol"], n_jobs=a["threads"])
    return dict(seconds=time.perf_counter() - t, cpu=_cpu_seconds() - cpu0, peak=_peak_mib(), rho=res.rho, lower=res.rho_lower,
                upper=res.rho_upper, converged=int(res.converged.sum()), K=a["K"])


def task_stream(a):
    from spherecodes import NCCAgreement, StreamingCollapse

    K, d, N = a["K"], a["d"], a["N"]
    W = classifier(K, d, a["seed"])
    out = {}
    t = time.perf_counter()
    acc = StreamingCollapse(K)
    for h, y in batches(K, d, N, a["batch"], a["noise"], a["seed"]):
        acc.update(h, y)
    st = acc.statistics()
    out["pass1_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    out["gnc1"] = st.gnc1()
    out["gnc1_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    out["gnc3"] = st.gnc3(W, normalize=True)
    out["gnc3_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    nc4 = NCCAgreement(st.means, W=W, normalize=True)
    for h, _ in batches(K, d, N, a["batch"], a["noise"], a["seed"], limit=a["nc4_samples"]):
        nc4.update(h)
    out.update(nc4=nc4.value, nc4_samples=nc4.n_samples, nc4_seconds=time.perf_counter() - t)
    if a["pairwise"]:
        t = time.perf_counter()
        out["cdnv"] = st.cdnv()
        out["uniformity"] = st.uniformity()
        out["pairwise_seconds"] = time.perf_counter() - t
    out["peak"] = _peak_mib()
    out["cpu"] = _cpu_seconds()
    return out


def task_dense(a):
    torch = _torch_threads(a["threads"])
    K, d, N = a["K"], a["d"], a["N"]
    out = {}
    t = time.perf_counter()
    H = torch.empty((N, d), dtype=torch.float32)
    Y = torch.empty(N, dtype=torch.int64)
    i = 0
    for h, y in batches(K, d, N, a["batch"], a["noise"], a["seed"]):
        H[i:i + len(y)] = torch.from_numpy(h)
        Y[i:i + len(y)] = torch.from_numpy(y)
        i += len(y)
    out["load_seconds"] = time.perf_counter() - t
    W = torch.from_numpy(classifier(K, d, a["seed"]))
    t = time.perf_counter()
    counts = torch.bincount(Y, minlength=K).to(torch.float32)
    M = torch.zeros((K, d)).index_add_(0, Y, H) / counts[:, None]
    R = H - M[Y]
    Sw = R.T @ R / N
    sq = torch.zeros(K).index_add_(0, Y, (R * R).sum(1)) if a["pairwise"] else None
    del R
    Sb = M.T @ M / K
    out["gnc1"] = float(torch.trace(Sw @ torch.linalg.pinv(Sb)) / K)
    out["gnc1_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    Mn = M / M.norm(dim=1, keepdim=True)
    out["gnc3"] = float((1 - (W * Mn).sum(1)).mean())
    out["gnc3_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    n4 = min(N, a["nc4_samples"])
    msq = (M * M).sum(1)
    hits = 0
    step = max(1, 2 ** 24 // K)
    for i0 in range(0, n4, step):
        h = H[i0:min(n4, i0 + step)]
        ncc = ((h * h).sum(1, keepdim=True) - 2 * h @ M.T + msq).argmin(1)
        lin = (h @ W.T).argmax(1)
        hits += int((ncc == lin).sum())
    out.update(nc4=hits / n4, nc4_samples=n4, nc4_seconds=time.perf_counter() - t)
    del H
    t = time.perf_counter()
    G = W @ W.T                                                    # K x K
    G.fill_diagonal_(-2.0)
    out["hyperplane_bound"] = float(1 - G.max())
    del G
    out["gram_seconds"] = time.perf_counter() - t
    if a["pairwise"]:
        t = time.perf_counter()
        D2 = (msq[:, None] + msq[None, :] - 2 * M @ M.T).clamp_min_(0)       # K x K
        num = (sq / counts)[:, None] + (sq / counts)[None, :]
        grid = num / (2 * D2)
        grid.fill_diagonal_(0)
        out["cdnv"] = float(grid.sum() / (K * (K - 1)))
        del grid, num, D2
        U = Mn @ Mn.T
        E = torch.exp(-2 * (2 - 2 * U))
        E.fill_diagonal_(0)
        out["uniformity"] = float(torch.log(E.sum() / (K * (K - 1))))
        del E, U
        out["pairwise_seconds"] = time.perf_counter() - t
    out["peak"] = _peak_mib()
    out["cpu"] = _cpu_seconds()
    return out


# --------------------------------------------------------------------------- driver
def _run(ctx, fn, a):
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, a).result()


def _load():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv=None):
    p = cli.ScriptParser(description=__doc__.split("\n\n")[0],
                         epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--K", type=cli._classes, default=29233, help="number of classes (default 29233)")
    p.add_argument("--d", type=cli._positive_int, default=768, help="feature dimension (default 768)")
    p.add_argument("--N", type=cli._positive_int, default=300000, help="number of features (default 300000)")
    p.add_argument("--batch", type=cli._positive_int, default=4096, help="rows per batch (default 4096)")
    p.add_argument("--noise", type=cli._nonneg_float, default=2.0,
                   help="within-class spread of the features (default 2)")
    p.add_argument("--nc4-samples", type=cli._positive_int, default=None, help="features used for NC4 (default all N)")
    p.add_argument("--seed", type=cli._nonneg_int, default=0, help="seed of the synthetic data (default 0)")
    p.add_argument("--tol", type=cli._positive_float, default=1e-12,
                   help="relative width of the GNC2 certificates (default 1e-12)")
    p.add_argument("--threads", type=cli._positive_int, default=2,
                   help="BLAS/torch/hull threads in every child (default 2)")
    p.add_argument("--tasks", type=cli.comma_list(choices=TASKS), default=",".join(TASKS),
                   help=f"comma-separated subset of {','.join(TASKS)}")
    p.add_argument("--pairwise", action="store_true", help="also CDNV and uniformity (blocked, and K x K dense)")
    args = p.parse_args(argv)
    tasks = args.tasks
    if args.N < args.K:
        p.error(f"need N >= K (every class needs a sample), got K={args.K}, N={args.N}")
    a = dict(K=args.K, d=args.d, N=args.N, batch=args.batch, noise=args.noise, seed=args.seed, tol=args.tol,
             threads=args.threads, pairwise=args.pairwise,
             nc4_samples=args.N if args.nc4_samples is None else min(args.N, args.nc4_samples))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)   # inherited by the spawned children before numpy loads
    ctx = get_context("spawn")
    print(f"# bench_metrics: K={args.K} d={args.d} N={args.N} batch={args.batch} noise={args.noise} "
          f"seed={args.seed} threads={args.threads} nc4_samples={a['nc4_samples']} load average {_load()}",
          flush=True)
    res = {}
    for name in tasks:
        t = time.perf_counter()
        res[name] = r = _run(ctx, globals()[f"task_{name}"], a)
        wall = time.perf_counter() - t
        if name == "gnc2":
            from spherecodes.formatting import bracket

            print(f"gnc2   certified rho_one_vs_rest(W) = {r['rho']:.12f} in {bracket(r['lower'], r['upper'], '.12f')} "
                  f"({r['converged']}/{r['K']} classes converged) | {r['seconds']:.1f} s (cpu {r['cpu']:.0f} s), "
                  f"peak {r['peak']:.0f} MiB",
                  flush=True)
        else:
            parts = [f"GNC1 {r['gnc1']:.6g} ({r['gnc1_seconds']:.1f} s)", f"GNC3 {r['gnc3']:.6g} ({r['gnc3_seconds']:.1f} s)",
                     f"NC4 {r['nc4']:.6f} over {r['nc4_samples']} ({r['nc4_seconds']:.1f} s)"]
            if "pass1_seconds" in r:
                parts.insert(0, f"pass 1 {r['pass1_seconds']:.1f} s")
            if "load_seconds" in r:
                parts.insert(0, f"features in memory {r['load_seconds']:.1f} s")
            if "hyperplane_bound" in r:
                parts.append(f"K x K Gram: 1 - max<w_i,w_j> = {r['hyperplane_bound']:.6f} ({r['gram_seconds']:.1f} s)")
            if "cdnv" in r:
                parts.append(f"CDNV {r['cdnv']:.6g}, uniformity {r['uniformity']:.6f} ({r['pairwise_seconds']:.1f} s)")
            print(f"{name:6s} " + " | ".join(parts) + f" | total {wall:.1f} s (cpu {r['cpu']:.0f} s), peak {r['peak']:.0f} MiB", flush=True)
    if "stream" in res and "dense" in res:
        s, dn = res["stream"], res["dense"]
        print(f"# stream vs dense: GNC1 rel. diff {abs(s['gnc1'] - dn['gnc1']) / abs(s['gnc1']):.2e}, "
              f"GNC3 rel. diff {abs(s['gnc3'] - dn['gnc3']) / max(abs(s['gnc3']), 1e-300):.2e}, "
              f"NC4 {s['nc4']:.6f} vs {dn['nc4']:.6f} (dense in float32)", flush=True)
    print(f"# load average at the end {_load()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
