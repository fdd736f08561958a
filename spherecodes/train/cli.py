"""Command line: ``python -m spherecodes.train <experiment> [options]`` (also ``spherecodes train ...``).

Experiments (each writes a table (CSV + JSON) and a figure to ``--out``):

  temperature (a)   GNC1/2/3 and accuracy against tau (UFM and/or a network)
  assignment  (b)   d = 2, four classes: learned vs the 3 fixed cross-polytope assignments
  cmf         (c)   CMF vs learned classifier learning curves
  feature-dim (d)   test accuracy and rho against d with the Theorem 3.9 bounds
  temperature-study Figure 2 analog: GNC and accuracy vs tau over d and seeds (fixed tau and continuation)
  finetune          Section 5 analog: fine-tuning with a learned head vs the CMF classifier, ID and OOD

Single runs:

  ufm               one UFM solve (problem (2)); writes ufm.json and ufm.png
  fit               one network training run; writes history.csv/json, checkpoint, curves.png

Data are never downloaded: ``--dataset cifar10|cifar100|folder`` needs ``--data-root``.
``--threads`` defaults to ``auto``: 1 thread for the small encoders (mlp, cnn) or on machines
with at most 2 cores (measured on 2 shared cores: ``--threads 1`` trained the digits MLP
4-9x faster than torch's default of 2), torch's default otherwise.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

from ..cli import CLIError, _nonneg_int, _Parser, _positive_float, _positive_int
from ._common import choose_threads

EXPERIMENTS = {"a": "temperature", "b": "assignment", "c": "cmf", "d": "feature-dim"}


def _floats(text):
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _ints(text):
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _threads(text):
    if text == "auto":
        return text
    return _positive_int(text)


def _items(text):
    out = []
    for t in text.split(","):
        t = t.strip()
        if t:
            out.append(int(t) if t.lstrip("-").isdigit() else t)
    return tuple(out)


def _common(p, *, out):
    p.add_argument("--out", default=out, help="output folder")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    p.add_argument("--amp", action="store_true", help="bfloat16 mixed precision for the encoder")
    p.add_argument("--threads", type=_threads, default="auto",
                   help="torch CPU threads: an integer or 'auto' (1 for mlp/cnn or <= 2 cores; else torch's default)")
    p.add_argument("--progress", action="store_true", help="show tqdm progress bars")


def _data_args(p, *, dataset="digits", encoder=None, epochs=30, lr=None, batch_size=128):
    p.add_argument("--dataset", default=dataset, choices=["digits", "synthetic", "cifar10", "cifar100", "folder"],
                   help="digits and synthetic ship with the package; the others need --data-root")
    p.add_argument("--data-root", default=None, help="local folder for cifar10/cifar100/folder (never downloaded)")
    p.add_argument("--synthetic-K", type=_positive_int, default=100, help="classes of the synthetic dataset")
    p.add_argument("--encoder", default=encoder, choices=[None, "mlp", "cnn", "resnet18"], metavar="{mlp,cnn,resnet18}",
                   help="feature extractor (None: mlp for digits and synthetic, resnet18 for images)")
    p.add_argument("--epochs", type=_positive_int, default=epochs)
    p.add_argument("--batch-size", type=_positive_int, default=batch_size)
    p.add_argument("--lr", type=_positive_float, default=lr,
                   help="learning rate (None: Adam 1e-2 for mlp/cnn, 1e-3 for resnet18; SGD 0.05)")


def _nonneg_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return v


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions as written, and every option's default in its help line."""


