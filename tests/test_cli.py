"""The ``spherecodes`` command, mostly through subprocesses (as a user runs it).

Expected values come from closed forms (Theorem 3.3, the icosahedron, the
Theorem 3.9 formula written out with math.lgamma) or from the cvxpy reference
in tests/reference.py, never from the CLI itself.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from reference import cvxpy_one_vs_rest

from spherecodes import cli
from spherecodes.executor import SerialExecutor, get_executor
from spherecodes.io import load_weights


def run(*args, cwd=None):
    env = dict(os.environ)
    env.pop("SPHERECODES_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "spherecodes", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


def assert_bad(proc, *words):
    """Exit status 2, one line on stderr naming the problem, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w.lower() in err.lower(), err


def icosahedron_closed_form():
    """12 vertices (0, +-1, +-phi) cyclically, normalized; built here, not by spherecodes."""
    phi = (1 + 5 ** 0.5) / 2
    pts = []
    for a in (1, -1):
        for b in (phi, -phi):
            pts += [(0, a, b), (a, b, 0), (b, 0, a)]
    W = np.array(pts, dtype=float).T
    return W / np.linalg.norm(W, axis=0)


def random_code(seed, d, K):
    W = np.random.default_rng(seed).standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def thm39(d, K):
    lo = 0.5 * math.exp(2 / (d - 1) * (math.log(math.sqrt(math.pi) / K) + math.lgamma((d + 1) / 2)
                                       - math.lgamma(d / 2 + 1)))
    up = 2 * math.exp(1 / (d - 1) * (math.log(2 * math.sqrt(math.pi) / K) + math.lgamma((d + 1) / 2)
                                     - math.lgamma(d / 2)))
    return lo, min(up, 2.0)


# ----------------------------------------------------------------- measure
def test_help_lists_every_subcommand():
    p = run("--help")
    assert p.returncode == 0
    for sub in ("softmax-code", "tammes", "hardmax", "measure", "bounds", "compare", "table", "train"):
        assert sub in p.stdout


def test_measure_icosahedron_json_matches_closed_form(tmp_path):
    W = icosahedron_closed_form()
    f = tmp_path / "ico.npy"
    np.save(f, W)
    p = run("measure", f, "--json", "--full")
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    t = 1 / 5 ** 0.5  # max inner product of the icosahedron
    assert (m["d"], m["K"]) == (3, 12)
    assert m["rho_one_vs_rest"] == pytest.approx(1 - t, abs=1e-10)
    assert m["rho_lower"] <= m["rho_one_vs_rest"] + 1e-12 <= m["rho_upper"] + 2e-12
    assert m["rho_upper"] - m["rho_lower"] < 1e-8
    assert m["rho_one_vs_one"] == pytest.approx(math.sqrt(2 - 2 * t), abs=1e-12)
    assert m["max_inner_product"] == pytest.approx(t, abs=1e-12)
    assert m["min_angle_deg"] == pytest.approx(math.degrees(math.acos(t)), abs=1e-9)
    assert m["rattlers"] == []
    assert len(m["distances"]) == 12
    # all 12 classes tie at the minimum (the icosahedron is vertex-transitive): none is singled out
    assert "(12 classes, first " in run("measure", f).stdout


def test_measure_rows_csv_against_cvxpy(tmp_path):
    W = random_code(3, 3, 7)
    f = tmp_path / "w.csv"
    np.savetxt(f, W.T, delimiter=",", header="x,y,z", comments="")  # classes are rows, with a header line
    p = run("measure", f, "--rows", "--json", "--full")
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    ref = [cvxpy_one_vs_rest(W, k) for k in range(7)]
    assert np.allclose(m["distances"], ref, atol=1e-7)
    assert m["rho_one_vs_rest"] == pytest.approx(min(ref), abs=1e-7)
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    assert m["max_inner_product"] == pytest.approx(G.max(), abs=1e-12)
    # rattlers: classes more than 1e-6 (relative) above the minimum, from the cvxpy distances
    expected = [k for k in range(7) if ref[k] > min(ref) * (1 + 1e-5)]
    assert set(expected) <= set(m["rattlers"])
    # human-readable output names the quantities
    p = run("measure", f, "--rows")
    assert p.returncode == 0 and "rho one-vs-rest" in p.stdout and "certificate" in p.stdout


