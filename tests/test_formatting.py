"""Printed certificates contain what they certify: bounds are rounded outward, never to nearest."""
import importlib.util
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from spherecodes import one_vs_rest_distances, polygon
from spherecodes.formatting import bracket, round_down, round_up

SPECS = [".10f", ".12f", ".6f", ".3g", ".6g", ".12g", ".15g", ".17g"]


def _numbers():
    rng = np.random.default_rng(0)
    xs = [0.76968693412649, 0.5, 1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0, 1e-150, -1e-150, 1e150, 5e-324,
          1.7976931348623157e308, 0.9999999999999999, 1.0 - 2**-40, 9.99999999999995, 123456.789]
    xs += list(rng.uniform(-1, 1, 200)) + list(10.0 ** rng.uniform(-300, 300, 200) * rng.choice([-1, 1], 200))
    return xs


@pytest.mark.parametrize("spec", SPECS)
def test_printed_bounds_contain_the_number(spec):
    for x in _numbers():
        lo, hi = round_down(x, spec), round_up(x, spec)
        exact = Fraction(x)
        assert Fraction(lo) <= exact <= Fraction(hi), (x, spec, lo, hi)
        if spec[-1] == "f":   # and no wider than one unit of the last place
            assert Fraction(hi) - Fraction(lo) <= Fraction(1, 10 ** int(spec[1:-1])), (x, spec, lo, hi)


def test_round_to_nearest_would_print_a_bracket_that_misses_the_value():
    x = 0.76968693412649
    assert f"{x:.10f}" == "0.7696869341" and Fraction("0.7696869341") < Fraction(x)   # the premise
    assert bracket(x, x) == "[0.7696869341, 0.7696869342]"
    assert bracket(0.5, 0.5) == "[0.5000000000, 0.5000000000]"     # exact values print exactly
    assert bracket(-1 / 3, 1 / 3, ".6g") == "[-0.333334, 0.333334]"
    assert round_up(9.99999999999999, ".6g") == "10" and round_down(9.99999999999999, ".6g") == "9.99999"
    for bad in ("10f", ".f", ".10e", "", ".x0f"):
        with pytest.raises(ValueError, match="spec"):
            round_down(0.5, bad)
    # ints are printed exactly (float(2**53 + 1) would round it); other types are refused, not rounded
    assert round_up(2**53 + 1, ".0f") == "9007199254740993" and round_down(-(2**53) - 1, ".0f") == "-9007199254740993"
    assert round_up(10**400, ".3g") == "1.00e+400" and round_up(np.float32(0.1), ".12f") == "0.100000001491"
    for bad in ("0.1", Fraction(1, 3), True):
        with pytest.raises(TypeError, match="x must be"):
            round_up(bad)
    assert round_down(1.7976931348623157e308, ".900f").endswith(".0" + "0" * 899)   # more digits than a context


def test_reprs_print_brackets_that_contain_the_certificate():
    res = one_vs_rest_distances(polygon(7))
    lo, hi = re.search(r"certificate=\[([^,]+), ([^\]]+)\]", repr(res)).groups()
    assert Fraction(lo) <= Fraction(res.rho_lower) and Fraction(hi) >= Fraction(res.rho_upper)
    assert Fraction(lo) < Fraction(hi)     # rho = 1 - cos(2 pi / 7) is not a 12-digit decimal


def test_paper_optima_prints_the_certified_lower_end_as_ours(tmp_path):
    # 'ours' is announced as a certified lower bound on the optimum: with a loose bracket it must be
    # the bracket's lower end (rounded down), not the code's computed distance
    spec = importlib.util.spec_from_file_location(
        "paper_optima_fmt", Path(__file__).resolve().parents[1] / "benchmarks" / "paper_optima.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    row = {"d": 10, "K": 100, "paper": 0.614, "ours": 0.66893273413836, "lower": 0.66893273163240,
           "upper": 0.66893273413836, "exceeds_paper": True, "source": "test", "rattlers": 2, "time": 1.0}
    mod.write_markdown(tmp_path / "t.md", [row], "cmd", 1.0)
    line = next(ln for ln in (tmp_path / "t.md").read_text().splitlines() if ln.startswith("| 10 | 100 |"))
    assert "| 0.6689327316 | [0.6689327316, 0.6689327342] |" in line


def test_tammes_vs_softmax_table_prints_the_certified_lower_end():
    from spherecodes.compare import markdown_compare_table

    # (3, 7) as committed: the Softmax code's rho is the larger by 1e-15; to nearest, the Tammes
    # column printed 0.7898616873 beside 0.7898616872 and seemed the better code
    row = {"d": 3, "K": 7, "rho_softmax": 0.7898616872693968, "rho_softmax_lower": 0.7898616872693963,
           "rho_tammes": 0.7898616872693957, "rho_tammes_lower": 0.7898616872693952,
           "one_minus_t": 0.7898616872693963, "agree": True, "known_optimum": "",
           "rattlers_softmax": 0, "rattlers_tammes": 0, "time": 1.0}
    closed = dict(row, K=5, rho_softmax_lower=0.9999999999999998, rho_tammes_lower=0.9999999999999998,
                  rho_softmax=1.0, rho_tammes=1.0, one_minus_t=1.0, known_optimum=1.0)   # Theorem 3.3
    lines = markdown_compare_table([row, closed]).splitlines()
    assert lines[2].startswith("| 3 | 7 | 0.7898616872 | 0.7898616872 | 0.7898616872 |"), lines[2]
    assert lines[3].startswith("| 3 | 5 | 1.0000000000 | 1.0000000000 | 1.0000000000 |"), lines[3]


def test_cli_bounds_print_theorem39_bounds_outward():
    import subprocess
    import sys

    from spherecodes.bounds import theorem39_bounds

    out = subprocess.run([sys.executable, "-m", "spherecodes", "bounds", "-d", "3", "-K", "50", "--optimum", "never"],
                         capture_output=True, text=True, check=True).stdout
    b = theorem39_bounds(3, 50, warn=False)
    lower = re.search(r"Theorem 3.9 lower\s*: (\S+)", out).group(1)
    upper = re.search(r"Theorem 3.9 upper\s*: (\S+)", out).group(1)
    assert Fraction(lower) <= Fraction(b.lower) and Fraction(upper) >= Fraction(b.upper)
    assert f"{b.upper:.12g}" != upper        # here round-to-nearest would print below the bound
