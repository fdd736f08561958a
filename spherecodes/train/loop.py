"""Full-network training with normalized features and classifier (loss (1)).

:func:`fit` trains ``NormalizedNet(encoder, classifier)`` with CE on
``W^T h / tau`` and records, every epoch, the loss, train/test accuracy and the
GNC metrics of the train-set features (GNC1, GNC2 = rho one-vs-rest of the
classifier, GNC3).  With an ``out_dir`` it writes ``history.csv``,
``history.json`` (config + history), ``checkpoint_last.pt`` (every
``checkpoint_every`` epochs and at the end; also kept as ``checkpoint_epochN.pt``
at those epochs; ``resume=True`` continues from it), the final classifier ``W.npy``
(``(d, K)``, unit columns; ``spherecodes measure W.npy`` reads it) and ``curves.png``.
All writes are atomic.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .._validation import ArgumentTypeError, check_int
from ._common import (as_rng, atomic_save_npy, atomic_torch_save, atomic_write_csv, atomic_write_json,
                      require_torch, resolve_device, torch_seed)
from .config import FitConfig
from .data import ArrayDataset
from .ufm import continuation_schedule
from .metrics import gnc1 as _gnc1, gnc3 as _gnc3, rho_one_vs_rest as _rho


@dataclass
class FitResult:
    """Result of :func:`fit`.

    Attributes
    ----------
    history : list of dict
        One row per epoch: ``epoch, loss, train_acc, train_acc_running, test_acc, test_loss,
        gnc1, gnc2, gnc3, lr, seconds``
        (GNC columns are NaN on epochs where they were not computed).
    W : ndarray, shape (d, K)
        Final classifier (unit columns; for a fixed classifier, column k is the codeword of class k).
    H : ndarray, shape (d, N_train)
        Final unit train features (eval mode).
    labels : ndarray, shape (N_train,)
    train_acc, test_acc : float
        Final accuracies in [0, 1].
    gnc1, gnc2, gnc3 : float
        Final GNC metrics.
    model : torch.nn.Module
    config : dict
        The record saved in ``history.json`` and the checkpoints: ``settings.asdict()`` plus
        the dataset, the resolved ``lr``, ``seed`` and ``device``.
    out_dir : str or None
    seconds : float
        Training wall time (metrics excluded).
    samples_per_second : float
    settings : FitConfig
        The options the run used.

    See Also
    --------
    fit : the function that returns it.
    load_checkpoint : read back the checkpoints written with ``out_dir``.
    """

    history: list
    W: np.ndarray
    H: np.ndarray
    labels: np.ndarray
    train_acc: float
    test_acc: float
    gnc1: float
    gnc2: float
    gnc3: float
    model: object = None
    config: dict = field(default_factory=dict)
    out_dir: str | None = None
    seconds: float = 0.0
    samples_per_second: float = 0.0
    settings: FitConfig | None = None


def build_model(data_or_shape, num_classes=None, *, encoder="mlp", feature_dim=3, classifier="learned", tau=0.1,
                code=None, assignment=None, cmf_momentum=0.9, encoder_kwargs=None, seed=0):
    """``NormalizedNet`` for a dataset (or an input shape plus ``num_classes``). Reproducible from ``seed``.

    Parameters
    ----------
    data_or_shape : ArrayDataset or tuple of int
        A dataset, or the shape of one input (``(D,)`` vectors, ``(C, H, W)`` images).
    num_classes : int, optional
        K, ``>= 2``; required with a shape (a dataset says it).
    encoder, feature_dim, classifier, tau, cmf_momentum, encoder_kwargs
        As in :class:`FitConfig`.
    code : array_like, shape (d, K), optional, keyword-only
        The code of a ``"fixed"`` classifier.
    assignment : sequence of int, optional, keyword-only
        Class ``k`` uses column ``assignment[k]`` of ``code``.
    seed : None, int or numpy.random.Generator, keyword-only
        Initialization of the weights.

    Returns
    -------
    NormalizedNet
        ``model(x)`` returns ``(logits (B, K), unit features (B, d))``.

    Raises
    ------
    ValueError
        ``num_classes < 2``, ``feature_dim < 1``; an unknown encoder or
        classifier, image encoders on vector inputs, a fixed classifier
        without ``code``, as :func:`build_encoder` and :func:`build_classifier`;
        a bad seed (the solvers' message).
    TypeError
        ``num_classes`` or ``feature_dim`` not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    fit : trains it.
    """
    torch = require_torch()
    from .classifiers import build_classifier
    from .models import NormalizedNet, build_encoder

    if isinstance(data_or_shape, ArrayDataset):
        shape, K = data_or_shape.input_shape, data_or_shape.num_classes
    else:
        shape, K = tuple(data_or_shape), num_classes
    K = check_int(K, "num_classes", minimum=2)
    feature_dim = check_int(feature_dim, "feature_dim", minimum=1)
    rng = as_rng(seed)
    torch.manual_seed(torch_seed(rng))
    gen = torch.Generator().manual_seed(torch_seed(rng))
    enc = build_encoder(encoder, shape, feature_dim, **(encoder_kwargs or {}))
    clf = build_classifier(classifier, feature_dim, K, tau, code=code, assignment=assignment, momentum=cmf_momentum,
                           generator=gen)
    return NormalizedNet(enc, clf)


def _augment(torch, x, gen):
    """Random horizontal flip and 4-pixel pad-and-crop for image batches (B, C, H, W)."""
    B, _, Hh, Ww = x.shape
    flip = torch.rand(B, generator=gen, device="cpu") < 0.5
    x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
    pad = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    i, j = torch.randint(0, 9, (2,), generator=gen, device="cpu").tolist()
    return pad[:, :, i:i + Hh, j:j + Ww]


def evaluate(model, x, y, *, batch_size=1024, device=None, amp=False):
    """Return ``(H (d, N) float64 unit features, accuracy, mean CE loss)`` in eval mode.

    Parameters
    ----------
    model : NormalizedNet
        Any module returning ``(logits, features)``; put in eval mode.
    x : ndarray, shape (N, ...)
        Inputs.
    y : ndarray of int, shape (N,)
        Labels.
    batch_size : int, keyword-only
        Samples per forward pass.
    device : torch.device, optional, keyword-only
        Default: the device of the model's parameters.
    amp : bool, keyword-only
        bfloat16 autocast.

    Returns
    -------
    H : ndarray, shape (d, N), float64
        Unit features (columns).
    accuracy : float
        Fraction of ``y`` predicted, in ``[0, 1]``.
    loss : float
        Mean cross-entropy of the logits (nats).

    See Also
    --------
    spherecodes.train.gnc_metrics : the GNC metrics of ``H``.
    """
    torch = require_torch()
    dev = next(model.parameters()).device if device is None else device
    model.eval()
    feats, correct, loss_sum = [], 0, 0.0
    with torch.no_grad():
        for s in range(0, len(y), batch_size):
            xb = torch.as_tensor(x[s:s + batch_size], device=dev)
            yb = torch.as_tensor(y[s:s + batch_size], device=dev)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
                logits, h = model(xb)
            correct += int((logits.argmax(1) == yb).sum())
            loss_sum += float(torch.nn.functional.cross_entropy(logits.float(), yb, reduction="sum"))
            feats.append(h.double().cpu().numpy())
    H = np.concatenate(feats).T
    H /= np.linalg.norm(H, axis=0)
    return H, correct / max(1, len(y)), loss_sum / max(1, len(y))


def fit(data: ArrayDataset, config: FitConfig | dict | None = None, *, seed=0, device="auto", code=None,
        model=None, out_dir=None, progress=False, plot=True, resume=False, **options) -> FitResult:
    """Train a normalized network with CE loss (1) at temperature ``tau``.

    Parameters
    ----------
    data : ArrayDataset
    config : FitConfig, dict or None
        The training options (defaults: ``FitConfig()``); see :class:`~spherecodes.train.config.FitConfig`
        for every option and its default.
    **options
        Any :class:`~spherecodes.train.config.FitConfig` field (``encoder``, ``feature_dim``,
        ``classifier``, ``tau``, ``epochs``, ``lr``, ...), overriding ``config``:
        ``fit(data, tau=0.01, epochs=200)`` and ``fit(data, FitConfig(tau=0.01, epochs=200))``
        are the same run.
    seed : int or numpy.random.Generator
        Model initialization and data order.
    device : "auto", "cpu", "cuda", ...
    code : array_like (d, K) or None
        For ``classifier="fixed"``: the code, unit columns (class ``k`` uses column
        ``assignment[k]``).
    model : NormalizedNet or None
        Train this model instead of building one (e.g. a pretrained encoder with a new head).
    out_dir : path or None
        Where to write ``history.csv``/``history.json`` (config + history), checkpoints,
        ``W.npy`` and ``curves.png``.
    progress : bool
        tqdm bar over epochs.
    plot : bool
        Write ``curves.png`` (with ``out_dir``).
    resume : bool
        Continue from ``out_dir/checkpoint_last.pt`` when it exists (model, optimizer,
        schedule, data-order RNG and history are restored, so the run continues exactly).
        The checkpoint's configuration must match this call's (``seed``, ``device`` and
        ``checkpoint_every`` may differ).

    Returns
    -------
    FitResult
        ``config`` is the record saved with the run (``FitConfig.asdict()`` plus the dataset,
        the resolved learning rate, seed and device); ``settings`` the :class:`FitConfig`.

    Raises
    ------
    TypeError
        An unknown option (the message names the closest known one), a value of the wrong
        type, or ``data`` that is not an ArrayDataset
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
    ValueError
        A value out of range, a bad ``device`` or ``seed``, a fixed classifier without
        ``code``, ``resume`` without ``out_dir`` or with a checkpoint of another configuration.

    See Also
    --------
    FitConfig : every option and its default.
    build_model : the network trained.
    load_checkpoint : read a checkpoint written with ``out_dir``.
    spherecodes.train.temperature_study : many runs of it, summarized.

    References
    ----------
    Generalized Neural Collapse paper, eq. (1) (the CE loss with temperature ``tau``, features and
    classifier on the unit sphere) and Section 2.2 (GNC1-GNC3).
    """
    torch = require_torch()
    cfg = FitConfig.from_options(config, **options)
    if not isinstance(data, ArrayDataset):
        raise ArgumentTypeError(f"data must be an ArrayDataset (see spherecodes.train.data), got {type(data).__name__}")
    dev = resolve_device(device)
    rng = as_rng(seed)
    lr = cfg.learning_rate
    if model is None:
        model = build_model(data, encoder=cfg.encoder, feature_dim=cfg.feature_dim, classifier=cfg.classifier,
                            tau=cfg.tau, code=code, assignment=cfg.assignment, cmf_momentum=cfg.cmf_momentum,
                            encoder_kwargs=cfg.encoder_kwargs, seed=rng)
    model = model.to(dev)
    K = data.num_classes
    config = {"dataset": data.name, "K": K, "N_train": len(data.y_train), "N_test": len(data.y_test),
              **cfg.asdict(), "lr": lr,
              "seed": seed if isinstance(seed, (int, type(None))) else "generator", "device": str(dev)}
    epochs, batch_size, tau = cfg.epochs, cfg.batch_size, cfg.tau
    amp, augment, gnc_every = cfg.amp, cfg.augment, cfg.gnc_every

    enc_params = list(model.encoder.parameters())
    clf_params = [p for p in model.classifier.parameters() if p.requires_grad]
    groups = [{"params": enc_params, "weight_decay": cfg.weight_decay}]
    if clf_params:
        groups.append({"params": clf_params, "weight_decay": 0.0, "lr": lr * cfg.classifier_lr_scale})
    if cfg.optimizer == "adam":
        opt = torch.optim.AdamW(groups, lr=lr) if cfg.weight_decay else torch.optim.Adam(groups, lr=lr)
    else:
        opt = torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum)
    taus = continuation_schedule(tau, epochs, anneal_from=cfg.anneal_from, anneal_fraction=cfg.anneal_fraction)

    def lr_factor(e):  # cosine decay over the epochs, times (tau_e / tau_0)^p during a continuation
        e = min(e, epochs - 1)
        # a Python float: a numpy scalar would end up in the optimizer state of every checkpoint
        return float(0.5 * (1.0 + math.cos(math.pi * e / epochs)) * (taus[e] / taus[0]) ** cfg.anneal_lr_power)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)

    gen = torch.Generator().manual_seed(torch_seed(rng))
    x_train = torch.as_tensor(data.x_train, device=dev)
    y_train = torch.as_tensor(data.y_train, device=dev)
    N = len(data.y_train)
    is_image = x_train.ndim == 4

    history, train_seconds, samples = [], 0.0, 0
    H = None
    start = 1
    if resume:
        if out_dir is None:
            raise ValueError("resume=True needs an out_dir holding checkpoint_last.pt")
        ck_path = os.path.join(os.fspath(out_dir), "checkpoint_last.pt")
        if os.path.exists(ck_path):
            ck = load_checkpoint(ck_path, map_location=dev)
            # keys an older checkpoint did not record are not compared
            diff = {k: (ck["config"].get(k), v) for k, v in config.items()
                    if k not in RESUME_MAY_DIFFER and k in ck["config"] and ck["config"].get(k) != v}
            if diff:
                raise ValueError(f"cannot resume from {ck_path}: configuration differs (checkpoint, now): {diff}")
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
            gen.set_state(ck["generator"])
            history = list(ck["history"])
            start = int(ck["epoch"]) + 1
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, initial=start - 1,
                   desc=f"{data.name} {cfg.classifier} d={cfg.feature_dim} tau={tau:g}")
    for epoch in range(start, epochs + 1):
        model.classifier.tau = float(taus[epoch - 1])
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(N, generator=gen).to(dev)
        loss_sum, seen, correct = 0.0, 0, 0
        for s in range(0, N, batch_size):
            idx = perm[s:s + batch_size]
            if idx.numel() < 2 and N > 1:
                continue  # BatchNorm needs more than one sample
            xb, yb = x_train[idx], y_train[idx]
            if augment and is_image:
                xb = _augment(torch, xb, gen)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
                logits, _ = model(xb, yb)
            loss = torch.nn.functional.cross_entropy(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            if clf_params or any(p.requires_grad for p in enc_params):
                loss.backward()
                opt.step()
            loss_sum += float(loss.detach()) * idx.numel()
            correct += int((logits.detach().argmax(1) == yb).sum())
            seen += idx.numel()
        sched.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        train_seconds += dt
        samples += seen
        running_acc = correct / max(1, seen)
        gnc_epoch = epoch % gnc_every == 0 or epoch == epochs
        if gnc_epoch:
            H, train_acc, _ = evaluate(model, data.x_train, data.y_train, device=dev, amp=amp)
        else:
            train_acc = running_acc
        _, test_acc, test_loss = evaluate(model, data.x_test, data.y_test, device=dev, amp=amp)
        row = {"epoch": epoch, "tau": model.classifier.tau, "loss": loss_sum / max(1, seen), "train_acc": train_acc,
               "train_acc_running": running_acc, "test_acc": test_acc, "test_loss": test_loss,
               "gnc1": float("nan"), "gnc2": float("nan"), "gnc3": float("nan"), "lr": opt.param_groups[0]["lr"],
               "seconds": dt}
        if gnc_epoch:
            W = model.classifier.code()
            row["gnc1"] = _gnc1(H, data.y_train, K=K)
            row["gnc3"] = _gnc3(W, H, data.y_train)
            row["gnc2"] = _rho(W) if K <= cfg.rho_max_classes else float("nan")
        history.append(row)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3g}", train=f"{train_acc:.3f}", test=f"{test_acc:.3f}")
        if out_dir is not None:
            _write_logs(out_dir, config, history)
            if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
                _checkpoint(out_dir, model, opt, sched, gen, epoch, config, history, keep=True)
    if bar is not None:
        bar.close()
    W = model.classifier.code()
    if H is None:  # resumed from a finished run: nothing trained in this call
        H, _, _ = evaluate(model, data.x_train, data.y_train, device=dev, amp=amp)
    last = history[-1]
    if out_dir is not None:
        _checkpoint(out_dir, model, opt, sched, gen, epochs, config, history)
        atomic_save_npy(os.path.join(os.fspath(out_dir), "W.npy"), W)
        if plot:
            from .plots import plot_training_curves
            plot_training_curves(history, os.path.join(os.fspath(out_dir), "curves.png"),
                                 title=f"{data.name}: {cfg.classifier} classifier, d={cfg.feature_dim}, tau={tau:g}")
    return FitResult(history=history, W=W, H=H, labels=np.asarray(data.y_train), train_acc=last["train_acc"],
                     test_acc=last["test_acc"], gnc1=last["gnc1"], gnc2=last["gnc2"], gnc3=last["gnc3"], model=model,
                     config=config, out_dir=None if out_dir is None else os.fspath(out_dir), seconds=train_seconds,
                     samples_per_second=samples / train_seconds if train_seconds > 0 else math.nan, settings=cfg)


#: Keys of the saved configuration that may change when a run is resumed.
RESUME_MAY_DIFFER = ("seed", "device", "checkpoint_every")


def _write_logs(out_dir, config, history):
    out_dir = os.fspath(out_dir)
    atomic_write_csv(os.path.join(out_dir, "history.csv"), history)
    atomic_write_json(os.path.join(out_dir, "history.json"), {"config": config, "history": history})


def load_checkpoint(path, *, map_location=None):
    """``torch.load(path, weights_only=True)``: a checkpoint is data (tensors, numbers, strings), never code.

    Besides torch's defaults only numpy's scalar and float64 dtype are allowed (data, no code:
    checkpoints written by an earlier version of :func:`fit` held numpy floats).

    Parameters
    ----------
    path : str or path
        A ``checkpoint_last.pt`` or ``checkpoint_epochN.pt`` written by :func:`fit`.
    map_location : str or torch.device, optional, keyword-only
        As in ``torch.load``.

    Returns
    -------
    dict
        ``epoch``, ``model`` (a state dict), ``optimizer``, ``scheduler``, ``generator``,
        ``config`` (as :attr:`FitResult.config`) and ``history``.

    Raises
    ------
    pickle.UnpicklingError
        The file names anything else (e.g. a function): nothing in it is run.
    FileNotFoundError
        No file at ``path``.

    See Also
    --------
    fit : writes the checkpoints (``out_dir``) and resumes from them (``resume=True``).
    """
    torch = require_torch()
    scalar = getattr(getattr(np, "_core", np.core), "multiarray").scalar
    with torch.serialization.safe_globals([scalar, np.dtype, type(np.dtype(np.float64))]):
        return torch.load(path, map_location=map_location, weights_only=True)


def _checkpoint(out_dir, model, opt, sched, gen, epoch, config, history, keep=False):
    state = {"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "generator": gen.get_state(), "config": config, "history": history}
    atomic_torch_save(state, os.path.join(os.fspath(out_dir), "checkpoint_last.pt"))
    if keep:
        atomic_torch_save(state, os.path.join(os.fspath(out_dir), f"checkpoint_epoch{epoch}.pt"))