def test_measure_normalize_text_and_npz_key(tmp_path):
    W = random_code(5, 4, 6)
    f = tmp_path / "w.txt"
    np.savetxt(f, 3.0 * W)  # whitespace text, non-unit columns
    assert_bad(run("measure", f), "norm")
    p = run("measure", f, "--normalize", "--json")
    assert p.returncode == 0, p.stderr
    ref = min(cvxpy_one_vs_rest(W, k) for k in range(6))
    assert json.loads(p.stdout)["rho_one_vs_rest"] == pytest.approx(ref, abs=1e-7)
    z = tmp_path / "two.npz"
    np.savez(z, a=W, b=W[:, :3])
    assert_bad(run("measure", z), "--key")
    p = run("measure", z, "--key", "b", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["K"] == 3


def test_measure_gnc2_against_closed_form_optimum(tmp_path):
    # d = 3, K = 5: optimum 1 (Theorem 3.3, d+1 < K <= 2d); a random code is below it
    W = random_code(11, 3, 5)
    f = tmp_path / "w.npy"
    np.save(f, W)
    p = run("measure", f, "--gnc2", "--json")
    assert p.returncode == 0, p.stderr
    g = json.loads(p.stdout)["gnc2"]
    rho = min(cvxpy_one_vs_rest(W, k) for k in range(5))
    assert g["optimum"] == 1.0
    assert g["gap"] == pytest.approx(1.0 - rho, abs=1e-7)


def test_measure_gnc2_numeric_search_is_not_called_the_optimum(tmp_path):
    # d = 3, K = 7: no closed form, so --gnc2 searches; its best is a lower bound on the optimum only
    W = random_code(12, 3, 7)
    f = tmp_path / "w.npy"
    np.save(f, W)
    common = ("--gnc2", "--restarts", "2", "--seed", "0", "--workers", "1", "--no-progress")
    g = json.loads(run("measure", f, "--json", *common).stdout)["gnc2"]
    assert g["optimum"] is None and g["compared_with"] == "best found"
    rho = min(cvxpy_one_vs_rest(W, k) for k in range(7))
    assert g["gap"] == pytest.approx(g["compared_rho"] - rho, abs=1e-7)
    assert g["gap_to_optimum_at_least"] <= g["compared_rho"] - rho
    text = run("measure", f, *common).stdout
    assert "best rho found" in text and "optimum rho" not in text


@pytest.mark.parametrize("args,words", [
    (("softmax-code", "-d", "3", "-K", "1"), ["K must be >= 2"]),
    (("softmax-code", "-d", "0", "-K", "5"), ["-d"]),
    (("tammes", "-d", "3", "-K", "abc"), ["-K"]),
    (("bounds", "-d", "3"), ["-K"]),
    (("bounds", "-d", "1", "-K", "5"), ["d >= 2"]),
    (("measure", "does-not-exist.npy"), ["not found"]),
    (("table", "--d", "3:x"), ["--d"]),
    (("frobnicate",), ["invalid choice"]),
])
def test_bad_arguments_exit_2_without_traceback(args, words):
    assert_bad(run(*args), *words)


def test_bad_files_exit_2(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("1,2,3\nfoo,bar,baz\nqux,1,2\n")
    assert_bad(run("measure", f), "line 2, column 1", "'foo' is not a number")
    g = tmp_path / "one.npy"
    np.save(g, np.ones(3))
    assert_bad(run("measure", g), "2-D")
    h = tmp_path / "nan.npy"
    np.save(h, np.array([[1.0, np.nan], [0.0, 1.0]]))
    assert_bad(run("measure", h), "nan")
    k = tmp_path / "tall.npy"
    np.save(k, random_code(1, 5, 1))  # one column: K = 1 unless the classes are rows
    assert_bad(run("measure", k), "rows")


def test_main_in_process_returns_2(capsys):
    assert cli.main(["softmax-code", "-d", "3"]) == 2
    err = capsys.readouterr().err
    assert "-K" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ bounds
def test_bounds_json_matches_theorem_39_formula():
    p = run("bounds", "-d", "10", "-K", "100", "--json", "--optimum", "never")
    assert p.returncode == 0, p.stderr
    b = json.loads(p.stdout)
    lo, up = thm39(10, 100)
    assert b["theorem39_lower"] == pytest.approx(lo, rel=1e-12)
    assert b["theorem39_upper"] == pytest.approx(up, rel=1e-12)
    assert b["theorem39_applicable"] is True  # 100 >= sqrt(2 pi sqrt(10 e)) = 5.72
    assert "numeric_best" not in b


def test_bounds_large_K_and_target_rho():
    p = run("bounds", "-d", "512", "-K", "1e6", "--target-rho", "0.3", "--json")
    assert p.returncode == 0, p.stderr
    b = json.loads(p.stdout)
    assert b["K"] == 10 ** 6
    lo, up = thm39(512, 10 ** 6)
    assert b["theorem39_lower"] == pytest.approx(lo, rel=1e-10)
    ds, dn = b["d_sufficient"], b["d_necessary"]
    # the smallest d with lower bound >= 0.3, and with (uncapped) upper bound >= 0.3
    assert thm39(ds, 10 ** 6)[0] >= 0.3 > thm39(ds - 1, 10 ** 6)[0]
    assert dn <= ds
    # "1e100" is 10**100 exactly (a float would give 10**100 + 1.59e83); past the doubles: exit 2
    b = json.loads(run("bounds", "-d", "3", "-K", "1e100", "--json").stdout)
    assert b["K"] == 10 ** 100
    assert_bad(run("bounds", "-d", "3", "-K", "1e100000000"), "-K", "at most")
    p = run("bounds", "-d", "3", "-K", "1.7e308")          # d*K past the largest double: printed, no error
    assert p.returncode == 0 and "d*K = 5.100e+308" in p.stdout, p.stderr


def test_bounds_numeric_search_is_labelled_a_lower_bound():
    args = ("bounds", "-d", "3", "-K", "7", "--restarts", "2", "--seed", "0", "--workers", "1", "--no-progress")
    b = json.loads(run(*args, "--json").stdout)
    assert b["known_optimum"] is None and "numeric_optimum" not in b
    lo, up = b["numeric_certificate"]
    assert lo <= b["numeric_best"] <= up
    text = run(*args).stdout
    assert "best found" in text and "optimum is at least" in text and "numeric optimum" not in text


def test_bounds_reports_closed_form_optimum():
    p = run("bounds", "-d", "3", "-K", "5", "--json")
    b = json.loads(p.stdout)
    assert b["known_optimum"] == 1.0 and "numeric_best" not in b
    p = run("bounds", "-d", "2", "-K", "7", "--json")
    assert json.loads(p.stdout)["known_optimum"] == pytest.approx(1 - math.cos(2 * math.pi / 7), abs=1e-15)


# ------------------------------------------------------------------ solvers
def test_softmax_code_simplex_and_saved_file(tmp_path):
    out = tmp_path / "sc.npz"
    p = run("softmax-code", "-d", "3", "-K", "4", "--seed", "1", "--restarts", "2", "--json", "--out", out,
            "--method", "numeric", "--workers", "1")
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    assert m["rho_one_vs_rest"] == pytest.approx(4 / 3, abs=1e-8)  # Theorem 3.3: simplex, K/(K-1)
    W = load_weights(out)
    assert W.shape == (3, 4)
    G = W.T @ W
    assert np.allclose(G[~np.eye(4, dtype=bool)], -1 / 3, atol=1e-6)  # a regular simplex
    assert_bad(run("softmax-code", "-d", "3", "-K", "4", "--out", tmp_path / "x.txt"), ".npz")


def test_tammes_octahedron_text_output():
    p = run("tammes", "-d", "3", "-K", "6", "--seed", "0", "--restarts", "2")
    assert p.returncode == 0, p.stderr
    assert "Tammes code" in p.stdout and "rho one-vs-one" in p.stdout
    p = run("tammes", "-d", "3", "-K", "6", "--seed", "0", "--restarts", "2", "--json", "--method", "numeric",
            "--workers", "1")
    m = json.loads(p.stdout)
    assert m["rho_one_vs_one"] == pytest.approx(math.sqrt(2), abs=1e-7)  # octahedron
    assert m["rho_one_vs_rest"] == pytest.approx(1.0, abs=1e-7)


def test_hardmax_square():
    p = run("hardmax", "-d", "2", "-K", "4", "-n", "2", "--seed", "0", "--json", "--method", "numeric",
            "--restarts", "2", "--workers", "1")
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    # Theorem 3.2/3.3: W is the square, rho = 1 - cos(pi/2) = 1, HardMax value -1
    assert m["rho_one_vs_rest"] == pytest.approx(1.0, abs=1e-6)
    assert m["hardmax_value"] == pytest.approx(-1.0, abs=1e-6)
    assert m["gnc1"] == pytest.approx(0.0, abs=1e-12)  # features collapse (Theorem 3.5)


def test_compare_and_table(tmp_path):
    p = run("compare", "-d", "3", "-K", "6", "--seed", "0", "--restarts", "2", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["rho_softmax"] == pytest.approx(1.0, abs=1e-8) and r["rho_tammes"] == pytest.approx(1.0, abs=1e-8)
    assert r["agree"] is True and r["one_minus_t"] == pytest.approx(1.0, abs=1e-7)
    out = tmp_path / "t.csv"
    # -d/-K as in the other subcommands (--d/--K are the same options)
    p = run("table", "-d", "3", "-K", "5,6", "--restarts", "2", "--seed", "0", "--workers", "1", "--out", out)
    assert p.returncode == 0, p.stderr
    assert "| d | K |" in p.stdout and "2 of 2 cells agree" in p.stdout
    import csv

    rows = list(csv.DictReader(open(out)))
    assert [(int(r["d"]), int(r["K"])) for r in rows] == [(3, 5), (3, 6)]
    # checked before the sweep, as every other --out: not overwritten without --force, a .csv name
    assert_bad(run("table", "-d", "3", "-K", "5", "--out", out), "exists", "--force")
    assert_bad(run("table", "-d", "3", "-K", "5", "--out", tmp_path / "t.npz"), ".csv")
    assert_bad(run("compare", "-d", "3", "-K", "5", "--save-dir", out), "is a file")
    assert set(cli.COMPARE_FIELDS) <= set(rows[0])
    for r in rows:
        assert float(r["rho_softmax"]) == pytest.approx(1.0, abs=1e-8)


def test_train_delegates():
    p = run("train", "--help")
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr


# ------------------------------------------------------------------ io / executor
def test_load_weights_layouts(tmp_path):
    W = random_code(2, 4, 5)
    np.save(tmp_path / "a.npy", W.T)
    assert np.array_equal(load_weights(tmp_path / "a.npy", rows=True), W)
    np.savez(tmp_path / "b.npz", W=W, other=np.zeros(3))
    assert np.array_equal(load_weights(tmp_path / "b.npz"), W)
    (tmp_path / "c.tsv").write_text("# comment\n" + "\n".join("\t".join(repr(float(x)) for x in row) for row in W) + "\n")
    assert np.allclose(load_weights(tmp_path / "c.tsv"), W, atol=0)
    with pytest.raises(ValueError, match="norm"):
        load_weights(tmp_path / "a.npy")  # rows read as columns: columns are not unit
    with pytest.raises(ValueError, match="directory"):
        load_weights(tmp_path)


def _square(x):
    return x * x


def test_executors():
    with get_executor(max_workers=1) as ex:
        assert isinstance(ex, SerialExecutor)
        assert list(ex.map(_square, range(4))) == [0, 1, 4, 9]
        fut = ex.submit(math.sqrt, -1)
        with pytest.raises(ValueError):
            fut.result()
    with get_executor(max_workers=2) as ex:
        assert sorted(ex.map(_square, range(5))) == [0, 1, 4, 9, 16]
    with pytest.raises(ValueError, match="max_workers"):
        get_executor(max_workers=0)


def test_solver_restarts_on_a_real_dask_cluster_equal_serial():
    """A LocalCluster (in-process workers) through get_executor(address): the same code as serial."""
    from distributed import LocalCluster

    from spherecodes import tammes_code

    kw = dict(seed=4, restarts=3, method="numeric")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with get_executor(cluster.scheduler_address) as ex:
            a = tammes_code(3, 9, executor=ex, **kw)
    b = tammes_code(3, 9, executor="serial", **kw)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.values, b.values)


def test_known_optimum_closed_forms_and_parse_range():
    assert cli.known_optimum(5, 4)[0] == pytest.approx(4 / 3)        # simplex K/(K-1)
    assert cli.known_optimum(2, 9)[0] == pytest.approx(1 - math.cos(2 * math.pi / 9))
    assert cli.known_optimum(4, 8)[0] == 1.0                          # d+1 < K <= 2d
    assert cli.known_optimum(4, 9) == (None, None)
    assert cli.known_optimum(1, 3)[0] == 0.0                          # two of three points coincide
    assert cli.parse_range("3:6,10,4", "--d") == [3, 4, 5, 6, 10]
    assert cli.parse_range("3:9:3", "--d") == [3, 6, 9]
    for bad in ("", "3:x", "5:1:0", ","):
        with pytest.raises(cli.CLIError):
            cli.parse_range(bad, "--d")


def test_submit_unordered_yields_before_running_everything():
    from spherecodes.executor import submit_unordered

    calls = []

    def job(i):
        calls.append(i)
        return i * i

    seen = []
    with get_executor("serial") as ex:
        for (i,), fut in submit_unordered(ex, job, [(i,) for i in range(4)]):
            seen.append((i, fut.result(), len(calls)))
    assert seen == [(0, 0, 1), (1, 1, 2), (2, 4, 3), (3, 9, 4)]  # each result before the next job ran
    with get_executor(max_workers=2) as ex:
        got = sorted(f.result() for _, f in submit_unordered(ex, _square, [(i,) for i in range(6)]))
    assert got == [0, 1, 4, 9, 16, 25]


@pytest.mark.parametrize("K,rho", [(20, 1.2), (1000, 0.5), (20, 1.0), (12, 0.9), (100, 0.3), (10**6, 0.1),
                                   (7, 7 / 6), (50, 2.0)])
def test_bounds_target_rho_agrees_with_dimension_bounds(K, rho, capsys):
    """`spherecodes bounds --target-rho` reports exactly what the library's sizing says."""
    from spherecodes.bounds import dimension_bounds

    assert cli.main(["bounds", "-d", "3", "-K", str(K), "--target-rho", repr(rho), "--optimum", "never", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    b = dimension_bounds(K, rho, max_d=1 << 20)
    assert (obj["d_sufficient"], obj["d_necessary"]) == (b.sufficient, b.necessary)
    if K == 20 and rho == 1.2:  # above K/(K-1): no dimension reaches it
        assert b.necessary is None and b.sufficient is None


def test_cell_seed_rejects_what_is_not_an_integer():
    """cell_seed(1.5, ...) was silently cell_seed(1, ...); now a TypeError naming seed."""
    from spherecodes.compare import cell_seed

    expected = int(np.random.SeedSequence([3, 2, 5]).generate_state(1)[0] % (2**31 - 2))
    assert cell_seed(3, 2, 5) == cell_seed(np.int64(3), np.int32(2), 5) == cell_seed(3.0, 2, 5) == expected
    assert cell_seed(None, 2, 5) is None
    for bad in (1.5, True, np.bool_(False), "3", np.float64(2.5)):
        with pytest.raises(TypeError, match="seed must be an integer"):
            cell_seed(bad, 2, 5)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        cell_seed(-1, 2, 5)
    with pytest.raises(TypeError, match="K must be an integer"):
        cell_seed(0, 2, 5.5)


def test_compare_table_and_benchmark_give_the_same_cell_for_the_same_seed(capsys):
    """One seed, one row: `compare`, `table` and benchmarks/tammes_vs_softmax.py (issue: (3, 13) differed)."""
    from pathlib import Path

    from spherecodes.compare import cell_seed, compare_cell

    assert cli.main(["compare", "-d", "3", "-K", "13", "--seed", "0", "--restarts", "3", "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert cli.main(["table", "--d", "3", "--K", "13", "--seed", "0", "--restarts", "3", "--json"]) == 0
    b = json.loads(capsys.readouterr().out)["cells"][0]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from tammes_vs_softmax import run_cell
    finally:
        sys.path.pop(0)
    c = run_cell(3, 13, cell_seed(0, 3, 13), 3, None, "auto")
    assert a["rho_softmax"] == b["rho_softmax"] == c["rho_softmax"]
    assert a["one_minus_t"] == b["one_minus_t"] == c["one_minus_t"]
    assert c["rho_softmax"] == compare_cell(3, 13, seed=cell_seed(0, 3, 13), restarts=3)["rho_softmax"]
