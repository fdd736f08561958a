"""Each benchmark script in a tiny configuration; its output files are checked.

Expected values are closed forms (Theorem 3.3, Theorem 3.9 written out with
math.lgamma, exact inner products of the named codes) or cvxpy, never the
scripts' own output.
"""
from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def script(name, *args, timeout=300):
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, str(BENCH / name), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def bench_modules(*names):
    """The benchmark scripts ``names`` imported as modules (benchmarks/ on sys.path while importing)."""
    import importlib

    sys.path.insert(0, str(BENCH))
    try:
        return [importlib.import_module(n) for n in names]
    finally:
        sys.path.remove(str(BENCH))


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# Tammes problem, d = 3, K = 7: the smallest possible maximum inner product, proven optimal
# (Schuette & van der Waerden 1951; Sloane's tables of spherical packings; ../shared/reference/
# best_known_tammes_d3.csv: 0.210138312731, angle 77.8695421554 deg).  For every code rho >= 1 - t,
# so 1 - t* bounds the Softmax Code optimum at (3, 7) from below; the solvers reach it in < 1 s
# (docs/tables/tammes_vs_softmax.csv) and no larger value is known.
TAMMES_T7 = 0.2101383127306031


def thm39(d, K):
    lo = 0.5 * math.exp(2 / (d - 1) * (math.log(math.sqrt(math.pi) / K) + math.lgamma((d + 1) / 2)
                                       - math.lgamma(d / 2 + 1)))
    up = 2 * math.exp(1 / (d - 1) * (math.log(2 * math.sqrt(math.pi) / K) + math.lgamma((d + 1) / 2)
                                     - math.lgamma(d / 2)))
    return lo, min(up, 2.0)


def test_universal_codes(tmp_path):
    p = script("universal_codes.py", "--out", tmp_path, "--only", "pentagon,icosahedron,cell600,e8_roots", "--cvxpy")
    assert "one class suffices" in p.stdout
    rows = {r["name"]: r for r in read_csv(tmp_path / "universal_codes.csv")}
    assert set(rows) == {"pentagon", "icosahedron", "cell600", "e8_roots"}
    exact = {  # 1 - max inner product, closed forms
        "pentagon": 1 - math.cos(2 * math.pi / 5),
        "icosahedron": 1 - 1 / math.sqrt(5),
        "cell600": 1 - (1 + math.sqrt(5)) / 4,
        "e8_roots": 0.5,
    }
    dims = {"pentagon": (2, 5), "icosahedron": (3, 12), "cell600": (4, 120), "e8_roots": (8, 240)}
    for name, r in rows.items():
        assert (int(r["d"]), int(r["K"])) == dims[name]
        assert float(r["rho"]) == pytest.approx(exact[name], abs=1e-10)
        assert float(r["one_minus_t"]) == pytest.approx(exact[name], abs=1e-12)
        assert float(r["rho_lower"]) <= float(r["rho"]) + 1e-12 <= float(r["rho_upper"]) + 2e-12
        assert float(r["cvxpy_class0"]) == pytest.approx(exact[name], abs=1e-6)  # independent QP
        assert float(r["spread"]) < 1e-9  # point-transitive: every class at the same distance
        assert r["equal"] == "True"
    md = (tmp_path / "universal_codes.md").read_text()
    assert "python benchmarks/universal_codes.py" in md and "| 600-cell" in md


def test_universal_codes_sampled_classes(tmp_path):
    p = script("universal_codes.py", "--out", tmp_path, "--only", "e8_roots", "--all-classes-max", "10",
               "--sample", "2")
    r = read_csv(tmp_path / "universal_codes.csv")[0]
    assert r["classes"].startswith("0,") and len(r["classes"].split(",")) == 3
    assert float(r["rho"]) == pytest.approx(0.5, abs=1e-10)
    assert "EQUAL" in p.stdout


