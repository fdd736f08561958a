"""Experiments (a)-(d) in tiny configurations: files written, values checked against closed forms."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

import torch  # pinned in the test extra: a broken install must fail, not skip

from spherecodes.train import experiments as ex  # noqa: E402
from spherecodes.train.data import load_dataset  # noqa: E402
from reference import check_saved_run  # noqa: E402

torch.set_num_threads(1)


def read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def thm39(d, K):
    """Theorem 3.9 written out with math.lgamma."""
    lo = 0.5 * math.exp(2 / (d - 1) * (0.5 * math.log(math.pi) - math.log(K) + math.lgamma((d + 1) / 2)
                                       - math.lgamma(d / 2 + 1)))
    up = 2 * math.exp(1 / (d - 1) * (math.log(2 * math.sqrt(math.pi)) - math.log(K) + math.lgamma((d + 1) / 2)
                                     - math.lgamma(d / 2)))
    return lo, min(up, 2.0)


def test_a_temperature_ufm_and_network(tmp_path):
    res = ex.temperature_experiment(tmp_path, taus=(0.5, 0.05), source="both", ufm_d=2, ufm_K=6, ufm_n=2,
                                    ufm_restarts=1, ufm_steps=150, dataset="synthetic", synthetic_K=8, feature_dim=2,
                                    epochs=1, device="cpu")
    ufm, net = res
    rows = read_csv(ufm.table)
    assert [float(r["tau"]) for r in rows] == [0.5, 0.05]
    # d = 2: the hexagon, rho = 1 - cos(2 pi / 6) = 1/2 (Theorem 3.3)
    assert float(rows[-1]["rho_one_vs_rest"]) == pytest.approx(0.5, abs=1e-3)
    assert (tmp_path / "temperature_ufm.png").stat().st_size > 1000
    nrows = read_csv(net.table)
    assert len(nrows) == 2 and {"test_acc", "gnc1", "gnc2", "gnc3"} <= set(nrows[0])
    assert (tmp_path / "temperature_network.png").exists()
    assert json.loads((tmp_path / "temperature_network.json").read_text())["rows"][0]["tau"] == 0.5
    # every network row recomputed from its run folder (W.npy, checkpoint features)
    data = load_dataset("synthetic", seed=0, image=False, K=8)   # the experiment's data: seed 0
    for r in nrows:
        check_saved_run(tmp_path / "runs" / f"tau_{float(r['tau']):g}", data, 2, r)


def test_b_assignment(tmp_path):
    res = ex.assignment_experiment(tmp_path, dataset="digits", classes=(1, 7, 3, 8), seeds=(0,), epochs=1,
                                   device="cpu")
    rows = [r for r in read_csv(res.table) if r["seed"] != "mean"]
    assert len(rows) == 4
    fixed = [r for r in rows if r["classifier"].startswith("fixed")]
    assert len(fixed) == 3
    for r in fixed:
        assert float(r["gnc2"]) == pytest.approx(1.0, abs=1e-9)  # the cross-polytope: rho = 1
        # the pairs that the assignment puts on antipodal codewords
        expected = r["classifier"].split(": ")[1].replace(" opposite", "")
        assert r["opposite_pairs"] == expected
    assert {r["opposite_pairs"] for r in fixed} == {"0-1, 2-3", "0-2, 1-3", "0-3, 1-2"}
    assert (tmp_path / "assignment.png").stat().st_size > 1000


def test_c_cmf(tmp_path):
    res = ex.cmf_experiment(tmp_path, dataset="synthetic", synthetic_K=10, seeds=(0,), epochs=2, feature_dim=3,
                            device="cpu")
    rows = read_csv(res.table)
    assert {r["classifier"] for r in rows} == {"learned", "cmf"} and len(rows) == 4
    assert (tmp_path / "cmf_vs_learned.png").exists()


def test_d_feature_dim(tmp_path):
    res = ex.feature_dim_experiment(tmp_path, dims=(2, 3), dataset="synthetic", synthetic_K=12, epochs=1,
                                    softmax_restarts=1, softmax_time_limit=5.0, device="cpu")
    rows = read_csv(res.table)
    assert [int(r["d"]) for r in rows] == [2, 3]
    for r in rows:
        lo, up = thm39(int(r["d"]), 12)
        assert float(r["bound_lower"]) == pytest.approx(lo, rel=1e-10)
        assert float(r["bound_upper"]) == pytest.approx(up, rel=1e-10)
        assert r["bound_applicable"] == str(12 >= math.sqrt(2 * math.pi * math.sqrt(math.e * int(r["d"]))))
    # d = 2: the regular 12-gon, rho = 1 - cos(2 pi / 12) (Theorem 3.3); never skipped as NaN
    assert float(rows[0]["rho_softmax_code"]) == pytest.approx(1 - math.cos(2 * math.pi / 12), abs=1e-12)
    # d = 3: the icosahedron, <w_i, w_j> in {+-1/sqrt(5), -1}, rho = 1 - 1/sqrt(5) (one class suffices:
    # the code is universal, see benchmarks/universal_codes.py); one restart of 1 s reaches it
    assert float(rows[1]["rho_softmax_code"]) == pytest.approx(1 - 1 / math.sqrt(5), abs=1e-6)
    assert (tmp_path / "feature_dim.png").exists()
    # every row recomputed from its run folder (W.npy, checkpoint features)
    data = load_dataset("synthetic", seed=0, image=False, K=12)
    for r in rows:
        check_saved_run(tmp_path / "runs" / f"d{r['d']}", data, int(r["d"]), r)


@pytest.mark.slow
def test_gpu_smoke_quick_on_cpu(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_smoke.py"
    p = subprocess.run([sys.executable, str(script), "--quick", "--device", "cpu", "--threads", "1", "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads((tmp_path / "smoke.json").read_text())
    rows = report["ufm"]["rows"]
    # d=3, K=12: the icosahedron at every temperature of the quick sweep
    assert rows[-1]["rho"] == pytest.approx(1 - 1 / math.sqrt(5), abs=5e-3)
    assert report["mlp"]["samples_per_s"] > 0 and "samples/s" in p.stdout
