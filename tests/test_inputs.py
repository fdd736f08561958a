"""Issue 12 items 1-3 and issue 11 items 4-7: layouts, torch and float32 input, real files, plots, CSV
reading that never guesses, numba caches that fall back, one-line load errors, and the fuzz script."""
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import spherecodes as sc
from spherecodes import cli
from spherecodes.io import InputWarning, load_matrix, load_weights

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def random_code(d, K, seed):
    W = np.random.default_rng(seed).standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def run_cli(capsys, *argv):
    """``spherecodes ARGV`` in this process: (exit status, stdout, stderr)."""
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    return e


# --------------------------------------------------------------------------------------------
# 1. both layouts, torch and float32

def test_rows_and_columns_give_identical_measures():
    W = random_code(5, 14, 0)
    R = np.ascontiguousarray(W.T)
    a = sc.one_vs_rest_distances(W)
    b = sc.one_vs_rest_distances(R, layout="rows")
    assert np.array_equal(a.distance, b.distance) and np.array_equal(a.lower, b.lower)
    assert b.layout == "rows" and np.array_equal(b.nearest, a.nearest.T)
    for fn in (sc.rho_one_vs_rest, sc.rho_one_vs_one, sc.max_inner_product, sc.min_angle, sc.gnc2):
        assert fn(R, layout="rows") == fn(W)
    assert np.array_equal(sc.rattlers(R, layout="rows", rtol=1e-3), sc.rattlers(W, rtol=1e-3))
    s = sc.separation(R, layout="rows", one_vs_rest=b)
    assert s.rho_one_vs_rest == a.rho
    assert np.array_equal(sc.optimal_features(R, layout="rows"), sc.optimal_features(W).T)
    # independent: the largest off-diagonal Gram entry and the closest pair, by brute force
    G = W.T @ W - 2 * np.eye(14)
    assert sc.max_inner_product(R, layout="rows") == pytest.approx(G.max(), abs=1e-15)
    code = sc.SphereCode.from_W(R, layout="rows")
    assert np.array_equal(code.W, W) and code.rho_one_vs_rest == a.rho


def test_rows_of_a_hexagon_match_the_closed_form():
    R = sc.polygon(6).T                                      # (K, d)
    assert sc.rho_one_vs_rest(R, layout="rows") == pytest.approx(1 - np.cos(2 * np.pi / 6), abs=1e-14)
    res = sc.distance_to_hull(np.zeros(2), np.eye(2), layout="rows")
    assert res.distance == pytest.approx(np.sqrt(0.5), abs=1e-15)


def test_collapse_metrics_in_pytorch_layout_match_numpy_formulas():
    rng = np.random.default_rng(1)
    d, K, n = 6, 4, 5
    W = random_code(d, K, 2)
    y = np.repeat(np.arange(K), n)
    H = W[:, y] + 0.05 * rng.standard_normal((d, K * n))
    Hr, Wr = H.T.copy(), W.T.copy()
    means = np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)
    assert np.allclose(sc.class_means(Hr, y, layout="rows"), means.T, atol=1e-15)
    mu = means / np.linalg.norm(means, axis=0)
    gnc3 = np.mean(1 - np.sum(W * mu, axis=0))
    assert sc.gnc3(Wr, Hr, y, layout="rows") == pytest.approx(gnc3, rel=1e-12)
    R = H - means[:, y]
    SW = R @ R.T / (K * n)
    SB = means @ means.T / K
    gnc1 = np.trace(SW @ np.linalg.pinv(SB)) / K
    m = sc.gnc_metrics(Wr, Hr, y, layout="rows")
    assert m.gnc1 == pytest.approx(gnc1, rel=1e-8)
    assert m.gnc2 == sc.gnc2(W) and m.gnc3 == pytest.approx(gnc3, rel=1e-12)
    with pytest.raises(ValueError, match=r"H is \(N, d\), W is \(K, d\)"):
        sc.gnc3(Wr, Hr[:, :5], y, layout="rows")