class _TrainParser(_Parser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        # every option lists its default, also those whose name says all there is to say
        if args and str(args[0]).startswith("-") and kwargs.get("help") is None:
            kwargs["help"] = _OPTION_HELP.get(args[0], "")
        return super().add_argument(*args, **kwargs)


_OPTION_HELP = {
    "--d": "feature dimension", "--K": "number of classes", "--n": "features per class",
    "--tau": "temperature of the cross-entropy loss (1)", "--steps": "Adam steps",
    "--lr": "learning rate", "--polish": "L-BFGS polish iterations at the final tau",
    "--seed": "random seed", "--epochs": "training epochs", "--batch-size": "minibatch size",
    "--feature-dim": "feature dimension d of the encoder output", "--taus": "comma-separated temperatures",
    "--ufm-d": "UFM feature dimension", "--ufm-K": "UFM classes", "--ufm-n": "UFM features per class",
    "--ufm-restarts": "UFM random restarts", "--ufm-steps": "UFM Adam steps",
    "--weight-decay": "weight decay", "--gnc-every": "epochs between two GNC evaluations",
    "--softmax-restarts": "restarts of the Softmax Code reference", "--synthetic-K": "classes of the synthetic dataset",
    "--softmax-time-limit": "seconds for the Softmax Code reference",
    "--seeds": "comma-separated random seeds", "--dims": "comma-separated feature dimensions",
    "--classifier": "learned (normalized weights), fixed (the code in --code) or cmf (class-mean features)",
    "--optimizer": "adam (AdamW with weight decay) or sgd; cosine decay over the epochs",
    "--augment": "random flips and 4-pixel crops (image inputs)",
    "--checkpoint-every": "also keep a checkpoint every this many epochs (0: only the final one)",
    "--classifier-lr-scale": "learned classifier's learning rate relative to --lr",
    "--anneal-from": "temperature continuation: start tau here and run it down",
    "--pretrain-epochs": "epochs of pre-training", "--finetune-epochs": "epochs of fine-tuning",
    "--finetune-lr": "learning rate of fine-tuning",
}


def build_parser():
    parser = _TrainParser(prog="spherecodes train", description=__doc__.replace("``", ""))  # no RST on a terminal
    sub = parser.add_subparsers(dest="command", required=True, metavar="experiment", parser_class=_TrainParser)

    p = sub.add_parser("temperature", aliases=["a"], help="(a) GNC against temperature")
    _common(p, out="runs/temperature")
    _data_args(p, encoder="mlp")
    p.add_argument("--source", default="both", choices=["ufm", "network", "both"],
                   help="the UFM (2), a trained network, or both")
    p.add_argument("--taus", type=_floats, default=(1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01))
    p.add_argument("--ufm-d", type=_positive_int, default=3)
    p.add_argument("--ufm-K", type=_positive_int, default=8)
    p.add_argument("--ufm-n", type=_positive_int, default=5)
    p.add_argument("--ufm-restarts", type=_positive_int, default=2)
    p.add_argument("--ufm-steps", type=_positive_int, default=1000)
    p.add_argument("--feature-dim", type=_positive_int, default=3)
    p.add_argument("--seed", type=_nonneg_int, default=0)

    p = sub.add_parser("assignment", aliases=["b"], help="(b) class assignment, d = 2, four classes")
    _common(p, out="runs/assignment")
    _data_args(p, batch_size=64)
    p.add_argument("--classes", type=_items, default=None, help="four classes (labels or names), comma-separated")
    p.add_argument("--seeds", type=_ints, default=(0, 1, 2))
    p.add_argument("--tau", type=_positive_float, default=0.1)

    p = sub.add_parser("cmf", aliases=["c"], help="(c) CMF vs learned classifier")
    _common(p, out="runs/cmf")
    _data_args(p)
    p.add_argument("--feature-dim", type=_positive_int, default=3)
    p.add_argument("--tau", type=_positive_float, default=0.1)
    p.add_argument("--momentum", type=_nonneg_float, default=0.9, help="CMF EMA momentum")
    p.add_argument("--seeds", type=_ints, default=(0, 1))

    p = sub.add_parser("feature-dim", aliases=["d"], help="(d) feature-dimension sweep with Theorem 3.9 bounds")
    _common(p, out="runs/feature_dim")
    _data_args(p, dataset="synthetic", epochs=20, batch_size=256)
    p.add_argument("--dims", type=_ints, default=(2, 3, 4, 6, 8, 12, 16))
    p.add_argument("--tau", type=_positive_float, default=0.1)
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument("--softmax-restarts", type=_positive_int, default=4,
                   help="restarts of softmax_code for the optimum column (0: skip it; slow for K ~ 100, d >= 6)")
    p.add_argument("--softmax-time-limit", type=_positive_float, default=60.0)

    p = sub.add_parser("temperature-study", help="Figure 2 analog over d, tau and seeds")
    _common(p, out="runs/temperature_study")
    _data_args(p, encoder="mlp", epochs=100)
    p.add_argument("--dims", type=_ints, default=(3, 4, 5))
    p.add_argument("--taus", type=_floats, default=(1.0, 0.3, 0.1, 0.03, 0.01, 0.003))
    p.add_argument("--seeds", type=_ints, default=(0, 1, 2))
    p.add_argument("--protocols", default="fixed,continuation",
                   help="comma-separated: fixed (tau throughout) and/or continuation (tau run down from --anneal-from)")
    p.add_argument("--anneal-from", type=_positive_float, default=1.0)
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    p.add_argument("--weight-decay", type=_nonneg_float, default=5e-4)
    p.add_argument("--augment", action="store_true")
    p.add_argument("--gnc-every", type=_positive_int, default=5)
    p.add_argument("--softmax-time-limit", type=_positive_float, default=60.0)
    p.add_argument("--no-ufm-reference", action="store_true", help="skip the UFM (2) solve at each (d, tau)")

    p = sub.add_parser("finetune", help="Section 5 analog: learned head vs CMF when fine-tuning, ID and OOD")
    _common(p, out="runs/finetune")
    p.add_argument("--seeds", type=_ints, default=(0, 1, 2, 3, 4))
    p.add_argument("--feature-dim", type=_positive_int, default=8)
    p.add_argument("--tau", type=_positive_float, default=0.1)
    p.add_argument("--pretrain-epochs", type=_positive_int, default=40)
    p.add_argument("--finetune-epochs", type=_positive_int, default=20)
    p.add_argument("--finetune-lr", type=_positive_float, default=1e-3)
    p.add_argument("--momentum", type=_nonneg_float, default=0.9, help="CMF EMA momentum")

    p = sub.add_parser("ufm", help="one UFM solve of problem (2)")
    _common(p, out="runs/ufm")
    p.add_argument("--d", type=_positive_int, default=3)
    p.add_argument("--K", type=_positive_int, default=12)
    p.add_argument("--n", type=_positive_int, default=4)
    p.add_argument("--tau", type=_positive_float, default=0.05,
                   help="temperature of the cross-entropy loss (1); below --anneal-from the Adam steps run tau "
                        "down from there to this value")
    p.add_argument("--anneal-from", type=_positive_float, default=0.1,
                   help="start of the temperature continuation (a value <= --tau: none)")
    p.add_argument("--steps", type=_positive_int, default=1000)
    p.add_argument("--lr", type=_positive_float, default=0.1)
    p.add_argument("--polish", type=_nonneg_int, default=300)
    p.add_argument("--seed", type=_nonneg_int, default=0)

    p = sub.add_parser("fit", help="one network training run")
    _common(p, out="runs/fit")
    _data_args(p, encoder="mlp")
    p.add_argument("--feature-dim", type=_positive_int, default=3)
    p.add_argument("--classifier", default="learned", choices=["learned", "fixed", "cmf"])
    p.add_argument("--code", default=None, help="for --classifier fixed: a .npy (d, K) or a SphereCode file")
    p.add_argument("--assignment", type=_ints, default=None, help="class k -> codeword assignment[k]")
    p.add_argument("--tau", type=_positive_float, default=0.1)
    p.add_argument("--momentum", type=_nonneg_float, default=0.9, help="CMF EMA momentum")
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    p.add_argument("--weight-decay", type=_nonneg_float, default=5e-4)
    p.add_argument("--augment", action="store_true")
    p.add_argument("--checkpoint-every", type=_nonneg_int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint_last.pt")
    p.add_argument("--image-size", type=_positive_int, default=32, help="--dataset folder: images resized to this")
    p.add_argument("--test-fraction", type=_positive_float, default=None,
                   help="--dataset folder without train/ and test/: held-out fraction per class")
    p.add_argument("--classifier-lr-scale", type=_positive_float, default=1.0)
    p.add_argument("--gnc-every", type=_positive_int, default=1)
    p.add_argument("--anneal-from", type=_positive_float, default=None,
                   help="temperature continuation: run tau down from this value over the first half of the epochs")
    p.add_argument("--anneal-lr-power", type=_positive_float, default=0.5,
                   help="during the continuation the learning rate is scaled by (tau_e / tau_0)^power")
    p.add_argument("--seed", type=_nonneg_int, default=0)
    return parser


def _load_code(path):
    import numpy as np

    if path.endswith(".npy"):
        return np.load(path)
    from spherecodes.code import SphereCode

    return SphereCode.load(path).W


def main(argv=None) -> int:
    """Entry point; returns the exit status (0 on success, 2 on bad input or missing data).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``), e.g. ``["ufm", "--d", "3", "--K", "8"]``.

    Returns
    -------
    int
        0 on success; 2 with a one-line message on standard error for bad
        input or missing data (nothing raised).

    See Also
    --------
    spherecodes.train.fit, spherecodes.train.temperature_study : what the subcommands run.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CLIError as exc:  # one line, exit 2 (the rest of the CLI's convention)
        print(str(exc), file=sys.stderr)
        return exc.status
    cmd = EXPERIMENTS.get(args.command, args.command)
    from ._common import require_torch

    torch = require_torch()
    threads = choose_threads(getattr(args, "encoder", None) or "mlp") if args.threads == "auto" else args.threads
    if threads is not None:
        torch.set_num_threads(threads)
    out = args.out
    t0 = time.perf_counter()
    try:
        results = _run(cmd, args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"spherecodes train: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - t0
    for res in results:
        print(f"== {res.name}: {len(res.rows)} rows -> {res.table}, figure {res.figure} ({res.seconds:.1f} s)")
        if res.extra.get("summary"):
            print(res.extra["summary"])
        else:
            _print_rows(res.rows)
    print(f"== summary: {len(results)} experiment(s), wall time {wall:.1f} s, torch threads "
          f"{torch.get_num_threads()}; outputs in {os.path.abspath(out)}")
    return 0


def _print_rows(rows, limit=40):
    if not rows:
        return
    cols = [c for c in rows[0] if c not in ("lr", "test_loss")]
    print("  " + " | ".join(cols))
    for r in rows[:limit]:
        print("  " + " | ".join(f"{r.get(c):.4g}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols))
    if len(rows) > limit:
        print(f"  ... ({len(rows) - limit} more rows in the table)")


def _run(cmd, args):
    from . import experiments as ex

    common = {"device": args.device, "progress": args.progress}
    if cmd == "temperature":
        return ex.temperature_experiment(args.out, taus=args.taus, source=args.source, ufm_d=args.ufm_d,
                                         ufm_K=args.ufm_K, ufm_n=args.ufm_n, ufm_restarts=args.ufm_restarts,
                                         ufm_steps=args.ufm_steps, dataset=args.dataset, data_root=args.data_root,
                                         encoder=args.encoder or "mlp", feature_dim=args.feature_dim,
                                         epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                         synthetic_K=args.synthetic_K, seed=args.seed, amp=args.amp, **common)
    if cmd == "assignment":
        return [ex.assignment_experiment(args.out, dataset=args.dataset, classes=args.classes,
                                         data_root=args.data_root, seeds=args.seeds, encoder=args.encoder,
                                         tau=args.tau, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                         amp=args.amp, **common)]
    if cmd == "cmf":
        return [ex.cmf_experiment(args.out, dataset=args.dataset, data_root=args.data_root, encoder=args.encoder,
                                  feature_dim=args.feature_dim, tau=args.tau, momentum=args.momentum,
                                  seeds=args.seeds, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                  synthetic_K=args.synthetic_K, amp=args.amp, **common)]
    if cmd == "feature-dim":
        return [ex.feature_dim_experiment(args.out, dims=args.dims, dataset=args.dataset,
                                          synthetic_K=args.synthetic_K, data_root=args.data_root,
                                          encoder=args.encoder, tau=args.tau, epochs=args.epochs,
                                          batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                          softmax_restarts=args.softmax_restarts,
                                          softmax_time_limit=args.softmax_time_limit, amp=args.amp, **common)]
    if cmd == "temperature-study":
        from .studies import temperature_study

        return [temperature_study(args.out, dataset=args.dataset, data_root=args.data_root, dims=args.dims,
                                  taus=args.taus, seeds=args.seeds, protocols=tuple(args.protocols.split(",")),
                                  anneal_from=args.anneal_from, softmax_time_limit=args.softmax_time_limit,
                                  ufm_reference=not args.no_ufm_reference, encoder=args.encoder or "mlp",
                                  epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                  optimizer=args.optimizer, weight_decay=args.weight_decay, augment=args.augment,
                                  gnc_every=args.gnc_every, amp=args.amp, **common)]
    if cmd == "finetune":
        from .studies import finetune_study

        return [finetune_study(args.out, seeds=args.seeds, feature_dim=args.feature_dim, tau=args.tau,
                               pretrain_epochs=args.pretrain_epochs, finetune_epochs=args.finetune_epochs,
                               finetune_lr=args.finetune_lr, cmf_momentum=args.momentum, **common)]
    if cmd == "ufm":
        return [_run_ufm(args)]
    if cmd == "fit":
        return [_run_fit(args)]
    raise ValueError(f"unknown experiment {cmd!r}")  # pragma: no cover - argparse rejects it first


def _run_ufm(args):
    from ._common import atomic_write_json
    from .experiments import ExperimentResult
    from .plots import plot_ufm_run
    from .ufm import reference_optima, train_ufm

    t0 = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    r = train_ufm(args.d, args.K, args.n, args.tau, steps=args.steps, lr=args.lr, polish=args.polish,
                  seed=args.seed, device=args.device, progress=args.progress, anneal_from=args.anneal_from)
    softmax_rho, hardmax_rho, _ = reference_optima(args.d, args.K, args.n, seed=0)
    row = {"d": args.d, "K": args.K, "n": args.n, "tau": args.tau, "loss": r.final_loss,
           "log_loss": r.final_log_loss,
           "rho_one_vs_rest": r.rho_one_vs_rest, "gnc1": r.gnc1, "gnc3": r.gnc3,
           "softmax_code_rho": softmax_rho, "hardmax_rho": hardmax_rho, "seconds": r.seconds}
    table = os.path.join(args.out, "ufm.json")
    atomic_write_json(table, {"result": row, "W": r.W, "history": r.history})
    fig = os.path.join(args.out, "ufm.png")
    plot_ufm_run(r, fig, optimum=softmax_rho, title=f"UFM d={args.d} K={args.K} n={args.n} tau={args.tau:g}")
    return ExperimentResult("ufm", [row], table, fig, time.perf_counter() - t0)


def _run_fit(args):
    from .data import load_dataset
    from .experiments import ExperimentResult
    from .loop import fit

    t0 = time.perf_counter()     # the whole run, data loading included, as for the other subcommands
    encoder = args.encoder or ("mlp" if args.dataset in ("digits", "synthetic") else "resnet18")
    data = load_dataset(args.dataset, root=args.data_root, image=encoder != "mlp", K=args.synthetic_K,
                        image_size=args.image_size, test_fraction=args.test_fraction)
    code = _load_code(args.code) if args.code else None
    r = fit(data, encoder=encoder, feature_dim=args.feature_dim, classifier=args.classifier, tau=args.tau, code=code,
            assignment=args.assignment, cmf_momentum=args.momentum, epochs=args.epochs, batch_size=args.batch_size,
            optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay, augment=args.augment,
            seed=args.seed, device=args.device, amp=args.amp, out_dir=args.out,
            checkpoint_every=args.checkpoint_every, resume=args.resume, progress=args.progress,
            classifier_lr_scale=args.classifier_lr_scale, gnc_every=args.gnc_every, anneal_from=args.anneal_from,
            anneal_lr_power=args.anneal_lr_power)
    last = r.history[-1]
    print(f"final: train {100 * r.train_acc:.2f}% test {100 * r.test_acc:.2f}% GNC1 {last['gnc1']:.3g} "
          f"GNC2 {last['gnc2']:.4f} GNC3 {last['gnc3']:.3g}")
    print(f"throughput {r.samples_per_second:.0f} samples/s on {r.config['device']}")
    return ExperimentResult("fit", r.history, os.path.join(args.out, "history.csv"),
                            os.path.join(args.out, "curves.png"), time.perf_counter() - t0)
