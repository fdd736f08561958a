"""Measuring a code and comparing Tammes codes with Softmax Codes: the logic behind the CLI and the tables.

:func:`measure_code` is the separation report of one code; :func:`compare_cell`
solves both problems for one (d, K) and compares them (the paper's conjecture
after Theorem 3.7 that Tammes codes and Softmax Codes agree); :func:`cell_seed`
gives every cell of a sweep its seed, the same on every path (``spherecodes
compare``, ``spherecodes table``, ``benchmarks/tammes_vs_softmax.py``).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ._validation import check_int
from .formatting import lower_bound_text, round_down

__all__ = ["measure_code", "compare_cell", "known_optimum", "cell_seed", "markdown_compare_table",
           "COMPARE_FIELDS", "AGREE_TOL"]

#: Tolerance for "Tammes and Softmax agree" in :func:`compare_cell` and the tables.
AGREE_TOL = 1e-9


def known_optimum(d: int, K: int):
    """Closed-form maximum of rho one-vs-rest over OB(d, K) where Theorem 3.3 gives it.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    K : int
        Number of classes, ``K >= 2``.

    Returns
    -------
    value : float or None
        :func:`spherecodes.bounds.exact_optimum` (a distance on the unit
        sphere), or None where no closed form is known.
    reason : str or None
        The case in words (which part of Theorem 3.3), or None.

    Raises
    ------
    ValueError
        If ``d < 1`` or ``K < 2``.
    TypeError
        If ``d`` or ``K`` is not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.bounds.exact_optimum : the value alone.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.3.

    Examples
    --------
    >>> from spherecodes.compare import known_optimum
    >>> known_optimum(3, 6)
    (1.0, 'Theorem 3.3: d+1 < K <= 2d, cross-polytope subset')
    """
    from .bounds import exact_optimum

    value = exact_optimum(d, K)
    if value is None:
        return None, None
    if d == 1:
        why = "d = 1: antipodal pair" if K == 2 else "d = 1: at most 2 distinct points"
    elif K <= d + 1:
        why = "Theorem 3.3: simplex ETF, K/(K-1)"
    elif d == 2:
        why = "Theorem 3.3: regular K-gon, 1 - cos(2 pi/K)"
    else:
        why = "Theorem 3.3: d+1 < K <= 2d, cross-polytope subset"
    return value, why


def _finite(x):
    """JSON-safe float (None for NaN/inf)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def measure_code(W, *, rtol: float = 1e-6) -> dict:
    """Separation report of a code ``W`` of shape ``(d, K)`` (unit columns) as a JSON-ready dict.

    Parameters
    ----------
    W : array_like, shape (d, K), or SphereCode
        The code, unit columns (columns layout only).  A
        :class:`spherecodes.SphereCode` (a solver's result) is reported from its
        stored measures, with no second certificate; its rattlers are recomputed
        from its distances when ``rtol`` differs from its ``rattler_rtol``.
    rtol : float, keyword-only
        Relative tolerance for rattlers (see :func:`spherecodes.rattlers`).

    Returns
    -------
    dict
        Keys ``d, K, rho_one_vs_rest, rho_lower, rho_upper, worst_class,
        rho_one_vs_one, max_inner_product, one_minus_max_inner_product,
        min_angle_rad, min_angle_deg, rattlers, distances, certified_classes``
        (plain Python numbers and lists; distances dimensionless, angles in
        radians and degrees as named; ``certified_classes`` is K unless a time
        limit cut the code's certificate short).

    Raises
    ------
    ValueError
        If ``W`` is not a finite 2-D ``(d, K)`` array of ``K >= 2`` unit
        columns, or holds strings; if ``rtol`` is negative or not finite; if
        ``W`` is a SphereCode whose certificate a time limit cut short
        (``settings["certified_classes"]``) and ``rtol`` is not its ``rattler_rtol``.
    TypeError
        If ``rtol`` is not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.separation : the same measures as a dataclass.
    compare_cell : two such reports, for a Softmax and a Tammes code.

    References
    ----------
    Generalized Neural Collapse paper, eq. (3), eq. (11), Definition 3.4.
    """
    from ._validation import check_rtol
    from .code import SphereCode
    from .measures import rattlers_from_distances

    rtol = check_rtol(rtol)
    code = W if isinstance(W, SphereCode) else SphereCode.from_W(np.asarray(W, dtype=np.float64),
                                                                 rattler_rtol=rtol)
    dist = np.asarray(code.distances, dtype=np.float64)
    rattlers = code.rattlers
    certified = code.certified_classes
    if code.rattler_rtol != rtol:
        if certified < code.K:
            raise ValueError(f"rtol={rtol!r} differs from the code's rattler_rtol ({code.rattler_rtol!r}) and its "
                             "certificate was cut by a time limit: its rattlers cannot be recomputed")
        rattlers = rattlers_from_distances(dist, rtol)
    t = float(code.max_inner_product)
    ang = code.min_angle
    return {
        "d": code.d,
        "K": code.K,
        "rho_one_vs_rest": float(code.rho_one_vs_rest),
        "rho_lower": float(code.rho_lower),
        "rho_upper": float(code.rho_upper),
        "worst_class": int(np.argmin(dist)),
        "rho_one_vs_one": float(code.rho_one_vs_one),
        "max_inner_product": t,
        "one_minus_max_inner_product": 1.0 - t,
        "min_angle_rad": ang,
        "min_angle_deg": math.degrees(ang),
        "rattlers": [int(i) for i in np.asarray(rattlers)],
        "distances": [float(x) for x in dist],
        "certified_classes": certified,
    }


