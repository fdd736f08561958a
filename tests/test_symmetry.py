"""Rotation groups of R^3, invariant codes, and the rotation-symmetric restarts of the d = 3 search."""
import dataclasses

import numpy as np
import pytest

from spherecodes.solvers.descent import lse_descent, lse_max_inner, max_inner_product
from spherecodes.solvers.multistart import restart_once
from spherecodes.solvers.settings import SearchSettings
from spherecodes.solvers.symmetry import OrbitCode, orbit_decompositions, rotation_group

# Group orders and the sizes of the orbits of points on rotation axes, from the geometry of
# the solids: the tetrahedron's 4 vertices and 4 face centres and 6 edge midpoints; the
# octahedron's 6 vertices, 8 faces, 12 edges; the icosahedron's 12 vertices, 20 faces, 30 edges.
GROUPS = {"C2": (2, [1, 1]), "C5": (5, [1, 1]), "D2": (4, [2, 2, 2]), "D3": (6, [2, 3, 3]),
          "D6": (12, [2, 6, 6]), "T": (12, [4, 4, 6]), "O": (24, [6, 8, 12]), "I": (60, [12, 20, 30])}

#: The best known 120-point packing of S^2 (icosahedral; Sloane's tables of spherical packings,
#: ../shared/reference/best_known_tammes_d3.csv, 9 digits).
BEST_120 = 0.943662307


def _key(M):
    return tuple(np.round(M, 6).ravel())


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_groups_are_rotation_groups_of_the_stated_order_with_their_axis_orbits(name):
    group = rotation_group(name)
    order, special = GROUPS[name]
    G = group.matrices
    assert G.shape == (order, 3, 3)
    assert np.allclose(G[0], np.eye(3))
    for M in G:
        assert np.allclose(M.T @ M, np.eye(3), atol=1e-12) and np.linalg.det(M) == pytest.approx(1.0)
    keys = {_key(M) for M in G}
    assert len(keys) == order  # distinct
    assert all(_key(A @ B) in keys for A in G for B in G)  # closed: a group
    assert sorted(o.shape[1] for o in group.special) == sorted(special)
    for orb in group.special:
        assert np.allclose(np.linalg.norm(orb, axis=0), 1.0)
        p = orb[:, 0]
        # on an axis: fixed by |G| / |orbit| rotations (orbit-stabilizer), more than the identity
        assert sum(np.allclose(M @ p, p, atol=1e-9) for M in G) == order // orb.shape[1] > 1
        # an orbit: every rotation permutes it
        for M in G:
            moved = M @ orb
            assert all(np.min(np.linalg.norm(orb - q[:, None], axis=0)) < 1e-9 for q in moved.T)


def test_orbit_decompositions_are_exactly_the_ways_to_make_K_points():
    I = rotation_group("I")
    assert orbit_decompositions(I, 120) == [((), 2)]
    assert orbit_decompositions(I, 110) == [((1, 2), 1)]  # 20 + 30 + 60
    assert orbit_decompositions(I, 61) == []
    for name in GROUPS:
        group = rotation_group(name)
        sizes = [o.shape[1] for o in group.special]
        for K in range(2, 140):
            found = set(orbit_decompositions(group, K))
            # brute force over subsets of the special orbits and counts of generic ones
            expect = {(tuple(i for i in range(len(sizes)) if mask >> i & 1), h)
                      for mask in range(2 ** len(sizes)) for h in range(1, K + 1)
                      if sum(sizes[i] for i in range(len(sizes)) if mask >> i & 1) + h * group.order == K}
            assert found == expect, (name, K)


def test_unknown_groups_are_refused():
    for bad in ("C1", "D0", "X", "c3", "", 5, "C02", "D121", "C100000", ["I"], None):
        with pytest.raises(ValueError, match="unknown rotation group"):
            rotation_group(bad)


