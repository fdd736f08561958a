#!/usr/bin/env python
"""Do the tests fail when the numbers are wrong?  Apply named mutants, run the tests that guard them.

Each mutant replaces one line of the package (in a temporary copy of the
repository, never in place) with a wrong version: a certificate whose lower
bound is the upper bound, a rattler tolerance 1e4 times too large, a GNC1
without its scaling, a polish that accepts every step, ...  The tests named for
it must then fail ("killed"); a mutant that survives is a line no test guards.

Usage::

    python benchmarks/mutants.py                 # all mutants; prints "killed N of M" and the survivors
    python benchmarks/mutants.py --list
    python benchmarks/mutants.py 0 5 7           # some of them, by number

Not listed: changes that only cost speed (an error of 1e-9 in the Gram-mode normal
matrix: the certificate sees the wide bracket and the explicit fallback repairs the
value), which no test of values should catch.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spherecodes.cli import ScriptParser, _nonneg_int, _positive_float

ROOT = Path(__file__).resolve().parents[1]

HULL_TESTS = ["tests/test_certificate.py", "tests/test_hull.py", "tests/test_measures.py"]
LARGE_CORRAL_DROP = ("tests/test_certificate.py::"
                     "test_kernel_drop_in_a_large_corral_downdates_the_factor_or_asks_for_a_rebuild")
#: (name, file, the line as it is, the wrong line, tests that must fail)
MUTANTS = [
    ("certificate lower bound = upper bound (double-double path)", "spherecodes/_wolfe.py",
     "    return tmin / norm * (1.0 - 4.0 * EPS)", "    return norm", HULL_TESTS),
    ("certificate lower bound = distance (Gram fast path)", "spherecodes/_wolfe.py",
     "                lo = tlo / nup * (1.0 - 4.0 * EPS)", "                lo = nx", HULL_TESTS),
    ("distance_to_hull: lower returned as upper", "spherecodes/hull.py",
     "        lower = float(np.ldexp(lo, e))", "        lower = float(np.ldexp(up, e))",
     HULL_TESTS),
    ("blocked path: lower bound replaced by the norm", "spherecodes/_wolfe.py",
     "        lower[p] = min(low, nx)", "        lower[p] = nx", HULL_TESTS),
    ("blocked path: fast lower bound replaced by the norm", "spherecodes/_wolfe.py",
     "                lower[p] = min(fast, nx)", "                lower[p] = nx", HULL_TESTS),
    ("rattlers: tolerance x 1e4", "spherecodes/measures.py",
     "rho + rtol * max(rho", "rho + 1e4 * rtol * max(rho", HULL_TESTS + ["tests/test_code.py"]),
    ("rattlers: tolerance dropped", "spherecodes/measures.py",
     "rho + rtol * max(rho", "rho + 0 * rtol * max(rho", HULL_TESTS + ["tests/test_code.py"]),
    ("Wolfe optimality scan skips the last codeword", "spherecodes/_wolfe.py",
     "        lo = min(lo, gj - ej if j != k else np.inf)",
     "        lo = min(lo, gj - ej if j != k and j != K - 1 else np.inf)", HULL_TESTS),
    ("kernel rounding floor from the largest corral norm", "spherecodes/_wolfe.py",
     "        nu += lam[i] * np.sqrt(max(sq[S[i]], 0.0))",
     "        nu = max(nu, np.sqrt(max(sq[S[i]], 0.0)))", HULL_TESTS),
    ("upper bound rounded inward (Gram fast path)", "spherecodes/_wolfe.py",
     "        return nx, nx * grow + err, nx * grow, 0", "        return nx, nx * (1 - 1e-13), nx * grow, 0",
     HULL_TESTS),
    ("lower bound ignores its rounding error", "spherecodes/_wolfe.py",
     "        tmin = min(tmin, t - err)\n    if not tmin", "        tmin = min(tmin, t + 1e-13 * abs(t))\n    if not tmin",
     HULL_TESTS),
    ("Gram kernel reports every class converged", "spherecodes/_wolfe.py",
     "        converged[k] = up - lower[k] <= tol * up", "        converged[k] = True", HULL_TESTS),
    ("unit-norm screen of one_vs_rest_distances accepts any code", "spherecodes/_wolfe.py",
     "        worst = max(worst, abs(np.sqrt(acc) - 1.0))", "        worst = 0.0", HULL_TESTS),
    ("tol may be infinite", "spherecodes/_validation.py",
     "    if not (math.isfinite(value) and value > 0):", "    if not value > 0:", ["tests/test_validation.py"]),
    ("blocked path: violators not added", "spherecodes/hull.py",
     "                if viol.size:\n                    still.append(i)", "                if False:\n                    still.append(i)",
     HULL_TESTS),
    ("GNC1 keeps the rounding-level singular values of the class means", "spherecodes/collapse.py",
     "    keep = sv > sv[0] * max(M.shape) * np.finfo(float).eps", "    keep = sv > 0",
     ["tests/test_collapse.py"]),
    ("GNC1 without the power-of-two scaling", "spherecodes/collapse.py",
     "    Hs = np.ldexp(H, -_pow2_exponent(H))", "    Hs = H", ["tests/test_collapse.py"]),
    ("GNC3 back to the unscaled norms", "spherecodes/collapse.py",
     "        M = unit_columns(M)", "        M = M / np.linalg.norm(M, axis=0)", ["tests/test_collapse.py"]),
    ("Theorem 3.9 lower bound: 1/2 -> 1", "spherecodes/bounds.py",
     "    log_lo = -log2 + 2.0 / dm1 * (half_log_pi - log_K + a - b_lo)",
     "    log_lo = 0.0 + 2.0 / dm1 * (half_log_pi - log_K + a - b_lo)", ["tests/test_bounds.py"]),
    ("Tammes LP polish accepts every step", "spherecodes/solvers/polish.py",
     "        if ratio > 0.0 and new_value > value:", "        if True:",
     ["tests/test_solvers.py", "tests/test_sharpen.py", "tests/test_anytime.py"]),
    ("class_means label check removed", "spherecodes/_validation.py",
     "        if K > N:   # checked before any array of size K is allocated", "        if False:",
     ["tests/test_validation.py", "tests/test_collapse.py"]),
    ("streaming: pairwise update without the between-batch term", "spherecodes/streaming.py",
     "        Z = ops.vstack(R, delta * ops.sqrt(w)[:, None])", "        Z = ops.vstack(R, 0.0 * delta)",
     ["tests/test_streaming.py"]),
    ("NC4: float32 near-ties not re-scored in float64", "spherecodes/streaming.py",
     "            if amb.size:", "            if False:", ["tests/test_streaming.py"]),
    ("final polish takes copies of one basin", "spherecodes/solvers/_common.py",
     "        if all(abs(v - u) > s.hit_tol * max(1.0, abs(u)) for u in values):", "        if True:",
     ["tests/test_anytime.py"]),
    ("basin hops (free and symmetric) accept every move", "spherecodes/solvers/multistart.py",
     "        if value2 < value - 1e-12 * scale:", "        if True:", ["tests/test_anytime.py"]),
    ("large-K path: no certificate reserve (the certificate comes on top of time_limit)",
     "spherecodes/solvers/_common.py",
     '        if plan["reserve"] and time.perf_counter() - t0 + plan["step"] >= time_limit - plan["reserve"]:',
     "        if False:", ["tests/test_large_k.py::test_large_k_time_limit_covers_the_certificate"]),
    ("final Softmax polish restarts at the stage's end (repeats its last sharpness)",
     "spherecodes/solvers/settings.py", "        return float(self.softmax_beta * 4.0 ** (steps + 1))",
     "        return float(self.softmax_beta * 4.0 ** steps)",
     ["tests/test_anytime.py::test_softmax_stage_stops_at_softmax_beta_max_and_the_polish_continues_one_step_above"]),
    ("large-K reserve: the growth of the certificate estimate ignored", "spherecodes/solvers/_common.py",
     "        g = max(0.0, (e - e0) / max(t - t0, 1e-9))", "        g = 0.0",
     ["tests/test_anytime.py::test_certificate_reserve_extrapolates_the_growth_of_the_estimate"]),
    ("Softmax-stage restarts alternate antipodal/free like Tammes ones", "spherecodes/solvers/multistart.py",
     "    period = s.softmax_antipodal_period if softmax_stage else 2", "    period = 2",
     ["tests/test_anytime.py::test_restart_kind_and_descent_end_follow_the_softmax_stage"]),
    ("the polish leaves no time for the final measures", "spherecodes/solvers/_common.py",
     "        polish_end = t_end if t_end is None or not polishes else t_end - HULL_MARGIN * _measure_seconds(ms)",
     "        polish_end = t_end",
     ["tests/test_anytime.py::test_polish_deadline_leaves_the_final_measures_their_time"]),
    ("the Softmax sharpening runs to its deadline before its exact value", "spherecodes/solvers/sharpen.py",
     "        return HULL_MARGIN * max(hull_seconds, certification_seconds(W2, sample=HULL_SAMPLE))",
     "        return 0.0",
     ["tests/test_anytime.py::test_softmax_sharpening_leaves_its_deadline_to_the_exact_value"]),
    ("the continuation gives its first sharpness value the whole deadline", "spherecodes/solvers/sharpen.py",
     "            stage_end = time.time() + (end - time.time()) / max(stages_left, 1)", "            stage_end = end",
     ["tests/test_sharpen.py::test_sharpening_shares_its_deadline_among_sharpness_values_and_keeps_the_reserve"]),
    ("the continuation ignores the caller's reserve", "spherecodes/solvers/sharpen.py",
     "            end = deadline - (reserve(X) if reserve is not None else 0.0)", "            end = deadline",
     ["tests/test_sharpen.py::test_sharpening_shares_its_deadline_among_sharpness_values_and_keeps_the_reserve"]),
    ("time-limited certificate solves the classes least at risk first", "spherecodes/hull.py",
     "    order = np.argsort(-maxip, kind=\"stable\")", "    order = np.argsort(maxip, kind=\"stable\")",
     ["tests/test_hull.py::test_time_limit_solves_the_classes_most_at_risk_first"]),
    ("nearest-codeword lower bound without its rounding slack", "spherecodes/hull.py",
     "        lower[i:i + step] = num * (1.0 - 8.0 * _EPS) / np.sqrt(sq + 2.0 * e)",
     "        lower[i:i + step] = (sq - m) / np.sqrt(sq)",
     ["tests/test_certificate.py"]),
    ("time-limited certificate runs past its deadline", "spherecodes/hull.py",
     "        if left <= 0 or n < 1:", "        if False:",
     ["tests/test_hull.py::test_time_limit_solves_the_classes_most_at_risk_first"]),
    ("large-K path: a certificate that cannot fit keeps its whole reserve", "spherecodes/solvers/_common.py",
     '                plan["reserve"] = PARTIAL_CERTIFICATE_SHARE * time_limit + _fixed_seconds(*plan["overheads"], 1.2) + 2.0',
     "                pass",
     ["tests/test_large_k.py::test_large_k_certificate_that_cannot_fit_is_cut_by_the_time_limit"]),
    ("large-K path: the certificate runs without a time limit", "spherecodes/solvers/_common.py",
     "                             certificate_time_limit=certificate_limit)", "                             )",
     ["tests/test_large_k.py::test_large_k_certificate_that_cannot_fit_is_cut_by_the_time_limit"]),
    ("rattlers counted among classes a time limit left unsolved", "spherecodes/measures.py",
     "        rattlers=rattlers_from_distances(res.distance, rtol, res.solved),",
     "        rattlers=rattlers_from_distances(res.distance, rtol),",
     ["tests/test_code.py::test_time_limited_certificate_is_recorded_and_verified"]),
    ("nearest-codeword upper bound not rounded up", "spherecodes/hull.py",
     "    return np.nextafter(r * (1.0 + 2.0 * (d + 4) * _EPS), np.inf)",
     "    return r",
     ["tests/test_certificate.py"]),
    ("large-K search: the reserve checked without the next step's time", "spherecodes/solvers/_common.py",
     '        if plan["reserve"] and time.perf_counter() - t0 + plan["step"] >= time_limit - plan["reserve"]:',
     '        if plan["reserve"] and time.perf_counter() - t0 >= time_limit - plan["reserve"]:',
     ["tests/test_large_k.py::test_large_k_search_stops_a_step_before_its_reserve"]),
    ("basin hops: a polish-sized gain resets the patience", "spherecodes/solvers/multistart.py",
     "        fails = 0 if value2 < value - gain * scale else fails + 1",
     "        fails = 0 if value2 < value - 1e-12 * scale else fails + 1",
     ["tests/test_anytime.py::test_basin_hops_keep_small_gains_but_count_them_against_patience"]),
    ("basin hops keep a worse point", "spherecodes/solvers/multistart.py",
     "        if value2 < value - 1e-12 * scale:", "        if True:",
     ["tests/test_anytime.py::test_basin_hops_keep_small_gains_but_count_them_against_patience"]),
    ("Softmax hops move every codeword", "spherecodes/solvers/multistart.py",
     "[:_cap_size(share, K)]", "[:K]",
     ["tests/test_anytime.py::test_cap_jitter_moves_exactly_the_codewords_nearest_one_of_them"]),
    ("Tammes hops ignore hop_share", "spherecodes/solvers/multistart.py",
     "    if s.hop_share >= 1.0:", "    if True:",
     ["tests/test_anytime.py::test_tammes_hops_move_every_codeword_or_a_cap_of_hop_share"]),
    ("Softmax hops at every size", "spherecodes/solvers/settings.py",
     '"softmax_hops": 1000 if sharpens(d, K) and K * (d - 1) <= SOFTMAX_HOP_MAX_VARIABLES else 0,',
     '"softmax_hops": 1000 if sharpens(d, K) else 0,',
     ["tests/test_anytime.py::test_softmax_hops_on_by_size_and_in_every_softmax_restart"]),
    ("Softmax restarts do not hop", "spherecodes/solvers/multistart.py",
     "        if s.softmax_hops > 0 and not _expired(deadline, stop):", "        if False:",
     ["tests/test_anytime.py::test_softmax_hops_on_by_size_and_in_every_softmax_restart"]),
    ("default Tammes hops take the cap path (another random stream)", "spherecodes/solvers/multistart.py",
     "    if s.hop_share >= 1.0:", "    if s.hop_share > 1.0:",
     ["tests/test_anytime.py::test_tammes_hops_move_every_codeword_or_a_cap_of_hop_share"]),
    ("cap size rounds floating-point noise up", "spherecodes/solvers/multistart.py",
     "math.ceil(round(share * K, 9))", "math.ceil(share * K)",
     ["tests/test_anytime.py::test_cap_jitter_moves_exactly_the_codewords_nearest_one_of_them"]),
    ("settings keep integral floats as floats", "spherecodes/solvers/settings.py",
     "                object.__setattr__(self, name, check_int(getattr(self, name), name, minimum=minimum))",
     "                check_int(getattr(self, name), name, minimum=minimum)",
     ["tests/test_anytime.py::test_settings_store_integral_counts_as_int"]),
    ("sharpening ignores the stop flag mid-stage", "spherecodes/solvers/sharpen.py",
     "        if (stage_end is not None and time.time() >= stage_end) or stopped():",
     "        if stage_end is not None and time.time() >= stage_end:",
     ["tests/test_sharpen.py::test_the_stop_flag_ends_a_softmax_sharpening_as_the_deadline_does"]),
    ("a restart's Softmax stage does not get the stop flag", "spherecodes/solvers/multistart.py",
     "max_iter=s.softmax_iterations, tol=1e-7, deadline=deadline, stop=stop)",
     "max_iter=s.softmax_iterations, tol=1e-7, deadline=deadline)",
     ["tests/test_sharpen.py::test_the_stop_flag_ends_a_softmax_sharpening_as_the_deadline_does"]),
    ("orbit-code pullback by g instead of its transpose", "spherecodes/solvers/symmetry.py",
     'return np.einsum("gji,jgh->ih", self.group.matrices, moved)',
     'return np.einsum("gij,jgh->ih", self.group.matrices, moved)', ["tests/test_symmetry.py"]),
    ("orbit-code fast step forgets the orbit sizes of the special orbits", "spherecodes/solvers/symmetry.py",
     "        total = self._sizes @ E.sum(axis=1)", "        total = self.group.order * E.sum()",
     ["tests/test_symmetry.py"]),
    ("orbit decompositions allow no generic orbit", "spherecodes/solvers/symmetry.py",
     "if rest >= group.order and rest % group.order == 0:", "if rest >= 0 and rest % group.order == 0:",
     ["tests/test_symmetry.py"]),
    ("rotation-symmetric restarts on index 0 mod period", "spherecodes/solvers/multistart.py",
     "index % s.rotation_period == s.rotation_period // 2", "index % s.rotation_period == 0", ["tests/test_symmetry.py"]),
    ("rotation tries restart the group sweep in every restart", "spherecodes/solvers/multistart.py",
     "group, decs = groups[_group_turn(first + j, groups)]", "group, decs = groups[_group_turn(j, groups)]",
     ["tests/test_symmetry.py"]),
    ("rotation-symmetric restarts at every K in d = 3", "spherecodes/solvers/settings.py",
     'if d == 3 and K >= ROTATION_MIN_K else 0)', 'if d == 3 else 0)',
     ["tests/test_symmetry.py"]),
    ("rotation tries run on past the deadline", "spherecodes/solvers/multistart.py",
     "    for j in range(tries):\n        if j and _expired(run[\"deadline\"], run[\"stop\"]):\n            break\n        group, decs",
     "    for j in range(tries):\n        group, decs", ["tests/test_symmetry.py"]),
    ("rotation_period may be odd", "spherecodes/solvers/settings.py",
     "(period < 2 or period % 2)", "(period < 2)", ["tests/test_symmetry.py"]),
    ("rotation_period 2 (mod 4) accepted beside antipodal restarts (every rotation turn collides)",
     "spherecodes/solvers/settings.py", "if period and self.antipodal and (period // 2) % 2:", "if False:",
     ["tests/test_symmetry.py"]),
    ("rotation-symmetric restarts one in four also without antipodal restarts", "spherecodes/solvers/settings.py",
     '(4 if size["antipodal"] else 2)', '(4 if size["antipodal"] else 4)', ["tests/test_symmetry.py"]),
    ("hull point's norm squared unscaled (underflows for gaps below ~1e-154)", "spherecodes/_wolfe.py",
     "    ex = math.frexp(mx)[1]", "    ex = 0", ["tests/test_certificate.py"]),
    ("no pad for products that underflow in the hull point", "spherecodes/_wolfe.py",
     "        err += (8.0 * s + 32.0) * (d + 1.0) * ETA", "        err += 0.0",
     ["tests/test_certificate.py"]),
    ("hull point's double-double rounding left out of the upper bound", "spherecodes/_wolfe.py",
     "    err = (8.0 * s + 32.0) * EPS * EPS * acc / T * (1.0 + 8.0 * d * EPS)", "    err = 0.0",
     ["tests/test_certificate.py"]),
    ("double-double inner product ignores underflow", "spherecodes/_wolfe.py",
     "(8.0 * n + 16.0) * EPS * EPS * sabs + (8.0 * n + 16.0) * ETA", "(8.0 * n + 16.0) * EPS * EPS * sabs",
     ["tests/test_certificate.py"]),
    ("plain-double hull point trusted down to underflow", "spherecodes/_wolfe.py",
     "    if nx > 2.0 ** -400 and err <= 0.0625 * tol * nx:",
     "    if nx > 0.0 and err <= 0.0625 * tol * nx:", ["tests/test_certificate.py"]),
    ("distance_to_hull scales entries that span more than the doubles' range", "spherecodes/hull.py",
     "    if not (np.array_equal(As.T * scale, A) and np.array_equal(vs * scale, v)):", "    if False:",
     ["tests/test_certificate.py::test_distance_to_hull_at_the_ends_of_the_double_range"]),
    ("distance_to_hull rounds a subnormal upper bound to nearest", "spherecodes/hull.py",
     "        upper = float(np.nextafter(upper, np.inf)) if upper > 0 or up > 0 else 0.0", "        upper = upper",
     ["tests/test_certificate.py::test_distance_to_hull_at_the_ends_of_the_double_range"]),
    ("power-of-two scale of entries above 2^1023 overflows", "spherecodes/hull.py",
     "int(np.frexp(x)[1]) - 1)", "int(np.frexp(x)[1]))",
     ["tests/test_certificate.py::test_distance_to_hull_at_the_ends_of_the_double_range"]),
    ("paper_optima reports a certificate the time limit cut", "benchmarks/paper_optima.py",
     '            elif "certified_classes" in code.settings:', "            elif False:",
     ["tests/test_benchmark_scripts.py::test_paper_optima_completes_a_certificate_cut_by_the_time_limit"]),
    ("the certificate's cost estimate ignores max_seconds", "spherecodes/hull.py",
     "            n = 1 if done == 0 else int(min(n, 0.5 * (max_seconds - spent) * done / max(spent, 1e-9)))",
     "            n = m - done",
     ["tests/test_large_k.py::test_certification_seconds_times_classes_for_at_most_max_seconds"]),
    ("Wolfe stops at a candidate dependent on the corral (no pivot)", "spherecodes/_wolfe.py",
     "                first = _exchange(C, S, lam, L, beta, alpha, in_S, s, jmin)",
     "                first = -1",
     ["tests/test_certificate.py::test_near_degenerate_code_is_certified_tight",
      "tests/test_certificate.py::test_perturbed_root_systems_are_certified_tight"]),
    ("the pivot's dependency has the wrong reference weight", "spherecodes/_wolfe.py",
     "    nu[0] = tot - 1.0", "    nu[0] = 1.0 - tot",
     ["tests/test_certificate.py::test_kernel_pivot_dependency_is_the_affine_combination"]),
    ("the pivot ignores the corral's scales", "spherecodes/_wolfe.py",
     "    return hi <= 1e8 * lo", "    return True",
     ["tests/test_certificate.py::test_pivot_keeps_a_near_duplicate_tight"]),
    ("the progress bar waits for the first restart", "spherecodes/solvers/_common.py",
     "        while not self._closed.wait(0.5):", "        while False:",
     ["tests/test_anytime.py::test_the_bar_moves_while_the_first_restart_runs"]),
    ("a huge time limit overflows the chunk of classes", "spherecodes/hull.py",
     "            n = int(min(K - done, min(0.25 * left, left - per_class) / per_class)) * n_jobs",
     "            n = int(min(0.25 * left, left - per_class) / per_class) * n_jobs",
     ["tests/test_hull.py::test_the_largest_time_limits_are_no_limit"]),
    ("a huge max_seconds overflows the estimate's chunk", "spherecodes/hull.py",
     "            n = 1 if done == 0 else int(min(n, 0.5 * (max_seconds - spent) * done / max(spent, 1e-9)))",
     "            n = 1 if done == 0 else min(n, int(0.5 * (max_seconds - spent) * done / max(spent, 1e-9)))",
     ["tests/test_hull.py::test_the_largest_time_limits_are_no_limit"]),
    ("printed lower bounds rounded to nearest", "spherecodes/formatting.py",
     "    return _directed(x, spec, ROUND_FLOOR)", '    return _directed(x, spec, "ROUND_HALF_EVEN")',
     ["tests/test_formatting.py"]),
    ("paper_optima's 'ours' is the computed distance, not the certified lower end", "benchmarks/paper_optima.py",
     'lower_bound_text(r["ours"], r["lower"], exact=', 'lower_bound_text(r["ours"], r["ours"], exact=',
     ["tests/test_formatting.py::test_paper_optima_prints_the_certified_lower_end_as_ours"]),
    ("the Tammes-vs-Softmax table prints the code's distance, not its certified lower end", "spherecodes/compare.py",
     'lower if lower not in (None, "") else r[key], exact=exact)',
     'lower if lower not in (None, "") else r[key], exact=True)',
     ["tests/test_formatting.py::test_tammes_vs_softmax_table_prints_the_certified_lower_end"]),
    ("the CLI prints Theorem 3.9 bounds to nearest", "spherecodes/cli.py",
     """             f"  Theorem 3.9 upper         : {round_up(b.upper, '.12g')}\"""",
     """             f"  Theorem 3.9 upper         : {b.upper:.12g}\"""",
     ["tests/test_formatting.py::test_cli_bounds_print_theorem39_bounds_outward"]),
    ("Theorem 3.9 bounds not widened by their rounding", "spherecodes/bounds.py",
     "    err = _LOG_SLACK * (size + log2)", "    err = 0.0 * (size + log2)",
     ["tests/test_bounds.py::test_bounds_are_rounded_outward_against_mpmath"]),
    ("paper_optima completes a cut certificate even when asked to keep it", "benchmarks/paper_optima.py",
     '            if "certified_classes" in code.settings and args.keep_cut_certificate:',
     '            if "certified_classes" in code.settings and False:',
     ["tests/test_benchmark_scripts.py::test_paper_optima_completes_a_certificate_cut_by_the_time_limit"]),
    ("overlap energy sums the overlaps, not their squares", "spherecodes/solvers/overlap.py",
     "            E += o * o", "            E += o", ["tests/test_overlap.py"]),
    ("overlap gradient pushes the second point of a pair the wrong way", "spherecodes/solvers/overlap.py",
     "                G[j, a] -= t", "                G[j, a] += t", ["tests/test_overlap.py"]),
    ("overlap relaxation never rebuilds its neighbour list", "spherecodes/solvers/overlap.py",
     "        if _max_moved2(X, X0) > moved2:", "        if False:", ["tests/test_overlap.py"]),
    ("overlap search: each step of the sliding target spends a move", "spherecodes/solvers/overlap.py",
     "            fails = 0\n            continue", "            fails = 0", ["tests/test_overlap.py"]),
    ("relax ignores normalize=True", "spherecodes/solvers/overlap.py",
     "    return _relax(as_code(W, normalize=normalize, rows_option=False), _check_target(c),",
     "    return _relax(as_code(W, rows_option=False), _check_target(c),", ["tests/test_overlap.py"]),
    ("symmetric overlap gradient pulled back by the transposed rotations", "spherecodes/solvers/overlap.py",
     "                    G[j, b] += mats[g, a, b] * u", "                    G[j, b] += mats[g, b, a] * u",
     ["tests/test_overlap.py"]),
    ("symmetric overlap search relaxes all K points", "spherecodes/solvers/multistart.py",
     "                        orbits=orbits)", "                        orbits=None)", ["tests/test_symmetry.py"]),
    ("rotation-symmetric restarts skip the symmetric overlap search", "spherecodes/solvers/multistart.py",
     "overlap=overlap_search)", "overlap=False)", ["tests/test_symmetry.py"]),
    ("rotation-symmetric restarts skip the overlap search without the symmetry", "spherecodes/solvers/multistart.py",
     "        if overlap_search:  # the symmetric", "        if False:  # the symmetric", ["tests/test_symmetry.py"]),
    ("rotation-symmetric restarts drop their symmetric code after the search without the symmetry",
     "spherecodes/solvers/multistart.py", "s.radius), (W, *also))", "s.radius), (W,))",
     ["tests/test_symmetry.py::test_a_rotation_symmetric_restart_keeps_its_symmetric_code_when_the_free_search_loses_it"]),
    ("rotation-symmetric restarts skip the fine hops", "spherecodes/solvers/multistart.py",
     "    if fine and s.fine_hop_stepsize > 0:", "    if False:",
     ["tests/test_symmetry.py::test_rotation_symmetric_restarts_hop_again_with_fine_steps_and_free_ones_do_not"]),
    ("free restarts fine-hop too", "spherecodes/solvers/multistart.py", "also=kept, fine=rotation)", "also=kept, fine=True)",
     ["tests/test_symmetry.py::test_rotation_symmetric_restarts_hop_again_with_fine_steps_and_free_ones_do_not"]),
    ("a value published to 9 digits reached within 1e-9 (a worse optimum counts as a hit)", "benchmarks/published.py",
     "    return tol if m is None else min(tol, 0.5 * 10.0 ** -int(m.group(1)))", "    return tol",
     ["tests/test_benchmark_scripts.py"]),
    ("bench_solvers ignores the digits a value is published to", "benchmarks/bench_solvers.py",
     "    hit_tol = HIT_TOL if ref is None else reach_tolerance(ref[1], HIT_TOL)", "    hit_tol = HIT_TOL",
     ["tests/test_benchmark_scripts.py::test_a_value_published_to_9_digits_is_reached_only_within_half_a_unit_of_its_last_digit"]),
    ("tammes_vs_softmax ignores the digits a value is published to", "benchmarks/tammes_vs_softmax.py",
     "    tol = reach_tolerance(ref[1], AGREE_TOL)", "    tol = AGREE_TOL",
     ["tests/test_benchmark_scripts.py::test_tammes_vs_softmax_flags_cells_short_of_a_published_value"]),
    ("rotation tries ignore the groups' free points", "spherecodes/solvers/multistart.py",
     "    weights = np.array([np.mean([h for _, h in decs]) for _, decs in groups])",
     "    weights = np.ones(len(groups))", ["tests/test_symmetry.py"]),
    ("rotation tries skip the first round in turn", "spherecodes/solvers/multistart.py",
     "    if t < n:\n        return t", "    if t < 0:\n        return t", ["tests/test_symmetry.py"]),
    ("refcount=False compiles with reference counting all the same", "spherecodes/_jit.py",
     '        options["_nrt"] = False', '        options["_nrt"] = True',
     ["tests/test_inputs.py::test_kernels_without_reference_counting_compute_the_same_and_cannot_allocate"]),
    ("rotation tries: the best try of the most free points does not go on", "spherecodes/solvers/multistart.py",
     "        for W1, _, o1 in [best] if widest is best else [best, widest]:",
     "        for W1, _, o1 in [best]:", ["tests/test_symmetry.py"]),
    ("rotation tries: the second search goes on from the try of the fewest free points", "spherecodes/solvers/multistart.py",
     "        widest = max(done, key=lambda t: (t[2].h, -t[1]))  # the best try of the most free points",
     "        widest = max(done, key=lambda t: (-t[2].h, -t[1]))", ["tests/test_symmetry.py"]),
    ("benchmark cells with K < 2 accepted", "spherecodes/cli.py",
     '(min(K1, K2) >= 2, "K >= 2")', '(True, "K >= 2")', ["tests/test_benchmark_options.py"]),
    ("benchmark comma lists keep empty items", "spherecodes/cli.py",
     "        if not all(items):", "        if False:", ["tests/test_benchmark_options.py"]),
    ("the endgame also runs after a search that did not run out of time", "spherecodes/solvers/_common.py",
     '        if polishes and ms.status == "time_limit" and endgame > 0:',
     "        if polishes and endgame > 0:",
     ["tests/test_anytime.py::test_the_endgame_fills_the_reserve_only_where_the_restarts_ran_out_of_time"]),
    ("the restarts leave the endgame no time", "spherecodes/solvers/_common.py",
     "    reserve = settings.polish_reserve + endgame",
     "    reserve = settings.polish_reserve",
     ["tests/test_anytime.py::test_the_endgame_fills_the_reserve_only_where_the_restarts_ran_out_of_time"]),
    ("bench_solvers: a hit of the final polish has no time to hit", "benchmarks/bench_solvers.py",
     '            "t_hit": f"{first_hit[0] if first_hit else wall:.1f}" if hit else "", "wall": round(wall, 2),',
     '            "t_hit": f"{first_hit[0]:.1f}" if (hit and first_hit) else "", "wall": round(wall, 2),',
     ["tests/test_benchmark_scripts.py::test_bench_solvers_times_a_hit_of_the_final_polish_at_the_wall_time"]),
    ("the endgame also runs where the restarts run side by side", "spherecodes/solvers/_common.py",
     "    return s.endgame_share if runs_serially(executor, d, K, s.restarts) else 0.0",
     "    return s.endgame_share",
     ["tests/test_anytime.py::test_the_endgame_fills_the_reserve_only_where_the_restarts_ran_out_of_time"]),
    ("a Caratheodory drop keeps the stale factor rows after it", "spherecodes/_wolfe.py",
     "        first = out", "        first = s",
     ["tests/test_certificate.py::test_kernel_refactor_after_a_dependent_point_leaves_matches_the_new_corral"]),
    ("a dropped point's right-hand side entry stays", "spherecodes/_wolfe.py",
     "                    rhs[t] = rhs[t + 1]", "                    pass", [LARGE_CORRAL_DROP]),
    ("a dropped reference point is downdated like the others", "spherecodes/_wolfe.py",
     "    if first > 0 and s > DOWNDATE_MIN_CORRAL:", "    if first >= 0 and s > DOWNDATE_MIN_CORRAL:",
     [LARGE_CORRAL_DROP]),
    ("a drop in a small corral keeps the stale factor rows after it", "spherecodes/_wolfe.py",
     "            first = i                    # the first position dropped", "            first = s", HULL_TESTS),
    ("the factor's downdate skips the rotations of the rows below", "spherecodes/_wolfe.py",
     "            L[i, r] = c * x + sn * y", "            L[i, r] = x",
     ["tests/test_certificate.py::test_kernel_cholesky_delete_is_the_factor_of_the_submatrix"]),
    ("check_int's fast path for a plain int skips the minimum", "spherecodes/_validation.py",
     "    if type(value) is int and value >= minimum:", "    if type(value) is int:",
     ["tests/test_validation.py::test_check_int"]),
    ("distance_between_hulls scales its bracket back unrounded", "spherecodes/margins.py",
     "    lower, upper = scaled_bracket(lower, upper, scale, e0)",
     "    lower, upper = lower * scale * 2.0 ** e0, upper * scale * 2.0 ** e0",
     ["tests/test_margins.py::test_hull_distance_brackets_hold_at_the_ends_of_the_doubles"]),
    ("rho_one_vs_one takes the first pair of largest inner product", "spherecodes/measures.py",
     "    S = np.flatnonzero(maxip >= maxip[i] - slack)", "    S = np.flatnonzero(maxip >= maxip[i])",
     ["tests/test_measures.py::test_closest_pair_by_distance_among_saturated_inner_products"]),
    ("GNC3 of means far from unit norm by the difference of squares", "spherecodes/collapse.py",
     "    near = np.abs(msq - 1.0) <= 0.5", "    near = np.abs(msq - 1.0) <= np.inf",
     ["tests/test_collapse.py::test_gnc3_unnormalized_means_far_from_unit_norm"]),
    ("CDNV squares the means unscaled", "spherecodes/pairwise.py",
     "    X, _, pre, e = centred_order_one(X)", "    pre, e = 0, 0",
     ["tests/test_streaming.py::test_cdnv_is_scale_free_at_the_ends_of_the_doubles"]),
    ("streaming accepts features whose squares underflow", "spherecodes/streaming.py",
     "        if 0.0 < self._absmax < _UNDERFLOW:", "        if False:",
     ["tests/test_streaming.py::test_a_stream_of_underflowing_features_is_refused_when_read"]),
    ("NC4's nearest class center on unscaled means", "spherecodes/_validation.py",
     "    e = int(np.frexp(big)[1]) if big > 0 else 0", "    e = 0",
     ["tests/test_streaming.py::test_nc4_is_scale_free"]),
    ("separation certifies the float64 rescaling, not the code as passed", "spherecodes/measures.py",
     "        res = one_vs_rest_distances(W, normalize=normalize, layout=layout)",
     "        res = one_vs_rest_distances(Wu)",
     ["tests/test_certificate.py::test_certificate_covers_the_exactly_normalized_code"]),
    ("streamed GNC2 certifies the float64 rescaling, not the code as passed", "spherecodes/streaming.py",
     "        return widened_for_rescaling(res, tol) if rescaled else res", "        return res",
     ["tests/test_certificate.py::test_certificate_covers_the_exactly_normalized_code"]),
    ("distance_between_hulls forgets the pre-scaling's loss past 2^1000", "spherecodes/margins.py",
     "        shift = _up(shift + float(np.ldexp(math.sqrt(d), -1074 - int(np.frexp(scale)[1]) + 1)))",
     "        shift = _up(shift)",
     ["tests/test_margins.py::test_hull_distance_brackets_hold_at_the_ends_of_the_doubles"]),
    ("NC4's nearest class center without the common offset taken off", "spherecodes/_validation.py",
     "    Y = X - c", "    Y, c = X, 0.0 * c",
     ["tests/test_streaming.py::test_nc4_is_translation_free"]),
    ("a rescaled code's certificate is not widened (normalize=True, float32 input)", "spherecodes/hull.py",
     "    return widened_for_rescaling(res, tol) if rescaled else res", "    return res", ["tests/test_certificate.py::test_certificate_covers_the_exactly_normalized_code"]),
]


