"""Multi-seed studies of the paper's empirical claims, each writing tables, a figure and a summary.

* :func:`temperature_study` - Figure 2 analog: a grid of feature dimensions, temperatures
  and seeds trained to the terminal phase, with GNC1, GNC2 against the Softmax Code
  optimum of (d, K) (computed once and cached in the output folder), GNC3, train and test
  accuracy against tau, for one or two training protocols (fixed tau as in the paper, and a
  temperature continuation).
* :func:`finetune_study` - Section 5 analog: an encoder pretrained on other classes is
  fine-tuned with a randomly initialized learned head or with the class-mean-feature (CMF)
  classifier; accuracy in distribution and on shifted copies of the same test images.

Both print one progress line per run (with an ETA) through ``log`` and end with a summary
table (mean +- std over seeds) in :attr:`ExperimentResult.extra` ``["summary"]``, also
written as ``<name>_summary.md``.  Finished runs are reused when a study is run again with
the same output folder (every run is checkpointed and resumed).
"""
from __future__ import annotations

import json
import os
import time

import numpy as np

from ..io import write_text_atomic
from ._common import atomic_write_csv, atomic_write_json, resolve_device
from .config import FitConfig
from .data import load_dataset
from .experiments import ExperimentResult, _finish

TAUS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)


def _log(line):
    """Default progress sink: stdout, flushed (progress stays visible when stdout is a file)."""
    print(line, flush=True)


# --------------------------------------------------------------------------- shared helpers
class _Progress:
    """One line per finished run: ``[i/n] label: metrics (run s, elapsed, ETA)``."""

    def __init__(self, total, log):
        self.total, self.log, self.done, self.t0 = total, log, 0, time.perf_counter()

    def __call__(self, label, text):
        self.done += 1
        el = time.perf_counter() - self.t0
        eta = el / self.done * (self.total - self.done)
        if self.log is not None:
            self.log(f"[{self.done}/{self.total}] {label}: {text} (elapsed {el / 60:.1f} min, ETA {eta / 60:.1f} min)")


def summarize(rows, keys, metrics):
    """Mean and standard deviation (over the remaining columns, e.g. seeds) of ``metrics`` per ``keys``.

    Parameters
    ----------
    rows : list of dict
    keys : sequence of str
        Columns that identify a group (first-seen order is kept).
    metrics : sequence of str

    Returns
    -------
    list of dict
        One row per group: the keys, ``n`` and ``<metric>_mean``, ``<metric>_std`` (population
        std, ``ddof=0``), ``<metric>_min``, ``<metric>_max``.
    """
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for g, rs in groups.items():
        row = dict(zip(keys, g))
        row["n"] = len(rs)
        for m in metrics:
            v = np.array([r[m] for r in rs], dtype=float)
            row[f"{m}_mean"], row[f"{m}_std"] = float(np.mean(v)), float(np.std(v))
            row[f"{m}_min"], row[f"{m}_max"] = float(np.min(v)), float(np.max(v))
        out.append(row)
    return out


def markdown_table(summary, keys, metrics, *, formats=None, percent=()):
    """A Markdown table of :func:`summarize` output: ``mean ± std`` per metric (percent for ``percent``)."""
    formats = formats or {}
    head = "| " + " | ".join(list(keys) + ["seeds"] + list(metrics)) + " |"
    sep = "|" + "|".join(["---"] * (len(keys) + 1 + len(metrics))) + "|"
    lines = [head, sep]
    for r in summary:
        cells = [f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in keys] + [str(r["n"])]
        for m in metrics:
            mean, std = r[f"{m}_mean"], r[f"{m}_std"]
            if m in percent:
                cells.append(f"{100 * mean:.1f} ± {100 * std:.1f}")
            else:
                f = formats.get(m, ".3g")
                cells.append(f"{mean:{f}} ± {std:{f}}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def cached_softmax_optimum(d, K, folder, *, time_limit=60.0, seed=0):
    """rho one-vs-rest of ``softmax_code(d, K, seed=seed, time_limit=time_limit)``, cached in ``folder``.

    The code is saved as ``softmax_code_d{d}_K{K}.npz`` (:meth:`SphereCode.save`) and read back
    with verification on later calls.  Where Theorem 3.3 gives the optimum the closed form is
    used; otherwise the value is the best code the search found in ``time_limit`` seconds: an
    achievable separation, i.e. a lower bound on the optimum.

    Returns
    -------
    (float, str)
        The value and how it was obtained (``"closed form"`` or ``"search, <time_limit> s"``).
    """
    from spherecodes.code import SphereCode
    from spherecodes.solvers import closed_form, softmax_code

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"softmax_code_d{d}_K{K}.npz")
    note = os.path.join(folder, f"softmax_code_d{d}_K{K}.json")
    if os.path.exists(path) and os.path.exists(note):
        with open(note) as fh:
            how = json.load(fh)["how"]
        return float(SphereCode.load(path).rho_one_vs_rest), how
    if closed_form(d, K) is not None:
        code, how = softmax_code(d, K), "closed form (Theorem 3.3)"
    else:
        code = softmax_code(d, K, seed=seed, time_limit=time_limit)
        how = f"best found by softmax_code(seed={seed}, time_limit={time_limit:g})"
    code.save(path)
    atomic_write_json(note, {"d": d, "K": K, "rho_one_vs_rest": code.rho_one_vs_rest, "how": how})
    return float(code.rho_one_vs_rest), how


