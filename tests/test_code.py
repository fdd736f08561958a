"""SphereCode: measures, verify(), save/load, repr."""
import dataclasses
import os

import numpy as np
import pytest

from reference import cvxpy_one_vs_rest
from spherecodes.code import SphereCode


def _random_unit(rng, d, K):
    W = rng.standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def test_from_W_simplex_matches_closed_form():
    # regular simplex of 4 points in R^3: <w_i, w_j> = -1/3, rho = K/(K-1)
    V = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float).T / np.sqrt(3)
    code = SphereCode.from_W(V)
    assert code.d == 3 and code.K == 4
    assert code.max_inner_product == pytest.approx(-1 / 3, abs=1e-14)
    assert code.rho_one_vs_rest == pytest.approx(4 / 3, abs=1e-12)
    assert code.rho_one_vs_one == pytest.approx(np.sqrt(8 / 3), abs=1e-12)
    assert code.rho_lower <= 4 / 3 + 1e-12 and code.rho_upper >= 4 / 3 - 1e-12
    assert code.rattlers.size == 0
    assert code.verify()


def test_from_W_measures_against_cvxpy():
    rng = np.random.default_rng(3)
    W = _random_unit(rng, 4, 9)
    code = SphereCode.from_W(W)
    ref = np.array([cvxpy_one_vs_rest(W, k) for k in range(9)])
    np.testing.assert_allclose(code.distances, ref, atol=1e-6)
    assert code.rho_one_vs_rest == pytest.approx(ref.min(), abs=1e-6)
    G = W.T @ W
    iu = np.triu_indices(9, 1)
    assert code.max_inner_product == pytest.approx(G[iu].max(), abs=1e-14)
    # rattlers: classes clearly above the minimum according to cvxpy
    clearly = set(np.flatnonzero(ref > ref.min() * (1 + 1e-4)))
    assert clearly <= set(code.rattlers.tolist())
    # the hyperplane bound rho >= 1 - max inner product
    assert code.rho_one_vs_rest >= 1 - code.max_inner_product - 1e-12


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(5)
    W = _random_unit(rng, 3, 7)
    code = SphereCode.from_W(W, problem="tammes", method="numeric", restarts=3, n_best=2,
                             values=[0.5, 0.4, 0.4], seed=123, settings={"a": 1, "betas": [1.0, 2.0]},
                             timings={"total": 0.25})
    path = code.save(tmp_path / "code")  # suffix appended
    assert path.name == "code.npz" and path.exists()
    assert sorted(os.listdir(tmp_path)) == ["code.npz"]  # no temporary file left behind
    back = SphereCode.load(path)
    np.testing.assert_array_equal(back.W, W)
    np.testing.assert_array_equal(back.distances, code.distances)
    np.testing.assert_array_equal(back.values, [0.5, 0.4, 0.4])
    for name in ("problem", "rho_one_vs_rest", "rho_lower", "rho_upper", "rho_one_vs_one", "max_inner_product",
                 "method", "restarts", "n_best", "seed", "settings", "timings", "rattler_rtol"):
        assert getattr(back, name) == getattr(code, name), name
    np.testing.assert_array_equal(back.rattlers, code.rattlers)


def test_save_overwrites_atomically(tmp_path):
    rng = np.random.default_rng(6)
    a = SphereCode.from_W(_random_unit(rng, 3, 5))
    b = SphereCode.from_W(_random_unit(rng, 3, 6))
    p = a.save(tmp_path / "x.npz")
    b.save(p)
    assert SphereCode.load(p).K == 6
    assert sorted(os.listdir(tmp_path)) == ["x.npz"]


def test_verify_detects_wrong_measures():
    rng = np.random.default_rng(7)
    code = SphereCode.from_W(_random_unit(rng, 3, 8))
    assert code.verify()
    for field, value in [("rho_one_vs_rest", code.rho_one_vs_rest + 1e-6),
                         ("max_inner_product", code.max_inner_product - 1e-3),
                         ("rho_one_vs_one", 0.0),
                         ("distances", code.distances + 1e-5),
                         ("rattlers", np.array([0, 1, 2, 3, 4, 5, 6, 7]))]:
        bad = dataclasses.replace(code, **{field: value})
        with pytest.raises(ValueError, match=field):
            bad.verify()


def test_load_detects_tampered_file(tmp_path):
    rng = np.random.default_rng(8)
    code = SphereCode.from_W(_random_unit(rng, 3, 6))
    p = code.save(tmp_path / "c.npz")
    with np.load(p) as z:
        data = {k: z[k] for k in z.files}
    W = data["W"].copy()
    W[:, 0] = W[:, 1]  # a duplicate codeword: rho becomes 0
    data["W"] = W
    np.savez(p, **data)
    with pytest.raises(ValueError, match="verify"):
        SphereCode.load(p)
    assert SphereCode.load(p, verify=False).rho_one_vs_rest == code.rho_one_vs_rest


def test_load_rejects_other_files(tmp_path):
    p = tmp_path / "other.npz"
    np.savez(p, W=np.eye(3))
    with pytest.raises(ValueError, match="not a SphereCode"):
        SphereCode.load(p)
    with pytest.raises(ValueError):
        SphereCode.load(tmp_path / "missing.npz")