def test_paper_optima_completes_a_certificate_cut_by_the_time_limit(tmp_path, monkeypatch):
    """A code whose certificate the time limit cut is certified in full before it becomes a row.

    The cube's 8 vertices: a vertex is 2/3 from the hull of the other 7 (the plane of its three
    neighbours, met at their centroid), while the cut certificate only knows the nearest
    codeword, 2/sqrt(3) away: 'ours' must be 2/3, not 2/sqrt(3).
    """
    import itertools

    from spherecodes import SphereCode

    mod = load_script("paper_optima")
    cube = np.array(list(itertools.product([-1.0, 1.0], repeat=3))).T / np.sqrt(3.0)
    cut = SphereCode.from_W(cube, problem="softmax", certificate_time_limit=0.0)
    assert cut.settings["certified_classes"] < 8 and cut.rho_upper > 1.1  # the premise: a cut certificate
    monkeypatch.setattr(mod, "solve", lambda d, K, **kw: (cut, 0.5))
    assert mod.main(["--out", str(tmp_path), "--cells", "3x8", "--time-limit", "1"]) == 0
    (row,) = read_csv(tmp_path / "paper_optima.csv")
    for key in ("ours", "lower", "upper"):
        assert float(row[key]) == pytest.approx(2.0 / 3.0, abs=1e-12), key
    assert "completed after the call" in row["source"] and "0 of 8 classes" in row["source"]
    # kept as cut on request: a wide bracket, and 'ours' its certified lower end (1 - 1/3 = 2/3 here,
    # from the nearest codeword's hyperplane, rounded down)
    assert mod.main(["--out", str(tmp_path), "--cells", "3x8", "--time-limit", "1", "--keep-cut-certificate"]) == 0
    (row,) = read_csv(tmp_path / "paper_optima.csv")
    assert float(row["lower"]) == cut.rho_lower <= 2.0 / 3.0 and float(row["upper"]) == cut.rho_upper
    assert "cut the certificate" in row["source"] and "0 of 8 classes solved" in row["source"]


def test_paper_optima_exact_cells(tmp_path):
    p = script("paper_optima.py", "--out", tmp_path, "--cells", "40x60,4x5,512x10000")
    rows = {(int(r["d"]), int(r["K"])): r for r in read_csv(tmp_path / "paper_optima.csv")}
    assert set(rows) == {(40, 60), (4, 5), (512, 10000)}
    assert float(rows[40, 60]["ours"]) == pytest.approx(1.0, abs=1e-10)  # Theorem 3.3: d+1 < K <= 2d
    assert float(rows[4, 5]["ours"]) == pytest.approx(5 / 4, abs=1e-10)  # simplex K/(K-1)
    assert rows[512, 10000]["ours"] == "" and "skipped" in rows[512, 10000]["source"]
    assert "skipped" in p.stdout
    md = (tmp_path / "paper_optima.md").read_text()
    assert "python benchmarks/paper_optima.py" in md and "CPU" in md
    script("paper_optima.py", "--out", tmp_path, "--report-only")  # rewrites the table, keeps the command
    md2 = (tmp_path / "paper_optima.md").read_text()
    assert "--cells 40x60,4x5,512x10000" in md2 and md2.count("| 40 | 60 |") == 1
    script("paper_optima.py", "--out", tmp_path, "--cells", "3x4")  # another cell is added, the others kept
    rows = {(int(r["d"]), int(r["K"])) for r in read_csv(tmp_path / "paper_optima.csv")}
    assert rows == {(40, 60), (4, 5), (512, 10000), (3, 4)}
    md3 = (tmp_path / "paper_optima.md").read_text()
    assert "--cells 40x60,4x5,512x10000" in md3 and "--cells 3x4" in md3