# --------------------------------------------------------------------------- temperature
def temperature_study(out_dir, *, dataset="digits", data_root=None, data=None, dims=(3, 4, 5), taus=TAUS, seeds=(0, 1, 2),
                      protocols=("fixed", "continuation"), anneal_from=1.0, softmax_time_limit=60.0,
                      ufm_reference=True, device="auto", progress=False, log=_log, **fit_options):
    """GNC and accuracy against the temperature for several d and seeds (Figure 2 analog).

    Every (protocol, d, tau, seed) is one :func:`~spherecodes.train.loop.fit` run with a
    learned classifier.  Protocols: ``"fixed"`` trains at ``tau`` throughout (the paper's
    protocol); ``"continuation"`` runs the temperature down from ``anneal_from`` to ``tau``
    over the first half of the epochs (``FitConfig.anneal_from``; identical to ``"fixed"``
    when ``tau >= anneal_from``, so those runs are shared).

    Parameters
    ----------
    out_dir : path
        Receives ``temperature_study.{csv,json}`` (one row per run), ``temperature_study_summary.{csv,md}``,
        ``temperature_study.png``, the cached Softmax Codes and ``runs/`` (histories, checkpoints).
    dataset, data_root :
        As :func:`~spherecodes.train.data.load_dataset` (digits ships with scikit-learn).
    data : ArrayDataset or None
        Use these arrays instead of loading ``dataset`` (its name is kept for the report).
    dims, taus, seeds : sequences
    protocols : subset of ("fixed", "continuation")
    anneal_from : float
        Start temperature of the continuation.
    softmax_time_limit : float
        Seconds for each ``softmax_code(d, K)`` search (once per d; cached).
    ufm_reference : bool
        Also solve the UFM (2) at every (d, tau) (``n = 10`` samples per class, seed 0) for the
        separation the theory predicts at that temperature.
    **fit_options
        :class:`~spherecodes.train.config.FitConfig` options shared by all runs (``epochs``,
        ``encoder``, ``lr``, ``optimizer``, ``gnc_every``, ...).

    Returns
    -------
    ExperimentResult
        ``extra["summary"]`` is the Markdown summary (mean ± std over seeds).

    Raises
    ------
    ValueError
        A protocol other than ``"fixed"``/``"continuation"``, a missing
        device; as :func:`~spherecodes.train.fit` and
        :func:`~spherecodes.train.data.load_dataset`.
    TypeError
        An unknown fit option (the closest known one named) or one of the
        wrong type, as :meth:`~spherecodes.train.FitConfig.from_options`.

    See Also
    --------
    spherecodes.train.temperature_experiment : one run per temperature.
    spherecodes.train.temperature_sweep : the UFM at each temperature.

    References
    ----------
    Generalized Neural Collapse paper, Figure 2 and Lemma 3.1.
    """
    from .loop import fit
    from .plots import plot_temperature_study
    from .ufm import train_ufm

    for p in protocols:
        if p not in ("fixed", "continuation"):
            raise ValueError(f"protocols must be 'fixed' and/or 'continuation', got {p!r}")
    t0 = time.perf_counter()
    base = FitConfig.from_options(**fit_options)
    resolve_device(device)  # fail before any work when the device is missing
    if data is None:
        data = load_dataset(dataset, root=data_root, seed=0, image=base.encoder != "mlp")
    os.makedirs(out_dir, exist_ok=True)
    K = data.num_classes
    optimum = {}
    for d in dims:
        optimum[d] = cached_softmax_optimum(int(d), K, out_dir, time_limit=softmax_time_limit)
        if log:
            log(f"Softmax Code optimum for (d, K) = ({d}, {K}): rho = {optimum[d][0]:.6f} ({optimum[d][1]})")
    ufm = {}
    if ufm_reference:
        cache_path = os.path.join(out_dir, "ufm_reference.json")
        cache = {}
        if os.path.exists(cache_path):
            with open(cache_path) as fh:
                cache = json.load(fh)
        for d in dims:
            for tau in taus:
                key = f"d={int(d)},K={K},n=10,tau={float(tau)!r},seed=0"
                if key not in cache:
                    cache[key] = train_ufm(int(d), K, 10, float(tau), seed=0, device=device).rho_one_vs_rest
                ufm[(d, tau)] = cache[key]
        atomic_write_json(cache_path, cache)
    jobs = [(p, d, tau, s) for p in protocols for d in dims for tau in taus for s in seeds
            if not (p == "continuation" and tau >= anneal_from and "fixed" in protocols)]
    bar = _Progress(len(jobs), log)
    rows, histories = [], {}
    for p, d, tau, s in jobs:
        cfg = FitConfig.from_options(base, feature_dim=int(d), tau=float(tau),
                                     anneal_from=anneal_from if p == "continuation" else None)
        name = f"{p}_d{d}_tau{tau:g}_seed{s}"
        r = fit(data, cfg, seed=int(s), device=device, progress=progress, plot=False, resume=True,
                out_dir=os.path.join(out_dir, "runs", name))
        first = next((h["epoch"] for h in r.history if h["train_acc"] >= 1.0 and not np.isnan(h["gnc1"])), None)
        row = {"protocol": p, "d": int(d), "tau": float(tau), "seed": int(s), "train_acc": r.train_acc,
               "test_acc": r.test_acc, "gnc1": r.gnc1, "gnc2": r.gnc2, "gnc3": r.gnc3,
               "softmax_code_rho": optimum[d][0], "rho_gap": optimum[d][0] - r.gnc2,
               "ufm_rho": ufm.get((d, tau), float("nan")), "first_epoch_100": first if first else float("nan"),
               "epochs": cfg.epochs, "seconds": r.seconds}
        rows.append(row)
        histories[name] = r.history
        bar(name, f"train {100 * r.train_acc:.1f}% test {100 * r.test_acc:.1f}% GNC1 {r.gnc1:.2g} "
                  f"GNC2 {r.gnc2:.3f} (opt {optimum[d][0]:.3f}) GNC3 {r.gnc3:.2g}")
    # runs shared between the protocols (tau >= anneal_from) are listed under both
    if "continuation" in protocols and "fixed" in protocols:
        rows += [dict(r, protocol="continuation") for r in rows if r["protocol"] == "fixed" and r["tau"] >= anneal_from]
    order = {p: i for i, p in enumerate(protocols)}
    rows.sort(key=lambda r: (order[r["protocol"]], r["d"], -r["tau"], r["seed"]))
    metrics = ("train_acc", "test_acc", "gnc1", "gnc2", "gnc3", "rho_gap", "first_epoch_100")
    summary = summarize(rows, ("protocol", "d", "tau"), metrics)
    for srow in summary:
        srow["softmax_code_rho"] = optimum[srow["d"]][0]
        srow["ufm_rho"] = ufm.get((srow["d"], srow["tau"]), float("nan"))
    md = _temperature_markdown(summary, optimum, base, dataset, K, ufm_reference)
    atomic_write_csv(os.path.join(out_dir, "temperature_study_summary.csv"), summary)
    write_text_atomic(os.path.join(out_dir, "temperature_study_summary.md"), md)
    atomic_write_json(os.path.join(out_dir, "histories.json"), histories)
    fig = os.path.join(out_dir, "temperature_study.png")
    plot_temperature_study(summary, fig, optimum={d: v for d, (v, _) in optimum.items()},
                           title=f"{dataset}, {base.encoder}, K={K}, {base.epochs} epochs; "
                                 f"mean and range over {len(seeds)} seeds")
    meta = {"dataset": dataset, "K": K, "dims": list(dims), "taus": list(taus), "seeds": list(seeds),
            "protocols": list(protocols), "anneal_from": anneal_from, "config": base.asdict(),
            "softmax_code": {str(d): {"rho": v, "how": how} for d, (v, how) in optimum.items()}}
    return _finish("temperature_study", out_dir, rows, fig, t0, meta=meta, extra={"summary": md, "rows": summary})