def _code_W(code) -> np.ndarray:
    W = getattr(code, "W", None)
    if W is None:
        W = code  # a bare array
    return np.asarray(W, dtype=np.float64)


def cell_seed(seed: int | None, d: int, K: int) -> int | None:
    """Seed of the (d, K) cell of a sweep rooted at ``seed`` (``None`` stays ``None``).

    Independent of the order and place in which cells run, so that resuming a table,
    ``spherecodes compare`` and ``spherecodes table`` give the same row for the same seed.

    Parameters
    ----------
    seed : int or None
        Root seed of the sweep, an integer ``>= 0`` (numpy integers and
        integer-valued floats accepted; ``1.5`` is an error, never truncated).
    d, K : int
        The cell, integers ``>= 0`` each.

    Returns
    -------
    int or None
        A seed in ``[0, 2**31 - 2)`` drawn from ``SeedSequence([seed, d, K])``.

    Raises
    ------
    ValueError
        If ``seed``, ``d`` or ``K`` is negative.
    TypeError
        If ``seed``, ``d`` or ``K`` is not an integer (a bool, a string, a
        non-integral float), as :func:`spherecodes._validation.check_int`
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    compare_cell : solves one cell with this seed.
    """
    if seed is None:
        return None
    seed = check_int(seed, "seed", minimum=0)
    d = check_int(d, "d", minimum=0)
    K = check_int(K, "K", minimum=0)
    return int(np.random.SeedSequence([seed, d, K]).generate_state(1)[0] % (2**31 - 2))


def _unless_interrupted(code):
    """``code``, unless its solve was stopped by Ctrl-C: then the whole cell stops (KeyboardInterrupt)."""
    if getattr(code, "status", "") == "interrupted":
        raise KeyboardInterrupt
    return code


