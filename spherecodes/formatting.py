"""Decimal strings of certified bounds, rounded outward.

``f"{x:.10f}"`` rounds to nearest: a lower bound may print above the value it
bounds and a bracket ``[lower, upper]`` may print without containing the
number it certifies (``0.76968693412649`` prints as ``0.7696869341`` at both
ends).  Here a lower bound is rounded down and an upper bound up, from the
float's exact decimal expansion (:class:`decimal.Decimal`), so the printed
bracket always contains the true value.
"""
from __future__ import annotations

import numbers
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import numpy as np

__all__ = ["round_down", "round_up", "bracket", "lower_bound_text"]


def _exact(x) -> Decimal:
    """The exact value of a float (float64 or narrower) or an int, as a Decimal."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, float, np.floating)):
        raise TypeError(f"x must be a float or an int, got {type(x).__name__}")
    if isinstance(x, np.floating) and np.finfo(x.dtype).bits > 64:
        raise TypeError(f"x must be at most float64 (its digits are printed exactly), got {x.dtype}")
    return Decimal(int(x)) if isinstance(x, numbers.Integral) else Decimal(float(x))


def _directed(x, spec: str, rounding: str) -> str:
    if len(spec) < 3 or spec[0] != "." or spec[-1] not in "fg" or not spec[1:-1].isdigit():
        raise ValueError(f"spec must be '.Nf' or '.Ng', got {spec!r}")
    n = int(spec[1:-1])
    exact = _exact(x)
    if not exact.is_finite() or exact == 0:
        return format(float(x), spec)
    with localcontext() as ctx:
        ctx.prec = n + exact.adjusted() + 400 if spec[-1] == "f" else n + 400   # room for every digit kept
        if spec[-1] == "f":
            quantum = Decimal(1).scaleb(-n)
        else:
            quantum = Decimal(1).scaleb(exact.adjusted() - max(n, 1) + 1)   # n significant digits
        rounded = exact.quantize(quantum, rounding=rounding)
        text = format(rounded, spec)
        if spec[-1] == "g":
            # float's own 'g' style ("1e-05", "10") where the nearest float prints the same decimal
            # back (N <= 15 away from subnormals and the largest float); else Decimal's style
            plain = format(float(rounded), spec)
            if Decimal(plain) == rounded:
                text = plain
    return text


def round_down(x, spec: str = ".10f") -> str:
    """``x`` (a float of at most 64 bits, or an int) as a decimal string no larger than ``x``.

    ``spec`` is ``".Nf"`` (N decimals) or ``".Ng"`` (N significant digits).  NaN and
    infinities print as ``format`` prints them.  Raises ``TypeError`` for other types
    (a string, a Fraction, a long double: their exact value is not a float's) and
    ``ValueError`` for another ``spec``.
    """
    return _directed(x, spec, ROUND_FLOOR)


def round_up(x, spec: str = ".10f") -> str:
    """``x`` as a decimal string no smaller than ``x`` (as :func:`round_down`)."""
    return _directed(x, spec, ROUND_CEILING)


def lower_bound_text(value, lower, *, exact: bool, spec: str = ".10f") -> str:
    """How a table prints a number offered as a lower bound on an optimum.

    ``value`` itself where it is exact (a closed form), else ``lower``, the lower
    end of its certificate, rounded down.  Both may be numeric strings (CSV cells).
    """
    return format(float(value), spec) if exact else round_down(float(lower), spec)


def bracket(lower, upper, spec: str = ".10f") -> str:
    """``"[lower, upper]"`` rounded outward: the printed interval contains ``[lower, upper]``.

    The ends are printed as given (no check that ``lower <= upper``: a repr must not raise).
    """
    return f"[{round_down(lower, spec)}, {round_up(upper, spec)}]"