def _temperature_markdown(summary, optimum, base, dataset, K, ufm_reference):
    lines = [f"{dataset}, K = {K}, encoder {base.encoder}, {base.epochs} epochs, optimizer {base.optimizer} "
             f"(lr {base.learning_rate:g}), batch {base.batch_size}, weight decay {base.weight_decay:g}. "
             "GNC2 = rho one-vs-rest of the learned classifier; gap = optimum - GNC2.", ""]
    for d, (v, how) in optimum.items():
        lines.append(f"- d = {d}: Softmax Code rho = {v:.6f} ({how})")
    lines.append("")
    keys = ("protocol", "d", "tau")
    metrics = ("train_acc", "test_acc", "gnc1", "gnc2", "gnc3", "rho_gap")
    table = markdown_table(summary, keys, metrics, formats={"gnc2": ".3f", "rho_gap": ".3f"},
                           percent=("train_acc", "test_acc"))
    if ufm_reference:
        # one more column: the UFM (2) solution's rho at the same (d, tau)
        tl = table.rstrip("\n").split("\n")
        tl[0] += " UFM rho |"
        tl[1] += "---|"
        for i, r in enumerate(summary):
            tl[i + 2] += f" {r['ufm_rho']:.3f} |"
        table = "\n".join(tl) + "\n"
    return "\n".join(lines) + "\n" + table