@pytest.mark.parametrize("name, special, h", [("I", (1, 2), 1), ("T", (0, 2), 3), ("D5", (0,), 4), ("C3", (1,), 5)])
def test_an_orbit_code_is_invariant_and_its_pullback_is_the_gradient(name, special, h):
    group = rotation_group(name)
    orbits = OrbitCode(group, special, h)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, h))
    X /= np.linalg.norm(X, axis=0)
    W = orbits.code(X)
    assert W.shape == (3, orbits.K)
    assert np.allclose(np.linalg.norm(W, axis=0), 1.0)
    for M in group.matrices:  # each rotation maps the code onto itself
        D = np.linalg.norm((M @ W)[:, :, None] - W[:, None, :], axis=0)
        assert np.max(np.min(D, axis=1)) < 1e-9
    # the pullback against central finite differences of f(X) = lse(code(X)) (X free in R^{3 x h})
    beta = 7.0
    f = lambda X: lse_max_inner(orbits.code(X), beta)[0]
    grad = orbits.pullback(lse_max_inner(W, beta)[1])
    E = rng.standard_normal(X.shape)
    step = 1e-6
    fd = (f(X + step * E) - f(X - step * E)) / (2 * step)
    assert np.sum(grad * E) == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # the descent's step from the representatives' rows only: the same max and gradient
    t, fast = orbits.max_and_gradient(X, beta)
    assert t == pytest.approx(max_inner_product(W), abs=1e-15)
    assert np.allclose(fast, grad, rtol=1e-10, atol=1e-12 * np.abs(grad).max())


def test_a_symmetric_descent_stays_symmetric_and_refuses_two_symmetries():
    orbits = OrbitCode(rotation_group("O"), (0,), 2)  # 6 + 2 x 24 = 54 points
    X = np.random.default_rng(0).standard_normal((3, 2))
    W, t = lse_descent(X / np.linalg.norm(X, axis=0), beta0=20.0, beta_max=1e3, symmetry=orbits)
    assert W.shape == (3, 54) and t == max_inner_product(W)  # the value of the code returned, exactly
    for M in rotation_group("O").matrices:
        D = np.linalg.norm((M @ W)[:, :, None] - W[:, None, :], axis=0)
        assert np.max(np.min(D, axis=1)) < 1e-9
    with pytest.raises(ValueError, match="not both"):
        lse_descent(X, beta0=20.0, antipodal=True, symmetry=orbits)


def test_a_rotation_symmetric_restart_finds_the_icosahedral_120_code_a_free_one_misses():
    # one restart each, no hops: the symmetric descents (icosahedral group only) against a free descent
    s = SearchSettings.for_size(3, 120, hops=0, rotation_groups=("I",), rotation_tries=2)
    seq = np.random.SeedSequence(0)
    sym = restart_once("tammes", 3, 120, seq, s, index=2)
    free = restart_once("tammes", 3, 120, seq, s, index=0)
    assert sym["symmetry"] == "I: 0 on axes + 2 x 60" and free["symmetry"] is None
    assert sym["value"] == pytest.approx(max_inner_product(sym["W"]), abs=1e-15)
    assert sym["value"] <= BEST_120 + 1e-6  # the descent alone stops within about 1e-6 of its basin's optimum
    assert free["value"] > BEST_120 + 1e-4


def test_rotation_restarts_fall_on_index_half_period_mod_period_at_d_3_only():
    from spherecodes.solvers.settings import ROTATION_MIN_K

    assert SearchSettings.for_size(3, ROTATION_MIN_K).rotation_period == 2  # no antipodal restarts there
    assert SearchSettings.for_size(3, ROTATION_MIN_K, overlap_patience=0).rotation_period == 4
    assert SearchSettings.for_size(3, ROTATION_MIN_K - 1).rotation_period == 0
    assert SearchSettings.for_size(4, 2 * ROTATION_MIN_K).rotation_period == 0
    s3 = SearchSettings.for_size(3, 30, hops=0, rotation_period=4, rotation_tries=1, beta_max=100.0)
    kinds = [restart_once("tammes", 3, 30, np.random.SeedSequence(i), s3, index=i)["symmetry"] for i in range(7)]
    assert kinds[0] is None and kinds[4] is None
    assert kinds[1] == kinds[3] == kinds[5] == "antipodal"
    assert kinds[2] is not None and kinds[2] != "antipodal" and kinds[6] not in (None, "antipodal")
    s4 = SearchSettings.for_size(4, 30, hops=0, rotation_period=4, beta_max=100.0)
    assert restart_once("tammes", 4, 30, np.random.SeedSequence(2), s4, index=2)["symmetry"] is None
    off = SearchSettings.for_size(3, 30, hops=0, rotation_period=0, beta_max=100.0)
    assert restart_once("tammes", 3, 30, np.random.SeedSequence(2), off, index=2)["symmetry"] is None
    s2 = SearchSettings.for_size(3, 30, hops=0, antipodal=False, rotation_period=2, rotation_tries=1, beta_max=100.0)
    kinds = [restart_once("tammes", 3, 30, np.random.SeedSequence(i), s2, index=i)["symmetry"] for i in range(4)]
    assert kinds[0] is None and kinds[2] is None and None not in (kinds[1], kinds[3])


