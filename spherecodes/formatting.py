"""Decimal strings of certified bounds, rounded outward.

``f"{x:.10f}"`` rounds to nearest: a lower bound may print above the value it
bounds and a bracket ``[lower, upper]`` may print without containing the
number it certifies (``0.76968693412649`` prints as ``0.7696869341`` at both
ends).  Here a lower bound is rounded down and an upper bound up, from the
float's exact decimal expansion (:class:`decimal.Decimal`), so the printed
bracket always contains the true value.
"""
from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

__all__ = ["round_down", "round_up", "bracket"]


def _directed(x: float, spec: str, rounding: str) -> str:
    if len(spec) < 3 or spec[0] != "." or spec[-1] not in "fg" or not spec[1:-1].isdigit():
        raise ValueError(f"spec must be '.Nf' or '.Ng', got {spec!r}")
    x = float(x)
    n = int(spec[1:-1])
    if not math.isfinite(x) or x == 0.0:
        return format(x, spec)
    with localcontext() as ctx:
        ctx.prec = 1200                                  # a double's expansion has at most 767 digits
        exact = Decimal(x)                               # the float's exact value
        if spec[-1] == "f":
            quantum = Decimal(1).scaleb(-n)
        else:
            quantum = Decimal(1).scaleb(exact.adjusted() - max(n, 1) + 1)   # n significant digits
        rounded = exact.quantize(quantum, rounding=rounding)
        text = format(rounded, spec)
        if spec[-1] == "g":
            # float's own 'g' style ("1e-05", "10") where the nearest float prints the same decimal
            # back (not for subnormals, nor past the largest float)
            plain = format(float(rounded), spec)
            if Decimal(plain) == rounded:
                text = plain
    return text


def round_down(x: float, spec: str = ".10f") -> str:
    """``x`` as a decimal string no larger than ``x`` (format ``spec``: ``".Nf"`` or ``".Ng"``)."""
    return _directed(x, spec, ROUND_FLOOR)


def round_up(x: float, spec: str = ".10f") -> str:
    """``x`` as a decimal string no smaller than ``x`` (format ``spec``: ``".Nf"`` or ``".Ng"``)."""
    return _directed(x, spec, ROUND_CEILING)


def bracket(lower: float, upper: float, spec: str = ".10f") -> str:
    """``"[lower, upper]"`` rounded outward: the printed interval contains ``[lower, upper]``."""
    return f"[{round_down(lower, spec)}, {round_up(upper, spec)}]"