def run_mutant(index: int, workdir: Path, timeout: float = 600.0) -> tuple[bool, str, float]:
    """Apply mutant ``index`` to a fresh copy of the repository; ``(killed, first failure, seconds)``.

    Tests that run past ``timeout`` seconds count as a kill (a mutant that makes a loop
    endless hangs its tests rather than failing them), reported as such.
    """
    name, path, old, new, tests = MUTANTS[index]
    dst = workdir / str(index)
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.nbi", "*.nbc",
                                                              "out", "runs", "docs"))
    target = dst / path
    text = target.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"mutant {index} ({name}): the line to replace occurs {text.count(old)} times in {path}")
    target.write_text(text.replace(old, new))
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                           cwd=dst, env={**os.environ, "PYTHONPATH": str(dst)}, capture_output=True, text=True,
                           timeout=timeout)
        killed = r.returncode != 0
        first = next((ln for ln in r.stdout.splitlines() if ln.startswith("FAILED")), "")
    except subprocess.TimeoutExpired:
        killed, first = True, f"TIMED OUT after {timeout:g} s (the tests hang)"
    finally:
        shutil.rmtree(dst, ignore_errors=True)
    return killed, first, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = ScriptParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mutants", nargs="*", type=_nonneg_int, help="mutant numbers (default: all)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--timeout", type=_positive_float, default=600.0,
                    help="seconds a mutant's tests may run; past it they count as killed (default 600)")
    args = ap.parse_args(argv)
    if args.list:
        for i, (name, path, *_ ) in enumerate(MUTANTS):
            print(f"{i:2d}  {path:32s} {name}")
        return 0
    chosen = args.mutants or list(range(len(MUTANTS)))
    bad = [i for i in chosen if not 0 <= i < len(MUTANTS)]
    if bad:
        ap.error(f"no mutant numbered {bad} (0..{len(MUTANTS) - 1})")
    survivors = []
    with tempfile.TemporaryDirectory(prefix="spherecodes-mutants-") as tmp:
        for i in chosen:
            killed, first, seconds = run_mutant(i, Path(tmp), args.timeout)
            print(f"[{i:2d}] {'killed' if killed else 'SURVIVED':8s} {MUTANTS[i][0]}  ({seconds:.0f} s)  {first}",
                  flush=True)
            if not killed:
                survivors.append(f"[{i}] {MUTANTS[i][0]}")
    print(f"killed {len(chosen) - len(survivors)} of {len(chosen)}" + ("" if not survivors else
          "; survivors: " + "; ".join(survivors)))
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
