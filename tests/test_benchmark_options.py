"""Bad command-line input to the benchmark scripts: one line on stderr naming the option, exit status 2,
no traceback, as the ``spherecodes`` command answers (spherecodes/cli.py).  No solver runs here: every
script stops while parsing its arguments."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import load_script
from spherecodes import cli

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


# (script, arguments, the option the message must name); every affected script once.  The other
# arguments make a script that wrongly accepted the bad value finish fast (tiny sizes, --report-only).
BAD = [
    ("bench_solvers.py", ["--time-limit", "1", "--restarts", "1", "--cells", "10x100"], "--cells"),
    ("bench_solvers.py", ["--time-limit", "1", "--restarts", "1", "--cells", "3:5", "--seeds", "0,a"], "--seeds"),
    ("bench_solvers.py", ["--restarts", "1", "--cells", "3:5", "--time-limit", "-1"], "--time-limit"),
    ("bench_large_k.py", ["--report-only", "--report", "r.md", "--out", "o", "--seconds", "60,abc"], "--seconds"),
    ("bench_metrics.py", ["--K", "3", "--d", "2", "--N", "3", "--batch", "3", "--tasks", "gnc2,,stream"], "--tasks"),
    ("figure2_cifar100.py", ["--data-root", "no-such-folder", "--taus", "1,x"], "--taus"),
    ("figure3.py", ["--K", "10", "--d", "8,x"], "--d"),
    ("paper_optima.py", ["--report-only", "--cells", "10x100,20y"], "--cells"),
    ("universal_codes.py", ["--only", "pentagon,,icosahedron"], "--only"),
    # scalar options: a checked type each (seeds >= 0; counts, sizes, threads, workers, epochs, steps >= 1;
    # seconds, rates, tolerances positive and finite), so that the value is refused before anything runs
    ("bench_large_k.py", ["--report-only", "--report", "r.md", "--out", "o", "--threads", "0"], "--threads"),
    ("bench_metrics.py", ["--K", "3", "--d", "2", "--N", "3", "--batch", "3", "--tasks", "stream",
                          "--nc4-samples", "0"], "--nc4-samples"),
    # no small mode: the unknown trailing option stops a run that accepted the value at once ("unrecognized
    # arguments"); a refused value is reported first, while the arguments are read in order
    ("bench_one_vs_rest.py", ["--steps", "0", "--no-such-option"], "--steps"),
    ("bounds_table.py", ["--report-only", "--no-figure", "--K", "5", "--d", "3", "--time-limit", "nan"],
     "--time-limit"),
    ("figure2_cifar100.py", ["--data-root", "no-such-folder", "--epochs", "0"], "--epochs"),
    ("figure3.py", ["--K", "10", "--d", "8", "--seed", "-1"], "--seed"),
    ("fuzz_cli.py", ["--no-load", "--sample", "1", "--seed", "-1"], "--seed"),
    ("gpu_smoke.py", ["--quick", "--device", "cpu", "--out", "o", "--threads", "-1"], "--threads"),
    ("mutants.py", ["--list", "-1"], "mutants"),
    ("paper_optima.py", ["--report-only", "--workers", "0"], "--workers"),
    ("profile_kernel.py", ["--seconds", "0"], "--seconds"),
    ("tammes_vs_softmax.py", ["--report-only", "--no-figure", "--d", "3", "--K-max", "5", "--restarts", "0"],
     "--restarts"),
    ("universal_codes.py", ["--only", "pentagon", "--sample", "-1"], "--sample"),
]


@pytest.mark.parametrize("name, args, option", BAD, ids=[f"{n}{o}" for n, _, o in BAD])
def test_a_bad_option_value_is_one_line_and_status_2(tmp_path, name, args, option):
    p = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env=dict(os.environ, MPLBACKEND="Agg"))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"{name}: error: argument {option}: "), lines[0]
    assert p.stdout == "" and not list(tmp_path.iterdir())  # nothing run, nothing written


def test_cells_parse_to_the_cells_written_out():
    assert cli.parse_cells("3:5-7,4:24") == [(3, 5), (3, 6), (3, 7), (4, 24)]
    assert cli.parse_cells(" 3:5-9:2 , 3:5 ") == [(3, 5), (3, 7), (3, 9), (3, 5)]  # in order, repeats kept
    assert cli.parse_cells("64x1000,8X20", sep="x") == [(64, 1000), (8, 20)]
    bench_solvers = load_script("bench_solvers")
    assert bench_solvers.parse_cells("large,4:24") == [(10, 100), (20, 200), (4, 24)]
    d3 = bench_solvers.parse_cells("d3")
    assert d3[:3] == [(3, 5), (3, 6), (3, 7)] and d3[55:58] == [(3, 60), (3, 65), (3, 70)] and d3[-1] == (3, 130)
    assert len(d3) == 56 + 14


@pytest.mark.parametrize("text, sep", [
    ("", ":"), ("3:5,,4:24", ":"), ("3:5,", ":"),  # empty items
    ("10x100", ":"), ("3:a", ":"), ("3:5-", ":"), ("3:-5", ":"), ("3:5-7:1:2", ":"), ("3", ":"),  # malformed
    ("0:5", ":"), ("3:1", ":"), ("3:1-4", ":"), ("3:5-9:0", ":"), ("3:9-5", ":"),  # d < 1, K < 2, STEP < 1, no K
    ("3:2-1000000", ":"),  # more than MAX_RANGE cells
    ("3:5", "x"), ("3x5-7", "x"), ("0x5", "x"), ("3x1", "x"),
])
def test_bad_cells_are_refused(text, sep):
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_cells(text, sep=sep)


def test_comma_lists():
    seeds = cli.comma_list(cli._nonneg_int)
    assert seeds("0, 1,2") == [0, 1, 2]
    assert cli.comma_list(cli._positive_float)("60,600") == [60.0, 600.0]
    assert cli.comma_list(choices=("a", "b"))("b,a") == ["b", "a"]
    for bad in ("", "0,", "0,,1", "0,a", "-1", "1,-2"):
        with pytest.raises(argparse.ArgumentTypeError):
            seeds(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="choose from a, b"):
        cli.comma_list(choices=("a", "b"))("a,c")


def test_bench_solvers_default_cells_and_seeds_unchanged(monkeypatch, capsys):
    """The default --cells (d3, named, large) with the default seeds: 70 + 9 x 3 + 2 jobs, as before."""
    import spherecodes.executor

    class Stop(Exception):
        pass

    def stop(*a, **k):
        raise Stop

    monkeypatch.setattr(spherecodes.executor, "get_executor", stop)
    bench_solvers = load_script("bench_solvers")
    with pytest.raises(Stop):
        bench_solvers.main(["--out", "/nonexistent/bench_solvers_options_test"])
    assert capsys.readouterr().out.startswith("# bench_solvers: 99 cells (0 already in")
    with pytest.raises(Stop):
        bench_solvers.main(["--out", "/nonexistent/bench_solvers_options_test", "--cells", "3:5-6", "--seeds", "4,2"])
    assert capsys.readouterr().out.startswith("# bench_solvers: 4 cells (0 already in")
