"""Published best-known Tammes values, read from ``shared/reference/`` (values only, never seeds).

``best_known(d, K)`` returns the smallest published max inner product of K unit
vectors in R^d with its status and source, or ``None``.  The files are
``best_known_tammes_d3.csv`` (d = 3, K = 2..130: Sloane's tables of spherical
packings and Lai et al. 2023) and ``named_codes.csv`` (root systems and other
named codes of d = 4..8).  The folder is ``$SPHERECODES_REFERENCE`` when set,
else ``../shared/reference`` beside the repository.
"""
from __future__ import annotations

import csv
import functools
import os
import re
import warnings
from pathlib import Path

__all__ = ["best_known", "reach_tolerance", "reference_dir"]

REPO = Path(__file__).resolve().parents[1]


def reference_dir() -> Path:
    """The folder holding the reference CSV files."""
    return Path(os.environ.get("SPHERECODES_REFERENCE", REPO.parent / "shared" / "reference"))


@functools.lru_cache(maxsize=None)
def _table(folder: str) -> dict:
    out = {}
    sources = {"best_known_tammes_d3.csv": "Sloane's tables / Lai et al. 2023",
               "named_codes.csv": "named code"}
    missing = []
    for name, source in sources.items():
        path = Path(folder) / name
        if not path.exists():
            missing.append(name)
            continue
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                key = (int(row["d"]), int(row["K"]))
                label = row.get("name") or source
                out[key] = (float(row["max_inner_product"]), row["status"], label)
    if missing:
        # empty "best known" cells would read as "nothing published": say why instead
        warnings.warn(f"reference file(s) {', '.join(missing)} not found in {folder}: their best-known values "
                      "are missing; set SPHERECODES_REFERENCE to the folder that holds them", stacklevel=3)
    return out


def best_known(d: int, K: int):
    """``(max_inner_product, status, source)`` of the best published (d, K) code, or ``None``."""
    return _table(str(reference_dir())).get((int(d), int(K)))


def reach_tolerance(status: str, tol: float) -> float:
    """How far above a published value a value may lie and still reach it: ``tol`` (the
    values' own accuracy), at most half a unit of the last digit where ``status`` says the
    value is known to n digits only (``..._9_digits``: 5e-10).

    A value within 1e-9 of ``0.939026291`` (known to 9 digits) may lie above every value
    that rounds to it: at (3, 110) 0.939026291719 is a distinct local optimum, 8.6e-10
    above 0.939026290863.
    """
    m = re.search(r"_(\d+)_digits$", status)
    return tol if m is None else min(tol, 0.5 * 10.0 ** -int(m.group(1)))
