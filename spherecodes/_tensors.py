"""Arrays from torch without importing torch.

Public functions that accept "numpy or torch" go through :func:`to_numpy`;
torch is never imported here: a tensor can only exist if its caller already
imported torch, so ``type(x).__module__`` is enough to recognise one (DESIGN.md:
nothing outside :mod:`spherecodes.train` imports torch).
"""
from __future__ import annotations

import numpy as np

LAYOUTS = ("columns", "rows")


def is_tensor(x) -> bool:
    """Whether ``x`` is a ``torch.Tensor`` (checked without importing torch)."""
    return type(x).__module__.partition(".")[0] == "torch" and hasattr(x, "detach")


def to_numpy(x):
    """``x`` as a numpy array if it is a torch tensor (any device, detached); else ``x`` unchanged.

    ``bfloat16`` (which numpy lacks) becomes ``float32``, exactly.
    """
    if not is_tensor(x):
        return x
    t = x.detach()
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return t.cpu().numpy()


def check_layout(layout, name: str = "layout") -> str:
    """``"columns"`` (classes as columns, ``(d, K)``) or ``"rows"`` (``(K, d)``, like ``nn.Linear.weight``)."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"{name} must be 'columns' (d, K) or 'rows' (K, d), got {layout!r}")
    return layout


def as_columns(A, layout: str, name: str):
    """``A`` (numpy or torch) as a numpy array with the points as columns, ``(d, m)``."""
    A = to_numpy(A)
    if check_layout(layout) == "rows":
        A = np.asarray(A)
        if A.ndim != 2:
            raise ValueError(f"{name} must be 2-D with shape (m, d) (layout='rows'), got shape {A.shape}")
        return A.T
    return A
