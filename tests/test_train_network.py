"""Full-network training: digits accuracy, classifiers (learned / fixed / CMF), logs, CLI."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

import torch  # pinned in the test extra: a broken install must fail, not skip

from spherecodes.train.classifiers import CMFClassifier, FixedClassifier, build_classifier  # noqa: E402
from spherecodes.train.data import load_digits, synthetic_classes  # noqa: E402
from spherecodes.train.loop import build_model, fit  # noqa: E402
from spherecodes.train.models import build_encoder  # noqa: E402

torch.set_num_threads(1)  # the brief: at most 2; on a shared 2-core box one thread is much faster


def np_gnc(W, H, y, K):
    """GNC1 and GNC3 written out from the paper's definitions (class means normalized in GNC3)."""
    M = np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)
    R = H - M[:, y]
    SW = R @ R.T / H.shape[1]
    SB = M @ M.T / K
    g1 = np.trace(SW @ np.linalg.pinv(SB)) / K
    g3 = np.mean(1 - np.sum(W * M / np.linalg.norm(M, axis=0), axis=0))
    return g1, g3


def own_features(model, x):
    """Unit features computed directly from the encoder (independent of fit/evaluate)."""
    model.eval()
    with torch.no_grad():
        z = model.encoder(torch.as_tensor(x)).double().numpy()
    return (z / np.linalg.norm(z, axis=1, keepdims=True)).T


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def test_digits_feature_dim_3_reaches_90_percent(digits, tmp_path):
    r = fit(digits, encoder="mlp", feature_dim=3, classifier="learned", tau=0.1, epochs=10, seed=0, device="cpu",
            out_dir=tmp_path, checkpoint_every=4)
    # accuracy recomputed from the trained model: argmax_k <w_k, h>
    H_test = own_features(r.model, digits.x_test)
    acc = float(np.mean(np.argmax(r.W.T @ H_test, axis=0) == digits.y_test))
    assert acc >= 0.90
    assert r.test_acc == pytest.approx(acc, abs=1e-9)
    # GNC metrics are reported and agree with the definitions
    assert r.W.shape == (3, 10) and r.H.shape == (3, len(digits.y_train))
    np.testing.assert_allclose(r.H, own_features(r.model, digits.x_train), atol=1e-5)
    g1, g3 = np_gnc(r.W, r.H, digits.y_train, 10)
    assert r.gnc1 == pytest.approx(g1, rel=1e-6) and r.gnc3 == pytest.approx(g3, rel=1e-6, abs=1e-12)
    assert r.gnc2 > 0
    assert len(r.history) == 10 and all(math.isfinite(row["gnc1"]) for row in r.history)
    # logs, checkpoint and figure
    with open(tmp_path / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10 and {"epoch", "loss", "train_acc", "test_acc", "gnc1", "gnc2", "gnc3"} <= set(rows[0])
    assert float(rows[-1]["test_acc"]) == pytest.approx(r.test_acc)
    log = json.loads((tmp_path / "history.json").read_text())
    assert log["config"]["feature_dim"] == 3 and len(log["history"]) == 10
    ck = torch.load(tmp_path / "checkpoint_last.pt", weights_only=False)
    assert ck["epoch"] == 10
    fresh = build_model(digits, feature_dim=3, seed=123)
    fresh.load_state_dict(ck["model"])
    np.testing.assert_allclose(fresh.classifier.code(), r.W, atol=1e-6)
    assert (tmp_path / "curves.png").stat().st_size > 1000
    np.testing.assert_array_equal(np.load(tmp_path / "W.npy"), r.W)


def test_cmf_classifier_trains_and_tracks_class_means(digits):
    r = fit(digits, feature_dim=3, classifier="cmf", cmf_momentum=0.9, tau=0.1, epochs=6, seed=1, device="cpu")
    assert r.test_acc > 0.8
    assert not any(p.requires_grad for p in r.model.classifier.parameters())
    # CMF: W is aligned with the (normalized) train class means, GNC3 small
    _, g3 = np_gnc(r.W, r.H, digits.y_train, 10)
    assert g3 < 0.02 and r.gnc3 == pytest.approx(g3, rel=1e-6, abs=1e-12)


def test_cmf_ema_update_formula():
    gen = torch.Generator().manual_seed(0)
    clf = CMFClassifier(3, 4, tau=0.5, momentum=0.75, generator=gen)
    M0 = clf.M.clone().numpy()
    h = torch.nn.functional.normalize(torch.randn(6, 3, generator=gen), dim=1)
    y = torch.tensor([0, 0, 2, 2, 2, 1])
    clf.train()
    logits = clf(h, y)
    expected = M0.copy()
    for k in (0, 1, 2):
        mean = h[y == k].numpy().mean(axis=0)
        expected[:, k] = 0.75 * M0[:, k] + 0.25 * mean
    np.testing.assert_allclose(clf.M.numpy(), expected, atol=1e-6)  # class 3 absent: unchanged
    W = expected / np.linalg.norm(expected, axis=0)
    np.testing.assert_allclose(logits.detach().numpy(), h.numpy() @ W / 0.5, atol=1e-5)
    clf.eval()
    clf(h, y)
    np.testing.assert_allclose(clf.M.numpy(), expected, atol=1e-6)  # no update in eval mode
    with pytest.raises(ValueError, match="momentum"):
        CMFClassifier(3, 4, tau=0.5, momentum=1.0)


def test_fixed_classifier_keeps_code_and_assignment(digits):
    # a fixed code: 10 points of the regular 10-gon in the plane of the first two axes of R^3
    t = 2 * np.pi * np.arange(10) / 10
    code = np.stack([np.cos(t), np.sin(t), np.zeros(10)])
    assignment = np.array([3, 1, 4, 0, 5, 9, 2, 6, 8, 7])
    r = fit(digits, feature_dim=3, classifier="fixed", code=code, assignment=assignment, tau=0.1, epochs=4, seed=0,
            device="cpu")
    np.testing.assert_allclose(r.W, code[:, assignment], atol=1e-7)
    assert r.gnc2 == pytest.approx(1 - math.cos(2 * math.pi / 10), abs=1e-6)
    assert r.test_acc > 0.5
    with pytest.raises(ValueError, match="permutation"):
        FixedClassifier(code, 0.1, assignment=[0] * 10)
    with pytest.raises(ValueError, match="shape"):
        build_classifier("fixed", 3, 9, 0.1, code=code)
    with pytest.raises(ValueError, match="needs a code"):
        build_classifier("fixed", 3, 10, 0.1)
    with pytest.raises(ValueError, match="classifier must be"):
        build_classifier("ridge", 3, 10, 0.1)


def test_logits_are_cosines_over_tau():
    data = synthetic_classes(7, input_dim=6, n_train=3, n_test=1, seed=0)
    model = build_model(data, feature_dim=4, tau=0.25, seed=0).eval()
    x = torch.as_tensor(data.x_test)
    with torch.no_grad():
        logits, h = model(x)
        z = model.encoder(x).double().numpy()
    W = model.classifier.code()
    hz = z / np.linalg.norm(z, axis=1, keepdims=True)
    np.testing.assert_allclose(logits.numpy(), hz @ W / 0.25, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(h.numpy(), axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("name, shape", [("mlp", (64,)), ("cnn", (1, 8, 8)), ("resnet18", (3, 32, 32))])
def test_encoders_feature_dim(name, shape):
    torch.manual_seed(0)
    enc = build_encoder(name, shape, 10).eval()
    with torch.no_grad():
        out = enc(torch.randn(2, *shape))
    assert out.shape == (2, 10)
    if name == "resnet18":  # CIFAR ResNet18 (~11.2M parameters with a 512 -> 10 head)
        n = sum(p.numel() for p in enc.parameters())
        assert 11.0e6 < n < 11.4e6


def test_fit_bad_input(digits):
    with pytest.raises(ValueError, match="tau"):
        fit(digits, tau=0, epochs=1, device="cpu")
    with pytest.raises(ValueError, match="optimizer"):
        fit(digits, optimizer="lbfgs", epochs=1, device="cpu")
    with pytest.raises(ValueError, match="encoder"):
        fit(digits, encoder="vit", epochs=1, device="cpu")
    with pytest.raises(ValueError, match="ArrayDataset"):
        fit((digits.x_train, digits.y_train), epochs=1, device="cpu")
    with pytest.raises(ValueError, match="image inputs"):
        fit(digits, encoder="cnn", epochs=1, device="cpu")


def test_fit_reproducible():
    data = synthetic_classes(20, input_dim=8, n_train=5, n_test=2, seed=0)
    a = fit(data, feature_dim=3, epochs=2, seed=5, device="cpu")
    b = fit(data, feature_dim=3, epochs=2, seed=5, device="cpu")
    np.testing.assert_array_equal(a.W, b.W)
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]


def test_cli_fit_and_missing_data(tmp_path, capsys):
    from spherecodes.train.cli import main

    rc = main(["fit", "--dataset", "synthetic", "--synthetic-K", "12", "--epochs", "2", "--feature-dim", "2",
               "--out", str(tmp_path / "fit"), "--device", "cpu", "--threads", "1"])
    assert rc == 0
    assert (tmp_path / "fit" / "history.csv").exists() and (tmp_path / "fit" / "curves.png").exists()
    rc = main(["fit", "--dataset", "cifar10", "--data-root", str(tmp_path / "missing"), "--out", str(tmp_path / "x"),
               "--device", "cpu"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "data_batch_1" in err and "does not exist" in err


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_digits_90_percent_many_seeds(digits, seed):
    r = fit(digits, feature_dim=3, tau=0.1, epochs=10, seed=seed, device="cpu")
    assert r.test_acc >= 0.90


def test_cnn_with_augmentation_and_sparse_gnc():
    data = load_digits(image=True, seed=0).subset([0, 1, 2])
    r = fit(data, encoder="cnn", encoder_kwargs={"width": 8}, feature_dim=3, tau=0.2, epochs=3, augment=True,
            gnc_every=2, seed=0, device="cpu")
    assert [math.isnan(row["gnc1"]) for row in r.history] == [True, False, False]
    assert r.history[0]["train_acc"] == r.history[0]["train_acc_running"]
    assert r.test_acc > 0.5


def test_resume_from_checkpoint_continues_exactly(tmp_path):
    import shutil

    data = synthetic_classes(15, input_dim=8, n_train=6, n_test=2, seed=2)
    full = fit(data, feature_dim=3, epochs=4, checkpoint_every=2, seed=3, device="cpu", out_dir=tmp_path / "full",
               plot=False)
    assert (tmp_path / "full" / "checkpoint_epoch2.pt").exists()
    (tmp_path / "resumed").mkdir()
    shutil.copy(tmp_path / "full" / "checkpoint_epoch2.pt", tmp_path / "resumed" / "checkpoint_last.pt")
    # a different seed: everything that matters comes from the checkpoint
    res = fit(data, feature_dim=3, epochs=4, seed=99, device="cpu", out_dir=tmp_path / "resumed", resume=True,
              plot=False)
    assert [r["epoch"] for r in res.history] == [1, 2, 3, 4]
    np.testing.assert_allclose(res.W, full.W, atol=1e-6)
    assert res.history[-1]["loss"] == pytest.approx(full.history[-1]["loss"], rel=1e-5)
    with pytest.raises(ValueError, match="configuration differs"):
        fit(data, feature_dim=3, epochs=5, seed=3, device="cpu", out_dir=tmp_path / "resumed", resume=True)
    with pytest.raises(ValueError, match="out_dir"):
        fit(data, feature_dim=3, epochs=4, device="cpu", resume=True)


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


def test_resume_never_runs_code_from_a_checkpoint(tmp_path):
    """A crafted checkpoint_last.pt is refused by torch.load(weights_only=True); nothing runs."""
    import pickle

    marker = tmp_path / "ran"
    torch.save({"epoch": 1, "model": _Evil(marker)}, tmp_path / "checkpoint_last.pt")
    data = synthetic_classes(15, input_dim=8, n_train=6, n_test=2, seed=2)
    with pytest.raises(pickle.UnpicklingError):
        fit(data, feature_dim=3, epochs=2, seed=3, device="cpu", out_dir=tmp_path, resume=True, plot=False)
    assert not marker.exists()


def test_resume_after_a_temperature_continuation(tmp_path):
    """The continuation's learning-rate schedule leaves only Python numbers in the checkpoint
    (it loads with torch's plain weights_only=True) and a resumed run continues exactly."""
    data = synthetic_classes(6, input_dim=8, n_train=6, n_test=2, seed=1)
    opts = dict(feature_dim=3, tau=0.01, anneal_from=1.0, epochs=4, seed=0, device="cpu", plot=False)
    full = fit(data, checkpoint_every=2, out_dir=tmp_path / "full", **opts)
    ck = torch.load(tmp_path / "full" / "checkpoint_epoch2.pt", weights_only=True)
    assert ck["config"]["anneal_from"] == 1.0
    assert [r["tau"] for r in full.history] == pytest.approx([1.0, 0.1, 0.01, 0.01])  # 1 -> 0.01 over 2 epochs
    (tmp_path / "resumed").mkdir()
    import shutil

    shutil.copy(tmp_path / "full" / "checkpoint_epoch2.pt", tmp_path / "resumed" / "checkpoint_last.pt")
    res = fit(data, resume=True, out_dir=tmp_path / "resumed", **opts)
    np.testing.assert_allclose(res.W, full.W, atol=1e-6)