def compare_cell(d: int, K: int, *, restarts=None, seed=None, time_limit=None, method="auto",
                 save_dir=None, rtol: float = 1e-6, return_codes: bool = False, executor="serial",
                 polish_from_tammes: bool = True) -> dict:
    """Solve the Softmax Code and the Tammes problem for one ``(d, K)`` and compare them.

    Parameters
    ----------
    d, K : int
        Dimension and number of classes.
    restarts, seed, time_limit, method
        Passed to :func:`spherecodes.softmax_code` and :func:`spherecodes.tammes_code`.
        Both get the same seed: the Softmax solver's restart i polishes, on the
        one-vs-rest objective, the same random start that the Tammes solver's
        restart i polishes on the one-vs-one objective, so a Softmax value above
        the Tammes code's one-vs-rest value means that the one-vs-rest polish
        found a better code from the same basins.
    save_dir : str or path, optional
        If given, both codes are saved there as ``softmax_d{d}_K{K}.npz`` and
        ``tammes_d{d}_K{K}.npz``.
    rtol : float
        Relative tolerance for rattlers.
    return_codes : bool
        Also return both codes, as ``row["W_softmax"]`` and ``row["W_tammes"]``
        (arrays of shape ``(d, K)``).
    polish_from_tammes : bool
        Cross-polish (where no closed form applies): polish the Softmax Code on
        the Tammes objective and keep it if its max inner product is smaller than
        the Tammes search's (``t_tammes_search``, flag ``tammes_from_softmax``);
        then polish the Tammes code on the one-vs-rest objective and keep it if
        its rho is larger than the Softmax search's (``rho_softmax_search``, flag
        ``softmax_from_tammes``); repeat (at most 4 rounds) while either improves.  Each polish is one more restart started from
        the other code, without smoothing.  A remaining disagreement is then a
        pair of codes that each survive the other problem's polish.
    executor : concurrent.futures.Executor or "serial" or None
        Where the restarts of each solve run.  Default ``"serial"``: in this
        process, which is right when the cells themselves run in parallel;
        ``None`` lets the solvers use their local process pool.

    Returns
    -------
    dict
        One row of :data:`COMPARE_FIELDS`: ``rho_softmax`` (rho one-vs-rest of the
        best Softmax Code found), ``rho_tammes`` (rho one-vs-rest of the best Tammes
        code found), ``one_minus_t`` (``1 - t*``, t* the max inner product of the
        Tammes code), ``agree`` (``|rho_softmax - rho_tammes| <= 1e-9``),
        ``tammes_tight`` (``|rho_tammes - (1 - t*)| <= 1e-9``), certificates,
        rattlers of each and wall times (seconds).

    Raises
    ------
    ValueError, TypeError
        Bad arguments, as :func:`spherecodes.softmax_code` (the same checks).
    KeyboardInterrupt
        When either solve was stopped by Ctrl-C (``status == "interrupted"``):
        the whole cell stops, nothing is saved.
    OSError
        If ``save_dir`` cannot be written.

    See Also
    --------
    measure_code : the report of each code.
    markdown_compare_table : render rows.
    cell_seed : the seed of a cell in a sweep.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.7 and eq. (12) (GNC3 holds
    iff the two problems share their optima), Theorem 3.8 (they do for
    ``d = 2`` or ``K <= d + 1``) and footnote 5 (checked numerically on
    Table 1 of Cohn & Kumar, 2007).
    """
    from .solvers import softmax_code, tammes_code

    kw = {"method": method, "rattler_rtol": rtol}
    if executor is not None:
        kw["executor"] = executor
    if restarts is not None:
        kw["restarts"] = restarts
    if time_limit is not None:
        kw["time_limit"] = time_limit
    t0 = time.perf_counter()
    sc = _unless_interrupted(softmax_code(d, K, seed=seed, **kw))
    t1 = time.perf_counter()
    tc = _unless_interrupted(tammes_code(d, K, seed=seed, **kw))
    t2 = time.perf_counter()
    ms = measure_code(sc, rtol=rtol)
    mt = measure_code(tc, rtol=rtol)
    rho_search, from_tammes = ms["rho_one_vs_rest"], False
    t_search, from_softmax = mt["max_inner_product"], False
    if polish_from_tammes and known_optimum(d, K)[0] is None:
        # Each search may miss a basin the other found: cross-polish both ways and keep the
        # better code of each kind, until neither polish improves on the other's code (a
        # Softmax polish of the Tammes code can land on a better Tammes code too).
        for _ in range(4):
            improved = False
            # seeded from the cell: the same seed gives the same row on every path (no OS entropy)
            pt = tammes_code(d, K, init=_code_W(sc), restarts=1, smoothing=False, method="numeric",
                             executor="serial", rattler_rtol=rtol, seed=seed)
            mpt = measure_code(pt, rtol=rtol)
            if mpt["max_inner_product"] < mt["max_inner_product"] - 1e-15:
                tc, mt, from_softmax, improved = pt, mpt, True, True
            pc = softmax_code(d, K, init=_code_W(tc), restarts=1, smoothing=False, method="numeric",
                              executor="serial", rattler_rtol=rtol, seed=seed)
            mp = measure_code(pc, rtol=rtol)
            if mp["rho_one_vs_rest"] > ms["rho_one_vs_rest"] + 1e-15:
                sc, ms, from_tammes, improved = pc, mp, True, True
            if not improved:
                break
    t3 = time.perf_counter()
    opt, _ = known_optimum(d, K)
    row = {
        "d": d,
        "K": K,
        "rho_softmax": ms["rho_one_vs_rest"],
        "rho_softmax_lower": ms["rho_lower"],
        "rho_softmax_upper": ms["rho_upper"],
        "rho_tammes": mt["rho_one_vs_rest"],
        "rho_tammes_lower": mt["rho_lower"],
        "rho_tammes_upper": mt["rho_upper"],
        "one_minus_t": mt["one_minus_max_inner_product"],
        "tammes_ovo": mt["rho_one_vs_one"],
        "softmax_ovo": ms["rho_one_vs_one"],
        "difference": ms["rho_one_vs_rest"] - mt["rho_one_vs_rest"],
        "agree": bool(abs(ms["rho_one_vs_rest"] - mt["rho_one_vs_rest"]) <= AGREE_TOL),
        "tammes_tight": bool(abs(mt["rho_one_vs_rest"] - mt["one_minus_max_inner_product"]) <= AGREE_TOL),
        "known_optimum": opt,
        "rattlers_softmax": len(ms["rattlers"]),
        "rattlers_tammes": len(mt["rattlers"]),
        "time_softmax": t1 - t0,
        "time_tammes": t2 - t1,
        "time": t3 - t0,
        "rho_softmax_search": rho_search,
        "softmax_from_tammes": from_tammes,
        "t_tammes_search": t_search,
        "tammes_from_softmax": from_softmax,
        "restarts_softmax": getattr(sc, "restarts", None),
        "restarts_tammes": getattr(tc, "restarts", None),
    }
    if save_dir is not None:
        from .io import save_npz_atomic

        save_dir = Path(save_dir)
        for tag, code in (("softmax", sc), ("tammes", tc)):
            save_npz_atomic(save_dir / f"{tag}_d{d}_K{K}.npz", W=_code_W(code))
    if return_codes:
        row["W_softmax"], row["W_tammes"] = _code_W(sc), _code_W(tc)
    return row