# --------------------------------------------------------------------------- fine-tuning
def paired_differences(rows, metrics, *, method="cmf", baseline="learned"):
    """Per-seed differences ``method - baseline`` of ``metrics`` (same seed = same pretrained encoder).

    Returns
    -------
    dict metric -> (mean, std (ddof=0), wins, ties, n)
    """
    by = {(r["method"], r["seed"]): r for r in rows}
    seeds = [s for (m, s) in by if m == method and (baseline, s) in by]
    out = {}
    for m in metrics:
        diff = np.array([by[(method, s)][m] - by[(baseline, s)][m] for s in seeds], dtype=float)
        out[m] = (float(diff.mean()), float(diff.std()), int((diff > 0).sum()), int((diff == 0).sum()), len(seeds))
    return out


def _paired_markdown(rows, metrics, method="cmf", baseline="learned"):
    pd = paired_differences(rows, metrics, method=method, baseline=baseline)
    lines = [f"Paired by seed ({method} - {baseline}, percentage points; wins/ties out of n seeds):", "",
             "| metric | mean ± std | wins | ties | n |", "|---|---|---|---|---|"]
    for m, (mean, std, wins, ties, n) in pd.items():
        lines.append(f"| {m} | {100 * mean:+.1f} ± {100 * std:.1f} | {wins} | {ties} | {n} |")
    return "\n".join(lines) + "\n"


def rotate_images(x, angles_deg, *, background):
    """Rotate square images ``x`` ``(N, H, W)`` or flat ``(N, H*W)`` by ``angles_deg`` ``(N,)`` degrees.

    Bilinear, same size, corners filled with ``background``.  Returns the same shape as ``x``.
    """
    from scipy.ndimage import rotate

    x = np.asarray(x, dtype=np.float32)
    flat = x.ndim == 2
    side = int(round(np.sqrt(x.shape[1]))) if flat else x.shape[-1]
    imgs = x.reshape(len(x), side, side)
    out = np.stack([rotate(im, float(a), reshape=False, order=1, mode="constant", cval=background)
                    for im, a in zip(imgs, angles_deg)])
    return out.reshape(x.shape).astype(np.float32)