def test_torch_tensors_float32_and_bfloat16():
    torch = pytest.importorskip("torch")
    W = random_code(8, 20, 3)
    lin = torch.nn.Linear(8, 20, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.nn.functional.normalize(torch.tensor(W.T, dtype=torch.float32), dim=1))
    ref = sc.one_vs_rest_distances(lin.weight.detach().double().numpy(), layout="rows", normalize=True)
    res = sc.one_vs_rest_distances(lin.weight, layout="rows")      # requires_grad, float32: accepted
    assert np.allclose(res.distance, ref.distance, rtol=0, atol=1e-14)
    b16 = torch.nn.functional.normalize(torch.tensor(W.T), dim=1).to(torch.bfloat16)
    assert sc.rho_one_vs_rest(b16, layout="rows") == pytest.approx(
        sc.rho_one_vs_rest(b16.float().numpy().T, normalize=True), abs=1e-14)
    y = torch.arange(20).repeat(2)
    H = lin.weight.detach()[y] + 0.01
    assert sc.gnc1(H, y, layout="rows") == pytest.approx(sc.gnc1(H.double().numpy().T, y.numpy()), rel=1e-6)


def test_float32_unit_tolerance_scales_with_precision_and_dimension():
    from spherecodes._validation import UNIT_NORM_ATOL, as_code, unit_norm_atol

    x = np.zeros(768, np.float32)
    x[:2] = [0.6, 0.8]          # in float32 (0.6000000238, 0.8000000119): norm 1 + 2.4e-8 in float64
    norm = float(np.linalg.norm(x.astype(np.float64)))
    assert 1e-8 < norm - 1 < 1e-7
    W32 = np.stack([x, np.roll(x, 5)], axis=1)
    assert np.allclose(np.linalg.norm(as_code(W32), axis=0), 1.0, atol=1e-15)   # renormalized in float64
    with pytest.raises(ValueError, match=r"column 0 has norm .*float32"):
        as_code(W32.astype(np.float64))
    bad = W32.copy()
    bad[5, 1] += np.float32(1e-3)
    with pytest.raises(ValueError, match="column 1 has norm"):
        as_code(bad)
    u32 = 2.0 ** -24
    assert unit_norm_atol(u32, 768) == pytest.approx((4 * np.sqrt(768) + 4) * u32)
    assert unit_norm_atol(2.0 ** -53, 768) == UNIT_NORM_ATOL


def test_messages_speak_the_users_layout_and_options(tmp_path, capsys):
    R = random_code(4, 80, 5).T.copy()
    R[70] *= 1.001
    with pytest.raises(ValueError, match="row 70 has norm .*pass normalize=True"):
        sc.rho_one_vs_rest(R, layout="rows")
    N = R[:6].copy()
    N[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"W\[3, 1\] = nan"):
        sc.rho_one_vs_rest(N, layout="rows")
    with pytest.raises(ValueError, match="layout must be 'columns' or 'rows'"):
        sc.rho_one_vs_rest(R, layout="row")
    np.save(tmp_path / "w.npy", R)
    rc, _, err = run_cli(capsys, "measure", tmp_path / "w.npy", "--rows")
    assert rc == 2 and "row 70 has norm" in err and "--normalize" in err and "normalize=True" not in err
    # read as columns, a PyTorch-style (K, d) weight is named as the likely slip, once
    with pytest.raises(ValueError, match="column [0-9]+ has norm .*pass layout='rows'"):
        sc.rho_one_vs_rest(R)
    with pytest.raises(ValueError, match="row 70 has norm") as exc:
        sc.rho_one_vs_rest(R, layout="rows")
    assert "layout=" not in str(exc.value)
    rc, _, err = run_cli(capsys, "measure", tmp_path / "w.npy")
    assert rc == 2 and err.count("--rows") == 1 and "layout=" not in err
    # where the user passed layout="rows" already, or no layout is offered, nothing suggests it
    acc = sc.StreamingCollapse()
    acc.update(R[:8], np.arange(8) % 4)
    with pytest.raises(ValueError, match="row 0 has norm") as exc:
        acc.statistics().gnc2(R[:4] * 2.0, layout="rows")
    assert "layout=" not in str(exc.value)
    from spherecodes.solvers.overlap import relax

    with pytest.raises(ValueError, match="column 0 has norm") as exc:
        relax(R[:3].T * 2.0, 0.5)
    assert "layout=" not in str(exc.value)
    with pytest.raises(ValueError, match=r"H has N=4 columns \(H is \(d, N\)\); .*pass layout='rows'"):
        sc.gnc1(R, np.zeros(80, dtype=int))


