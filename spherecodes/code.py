"""The :class:`SphereCode` result type: a code on OB(d, K), its measures and provenance.

Returned by :func:`spherecodes.softmax_code` and :func:`spherecodes.tammes_code`;
can also wrap any code with :meth:`SphereCode.from_W`.  Saved as a single
``.npz`` file holding ``W`` (and the per-class distances and per-restart values)
plus a JSON metadata string, written atomically.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._validation import ArgumentTypeError, as_code, check_rtol, check_seconds
from .formatting import bracket

from .io import json_default, save_npz_atomic

__all__ = ["SphereCode"]

_FORMAT = "spherecodes.SphereCode/1"
_PROBLEMS = ("softmax", "tammes", "given")


@dataclass(frozen=True, repr=False, eq=False)
class SphereCode:
    """A code of K unit vectors in R^d with its separation measures.

    Attributes
    ----------
    W : ndarray, shape (d, K)
        The code; columns are unit vectors.
    problem : str
        ``"softmax"`` (maximizes ``rho_one_vs_rest``), ``"tammes"`` (maximizes
        ``rho_one_vs_one``) or ``"given"``.
    rho_one_vs_rest : float
        Minimum one-vs-rest distance ``min_k dist(w_k, conv{w_j : j != k})``.
    rho_lower, rho_upper : float
        Certificate ``rho_lower <= rho_one_vs_rest <= rho_upper`` from the exact hull solver.
        When a time limit cut the certificate short (``settings["certified_classes"]``
        below K, see :meth:`from_W`), the classes left are bounded by their nearest
        codeword only: ``rho_lower`` is then near ``1 - max_inner_product``, and
        ``rho_one_vs_rest`` and ``distances`` are upper bounds attained by hull points.
    rho_one_vs_one : float
        Minimum pairwise Euclidean distance.
    max_inner_product : float
        Largest ``<w_i, w_j>``, ``i != j``.
    distances : ndarray, shape (K,)
        One-vs-rest distance of every class.
    rattlers : ndarray of int
        Classes whose distance exceeds the minimum (relative tolerance ``rattler_rtol``).
    method : str
        How ``W`` was obtained: ``"numeric"`` or ``"closed-form:<name>"`` or ``"given"``.
    restarts : int
        Random restarts that ran.
    n_best : int
        How many of them reached the best value (within ``settings["success_tol"]``).
    values : ndarray, shape (restarts,)
        Final objective of every restart, in seed order (``max_inner_product`` for
        Tammes, ``rho_one_vs_rest`` for Softmax).
    seed : int or None
        Root entropy of the ``numpy.random.SeedSequence`` the restarts were spawned from.
    settings : dict
        Solver settings (JSON-serializable).
    timings : dict
        Seconds: ``"total"`` (the final measures included) and per stage (for the
        solvers' codes ``"search"``, ``"polish"``, ``"measures"``).
    rattler_rtol : float
        Tolerance used for ``rattlers``.
    status : str
        Why the solver stopped: ``"closed_form"``, ``"adaptive"`` (the best value was reached
        often enough), ``"restarts"`` (all ran), ``"time_limit"``, ``"interrupted"`` (Ctrl-C),
        ``"callback"`` (the ``progress`` callable returned True);
        ``""`` for a given code.
    message : str
        The same in words, with the outcome of the final polish.

    See Also
    --------
    spherecodes.softmax_code, spherecodes.tammes_code : solvers that return one.
    spherecodes.separation : the measures stored here, for any array.

    References
    ----------
    Generalized Neural Collapse paper: ``rho_one_vs_rest`` is eq. (3)
    (Definition 2.1), ``rho_one_vs_one`` eq. (11), rattlers Definition 3.4.
    """

    W: np.ndarray
    problem: str
    rho_one_vs_rest: float
    rho_lower: float
    rho_upper: float
    rho_one_vs_one: float
    max_inner_product: float
    distances: np.ndarray
    rattlers: np.ndarray
    method: str = "given"
    restarts: int = 0
    n_best: int = 0
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seed: int | None = None
    settings: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    rattler_rtol: float = 1e-6
    status: str = ""
    message: str = ""

    # ------------------------------------------------------------------ build
    @classmethod
    def from_W(cls, W, *, problem: str = "given", normalize: bool = False, rattler_rtol: float = 1e-6,
               layout: str = "columns", n_jobs: int = 1, certificate_time_limit: float | None = None,
               **metadata) -> "SphereCode":
        """Wrap a code and compute every measure from it.

        Parameters
        ----------
        W : array_like, shape (d, K), or (K, d) for ``layout="rows"``
            Unit vectors (checked to 1e-8 in float64, to the input's precision
            otherwise, unless ``normalize``); numpy or torch.
        problem : str
            ``"softmax"``, ``"tammes"`` or ``"given"``.
        normalize : bool
            Rescale the columns to unit norm first.
        rattler_rtol : float
            Relative tolerance for rattlers.
        layout : {"columns", "rows"}
            Codewords as columns (default) or rows (``nn.Linear.weight``).
            The code's ``W`` is ``(d, K)`` either way.
        n_jobs : int, default 1
            Threads of the one-vs-rest certification
            (:func:`spherecodes.one_vs_rest_distances`; minutes at K = 10^4 on one).
        certificate_time_limit : float, optional
            Seconds for that certification, counted from this call (the checks
            and copy of ``W`` count; its ``time_limit``: the classes not reached
            are bounded by their nearest codeword, and
            ``settings["certified_classes"]`` records how many were solved).
            Default: no limit.
        **metadata
            ``method``, ``restarts``, ``n_best``, ``values``, ``seed``, ``settings``, ``timings``,
            ``status``, ``message``.

        Returns
        -------
        SphereCode
            A read-only copy of ``W`` as ``(d, K)`` with every measure
            computed (the one-vs-rest distance with its certificate).

        Raises
        ------
        ValueError
            If ``problem`` is not one of ``"softmax"``, ``"tammes"``,
            ``"given"``; if ``metadata`` has a key not listed above; if ``W``
            is not a finite 2-D code of ``K >= 2`` unit vectors (see
            :func:`spherecodes.rho_one_vs_rest`); if ``layout`` is not
            ``"columns"``/``"rows"``; if ``rattler_rtol`` or
            ``certificate_time_limit`` is negative or not finite; or if
            ``n_jobs`` is below 1.
        TypeError
            If ``W`` is complex or not numeric, ``normalize`` is not a bool,
            ``layout`` not a string, ``rattler_rtol`` or ``certificate_time_limit`` not a real
            number, ``n_jobs`` not an integer or ``settings`` not a dict
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

        See Also
        --------
        spherecodes.separation : the measures computed.
        spherecodes.load_weights : read ``W`` from a file first.

        Examples
        --------
        >>> from spherecodes import SphereCode, simplex_etf
        >>> code = SphereCode.from_W(simplex_etf(3, 4))
        >>> round(code.rho_one_vs_rest, 12), code.rattlers.tolist()
        (1.333333333333, [])
        """
        from .hull import one_vs_rest_distances
        from .measures import separation

        t_start = time.perf_counter()

        if problem not in _PROBLEMS:
            raise ValueError(f"problem must be one of {_PROBLEMS}, got {problem!r}")
        unknown = set(metadata) - {"method", "restarts", "n_best", "values", "seed", "settings", "timings",
                                   "status", "message"}
        if unknown:
            raise ValueError(f"unknown SphereCode fields: {sorted(unknown)}")
        check_rtol(rattler_rtol, "rattler_rtol")  # before minutes of certification
        if certificate_time_limit is not None:
            check_seconds(certificate_time_limit, "certificate_time_limit")
        W = np.array(as_code(W, normalize=normalize, layout=layout), dtype=np.float64, copy=True)
        W.setflags(write=False)
        settings = metadata.get("settings", {})
        if not isinstance(settings, dict):
            raise ArgumentTypeError(f"settings must be a dict, got {type(settings).__name__}")
        if certificate_time_limit is not None:     # the checks and copy of W above count too
            certificate_time_limit = max(0.0, certificate_time_limit - (time.perf_counter() - t_start))
        res = one_vs_rest_distances(W, n_jobs=n_jobs, time_limit=certificate_time_limit)
        # set from this certificate only: verify() relies on it
        metadata["settings"] = {k: v for k, v in settings.items() if k != "certified_classes"}
        if not res.complete:
            solved = int(res.solved.sum())
            metadata["settings"]["certified_classes"] = solved
            metadata["message"] = "; ".join(filter(None, [metadata.get("message", ""), (
                f"the time limit cut the certificate: {solved} of {res.distance.size} classes solved exactly, "
                f"the rest bounded by their nearest codeword (rho in {bracket(res.rho_lower, res.rho_upper, '.6g')}; "
                "one_vs_rest_distances(code.W) completes it)")]))
        s = separation(W, rtol=rattler_rtol, one_vs_rest=res)
        values = np.asarray(metadata.pop("values", np.zeros(0)), dtype=np.float64)
        distances = np.array(s.distances, dtype=np.float64)
        distances.setflags(write=False)
        return cls(W=W, problem=problem, rho_one_vs_rest=float(s.rho_one_vs_rest),
                   rho_lower=float(s.rho_one_vs_rest_lower), rho_upper=float(s.rho_one_vs_rest_upper),
                   rho_one_vs_one=float(s.rho_one_vs_one), max_inner_product=float(s.max_inner_product),
                   distances=distances, rattlers=np.asarray(s.rattlers, dtype=np.int64),
                   values=values, rattler_rtol=float(rattler_rtol), **metadata)

    # ------------------------------------------------------------ properties
    @property
    def d(self) -> int:
        """Dimension."""
        return int(self.W.shape[0])

    @property
    def K(self) -> int:
        """Number of classes."""
        return int(self.W.shape[1])

    @property
    def certified_classes(self) -> int:
        """Classes whose one-vs-rest distance the exact solver computed: K unless a time limit
        cut the certificate short (``settings["certified_classes"]``, see :meth:`from_W`)."""
        settings = self.settings if isinstance(self.settings, dict) else {}
        return int(settings.get("certified_classes", self.K))

    @property
    def min_angle(self) -> float:
        """Smallest angle between two codewords, radians: ``2 arcsin(rho_one_vs_one / 2)``.

        As :func:`spherecodes.measures.min_angle`: ``arccos`` of the inner product
        returns 0 for angles below about 1e-8 rad.

        See Also
        --------
        spherecodes.min_angle : the same from an array.
        """
        return float(2.0 * math.asin(min(1.0, self.rho_one_vs_one / 2.0)))

    @property
    def value(self) -> float:
        """The optimized objective: ``rho_one_vs_rest`` (softmax/given) or ``max_inner_product`` (tammes).

        The first is maximized (eq. (3)), the second minimized (eq. (11) as a
        cosine) by the respective solvers.
        """
        return self.max_inner_product if self.problem == "tammes" else self.rho_one_vs_rest

    # --------------------------------------------------------------- checks
    def verify(self, *, atol: float = 1e-9) -> bool:
        """Recompute every measure from ``W`` and compare with the stored ones.

        Checks unit norms, ``rho_one_vs_rest`` and its certificate, the per-class
        distances, ``rho_one_vs_one``, ``max_inner_product`` (directly from the Gram
        matrix), the rattlers, and the inequality ``rho >= 1 - max_inner_product``.
        The certificate is recomputed whole (minutes at K = 10^4).  For a code whose
        certificate a time limit cut short (``settings["certified_classes"]``), the
        stored distances and ``rho_one_vs_rest`` are checked as upper bounds, and its
        rattlers as a subset of the recomputed ones.

        Parameters
        ----------
        atol : float, keyword-only
            Absolute tolerance of every comparison (distances are
            dimensionless, on the unit sphere).

        Returns
        -------
        bool
            True when everything agrees.

        Raises
        ------
        ValueError
            Listing every measure that does not match.

        See Also
        --------
        spherecodes.one_vs_rest_distances : the recomputation of the distances.
        spherecodes.measures.rattlers_from_distances : the rattler rule.

        References
        ----------
        Generalized Neural Collapse paper, eq. (3), eq. (11), Definition 3.4.
        """
        from .hull import one_vs_rest_distances
        from .measures import rattlers_from_distances

        problems = []
        W = np.asarray(self.W, dtype=np.float64)
        norms = np.linalg.norm(W, axis=0)
        if np.max(np.abs(norms - 1.0)) > 1e-12:
            problems.append(f"column norms off by {np.max(np.abs(norms - 1.0)):.3g}")
        res = one_vs_rest_distances(W / norms)
        G = W.T @ W
        np.fill_diagonal(G, -np.inf)
        mip = float(G.max())
        D2 = np.maximum(2.0 - 2.0 * (W.T @ W), 0.0)
        np.fill_diagonal(D2, np.inf)
        rho11 = float(np.sqrt(D2.min()))
        rho = float(np.min(res.distance))

        def check(name, stored, fresh):
            if not np.allclose(stored, fresh, rtol=0, atol=atol):
                err = np.max(np.abs(np.asarray(stored, float) - np.asarray(fresh, float))) \
                    if np.shape(stored) == np.shape(fresh) else "shape"
                problems.append(f"{name}: stored {stored!r} vs recomputed {fresh!r} (diff {err})")

        # a time-limited certificate (from_W's certificate_time_limit) stores upper bounds
        partial = self.certified_classes < self.K
        if not partial:
            check("rho_one_vs_rest", self.rho_one_vs_rest, rho)
        if not (self.rho_lower - atol <= rho <= self.rho_upper + atol):
            problems.append(f"rho_one_vs_rest {rho!r} outside the stored certificate "
                            f"[{self.rho_lower!r}, {self.rho_upper!r}]")
        if not (float(np.min(res.lower)) <= self.rho_one_vs_rest + atol
                and (partial or self.rho_one_vs_rest <= float(np.min(res.upper)) + atol)):
            problems.append("stored rho_one_vs_rest outside the recomputed certificate")
        if np.shape(self.distances) != (self.K,):
            problems.append(f"distances has shape {np.shape(self.distances)}, expected ({self.K},)")
        elif partial:
            if np.any(res.distance > np.asarray(self.distances) + atol):
                problems.append("distances: a stored upper bound is below the recomputed distance")
        else:
            check("distances", np.asarray(self.distances), res.distance)
        check("rho_one_vs_one", self.rho_one_vs_one, rho11)
        check("max_inner_product", self.max_inner_product, mip)
        if rho < 1.0 - mip - atol:
            problems.append(f"rho_one_vs_rest {rho!r} < 1 - max_inner_product {1 - mip!r}")
        fresh_rattlers = rattlers_from_distances(res.distance, self.rattler_rtol)
        stored_rattlers = np.sort(np.asarray(self.rattlers))
        # a time-limited certificate finds rattlers among its solved classes only
        if not (np.isin(stored_rattlers, fresh_rattlers).all() if partial
                else np.array_equal(stored_rattlers, fresh_rattlers)):
            problems.append(f"rattlers: stored {list(self.rattlers)} vs recomputed {list(fresh_rattlers)}")
        if problems:
            raise ValueError("SphereCode.verify failed: " + "; ".join(problems))
        return True

    # ------------------------------------------------------------------- io
    def _metadata(self) -> dict:
        return {
            "format": _FORMAT, "problem": self.problem, "d": self.d, "K": self.K,
            "rho_one_vs_rest": self.rho_one_vs_rest, "rho_lower": self.rho_lower, "rho_upper": self.rho_upper,
            "rho_one_vs_one": self.rho_one_vs_one, "max_inner_product": self.max_inner_product,
            "rattlers": [int(r) for r in self.rattlers], "method": self.method, "restarts": int(self.restarts),
            "n_best": int(self.n_best), "seed": self.seed, "settings": self.settings, "timings": self.timings,
            "rattler_rtol": self.rattler_rtol, "status": self.status, "message": self.message,
        }

    def save(self, path) -> Path:
        """Write ``W``, the distances, the per-restart values and JSON metadata to ``path`` (.npz), atomically.

        Parameters
        ----------
        path : str or path-like
            Destination; ``.npz`` is appended when missing.

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        TypeError
            If ``settings`` or ``timings`` hold a value JSON cannot represent
            (nothing is written).
        OSError
            If the file cannot be written (a file already at ``path`` is left as it was).

        See Also
        --------
        load : read it back.
        spherecodes.io.save_npz_atomic : the atomic write.
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        meta = json.dumps(self._metadata(), default=json_default, sort_keys=True)
        save_npz_atomic(path, W=np.asarray(self.W), distances=np.asarray(self.distances),
                        values=np.asarray(self.values), metadata=np.array(meta))
        return path

    @classmethod
    def load(cls, path, *, verify: bool = True) -> "SphereCode":
        """Read a file written by :meth:`save`; by default :meth:`verify` the loaded code.

        Nothing in the file is unpickled and no array is allocated before its
        declared size is checked against the file (see :mod:`spherecodes._readers`).

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`.
        verify : bool, keyword-only
            Recompute the measures and compare (default True).

        Returns
        -------
        SphereCode

        Raises
        ------
        ValueError
            One line naming the file: missing, a directory or a pipe, empty,
            truncated or corrupt, not a SphereCode file, malformed metadata, or
            (with ``verify``) stored measures that do not match ``W``.

        See Also
        --------
        save : the writer.
        verify : the check run on load.
        spherecodes.load_weights : only the matrix ``W``, from any format.
        """
        from ._readers import npz_names, read_npz

        path = Path(path)
        names = npz_names(path)
        if "W" not in names or "metadata" not in names:
            raise ValueError(f"{path} is not a SphereCode file (missing W or metadata)")
        z = read_npz(path, ["W", "distances", "values", "metadata"], kinds="biufcU")
        try:
            meta = json.loads(str(z["metadata"]))
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{path}: malformed metadata ({type(exc).__name__})") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: malformed metadata (not a JSON object)")
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path}: unknown format {meta.get('format')!r}, expected {_FORMAT!r}")
        fields = _metadata_fields(meta, path)
        try:
            W = as_code(z["W"], rows_option=False)
            distances = np.array(z["distances"], dtype=np.float64) if "distances" in z else None
            values = np.array(z.get("values", np.zeros(0)), dtype=np.float64).reshape(-1)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        W = np.array(W, dtype=np.float64)
        W.setflags(write=False)
        if distances is None or distances.shape != (W.shape[1],):
            raise ValueError(f"{path}: distances missing or of the wrong shape")
        distances.setflags(write=False)
        code = cls(W=W, distances=distances, values=values, **fields)
        if verify:
            try:
                code.verify()
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
        return code

    # ------------------------------------------------------------------ plot
    def plot(self, path=None, **options):
        """Draw the code: sphere view (d = 2, 3), Gram-matrix heat map, one-vs-rest histogram.

        Parameters
        ----------
        path : str or path-like, optional
            Also save the figure there, atomically (``.png``, ``.svg`` or ``.pdf``).
        **options
            Passed to :func:`spherecodes.plotting.plot_code` (``title``, ``hull``, ``max_gram``, ``dpi``).

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ValueError
            A ``path`` without a ``.png``/``.svg``/``.pdf`` suffix, or an
            option out of range (``max_gram < 2``, ``dpi`` outside ``[10, 1200]``).
        TypeError
            An unknown option, or an option of the wrong type.
        ImportError
            If matplotlib is not installed.

        See Also
        --------
        spherecodes.plotting.plot_code : the drawing.
        """
        from .plotting import plot_code

        options.setdefault("title", f"{self.problem} code, d={self.d}, K={self.K}:  rho one-vs-rest = "
                                    f"{self.rho_one_vs_rest:.10g}")
        return plot_code(self.W, path=path, **options)

    # ----------------------------------------------------------------- repr
    def __repr__(self) -> str:
        lines = [
            f"SphereCode(problem={self.problem!r}, d={self.d}, K={self.K}, method={self.method!r})",
            f"  rho_one_vs_rest   = {self.rho_one_vs_rest:.15g}  (certified in "
            f"{bracket(self.rho_lower, self.rho_upper, '.15g')})",
            f"  rho_one_vs_one    = {self.rho_one_vs_one:.15g}",
            f"  max_inner_product = {self.max_inner_product:.15g}  (min angle "
            f"{math.degrees(self.min_angle):.10g} deg)",
            f"  rattlers          = {_short_list(self.rattlers)}",
        ]
        if self.restarts:
            lines.append(f"  restarts          = {self.restarts} run, {self.n_best} reached the best value"
                         f" (seed={self.seed})")
        if self.timings:
            lines.append(f"  time              = {self.timings.get('total', float('nan')):.3g} s")
        if self.message:
            lines.append(f"  stopped           = {self.message}")
        return "\n".join(lines)