def digits_transfer_tasks(*, source=(5, 6, 7, 8, 9), target=(0, 1, 2, 3, 4), pretrain_rotations=3,
                          max_angle=30.0, ood_angle=(15.0, 30.0), ood_noise=0.6, seed=0):
    """Pretraining and fine-tuning tasks built from scikit-learn's digits (no download).

    * pretraining: the ``source`` classes, each training image plus ``pretrain_rotations``
      copies rotated by uniform angles in ``[-max_angle, max_angle]`` (a pretrained feature map
      that has seen rotated digits);
    * fine-tuning (in distribution): the ``target`` classes, upright images, the usual split;
    * OOD test sets: the same target test images rotated by ``+-U(ood_angle)`` degrees, and
      with Gaussian noise of standard deviation ``ood_noise`` (inputs are standardized).

    Returns
    -------
    dict with ``pretrain``, ``target`` (ArrayDataset) and ``ood`` (dict name -> (x, y)).
    """
    from dataclasses import replace

    from ._common import as_rng
    from .data import load_digits

    rng = as_rng(seed)
    full = load_digits(seed=0)
    background = float(full.x_train.min())  # a blank pixel after standardization
    src = full.subset(source)
    xs, ys = [src.x_train], [src.y_train]
    for _ in range(pretrain_rotations):
        xs.append(rotate_images(src.x_train, rng.uniform(-max_angle, max_angle, len(src.y_train)),
                                background=background))
        ys.append(src.y_train)
    pretrain = replace(src, x_train=np.concatenate(xs), y_train=np.concatenate(ys),
                       name=f"digits{list(source)} + {pretrain_rotations} rotated copies")
    tgt = full.subset(target)
    tgt = replace(tgt, name=f"digits{list(target)}")
    n = len(tgt.y_test)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    angles = sign * rng.uniform(*ood_angle, n)
    ood = {"rotated": (rotate_images(tgt.x_test, angles, background=background), tgt.y_test),
           "noisy": ((tgt.x_test + ood_noise * rng.standard_normal(tgt.x_test.shape)).astype(np.float32),
                     tgt.y_test)}
    return {"pretrain": pretrain, "target": tgt, "ood": ood}


