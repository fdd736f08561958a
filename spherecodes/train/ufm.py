"""The unconstrained features model (UFM) with spherical constraints, problem (2).

    min_{W, H}  1/(nK) sum_{k,i} CE(W^T h_{k,i}, y_k, tau)
    s.t.        W in OB(d, K),  H in OB(d, nK)

Optimization uses the *normalized parametrization* ``W = V / ||V||`` (column-wise),
``H = U / ||U||``: Adam runs on the free matrices ``V``, ``U`` and after every
step their columns are rescaled to unit norm.  Since the gradient of a function
of ``v / ||v||`` at a unit ``v`` is the Riemannian (tangent-projected) gradient,
this is Riemannian Adam with the normalization retraction.  Adam's per-coordinate
scaling matters here: at small ``tau`` the CE gradients are ``O(exp(-margin/tau))``
and plain gradient steps would stall.  The learning rate follows a cosine decay
from ``lr`` to ``lr * final_lr_ratio``.

Both phases minimize ``log(loss)`` (same minimizers, but well scaled whatever
the temperature: at small ``tau`` the loss itself is ``O(exp(-rho/tau))`` and its
gradients would fall below Adam's epsilon), computed stably as
``log mean_i softplus(s_i)`` with ``s_i = logsumexp_{j != y_i}(z_j - z_{y_i})``.
The loss is also *reported* in log space (``log_loss``, ``final_log_loss``): at
``tau = 1e-4`` it is about ``exp(-5500)``, which no float can hold (``final_loss``
is then 0.0, an underflow, not a zero loss).

Small temperatures need a *continuation* (``anneal_from``, on by default).  From a
random start at ``tau = 1e-4`` the objective is a soft-min with sharpness
``1/tau = 1e4``: Adam's steps (of size ``lr``, whatever the gradient scale) jump
across its kinks and the run ends far from the optimum (measured, (d, K, n) =
(3, 12, 4), 1000 Adam steps + 300 L-BFGS iterations, seeds 0-2: rho 0.40, 0.24,
0.33 in float64 and 0.48, 0.15, 0.52 in float32, against the icosahedron's
0.5528; at ``tau = 1e-3`` seed 1 ends at 0.50 in float64).  The Adam phase therefore runs the temperature down geometrically from
``max(tau, anneal_from)`` to ``tau`` over the first ``anneal_fraction`` of the
steps and scales the learning rate with it (``lr * tau_t / tau_start`` times the
cosine decay): the natural step of a soft-min of sharpness ``1/tau_t`` is
``O(tau_t)``.  With it the same runs reach the icosahedron to 1.1e-12 (float64)
and 3.7e-7 (float32) at ``tau = 1e-4`` (table in ``docs/experiments.md``).  For ``tau >= anneal_from`` nothing
changes.  ``anneal_from=None`` gives the plain fixed-temperature dynamics.
Adam finds the basin but creeps through its flat bottom (at ``tau = 0.05`` the
loss changes by ~1e-6 while rho still moves by 1e-2).  A *polish* phase then
runs L-BFGS (strong Wolfe line search, same parametrization) and converges to
the critical point to ~1e-8 in rho within a few hundred iterations.  Set ``polish=0`` to get
the plain first-order dynamics (e.g. to study training curves).

By Lemma 3.1 of the paper, as ``tau -> 0`` the solutions approach those of the
HardMax problem (5), whose classifier is a Softmax Code (GNC2) and, without
rattlers, whose features collapse to the classifier (GNC1, GNC3 -> 0).
:func:`temperature_sweep` measures this numerically.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .._validation import as_labelled_features, check_dims, check_int, check_reals
from ._common import as_rng, check_positive, require_torch, resolve_device
from .metrics import gnc_metrics


@dataclass
class UFMResult:
    """Result of :func:`train_ufm`.

    Attributes
    ----------
    W : ndarray, shape (d, K)
        Classifier, unit columns.
    H : ndarray, shape (d, n*K)
        Features, unit columns; column ``i`` belongs to class ``labels[i]``.
    labels : ndarray of int, shape (n*K,)
        ``np.repeat(np.arange(K), n)``.
    tau : float
        Temperature.
    loss : ndarray, shape (steps + number of polish evaluations,)
        Training loss (1) at the temperature of each Adam step (before its update), then
        at each function evaluation of the L-BFGS polish phase; ``exp(log_loss)``, so it
        underflows to 0.0 below ~1e-308.
    log_loss : ndarray, same shape
        Natural log of ``loss``, never underflows (about ``-rho / tau`` at small ``tau``).
    taus : ndarray, same shape
        The temperature each entry of ``loss`` was computed at (the continuation schedule,
        then ``tau`` for the polish).
    history : dict of ndarray
        ``step``, ``tau``, ``loss``, ``log_loss``, ``gnc1``, ``gnc2`` (= rho one-vs-rest
        of W), ``gnc3``, recorded every ``record_every`` steps and at the end.
    gnc1, gnc2, gnc3 : float
        Final metrics; ``gnc2`` equals ``rho_one_vs_rest``.
    rho_one_vs_rest : float
        Minimum one-vs-rest distance of the final ``W``.
    final_loss : float
        Loss (1) at the returned ``(W, H)`` and ``tau`` (0.0 when it underflows: read
        ``final_log_loss``).
    final_log_loss : float
        Natural log of the loss at the returned point, computed in log space.
    device : str
        The torch device the run used.
    seconds : float
        Wall time of the optimization (metrics excluded).

    See Also
    --------
    train_ufm : the function that returns it.
    spherecodes.hardmax : the ``tau -> 0`` limit (Lemma 3.1).

    References
    ----------
    Generalized Neural Collapse paper, problem (2) and Section 2.2 (GNC1-GNC3).
    """

    W: np.ndarray
    H: np.ndarray
    labels: np.ndarray
    tau: float
    loss: np.ndarray
    history: dict
    gnc1: float
    gnc2: float
    gnc3: float
    rho_one_vs_rest: float
    final_loss: float
    device: str
    seconds: float
    final_log_loss: float = float("nan")
    log_loss: np.ndarray = None
    taus: np.ndarray = None


def ufm_log_loss(W, H, labels, tau) -> float:
    """Natural log of the CE loss (1)/(2), computed in log space (float64 numpy).

    Parameters
    ----------
    W : array_like, shape (d, K)
        Classifier (unit columns).
    H : array_like, shape (d, N)
        Features (unit columns).
    labels : array_like of int, shape (N,)
        Class of every column of ``H``, in ``range(K)``.
    tau : float
        Temperature (> 0).

    Returns
    -------
    float
        ``log( (1/N) sum_i CE_i )`` with ``CE_i = softplus(s_i)``,
        ``s_i = logsumexp_{j != y_i}(z_ji - z_{y_i i})``, ``z = W^T H / tau``.  Accurate when the
        loss itself is far below the smallest float (``tau = 1e-4``: about ``exp(-5500)``),
        where ``log softplus(s) = s`` to double precision for ``s < -30``.

    Raises
    ------
    ValueError
        If ``W`` or ``H`` is not 2-D, is empty or has NaN or inf, ``K < 2``,
        their dimensions differ, ``labels`` is not 1-D of length ``N`` with
        integer values in ``range(K)``, or ``tau`` is not finite and ``> 0``.
    TypeError
        If ``W`` or ``H`` is not a real numeric array, ``labels`` not an
        integer array or ``tau`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    ufm_loss : the loss itself.
    spherecodes.solvers.hardmax.hardmax_value : its ``tau -> 0`` limit, ``tau * log(loss) -> L_HardMax``.

    References
    ----------
    Generalized Neural Collapse paper, eqs. (1) and (2).
    """
    W, H, labels = as_labelled_features(W, H, labels)
    tau = check_positive(tau, "tau")
    Z = (W.T @ H) / tau  # (K, N)
    N = Z.shape[1]
    D = Z - Z[labels, np.arange(N)]
    D[labels, np.arange(N)] = -np.inf
    Dmax = D.max(axis=0)
    s = Dmax + np.log(np.exp(D - Dmax).sum(axis=0))
    with np.errstate(divide="ignore"):
        log_ce = np.where(s < -30.0, s, np.log(np.logaddexp(0.0, np.maximum(s, -30.0))))
    top = log_ce.max()
    return float(top + np.log(np.exp(log_ce - top).sum()) - math.log(N))


def ufm_loss(W, H, labels, tau) -> float:
    """CE loss (1)/(2): ``exp(ufm_log_loss(W, H, labels, tau))`` (0.0 once it underflows, below ~1e-308).

    Parameters
    ----------
    W : array_like, shape (d, K)
        Classifier (unit columns on ``OB(d, K)``; the norms are not checked).
    H : array_like, shape (d, N)
        Features (unit columns on ``OB(d, N)``; the norms are not checked).
    labels : array_like of int, shape (N,)
        Class of every column of ``H``, in ``range(K)``.
    tau : float
        Temperature (> 0): logits are ``W^T h / tau``.

    Returns
    -------
    float
        The mean cross-entropy in nats, ``>= 0``.  Report :func:`ufm_log_loss` at small ``tau``.

    Raises
    ------
    ValueError
        If ``W`` or ``H`` is not 2-D, is empty or has NaN or inf, ``K < 2``,
        their dimensions differ, ``labels`` is not 1-D of length ``N`` with
        integer values in ``range(K)``, or ``tau`` is not finite and ``> 0``.
    TypeError
        If ``W`` or ``H`` is not a real numeric array, ``labels`` not an
        integer array or ``tau`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    ufm_log_loss : its logarithm, which never underflows.
    train_ufm : minimizes it over ``OB(d, K) x OB(d, N)``.

    References
    ----------
    Generalized Neural Collapse paper, eqs. (1) and (2).

    Examples
    --------
    >>> import numpy as np
    >>> from spherecodes.train import ufm_loss
    >>> W = np.array([[1.0, -1.0], [0.0, 0.0]])       # K = 2 antipodal classes, features on them
    >>> bool(np.isclose(ufm_loss(W, W, [0, 1], 1.0), np.log1p(np.exp(-2.0))))
    True
    """
    return math.exp(ufm_log_loss(W, H, labels, tau))


def _log_ce(torch, Wt, Ht, y, other, tau):
    """log of the mean CE loss, stable for losses down to ~1e-300 (tiny tau).

    ``CE_i = softplus(s_i)``, ``s_i = logsumexp_{j != y_i}(z_j - z_{y_i})``; for ``s_i < -30``,
    ``log softplus(s_i) = s_i`` to double precision.
    """
    Z = (Ht.T @ Wt) / tau  # (N, K)
    D = (Z - Z.gather(1, y[:, None])).masked_fill(~other, float("-inf"))
    s = torch.logsumexp(D, dim=1)
    log_ce = torch.where(s < -30, s, torch.log(torch.nn.functional.softplus(s.clamp(min=-30))))
    return torch.logsumexp(log_ce, dim=0) - math.log(s.shape[0])


def continuation_schedule(tau, steps, *, anneal_from=0.1, anneal_fraction=0.8):
    """Temperatures of the Adam steps of :func:`train_ufm`: a geometric run-down to ``tau``.

    Parameters
    ----------
    tau : float
        Target temperature (> 0).
    steps : int
        Number of Adam steps.
    anneal_from : float or None
        Start temperature; ``None`` or ``<= tau`` gives the constant schedule ``tau``.
    anneal_fraction : float in (0, 1]
        Fraction of the steps spent going down; the rest run at ``tau``.

    Returns
    -------
    ndarray, shape (steps,)
        ``tau_t = tau_0 (tau / tau_0)^min(1, t / (anneal_fraction * steps))``, ``tau_0 = max(tau, anneal_from)``.
    """
    t = np.arange(steps, dtype=float)
    if anneal_from is None or anneal_from <= tau or steps == 0:
        return np.full(steps, float(tau))
    a = np.minimum(1.0, t / max(1.0, anneal_fraction * steps))
    return np.exp((1.0 - a) * math.log(anneal_from) + a * math.log(tau))


def train_ufm(d, K, n, tau, *, steps=1000, lr=0.1, final_lr_ratio=1e-2, polish=300, seed=None, device=None,
              dtype="float64", record_every=None, W_init=None, progress=False, anneal_from=0.1,
              anneal_fraction=0.8) -> UFMResult:
    """Minimize the spherical UFM CE loss (2) from a random start.

    Parameters
    ----------
    d, K, n : int
        Feature dimension, number of classes (``K >= 2``) and samples per class.
    tau : float
        Temperature (> 0); logits are ``W^T h / tau``.
    steps : int, keyword-only
        Number of Adam steps.
    lr : float
        Initial learning rate; cosine-decayed to ``lr * final_lr_ratio`` and, during the
        continuation, multiplied by ``tau_t / tau_0``.
    polish : int
        Maximum number of L-BFGS iterations on ``log(loss)`` at ``tau`` after Adam (0: none).
    seed : None, int or numpy.random.Generator
        Random start (Gaussian columns, normalized).  Reproducible on a given device.
    device : None, "auto", "cpu", "cuda", ...
        ``None``/``"auto"`` picks CUDA when available.
    dtype : {"float64", "float32"}
    record_every : int or None
        Record loss and GNC metrics every this many Adam steps (default ``steps // 20``),
        and once at the end.
    W_init : array_like (d, K) or None
        Optional starting classifier (unit columns); features still start random.
    progress : bool
        Show a tqdm bar.
    anneal_from : float or None
        Temperature continuation for small ``tau``: the Adam steps follow
        :func:`continuation_schedule` from ``max(tau, anneal_from)`` down to ``tau`` (default
        0.1; ``None`` switches it off and gives the plain dynamics at ``tau``).
    anneal_fraction : float in (0, 1]
        Fraction of the Adam steps spent in the run-down.

    Returns
    -------
    UFMResult

    Raises
    ------
    ValueError
        A non-positive or non-finite ``tau``/``lr``/``final_lr_ratio``/``anneal_from``,
        ``d < 1``, ``K < 2``, ``n < 1``, ``steps + polish == 0``, ``record_every < 1``,
        an unknown ``dtype`` or ``device`` (or CUDA asked for where there is none),
        ``anneal_fraction`` outside (0, 1], a bad ``seed`` (the solvers' message),
        a ``W_init`` of the wrong shape or with a zero column.
    TypeError
        ``d``, ``K``, ``n``, ``steps``, ``polish`` or ``record_every`` not an integer,
        or a temperature, rate or fraction that is not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
    ImportError
        PyTorch is not installed.

    See Also
    --------
    temperature_sweep : best of several runs at each of several temperatures.
    continuation_schedule : the temperatures of the Adam steps.
    spherecodes.softmax_code, spherecodes.hardmax : the ``tau -> 0`` optimum it approaches.

    References
    ----------
    Generalized Neural Collapse paper, problem (2) and Lemma 3.1, eq. (6) (the ``tau -> 0`` limit is the
    HardMax problem (5)); Section 2.2 (the GNC metrics in ``history``).
    """
    torch = require_torch()
    d, K = check_dims(d, K)
    n = check_int(n, "n", minimum=1)
    tau = check_positive(tau, "tau")
    steps = check_int(steps, "steps", minimum=0)
    polish = check_int(polish, "polish", minimum=0)
    if steps + polish == 0:
        raise ValueError("steps + polish must be >= 1")
    lr = check_positive(lr, "lr")
    final_lr_ratio = check_positive(final_lr_ratio, "final_lr_ratio")
    if anneal_from is not None:
        anneal_from = check_positive(anneal_from, "anneal_from")
    anneal_fraction = check_positive(anneal_fraction, "anneal_fraction")
    if anneal_fraction > 1:
        raise ValueError(f"anneal_fraction must be in (0, 1], got {anneal_fraction}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    if record_every is None:
        record_every = max(1, steps // 20)
    record_every = check_int(record_every, "record_every", minimum=1)
    dev = resolve_device(device)
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    rng = as_rng(seed)

    N = n * K
    labels = np.repeat(np.arange(K), n)
    if W_init is None:
        V0 = rng.standard_normal((d, K))
    else:
        from .._validation import as_code
        V0 = as_code(W_init, normalize=True)
        if V0.shape != (d, K):
            raise ValueError(f"W_init must have shape (d, K) = {(d, K)}, got {V0.shape}")
    U0 = rng.standard_normal((d, N))
    V = torch.tensor(V0 / np.linalg.norm(V0, axis=0), dtype=tdtype, device=dev, requires_grad=True)
    U = torch.tensor(U0 / np.linalg.norm(U0, axis=0), dtype=tdtype, device=dev, requires_grad=True)
    y = torch.as_tensor(labels, device=dev)
    other = torch.ones(N, K, dtype=torch.bool, device=dev)
    other[torch.arange(N, device=dev), y] = False
    schedule = continuation_schedule(tau, steps, anneal_from=anneal_from, anneal_fraction=anneal_fraction)
    tau0 = float(schedule[0]) if steps else tau

    def lr_factor(t):
        t = min(t, steps - 1)
        cosine = final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t / steps))
        return cosine * (float(schedule[t]) / tau0)  # ratio first: exactly the cosine without a continuation

    opt = torch.optim.Adam([V, U], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor) if steps else None

    log_losses, loss_taus = [], []
    hist = {"step": [], "tau": [], "loss": [], "log_loss": [], "gnc1": [], "gnc2": [], "gnc3": []}

    def record(step, tau_now, log_value, Wn, Hn):
        m = gnc_metrics(Wn, Hn, labels)
        hist["step"].append(step)
        hist["tau"].append(tau_now)
        hist["loss"].append(math.exp(log_value))
        hist["log_loss"].append(log_value)
        for k, v in asdict(m).items():
            hist[k].append(v)

    def current():
        with torch.no_grad():
            return ((V / V.norm(dim=0, keepdim=True)).double().cpu().numpy(),
                    (U / U.norm(dim=0, keepdim=True)).double().cpu().numpy())

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps + 2 * polish, desc=f"UFM tau={tau:g}", leave=False)
    t_opt = 0.0
    for t in range(steps):
        tau_t = float(schedule[t])
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        Wt = V / V.norm(dim=0, keepdim=True)
        Ht = U / U.norm(dim=0, keepdim=True)
        log_loss = _log_ce(torch, Wt, Ht, y, other, tau_t)
        log_loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            V /= V.norm(dim=0, keepdim=True)
            U /= U.norm(dim=0, keepdim=True)
        lv = float(log_loss.detach())
        t_opt += time.perf_counter() - t0
        log_losses.append(lv)
        loss_taus.append(tau_t)
        if t % record_every == 0:
            record(t, tau_t, lv, *current())
        if bar is not None:
            bar.update(1)
            if t % 50 == 0:
                bar.set_postfix(tau=f"{tau_t:.2g}", log_loss=f"{lv:.4g}")

    if polish:
        lbfgs = torch.optim.LBFGS([V, U], lr=1.0, max_iter=polish, max_eval=2 * polish, tolerance_grad=0.0,
                                  tolerance_change=0.0, history_size=50, line_search_fn="strong_wolfe")

        def closure():
            lbfgs.zero_grad(set_to_none=True)
            Wt = V / V.norm(dim=0, keepdim=True)
            Ht = U / U.norm(dim=0, keepdim=True)
            value = _log_ce(torch, Wt, Ht, y, other, tau)
            value.backward()
            log_losses.append(float(value.detach()))
            loss_taus.append(tau)
            if bar is not None:
                bar.update(1)
            return value

        t0 = time.perf_counter()
        lbfgs.step(closure)
        with torch.no_grad():
            V /= V.norm(dim=0, keepdim=True)
            U /= U.norm(dim=0, keepdim=True)
        t_opt += time.perf_counter() - t0
    if bar is not None:
        bar.close()
    log_losses = np.asarray(log_losses)
    total = len(log_losses)

    W, H = current()
    W /= np.linalg.norm(W, axis=0)
    H /= np.linalg.norm(H, axis=0)
    final_log_loss = ufm_log_loss(W, H, labels, tau)
    if not hist["step"] or hist["step"][-1] != total:
        record(total, tau, final_log_loss, W, H)
    history = {k: np.asarray(v) for k, v in hist.items()}
    return UFMResult(W=W, H=H, labels=labels, tau=tau, loss=np.exp(log_losses), history=history,
                     gnc1=float(history["gnc1"][-1]), gnc2=float(history["gnc2"][-1]),
                     gnc3=float(history["gnc3"][-1]), rho_one_vs_rest=float(history["gnc2"][-1]),
                     final_loss=math.exp(final_log_loss), device=str(dev), seconds=t_opt,
                     final_log_loss=final_log_loss, log_loss=log_losses, taus=np.asarray(loss_taus))


@dataclass
class TemperatureSweep:
    """Result of :func:`temperature_sweep` (one row per temperature, best-of-restarts run).

    Attributes
    ----------
    taus : ndarray, shape (T,)
    rho, gnc1, gnc3, loss, log_loss : ndarray, shape (T,)
        Metrics of the lowest-loss run at each temperature (``rho`` is GNC2; ``loss``
        underflows to 0.0 at small ``tau``, ``log_loss`` does not).
    softmax_optimum : float
        ``softmax_code(d, K).rho_one_vs_rest`` (NaN when the solver is unavailable).
    hardmax_rho : float
        rho one-vs-rest of the classifier returned by ``hardmax(d, K, n)`` (NaN if unavailable).
    rows : list of dict
        The table (one dict per temperature, plus the comparison columns).
    runs : list of UFMResult
        The selected run at each temperature.
    d, K, n : int
        The problem's sizes.

    See Also
    --------
    temperature_sweep : the function that returns it.

    References
    ----------
    Generalized Neural Collapse paper, Lemma 3.1 (the limit measured) and Figure 2.
    """

    d: int
    K: int
    n: int
    taus: np.ndarray
    rho: np.ndarray
    gnc1: np.ndarray
    gnc3: np.ndarray
    loss: np.ndarray
    softmax_optimum: float
    hardmax_rho: float
    rows: list = field(default_factory=list)
    runs: list = field(default_factory=list)
    log_loss: np.ndarray = None


def reference_optima(d, K, n, *, seed=0, restarts=None):
    """The Softmax Code optimum and the HardMax classifier's separation (Lemma 3.1's limits).

    Returns ``(softmax_rho, hardmax_rho, notes)``; ``notes`` is kept for the
    sweep's report and is empty.
    """
    from spherecodes.solvers import hardmax, softmax_code

    kwargs = {"seed": seed} if restarts is None else {"seed": seed, "restarts": restarts}
    softmax_rho = float(softmax_code(d, K, **kwargs).rho_one_vs_rest)
    hardmax_rho = float(hardmax(d, K, n, **kwargs).code.rho_one_vs_rest)
    return softmax_rho, hardmax_rho, []


def temperature_sweep(d, K, n, taus, *, restarts=3, steps=1000, lr=0.1, polish=300, seed=None, device=None,
                      compare=True, compare_restarts=None, progress=False) -> TemperatureSweep:
    """Solve the UFM (2) at each temperature and measure GNC (numerical Lemma 3.1).

    At each ``tau`` the UFM is solved from ``restarts`` random starts and the
    lowest-loss run is kept (Lemma 3.1 is a statement about global minimizers).
    As ``tau`` decreases, ``rho`` should approach the Softmax Code optimum and
    ``gnc1``, ``gnc3`` should go to 0 (no rattlers).

    Parameters
    ----------
    d, K, n : int
    taus : sequence of float
        Temperatures (> 0), any order; results follow the given order.
    restarts : int
        Random starts per temperature.
    steps, lr, polish, device :
        Passed to :func:`train_ufm`.
    seed : None, int or numpy.random.Generator
    compare : bool
        Also compute ``softmax_code(d, K)`` and ``hardmax(d, K, n)`` (skipped
        gracefully, as NaN, when the solvers are unavailable).
    compare_restarts : int, optional
        ``restarts`` of those two solves (default: the solvers' own).
    progress : bool
        A tqdm bar per run.

    Returns
    -------
    TemperatureSweep

    Raises
    ------
    ValueError
        ``d < 1``, ``K < 2``, ``n < 1``, ``restarts < 1``, no temperature, a
        temperature that is not finite and ``> 0`` (named ``taus[i]``), a bad
        seed; as :func:`train_ufm`.
    TypeError
        ``d``, ``K``, ``n`` or ``restarts`` not an integer; a temperature
        that is not a real number (a string, a bool); as :func:`train_ufm`
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    train_ufm : one run.
    spherecodes.train.temperature_study : the same question for full networks.

    References
    ----------
    Generalized Neural Collapse paper, Lemma 3.1, eq. (6), and Figure 2 (GNC against the temperature).
    """
    d, K = check_dims(d, K)
    n = check_int(n, "n", minimum=1)
    restarts = check_int(restarts, "restarts", minimum=1)
    taus = check_reals(taus, "taus", check=check_positive)
    if taus.size == 0:
        raise ValueError("taus must contain at least one temperature")
    rng = as_rng(seed)
    softmax_rho = hardmax_rho = float("nan")
    if compare:
        softmax_rho, hardmax_rho, _ = reference_optima(d, K, n, seed=int(rng.integers(2**31)),
                                                       restarts=compare_restarts)
    runs, rows = [], []
    for tau in taus:
        best = None
        for _ in range(restarts):
            r = train_ufm(d, K, n, tau, steps=steps, lr=lr, polish=polish, seed=rng, device=device,
                          progress=progress)
            if best is None or r.final_log_loss < best.final_log_loss:
                best = r
        runs.append(best)
        rows.append({"tau": float(tau), "loss": best.final_loss, "log_loss": best.final_log_loss,
                     "rho_one_vs_rest": best.rho_one_vs_rest,
                     "gnc1": best.gnc1, "gnc3": best.gnc3, "softmax_code_rho": softmax_rho,
                     "hardmax_rho": hardmax_rho, "rho_gap": softmax_rho - best.rho_one_vs_rest,
                     "seconds": best.seconds})
    return TemperatureSweep(d=d, K=K, n=n, taus=taus, rho=np.array([r.rho_one_vs_rest for r in runs]),
                            gnc1=np.array([r.gnc1 for r in runs]), gnc3=np.array([r.gnc3 for r in runs]),
                            loss=np.array([r.final_loss for r in runs]),
                            log_loss=np.array([r.final_log_loss for r in runs]), softmax_optimum=softmax_rho,
                            hardmax_rho=hardmax_rho, rows=rows, runs=runs)