#: Column order of :func:`compare_cell` rows (CSV header of the tables).
COMPARE_FIELDS = [
    "d", "K", "rho_softmax", "rho_softmax_lower", "rho_softmax_upper", "rho_tammes", "rho_tammes_lower",
    "rho_tammes_upper", "one_minus_t", "tammes_ovo", "softmax_ovo", "difference", "agree", "tammes_tight",
    "known_optimum", "rattlers_softmax", "rattlers_tammes", "time_softmax", "time_tammes", "time",
    "restarts_softmax", "restarts_tammes", "rho_softmax_search", "softmax_from_tammes", "t_tammes_search",
    "tammes_from_softmax",
]


def markdown_compare_table(rows) -> str:
    """Render :func:`compare_cell` rows as a Markdown table.

    "rho Softmax" and "rho Tammes" are the lower ends of the codes'
    certificates (``rho_softmax_lower``, ``rho_tammes_lower``, where a row has
    them), rounded down, or the closed form where ``known_optimum`` gives one;
    ``1 - t*`` is rounded down too.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`compare_cell`, or the same read back from CSV (string
        values; ``agree`` as ``"True"``/``"False"``).  Optional keys
        ``published`` (a published max inner product ``t*``) and
        ``vs_published`` add two columns when any row has them.

    Returns
    -------
    str
        The table, one line per row, ending in a newline.

    Raises
    ------
    KeyError
        If a row lacks ``d``, ``K``, ``rho_softmax``, ``rho_tammes``,
        ``one_minus_t``, ``agree``, ``rattlers_softmax``, ``rattlers_tammes``
        or ``time``.
    ValueError
        If one of them is a string that is not a number.

    See Also
    --------
    compare_cell : the rows.
    """
    published = any(r.get("published") not in (None, "") for r in rows)
    head = ("| d | K | rho Softmax | rho Tammes (one-vs-rest) | 1 - t* | agree (1e-9) "
            + ("| 1 - t* published | vs published " if published else "")
            + "| rattlers SC | rattlers Tammes | time [s] |")
    sep = "|---:|---:|---:|---:|---:|:---:|" + ("---:|:---|" if published else "") + "---:|---:|---:|"
    out = [head, sep]
    for r in rows:
        ref = ""
        if published:
            pub = r.get("published")
            ref = (f"| {round_down(1.0 - float(pub))} | {r.get('vs_published') or ''} " if pub not in (None, "")
                   else "| - | no published value ")
        softmax, tammes = _certified(r, "rho_softmax"), _certified(r, "rho_tammes")
        out.append(
            f"| {int(r['d'])} | {int(r['K'])} | {softmax} | {tammes} "
            f"| {round_down(float(r['one_minus_t']))} | {'yes' if _truthy(r['agree']) else '**no**'} {ref}"
            f"| {int(r['rattlers_softmax'])} | {int(r['rattlers_tammes'])} | {float(r['time']):.1f} |"
        )
    return "\n".join(out) + "\n"


def _certified(r, key: str) -> str:
    """A row's rho as the table prints it: the closed form where Theorem 3.3 gives one (exact),
    else the lower end of the code's certificate, rounded down (the number that bounds the
    optimum; both codes printed alike, so their order is never an artefact of rounding)."""
    known, lower = r.get("known_optimum"), r.get(f"{key}_lower")
    exact = known not in (None, "")
    return lower_bound_text(known if exact else r[key], lower if lower not in (None, "") else r[key], exact=exact)


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v)
