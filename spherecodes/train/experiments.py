"""The paper's experiments as functions writing a table (CSV + JSON) and a figure to ``out_dir``.

(a) :func:`temperature_experiment` - GNC against the temperature (Figure 2, Lemma 3.1), on the
    UFM and/or a full network.
(b) :func:`assignment_experiment` - class assignment with d = 2 and four classes: learned
    classifier against the three distinct fixed assignments of the cross-polytope (Figure 4).
(c) :func:`cmf_experiment` - CMF against learned classifier, learning curves (Figure 5).
(d) :func:`feature_dim_experiment` - test accuracy and rho against d with the Theorem 3.9 bounds
    (Figure 3).

Every function returns a small :class:`ExperimentResult` (rows, paths, wall time).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..bounds import theorem39_bounds
from ._common import as_rng, atomic_write_csv, atomic_write_json
from .data import load_dataset

# the three distinct assignments of 4 classes to the 2-D cross-polytope columns [e1, -e1, e2, -e2]
# (columns 0/1 and 2/3 are antipodal): which class sits opposite class 0
CROSS_POLYTOPE_ASSIGNMENTS = {
    "0-1 opposite, 2-3 opposite": (0, 1, 2, 3),
    "0-2 opposite, 1-3 opposite": (0, 2, 1, 3),
    "0-3 opposite, 1-2 opposite": (0, 2, 3, 1),
}


@dataclass
class ExperimentResult:
    """Rows of the experiment's table, the files written and the wall time in seconds.

    Attributes
    ----------
    name : str
        The experiment (the stem of its files).
    rows : list of dict
        The table, also written as ``<name>.csv`` and ``<name>.json``.
    table, figure : str
        Paths of the CSV table and the figure.
    seconds : float
        Wall time of the experiment.
    extra : dict
        Anything else the experiment reports (e.g. ``"summary"``, Markdown).

    See Also
    --------
    temperature_experiment, assignment_experiment, cmf_experiment, feature_dim_experiment
    spherecodes.train.temperature_study, spherecodes.train.finetune_study
    """

    name: str
    rows: list
    table: str
    figure: str
    seconds: float
    extra: dict = field(default_factory=dict)


def _finish(name, out_dir, rows, figure, t0, meta=None, extra=None):
    table = os.path.join(out_dir, f"{name}.csv")
    atomic_write_csv(table, rows)
    seconds = time.perf_counter() - t0
    atomic_write_json(os.path.join(out_dir, f"{name}.json"), {"experiment": name, "meta": meta or {},
                                                               "seconds": seconds, "rows": rows})
    return ExperimentResult(name=name, rows=rows, table=table, figure=figure, seconds=seconds, extra=extra or {})


def _cross_polytope_2d():
    return np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])


def _opposite_pairs(W):
    """For a (2, 4) code: the pairing of classes into most-distant pairs, e.g. '0-2, 1-3'."""
    G = W.T @ W
    best, best_val = None, np.inf
    for pairing in (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))):
        val = sum(G[a, b] for a, b in pairing)
        if val < best_val:
            best, best_val = pairing, val
    return ", ".join(f"{a}-{b}" for a, b in best)


# --------------------------------------------------------------------------- (a)
def temperature_experiment(out_dir, *, taus=(1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01), source="both", ufm_d=3, ufm_K=8,
                           ufm_n=5, ufm_restarts=2, ufm_steps=1000, dataset="digits", data_root=None, encoder="mlp",
                           feature_dim=3, epochs=30, batch_size=128, lr=None, synthetic_K=100, seed=0,
                           device="auto", amp=False, progress=False):
    """(a) GNC1/GNC2/GNC3 (and test accuracy for networks) against the temperature.

    ``source``: ``"ufm"`` (the UFM (2) solved at each tau, with the Softmax Code and HardMax
    references of Lemma 3.1), ``"network"`` (a normalized network on ``dataset``), or ``"both"``.
    Writes ``temperature_ufm.{csv,json,png}`` and/or ``temperature_network.{csv,json,png}``.

    Returns
    -------
    list of ExperimentResult
        One per source.

    Raises
    ------
    ValueError
        ``source`` not ``"ufm"``, ``"network"`` or ``"both"``; as :func:`~spherecodes.train.temperature_sweep`,
        as :func:`~spherecodes.train.data.load_dataset` and
        :func:`~spherecodes.train.fit` (a ``DataNotFoundError`` for a missing data folder).
    TypeError
        As :func:`~spherecodes.train.fit` (an option of the wrong type).

    See Also
    --------
    spherecodes.train.temperature_sweep : the UFM side.
    spherecodes.train.temperature_study : several d and seeds, summarized.

    References
    ----------
    Generalized Neural Collapse paper, Lemma 3.1 and Figure 2.
    """
    from .plots import plot_temperature

    if source not in ("ufm", "network", "both"):
        raise ValueError(f"source must be 'ufm', 'network' or 'both', got {source!r}")
    os.makedirs(out_dir, exist_ok=True)
    rng = as_rng(seed)
    results = []
    if source in ("ufm", "both"):
        from .ufm import temperature_sweep

        t0 = time.perf_counter()
        sw = temperature_sweep(ufm_d, ufm_K, ufm_n, taus, restarts=ufm_restarts, steps=ufm_steps, seed=rng,
                               device=device, progress=progress)
        fig = os.path.join(out_dir, "temperature_ufm.png")
        plot_temperature(sw.rows, fig, optimum=sw.softmax_optimum, hardmax=sw.hardmax_rho, accuracy=False,
                         title=f"UFM, d={ufm_d}, K={ufm_K}, n={ufm_n}")
        results.append(_finish("temperature_ufm", out_dir, sw.rows, fig, t0,
                               meta={"d": ufm_d, "K": ufm_K, "n": ufm_n, "restarts": ufm_restarts}))
    if source in ("network", "both"):
        from .loop import fit

        t0 = time.perf_counter()
        data = load_dataset(dataset, root=data_root, seed=0, image=encoder != "mlp", K=synthetic_K)
        rows = []
        for tau in taus:
            r = fit(data, encoder=encoder, feature_dim=feature_dim, classifier="learned", tau=tau, epochs=epochs,
                    batch_size=batch_size, lr=lr, seed=rng, device=device, amp=amp, progress=progress,
                    out_dir=os.path.join(out_dir, "runs", f"tau_{tau:g}"))
            rows.append({"tau": float(tau), "train_acc": r.train_acc, "test_acc": r.test_acc, "gnc1": r.gnc1,
                         "gnc2": r.gnc2, "rho_one_vs_rest": r.gnc2, "gnc3": r.gnc3, "seconds": r.seconds})
        optimum = _softmax_optimum(feature_dim, data.num_classes, seed=0)
        for row in rows:
            row["softmax_code_rho"] = optimum
        fig = os.path.join(out_dir, "temperature_network.png")
        plot_temperature(rows, fig, optimum=optimum,
                         title=f"{data.name}, {encoder}, d={feature_dim}, K={data.num_classes}, {epochs} epochs")
        results.append(_finish("temperature_network", out_dir, rows, fig, t0,
                               meta={"dataset": data.name, "encoder": encoder, "d": feature_dim, "epochs": epochs}))
    return results


def _softmax_optimum(d, K, *, seed=0, restarts=None, time_limit=None):
    from spherecodes.solvers import closed_form, softmax_code

    if closed_form(d, K) is not None:  # Theorem 3.3: nothing to search
        return float(softmax_code(d, K).rho_one_vs_rest)
    kw = {"seed": seed}
    if restarts is not None:
        kw["restarts"] = restarts
    if time_limit is not None:
        kw["time_limit"] = time_limit
    return float(softmax_code(d, K, **kw).rho_one_vs_rest)


# --------------------------------------------------------------------------- (b)
def assignment_experiment(out_dir, *, dataset="digits", classes=None, data_root=None, seeds=(0, 1, 2),
                          encoder=None, tau=0.1, epochs=30, batch_size=64, lr=None, device="auto", amp=False,
                          progress=False):
    """(b) d = 2, four classes: learned classifier vs the three fixed cross-polytope assignments.

    ``classes`` picks the four classes (labels or names); defaults: digits ``(1, 7, 3, 8)``
    (two visually similar pairs), CIFAR-10 ``("automobile", "truck", "cat", "dog")`` as in the paper.
    Each configuration is trained with every seed.  Table: one row per (configuration, seed)
    with test accuracy and, for learned classifiers, which classes ended up opposite.
    Figure: features and classifier of the first seed of each configuration (Figure 4 style).

    Returns
    -------
    ExperimentResult

    Raises
    ------
    ValueError
        ``classes`` that do not give exactly 4 classes (as
        :meth:`~spherecodes.train.ArrayDataset.subset`); as :func:`~spherecodes.train.data.load_dataset` and
        :func:`~spherecodes.train.fit` (a ``DataNotFoundError`` for a missing data folder).
    TypeError
        As :func:`~spherecodes.train.fit` (an option of the wrong type).

    See Also
    --------
    spherecodes.train.FixedClassifier : the fixed assignments.

    References
    ----------
    Generalized Neural Collapse paper, Section 4 and Figure 4 (the class assignment problem,
    Theorem 3.3's cross-polytope for d = 2, K = 4).
    """
    from .loop import fit
    from .plots import plot_assignment

    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    if classes is None:
        classes = ("automobile", "truck", "cat", "dog") if dataset == "cifar10" else (1, 7, 3, 8)
    if encoder is None:
        encoder = "mlp" if dataset in ("digits", "synthetic") else "resnet18"
    data = load_dataset(dataset, root=data_root, seed=0, image=encoder != "mlp").subset(classes)
    if data.num_classes != 4:
        raise ValueError(f"the assignment experiment needs exactly 4 classes, got {data.num_classes}")
    code = _cross_polytope_2d()
    configs = [("learned", None, None)] + [(f"fixed: {name}", code, a) for name, a in
                                           CROSS_POLYTOPE_ASSIGNMENTS.items()]
    rows, panels = [], []
    for label, W, assignment in configs:
        for s in seeds:
            r = fit(data, encoder=encoder, feature_dim=2, classifier="learned" if W is None else "fixed", code=W,
                    assignment=assignment, tau=tau, epochs=epochs, batch_size=batch_size, lr=lr, seed=int(s),
                    device=device, amp=amp, progress=progress, plot=False,
                    out_dir=os.path.join(out_dir, "runs", label.replace(": ", "_").replace(", ", "_")
                                         .replace(" ", "-") + f"_seed{s}"))
            rows.append({"classifier": label, "seed": int(s), "test_acc": r.test_acc, "train_acc": r.train_acc,
                         "opposite_pairs": _opposite_pairs(r.W), "gnc1": r.gnc1, "gnc2": r.gnc2, "gnc3": r.gnc3})
            if s == seeds[0]:
                panels.append({"H": r.H, "labels": r.labels, "W": r.W,
                               "title": f"{label}\ntest {100 * r.test_acc:.1f}%"})
    summary = []
    for label, _, _ in configs:
        accs = [r["test_acc"] for r in rows if r["classifier"] == label]
        summary.append({"classifier": label, "seed": "mean", "test_acc": float(np.mean(accs)),
                        "train_acc": float(np.mean([r["train_acc"] for r in rows if r["classifier"] == label])),
                        "test_acc_std": float(np.std(accs))})
    rows = rows + summary
    fig = os.path.join(out_dir, "assignment.png")
    names = [str(c) for c in data.class_names]
    plot_assignment(panels, fig, class_names=[f"{i}: {n}" for i, n in enumerate(names)],
                    title=f"{data.name}, d=2, tau={tau:g}")
    return _finish("assignment", out_dir, rows, fig, t0,
                   meta={"dataset": data.name, "classes": names, "tau": tau, "epochs": epochs,
                         "assignments": {k: list(v) for k, v in CROSS_POLYTOPE_ASSIGNMENTS.items()}})


# --------------------------------------------------------------------------- (c)
def cmf_experiment(out_dir, *, dataset="digits", data_root=None, encoder=None, feature_dim=3, tau=0.1,
                   momentum=0.9, seeds=(0, 1), epochs=30, batch_size=128, lr=None, synthetic_K=100, device="auto",
                   amp=False, progress=False):
    """(c) CMF against learned classifier: learning curves (Figure 5 style), several seeds.

    Writes ``cmf_vs_learned.{csv,json,png}`` and ``runs/`` (one folder per classifier and seed).

    Returns
    -------
    ExperimentResult
        One row per (classifier, seed, epoch) of the training histories.

    Raises
    ------
    ValueError
        As :func:`~spherecodes.train.data.load_dataset` and
        :func:`~spherecodes.train.fit` (a ``DataNotFoundError`` for a missing data folder).
    TypeError
        As :func:`~spherecodes.train.fit` (an option of the wrong type).

    See Also
    --------
    spherecodes.train.CMFClassifier : the class-mean-feature classifier.
    spherecodes.train.finetune_study : CMF for fine-tuning out of distribution.

    References
    ----------
    Generalized Neural Collapse paper, Section 5 and Figure 5.
    """
    from .loop import fit
    from .plots import plot_learning_curves

    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    if encoder is None:
        encoder = "mlp" if dataset in ("digits", "synthetic") else "resnet18"
    data = load_dataset(dataset, root=data_root, seed=0, image=encoder != "mlp", K=synthetic_K)
    curves, rows = {}, []
    for kind in ("learned", "cmf"):
        curves[kind] = []
        for s in seeds:
            r = fit(data, encoder=encoder, feature_dim=feature_dim, classifier=kind, cmf_momentum=momentum, tau=tau,
                    epochs=epochs, batch_size=batch_size, lr=lr, seed=int(s), device=device, amp=amp,
                    progress=progress, out_dir=os.path.join(out_dir, "runs", f"{kind}_seed{s}"))
            curves[kind].append(r.history)
            for h in r.history:
                rows.append({"classifier": kind, "seed": int(s), **h})
    fig = os.path.join(out_dir, "cmf_vs_learned.png")
    plot_learning_curves(curves, fig, title=f"{data.name}, {encoder}, d={feature_dim}, tau={tau:g}, "
                                            f"CMF momentum {momentum:g}")
    return _finish("cmf_vs_learned", out_dir, rows, fig, t0,
                   meta={"dataset": data.name, "encoder": encoder, "d": feature_dim, "tau": tau, "momentum": momentum})


# --------------------------------------------------------------------------- (d)
def feature_dim_experiment(out_dir, *, dims=(2, 3, 4, 6, 8, 12, 16), dataset="synthetic", synthetic_K=100,
                           data_root=None, encoder=None, tau=0.1, epochs=20, batch_size=256, lr=None, seed=0,
                           softmax_restarts=4, softmax_time_limit=60.0, device="auto", amp=False, progress=False):
    """(d) Test accuracy and rho one-vs-rest against the feature dimension, with Theorem 3.9 bounds.

    For every d: a network with a learned classifier is trained; the row has its accuracies,
    rho of its learned W, the Softmax Code optimum (``softmax_code`` with ``softmax_restarts``
    restarts; NaN when ``softmax_restarts=0``: for K ~ 100 and d >= 6 one
    restart takes minutes on a CPU, and ``softmax_time_limit`` only stops new restarts)
    and the Theorem 3.9 bounds (``theorem39_bounds``; ``bound_applicable`` says whether the
    hypothesis on K holds).

    Returns
    -------
    ExperimentResult

    Raises
    ------
    ValueError
        A dimension below 1 (for ``d = 1`` the bounds are NaN); as
        :func:`~spherecodes.train.data.load_dataset` and :func:`~spherecodes.train.fit`
        (a ``DataNotFoundError`` for a missing data folder).
    TypeError
        As :func:`~spherecodes.train.fit` (an option of the wrong type).

    See Also
    --------
    spherecodes.theorem39_bounds, spherecodes.dimension_bounds

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.9, eq. (13), and Figure 3.
    """
    from .loop import fit
    from .plots import plot_dimension_sweep

    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    if encoder is None:
        encoder = "mlp" if dataset in ("digits", "synthetic") else "resnet18"
    data = load_dataset(dataset, root=data_root, seed=0, image=encoder != "mlp", K=synthetic_K)
    K = data.num_classes
    rng = as_rng(seed)
    rows = []
    for d in dims:
        r = fit(data, encoder=encoder, feature_dim=int(d), classifier="learned", tau=tau, epochs=epochs,
                batch_size=batch_size, lr=lr, seed=rng, device=device, amp=amp, progress=progress,
                out_dir=os.path.join(out_dir, "runs", f"d{d}"))
        row = {"d": int(d), "K": K, "train_acc": r.train_acc, "test_acc": r.test_acc, "rho_learned": r.gnc2,
               "gnc1": r.gnc1, "gnc3": r.gnc3,
               "rho_softmax_code": (_softmax_optimum(int(d), K, seed=0, restarts=softmax_restarts,
                                                     time_limit=softmax_time_limit)
                                    if softmax_restarts else float("nan")),
               "bound_lower": float("nan"), "bound_upper": float("nan"), "bound_applicable": ""}
        if d >= 2:
            b = theorem39_bounds(int(d), K, warn=False)
            row.update(bound_lower=float(b.lower), bound_upper=float(b.upper),
                       bound_applicable=bool(b.applicable))
        row["seconds"] = r.seconds
        rows.append(row)
    fig = os.path.join(out_dir, "feature_dim.png")
    plot_dimension_sweep(rows, fig, title=f"{data.name}, {encoder}, K={K}, tau={tau:g}, {epochs} epochs")
    return _finish("feature_dim", out_dir, rows, fig, t0,
                   meta={"dataset": data.name, "encoder": encoder, "K": K, "tau": tau, "epochs": epochs})
