#!/usr/bin/env python
"""The paper's Figure 2 on CIFAR-100: a ResNet18 with d = 10 features trained at several temperatures.

GNC1, GNC2 (rho one-vs-rest of the learned classifier, against the Softmax Code of
(10, 100)), GNC3, train and test accuracy against tau, as
:func:`spherecodes.train.studies.temperature_study` (tables, figure and summary in --out).
Needs a CUDA GPU and CIFAR-100 in the python layout in a local folder (nothing is
downloaded); without either it stops at once with a one-line message and exit status 2.

    python benchmarks/figure2_cifar100.py --data-root ~/data/cifar-100-python --out runs/figure2_cifar100

Defaults: 200 epochs, SGD (lr 0.05, momentum 0.9, weight decay 5e-4, cosine decay),
batch 128, flips and crops, bfloat16 autocast, taus 1, 0.3, 0.1, 0.03, 0.01, 0.003,
seed 0, both protocols (fixed tau; continuation from tau = 1).  One epoch of ResNet18 on
CIFAR-100 is the unit of cost: 6 taus x 2 protocols - 1 shared run = 11 runs of 200 epochs.
Every run is checkpointed; running the same command again resumes where it stopped.
"""
from __future__ import annotations

import argparse
import os
import sys

from spherecodes import cli

TAUS = "1,0.3,0.1,0.03,0.01,0.003"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    p = cli.ScriptParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", required=True, help="folder with CIFAR-100's train, test, meta (python layout)")
    p.add_argument("--out", default="runs/figure2_cifar100")
    p.add_argument("--epochs", type=cli._positive_int, default=200)
    p.add_argument("--taus", type=cli.comma_list(cli._positive_float), default=TAUS)
    p.add_argument("--seeds", type=cli.comma_list(cli._nonneg_int), default="0")
    p.add_argument("--protocols", type=cli.comma_list(choices=("fixed", "continuation")),
                   default="fixed,continuation")
    p.add_argument("--batch-size", type=cli._positive_int, default=128)
    p.add_argument("--lr", type=cli._positive_float, default=0.05)
    p.add_argument("--softmax-time-limit", type=cli._positive_float, default=300.0)
    p.add_argument("--width", type=cli._positive_int, default=64, help="ResNet18 base width (64 as published)")
    p.add_argument("--allow-cpu", action="store_true", help="run without a GPU (only to test the plumbing)")
    args = p.parse_args(argv)

    try:
        import torch
    except ImportError:
        return _fail('PyTorch is not installed: pip install -e ".[train]"')
    cuda = torch.cuda.is_available()
    if not cuda and not args.allow_cpu:
        return _fail("no CUDA GPU visible to torch; this recipe needs one (--allow-cpu only tests the plumbing)")
    from spherecodes.train.data import DataNotFoundError, load_cifar100

    root = os.path.expanduser(args.data_root)
    try:
        data = load_cifar100(root)
    except DataNotFoundError as exc:
        first = str(exc).splitlines()[0]
        return _fail(f"CIFAR-100 (python layout: train, test, meta) not found under {root!r}; nothing is "
                     f"downloaded ({first})")

    from spherecodes.train.studies import temperature_study

    try:
        res = temperature_study(args.out, dataset="cifar100", data=data, dims=(10,), taus=tuple(args.taus),
                                seeds=tuple(args.seeds), protocols=tuple(args.protocols),
                                softmax_time_limit=args.softmax_time_limit, device="cuda" if cuda else "cpu",
                                encoder="resnet18", encoder_kwargs={"width": args.width}, epochs=args.epochs,
                                batch_size=args.batch_size, optimizer="sgd", lr=args.lr, weight_decay=5e-4,
                                augment=True, amp=cuda, gnc_every=5)
    except (ValueError, TypeError) as exc:
        return _fail(str(exc).splitlines()[0])
    print(res.extra["summary"])
    print(f"== figure {res.figure}; table {res.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