def test_from_W_bad_input():
    with pytest.raises(ValueError, match="unit norm"):
        SphereCode.from_W(2 * np.eye(3))
    with pytest.raises(ValueError, match="problem"):
        SphereCode.from_W(np.eye(3), problem="nope")
    with pytest.raises(ValueError, match="unknown"):
        SphereCode.from_W(np.eye(3), colour="red")
    code = SphereCode.from_W(2 * np.eye(3), normalize=True)
    assert code.max_inner_product == 0.0
    with pytest.raises(TypeError, match="n_jobs"):
        SphereCode.from_W(np.eye(3), n_jobs="2")
    with pytest.raises(ValueError, match="rattler_rtol"):
        SphereCode.from_W(np.eye(3), rattler_rtol=-1.0)
    with pytest.raises(ValueError, match="certificate_time_limit"):
        SphereCode.from_W(np.eye(3), certificate_time_limit=-1.0)
    with pytest.raises(TypeError, match="settings must be a dict"):
        SphereCode.from_W(np.eye(3), settings=None)


def test_from_W_threads_against_cvxpy():
    """The threaded certification (large-K path) gives the cvxpy distances too."""
    rng = np.random.default_rng(4)
    W = _random_unit(rng, 3, 12)
    code = SphereCode.from_W(W, n_jobs=2)
    ref = np.array([cvxpy_one_vs_rest(W, k) for k in range(12)])
    np.testing.assert_allclose(code.distances, ref, atol=1e-6)
    assert code.rho_lower <= ref.min() + 1e-6 and code.rho_upper >= ref.min() - 1e-6


def test_repr_is_readable():
    code = SphereCode.from_W(np.hstack([np.eye(3), -np.eye(3)]), problem="softmax")
    text = repr(code)
    assert "d=3" in text and "K=6" in text and "rho_one_vs_rest" in text and "softmax" in text
    assert "1" in text.split("rho_one_vs_rest")[1].split("\n")[0]
    assert code.rho_one_vs_rest == pytest.approx(1.0, abs=1e-12)
    assert np.degrees(code.min_angle) == pytest.approx(90.0)


def test_min_angle_and_rattlers_agree_with_measures():
    """SphereCode and spherecodes.measures share one rule: a 1e-9 rad pair, and rattlers."""
    from spherecodes.measures import min_angle, rattlers

    eps = 1e-9
    W = np.array([[1.0, np.cos(eps), -1.0, 0.0], [0.0, np.sin(eps), 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    W /= np.linalg.norm(W, axis=0)
    code = SphereCode.from_W(W)
    assert code.min_angle == pytest.approx(min_angle(W), rel=1e-12)
    assert code.min_angle == pytest.approx(eps, rel=1e-6)  # arccos would give 0
    from spherecodes.constructions import icosahedron, simplex_etf
    # the icosahedron has none; a simplex with one vertex pulled towards another has some
    S = simplex_etf(3, 4)
    S[:, 0] = S[:, 0] + 0.3 * S[:, 1]
    S /= np.linalg.norm(S, axis=0)
    for V in (icosahedron(), S):
        c = SphereCode.from_W(V)
        np.testing.assert_array_equal(np.sort(c.rattlers), rattlers(V))
        assert c.verify()
    assert len(SphereCode.from_W(S).rattlers) > 0


def test_time_limited_certificate_is_recorded_and_verified(tmp_path):
    """A certificate cut by its time limit (here 0 s: no class solved) says so: the settings
    count the solved classes, the message says how rho is bounded, the bracket holds cvxpy's
    rho, no class is called a rattler, and verify() checks the stored upper bounds."""
    rng = np.random.default_rng(4)
    W = _random_unit(rng, 4, 9)
    code = SphereCode.from_W(W, certificate_time_limit=0)
    ref = min(cvxpy_one_vs_rest(W, k) for k in range(9))
    assert code.settings["certified_classes"] == 0
    assert "0 of 9 classes solved exactly" in code.message
    assert code.rho_lower - 1e-7 <= ref <= code.rho_upper + 1e-7 and code.rho_upper - code.rho_lower > 1e-3
    assert code.rattlers.size == 0
    assert code.verify() and SphereCode.load(code.save(tmp_path / "c.npz")).verify()
    from spherecodes.cli import _measure_lines
    from spherecodes.compare import measure_code
    m = measure_code(code)
    assert m["certified_classes"] == 0 and m["rho_lower"] == code.rho_lower
    assert "the time limit cut it: 0 of 9 classes solved" in "\n".join(_measure_lines(m))
    with pytest.raises(ValueError, match="rattlers cannot be recomputed"):
        measure_code(code, rtol=1e-3)
    full = SphereCode.from_W(W, certificate_time_limit=60, settings={"certified_classes": 3})
    assert "certified_classes" not in full.settings and full.rattlers.size > 0   # set by the certificate only
    bad = dataclasses.replace(code, distances=full.distances - 1e-3)   # below the exact distances
    with pytest.raises(ValueError, match="distances"):
        bad.verify()