def test_bounds_table_closed_form_cells(tmp_path):
    p = script("bounds_table.py", "--out", tmp_path, "--K", "5,7", "--d", "3,4", "--workers", "1",
               "--max-numeric-dK", "1")
    rows = {(int(r["d"]), int(r["K"])): r for r in read_csv(tmp_path / "bounds_table.csv")}
    assert set(rows) == {(3, 5), (4, 5), (3, 7), (4, 7)}
    for (d, K), r in rows.items():
        lo, up = thm39(d, K)
        assert float(r["lower"]) == pytest.approx(lo, rel=1e-12)
        assert float(r["upper"]) == pytest.approx(up, rel=1e-12)
    assert float(rows[(3, 5)]["optimum"]) == 1.0  # d+1 < K <= 2d
    assert float(rows[(4, 5)]["optimum"]) == pytest.approx(5 / 4)  # simplex
    assert float(rows[(4, 7)]["optimum"]) == 1.0
    assert rows[(3, 7)]["optimum"] == "" and "skipped" in rows[(3, 7)]["source"]
    assert (tmp_path / "bounds_table.png").stat().st_size > 1000
    assert "python benchmarks/bounds_table.py" in (tmp_path / "bounds_table.md").read_text()
    # a rerun resumes: nothing left to do
    p = script("bounds_table.py", "--out", tmp_path, "--K", "5,7", "--d", "3,4", "--workers", "1",
               "--max-numeric-dK", "1", "--no-figure")
    assert "4 already done, running 0" in p.stdout
    # a larger --max-numeric-dK redoes the skipped cell, and the table lists both commands
    p = script("bounds_table.py", "--out", tmp_path, "--K", "7", "--d", "3", "--workers", "1",
               "--max-numeric-dK", "21", "--restarts", "1", "--no-figure")
    assert "0 already done, running 1" in p.stdout
    rows = {(int(r["d"]), int(r["K"])): r for r in read_csv(tmp_path / "bounds_table.csv")}
    assert len(rows) == 4 and rows[(3, 7)]["source"].startswith("numeric")
    assert float(rows[(3, 7)]["optimum"]) == pytest.approx(1 - TAMMES_T7, abs=1e-6)
    md = (tmp_path / "bounds_table.md").read_text()
    assert "--max-numeric-dK 1 --no-figure" in md and "--max-numeric-dK 21" in md


def test_bounds_table_numeric_cell(tmp_path):
    script("bounds_table.py", "--out", tmp_path, "--K", "7", "--d", "3", "--workers", "1", "--time-limit", "20",
           "--restarts", "2", "--no-figure")
    r = read_csv(tmp_path / "bounds_table.csv")[0]
    opt = float(r["optimum"])
    assert float(r["optimum_lower"]) <= opt + 1e-12 <= float(r["optimum_upper"]) + 2e-12
    lo, up = thm39(3, 7)
    assert lo <= opt <= up
    assert opt == pytest.approx(1 - TAMMES_T7, abs=1e-6)   # the best known value, reached from random starts
    assert r["source"].startswith("numeric")


def test_tammes_vs_softmax_grid_and_resume(tmp_path):
    args = ["--out", tmp_path, "--d", "3", "--K", "5,6", "--restarts", "2", "--workers", "1", "--seed", "0"]
    script("tammes_vs_softmax.py", *args)
    csv_path = tmp_path / "tammes_vs_softmax.csv"
    rows = read_csv(csv_path)
    assert [(int(r["d"]), int(r["K"])) for r in rows] == [(3, 5), (3, 6)]
    from spherecodes.cli import COMPARE_FIELDS

    assert set(COMPARE_FIELDS) <= set(rows[0])
    for r in rows:  # Theorem 3.3: optimum 1 for d+1 < K <= 2d
        assert float(r["rho_softmax"]) == pytest.approx(1.0, abs=1e-8)
        assert float(r["rho_tammes"]) == pytest.approx(1.0, abs=1e-8)
        assert r["agree"] == "True"
    assert float(rows[1]["one_minus_t"]) == pytest.approx(1.0, abs=1e-7)  # octahedron: t* = 0
    md = (tmp_path / "tammes_vs_softmax.md").read_text()
    assert "python benchmarks/tammes_vs_softmax.py" in md and "2 agree" in md
    assert (tmp_path / "tammes_vs_softmax.png").stat().st_size > 1000
    # simulate a kill after the first cell: drop the second row, rerun, only it is recomputed
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join(lines[:2]) + "\n")
    p = script("tammes_vs_softmax.py", *args)
    assert "1 already done, running 1" in p.stdout
    assert len(read_csv(csv_path)) == 2
    p = script("tammes_vs_softmax.py", *args, "--no-figure")
    assert "2 already done, running 0" in p.stdout