def test_no_invariant_code_of_that_size_gives_a_free_restart():
    s = SearchSettings.for_size(3, 61, hops=0, rotation_groups=("I",), rotation_period=4, beta_max=100.0)  # no I-code
    r = restart_once("tammes", 3, 61, np.random.SeedSequence(0), s, index=2)
    assert r["symmetry"] is None and r["W"].shape == (3, 61)


@pytest.mark.parametrize("options, match", [
    ({"rotation_period": 2, "antipodal": True}, "rotation_period 2 puts"), ({"rotation_period": 5}, "rotation_period"),
    ({"rotation_period": 6, "antipodal": True}, "antipodal=False"),
    ({"rotation_period": -4}, "rotation_period"), ({"rotation_groups": ("I", "Q7")}, "rotation_groups"),
    ({"rotation_groups": "I"}, "rotation_groups"), ({"rotation_groups": ()}, "rotation_groups"),
    ({"rotation_tries": 0}, "rotation_tries")])
def test_bad_rotation_settings_name_the_option(options, match):
    with pytest.raises(ValueError, match=match):
        SearchSettings.for_size(3, 30, **options)


def test_rotation_settings_round_trip_as_json():
    s = SearchSettings.for_size(3, 30, rotation_groups=["I", "D5"], rotation_period=6.0)
    assert s.rotation_groups == ("I", "D5") and s.rotation_period == 6 and isinstance(s.rotation_period, int)
    d = s.asdict()
    assert d["rotation_groups"] == ["I", "D5"]
    assert SearchSettings(**{**d, "rotation_groups": tuple(d["rotation_groups"]), "beta_spread": tuple(d["beta_spread"]),
                             "steps_cycle": tuple(d["steps_cycle"])}) == s


def test_the_tries_sweep_the_groups_once_in_turn_across_restarts_then_by_their_free_points(monkeypatch):
    from spherecodes.solvers import multistart

    seen = []
    descent = multistart.lse_descent

    def spy(X, **kw):
        if kw.get("symmetry") is not None:
            seen.append(kw["symmetry"].group.name)
        return descent(X, **kw)

    monkeypatch.setattr(multistart, "lse_descent", spy)
    # K = 48: no I-invariant code (60 > 48), so I is skipped; O, T, D4 have one
    s = SearchSettings.for_size(3, 48, hops=0, rotation_groups=("I", "O", "T", "D4"), rotation_tries=2,
                                rotation_period=4, beta_max=100.0)
    for index in (2, 6, 10):
        restart_once("tammes", 3, 48, np.random.SeedSequence(index), s, index=index)
    assert len(seen) == 6 and seen[:3] == ["O", "T", "D4"]
    # later turns in proportion to the free points: 48 = 2 x 24 (O), 4 x 12 (T), 6 x 8 or 4 + 4 + 5 x 8 (D4)
    groups = multistart._rotation_groups(s, 48)
    turns = [groups[multistart._group_turn(t, groups)][0].name for t in range(3, 3 + 2300)]
    for name, h in (("O", 2.0), ("T", 4.0), ("D4", 5.5)):
        assert turns.count(name) / len(turns) == pytest.approx(h / 11.5, abs=0.005)
    assert seen[3:] == turns[:3]


