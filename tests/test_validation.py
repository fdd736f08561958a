import numpy as np
import pytest

from spherecodes._validation import as_code, as_features, check_dims, check_int


def test_check_int():
    assert check_int(3, "K", minimum=2) == 3
    assert check_int(np.int64(4), "K", minimum=2) == 4
    assert check_int(5.0, "K", minimum=2) == 5
    for bad in (1.5, "3", True, None):
        with pytest.raises(ValueError, match="K must be an integer"):
            check_int(bad, "K", minimum=2)
    with pytest.raises(ValueError, match="K must be >= 2"):
        check_int(1, "K", minimum=2)


def test_check_dims():
    assert check_dims(3, 10) == (3, 10)
    with pytest.raises(ValueError, match="d must be >= 1"):
        check_dims(0, 10)


def test_as_code_tolerance():
    W = np.eye(3)
    W[0, 0] = 1 + 5e-9
    assert as_code(W) is not None
    W[0, 0] = 1 + 5e-8
    with pytest.raises(ValueError, match="column 0 has norm"):
        as_code(W)
    with pytest.raises(ValueError, match="zero column"):
        as_code(np.zeros((3, 3)), normalize=True)


def test_as_features():
    H = np.ones((2, 4))
    H2, y, K = as_features(H, [0, 1, 1, 0])
    assert K == 2 and y.dtype == np.int64
    with pytest.raises(ValueError, match="length 3 but H has N=4"):
        as_features(H, [0, 1, 1])
    with pytest.raises(ValueError, match="class 1 has no samples"):
        as_features(H, [0, 2, 2, 0])
    with pytest.raises(ValueError, match="integers"):
        as_features(H, [0.5, 1, 1, 0])
    with pytest.raises(ValueError, match=">= 0"):
        as_features(H, [-1, 1, 1, 0])
    with pytest.raises(ValueError, match="out of range"):
        as_features(H, [0, 1, 1, 0], K=1)


# ---------------------------------------------------------------------------
# issue 11, item 4: every bad argument named, types rejected as TypeError

from spherecodes import (class_means, distance_to_hull, gnc1, one_vs_rest_distances, polygon,  # noqa: E402
                         rattlers, separation)
from spherecodes._validation import ArgumentTypeError  # noqa: E402


@pytest.mark.parametrize("tol", [np.inf, -np.inf, np.nan, 0.0, -1e-3])
def test_tol_must_be_finite_and_positive(tol):
    """tol=np.inf was accepted and returned rho 0.3888 for a true 0.2525."""
    W = polygon(5)
    with pytest.raises(ValueError, match="tol"):
        one_vs_rest_distances(W, tol=tol)
    with pytest.raises(ValueError, match="tol"):
        distance_to_hull(np.zeros(2), W, tol=tol)


@pytest.mark.parametrize("tol", ["1e-3", None, True, 1j])
def test_tol_type(tol):
    with pytest.raises(TypeError, match="tol"):
        one_vs_rest_distances(polygon(5), tol=tol)


def test_complex_and_string_arrays_are_type_errors():
    W = polygon(5)
    with pytest.raises(TypeError, match="W must be real"):
        one_vs_rest_distances(W + 0j)
    with pytest.raises(TypeError, match="W"):
        one_vs_rest_distances(W.astype(str))
    with pytest.raises(TypeError, match="A must be real"):
        distance_to_hull(np.zeros(2), W.astype(complex))
    with pytest.raises(TypeError, match="v must be real"):
        distance_to_hull(np.zeros(2, dtype=complex), W)
    with pytest.raises(TypeError, match="H"):
        class_means(np.array([["1", "2"], ["3", "4"]]), [0, 1])
    with pytest.raises(TypeError, match="labels y"):
        class_means(np.ones((2, 2)), np.array(["0", "1"]))
    # still ValueErrors, for code that caught those
    assert issubclass(ArgumentTypeError, ValueError)


def test_type_errors_name_the_parameter():
    H = np.ones((2, 4))
    y = [0, 1, 2, 3]
    with pytest.raises(TypeError, match="K must be an integer"):
        class_means(H, y, K="4")
    with pytest.raises(TypeError, match="rtol"):
        separation(polygon(5), rtol="x")
    with pytest.raises(TypeError, match="rtol"):
        rattlers(polygon(5), rtol="x")
    with pytest.raises(TypeError, match="n_neighbors"):
        one_vs_rest_distances(polygon(5), n_neighbors="3")
    with pytest.raises(TypeError, match="normalize"):
        one_vs_rest_distances(polygon(5), normalize="yes")


def test_negative_rtol_rejected_consistently():
    """rtol=-1 was accepted by separation but rejected by rattlers."""
    for fn in (rattlers, separation):
        with pytest.raises(ValueError, match="rtol"):
            fn(polygon(5), rtol=-1)
        with pytest.raises(ValueError, match="rtol"):
            fn(polygon(5), rtol=np.nan)


