"""Anytime behaviour of the solvers: the time limit holds, Ctrl-C keeps the best code, seeds reproduce."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest

from spherecodes import SphereCode, one_vs_rest_distances, softmax_code, tammes_code
from spherecodes.executor import available_cpus
from spherecodes.solvers.descent import lse_descent, max_inner_product
from spherecodes.solvers.polish import _solve_lp, _tammes_model, polish_tammes, tammes_value, tangent_bases

REPO = Path(__file__).resolve().parents[1]


def _random_code(d, K, seed):
    W = np.random.default_rng(seed).standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


@pytest.mark.parametrize("executor", ["serial", None])
def test_time_limit_bounds_the_whole_call(executor):
    # (6, 72): a restart takes seconds and the polish of a candidate seconds more; unbounded
    # restarts, so only the limit can end the call.  A first short call pays the one-time
    # costs (imports, numba kernels, HiGHS) that a limit cannot cover.
    tammes_code(6, 72, seed=0, time_limit=0.5, restarts=10_000, executor="serial")
    t0 = time.perf_counter()
    code = tammes_code(6, 72, seed=0, time_limit=3.0, restarts=10_000, executor=executor)
    wall = time.perf_counter() - t0
    assert wall < 3.0 + 2.5  # pool start-up and the final measures included
    assert code.status == "time_limit" and "time limit" in code.message
    assert code.max_inner_product == pytest.approx(max_inner_product(np.asarray(code.W)), abs=1e-15)


def test_adaptive_stop_is_reported():
    # the default run's stop, under a limit generous enough for a loaded machine
    code = tammes_code(3, 7, seed=1, executor="serial", time_limit=600, adaptive=True)
    assert code.status == "adaptive" and "adaptive stop" in code.message
    assert code.n_best >= 4 and code.restarts >= 8


def test_sigint_in_process_returns_the_best_so_far():
    # Ctrl-C half a second into an unbounded serial search (main thread): the search stops,
    # the restart that was running returns its best point, and the code is the best of all.
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        t0 = time.perf_counter()
        code = tammes_code(6, 72, seed=0, restarts=10_000, executor="serial")
        wall = time.perf_counter() - t0
    finally:
        timer.cancel()
    assert code.status == "interrupted" and 1 <= code.restarts < 10_000
    assert wall < 10.0
    assert code.max_inner_product == pytest.approx(float(np.min(code.values)), abs=1e-12)  # not polished


def test_sigint_on_the_cli_prints_and_saves_the_best_code(tmp_path):
    out = tmp_path / "code.npz"
    proc = subprocess.Popen([sys.executable, "-m", "spherecodes", "tammes", "-d", "6", "-K", "72", "--seed", "0",
                             "--time-limit", "300", "--json", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(8.0)  # imports, pool start-up and a first restart
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    obj = json.loads(stdout)
    assert obj["solver"]["status"] == "interrupted"
    saved = SphereCode.load(out)  # verified on load
    assert saved.max_inner_product == pytest.approx(obj["max_inner_product"], abs=1e-12)


def test_lp_time_limit_after_earlier_lp_time_in_the_thread():
    # HiGHS measures time_limit on the solver object's cumulative clock, and the object is
    # reused by the thread: spend 3 s in one LP, then a 2 s polish must still improve.
    W = _random_code(30, 100, 0)
    W, _ = lse_descent(W, beta0=10.0, beta_max=1e3)
    rows, cols, vals, f, nvar = _tammes_model(W, tammes_value(W), 1e-3, tangent_bases(W))
    t0 = time.perf_counter()
    _solve_lp(rows, cols, vals, f, nvar, 1e-3, time_limit=3.0)
    assert time.perf_counter() - t0 > 1.0  # the LP did use the clock
    W0 = _random_code(6, 40, 1)
    r = polish_tammes(W0, radius=0.1, max_iter=500, time_limit=2.0)
    assert r.iterations > 5
    assert -r.value < max_inner_product(W0) - 0.1  # measured: -0.93 -> about -0.40


def test_same_seed_same_code_through_api_executor_cli_and_benchmark(tmp_path, monkeypatch):
    kw = dict(seed=3, restarts=4, method="numeric")
    a = tammes_code(3, 9, executor="serial", **kw)
    with ProcessPoolExecutor(2) as ex:
        b = tammes_code(3, 9, executor=ex, **kw)
    np.testing.assert_array_equal(a.W, b.W)
    cli = subprocess.run([sys.executable, "-m", "spherecodes", "tammes", "-d", "3", "-K", "9", "--seed", "3",
                          "--restarts", "4", "--method", "numeric", "--json", "--full"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    np.testing.assert_array_equal(np.array(json.loads(cli.stdout)["W"]), a.W)
    # the benchmark path: a generous time limit that the restart cap ends first, so deterministic
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_solvers import run_cell
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    # a reference folder of its own, so the cell is a Tammes cell wherever the checkout lies; the value
    # is the d = 3, K = 7 optimum (Schuette & van der Waerden 1951) and only decides hit/miss
    ref = tmp_path / "reference"
    ref.mkdir()
    (ref / "best_known_tammes_d3.csv").write_text("d,K,max_inner_product,min_angle_deg,status\n"
                                                  "3,7,0.2101383127306059,77.8695,proven\n")
    (ref / "named_codes.csv").write_text("d,K,max_inner_product,name,status\n")
    monkeypatch.setenv("SPHERECODES_REFERENCE", str(ref))
    row = run_cell(3, 7, 5, 120.0, restarts=6)
    assert row["problem"] == "tammes"
    api = tammes_code(3, 7, seed=5, time_limit=120.0, restarts=6, method="numeric", executor="serial")
    assert row["value"] == api.max_inner_product and row["restarts"] == api.restarts == 6


def test_fast_d4_case_finds_the_24_cell():
    """d = 4, K = 24 from random starts: the 24-cell's max inner product 1/2 (D4 roots,
    shared/reference/named_codes.csv; believed optimal), reached by an antipodal restart."""
    code = tammes_code(4, 24, seed=0, restarts=2, executor="serial")
    assert code.max_inner_product == pytest.approx(0.5, abs=1e-12)
    soft = softmax_code(4, 24, seed=0, restarts=2, executor="serial")
    assert soft.rho_one_vs_rest >= 0.5 - 1e-12


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
@pytest.mark.skipif(available_cpus() < 2, reason="one usable core: the solver runs in-process, no pool")
def test_pool_workers_exit_when_the_parent_is_killed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "from spherecodes import tammes_code; "
                             "tammes_code(6, 72, seed=0, restarts=10_000, time_limit=300)"], cwd=tmp_path)
    try:
        children = []
        for _ in range(100):  # wait for the pool to start its workers
            time.sleep(0.2)
            path = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            children = [int(c) for c in path.read_text().split()] if path.exists() else []
            if len(children) >= 2:
                break
        assert children, "the pool did not start"
        time.sleep(1.0)
        proc.kill()  # SIGKILL: no cleanup code runs in the parent
        proc.wait(timeout=10)
        deadline = time.time() + 10
        alive = children
        while alive and time.time() < deadline:
            time.sleep(0.2)
            alive = [c for c in children if Path(f"/proc/{c}").exists()
                     and "Z" not in Path(f"/proc/{c}/stat").read_text().split()[2]]
        assert not alive, f"workers {alive} outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_progress_callback_returning_true_stops_the_search():
    seen = []

    def stop_after_two(elapsed, best, n_done):
        seen.append(n_done)
        return n_done >= 2

    code = tammes_code(3, 13, seed=0, restarts=500, method="numeric", executor="serial", progress=stop_after_two)
    assert code.status == "callback" and "callback" in code.message
    assert 2 <= code.restarts < 500 and max(seen) == code.restarts
    assert code.max_inner_product <= float(np.nanmin(code.values)) + 1e-12  # the polish kept the best


@pytest.mark.parametrize("executor", ["serial", "threads"])
def test_the_bar_moves_while_the_first_restart_runs(monkeypatch, capsys, executor):
    # a restart can take most of the budget ((10, 100) Softmax: tens of seconds), and in this
    # process (executor="serial") the search never returns to the bar until it ends; the bar
    # must not sit at 0 s meanwhile.  A restart slowed to 2.2 s; tqdm frames are split by \r.
    from concurrent.futures import ThreadPoolExecutor

    from spherecodes.solvers import multistart

    real = multistart.restart_once

    def slow(*args, **kwargs):
        time.sleep(2.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(multistart, "restart_once", slow)
    with ThreadPoolExecutor(1) if executor == "threads" else nullcontext("serial") as ex:
        tammes_code(3, 6, restarts=1, time_limit=30, method="numeric", executor=ex, progress=True)
    frames = [f for f in capsys.readouterr().err.split("\r") if "tammes d=3 K=6" in f]
    waiting = [int(re.search(r"\| (\d+)/30 s", f).group(1)) for f in frames if "first restart running" in f]
    assert waiting[0] == 0 and max(waiting) >= 1      # the label from the first frame; the bar moved
    assert "best max<w_i,w_j>" in frames[-1]


def test_antipodal_restarts_try_several_symmetric_descents_where_restarts_hop():
    from spherecodes.solvers.settings import SearchSettings

    s = SearchSettings.for_size(5, 40)
    assert s.hops == 30 and s.antipodal_tries == 1 + 30 // 4
    assert SearchSettings.for_size(5, 40, hops=0).antipodal_tries == 1
    assert SearchSettings.for_size(10, 100).antipodal_tries == 1
    assert SearchSettings.for_size(3, 40).hops == 30 and SearchSettings.for_size(3, 40).antipodal_tries == 1
    with pytest.raises(ValueError, match="antipodal_tries"):
        SearchSettings.for_size(5, 40, antipodal_tries=0)
    with pytest.raises(ValueError, match="softmax_beta_max"):
        SearchSettings.for_size(10, 100, softmax_beta=100.0, softmax_beta_max=50.0)
    with pytest.raises(TypeError, match="softmax_beta_max"):
        SearchSettings.for_size(10, 100, softmax_beta_max="3200")


def test_settings_store_integral_counts_as_int():
    import json

    from spherecodes.solvers.settings import SearchSettings

    s = SearchSettings.for_size(10, 100, softmax_hops=2.0, restarts=np.int64(3), hop_patience=4.0)
    assert (type(s.softmax_hops), type(s.restarts), type(s.hop_patience)) == (int, int, int)
    assert json.loads(json.dumps(s.asdict()))["softmax_hops"] == 2
    with pytest.raises(TypeError, match="softmax_hops"):
        SearchSettings.for_size(10, 100, softmax_hops=2.5)


def test_closed_forms_reject_what_every_path_rejects():
    # (3, 6): the octahedron, a closed form (Theorem 3.3), so no search runs
    with pytest.raises(TypeError, match="unknown solver option"):
        softmax_code(3, 6, foo=1)
    with pytest.raises(ValueError, match="seed"):
        softmax_code(3, 6, seed=-1)
    with pytest.warns(UserWarning, match="beta_base ignored"):
        assert softmax_code(3, 6, beta_base=2.0).status == "closed_form"
    # "serial" (compare_cell's default) is no executor to ignore; a real one is named
    with pytest.warns(UserWarning, match=r"Theorem 3.3\): time_limit ignored"):
        softmax_code(3, 6, time_limit=5, executor="serial")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool, pytest.warns(UserWarning, match="time_limit, executor ignored"):
        softmax_code(3, 6, time_limit=5, executor=pool)


def test_cli_prints_a_repeated_warning_once(capsys):
    from spherecodes import cli

    # compare runs two solvers on the closed-form cell (3, 5): one warning, not one per solver
    assert cli.main(["compare", "-d", "3", "-K", "5", "--time-limit", "5"]) == 0
    err = capsys.readouterr().err
    assert err.count("time_limit ignored") == 1 and "executor" not in err


def test_final_polish_takes_each_basin_once():
    """Restarts that reached the same value (one basin) are polished once; the next
    distinct values fill the remaining places, best first."""
    from spherecodes.solvers._common import _distinct
    from spherecodes.solvers.multistart import MultistartResult
    from spherecodes.solvers.settings import SearchSettings

    values = [0.5, 0.5 + 1e-7, 0.52, 0.5 + 2e-7, 0.51, 0.53]
    ms = MultistartResult(results={i: {"value": v} for i, v in enumerate(values)},
                          values=np.array(values), seed=0, status="restarts")
    s = SearchSettings(n_polish=3, hit_tol=3e-5)
    assert _distinct(ms, ms.ranked(), s) == [0, 4, 2]
    assert _distinct(ms, ms.ranked(), SearchSettings(n_polish=3, hit_tol=1e-9)) == [0, 1, 3]


def test_symmetric_hops_keep_the_code_centrally_symmetric_and_never_worsen_it():
    """Each symmetric hop re-descends [X, -X]: the result is symmetric, its value is its max
    inner product (recomputed here from the Gram matrix), and no worse than the start."""
    from spherecodes.solvers.multistart import _symmetric_hops
    from spherecodes.solvers.settings import SearchSettings

    s = SearchSettings.for_size(5, 40)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 20))
    X /= np.linalg.norm(X, axis=0)
    run = dict(beta_max=1e4, steps_per_beta=50, lr=s.lr, decay=s.decay, deadline=None, stop=None)
    W0, v0 = lse_descent(X, beta0=2.0, antipodal=True, **run)
    W, v = _symmetric_hops(W0, v0, rng, s, run)
    assert W.shape == (5, 40)
    np.testing.assert_array_equal(W[:, 20:], -W[:, :20])
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    assert v == pytest.approx(G.max(), abs=1e-12)
    assert v <= v0
    with pytest.raises(ValueError, match="symmetric_hop_stepsize"):
        SearchSettings.for_size(5, 40, symmetric_hop_stepsize=0.0)


def test_basin_hops_keep_small_gains_but_count_them_against_patience():
    """A local step that only continues an unfinished polish (a gain below ``gain``) is kept
    but is no new basin: ``patience`` such hops in a row end the chain; a real gain resets it."""
    from spherecodes.solvers.multistart import _basin_hops

    run = {"deadline": None, "stop": None}

    def chain(step, gain):
        calls = []

        def local(X):  # every call: step(n) below the value it was given (through X[0, 0])
            calls.append(1)
            v = X[0, 0] - step(len(calls))
            return np.full((1, 1), v), v

        W, v, n = _basin_hops(np.ones((1, 1)), 1.0, run, hops=30, patience=4, gain=gain,
                              perturb=lambda W, v: W, local=local)
        return v, n

    v, n = chain(lambda n: 1e-9, gain=1e-5)
    assert n == 4 and v == pytest.approx(1.0 - 4e-9, abs=1e-15)  # kept every small gain, stopped after 4
    assert chain(lambda n: 1e-9, gain=1e-12)[1] == 30              # each counts as a gain: all 30 hops
    assert chain(lambda n: 1e-3 if n % 3 == 0 else 0.0, gain=1e-5)[1] == 30  # a real gain every third hop
    assert chain(lambda n: -1e-3, gain=1e-5) == (1.0, 4)                     # worse steps are never kept


def test_cap_jitter_moves_exactly_the_codewords_nearest_one_of_them():
    from spherecodes.solvers.multistart import _cap_jitter

    rng = np.random.default_rng(3)
    W = rng.standard_normal((6, 100))
    W /= np.linalg.norm(W, axis=0)
    G = W.T @ W
    # 0.07 * 100 is 7.000000000000001 in floating point: still 7 codewords
    for share, m in ((0.125, 13), (0.07, 7), (0.001, 2), (1.0, 100)):
        X = _cap_jitter(W, rng, 1.0, share)
        np.testing.assert_allclose(np.linalg.norm(X, axis=0), 1.0, atol=1e-14)
        moved = np.flatnonzero(np.any(X != W, axis=0))
        assert moved.size == m
        if m < 100:  # some moved codeword (the centre) is closer to every moved one than to any other
            rest = np.setdiff1d(np.arange(100), moved)
            assert any(G[c, moved].min() >= G[c, rest].max() for c in moved)


def test_tammes_hops_move_every_codeword_or_a_cap_of_hop_share():
    """By default a hop moves every codeword by Gaussian steps of 0.15 of the minimum angle
    (per tangent direction: over sqrt(d - 1)), drawing what the hops drew before caps existed."""
    from spherecodes.solvers.multistart import _tammes_perturb
    from spherecodes.solvers.settings import SearchSettings

    W = np.random.default_rng(4).standard_normal((3, 40))
    W /= np.linalg.norm(W, axis=0)
    G = W.T @ W
    np.fill_diagonal(G, -np.inf)
    t = G.max()
    X = _tammes_perturb(W, t, np.random.default_rng(9), SearchSettings.for_size(3, 40))
    Y = W + (0.15 * np.arccos(t) / np.sqrt(2)) * np.random.default_rng(9).standard_normal((3, 40))
    np.testing.assert_array_equal(X, Y / np.linalg.norm(Y, axis=0))
    X = _tammes_perturb(W, t, np.random.default_rng(9), SearchSettings.for_size(3, 40, hop_share=0.25))
    assert np.count_nonzero(np.any(X != W, axis=0)) == 10
    with pytest.raises(ValueError, match="hop_share"):
        SearchSettings.for_size(3, 40, hop_share=0.0)


def test_softmax_hops_on_by_size_and_in_every_softmax_restart():
    """Softmax restarts hop where a hop is cheap (``SOFTMAX_HOP_MAX_VARIABLES``); a restart
    that hops reports its hops and ``1 - rho`` of the code it returns (rho exact, from the
    hull kernel); past its deadline a chain makes no hop."""
    from spherecodes.solvers.multistart import _softmax_hops, restart_once
    from spherecodes.solvers.settings import SOFTMAX_HOP_MAX_VARIABLES, SearchSettings

    assert SearchSettings.for_size(10, 100).softmax_hops > 0
    assert SearchSettings.for_size(20, 200).softmax_hops == 0       # K (d - 1) above the threshold
    assert SearchSettings.for_size(5, 40).softmax_hops == 0         # no Softmax stage there
    assert 100 * 9 <= SOFTMAX_HOP_MAX_VARIABLES < 200 * 9
    with pytest.raises(ValueError, match="softmax_hop_share"):
        SearchSettings.for_size(10, 100, softmax_hop_share=1.5)
    assert SearchSettings.for_size(10, 100, softmax_hop_gain=0.0).softmax_hop_gain == 0.0
    s = SearchSettings.for_size(5, 24, sharpen=True, hops=0, softmax_hops=3, softmax_hop_patience=3, antipodal=False,
                                steps_per_beta=20, beta_max=100.0)
    r = restart_once("softmax", 5, 24, np.random.SeedSequence(0), s)
    assert r["hops"] == 3 and "softmax_hops" in r["timings"] and r["hull_seconds"] > 0
    assert r["value"] == pytest.approx(1.0 - one_vs_rest_distances(r["W"]).rho, abs=1e-12)
    W, value, n, _ = _softmax_hops(r["W"], r["value"], np.random.default_rng(0), s, time.time() - 1.0, None)
    assert n == 0 and W is r["W"] and value == r["value"]


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -1.0, 0.0])
def test_time_limit_must_be_finite_and_positive(bad):
    with pytest.raises(ValueError, match="time_limit"):
        tammes_code(3, 8, time_limit=bad)


def test_beta_spread_of_zero_dimensions_names_the_option():
    from spherecodes.solvers.settings import SearchSettings

    with pytest.raises(ValueError, match="beta_spread"):
        SearchSettings(beta_spread=np.array(3.0))


def test_softmax_stage_stops_at_softmax_beta_max_and_the_polish_continues_one_step_above(monkeypatch):
    """Restarts sharpen the Softmax objective from softmax_beta to softmax_beta_max; the final
    polish continues from the next value of the factor-4 schedule (50 * 4**3 = 3200 here)."""
    from spherecodes.solvers import _common, multistart, sharpen
    from spherecodes.solvers.settings import SearchSettings

    calls = []

    def record(W, **schedule):
        calls.append(schedule)
        return sharpen.Sharpened(W, 0.5, False, 0.0)

    monkeypatch.setattr(sharpen, "sharpen_softmax_exact", record)
    s = SearchSettings(softmax_beta=50.0, softmax_beta_max=900.0, sharpen=True)
    W = np.eye(3)
    assert multistart._softmax_stage(W, s, None).rho == pytest.approx(0.5)
    assert calls[-1]["beta_start"] == 50.0 and calls[-1]["beta_max"] == 900.0
    _common._polish_one("softmax", W, s, None)
    assert calls[-1]["beta_start"] == 3200.0  # the stage ran 50, 200, 800


@pytest.mark.parametrize("problem", ["softmax", "tammes"])
def test_restart_kind_and_descent_end_follow_the_softmax_stage(monkeypatch, problem):
    """Where restarts run the Softmax stage, one in ``softmax_antipodal_period`` (4) is
    antipodal and the descent stops at max(softmax_beta, beta_top); Tammes restarts
    alternate and descend to beta_max."""
    from spherecodes.solvers import multistart
    from spherecodes.solvers.settings import SearchSettings
    from spherecodes.solvers.sharpen import Sharpened

    calls = []

    def record(W, *, beta0, beta_max, antipodal=False, symmetry=None, **_):
        antipodal = antipodal or isinstance(symmetry, multistart.Antipodal)
        calls.append((antipodal, beta_max))
        W = np.concatenate([W, -W], axis=1) if antipodal else W
        return W, 0.5

    monkeypatch.setattr(multistart, "lse_descent", record)
    monkeypatch.setattr(multistart, "_softmax_stage", lambda W, s, deadline, stop=None: Sharpened(W, 0.5, False, 0.0))
    d, K = 5, 100
    s = SearchSettings.for_size(d, K)
    assert s.sharpen and s.hops == 0   # K (d - 1) = 400: a sharpened size that does not hop
    kinds = []
    for index in range(8):
        calls.clear()
        multistart._restart(problem, d, K, np.random.SeedSequence(index), s, None, index, None, None)
        kinds.append(calls[0][0])
        expected_end = max(s.softmax_beta, s.beta_top(d, K)) if problem == "softmax" else s.beta_max
        assert all(end == expected_end for _, end in calls)
    expected = [i % 4 == 1 for i in range(8)] if problem == "softmax" else [i % 2 == 1 for i in range(8)]
    assert kinds == expected
    with pytest.raises(ValueError, match="softmax_antipodal_period"):
        SearchSettings(softmax_antipodal_period=1)


def test_certificate_reserve_extrapolates_the_growth_of_the_estimate():
    """The reserve R leaves the extrapolated certificate time at the stop, with margin:
    R = 1.2 (e + g (T - R - t)) + 1, solved here by a root finder; a falling estimate is
    not extrapolated (g = 0)."""
    from scipy.optimize import brentq

    from spherecodes.solvers._common import certificate_reserve

    T = 100.0
    assert certificate_reserve([(25.0, 10.0)], T) == pytest.approx(13.0)
    # estimate 10 s at t = 25, 20 s at t = 50: growth 0.4 s per second of search
    R = certificate_reserve([(25.0, 10.0), (50.0, 20.0)], T)
    root = brentq(lambda r: r - (1.2 * (20.0 + 0.4 * (T - r - 50.0)) + 1.0), 0.0, T)
    assert R == pytest.approx(root, rel=1e-12) and R > certificate_reserve([(50.0, 20.0)], T)
    assert certificate_reserve([(25.0, 30.0), (50.0, 20.0)], T) == pytest.approx(25.0)


def _slow_hull(monkeypatch, seconds):
    """Every exact one-vs-rest evaluation takes ``seconds`` longer (as at K = 1000, d = 256: 2.5 s)."""
    from spherecodes import hull

    solve = hull.one_vs_rest_distances

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return solve(*args, **kwargs)

    monkeypatch.setattr(hull, "one_vs_rest_distances", slow)


def test_softmax_sharpening_leaves_its_deadline_to_the_exact_value(monkeypatch):
    # the continuation stops 1.5 evaluations early, so the exact value of its output is in
    # before the deadline (it used to start at the deadline)
    from spherecodes.solvers.sharpen import sharpen_softmax_exact

    _slow_hull(monkeypatch, 0.4)
    W = _random_code(4, 30, 0)
    deadline = time.time() + 1.5
    r = sharpen_softmax_exact(W, beta_start=50.0, beta_max=1e12, max_iter=100_000, tol=0.0, deadline=deadline)
    assert time.time() <= deadline + 0.2  # a loaded machine's slack; without the margin, 0.4 s past
    assert r.hull_seconds >= 0.4
    assert r.rho == pytest.approx(float(np.min(one_vs_rest_distances(r.W).distance)), abs=1e-12)


def test_polish_deadline_leaves_the_final_measures_their_time(monkeypatch):
    # the polish must end HULL_MARGIN (1.5) estimated evaluations before the limit, where the
    # code's own measures (an exact evaluation) then run
    from spherecodes.solvers import _common

    seen = {}
    polish_best = _common._polish_best

    def record(problem, ms, s, *, deadline):
        seen["deadline"] = deadline
        return polish_best(problem, ms, s, deadline=deadline)

    monkeypatch.setattr(_common, "_polish_best", record)
    monkeypatch.setattr(_common, "_measure_seconds", lambda ms: 2.0)
    t0 = time.time()
    softmax_code(5, 100, seed=0, time_limit=3.5, executor="serial")
    assert seen["deadline"] == pytest.approx(t0 + 3.5 - 1.5 * 2.0, abs=0.3)


@pytest.mark.slow  # 10 s; the pieces are in the fast tests around it
def test_time_limit_leaves_room_for_the_final_measures(monkeypatch):
    # d = 5, K = 100: restarts run the Softmax stage, which times the exact evaluation; the
    # polish stops 1.5 of them before the limit and the code's own measures fit in (measured
    # here: 6.2-6.4 s, seeds 0-2; before, the polish's last evaluation and the measures ran
    # 2 s past).
    _slow_hull(monkeypatch, 1.0)
    softmax_code(5, 100, seed=0, time_limit=0.5, executor="serial")  # one-time costs
    t0 = time.perf_counter()
    code = softmax_code(5, 100, seed=0, time_limit=6.0, executor="serial")
    wall = time.perf_counter() - t0
    assert code.status == "time_limit"
    assert wall < 6.0 + 1.5  # a restart's stage may start its first evaluation just before the search ends
    # the code's timings count its measures (one slowed evaluation) in the total
    assert code.timings["measures"] >= 1.0 and wall - 0.1 <= code.timings["total"] <= wall


def _fine_hops_made(code):
    m = re.search(r"then (\d+) fine hops?", code.message)
    return None if m is None else int(m.group(1))


def test_the_endgame_fills_the_reserve_only_where_the_restarts_ran_out_of_time():
    # endgame_share=0.5 of 4 s: about 2 s of fine hops (a (3, 20) hop takes milliseconds),
    # after restarts that the limit cut; none after a fixed number of restarts.
    tammes_code(3, 20, seed=0, time_limit=0.5, restarts=10_000, executor="serial")  # one-time costs
    t0 = time.perf_counter()
    code = tammes_code(3, 20, seed=0, time_limit=4.0, restarts=10_000, executor="serial", endgame_share=0.5)
    wall = time.perf_counter() - t0
    assert code.status == "time_limit" and wall < 4.0 + 2.0
    assert _fine_hops_made(code) >= 5, code.message
    assert code.max_inner_product == pytest.approx(max_inner_product(np.asarray(code.W)), abs=1e-15)
    fixed = tammes_code(3, 20, seed=0, restarts=2, executor="serial", endgame_share=0.5)
    assert fixed.status == "restarts" and _fine_hops_made(fixed) is None, fixed.message
    off = tammes_code(3, 20, seed=0, time_limit=1.0, restarts=10_000, executor="serial", endgame_share=0.5,
                      fine_hop_stepsize=0.0)  # fine hops off: no endgame
    assert off.status == "time_limit" and _fine_hops_made(off) is None, off.message
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # restarts side by side (here one thread): no endgame
        side = tammes_code(3, 20, seed=0, time_limit=1.0, restarts=10_000, executor=pool, endgame_share=0.5)
    assert side.status == "time_limit" and _fine_hops_made(side) is None, side.message


def test_runs_serially_follows_the_executor_argument(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from spherecodes.executor import SerialExecutor
    from spherecodes.solvers import multistart

    assert multistart.runs_serially("serial", 3, 100, 50) and multistart.runs_serially(" Serial ", 3, 100, 50)
    assert multistart.runs_serially(SerialExecutor(), 3, 100, 50)
    assert not multistart.runs_serially("tcp://127.0.0.1:8786", 3, 100, 50)
    with ThreadPoolExecutor(1) as pool:
        assert not multistart.runs_serially(pool, 3, 100, 50)
    monkeypatch.setattr(multistart, "available_cpus", lambda: 2)
    assert not multistart.runs_serially(None, 3, 100, 50)
    assert multistart.runs_serially(None, 3, 100, 1) and multistart.runs_serially(None, 3, 30, 50)  # d K < 100
    monkeypatch.setattr(multistart, "available_cpus", lambda: 1)
    assert multistart.runs_serially(None, 3, 100, 50)


def test_fine_hops_keep_the_best_code_and_stop_on_report_or_ctrl_c():
    from spherecodes.solvers.multistart import fine_hops
    from spherecodes.solvers.settings import SearchSettings

    s = SearchSettings.for_size(3, 30)
    W = _random_code(3, 30, 0)
    v0 = max_inner_product(W)
    seq = np.random.SeedSequence(0)
    with pytest.raises(ValueError, match="fine_hops needs a deadline"):
        fine_hops(W, v0, seq, s, deadline=None)  # it would never end
    W1, v1, n, stopped = fine_hops(W, v0, seq, s, deadline=time.time() + 1.0)
    assert n >= 2 and v1 < v0 and not stopped
    assert v1 == pytest.approx(max_inner_product(W1), abs=1e-15)          # the value is the code's
    seen = []
    W2, v2, n2, stopped = fine_hops(W, v0, seq, s, deadline=time.time() + 60.0,
                                    report=lambda v, n: seen.append((v, n)) or n == 3)
    assert n2 == 3 and not stopped and [n for _, n in seen] == [1, 2, 3] and seen[-1][0] == v2
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        t0 = time.perf_counter()
        W3, v3, n3, stopped = fine_hops(W, v0, seq, s, deadline=time.time() + 60.0)
        wall = time.perf_counter() - t0
    finally:
        timer.cancel()
    assert stopped and wall < 5.0 and n3 >= 1 and v3 <= v0
    assert v3 == pytest.approx(max_inner_product(W3), abs=1e-15)