def test_the_best_try_and_the_best_try_of_the_most_free_points_both_go_on(monkeypatch):
    """With the overlap search, the best try goes on with the whole patience, and so does the best
    try of the most free points where that is another one (a fake search ranks few free points first)."""
    from spherecodes.solvers import multistart

    calls = []

    def fake(X, orbits, rng, s, run, patience):
        calls.append((orbits, patience))
        # fewer free points rank better; within a group, the later try
        return orbits.code(X), 1.0 + orbits.h - 1e-3 * len(calls)

    monkeypatch.setattr(multistart, "_symmetric_overlap", fake)
    # K = 48 under O (2 x 24: h = 2) and D4 (h = 6, or 5 with the axes): both come up in 4 tries
    s = SearchSettings.for_size(3, 48, rotation_groups=("O", "D4"), rotation_tries=4, overlap_patience=20,
                                rotation_period=2)
    groups = multistart._rotation_groups(s, 48)
    run = {"deadline": None, "stop": None, "beta_max": 100.0, "steps_per_beta": 10, "lr": s.lr, "decay": s.decay}
    W, value, label = multistart._rotation_tries(np.random.default_rng(0), groups, 48, s, 1, run, overlap=True)
    tries, went_on = calls[:4], calls[4:]
    assert [p for _, p in tries] == [10] * 4 and [p for _, p in went_on] == [20, 20]
    values = [1.0 + o.h - 1e-3 * (i + 1) for i, (o, _) in enumerate(tries)]
    best = tries[int(np.argmin(values))][0]
    widest = max(range(4), key=lambda i: (tries[i][0].h, -values[i]))
    assert best.group.name == "O" and went_on[0][0] is best
    assert went_on[1][0] is tries[widest][0] and went_on[1][0].group.name == "D4"
    assert value == min(values + [1.0 + o.h - 1e-3 * (5 + i) for i, (o, _) in enumerate(went_on)])
    assert label.startswith("O: ")
    # one group: its best try goes on once
    calls.clear()
    s1 = SearchSettings.for_size(3, 48, rotation_groups=("O",), rotation_tries=3, overlap_patience=20,
                                 rotation_period=2)
    multistart._rotation_tries(np.random.default_rng(0), multistart._rotation_groups(s1, 48), 48, s1, 1, run,
                               overlap=True)
    assert [p for _, p in calls] == [10, 10, 10, 20] and calls[3][0] is calls[2][0]


def test_rotation_tries_stop_at_the_deadline_and_on_the_stop_flag(monkeypatch):
    import threading
    import time

    from spherecodes.solvers import multistart

    calls = []
    descent = multistart.lse_descent

    def spy(X, **kw):
        calls.append(kw.get("symmetry"))
        return descent(X, **kw)

    monkeypatch.setattr(multistart, "lse_descent", spy)
    s = SearchSettings.for_size(3, 120, hops=0, rotation_tries=50)  # 50 descents: many seconds unbounded
    seq = np.random.SeedSequence(0)
    flag = threading.Event()
    flag.set()
    t0 = time.perf_counter()
    r = restart_once("tammes", 3, 120, seq, s, index=2, stop=flag)
    assert time.perf_counter() - t0 < 1.0 and r["symmetry"] is not None
    assert len(calls) == 1  # the first try runs (and returns at once), no further try starts
    calls.clear()
    t0 = time.perf_counter()
    r = restart_once("tammes", 3, 120, seq, s, index=2, deadline=time.time() + 1.0)
    assert time.perf_counter() - t0 < 2.0 and 1 <= len(calls) < 50
    assert r["value"] == max_inner_product(r["W"]) and r["W"].shape == (3, 120)


def test_a_symmetric_overlap_search_stays_invariant_and_improves_its_start():
    from spherecodes.solvers.multistart import _symmetric_overlap

    group = rotation_group("D3")
    orbits = OrbitCode(group, (0, 1), 4)  # 2 poles + 3 on the two-fold axes + 4 x 6 = 29 points
    s = SearchSettings.for_size(3, 29, overlap_patience=20)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4))
    X /= np.linalg.norm(X, axis=0)
    W, t = _symmetric_overlap(X, orbits, rng, s, {"deadline": None, "stop": None}, patience=20)
    assert W.shape == (3, 29) and t == max_inner_product(W)
    assert t < max_inner_product(orbits.code(X)) - 0.1
    for M in group.matrices:  # every rotation of the group maps the code onto itself
        D = np.linalg.norm((M @ W)[:, :, None] - W[:, None, :], axis=0)
        assert np.max(np.min(D, axis=1)) < 1e-9