def test_nothing_outside_train_imports_torch():
    code = ("import sys, numpy as np, spherecodes as sc, spherecodes.io, spherecodes.plotting, spherecodes.cli\n"
            "sc.rho_one_vs_rest(sc.polygon(5)); sc.gnc1(np.eye(3), [0, 1, 1])\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([PY, "-c", code], check=True, env=env(), timeout=120)


def test_one_layout_check_for_every_module():
    """pairwise, margins and streaming used a copy of the layout handling (_tensors.py): a layout
    of the wrong type was a ValueError there and a NaN in PyTorch's layout was named by its index in
    the transposed array.  Now they speak as check_array does everywhere else."""
    from spherecodes.streaming import NCCAgreement

    calls = [lambda lay: sc.cdnv(np.eye(3), np.ones(3), layout=lay),
             lambda lay: sc.distance_between_hulls(np.eye(2), np.eye(2), layout=lay),
             lambda lay: sc.feature_margins(np.eye(3), [0, 1, 1], layout=lay),
             lambda lay: NCCAgreement(np.eye(3), layout=lay),
             lambda lay: sc.rho_one_vs_rest(np.eye(3), layout=lay)]
    for call in calls:
        with pytest.raises(TypeError, match="layout must be 'columns' or 'rows', got 3 \\(int\\)"):
            call(3)
        with pytest.raises(ValueError, match="layout must be 'columns' or 'rows', got 'row'"):
            call("row")
    A = np.zeros((5, 2))                       # 5 points in R^2 as rows
    A[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"A\[3, 1\] = nan"):
        sc.distance_between_hulls(A, np.ones((1, 2)), layout="rows")
    M = np.eye(3)
    M[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"means\[2, 0\] = inf"):
        sc.uniformity(M, layout="rows")
    with pytest.raises(ValueError, match=r"labels y has length 2 but H has N=3 rows \(H is \(N, d\)\)"):
        sc.feature_margins(np.eye(3), [0, 1], layout="rows")


# --------------------------------------------------------------------------------------------
# 2. real files: checkpoints and safetensors

def test_state_dict_checkpoint_measured_by_key(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    E = sc.simplex_etf(3, 4)                              # rho = K / (K - 1) = 4/3
    sd = {"state_dict": {"module.backbone.weight": torch.zeros(5, 3),
                         "module.fc.weight": torch.tensor(E.T), "module.fc.bias": torch.zeros(4)}}
    torch.save(sd, tmp_path / "ckpt.pth")
    W = load_weights(tmp_path / "ckpt.pth", key="fc.weight", rows=True)
    assert sc.rho_one_vs_rest(W) == pytest.approx(4 / 3, abs=1e-14)
    rc, out, err = run_cli(capsys, "measure", tmp_path / "ckpt.pth", "--key", "fc.weight", "--rows", "--json")
    assert rc == 0 and json.loads(out)["rho_one_vs_rest"] == pytest.approx(4 / 3, abs=1e-14)
    rc, _, err = run_cli(capsys, "measure", tmp_path / "ckpt.pth", "--rows")        # two 2-D tensors
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "ckpt.pth" in err
    assert "state_dict.module.backbone.weight (5, 3)" in err and "state_dict.module.fc.weight (4, 3)" in err
    with pytest.raises(ValueError, match=r"no tensor named 'fc.wieght'; 2-D tensors: .*\(4, 3\)"):
        load_weights(tmp_path / "ckpt.pth", key="fc.wieght", rows=True)
    torch.save({"a.weight": torch.tensor(E.T), "b.a.weight": torch.tensor(E.T)}, tmp_path / "amb.pt")
    assert np.array_equal(load_weights(tmp_path / "amb.pt", key="a.weight", rows=True), E)   # exact name
    with pytest.raises(ValueError, match=r"key 'weight' is ambiguous: a\.weight \(4, 3\), b\.a\.weight"):
        load_weights(tmp_path / "amb.pt", key="weight", rows=True)


def test_checkpoint_with_pickled_objects_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    import argparse

    torch.save({"fc.weight": torch.eye(3), "cfg": argparse.Namespace(lr=0.1)}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"m\.pt: torch\.load\(weights_only=True\) refused"):
        load_weights(tmp_path / "m.pt")


def test_safetensors_and_a_clear_message_without_the_package(tmp_path, monkeypatch):
    pytest.importorskip("safetensors")
    from safetensors.numpy import save_file

    save_file({"head.weight": np.ascontiguousarray(sc.polygon(5).T)}, str(tmp_path / "w.safetensors"))
    W = load_weights(tmp_path / "w.safetensors", rows=True)
    assert sc.rho_one_vs_rest(W) == pytest.approx(1 - np.cos(2 * np.pi / 5), abs=1e-14)
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ValueError, match=r"w\.safetensors: reading \.safetensors needs the 'safetensors' package"):
        load_weights(tmp_path / "w.safetensors", rows=True)


# --------------------------------------------------------------------------------------------
# 3. plots

def test_plot_code_draws_rho_and_writes_png_and_svg(tmp_path):
    fig = sc.plot_code(sc.icosahedron(), path=tmp_path / "ico.png")
    png = (tmp_path / "ico.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert len(fig.axes) >= 3
    # the red segment of the sphere view joins a codeword to its nearest hull point: length rho
    seg = [ln for ln in fig.axes[0].get_lines() if "rho" in ln.get_label()][0]
    x, y, z = (np.asarray(a, float) for a in seg.get_data_3d())
    assert np.hypot(np.hypot(x[1] - x[0], y[1] - y[0]), z[1] - z[0]) == pytest.approx(1 - 1 / np.sqrt(5), abs=1e-12)
    sc.SphereCode.from_W(random_code(6, 30, 0)).plot(tmp_path / "r.svg")
    assert b"<svg" in (tmp_path / "r.svg").read_bytes()[:400]
    with pytest.raises(ValueError, match="path must end in"):
        sc.plot_code(sc.polygon(5), path=tmp_path / "x.jpg")
    assert not list(tmp_path.glob(".*tmp"))                      # atomic: no temporary left


def test_cli_plot(tmp_path, capsys):
    sc.SphereCode.from_W(sc.polygon(7)).save(tmp_path / "p.npz")
    out = tmp_path / "p.png"
    rc, stdout, _ = run_cli(capsys, "plot", tmp_path / "p.npz", "--out", out)
    assert rc == 0 and out.stat().st_size > 5000 and str(out) in stdout
    rc, _, err = run_cli(capsys, "plot", tmp_path / "p.npz", "--out", out)
    assert rc == 2 and "--force" in err
    rc, _, err = run_cli(capsys, "plot", tmp_path / "p.npz", "--out", tmp_path / "p.gif")
    assert rc == 2 and ".png" in err


# --------------------------------------------------------------------------------------------
# 4. CSV that never guesses silently

def _csv_text(M):
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in M)


def test_csv_bom_header_and_pandas_index(tmp_path):
    E = sc.simplex_etf(3, 4)                                  # rows of E.T: 4 classes in R^3, rho 4/3
    (tmp_path / "bom.csv").write_text("\ufeff" + _csv_text(E.T), encoding="utf-8")
    assert np.array_equal(load_weights(tmp_path / "bom.csv", rows=True), E)
    # as pandas.DataFrame(E.T).to_csv writes it: an index column and ",0,1,2" column names
    body = _csv_text(E.T).splitlines()
    (tmp_path / "pandas.csv").write_text(",0,1,2\n" + "".join(f"{i},{ln}\n" for i, ln in enumerate(body)))
    with pytest.warns(InputWarning, match="pandas index"):
        W = load_weights(tmp_path / "pandas.csv", rows=True)
    assert sc.rho_one_vs_rest(W) == pytest.approx(4 / 3, abs=1e-14)      # not "4 classes in R^4"
    (tmp_path / "noindex.csv").write_text("0,1,2\n" + _csv_text(E.T))    # to_csv(index=False)
    with pytest.warns(InputWarning, match="column names"):
        assert np.array_equal(load_weights(tmp_path / "noindex.csv", rows=True), E)
    (tmp_path / "named.csv").write_text("x,y,z\n" + _csv_text(E.T))
    with pytest.warns(InputWarning, match="header"):
        assert np.array_equal(load_weights(tmp_path / "named.csv", rows=True), E)


def test_csv_bad_fields_are_named_not_dropped(tmp_path):
    E = sc.simplex_etf(3, 4)
    lines = _csv_text(E.T).splitlines()
    (tmp_path / "typo.csv").write_text("\n".join([lines[0].replace(",", "x,", 1)] + lines[1:]) + "\n")
    with pytest.raises(ValueError, match=r"typo\.csv: line 1, column 1: '.*x' is not a number"):
        load_matrix(tmp_path / "typo.csv")
    fields = lines[2].split(",")
    (tmp_path / "gap.csv").write_text("# comment\n" + "\n".join(lines[:2] + [",".join([fields[0], "", fields[2]])]))
    with pytest.raises(ValueError, match=r"line 4, column 2: '' is empty"):
        load_matrix(tmp_path / "gap.csv")
    (tmp_path / "ragged.csv").write_text("\n".join(lines[:2] + [lines[2] + ",1.0"]))
    with pytest.raises(ValueError, match="line 3 has 4 fields, line 1 has 3"):
        load_matrix(tmp_path / "ragged.csv")
    (tmp_path / "idx.csv").write_text(",0,1,2\n" + "".join(f"{i + 2}," + ln + "\n" for i, ln in enumerate(lines)))
    with pytest.raises(ValueError, match="not 0, 1, ..., n-1"):
        load_matrix(tmp_path / "idx.csv")


def test_longer_axis_read_as_d_is_noted(tmp_path, capsys):
    R = random_code(5, 12, 0).T                                  # (K, d) = (12, 5) written as rows
    np.save(tmp_path / "rows.npy", R)
    with pytest.warns(InputWarning, match=r"K=5 classes in R\^12"):
        load_weights(tmp_path / "rows.npy", normalize=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        load_weights(tmp_path / "rows.npy", rows=False, normalize=True)
        load_weights(tmp_path / "rows.npy", layout="rows")
    rc, _, err = run_cli(capsys, "measure", tmp_path / "rows.npy", "--normalize")
    assert rc == 0 and "spherecodes: note:" in err and "--rows" in err and "rows=True" not in err


# --------------------------------------------------------------------------------------------
# 5. numba caches that fall back

TINY = ("from spherecodes._jit import njit\n\n\n@njit(cache=True, nogil=True)\ndef f(x):\n"
        "    return 2.0 * x + 1.0\n")


def _run_tiny(folder, extra_env=None):
    e = env()
    e["PYTHONPATH"] = f"{ROOT}{os.pathsep}{folder}"
    e.pop("NUMBA_CACHE_DIR", None)
    e.update(extra_env or {})
    return subprocess.run([PY, "-W", "always", "-c", "import tiny; print(tiny.f(3.0), tiny.f.stats.cache_path)"],
                          capture_output=True, text=True, env=e, timeout=120)


def test_numba_cache_without_any_writable_folder(tmp_path):
    pkg = tmp_path / "ro"
    pkg.mkdir()
    (pkg / "tiny.py").write_text(TINY)
    (pkg / "__pycache__").write_text("a file where numba wants its folder")   # blocks even root
    (tmp_path / "home_cache").write_text("not a folder")
    pkg.chmod(0o555)
    try:
        p = _run_tiny(pkg, {"XDG_CACHE_HOME": str(tmp_path / "home_cache")})
    finally:
        pkg.chmod(0o755)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["7.0", "None"]                   # computed, no cache used


def test_corrupt_numba_cache_file_is_replaced(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY)
    assert _run_tiny(tmp_path).stdout.split()[0] == "7.0"
    (index,) = (tmp_path / "__pycache__").glob("tiny.f-*.nbi")
    index.write_bytes(b"")                                      # emptied: EOFError in stock numba
    p = _run_tiny(tmp_path)
    assert p.returncode == 0 and p.stdout.split()[0] == "7.0", p.stderr
    assert "CacheWarning" in p.stderr and "removed; recompiling" in p.stderr
    assert index.stat().st_size > 0                              # rewritten by the recompile


def test_kernels_without_reference_counting_compute_the_same_and_cannot_allocate():
    import numba
    import numpy as np

    from spherecodes._jit import njit

    def scale(a, out):
        for i in range(a.shape[0]):
            out[i] = 2.0 * a[i] + 1.0
        return out[-1]

    a = np.arange(5.0)
    out = np.empty(5)
    assert njit(refcount=False)(scale)(a, out) == 9.0 and out.tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]

    def alloc(n):
        return np.zeros(n).sum()

    assert njit()(alloc)(3) == 0.0
    # the flag is live: without reference counting numba refuses to allocate (else the speed is gone)
    with pytest.raises(numba.core.errors.NumbaError):
        njit(refcount=False)(alloc)(3)


def _package_copy(tmp_path):
    sc.one_vs_rest_distances(sc.polygon(5))                     # the in-tree cache is filled (or was)
    dst = tmp_path / "site" / "spherecodes"
    shutil.copytree(ROOT / "spherecodes", dst, ignore=shutil.ignore_patterns("*.pyc"))
    return dst


_OVR = ("import numpy as np, spherecodes as sc\n"
        "r = sc.one_vs_rest_distances(sc.polygon(7)).rho\n"
        "assert abs(r - (1 - np.cos(2 * np.pi / 7))) < 1e-13, r\nprint('ok')")


def test_read_only_package_copy_runs_and_corrupt_index_recovers(tmp_path):
    dst = _package_copy(tmp_path)
    e = env()
    e["PYTHONPATH"] = str(dst.parent)
    for p in dst.rglob("*"):
        p.chmod(0o555 if p.is_dir() else 0o444)
    dst.chmod(0o555)
    try:
        p = subprocess.run([PY, "-c", _OVR], capture_output=True, text=True, env=e, timeout=600)
        assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]
    finally:
        for q in [dst, *dst.rglob("*")]:
            q.chmod(0o755 if q.is_dir() else 0o644)
    for idx in (dst / "__pycache__").glob("_wolfe._two_sum-*.nbi"):
        idx.write_bytes(b"\x80\x04garbage")                     # UnpicklingError in stock numba
    p = subprocess.run([PY, "-c", _OVR], capture_output=True, text=True, env=e, timeout=600)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]


