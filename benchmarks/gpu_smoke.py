#!/usr/bin/env python
"""GPU smoke test for spherecodes.train (under 5 minutes on one H100).

1. UFM temperature sweep at d=10, K=100, n=50 (problem (2), Adam with the temperature
   continuation + L-BFGS polish, float64) down to tau = 1e-3: rho one-vs-rest, GNC1, GNC3,
   tau * log(loss) (the loss itself underflows at small tau) and UFM steps per second.
2. A short full-network run on synthetic many-class data (K=1000, MLP, d=32),
   samples per second, and a few epochs of the CIFAR-style ResNet18 on synthetic
   32x32 images, with and without bfloat16 mixed precision (the speed-up is a ratio
   measured in the same run).

    python benchmarks/gpu_smoke.py                 # CUDA if available
    python benchmarks/gpu_smoke.py --quick         # tiny sizes; runs on a laptop CPU in ~1 minute
    python benchmarks/gpu_smoke.py --device cpu --quick --out runs/smoke
    python benchmarks/gpu_smoke.py --require-gpu   # exit 2 with a one-line message when no GPU

The full Figure 2 reproduction on CIFAR-100 is benchmarks/figure2_cifar100.py.

Writes smoke.json (all numbers) to --out.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from spherecodes.cli import ScriptParser, _positive_int


def main(argv=None):
    p = ScriptParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes (CPU testing)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="runs/gpu_smoke")
    p.add_argument("--threads", type=_positive_int, default=None, help="torch CPU threads")
    p.add_argument("--compare", action="store_true", help="also solve softmax_code(d, K) for the UFM reference")
    p.add_argument("--require-gpu", action="store_true", help="exit 2 at once when no CUDA GPU is visible")
    args = p.parse_args(argv)

    import torch

    if args.require_gpu and not torch.cuda.is_available():
        print("error: --require-gpu given but torch sees no CUDA GPU", file=sys.stderr)
        return 2

    from spherecodes.train._common import atomic_write_json, resolve_device
    from spherecodes.train.data import ArrayDataset, synthetic_classes
    from spherecodes.train.loop import fit
    from spherecodes.train.ufm import reference_optima, train_ufm

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    cuda = dev.type == "cuda"
    name = torch.cuda.get_device_name(dev) if cuda else "cpu"
    print(f"device: {dev} ({name}); torch {torch.__version__}; quick={args.quick}", flush=True)
    report = {"device": str(dev), "device_name": name, "quick": args.quick}
    t_all = time.perf_counter()

    # ------------------------------------------------------------ 1. UFM sweep
    if args.quick:
        d, K, n, taus, steps, polish = 3, 12, 4, (0.5, 0.05, 1e-3), 300, 200
    else:
        d, K, n, taus, steps, polish = 10, 100, 50, (1.0, 0.5, 0.2, 0.1, 0.05, 0.01, 1e-3), 2000, 500
    ref = float("nan")
    if args.compare:
        ref, _, _ = reference_optima(d, K, n, seed=0)
    print(f"\n[1] UFM sweep d={d} K={K} n={n} (N={n * K}), {steps} Adam steps + <= {polish} L-BFGS iterations")
    print(f"{'tau':>6} {'tau*logL':>11} {'rho':>9} {'gnc1':>9} {'gnc3':>9} {'steps/s':>9}")
    rows = []
    for tau in taus:
        r = train_ufm(d, K, n, tau, steps=steps, polish=polish, seed=0, device=dev, record_every=steps)
        sps = len(r.loss) / r.seconds
        rows.append({"tau": tau, "loss": r.final_loss, "log_loss": r.final_log_loss, "rho": r.rho_one_vs_rest,
                     "gnc1": r.gnc1, "gnc3": r.gnc3, "steps_per_s": sps, "seconds": r.seconds})
        print(f"{tau:6g} {tau * r.final_log_loss:11.5f} {r.rho_one_vs_rest:9.5f} {r.gnc1:9.2e} {r.gnc3:9.2e} {sps:9.0f}",
              flush=True)
    if np.isfinite(ref):
        print(f"softmax_code({d}, {K}) rho = {ref:.5f}")
    report["ufm"] = {"d": d, "K": K, "n": n, "softmax_code_rho": ref, "rows": rows}

    # ------------------------------------------------------------ 2. networks
    if args.quick:
        Kn, per, width, epochs, bs = 50, 10, (128, 128), 2, 128
    else:
        Kn, per, width, epochs, bs = 1000, 50, (1024, 1024), 3, 1024
    data = synthetic_classes(Kn, input_dim=64, n_train=per, n_test=max(2, per // 5), noise=0.7, seed=0)
    print(f"\n[2a] MLP{width} d=32 on synthetic K={Kn}, N={len(data.y_train)}, {epochs} epochs, batch {bs}")
    r = fit(data, encoder="mlp", encoder_kwargs={"hidden": width}, feature_dim=32, tau=0.1, epochs=epochs,
            batch_size=bs, seed=0, device=dev, amp=cuda, gnc_every=epochs, rho_max_classes=1000)
    print(f"  test acc {r.test_acc:.3f}, train acc {r.train_acc:.3f}, GNC1 {r.gnc1:.3g}, GNC2 {r.gnc2:.4g}, "
          f"GNC3 {r.gnc3:.3g}; {r.samples_per_second:.0f} samples/s", flush=True)
    report["mlp"] = {"K": Kn, "test_acc": r.test_acc, "samples_per_s": r.samples_per_second, "gnc1": r.gnc1,
                     "gnc2": r.gnc2, "gnc3": r.gnc3}

    if args.quick:
        Ki, per_i, epochs_i, bs_i, rn_width = 10, 16, 1, 32, 8
    else:
        Ki, per_i, epochs_i, bs_i, rn_width = 100, 100, 2, 256, 64
    img = synthetic_classes(Ki, input_dim=3 * 32 * 32, n_train=per_i, n_test=max(2, per_i // 5), noise=1.0, seed=1)
    img = ArrayDataset(img.x_train.reshape(-1, 3, 32, 32), img.y_train, img.x_test.reshape(-1, 3, 32, 32),
                       img.y_test, img.num_classes, img.class_names, "synthetic-images")
    report["resnet18"] = {}
    for amp in ((False, True) if cuda else (False,)):
        print(f"\n[2b] ResNet18(width {rn_width}) d=10 on synthetic 32x32 images K={Ki}, N={len(img.y_train)}, "
              f"{epochs_i} epochs, batch {bs_i}, amp={amp}")
        r = fit(img, encoder="resnet18", encoder_kwargs={"width": rn_width}, feature_dim=10, tau=0.1,
                epochs=epochs_i, batch_size=bs_i, optimizer="sgd", seed=0, device=dev, amp=amp, augment=True)
        print(f"  test acc {r.test_acc:.3f}, GNC1 {r.gnc1:.3g}, GNC3 {r.gnc3:.3g}; {r.samples_per_second:.0f} images/s",
              flush=True)
        report["resnet18"]["amp" if amp else "fp32"] = {"images_per_s": r.samples_per_second, "test_acc": r.test_acc}
    if cuda:
        ratio = report["resnet18"]["amp"]["images_per_s"] / report["resnet18"]["fp32"]["images_per_s"]
        print(f"  bf16 autocast / fp32 throughput ratio (same run): {ratio:.2f}")
        report["resnet18"]["amp_speedup"] = ratio

    report["seconds"] = time.perf_counter() - t_all
    os.makedirs(args.out, exist_ok=True)
    atomic_write_json(os.path.join(args.out, "smoke.json"), report)
    print(f"\ntotal {report['seconds']:.1f} s; wrote {os.path.join(args.out, 'smoke.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
