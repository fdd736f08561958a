"""Small helpers shared by :mod:`spherecodes.train` (torch is imported lazily).

Nothing here imports torch at module import time; every function that needs it
imports it inside, so ``import spherecodes.train`` stays cheap and the rest of
the package never pulls torch in.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .._validation import as_generator, check_tol
from ..io import atomic_path, write_text_atomic


def require_torch():
    """Import and return :mod:`torch`, with a clear error when it is missing."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "spherecodes.train needs PyTorch; install the extra with  pip install -e \".[train]\""
        ) from exc
    return torch


def resolve_device(device=None):
    """Return a ``torch.device``: ``None`` or ``"auto"`` picks CUDA when available, else CPU."""
    torch = require_torch()
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available (use device='auto' or 'cpu')")
    return dev


#: Encoders small enough that one torch thread is fastest on a CPU.
SMALL_ENCODERS = ("mlp", "cnn")


def choose_threads(encoder="mlp", *, cores=None):
    """torch CPU threads for a run: 1 for a small encoder or on a machine with at most 2 cores, else None.

    ``None`` means "leave torch's default".  For the small models of this package the
    per-op work is far too little to pay for thread synchronization: on a 2-core machine
    shared with other jobs (load average about 4), the digits MLP trained at 8961 and 11604
    samples/s with 1 thread against 2048 and 1350 with torch's default of 2 (4-9x).

    Parameters
    ----------
    encoder : str
        Encoder name (``"mlp"``, ``"cnn"``, ``"resnet18"``).
    cores : int or None
        CPU cores available to this process (default: the scheduler affinity, else ``os.cpu_count()``).
    """
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            cores = os.cpu_count() or 1
    return 1 if (encoder in SMALL_ENCODERS or cores <= 2) else None


def as_rng(seed) -> np.random.Generator:
    """``seed`` (None, int, ``SeedSequence`` or ``numpy.random.Generator``) -> ``numpy.random.Generator``.

    A bad seed gets the solvers' error (:func:`spherecodes._validation.check_seed`);
    see :func:`spherecodes._validation.as_generator`.
    """
    return as_generator(seed)


def torch_seed(rng: np.random.Generator) -> int:
    """Draw a 63-bit integer seed for torch from a numpy Generator."""
    return int(rng.integers(0, 2**63 - 1))


def check_positive(value, name: str) -> float:
    """A finite real number ``> 0`` (:func:`spherecodes._validation.check_tol`: TypeError for a
    string or a bool, ValueError for a value out of range, the parameter named)."""
    return check_tol(value, name)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then ``os.replace``)."""
    write_text_atomic(path, text)


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")


def atomic_write_csv(path, rows: list[dict], columns: list[str] | None = None) -> None:
    """Write a list of dicts as CSV (columns = union of keys in first-seen order)."""
    import csv
    import io

    if columns is None:
        columns = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k, "")) for k in columns})
    atomic_write_text(path, buf.getvalue())


def atomic_savefig(fig, path, **kwargs) -> None:
    """Save a matplotlib figure atomically."""
    with atomic_path(path, suffix=os.path.splitext(os.fspath(path))[1] or ".png") as tmp:
        fig.savefig(tmp, **kwargs)


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` atomically."""
    torch = require_torch()
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def atomic_save_npy(path, array) -> None:
    """``numpy.save`` atomically."""
    with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.asarray(array))


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
