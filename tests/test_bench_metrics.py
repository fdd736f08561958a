"""benchmarks/bench_metrics.py in a tiny configuration: its two computations agree, its GNC2 is right.

The streaming metrics (float64, spherecodes) and the dense ones (float32
torch, written in the script the way the toolboxes compute them) are
independent computations of the same numbers; GNC2 is checked against cvxpy.
"""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("torch")


@pytest.mark.slow
def test_bench_metrics_tiny():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_metrics.py"), "--K", "30", "--d", "5",
                        "--N", "600", "--batch", "64", "--noise", "2", "--threads", "1", "--pairwise"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    num = r"([-+0-9.eE]+)"
    rho, lo, up = (float(x) for x in re.search(rf"= {num} in \[{num}, {num}\]", out).groups())
    def metrics(task):
        m = re.search(rf"^{task} .*?GNC1 {num}.*?GNC3 {num}.*?NC4 {num}.*?CDNV {num}, uniformity {num}", out, re.M)
        assert m, out
        return dict(zip(("gnc1", "gnc3", "nc4", "cdnv", "unif"), map(float, m.groups())))

    stream, dense = metrics("stream"), metrics("dense")
    for key in ("gnc1", "gnc3", "cdnv", "unif"):
        assert stream[key] == pytest.approx(dense[key], rel=1e-4), key
    assert 0.05 < stream["nc4"] < 1 and abs(stream["nc4"] - dense["nc4"]) <= 2 / 600   # float32 near-ties
    # GNC2 against cvxpy, class by class, on the script's own classifier
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_metrics import classifier
    from reference import cvxpy_one_vs_rest

    W = classifier(30, 5, 0).astype(np.float64)
    W = (W / np.linalg.norm(W, axis=1, keepdims=True)).T
    ref = min(cvxpy_one_vs_rest(W, k) for k in range(30))
    assert lo - 1e-8 <= ref <= up + 1e-8 and rho == pytest.approx(ref, abs=1e-8)