def test_separation_rejects_a_result_for_another_code():
    W = polygon(6)
    other = np.roll(polygon(6), 1, axis=0)   # same shape, another code
    res_other = one_vs_rest_distances(other)
    with pytest.raises(ValueError, match="one_vs_rest does not match W"):
        separation(W, one_vs_rest=res_other)
    with pytest.raises(ValueError, match="one_vs_rest does not match W"):
        separation(W, one_vs_rest=one_vs_rest_distances(polygon(7)))
    with pytest.raises(TypeError, match="one_vs_rest"):
        separation(W, one_vs_rest=np.ones(6))
    # its own result is accepted, also for near-duplicate classes (distances ~1e-13)
    separation(W, one_vs_rest=one_vs_rest_distances(W))
    Wd = np.hstack([W, W[:, :1] + 1e-13 * np.array([[0.0], [1.0]])])
    Wd /= np.linalg.norm(Wd, axis=0)
    separation(Wd, one_vs_rest=one_vs_rest_distances(Wd))


def test_huge_label_fails_before_allocating():
    """class_means with one label 10**10 tried to allocate 74.5 GiB."""
    H = np.ones((3, 5))
    with pytest.raises(ValueError, match="labels y.*10000000000"):
        class_means(H, [0, 1, 2, 3, 10**10])
    with pytest.raises(ValueError, match="labels y"):
        gnc1(H, [0, 1, 2, 3, 10**10])
    with pytest.raises(ValueError, match="label"):
        class_means(H, [0, 1, 2, 3, 10**10], K=5)


def test_check_seed_is_the_solvers_seed_check_and_matches_numpy():
    """One seed check: multistart's name is the same function; its entropy is numpy's."""
    from spherecodes._validation import check_seed
    from spherecodes.solvers import multistart

    assert multistart.root_seed is check_seed
    assert check_seed(7) == 7 and check_seed(np.int64(7)) == 7
    assert check_seed(np.random.SeedSequence(11)) == np.random.SeedSequence(11).entropy
    g, h = np.random.default_rng(5), np.random.default_rng(5)
    assert check_seed(g) == int(h.integers(0, 2 ** 63 - 1))          # one draw, as numpy's own
    for bad, match in ((-1, "seed must be non-negative"), (1.5, "seed must be None, a non-negative int"),
                       ("3", "seed must be None, a non-negative int"), (True, "seed must be None")):
        with pytest.raises(ValueError, match=match):
            check_seed(bad)


def test_as_generator_keeps_generators_and_follows_default_rng():
    from spherecodes._validation import as_generator

    g = np.random.default_rng(3)
    state = g.bit_generator.state
    assert as_generator(g) is g and g.bit_generator.state == state    # not drawn from
    a = as_generator(np.random.SeedSequence(4)).standard_normal(3)
    np.testing.assert_array_equal(a, np.random.default_rng(4).standard_normal(3))
    with pytest.raises(ValueError, match="seed must be non-negative"):
        as_generator(-2)


def test_lower_layers_do_not_import_the_solvers():
    """constructions.simplex_etf and train's as_rng check seeds without importing spherecodes.solvers."""
    import subprocess
    import sys

    code = ("import sys; from spherecodes.constructions import simplex_etf; from spherecodes.train._common "
            "import as_rng; simplex_etf(4, 3, seed=1); as_rng(2)\n"
            "for bad in (-1, 'x'):\n"
            "    for f in (lambda s: simplex_etf(4, 3, seed=s), as_rng):\n"
            "        try: f(bad)\n"
            "        except ValueError as e: assert 'seed' in str(e), e\n"
            "        else: raise SystemExit('accepted ' + repr(bad))\n"
            "print(sorted(m for m in sys.modules if m.startswith('spherecodes.solvers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_check_indices_never_truncates():
    from spherecodes._validation import check_indices

    np.testing.assert_array_equal(check_indices([2, 0, 2.0], "classes", stop=3), [2, 0, 2])
    np.testing.assert_array_equal(check_indices(np.array([1], dtype=np.uint8), "classes", stop=3), [1])
    assert check_indices([], "classes", stop=3).size == 0
    for bad in ([1.5], [np.nan], [True], [1, True], (np.bool_(False), 2), [[0], [True]], ["1"], [1 + 0j], [None]):
        with pytest.raises(TypeError, match="classes must be integers"):
            check_indices(bad, "classes", stop=3)
    for bad in ([3], [-1]):
        with pytest.raises(ValueError, match=r"classes must be in range\(K\) = range\(3\)") as info:
            check_indices(bad, "classes", stop=3)
        assert not isinstance(info.value, TypeError)


def test_check_reals_names_the_entry():
    from spherecodes._validation import check_reals, check_tol

    np.testing.assert_array_equal(check_reals([0.5, 1, np.float32(0.25)], "taus"), [0.5, 1.0, 0.25])
    np.testing.assert_array_equal(check_reals(0.5, "taus"), [0.5])
    for bad, where in (([0.5, "0.1"], r"taus\[1\]"), ([True], r"taus\[0\]"), (["abc"], r"taus\[0\]")):
        with pytest.raises(TypeError, match=where + " must be a real number"):
            check_reals(bad, "taus")
    with pytest.raises(ValueError, match=r"taus\[1\] must be finite and > 0"):
        check_reals([1.0, -1.0], "taus", check=check_tol)
    with pytest.raises(ValueError, match="1-D"):
        check_reals([[1.0, 2.0]], "taus")
