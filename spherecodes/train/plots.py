"""Matplotlib figures in the style of the paper (Figures 2, 3, 4 and 5). All saved atomically."""
from __future__ import annotations

import numpy as np

from ._common import atomic_savefig


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _finite(v):
    v = np.asarray(v, dtype=float)
    return np.isfinite(v)


def _logplot(ax, x, y, **kw):
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    m = np.isfinite(y)
    ax.plot(x[m], np.maximum(np.abs(y[m]), 1e-16), **kw)
    ax.set_yscale("log")


def _save_against_tau(plt, fig, axes, path, title, *, dpi):
    """Log temperature axes, the title, an atomic save and close: the end of every figure against tau."""
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(r"temperature $\tau$")
    fig.suptitle(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=dpi)
    plt.close(fig)


def plot_training_curves(history, path, *, title=""):
    """Per-epoch GNC1, GNC2 (rho), GNC3 and train/test accuracy of one run (Figure 2 columns over epochs)."""
    plt = _plt()
    ep = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    _logplot(axes[0], ep, [r["gnc1"] for r in history], marker="o", ms=3)
    axes[0].set_title("GNC1")
    g2 = np.array([r["gnc2"] for r in history], float)
    axes[1].plot(np.asarray(ep)[_finite(g2)], g2[_finite(g2)], marker="o", ms=3)
    axes[1].set_title(r"GNC2: $\rho_{one-vs-rest}(W)$")
    _logplot(axes[2], ep, [r["gnc3"] for r in history], marker="o", ms=3)
    axes[2].set_title("GNC3")
    axes[3].plot(ep, [100 * r["train_acc"] for r in history], label="train")
    axes[3].plot(ep, [100 * r["test_acc"] for r in history], label="test")
    axes[3].set_title("accuracy (%)")
    axes[3].legend()
    for ax in axes:
        ax.set_xlabel("epoch")
    fig.suptitle(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def plot_temperature(rows, path, *, optimum=None, hardmax=None, title="", accuracy=True):
    """Figure-2 style: GNC1, GNC2 against the optimum, GNC3 and test accuracy against tau.

    ``rows``: dicts with ``tau``, ``gnc1``, ``rho_one_vs_rest`` (or ``gnc2``), ``gnc3`` and
    optionally ``test_acc``; ``optimum``/``hardmax`` are drawn as horizontal lines when finite.
    """
    plt = _plt()
    taus = np.array([r["tau"] for r in rows], float)
    order = np.argsort(taus)
    taus = taus[order]

    def col(*names):
        for n in names:
            if n in rows[0]:
                return np.array([rows[i][n] for i in order], float)
        return None

    acc = col("test_acc")
    panels = 4 if (accuracy and acc is not None) else 3
    fig, axes = plt.subplots(1, panels, figsize=(3.8 * panels, 3.4))
    _logplot(axes[0], taus, col("gnc1"), marker="o")
    axes[0].set_title("GNC1")
    axes[1].plot(taus, col("rho_one_vs_rest", "gnc2"), marker="o", label="learned W")
    if optimum is not None and np.isfinite(optimum):
        axes[1].axhline(optimum, color="k", ls="--", label="Softmax Code (optimal)")
    if hardmax is not None and np.isfinite(hardmax):
        axes[1].axhline(hardmax, color="tab:red", ls=":", label="HardMax solution")
    axes[1].set_title(r"GNC2: $\rho_{one-vs-rest}(W)$")
    axes[1].legend(fontsize=8)
    _logplot(axes[2], taus, col("gnc3"), marker="o")
    axes[2].set_title("GNC3")
    if panels == 4:
        axes[3].plot(taus, 100 * acc, marker="o", label="test")
        tr = col("train_acc")
        if tr is not None:
            axes[3].plot(taus, 100 * tr, marker="s", label="train")
        axes[3].set_title("accuracy (%)")
        axes[3].legend(fontsize=8)
    _save_against_tau(plt, fig, axes, path, title, dpi=110)


def plot_learning_curves(runs, path, *, title=""):
    """Figure-5 style: train (dashed) and test (solid) accuracy per epoch for several labelled runs.

    ``runs``: dict label -> list of history rows (or list of such lists: several seeds,
    drawn as mean with a min-max band).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (label, hist) in enumerate(runs.items()):
        hists = hist if hist and isinstance(hist[0], list) else [hist]
        ep = np.array([r["epoch"] for r in hists[0]])
        for key, ls in (("train_acc", "--"), ("test_acc", "-")):
            v = 100 * np.array([[r[key] for r in h] for h in hists], float)
            ax.plot(ep, v.mean(0), ls=ls, color=f"C{i}", label=f"{label} ({key.split('_')[0]})")
            if len(hists) > 1:
                ax.fill_between(ep, v.min(0), v.max(0), color=f"C{i}", alpha=0.15)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def plot_assignment(panels, path, *, class_names=None, title=""):
    """Figure-4 style: 2-D unit features (dots) and classifier columns (arrows), one panel per run.

    ``panels``: list of dicts with ``H`` (2, N), ``labels`` (N,), ``W`` (2, K) and ``title``.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6), squeeze=False)
    t = np.linspace(0, 2 * np.pi, 200)
    for ax, p in zip(axes[0], panels):
        H, y, W = np.asarray(p["H"]), np.asarray(p["labels"]), np.asarray(p["W"])
        ax.plot(np.cos(t), np.sin(t), color="0.85", lw=0.8)
        for k in range(W.shape[1]):
            m = y == k
            name = class_names[k] if class_names else str(k)
            ax.scatter(H[0, m], H[1, m], s=6, color=f"C{k}", alpha=0.5, label=name)
            ax.annotate("", xy=(W[0, k], W[1, k]), xytext=(0, 0),
                        arrowprops=dict(arrowstyle="->", color=f"C{k}", lw=2))
        ax.set_aspect("equal")
        ax.set_xlim(-1.25, 1.25)
        ax.set_ylim(-1.25, 1.25)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(p.get("title", ""), fontsize=9)
    axes[0][0].legend(fontsize=7, loc="lower left", markerscale=2)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def plot_dimension_sweep(rows, path, *, title=""):
    """Figure-3 style: rho of the learned W, Softmax Code optimum and Theorem 3.9 bounds (left axis),
    train/test accuracy (right axis) against the feature dimension d."""
    plt = _plt()
    d = np.array([r["d"] for r in rows], float)

    def col(n):
        return np.array([r.get(n, np.nan) for r in rows], float)

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(d, col("rho_learned"), "o-", color="C0", label=r"$\rho$ learned W")
    for name, style, label in (("rho_softmax_code", "s--", r"$\rho$ Softmax Code"),
                               ("bound_lower", "v:", "Thm 3.9 lower"), ("bound_upper", "^:", "Thm 3.9 upper")):
        v = col(name)
        if np.any(np.isfinite(v)):
            m = np.isfinite(v)
            ax.plot(d[m], v[m], style, label=label)
    ax.set_xlabel("feature dimension d")
    ax.set_ylabel(r"$\rho_{one-vs-rest}$")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(d, 100 * col("test_acc"), "D-", color="C3", label="test acc")
    ax2.plot(d, 100 * col("train_acc"), "d--", color="C5", label="train acc")
    ax2.set_ylabel("accuracy (%)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def plot_ufm_run(result, path, *, optimum=None, title=""):
    """Loss and GNC metrics along one :func:`~spherecodes.train.ufm.train_ufm` run."""
    plt = _plt()
    h = result.history
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    log_loss = getattr(result, "log_loss", None)
    if log_loss is None:
        log_loss = np.log(np.maximum(result.loss, np.finfo(float).tiny))
    # tau * log(loss) stays O(1) at every temperature (about -rho at small tau); the loss
    # itself underflows to 0.0 once it is below ~1e-308
    taus = getattr(result, "taus", None)
    scale = np.asarray(taus, float) if taus is not None else result.tau
    axes[0].plot(np.arange(len(log_loss)), scale * np.asarray(log_loss))
    axes[0].set_title(r"$\tau \cdot \log$(CE loss)")
    _logplot(axes[1], h["step"], h["gnc1"], marker="o", ms=3)
    axes[1].set_title("GNC1")
    axes[2].plot(h["step"], h["gnc2"], marker="o", ms=3)
    if optimum is not None and np.isfinite(optimum):
        axes[2].axhline(optimum, color="k", ls="--")
    axes[2].set_title(r"GNC2: $\rho_{one-vs-rest}(W)$")
    _logplot(axes[3], h["step"], h["gnc3"], marker="o", ms=3)
    axes[3].set_title("GNC3")
    for ax in axes:
        ax.set_xlabel("step")
    fig.suptitle(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def plot_temperature_study(summary, path, *, optimum=None, title=""):
    """Figure-2 style over a grid: GNC1, GNC2 (with the Softmax Code optimum), GNC3, train and test
    accuracy against tau, one colour per d, solid for the continuation protocol, dashed for fixed tau.

    ``summary``: rows of :func:`spherecodes.train.studies.summarize` keyed by ``protocol``, ``d``,
    ``tau`` with ``<metric>_mean``/``_min``/``_max`` columns (and ``ufm_rho`` when available);
    markers are means, bars the range (min to max) over seeds.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 5, figsize=(21, 4.0))
    dims = sorted({r["d"] for r in summary})
    styles = {"fixed": dict(ls="--", marker="s", mfc="none"), "continuation": dict(ls="-", marker="o")}
    for i, d in enumerate(dims):
        color = f"C{i}"
        for proto, st in styles.items():
            rs = sorted((r for r in summary if r["d"] == d and r["protocol"] == proto), key=lambda r: r["tau"])
            if not rs:
                continue
            tau = np.array([r["tau"] for r in rs])
            for ax, m, scale in ((axes[0], "gnc1", 1), (axes[1], "gnc2", 1), (axes[2], "gnc3", 1),
                                 (axes[3], "train_acc", 100), (axes[4], "test_acc", 100)):
                mean = scale * np.array([r[f"{m}_mean"] for r in rs])
                lo = scale * np.array([r[f"{m}_min"] for r in rs])
                hi = scale * np.array([r[f"{m}_max"] for r in rs])
                if m in ("gnc1", "gnc3"):  # log axes: |.|, floored (GNC3 can be -1e-16)
                    mean, lo, hi = (np.maximum(np.abs(v), 1e-8) for v in (mean, lo, hi))
                    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
                yerr = np.vstack([np.maximum(mean - lo, 0), np.maximum(hi - mean, 0)])
                ax.errorbar(tau, mean, yerr=yerr, color=color, capsize=2, ms=4, label=f"d={d}, {proto}", **st)
        if optimum and d in optimum and np.isfinite(optimum[d]):
            axes[1].axhline(optimum[d], color=color, ls=":", lw=1.2)
        ufm = sorted(((r["tau"], r.get("ufm_rho", np.nan)) for r in summary
                      if r["d"] == d and r["protocol"] == summary[0]["protocol"]))
        if ufm and np.isfinite([u for _, u in ufm]).any():
            axes[1].plot([t for t, _ in ufm], [u for _, u in ufm], color=color, lw=0.8, marker="x", ms=4,
                         alpha=0.6, label=f"d={d}, UFM (2)")
    axes[0].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].set_title("GNC1")
    axes[1].set_title(r"GNC2: $\rho_{one-vs-rest}(W)$ (dotted: Softmax Code)")
    axes[2].set_title("GNC3")
    axes[3].set_title("train accuracy (%)")
    axes[4].set_title("test accuracy (%)")
    axes[1].legend(fontsize=6, ncol=1)
    _save_against_tau(plt, fig, axes, path, title, dpi=100)


def plot_finetune(rows, path, *, metrics, title=""):
    """Grouped bars (mean, error bar = std, dots = seeds) of accuracies per fine-tuning method."""
    plt = _plt()
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.9 * len(metrics) * len(methods) / 2 + 2, 3.8))
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        for j, metric in enumerate(metrics):
            v = 100 * np.array([r[metric] for r in rows if r["method"] == m], float)
            x = j + (i - (len(methods) - 1) / 2) * width
            ax.bar(x, v.mean(), width * 0.9, yerr=v.std(), color=f"C{i}", capsize=3,
                   label=m if j == 0 else None)
            ax.plot(np.full(v.size, x), v, "k.", ms=3)
    ax.set_xticks(range(len(metrics)))
    ax.set_xticklabels([m.replace("_acc", "").replace("_", " ") for m in metrics])
    ax.set_ylabel("accuracy (%)")
    lo = min(100 * r[m] for r in rows for m in metrics)
    ax.set_ylim(max(0, lo - 10), 100)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
