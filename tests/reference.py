"""Independent reference computations (cvxpy / Clarabel, numpy formulas) used by the tests."""
import csv
import warnings

import cvxpy as cp
import numpy as np


def cvxpy_hull_distance(v, A):
    """dist(v, conv of the columns of A) by a second-order-cone program (Clarabel)."""
    lam = cp.Variable(A.shape[1], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.norm(A @ lam - v)), [cp.sum(lam) == 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12,
                   max_iter=500)
    return float(prob.value)


def cvxpy_one_vs_rest(W, k):
    """One-vs-rest distance of class k of the code W (d, K) by cvxpy."""
    return cvxpy_hull_distance(W[:, k], np.delete(W, k, axis=1))


def cvxpy_rho(W):
    """GNC2 = rho_one_vs_rest(W) = min_k dist(w_k, conv{w_j : j != k}), one QP per class."""
    return min(cvxpy_one_vs_rest(W, k) for k in range(W.shape[1]))


def np_class_means(H, y, K):
    return np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)


def np_gnc1(H, y, K):
    """GNC1 = tr(Sigma_W Sigma_B^+) / K with Sigma_B = (1/K) sum_k mu_k mu_k^T (uncentred; paper, Section 2.2)."""
    M = np_class_means(H, y, K)
    R = H - M[:, y]
    SW = R @ R.T / H.shape[1]
    SB = M @ M.T / K
    return float(np.trace(SW @ np.linalg.pinv(SB, rcond=1e-10)) / K)


def np_gnc3(W, H, y, K):
    """GNC3 = (1/K) sum_k (1 - <w_k, mu_k / ||mu_k||>) (class means normalized; paper, Section 2.2)."""
    M = np_class_means(H, y, K)
    return float(np.mean(1.0 - np.sum(W * (M / np.linalg.norm(M, axis=0)), axis=0)))


def saved_run_features(run_dir, data, feature_dim):
    """Unit train features of the model saved in ``run_dir/checkpoint_last.pt``.

    The encoder's output normalized here (no code of ``fit``/``evaluate``); the
    model is rebuilt with an arbitrary seed, the weights come from the file.
    """
    import torch

    from spherecodes.train.loop import build_model

    state = torch.load(run_dir / "checkpoint_last.pt", weights_only=True)
    model = build_model(data, feature_dim=feature_dim, seed=12345)
    model.load_state_dict(state["model"])
    model.eval()
    with torch.no_grad():
        z = model.encoder(torch.as_tensor(data.x_train)).double().numpy()
    return (z / np.linalg.norm(z, axis=1, keepdims=True)).T


def check_saved_run(run_dir, data, feature_dim, row):
    """A table row of a training pipeline against the run folder it came from.

    GNC1 and GNC3 recomputed from ``W.npy`` and the checkpoint's features
    (float32 network: agreement to ~1e-5 relative), rho from ``W.npy`` by
    cvxpy; the last line of ``history.csv`` is the row.
    """
    import pytest

    W = np.load(run_dir / "W.npy", allow_pickle=False)
    K = data.num_classes
    assert W.shape == (feature_dim, K)
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=1e-6)
    H = saved_run_features(run_dir, data, feature_dim)
    y = np.asarray(data.y_train)
    assert float(row["gnc1"]) == pytest.approx(np_gnc1(H, y, K), rel=1e-4, abs=1e-8)
    assert float(row["gnc3"]) == pytest.approx(np_gnc3(W, H, y, K), rel=1e-4, abs=1e-8)
    rho = cvxpy_rho(W)
    for key in ("rho_learned", "gnc2", "rho_one_vs_rest"):
        if key in row:
            assert float(row[key]) == pytest.approx(rho, abs=1e-6)
    with open(run_dir / "history.csv", newline="") as fh:
        last = list(csv.DictReader(fh))[-1]
    for key in ("gnc1", "gnc2", "gnc3"):
        assert float(last[key]) == pytest.approx(float(row[key] if key in row else row["rho_learned"]), rel=1e-12)
