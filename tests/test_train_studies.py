"""Studies (Figure 2 and Section 5 analogs) in tiny configurations, through the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import torch  # pinned in the test extra: a broken install must fail, not skip

from reference import cvxpy_one_vs_rest
from spherecodes.train.cli import main
from spherecodes.train.studies import rotate_images, summarize

torch.set_num_threads(1)


def cvx_rho(W):
    """min_k dist(w_k, conv{w_j: j != k}) by cvxpy/Clarabel (independent of the package)."""
    return min(cvxpy_one_vs_rest(W, k) for k in range(W.shape[1]))


def test_digits_temperature_study_gnc_every_epoch_and_summary(tmp_path, capsys):
    out = tmp_path / "ts"
    rc = main(["temperature-study", "--dims", "5", "--taus", "0.1", "--seeds", "0", "--epochs", "3",
               "--gnc-every", "1", "--protocols", "fixed", "--no-ufm-reference", "--out", str(out),
               "--device", "cpu"])
    assert rc == 0
    printed = capsys.readouterr().out
    # progress line per run, the summary table and the closing summary line
    assert "[1/1] fixed_d5_tau0.1_seed0" in printed
    assert "| protocol | d | tau | seeds |" in printed and "== summary: 1 experiment(s)" in printed
    hist = json.loads((out / "runs" / "fixed_d5_tau0.1_seed0" / "history.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    for h in hist:  # GNC metrics at every epoch
        assert all(math.isfinite(h[k]) for k in ("gnc1", "gnc2", "gnc3"))
    # GNC2 is rho one-vs-rest of the saved classifier (cvxpy, independent)
    W = np.load(out / "runs" / "fixed_d5_tau0.1_seed0" / "W.npy")
    assert hist[-1]["gnc2"] == pytest.approx(cvx_rho(W), abs=1e-6)
    # (5, 10): d + 1 < K <= 2d, the optimum is exactly 1 (Theorem 3.3)
    row = json.loads((out / "temperature_study.json").read_text())["rows"][0]
    assert row["softmax_code_rho"] == 1.0
    assert (out / "temperature_study.png").stat().st_size > 1000
    assert (out / "temperature_study_summary.md").read_text().count("\n| fixed | 5 | 0.1 | 1 |") == 1


def test_finetune_study_runs_and_summarizes(tmp_path, capsys):
    rc = main(["finetune", "--seeds", "0", "--pretrain-epochs", "1", "--finetune-epochs", "1", "--feature-dim", "4",
               "--out", str(tmp_path), "--device", "cpu"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| method | seeds | train_acc | id_acc | ood_rotated_acc | ood_noisy_acc |" in printed
    rows = json.loads((tmp_path / "finetune.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["probe_cmf", "learned", "cmf"]
    assert all(0.0 <= r["id_acc"] <= 1.0 for r in rows)


def test_rotate_images_quarter_turn_is_rot90():
    x = np.random.default_rng(0).random((2, 64)).astype(np.float32)
    r = rotate_images(x, [90.0, -90.0], background=0.0)
    np.testing.assert_allclose(r[0], np.rot90(x[0].reshape(8, 8)).ravel(), atol=1e-6)
    np.testing.assert_allclose(r[1], np.rot90(x[1].reshape(8, 8), -1).ravel(), atol=1e-6)
    np.testing.assert_array_equal(rotate_images(x, [0.0, 0.0], background=0.0), x)


def test_summarize_mean_std():
    rows = [{"m": "a", "v": 1.0}, {"m": "a", "v": 3.0}, {"m": "b", "v": 5.0}]
    s = summarize(rows, ("m",), ("v",))
    assert s[0] == {"m": "a", "n": 2, "v_mean": 2.0, "v_std": 1.0, "v_min": 1.0, "v_max": 3.0}
    assert s[1]["v_std"] == 0.0


def _load_script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figure2_recipe_fails_early_without_gpu_or_data(tmp_path, capsys):
    recipe = _load_script("figure2_cifar100")
    args = ["--data-root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]
    if not torch.cuda.is_available():
        assert recipe.main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no CUDA GPU" in err
    assert recipe.main(args + ["--allow-cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CIFAR-100" in err and "missing" in err and "downloaded" in err
    assert not (tmp_path / "o").exists()


def test_paired_differences_by_seed():
    from spherecodes.train.studies import paired_differences

    rows = [{"method": "learned", "seed": 0, "a": 0.5}, {"method": "cmf", "seed": 0, "a": 0.75},
            {"method": "learned", "seed": 1, "a": 0.5}, {"method": "cmf", "seed": 1, "a": 0.25},
            {"method": "cmf", "seed": 2, "a": 1.0}]  # seed 2 has no baseline: not paired
    assert paired_differences(rows, ["a"])["a"] == (0.0, 0.25, 1, 0, 2)
