"""The settings of one multistart search, held in one frozen object.

Every default lives here; :func:`SearchSettings.for_size` fills the ones that
depend on (d, K) and rejects unknown options; the object is passed whole to
every layer (restarts, polish) and saved with the code through :meth:`asdict`.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import numpy as np

from .descent import sharpness_scale
from .symmetry import DEFAULT_GROUPS, rotation_group

__all__ = ["SearchSettings", "SHARPEN_MIN_VARIABLES", "HOP_MAX_VARIABLES", "SOFTMAX_HOP_MAX_VARIABLES", "LARGE_K",
           "ROTATION_MIN_K",
           "LP_MAX_VARIABLES", "sharpens", "large_k", "default_time_limit"]

#: Sharpen (L-BFGS continuation, :mod:`.sharpen`) before the LP polish from this many
#: tangent variables K (d - 1) on: above it each LP takes seconds (d = 10, K = 100:
#: 0.5-1.5 s for 900 variables) while sharpening gets within about 1e-8 of the basin's
#: optimum in a few seconds.
SHARPEN_MIN_VARIABLES = 400


#: Restarts polish and basin-hop (LP polish after each perturbation) up to this many tangent
#: variables K (d - 1), where an LP polish takes a fraction of a second; above it the time
#: goes to more descents (at d = 6, K = 72 one polish took 6-9 s).
HOP_MAX_VARIABLES = 300


#: Softmax restarts basin-hop after their Softmax stage (``softmax_hops``) up to this many tangent
#: variables K (d - 1).  Measured, ``softmax_code(d, K, seed=0, time_limit=60, executor="serial")``
#: with and without the hops (one core each, two runs at once): rho 0.66893 / 0.66553 at
#: (10, 100) (seeds 0-3 with the hops: 0.668929, 0.669040, 0.669027, 0.668930; measured before
#: ``softmax_hop_gain``, which moved seed 2 by 3e-7), 0.56795 / 0.56626 at (8, 100),
#: 0.424968 / 0.424965 at (6, 100); but 0.54578 / 0.54638 at (10, 200), 0.84745 / 0.84922 at
#: (20, 100) and, in 120 s, 0.76858 / 0.76969 at (20, 200): there a hop costs seconds, and a
#: few long chains of hops lose to many restarts.
SOFTMAX_HOP_MAX_VARIABLES = 1000

#: In d = 3, restarts are rotation-symmetric (``rotation_period``) from this many points on.
#: Below it the free search with hops reaches every best known code of the benchmark list in
#: 120 s, and the symmetric restarts only take time from it; above it they reach codes the free
#: search misses.  Measured (``bench_solvers.py --cells 3:5-60,3:65-130:5 --seeds 0
#: --time-limit 120``, two cells at a time on 2 cores): with rotation-symmetric restarts at every
#: K, the best known value at K = 90, 120 and 130 (missed without them) but no longer at K = 49,
#: 53 and 65 (hit without them, in 62-85 s: one lucky free restart in about 30).
ROTATION_MIN_K = 80

#: Default :attr:`SearchSettings.endgame_share` where the rotation-symmetric restarts run.
ENDGAME_SHARE = 0.15

#: From this many classes on, ``softmax_code``/``tammes_code`` take the large-K path
#: (:func:`.large_k.spread_code`: nearest-neighbour pairs, O(K (d + m)) memory): a dense
#: descent step costs ``K^2 d`` and three ``K x K`` arrays (at K = 2000, d = 128: about
#: 0.1 s a step, thousands of steps a restart).
LARGE_K = 2000

#: Above this many tangent variables K (d - 1) the final LP polish is skipped (one LP would
#: not finish in any budget); the sharpened point is the result.
LP_MAX_VARIABLES = 20000


def large_k(d: int, K: int, device=None) -> bool:
    """Whether (d, K) takes the large-K path (always for an explicit GPU ``device``)."""
    return K >= LARGE_K or (device is not None and str(device).startswith("cuda"))


def sharpens(d: int, K: int) -> bool:
    """Whether the final polish sharpens first (see :data:`SHARPEN_MIN_VARIABLES`)."""
    return K * (d - 1) >= SHARPEN_MIN_VARIABLES


def default_time_limit(d: int, K: int) -> float:
    """Seconds a default run may take: ``30 + K (d - 1) / 2``, at most 300.

    The adaptive stop usually ends small problems much earlier (``softmax_code(3, 20)``:
    about 15 s on one core).
    """
    return float(min(300.0, 30.0 + 0.5 * K * (d - 1)))


@dataclass(frozen=True)
class SearchSettings:
    """Options of :func:`spherecodes.softmax_code` / :func:`spherecodes.tammes_code` searches.

    Attributes
    ----------
    restarts : int
        Cap on random restarts.
    time_limit : float or None
        Wall-clock seconds for the whole call, final polish included (None: unbounded).
    adaptive : bool
        Stop once the first ``n >= min_restarts`` restarts reached their best value
        ``stop_hits`` times (within ``hit_tol``).
    stop_hits, min_restarts : int
    hit_tol : float
        Relative tolerance for two restarts to "reach the same value" before the polish.
    descent : bool
        Run the log-sum-exp descent (:func:`.descent.lse_descent`); off: random points are polished.
    beta_spread : tuple of float
        Starting sharpness of restart i: ``beta_base * sharpness_scale(d, K)**0.5`` times a
        log-uniform, golden-ratio stratified factor in this range.  Which basin the
        continuation picks depends on it in a (d, K)-dependent way (measured, antipodal
        starts: the E6 and E7 roots from 1-3, the D5 roots only from about 30).
    beta_base, beta_max : float
        Scale of the starting sharpness (see ``beta_spread``) and the end of the descent's
        continuation (Softmax problems that sharpen stop it at ``softmax_beta``, or at the
        highest starting sharpness :meth:`beta_top` if that is larger; Tammes sharpening
        starts at ``beta_max``).
    steps_per_beta : int
        Adam steps per sharpness value of restarts 0 and 1; restarts ``2c, 2c + 1`` take
        ``steps_cycle[c % len(steps_cycle)]`` times as many (a slower anneal finds the E7
        roots from 4 of 4 antipodal starts at 1000 steps, 0 of 4 at 200).
    steps_cycle : tuple of int
    lr, decay : float
        Adam step length ``lr * (beta0 / beta)**decay`` at sharpness ``beta``.
    antipodal : bool
        Every other restart searches centrally symmetric codes ``[X, -X]`` (for odd K,
        a symmetric (K + 1)-code with one codeword dropped).  Default: on, except in
        d = 3 where the free restarts run the overlap search (``overlap_patience`` and
        ``hops`` > 0, ``polish`` on: K <= 150 by default).
    softmax_antipodal_period : int
        Softmax problems with ``sharpen``: only restarts ``index % period == 1`` are
        antipodal (at least 2; 2 is every other).  Measured after the Softmax stage, one
        core, 12-50 restarts of each kind: at (20, 200) antipodal restarts reach mean rho
        0.7562 against 0.7685 for free ones, at (10, 100) the same mean (0.6622) with half
        the spread (best of 50: 0.66581 vs 0.66804); at (8, 240) they give E8 (rho 0.5)
        4 times in 4, free ones once in 4, so some stay.
    rotation_period : int
        d = 3: restarts with ``index % rotation_period == rotation_period // 2`` are
        rotation-symmetric (0: none; else an even number).  With ``antipodal`` it must be a
        multiple of 4, so that they never fall on the antipodal restarts of period 2 (those of
        an odd ``softmax_antipodal_period`` can: those stay antipodal).  Default from
        :data:`ROTATION_MIN_K` points on: 2 (every other restart, the odd ones) without
        antipodal restarts (d = 3 with the overlap search), else 4 (restarts 2, 6, 10, ...);
        below it 0.  Every other restart, not one in four: at K = 110, 115 and 125, seeds 4-7,
        one core each, 120 s, 9 of 12 runs reached the best known value against 7 of 12 with
        one in four (``/work/exp/s31/hit_*_47.log``); with seeds 0-3, 5 of 12 against 6 of 12
        at daae151 (docs/theory.md).
        Such a restart makes ``rotation_tries`` searches among codes invariant under a
        rotation group, sweeping ``rotation_groups`` in turn (:mod:`.symmetry`), keeps the best, then
        polishes and hops like a free restart (which may break the symmetry).  Measured at
        d = 3, seed 0, 12 s of symmetric descents + LP polish per group, one core: the best
        known value at K = 120 (group I, in 0.7 s), 90 (C2, C3, D3) and 130 (C2, C5, D5), all
        missed by the free search in 120 s; K = 125 from C3- and D3-invariant codes found by
        symmetric overlap searches, after the search without the symmetry (docs/theory.md).
    rotation_groups : tuple of str
        The groups swept, in this order (:func:`.symmetry.rotation_group` names; those with
        no orbit decomposition of K are skipped).
    rotation_tries : int
        Symmetric searches per rotation-symmetric restart: log-sum-exp descents, or where
        the overlap search runs (``overlap_patience``), overlap basin hopping among the
        invariant codes with half its patience; the best of these goes on with the
        whole patience, and the restart then continues the search without the symmetry.
    antipodal_tries : int
        Antipodal descents per antipodal restart (the best is kept): one is much
        cheaper than a free restart that basin-hops, so where restarts hop an antipodal
        restart makes several (``1 + hops // 4`` for d >= 4), which keeps the time given
        to the two kinds comparable.
    hops : int
        Basin-hopping moves per free (non-antipodal) restart: the descent's point is
        LP-polished, then perturbed and LP-polished again, kept if better.  Where the
        overlap search runs (``overlap_patience``, d = 3) it replaces these hops, and
        ``hops > 0`` only switches it on.
    hop_patience : int
        A restart stops hopping after this many failed hops in a row.
    hop_stepsize : float
        Perturbation of a hop, in units of the current minimum angle.
    hop_radius : float
        Initial trust radius of the LP polish after a hop.
    hop_share : float
        The share of the K codewords that a hop moves: all (1, the default), else those
        nearest a random codeword.  Measured at d = 3, K = 49, 65, 85, 90 and 105-130 by
        fives, ``tammes_code(3, K, seed=0, time_limit=120, executor="serial")``, two at a
        time on 2 cores: 0.125 (with ``hop_stepsize=0.5``) reached the best known value at
        K = 49 and 65 (in 36 s and 6 s), the default at 49, 65 and 105 (62, 85, 76 s).
    fine_hop_stepsize : float
        After their hops, rotation-symmetric restarts hop again, every codeword moved by this
        step (in units of the minimum angle; same ``hop_patience`` and ``hops``; 0: off).
        At K = 110 in d = 3 the near-optimal codes are many distinct local optima within 1e-8
        of each other, which steps of 0.15 did not connect (1 run) and steps of 0.02 did (4 of 5
        runs): 60 s of LP hops (up to 400, 400 failures in a row allowed) from a C5 code at
        0.939026296457 reached the best known 0.939026290863 in 2 of 3 runs with steps of 0.02,
        in 0 of 3 with 0.05 (0.939026291719 twice) and 0 of 1 with 0.15; from a D3 code at
        0.939026298922, in 2 of 2 with steps of 0.02 (``/work/exp/s31/fine110*.log``).
        At K = 115 steps of 0.02 did not connect 0.941921303080 to the best known
        0.941916896842 (2 runs, ``fine115_C2.log``).  The solver's own setting (5 failures, 30
        hops) was measured by the benchmark only (docs/tables.md: K = 110 with 4 seeds of 4 at
        3f33844, 3 of 4 after the stop-32 change of the group sweep).
    symmetric_hop_stepsize : float
        Where restarts hop and an antipodal restart makes several symmetric descents
        (d >= 4), each is followed by symmetric hops (:func:`.multistart._symmetric_hops`):
        the perturbation of the free half ``X`` of ``[X, -X]``, in units of the
        current minimum angle.
    polish : bool
        Polish the best candidates to a KKT point (trust-region sequential LP, :mod:`.polish`).
    n_polish : int
        How many of the best distinct restarts are polished at the end.
    polish_reserve : float
        Fraction of ``time_limit`` kept for the final polish (0.2; 0.02 where the restarts
        are LP-polished already).
    endgame_share : float
        Fraction of ``time_limit`` kept, on top of ``polish_reserve``, for fine basin hops
        from the best code found (:func:`.multistart.fine_hops`: every codeword moved by
        ``fine_hop_stepsize``, kept if better, until the time is up), where the restarts
        run one at a time (``executor="serial"``, or one CPU) and ran out of time (not
        after the adaptive stop, a ``progress`` stop or Ctrl-C).  Default 0.15 where
        rotation-symmetric restarts run (d = 3, K >= 80), else 0.  Why: on one core a
        120 s search at K = 110 runs 6-8 restarts and can end on one of many optima within
        1e-8 of the best known, which fine hops connect; with a restart per core the
        reserve cost a restart that would have hit (K = 115, docs/theory.md, stop 34).
    sharpen : bool
        L-BFGS sharpness continuation before the LP polish (large problems).
    radius, softmax_radius, sharpened_radius : float
        Initial trust radii of the LP polishes.
    polish_iterations, sharpened_polish_iterations : int
        LP solves allowed in each polish.
    softmax_beta : float
        Softmax problems with ``sharpen``: every restart sharpens the Softmax objective
        (:func:`.sharpen.sharpen_softmax`, from the exact separating directions) starting
        at this sharpness, low enough to leave the Tammes basin for a better Softmax one.
    softmax_beta_max : float
        Where that stage stops in a restart; the final polish continues the ``n_polish``
        best from the next sharpness on (:meth:`softmax_polish_beta`).  Stopping early
        keeps the ranking and leaves time for more restarts (measured at d = 10, K = 100,
        16 restarts on one core: correlation 1.000 between rho at 3200 and rho continued
        to 1e10, about 2.5e-4 below it; 1.4 s instead of 3.3 s a restart;
        ``softmax_code(10, 100, time_limit=60, executor="serial")``, seeds 0 and 1: 15
        restarts instead of 9, the same best basin).
    softmax_iterations : int
        L-BFGS iterations per sharpness value of that stage.
    softmax_hops : int
        Softmax problems with ``sharpen``: basin-hopping moves per restart after its Softmax
        stage (:func:`.multistart._softmax_hops`): a cap of codewords moves, the stage
        reruns, the result is kept if rho rises.
    softmax_hop_patience : int
        A restart stops those hops after this many in a row that did not raise rho by more
        than ``softmax_hop_gain``.
    softmax_hop_gain : float
        The rise of rho that counts as a new basin: the stage stops short of convergence,
        so rerunning it gains about 1e-6 in the same basin (at d = 10, K = 100); a new
        basin gained 2e-4 to 2e-3.
    softmax_hop_stepsize : float
        Their step, in units of the current minimum angle.
    softmax_hop_share : float
        The share of the K codewords that a hop moves (those nearest a random codeword).
    overlap_patience : int
        Free restarts (neither antipodal nor rotation-symmetric) that hop (``hops > 0``,
        ``polish`` on; Tammes searches and the Tammes stage of small Softmax ones) search by
        overlap-penalty basin hopping instead of the log-sum-exp descent and LP hops
        (:func:`.overlap.overlap_hops`), until this many moves in a row lower neither the
        overlap energy nor the max inner product, then LP-polish (0: off; default 100 in
        d = 3, else 0).  There ``hops`` only switches the search on.  A move costs
        milliseconds where an LP hop costs a tenth of a second.
    overlap_share, overlap_stepsize : float
        Its move: the codewords of a cap of ``overlap_share`` of them (default 0.1), nearest
        a random one, shifted by ``overlap_stepsize`` (default 0.7) times the minimum angle
        (:func:`.multistart._cap_jitter`).
    """

    restarts: int = 64
    time_limit: float | None = 60.0
    adaptive: bool = True
    stop_hits: int = 4
    min_restarts: int = 8
    hit_tol: float = 3e-5
    descent: bool = True
    beta_spread: tuple = (1.0, 40.0)
    beta_base: float = 1.0
    beta_max: float = 1e6
    steps_per_beta: int = 200
    steps_cycle: tuple = (1, 2, 4)
    lr: float = 0.01
    decay: float = 0.75
    antipodal: bool = True
    softmax_antipodal_period: int = 4
    antipodal_tries: int = 1
    rotation_period: int = 0
    rotation_groups: tuple = DEFAULT_GROUPS
    rotation_tries: int = 8
    hops: int = 0
    hop_patience: int = 5
    hop_stepsize: float = 0.15
    hop_radius: float = 0.1
    hop_share: float = 1.0
    symmetric_hop_stepsize: float = 0.3
    fine_hop_stepsize: float = 0.02
    polish: bool = True
    n_polish: int = 3
    polish_reserve: float = 0.2
    endgame_share: float = 0.0
    sharpen: bool = False
    radius: float = 1e-3
    softmax_radius: float = 0.02
    sharpened_radius: float = 1e-3
    polish_iterations: int = 500
    sharpened_polish_iterations: int = 10
    softmax_beta: float = 50.0
    softmax_beta_max: float = 3200.0
    softmax_iterations: int = 300
    softmax_hops: int = 0
    softmax_hop_patience: int = 10
    softmax_hop_stepsize: float = 1.0
    softmax_hop_gain: float = 1e-5
    softmax_hop_share: float = 0.125
    overlap_patience: int = 0
    overlap_share: float = 0.1
    overlap_stepsize: float = 0.7

    def __post_init__(self):
        from .._validation import check_int, check_real

        # integral floats (2.0) are stored as int: the counts are used as range bounds and saved as JSON
        for names, minimum in ((("restarts", "stop_hits", "min_restarts", "steps_per_beta", "n_polish",
                                 "polish_iterations", "antipodal_tries", "softmax_iterations", "rotation_tries"), 1),
                               (("hops", "hop_patience", "sharpened_polish_iterations", "softmax_hops",
                                 "softmax_hop_patience", "rotation_period", "overlap_patience"), 0),
                               (("softmax_antipodal_period",), 2)):
            for name in names:
                object.__setattr__(self, name, check_int(getattr(self, name), name, minimum=minimum))
        for name in ("hit_tol", "beta_base", "beta_max", "lr", "hop_stepsize", "hop_radius", "symmetric_hop_stepsize",
                     "radius", "softmax_radius", "sharpened_radius", "softmax_beta", "softmax_beta_max",
                     "softmax_hop_stepsize", "softmax_hop_share", "hop_share", "overlap_share", "overlap_stepsize"):
            _check_positive(getattr(self, name), name)
        _check_positive(self.softmax_hop_gain, "softmax_hop_gain", strict=False)
        _check_positive(self.fine_hop_stepsize, "fine_hop_stepsize", strict=False)
        if self.softmax_beta_max < self.softmax_beta:
            raise ValueError(f"softmax_beta_max must be at least softmax_beta ({self.softmax_beta!r}), "
                             f"got {self.softmax_beta_max!r}")
        _check_positive(self.decay, "decay", strict=False)
        if self.time_limit is not None:
            _check_positive(self.time_limit, "time_limit")
        if not 0.0 <= check_real(self.polish_reserve, "polish_reserve") < 1.0:
            raise ValueError(f"polish_reserve must be in [0, 1), got {self.polish_reserve!r}")
        if not 0.0 <= check_real(self.endgame_share, "endgame_share") < 1.0 - self.polish_reserve:
            raise ValueError(f"endgame_share must be at least 0 and below 1 - polish_reserve "
                             f"({1.0 - self.polish_reserve:g}), got {self.endgame_share!r}")
        for name in ("hop_share", "softmax_hop_share", "overlap_share"):
            if getattr(self, name) > 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        spread = self.beta_spread
        if isinstance(spread, (str, bytes)) or np.ndim(spread) != 1 or len(spread) != 2:
            raise ValueError(f"beta_spread must be two positive numbers (lo, hi), got {spread!r}")
        lo, hi = (check_real(b, f"beta_spread[{i}]") for i, b in enumerate(spread))
        if not 0.0 < lo <= hi < math.inf:
            raise ValueError(f"beta_spread must be two positive numbers lo <= hi, got {self.beta_spread!r}")
        period = self.rotation_period
        if period != 0 and (period < 2 or period % 2):
            raise ValueError(f"rotation_period must be 0 or an even number >= 2, got {period!r}")
        if period and self.antipodal and (period // 2) % 2:
            raise ValueError(f"rotation_period {period} puts the rotation-symmetric restarts (index % {period} == "
                             f"{period // 2}) on odd indices, which are antipodal; use a multiple of 4 or antipodal=False")
        groups = self.rotation_groups
        if not isinstance(groups, (list, tuple)) or not groups or not all(isinstance(g, str) for g in groups):
            raise ValueError(f"rotation_groups must be a non-empty sequence of group names, got {groups!r}")
        for name in groups:
            try:
                rotation_group(name)
            except ValueError as exc:
                raise ValueError(f"rotation_groups: {exc}") from None
        object.__setattr__(self, "rotation_groups", tuple(str(g) for g in groups))
        if not self.steps_cycle or any(isinstance(c, bool) or not isinstance(c, numbers.Integral) or c < 1
                                       for c in self.steps_cycle):
            raise ValueError(f"steps_cycle must be a non-empty sequence of positive integers, got {self.steps_cycle!r}")

    @classmethod
    def for_size(cls, d: int, K: int, **options) -> "SearchSettings":
        """Defaults for (d, K), overridden by ``options`` (``None`` values keep the default).

        Raises
        ------
        TypeError
            An option that is not a field of :class:`SearchSettings`.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise TypeError(f"unknown solver option(s) {unknown}; known: {sorted(names)}")
        size = {
            "restarts": int(min(2000, max(16, 8 * K))),
            "time_limit": default_time_limit(d, K),
            "hops": 30 if (d >= 3 and K > 2 * d and K * (d - 1) <= HOP_MAX_VARIABLES) else 0,
            # restarts that hop are LP-polished already: the final polish needs little time
            # (at (3, 120): 0.04 s; 0.05 of a 120 s limit left 6 s unused)
            "polish_reserve": 0.02 if K * (d - 1) <= HOP_MAX_VARIABLES else 0.2,
            "sharpen": sharpens(d, K),
            "softmax_hops": 1000 if sharpens(d, K) and K * (d - 1) <= SOFTMAX_HOP_MAX_VARIABLES else 0,
            # 100, not 200: shorter restarts leave the rotation-symmetric ones (K >= 80) their turns
            # (bench cell (3, 90), seed 0, 120 s, one core: hit by the 5th of them with 100, missed with
            # 200 after 4; (3, 65), (3, 80) and (3, 85) hit with both)
            "overlap_patience": 100 if d == 3 else 0,
        }
        size.update({k: v for k, v in options.items() if v is not None})
        # d = 3: few best known codes are centrally symmetric, so no extra symmetric descents, and
        # where the free restarts run the overlap search none at all (bench cell (3, 85), seed 0,
        # 120 s, one core: the best known value with every restart free, missed with half antipodal)
        size.setdefault("antipodal_tries", 1 + size["hops"] // 4 if d >= 4 else 1)
        size.setdefault("antipodal", not (d == 3 and _positive(size["hops"]) and _positive(size["overlap_patience"])
                                          and size.get("polish", True) is not False))
        # every other restart where none is antipodal (the d = 3 default), else one in four
        size.setdefault("rotation_period", (4 if size["antipodal"] else 2) if d == 3 and K >= ROTATION_MIN_K else 0)
        size.setdefault("endgame_share", ENDGAME_SHARE if d == 3 and K >= ROTATION_MIN_K and _positive(size["hops"])
                        else 0.0)
        return cls(**size)

    def beta0(self, d: int, K: int, index: int) -> float:
        """Starting sharpness of restart ``index``."""
        lo, hi = self.beta_spread
        u = golden_fraction(index)
        return float(self.beta_base * sharpness_scale(d, K) ** 0.5 * lo * (hi / lo) ** u)

    def beta_top(self, d: int, K: int) -> float:
        """The highest starting sharpness of any restart (the top of the spread)."""
        return float(self.beta_base * sharpness_scale(d, K) ** 0.5 * self.beta_spread[1])

    @property
    def overlap_search(self) -> bool:
        """Whether restarts run overlap-penalty basin hopping (``overlap_patience`` and ``hops`` > 0,
        ``polish`` on): the free ones, and the rotation-symmetric ones among invariant codes."""
        return bool(self.polish and self.hops > 0 and self.overlap_patience > 0)

    def softmax_stage(self, problem: str) -> bool:
        """Whether restarts of ``problem`` sharpen the Softmax objective (and the polish finishes it)."""
        return problem == "softmax" and self.polish and self.sharpen

    def softmax_polish_beta(self) -> float:
        """Sharpness at which the final polish continues a restart's Softmax stage.

        The stage runs ``softmax_beta * 4**i <= softmax_beta_max``
        (:func:`.sharpen.sharpen_softmax`'s factor 4); the polish starts one step above
        the last of these.
        """
        steps = math.floor(math.log(self.softmax_beta_max / self.softmax_beta, 4.0) + 1e-9)
        return float(self.softmax_beta * 4.0 ** (steps + 1))

    def steps(self, index: int) -> int:
        """Adam steps per sharpness value of restart ``index``."""
        return int(self.steps_per_beta * self.steps_cycle[(index // 2) % len(self.steps_cycle)])

    def asdict(self) -> dict:
        """JSON-ready dict of every setting."""
        out = dataclasses.asdict(self)
        out["beta_spread"] = list(self.beta_spread)
        out["steps_cycle"] = list(self.steps_cycle)
        out["rotation_groups"] = list(self.rotation_groups)
        return out


_GOLDEN = 0.6180339887498949


def golden_fraction(i: int) -> float:
    """The ``i``-th point in [0, 1) of the golden-ratio sequence started at 0.5: evenly
    spread for every prefix, the same for the same ``i`` (restart and try schedules)."""
    return (0.5 + i * _GOLDEN) % 1.0


def _positive(value) -> bool:
    """Whether a count option is a number > 0 (a bad value is left to the checks of ``__post_init__``)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0


def _check_positive(value, name, *, strict=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (value > 0 if strict else value >= 0) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite {'positive' if strict else 'non-negative'} number, got {value!r}")