def test_tammes_vs_softmax_rejects_big_grid(tmp_path):
    p = subprocess.run([sys.executable, str(BENCH / "tammes_vs_softmax.py"), "--d", "9", "--out", tmp_path],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2 and "d <= 8" in p.stderr and "Traceback" not in p.stderr


def test_paper_optima_numeric_cell(tmp_path):
    p = script("paper_optima.py", "--out", tmp_path, "--cells", "10x100,3x12", "--restarts", "1", "--no-polish",
               "--workers", "1", "--time-limit", "5")
    # 0.614: the "Optimal" constant of the paper's official plotting notebooks (Figure 2), printed next to ours
    assert "paper   0.614" in p.stdout
    rows = {(int(r["d"]), int(r["K"])): r for r in read_csv(tmp_path / "paper_optima.csv")}
    r = rows[10, 100]
    ours = float(r["ours"])
    assert float(r["lower"]) <= ours + 1e-12 <= float(r["upper"]) + 2e-12
    lo, up = thm39(10, 100)
    # a random (10, 100) code has rho 0.22-0.28 (seeds 0-4); five seconds of one restart pass 0.6
    # (0.664 measured on a loaded 2-core machine); the best known is 0.6687 (issue 10)
    assert 0.55 < ours <= up
    assert r["exceeds_paper"] == str(float(r["lower"]) > 0.614)
    # the same numeric path at (3, 12) must find the icosahedron: <w_i, w_j> in {+-1/sqrt(5), -1},
    # rho = 1 - 1/sqrt(5) (universal: every class at that distance)
    ico = rows[3, 12]
    assert float(ico["ours"]) == pytest.approx(1 - 1 / math.sqrt(5), abs=1e-9)
    assert float(ico["lower"]) <= float(ico["ours"]) + 1e-12 <= float(ico["upper"]) + 2e-12


def test_tammes_vs_softmax_flags_cells_below_a_larger_K():
    """The optimum is non-increasing in K, so a smaller-K value below a larger-K one is a shortfall."""
    tvs = load_script("tammes_vs_softmax")
    rows = [{"d": 4, "K": 9, "rho_softmax": 0.9}, {"d": 4, "K": 10, "rho_softmax": 0.7},
            {"d": 4, "K": 11, "rho_softmax": 0.8}, {"d": 5, "K": 11, "rho_softmax": 0.5}]
    assert tvs.monotonicity_shortfalls(rows) == [(4, 10, 0.7, 11, 0.8)]


def _reference_dir(tmp_path, rows, status="best_known_putative"):
    folder = tmp_path / "reference"
    folder.mkdir(exist_ok=True)
    (folder / "best_known_tammes_d3.csv").write_text(
        "d,K,max_inner_product,min_angle_deg,status\n"
        + "".join(f"3,{K},{t!r},0,{status}\n" for K, t in rows))
    (folder / "named_codes.csv").write_text("d,K,max_inner_product,name,status\n")
    return folder


def test_tammes_vs_softmax_flags_cells_short_of_a_published_value(tmp_path, monkeypatch):
    """A cell above the published max inner product is flagged SHORT, never shown as reaching it."""
    published, tvs = bench_modules("published", "tammes_vs_softmax")
    mark_published = tvs.mark_published
    # the icosahedron: t = 1/sqrt(5) (closed form), rho = 1 - t
    t_ico = 1 / math.sqrt(5)
    monkeypatch.setenv("SPHERECODES_REFERENCE", str(_reference_dir(tmp_path, [(12, t_ico)])))
    published._table.cache_clear()
    at = mark_published({"d": 3, "K": 12, "one_minus_t": 1 - t_ico, "rho_softmax": 1 - t_ico})
    assert at["vs_published"] == "reaches" and at["published"] == pytest.approx(t_ico)
    short = mark_published({"d": 3, "K": 12, "one_minus_t": 1 - t_ico - 1e-6, "rho_softmax": 1 - t_ico})
    assert short["vs_published"].startswith("**SHORT**") and "1.00e-06" in short["vs_published"]
    soft_short = mark_published({"d": 3, "K": 12, "one_minus_t": 1 - t_ico, "rho_softmax": 1 - t_ico - 1e-6})
    assert soft_short["vs_published"].startswith("**SHORT**")
    assert mark_published({"d": 3, "K": 13, "one_minus_t": 0.5, "rho_softmax": 0.5})["vs_published"] == ""
    # 7e-10 above a value known to 9 digits only is short of it (within 1e-9 of a full one it reaches)
    _reference_dir(tmp_path, [(12, t_ico - 7e-10)], status="best_known_putative_9_digits")
    published._table.cache_clear()
    assert mark_published({"d": 3, "K": 12, "one_minus_t": 1 - t_ico, "rho_softmax": 1 - t_ico}
                          )["vs_published"].startswith("**SHORT**")
    published._table.cache_clear()


def test_missing_reference_folder_warns(tmp_path, monkeypatch):
    """No reference files (a worktree beside no shared/): a warning, not silently empty columns."""
    published, = bench_modules("published")
    monkeypatch.setenv("SPHERECODES_REFERENCE", str(tmp_path / "nowhere"))
    published._table.cache_clear()
    with pytest.warns(UserWarning, match="SPHERECODES_REFERENCE"):
        assert published.best_known(3, 12) is None
    published._table.cache_clear()


def test_bench_solvers_cell_reaches_a_published_value(tmp_path):
    """One cell through the benchmark script: hit, baseline at equal time, resumable CSV."""
    env_ref = _reference_dir(tmp_path, [(8, (2 * math.sqrt(2) - 1) / 7)])  # square antiprism (Schuette-vdW)
    out = tmp_path / "bench"
    env = dict(os.environ, SPHERECODES_REFERENCE=str(env_ref))
    run = [sys.executable, str(BENCH / "bench_solvers.py"), "--cells", "3:8", "--time-limit", "30", "--restarts", "6",
           "--out", str(out)]
    p = subprocess.run(run, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    rows = read_csv(out / "bench_solvers.csv")
    assert len(rows) == 1 and rows[0]["hit"] == "hit"
    assert float(rows[0]["value"]) == pytest.approx((2 * math.sqrt(2) - 1) / 7, abs=1e-9)
    assert float(rows[0]["baseline"]) >= float(rows[0]["value"]) - 1e-12  # nothing beats the optimum
    assert "1 hit the best known value, 0 missed" in p.stdout
    again = subprocess.run(run, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert "(1 already in" in again.stdout and len(read_csv(out / "bench_solvers.csv")) == 1


def test_a_value_published_to_9_digits_is_reached_only_within_half_a_unit_of_its_last_digit(tmp_path, monkeypatch):
    """A code 7e-10 above a value known to 9 digits lies above every value that rounds to it: MISS
    (at (3, 110) 0.939026291719 is a worse local optimum than 0.939026290863, the published 0.939026291);
    7e-10 above a value given in full, it reaches it (the values' own accuracy, 1e-9)."""
    bench_solvers, published = bench_modules("bench_solvers", "published")
    t8 = (2 * math.sqrt(2) - 1) / 7  # the square antiprism (Schuette-vdW): the solver reaches it to ~1e-12
    verdicts = {}
    for status in ("best_known_putative_9_digits", "best_known_putative"):
        monkeypatch.setenv("SPHERECODES_REFERENCE", str(_reference_dir(tmp_path, [(8, t8 - 7e-10)], status)))
        published._table.cache_clear()
        row = bench_solvers.run_cell(3, 8, 0, 20.0, restarts=4)
        assert float(row["value"]) == pytest.approx(t8, abs=1e-11)
        verdicts[status] = row["hit"]
    published._table.cache_clear()
    assert verdicts == {"best_known_putative_9_digits": "MISS", "best_known_putative": "hit"}


def test_two_runs_into_one_folder_keep_both_runs_cells(tmp_path):
    """merge_csv_atomic under a lock: concurrent writers of one table lose no rows."""
    from concurrent.futures import ProcessPoolExecutor

    from spherecodes.io import merge_csv_atomic

    path = tmp_path / "t.csv"
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(_write_rows, [(str(path), w) for w in range(2)]))
    rows = read_csv(path)
    assert sorted((int(r["writer"]), int(r["i"])) for r in rows) == [(w, i) for w in range(2) for i in range(20)]
    merge_csv_atomic(path, [{"writer": 0, "i": 0, "v": "new"}], ["writer", "i", "v"],
                     lambda r: (int(r["writer"]), int(r["i"])))
    assert len(read_csv(path)) == 40 and read_csv(path)[0]["v"] == "new"


def _write_rows(args):
    from spherecodes.io import merge_csv_atomic

    path, w = args
    for i in range(20):
        merge_csv_atomic(path, [{"writer": w, "i": i, "v": f"{w}-{i}"}], ["writer", "i", "v"],
                         lambda r: (int(r["writer"]), int(r["i"])))


def test_stale_temporary_files_of_killed_writers_are_swept(tmp_path):
    import os
    import time

    from spherecodes.io import write_text_atomic

    stale = tmp_path / ".t.txt.abc123.tmp"
    fresh = tmp_path / ".t.txt.def456.tmp"
    stale.write_text("left by a killed writer")
    fresh.write_text("a writer at work")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    write_text_atomic(tmp_path / "t.txt", "done")
    assert not stale.exists() and fresh.exists() and (tmp_path / "t.txt").read_text() == "done"


def test_bench_solvers_until_hit_stops_the_search_at_the_first_hit(tmp_path):
    env_ref = _reference_dir(tmp_path, [(8, (2 * math.sqrt(2) - 1) / 7)])  # square antiprism (Schuette-vdW)
    out = tmp_path / "bench"
    env = dict(os.environ, SPHERECODES_REFERENCE=str(env_ref))
    p = subprocess.run([sys.executable, str(BENCH / "bench_solvers.py"), "--cells", "3:8", "--time-limit", "60",
                        "--restarts", "400", "--until-hit", "--out", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    (row,) = read_csv(out / "bench_solvers.csv")
    assert row["hit"] == "hit" and row["until_hit"] == "yes" and "callback" in row["message"]
    assert int(row["restarts"]) < 400 and float(row["wall"]) < 60
    assert float(row["value"]) == pytest.approx((2 * math.sqrt(2) - 1) / 7, abs=1e-9)


def test_bench_solvers_times_a_hit_of_the_final_polish_at_the_wall_time(monkeypatch):
    """A hit that no restart reported to the progress callback (the final polish's) has the
    wall time as its time to hit, not none; a miss has none."""
    import types

    import spherecodes

    bench_solvers, = bench_modules("bench_solvers")
    monkeypatch.setattr(bench_solvers, "_warm_up", lambda: None)
    monkeypatch.setattr(bench_solvers, "best_known", lambda d, K: (0.5, "best_known_putative"))
    monkeypatch.setattr(bench_solvers, "adam_lse_baseline", lambda d, K, seconds, seed: (None, 0.6, None))
    for value, t_hit in ((0.5, True), (0.51, False)):
        def solve(d, K, progress, **kw):
            progress(0.1, value + 0.1, 1)  # a restart short of the target, seen by the callback
            return types.SimpleNamespace(max_inner_product=value, restarts=3, message="m")

        monkeypatch.setattr(spherecodes, "tammes_code", solve)
        row = bench_solvers.run_cell(3, 12, 0, 5.0)
        assert row["hit"] == ("hit" if t_hit else "MISS")
        assert row["t_hit"] == (f"{row['wall']:.1f}" if t_hit else "")


def test_figure3_rows_exact_and_searched_within_theorem39(tmp_path):
    out = tmp_path / "fig3"
    script("figure3.py", "--K", "8", "--d", "3,4", "--time-limit", "5", "--out", out)
    rows = {int(r["d"]): r for r in read_csv(out / "figure3.csv")}
    assert rows[4]["status"] == "closed_form" and float(rows[4]["rho"]) == pytest.approx(1.0, abs=1e-12)  # K <= 2d
    lo, up = thm39(3, 8)
    r = rows[3]
    assert r["source"] == "search, 5 s limit"
    assert lo <= float(r["certified_lower"]) <= float(r["rho"]) <= up
    assert float(r["bound_lower"]) == pytest.approx(lo, rel=1e-12) and float(r["bound_upper"]) == pytest.approx(up)
    assert "time-limited" in (out / "figure3.md").read_text() and (out / "figure3.png").stat().st_size > 1000


def test_bench_large_k_report_compares_conservative_ends(tmp_path):
    """The Markdown report subtracts the baseline's upper end from our lower end (never the reverse)."""
    bench_large_k, = bench_modules("bench_large_k")
    row = {c: "" for c in bench_large_k.COLUMNS}
    row.update(d="8", K="3000", seconds="60", seed="1", ours_max_inner="0.2", ours_rho="0.81", ours_rho_lower="0.8",
               ours_rho_upper="0.81", baseline_max_inner="0.3", baseline_rho_lower="0.74", baseline_rho_upper="0.75")
    no_base = dict(row, d="16", baseline_rho_lower="", baseline_rho_upper="")
    path = bench_large_k.write_report(tmp_path / "t.md", [no_base, row], "python benchmarks/bench_large_k.py", 1)
    lines = path.read_text().splitlines()
    assert lines[0] == "`python benchmarks/bench_large_k.py`"
    body = [line for line in lines if line.startswith("| 8 ") or line.startswith("| 16 ")]
    assert body[0].startswith("| 8 ") and "+0.050000" in body[0]  # 0.8 - 0.75, not 0.81 - 0.74
    assert body[1].split("|")[9].strip() == "-"
    assert "Not measured" not in path.read_text()
    path = bench_large_k.write_report(tmp_path / "t.md", [row], "cmd", 1, missing=[(512, 20000, 600.0, 1)])
    assert path.read_text().splitlines()[-1] == "Not measured (no finished row): (d = 512, K = 20000, 600 s, seed 1)."


def test_bench_large_k_keeps_rows_written_before_the_solver_column(tmp_path):
    """A results.csv from before ``--solver`` is rewritten whole with the new header: its rows
    become ``spread_code`` rows (what they measured), and the new row is read back with its solver."""
    bench_large_k, = bench_modules("bench_large_k")
    path = tmp_path / "results.csv"
    path.write_text("d,K,seconds,seed,ours_max_inner\n16,300,3.0,1,0.5\n")
    bench_large_k._append(path, dict(d=8, K=40, seconds=2.0, seed=1, solver="softmax_code", ours_max_inner=0.25))
    done = bench_large_k._read_done(path)
    assert set(done) == {(16, 300, 3.0, 1, "spread_code"), (8, 40, 2.0, 1, "softmax_code")}
    assert done[(16, 300, 3.0, 1, "spread_code")]["ours_max_inner"] == "0.5"
    assert path.read_text().splitlines()[0] == ",".join(bench_large_k.COLUMNS)


@pytest.mark.parametrize("skip", ["--no-baseline", "--no-baseline-rho"])
def test_bench_large_k_prints_and_keeps_a_row_without_the_baseline(tmp_path, monkeypatch, capsys, skip):
    """A run that skips the baseline (or its certificate) prints its row with dashes there and
    writes it (it raised KeyError before stop 33); the children are faked, nothing is solved."""
    bench_large_k, = bench_modules("bench_large_k")
    W = np.eye(3)[:, [0, 1, 2]]
    fake = {"task_random": 0.9,
            "task_ours": dict(W=W, info=dict(max_inner_product=0.0, iterations=1, refreshes=0), seconds=0.1, peak=1.0),
            "task_hull": dict(rho=1.0, lower=1.0, upper=1.0, converged=True, seconds=0.1, peak=1.0),
            "task_baseline": dict(W=W, value=0.0, steps=3, seconds=0.1, peak=1.0)}
    monkeypatch.setattr(bench_large_k, "_run", lambda ctx, fn, *a: fake[fn.__name__])
    assert bench_large_k.main(["--sizes", "3x3", "--seconds", "1", "--out", str(tmp_path), skip]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert "rho in [-, -]" in line and "rho in [1.000000, 1.000000]" in line
    assert list(bench_large_k._read_done(tmp_path / "results.csv")) == [(3, 3, 1.0, 1, "spread_code")]


def test_every_mutant_still_finds_the_line_it_breaks():
    """benchmarks/mutants.py breaks each guarded line by text replacement; a line edited since
    would make its mutant a silent no-op (two were found stale in stop 25)."""
    mod = load_script("mutants")
    stale = [(i, name) for i, (name, path, old, new, tests) in enumerate(mod.MUTANTS)
             if (ROOT / path).read_text().count(old) != 1 or old == new]
    assert not stale, stale


def test_a_mutant_whose_tests_hang_counts_as_killed_after_the_timeout(monkeypatch, tmp_path):
    """benchmarks/mutants.py stops a mutant's tests at ``--timeout`` and reports a kill (before,
    a mutant that made the endgame's hops endless blocked the run with no word)."""
    import subprocess

    mod = load_script("mutants")
    seen = {}

    def hang(cmd, timeout=None, **kw):
        seen["timeout"] = timeout
        raise subprocess.TimeoutExpired(cmd, timeout)

    monkeypatch.setattr(mod.subprocess, "run", hang)
    monkeypatch.setattr(mod.shutil, "copytree", lambda src, dst, **kw: (dst / "spherecodes").mkdir(parents=True))
    index = next(i for i, m in enumerate(mod.MUTANTS) if m[1] == "spherecodes/_wolfe.py")
    line = mod.MUTANTS[index][2]
    monkeypatch.setattr(mod.Path, "read_text", lambda self: line)
    monkeypatch.setattr(mod.Path, "write_text", lambda self, text: None)
    killed, first, _ = mod.run_mutant(index, tmp_path, timeout=7.0)
    assert killed and "TIMED OUT after 7 s" in first and seen["timeout"] == 7.0