def test_a_rotation_symmetric_overlap_restart_searches_invariant_codes_then_all_codes(monkeypatch):
    from spherecodes.solvers import overlap

    starts, symmetries = [], []
    hops = overlap._hops

    def spy(W, *args, **kw):
        starts.append(np.array(W))
        symmetries.append(kw.get("orbits"))
        return hops(W, *args, **kw)

    monkeypatch.setattr(overlap, "_hops", spy)
    s = SearchSettings.for_size(3, 120, rotation_groups=("I",), rotation_tries=3, overlap_patience=30, hop_patience=5)
    r = restart_once("tammes", 3, 120, np.random.SeedSequence(0), s, index=s.rotation_period // 2)
    # three short searches among I-invariant codes, the best one's going on, then one without symmetry
    assert r["symmetry"] == "I: 0 on axes + 2 x 60" and len(starts) == 5
    assert [o.group.name for o in symmetries[:4]] == ["I"] * 4 and symmetries[4] is None
    for W in starts[:4]:  # every symmetric search starts from an invariant code
        for M in rotation_group("I").matrices:
            D = np.linalg.norm((M @ W)[:, :, None] - W[:, None, :], axis=0)
            assert np.max(np.min(D, axis=1)) < 1e-9
    assert max_inner_product(starts[4]) <= max_inner_product(starts[3])  # the last, from the better code
    assert r["value"] == max_inner_product(r["W"]) and r["value"] <= BEST_120 + 1e-9


def test_rotation_symmetric_restarts_hop_again_with_fine_steps_and_free_ones_do_not(monkeypatch):
    from spherecodes.solvers import multistart

    steps = []
    jitter = multistart._jitter

    def spy(W, rng, angle, stepsize, columns):
        steps.append(stepsize)
        return jitter(W, rng, angle, stepsize, columns)

    monkeypatch.setattr(multistart, "_jitter", spy)
    s = SearchSettings.for_size(3, 120, rotation_groups=("I",), rotation_tries=1, overlap_patience=5, hop_patience=2,
                                hops=6)
    r = restart_once("tammes", 3, 120, np.random.SeedSequence(0), s, index=s.rotation_period // 2)
    hops = [x for x in steps if x in (s.hop_stepsize, s.fine_hop_stepsize)]
    # the LP hops of hop_stepsize, then the fine ones; each phase ends after hop_patience failures or 6 hops
    k = hops.index(s.fine_hop_stepsize)
    assert 1 <= k <= 6 and 1 <= len(hops) - k <= 6 and set(hops[:k]) == {s.hop_stepsize}
    assert set(hops[k:]) == {s.fine_hop_stepsize} and r["hops"] >= len(hops)
    steps.clear()
    off = dataclasses.replace(s, fine_hop_stepsize=0.0)
    restart_once("tammes", 3, 120, np.random.SeedSequence(0), off, index=off.rotation_period // 2)
    assert s.fine_hop_stepsize not in steps and s.hop_stepsize in steps
    steps.clear()
    free = SearchSettings.for_size(3, 30, overlap_patience=0, hops=6, hop_patience=2)  # LP hops, not rotation-symmetric
    restart_once("tammes", 3, 30, np.random.SeedSequence(0), free, index=0)
    assert free.hop_stepsize in steps and free.fine_hop_stepsize not in steps


def test_a_rotation_symmetric_restart_keeps_its_symmetric_code_when_the_free_search_loses_it(monkeypatch):
    from spherecodes.solvers import multistart

    # the search without the symmetry can end above the symmetric code it started from (its overlap
    # energy, not the max inner product, decides); here it returns a random code
    rng = np.random.default_rng(5)
    monkeypatch.setattr(multistart, "_overlap_restart",
                        lambda W, *a: (lambda X: (X, max_inner_product(X), 0))(multistart._random_columns(rng, 3, 120)))
    s = SearchSettings.for_size(3, 120, rotation_groups=("I",), rotation_tries=2, overlap_patience=20, hop_patience=1)
    r = restart_once("tammes", 3, 120, np.random.SeedSequence(0), s, index=s.rotation_period // 2)
    assert r["symmetry"] == "I: 0 on axes + 2 x 60"
    assert r["value"] == max_inner_product(r["W"]) and r["value"] <= BEST_120 + 1e-9
