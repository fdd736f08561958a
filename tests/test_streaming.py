"""Streaming class statistics and the metrics computed from them.

References are written out here with plain numpy on all the features at once
(class means, residuals, pseudo-inverses, full K x K distance matrices), or
are the in-memory functions of spherecodes.collapse on the same features.
"""
import numpy as np
import pytest

from spherecodes import (ClassStatistics, NCCAgreement, StreamingCollapse, cdnv, gnc1, gnc3,
                         one_vs_rest_distances, riesz_energy, uniformity)

torch = pytest.importorskip("torch")


def make_features(rng, K=6, D=5, N=90, spread=3.0, noise=1.0):
    y = rng.integers(0, K, N)
    y[:K] = np.arange(K)                      # every class present
    M = spread * rng.standard_normal((K, D))
    return M[y] + noise * rng.standard_normal((N, D)), y


def direct_stats(H, y, K):
    """Counts, means (K, D), scatter (D, D), per-class squared deviations: numpy on all features."""
    counts = np.bincount(y, minlength=K)
    means = np.stack([H[y == k].mean(axis=0) for k in range(K)])
    R = H - means[y]
    return counts, means, R.T @ R, np.array([np.sum(R[y == k] ** 2) for k in range(K)])


def stream(H, y, batch, *, n_classes=None, as_torch=False, dtype=np.float64):
    acc = StreamingCollapse(n_classes)
    for i in range(0, len(y), batch):
        h, t = H[i:i + batch].astype(dtype), y[i:i + batch]
        if as_torch:
            h, t = torch.from_numpy(h), torch.from_numpy(t)
        acc.update(h, t)
    return acc


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("as_torch", [False, True])
def test_streaming_equals_in_memory(rng, dtype, as_torch):
    H, y = make_features(rng, N=60)
    order = np.argsort(y, kind="stable")       # sorted labels: most batches miss most classes
    for perm in (np.arange(60), order):
        Hp, yp = H[perm], y[perm]
        Href = Hp.astype(dtype).astype(np.float64)    # what the accumulator sees, exactly
        counts, means, scatter, sq = direct_stats(Href, yp, 6)
        for batch in (1, 7, 60):
            st = stream(Hp, yp, batch, as_torch=as_torch, dtype=dtype).statistics()
            assert np.array_equal(st.counts, counts)
            np.testing.assert_allclose(st.means, means, rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(st.scatter, scatter, rtol=1e-11, atol=1e-11)
            np.testing.assert_allclose(st.sq_dev, sq, rtol=1e-11)
            assert st.gnc1() == pytest.approx(gnc1(Href.T, yp), rel=1e-10)
            W = means / np.linalg.norm(means, axis=1, keepdims=True)
            assert st.gnc3(W) == pytest.approx(gnc3(W.T, Href.T, yp), rel=1e-11, abs=1e-14)


def test_streaming_gnc2_is_the_certified_one_vs_rest_of_the_means(rng):
    H, y = make_features(rng, K=9, D=4, N=120)
    st = stream(H, y, 16).statistics()
    _, means, _, _ = direct_stats(H, y, 9)
    ref = one_vs_rest_distances((means / np.linalg.norm(means, axis=1, keepdims=True)).T)
    res = st.gnc2()
    np.testing.assert_allclose(res.distance, ref.distance, rtol=1e-10)
    assert res.rho_lower <= ref.rho + 1e-12 and ref.rho <= res.rho_upper + 1e-12
    W = rng.standard_normal((9, 4))
    res_w = st.gnc2(torch.from_numpy(W), normalize=True)          # rows, a torch tensor
    ref_w = one_vs_rest_distances(W.T, normalize=True)
    assert np.array_equal(res_w.distance, ref_w.distance)


def test_large_offset_is_stable(rng):
    """Features with a common offset of 1e6: the pairwise update keeps the scatter (a sum of
    squares minus n mean^2 would lose every digit)."""
    H, y = make_features(rng, N=80, noise=1e-3)
    counts, means, scatter, sq = direct_stats(H, y, 6)       # offset-free reference
    st = stream(H + 1e6, y, 9).statistics()
    np.testing.assert_allclose(st.scatter, scatter, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(st.sq_dev, sq, rtol=1e-6)


def test_missing_classes_and_growth(rng):
    H, y = make_features(rng, K=5, N=40)
    acc = stream(H, y, 8)                                     # K grows with the labels
    assert acc.statistics().n_classes == 5
    acc = stream(H, y, 8, n_classes=7)                        # classes 5 and 6 never seen
    with pytest.raises(ValueError, match="class 5 has no samples"):
        acc.statistics()
    st = acc.statistics(allow_empty=True)
    assert st.counts[5] == 0 and st.counts[6] == 0
    with pytest.raises(ValueError, match="class 5 has no samples"):
        st.gnc1()


def test_merge_equals_one_pass(rng):
    H, y = make_features(rng, N=70)
    a, b = stream(H[:30], y[:30], 7), stream(H[30:], y[30:], 11)
    a.merge(b)
    one = stream(H, y, 70).statistics()
    st = a.statistics()
    assert a.n_samples == 70
    np.testing.assert_allclose(st.means, one.means, rtol=1e-12)
    np.testing.assert_allclose(st.scatter, one.scatter, rtol=1e-11)


def test_centering_options_match_written_out_formulas(rng):
    H, y = make_features(rng, K=4, D=6, N=200)
    y[:150] = 0                                               # unbalanced: "global" != "means"
    K, N = 4, 200
    counts, means, scatter, _ = direct_stats(H, y, K)
    st = stream(H, y, 32).statistics()
    Sw = scatter / N
    for center, origin in [("none", np.zeros(6)), ("global", H.mean(axis=0)), ("means", means.mean(axis=0))]:
        Mc = means - origin
        Sb = Mc.T @ Mc / K
        assert st.gnc1(center=center) == pytest.approx(np.trace(Sw @ np.linalg.pinv(Sb)) / K, rel=1e-8)


def test_cdnv_uniformity_riesz_against_numpy(rng, monkeypatch):
    import spherecodes.pairwise as pw

    H, y = make_features(rng, K=23, D=7, N=300)
    counts, means, _, sq = direct_stats(H, y, 23)
    var = sq / counts
    D2 = ((means[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    iu = np.triu_indices(23, 1)
    U = means / np.linalg.norm(means, axis=1, keepdims=True)
    E2 = ((U[:, None, :] - U[None, :, :]) ** 2).sum(-1)[iu]
    ref = dict(cdnv=np.mean((var[:, None] + var[None, :])[iu] / (2 * D2[iu])),
               unif=np.log(np.mean(np.exp(-2.0 * E2))), unif5=np.log(np.mean(np.exp(-0.5 * E2))),
               riesz=np.mean(E2 ** -1.5), logen=np.mean(-0.5 * np.log(E2)))
    st = stream(H, y, 25).statistics()
    for block in (None, 8 * 23 * 5):                          # one block, and blocks of 5 rows
        if block:
            monkeypatch.setattr(pw, "_BLOCK_BYTES", block)
        assert st.cdnv() == pytest.approx(ref["cdnv"], rel=1e-12)
        assert cdnv(means.T, var) == pytest.approx(ref["cdnv"], rel=1e-12)
        assert st.uniformity() == pytest.approx(ref["unif"], rel=1e-12)
        assert uniformity(means.T, t=0.5) == pytest.approx(ref["unif5"], rel=1e-12)
        assert riesz_energy(torch.from_numpy(means), s=3, layout="rows") == pytest.approx(ref["riesz"], rel=1e-12)
        assert riesz_energy(means.T, s=3, log=True) == pytest.approx(np.log(ref["riesz"]), rel=1e-12)
        assert riesz_energy(means.T, s=0) == pytest.approx(ref["logen"], rel=1e-12)


def test_cdnv_of_nearly_coincident_means():
    """Two means 1e-7 apart at norm 1e3: the inner-product form would cancel; the difference does not."""
    means = np.array([[1e3, 0.0, 5.0], [1e3 + 1e-7, 0.0, 5.0], [0.0, 1e3, 0.0]]).T
    var = np.array([1e-16, 2e-16, 1.0])
    d2 = lambda i, j: np.sum((means[:, i] - means[:, j]) ** 2)      # noqa: E731
    ref = np.mean([(var[i] + var[j]) / (2 * d2(i, j)) for i, j in [(0, 1), (0, 2), (1, 2)]])
    assert cdnv(means, var) == pytest.approx(ref, rel=1e-9)
    assert riesz_energy(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]).T, s=1) == np.inf


def test_a_stream_of_underflowing_features_is_refused_when_read(rng):
    """Features of 1e-170: their squares underflow and GNC1 and the variances read 0, a
    collapse that is not there.  A tiny batch next to ordinary ones is fine (negligible)."""
    H, y = make_features(rng, K=3, D=4, N=30)
    acc = StreamingCollapse()
    acc.update(H * 1e-170, y)
    with pytest.raises(ValueError, match="underflowed"):
        acc.statistics()
    ok = StreamingCollapse()
    ok.update(H, y)
    ok.update(H[:2] * 1e-200, y[:2])
    ok.statistics()
    acc.merge(ok)                 # now with ordinary features: readable
    acc.statistics()


@pytest.mark.parametrize("e, f", [(-565, -1000), (531, 1000), (511, 0), (-500, 0)])
def test_cdnv_is_scale_free_at_the_ends_of_the_doubles(e, f):
    """Means times 2^e, variances times 2^f: CDNV times 2^(f - 2e).  The squared distances
    overflowed (0 at means of 1e160) or underflowed (inf at 1e-170).  Reference in rationals."""
    from fractions import Fraction

    means = np.array([[0.0, 2.0, 0.5], [0.0, 0.0, 1.5]])
    var = np.array([1.0, 0.5, 0.25])
    d2 = lambda i, j: sum(Fraction(a - b) ** 2 for a, b in zip(means[:, i], means[:, j]))  # noqa: E731
    base = sum((Fraction(var[i]) + Fraction(var[j])) / (2 * d2(i, j)) for i, j in [(0, 1), (0, 2), (1, 2)]) / 3
    ref = float(base * Fraction(2) ** (f - 2 * e))
    assert cdnv(np.ldexp(means, e), np.ldexp(var, f)) == pytest.approx(ref, rel=1e-14)
    # far from the origin: the variances scale with the distances, not with the offset
    off = np.ldexp(1.0, e + 40)
    assert cdnv(np.ldexp(means, e) + off, np.ldexp(var, f)) == pytest.approx(ref, rel=1e-9)



def test_cdnv_keeps_small_variances_next_to_a_large_offset():
    """Variances scaled with the means underflowed: two coinciding means with positive
    variance (CDNV inf) read 0, and subnormal scaled variances lost digits (1 %)."""
    from fractions import Fraction

    assert cdnv(np.array([[1e140, 1e140, 0.0]]), [1e-200, 1e-200, 0.0]) == np.inf
    b = 2.0 ** 500
    means = np.array([[0.0, b, b + np.spacing(b)]])
    v = 2.0 ** -70 * 1.2345
    ref = sum((2 * Fraction(v)) / (2 * (Fraction(means[0, i]) - Fraction(means[0, j])) ** 2)
              for i, j in [(0, 1), (0, 2), (1, 2)]) / 3
    assert cdnv(means, [v] * 3) == pytest.approx(float(ref), rel=1e-14)


def _nc4_reference(H, means, W, b):
    ncc = np.argmin(((H[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    return ncc, np.argmax(H @ W.T + b, axis=1)


@pytest.mark.parametrize("as_torch", [False, True])
def test_nc4_against_numpy(rng, as_torch):
    H, y = make_features(rng, K=8, D=6, N=400, spread=1.0, noise=1.0)
    st = stream(H, y, 50).statistics()
    W = st.means + 0.7 * rng.standard_normal((8, 6))         # a classifier near the means
    b = 0.3 * rng.standard_normal(8)
    ncc, lin = _nc4_reference(H, st.means, W, b)
    agree = ncc == lin
    assert 0.05 < agree.mean() < 0.95                          # a test that can fail both ways
    wrap = torch.from_numpy if as_torch else np.asarray
    nc4 = st.agreement(wrap(W), bias=b)
    for i in range(0, 400, 64):
        nc4.update(wrap(H[i:i + 64]), labels=y[i:i + 64])
    assert nc4.n_samples == 400 and nc4.matches == agree.sum()
    per = np.array([agree[y == k].mean() for k in range(8)])
    np.testing.assert_allclose(nc4.per_class, per, rtol=1e-15)
    logits = H @ W.T + b
    nc4 = NCCAgreement(st.means.T, layout="columns")
    nc4.update(wrap(H), logits=wrap(logits))
    assert nc4.value == agree.mean()


@pytest.mark.parametrize("e", [-600, -560, 500, 515, 990])
def test_nc4_is_scale_free(rng, e):
    """Means and features times 2^e give the same nearest class centers: ||mu||^2 overflowed
    at 1e155 (and underflowed at 1e-170), and every sample went to class 0."""
    import warnings

    H, y = make_features(rng, K=5, D=4, N=200, spread=1.0, noise=1.0)
    means = np.stack([H[y == k].mean(0) for k in range(5)])
    ncc, _ = _nc4_reference(H, means, means, np.zeros(5))
    W = rng.standard_normal((5, 4))
    lin = np.argmax(H @ W.T, axis=1)                  # no bias: its prediction is scale-free too
    agree = ncc == lin
    assert 0.05 < agree.mean() < 0.95
    nc4 = NCCAgreement(np.ldexp(means, e), W=W)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nc4.update(np.ldexp(H, e), labels=y)
    assert nc4.matches == agree.sum()


def test_nc4_is_translation_free():
    """Means 1e12 and 1e12 + 1 apart by 1: the scores <h, mu> - ||mu||^2 / 2 cancelled, and a
    feature sitting on mean 0 went to class 1.  Centred at the means' mean, it does not."""
    mu = np.array([[1e12, 1e12], [1e12 + 1, 1e12]])
    for k in (0, 1):
        nc4 = NCCAgreement(mu)
        nc4.update(mu[k][None], logits=np.eye(2)[k][None])
        assert nc4.matches == 1, k


def test_nc4_near_ties_are_rescored_in_float64(rng):
    """Two classifiers 1e-9 apart: float32 cannot tell them apart, float64 can."""
    D, N = 16, 300
    w0 = rng.standard_normal(D)
    e = rng.standard_normal(D)
    W = np.stack([w0, w0 + 1e-9 * e, -w0])
    H = rng.standard_normal((N, D))
    H[:, :] += np.sign(H @ w0)[:, None] * w0 / np.linalg.norm(w0)   # away from the -w0 class
    means = np.stack([np.zeros(D) + 0.01, w0, -w0 * 3.0])
    ncc, lin = _nc4_reference(H, means, W, np.zeros(3))
    assert {0, 1} <= set(lin.tolist())                          # both near-tied classes win somewhere
    nc4 = NCCAgreement(means, W=W)
    nc4.update(H.astype(np.float64))
    assert nc4.matches == np.sum(ncc == lin)


def test_register_hooks_accumulates_layer_outputs(rng):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    X = torch.from_numpy(rng.standard_normal((64, 5)))
    y = torch.from_numpy(np.arange(64) % 3)
    model = model.double()
    from spherecodes import register_hooks
    with register_hooks(model, ["1", "2"], n_classes=3) as hooks:
        for i in range(0, 64, 10):
            hooks.labels = y[i:i + 10]
            model(X[i:i + 10])
    with register_hooks(model, ["2"], inputs=True) as into_fc:
        into_fc.labels = y
        model(X)
    assert not model._forward_hooks and not model[1]._forward_hooks        # removed on exit
    with torch.no_grad():
        relu = model[1](model[0](X)).numpy()
        out = model(X).numpy()
    stats = hooks.statistics()
    for name, feats in (("1", relu), ("2", out)):
        _, means, scatter, _ = direct_stats(feats, y.numpy(), 3)
        np.testing.assert_allclose(stats[name].means, means, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(stats[name].scatter, scatter, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(into_fc["2"].statistics().means, stats["1"].means, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="not submodules"):
        register_hooks(model, ["nope"])


def test_bad_input_names_the_problem(rng):
    acc = StreamingCollapse()
    with pytest.raises(ValueError, match=r"2-D, shape \(B, D\)"):
        acc.update(np.zeros((4, 2, 2)), np.zeros(4, dtype=int))
    acc.update(np.zeros((4, 3)), np.arange(4))
    with pytest.raises(ValueError, match="D=2 columns but earlier batches had D=3"):
        acc.update(np.zeros((4, 2)), np.arange(4))
    with pytest.raises(TypeError, match="labels must be"):
        acc.update(np.zeros((4, 3)), np.arange(4.0))
    with pytest.raises(ValueError, match="NaN or inf"):
        acc.update(np.full((1, 3), np.nan), np.array([0]))
    with pytest.raises(ValueError, match="label 5 out of range"):
        StreamingCollapse(3).update(np.zeros((1, 3)), np.array([5]))
    with pytest.raises(ValueError, match="no features accumulated"):
        StreamingCollapse().statistics()
    with pytest.raises(ValueError, match="center must be one of"):
        ClassStatistics.from_features(np.eye(3), np.arange(3)).gnc1(center="global mean")
    st = ClassStatistics.from_features(rng.standard_normal((6, 4)), np.arange(6) % 2)
    with pytest.raises(ValueError, match="layout='columns'"):
        st.gnc3(np.ones((4, 2)))                                # (D, K) given as rows
    with pytest.raises(ValueError, match="row 0 has norm"):
        st.gnc3(np.ones((2, 4)))                                # rows, not unit, no normalize
    with pytest.raises(ValueError, match="logits=..."):
        st.agreement().update(np.zeros((2, 4)))


def test_wrong_types_are_type_errors_naming_the_parameter(rng):
    """A center or layout of the wrong type was a ValueError; complex means were cast, dropping
    their imaginary part (numpy's ComplexWarning), and string means failed inside numpy."""
    st = ClassStatistics.from_features(rng.standard_normal((6, 4)), np.arange(6) % 2)
    with pytest.raises(TypeError, match="center must be one of"):
        st.gnc1(center=0)
    with pytest.raises(TypeError, match="layout must be 'columns' or 'rows'"):
        st.gnc2(np.eye(2, 4), layout=1)
    with pytest.raises(TypeError, match="means must be real"):
        NCCAgreement(np.eye(3) + 1j)
    with pytest.raises(TypeError, match="means must be a numeric array"):
        NCCAgreement(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(TypeError, match="W must be real"):
        NCCAgreement(np.eye(3), W=np.eye(3) + 1j)
    with pytest.raises(TypeError, match="bias must be real"):
        NCCAgreement(np.eye(3), W=np.eye(3), bias=np.zeros(3) + 1j)
    with pytest.raises(TypeError, match="other must be a StreamingCollapse"):
        StreamingCollapse().merge(st)


def _state(acc):
    st = acc.statistics(allow_empty=True)
    return acc.n_samples, st.counts.copy(), st.means.copy(), st.scatter.copy(), st.sq_dev.copy()


@pytest.mark.parametrize("as_torch", [False, True])
def test_failed_update_changes_nothing(rng, as_torch):
    """The overflow check used to run after the batch was merged: the scatter stayed inf.  Now a
    batch that fails any check leaves every statistic as it was (here with a new class 7, so the
    arrays would also have grown), and the stream goes on to the numpy result of the good batches."""
    wrap = torch.from_numpy if as_torch else (lambda a: a)
    H, y = make_features(rng, K=5, D=3, N=40)
    acc = stream(H, y, 8, as_torch=as_torch)
    before = _state(acc)
    huge = np.array([[1e200, 0.0, 0.0], [-1e200, 0.0, 0.0]])
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(ValueError, match="overflowed"):
        acc.update(wrap(huge), wrap(np.array([7, 7])))
    with pytest.raises(ValueError, match="NaN or inf"):
        acc.update(wrap(np.full((2, 3), np.inf)), wrap(np.array([0, 9])))
    after = _state(acc)
    assert after[0] == before[0]
    for a, b in zip(after[1:], before[1:]):
        assert np.array_equal(a, b)
    assert acc.statistics().n_classes == 5
    acc.update(wrap(H[:4]), wrap(y[:4]))
    counts, means, scatter, sq = direct_stats(np.vstack([H, H[:4]]), np.concatenate([y, y[:4]]), 5)
    st = acc.statistics()
    assert np.array_equal(st.counts, counts)
    np.testing.assert_allclose(st.means, means, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(st.scatter, scatter, rtol=1e-11, atol=1e-11)


def test_failed_first_batch_and_failed_merge_change_nothing(rng):
    """A first batch that fails used to fix D (and the array library) all the same; a merge that
    fails used to set up an empty accumulator before raising."""
    acc = StreamingCollapse()
    with pytest.raises(ValueError, match="NaN or inf"):
        acc.update(np.full((2, 4), np.nan), np.array([0, 1]))
    with pytest.raises(ValueError, match="no features accumulated"):
        acc.statistics()
    H, y = make_features(rng, K=3, D=2, N=12)
    acc.update(H, y)                                         # D = 2 now, not the failed batch's 4
    assert acc.statistics().means.shape == (3, 2)
    small = StreamingCollapse(2)
    with pytest.raises(ValueError, match="more than n_classes=2"):
        small.merge(acc)
    with pytest.raises(ValueError, match="no features accumulated"):
        small.statistics()
    a, b = StreamingCollapse(), StreamingCollapse()
    x = np.array([[8.6e153, 0.0], [-8.6e153, 0.0]])            # scatter 2 x^2 = 1.48e308: finite
    a.update(x, np.array([0, 0]))
    b.update(x, np.array([0, 0]))
    assert np.isfinite(a.statistics().scatter).all()
    before = _state(a)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(ValueError, match="overflowed"):
        a.merge(b)                                                # twice that is not
    after = _state(a)
    assert after[0] == before[0]
    for u, v in zip(after[1:], before[1:]):
        assert np.array_equal(u, v)


def test_nc4_batch_with_bad_labels_changes_nothing(rng):
    """A batch whose labels are rejected leaves the counts as the good batches made them
    (recomputed here with numpy: nearest mean vs argmax of the logits)."""
    means = rng.standard_normal((4, 3))
    nc4 = NCCAgreement(means)
    X = rng.standard_normal((20, 3))
    logits = rng.standard_normal((20, 4))
    y = rng.integers(0, 4, size=20)
    nc4.update(X, logits=logits, labels=y)
    with pytest.raises(ValueError, match="labels"):
        nc4.update(X, logits=logits, labels=np.full(20, 7))
    nearest = np.argmin(((X[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    hits = nearest == logits.argmax(1)
    assert nc4.n_samples == 20 and nc4.matches == int(hits.sum())
    np.testing.assert_array_equal(nc4._class_n, np.bincount(y, minlength=4))