def _short_list(indices, limit: int = 10) -> str:
    """``[i, j, ...]`` for a few indices, ``n classes: [i, j, ..., z]`` for many."""
    items = [int(i) for i in indices]
    if len(items) <= limit:
        return str(items)
    head = ", ".join(map(str, items[: limit - 1]))
    return f"{len(items)} classes: [{head}, ..., {items[-1]}]"


def _metadata_fields(meta: dict, path) -> dict:
    """The constructor fields stored in a saved code's metadata, each checked for its type."""
    def get(name, kind, default=None, required=True):
        if name not in meta:
            if required:
                raise ValueError(f"{path}: malformed metadata (no {name!r})")
            return default
        v = meta[name]
        ok = {"float": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
              "int": lambda x: isinstance(x, int) and not isinstance(x, bool) and x >= 0,
              "str": lambda x: isinstance(x, str),
              "dict": lambda x: isinstance(x, dict),
              "seed": lambda x: x is None or (isinstance(x, int) and not isinstance(x, bool)),
              "ints": lambda x: isinstance(x, list) and all(isinstance(i, int) and not isinstance(i, bool)
                                                            and i >= 0 for i in x)}[kind](v)
        if not ok:
            raise ValueError(f"{path}: malformed metadata ({name!r} is {type(v).__name__}, expected {kind})")
        return float(v) if kind == "float" else v

    problem = get("problem", "str")
    if problem not in _PROBLEMS:
        raise ValueError(f"{path}: malformed metadata (problem {problem!r} is not one of {_PROBLEMS})")
    return dict(
        problem=problem, rho_one_vs_rest=get("rho_one_vs_rest", "float"), rho_lower=get("rho_lower", "float"),
        rho_upper=get("rho_upper", "float"), rho_one_vs_one=get("rho_one_vs_one", "float"),
        max_inner_product=get("max_inner_product", "float"),
        rattlers=np.asarray(get("rattlers", "ints"), dtype=np.int64), method=get("method", "str"),
        restarts=get("restarts", "int"), n_best=get("n_best", "int"), seed=get("seed", "seed"),
        settings=get("settings", "dict"), timings=get("timings", "dict"),
        rattler_rtol=get("rattler_rtol", "float"), status=get("status", "str", "", required=False),
        message=get("message", "str", "", required=False))