def finetune_study(out_dir, *, seeds=(0, 1, 2, 3, 4), feature_dim=8, tau=0.1, pretrain_epochs=40,
                   finetune_epochs=20, finetune_lr=1e-3, cmf_momentum=0.9, device="auto", progress=False, log=_log,
                   **task_options):
    """Fine-tuning out of distribution (paper Section 5, after Kumar et al. 2022) on digits.

    Per seed: an MLP encoder (``feature_dim``-dimensional unit features, learned classifier) is
    pretrained on the source classes with rotated copies (:func:`digits_transfer_tasks`).  Its
    encoder is then fine-tuned on the upright target classes twice, from the same weights:

    * ``learned``: a new randomly initialized learned classifier, trained with the encoder;
    * ``cmf``: the class-mean-feature classifier, initialized with the target class means of the
      pretrained features and updated as an EMA (``cmf_momentum``) of mini-batch class means.

    ``probe_cmf`` (no fine-tuning: pretrained features, target class means as classifier) is
    reported as a reference.  Accuracy is measured on the upright target test set (ID) and on its
    rotated and noisy copies (OOD).

    Returns
    -------
    ExperimentResult
        Rows: one per (method, seed) with ``id_acc``, ``ood_rotated_acc``, ``ood_noisy_acc``,
        ``train_acc``; ``extra["summary"]`` the Markdown summary (mean ± std over seeds).

    Raises
    ------
    ValueError, TypeError
        An option out of range or of the wrong type, as
        :class:`~spherecodes.train.FitConfig` and :func:`digits_transfer_tasks`.

    See Also
    --------
    spherecodes.train.cmf_experiment : CMF against learned classifiers in training.

    References
    ----------
    Generalized Neural Collapse paper, Section 5 (class-mean features for
    fine-tuning); A. Kumar, A. Raghunathan, R. Jones, T. Ma, P. Liang,
    "Fine-tuning can distort pretrained features and underperform
    out-of-distribution", ICLR 2022.
    """
    import copy

    from .classifiers import build_classifier
    from .loop import evaluate, fit
    from .models import NormalizedNet
    from .plots import plot_finetune

    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    tasks = digits_transfer_tasks(**task_options)
    pre, tgt, ood = tasks["pretrain"], tasks["target"], tasks["ood"]
    Kt = tgt.num_classes
    pre_cfg = FitConfig(feature_dim=feature_dim, tau=tau, epochs=pretrain_epochs)
    ft_cfg = FitConfig(feature_dim=feature_dim, tau=tau, epochs=finetune_epochs, lr=finetune_lr,
                       cmf_momentum=cmf_momentum)
    bar = _Progress(len(seeds) * 3, log)
    rows = []

    def measure(method, seed, model, train_acc):
        row = {"method": method, "seed": int(seed), "train_acc": train_acc}
        _, row["id_acc"], _ = evaluate(model, tgt.x_test, tgt.y_test)
        for name, (x, y) in ood.items():
            _, row[f"ood_{name}_acc"], _ = evaluate(model, x, y)
        rows.append(row)
        bar(f"{method} seed {seed}", f"ID {100 * row['id_acc']:.1f}% " + " ".join(
            f"{k[4:-4]} {100 * v:.1f}%" for k, v in row.items() if k.startswith("ood_")))

    for s in seeds:
        p = fit(pre, pre_cfg, seed=int(s), device=device, progress=progress, plot=False, resume=True,
                out_dir=os.path.join(out_dir, "runs", f"pretrain_seed{s}"))
        encoder = p.model.encoder
        H, _, _ = evaluate(NormalizedNet(encoder, p.model.classifier), tgt.x_train, tgt.y_train)
        means = np.stack([H[:, tgt.y_train == k].mean(axis=1) for k in range(Kt)], axis=1)
        probe = NormalizedNet(copy.deepcopy(encoder), build_classifier("fixed", feature_dim, Kt, tau, code=means))
        _, probe_train, _ = evaluate(probe, tgt.x_train, tgt.y_train)
        measure("probe_cmf", s, probe, probe_train)
        for method in ("learned", "cmf"):
            import torch

            gen = torch.Generator().manual_seed(int(s))
            clf = build_classifier(method, feature_dim, Kt, tau, momentum=cmf_momentum, generator=gen)
            if method == "cmf":
                with torch.no_grad():
                    clf.M.copy_(torch.as_tensor(means / np.linalg.norm(means, axis=0), dtype=clf.M.dtype))
            model = NormalizedNet(copy.deepcopy(encoder), clf)
            r = fit(tgt, FitConfig.from_options(ft_cfg, classifier=method), model=model, seed=int(s), device=device,
                    progress=progress, plot=False)
            measure(method, s, r.model, r.train_acc)
    metrics = ["train_acc", "id_acc"] + [f"ood_{k}_acc" for k in ood]
    summary = summarize(rows, ("method",), metrics)
    head = (f"Pretraining: {pre.name}, {pretrain_epochs} epochs; fine-tuning: {tgt.name} ({len(tgt.y_train)} "
            f"upright training images), {finetune_epochs} epochs, Adam lr {finetune_lr:g}; MLP encoder, "
            f"d = {feature_dim}, tau = {tau:g}; OOD: the {len(tgt.y_test)} target test images rotated / noisy. "
            f"Accuracy in %, mean ± std over seeds {list(seeds)}.\n\n")
    md = head + markdown_table(summary, ("method",), metrics, percent=metrics) + "\n" + _paired_markdown(rows, metrics)
    atomic_write_csv(os.path.join(out_dir, "finetune_summary.csv"), summary)
    write_text_atomic(os.path.join(out_dir, "finetune_summary.md"), md)
    fig = os.path.join(out_dir, "finetune.png")
    plot_finetune(rows, fig, metrics=metrics[1:], title=f"digits fine-tuning, d={feature_dim}, tau={tau:g}")
    meta = {"seeds": list(seeds), "feature_dim": feature_dim, "tau": tau, "pretrain": pre_cfg.asdict(),
            "finetune": ft_cfg.asdict(), "tasks": {k: (list(v) if isinstance(v, tuple) else v)
                                                   for k, v in task_options.items()}}
    return _finish("finetune", out_dir, rows, fig, t0, meta=meta, extra={"summary": md, "rows": summary})