@pytest.mark.slow
def test_package_without_any_cache_folder_compiles_and_runs(tmp_path):
    dst = _package_copy(tmp_path)
    shutil.rmtree(dst / "__pycache__", ignore_errors=True)
    (dst / "__pycache__").write_text("blocked")
    (tmp_path / "cache_file").write_text("blocked")
    e = env()
    e.update(PYTHONPATH=str(dst.parent), XDG_CACHE_HOME=str(tmp_path / "cache_file"))
    e.pop("NUMBA_CACHE_DIR", None)
    p = subprocess.run([PY, "-c", _OVR], capture_output=True, text=True, env=e, timeout=900)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]


# --------------------------------------------------------------------------------------------
# 6. load errors: one line naming the file, exit 2, no allocation, no hang

def _bad_files(tmp_path):
    good = sc.SphereCode.from_W(sc.polygon(5)).save(tmp_path / "good.npz").read_bytes()
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "trunc.npz").write_bytes(good[: len(good) // 2])
    (tmp_path / "folder.npz").mkdir()
    os.mkfifo(tmp_path / "pipe.npz")
    import io as _io

    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    (tmp_path / "huge.npy").write_bytes(buf.getvalue() + b"\0" * 80)
    import zipfile

    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
        z.writestr("W.npy", buf.getvalue() + b"\0" * 80)
        z.writestr("metadata.npy", buf.getvalue())
    return {"missing.npz": "file not found", "empty.npz": "is empty", "trunc.npz": "not a valid .npz",
            "folder.npz": "is a directory", "pipe.npz": "not a regular file",
            "huge.npy": "declares shape (1000000000000,)", "huge.npz": "declares shape (1000000000000,)"}


def test_load_errors_name_the_file_in_one_line(tmp_path, capsys):
    for name, words in _bad_files(tmp_path).items():
        path = tmp_path / name
        if name != "huge.npy":
            with pytest.raises(ValueError) as info:
                sc.SphereCode.load(path)
            msg = str(info.value)
            assert name in msg and "\n" not in msg, msg
            assert words in msg or name == "huge.npz", msg
        rc, _, err = run_cli(capsys, "measure", path)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and name in err and words in err, err


def test_malformed_metadata_is_one_line(tmp_path):
    path = sc.SphereCode.from_W(sc.polygon(5)).save(tmp_path / "c.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["metadata"]))
    for edit, words in ((lambda m: {**m, "problem": "bogus"}, "problem 'bogus'"),
                        (lambda m: {k: v for k, v in m.items() if k != "rho_lower"}, "no 'rho_lower'"),
                        (lambda m: {**m, "restarts": "x"}, "'restarts' is str"),
                        (lambda m: "[" * 50000 + "]" * 50000, "malformed metadata")):
        new = edit(meta)
        np.savez(tmp_path / "bad.npz", **{**arrays, "metadata": np.array(new if isinstance(new, str)
                                                                          else json.dumps(new))})
        with pytest.raises(ValueError, match="bad.npz") as info:
            sc.SphereCode.load(tmp_path / "bad.npz")
        assert words in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------------------------
# 7. the fuzz script: a small seeded sample here, the whole run with -m slow

# the fast sample leaves out `spherecodes train` (a case may start a short training run)
def test_fuzz_sample_finds_nothing():
    p = subprocess.run([PY, str(ROOT / "benchmarks" / "fuzz_cli.py"), "--seed", "1", "--sample", "3",
                        "--skip", "train"], capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "tried 6 cases" in p.stdout and "none gave a traceback" in p.stdout


@pytest.mark.slow
def test_fuzz_full_run_finds_nothing():
    p = subprocess.run([PY, str(ROOT / "benchmarks" / "fuzz_cli.py"), "--seed", "0", "--jobs", "2"],
                       capture_output=True, text=True, env=env(), timeout=3600)
    assert p.returncode == 0, p.stdout[-5000:]
