"""The settings of one training run of :func:`spherecodes.train.fit`, held in one frozen object.

Every default lives in :class:`FitConfig`; :meth:`FitConfig.from_options` merges keyword
options into a base config and rejects unknown names; :meth:`FitConfig.asdict` is what
``history.json`` and the checkpoints record.  The run's context (data, seed, device,
output folder, a model or code to start from) is not part of it: those are arguments
of :func:`~spherecodes.train.loop.fit`.

This module does not import torch.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

from .._validation import ArgumentTypeError, check_bool, check_int, check_rtol, check_tol

#: Encoders of :func:`spherecodes.train.models.build_encoder`.
ENCODERS = ("mlp", "cnn", "resnet18")
#: Classifiers of :func:`spherecodes.train.classifiers.build_classifier`.
CLASSIFIERS = ("learned", "fixed", "cmf")
#: Optimizers of :func:`~spherecodes.train.loop.fit`.
OPTIMIZERS = ("adam", "sgd")


def default_lr(optimizer: str, encoder: str) -> float:
    """Learning rate used when ``lr`` is None: SGD 0.05; Adam 1e-3 for ``resnet18``, else 1e-2."""
    if optimizer == "sgd":
        return 0.05
    return 1e-3 if encoder == "resnet18" else 1e-2


def _positive(value, name, *, strict=True):
    """``check_tol`` (finite, ``> 0``) or, with ``strict=False``, ``check_rtol`` (finite, ``>= 0``)."""
    return check_tol(value, name) if strict else check_rtol(value, name)


@dataclass(frozen=True)
class FitConfig:
    """Options of :func:`spherecodes.train.fit` (the loss (1) with temperature ``tau``).

    Attributes
    ----------
    encoder : {"mlp", "cnn", "resnet18"}
        Feature map; ``cnn``/``resnet18`` need image inputs ``(C, H, W)``.
    feature_dim : int
        d, the dimension of the unit features and classifier columns.
    classifier : {"learned", "fixed", "cmf"}
        Learned ``W = V / ||V||``, a fixed code (``code=`` of :func:`fit`), or class-mean features.
    tau : float
        Temperature: logits are ``W^T h / tau``.
    cmf_momentum : float in [0, 1)
        EMA momentum of the CMF classifier.
    epochs, batch_size : int
    optimizer : {"adam", "sgd"}
        Adam (AdamW when ``weight_decay > 0``) or SGD with ``momentum``; cosine decay over the epochs.
    lr : float or None
        Base learning rate; None: :func:`default_lr` (Adam 1e-2 for mlp/cnn, 1e-3 for resnet18; SGD 0.05).
    momentum : float
        SGD momentum.
    weight_decay : float
        Applied to the encoder parameters only (the classifier is scale-free).
    classifier_lr_scale : float
        The learned classifier's learning rate is ``lr * classifier_lr_scale``.
    augment : bool
        Random flips and 4-pixel crops for image inputs.
    amp : bool
        bfloat16 autocast for the encoder (CUDA); the classifier stays float32.
    gnc_every : int
        GNC metrics and the eval-mode train accuracy every this many epochs (and at the last).
    rho_max_classes : int
        GNC2 (rho one-vs-rest, O(K) hull QPs) is skipped (NaN) when K exceeds this.
    checkpoint_every : int
        Also keep ``checkpoint_epochN.pt`` every this many epochs (0: only the final checkpoint).
    assignment : tuple of int or None
        For ``classifier="fixed"``: class ``k`` uses column ``assignment[k]`` of the code.
    encoder_kwargs : dict or None
        Extra keyword arguments of the encoder (``hidden`` for mlp, ``width`` for cnn/resnet18).
    anneal_from : float or None
        Temperature continuation: epoch ``e`` trains at ``tau_e``, running geometrically from
        ``max(tau, anneal_from)`` down to ``tau`` over the first ``anneal_fraction`` of the
        epochs (:func:`spherecodes.train.ufm.continuation_schedule`); None: ``tau`` throughout.
    anneal_fraction : float in (0, 1]
    anneal_lr_power : float >= 0
        During the continuation the learning rate is also scaled by ``(tau_e / tau_0)^p``
        (0: not at all; 1: with the temperature, as :func:`~spherecodes.train.ufm.train_ufm`
        does).  On digits (MLP, d = 3, tau = 0.01, 100 epochs from tau_0 = 1, seed 0) the
        learned classifier ended at rho 0.42 with p = 0, 0.55 with p = 0.5 and 0.45 with
        p = 1 (the best code found has 0.596; docs/experiments.md).

    Raises
    ------
    ValueError
        A value out of range, or an ``encoder``, ``classifier`` or
        ``optimizer`` not among the choices (names the option).
    TypeError
        A value of the wrong type (a string for a number, a non-integral
        float for an integer, a non-bool flag, ``assignment`` not a sequence
        of integers, ``encoder_kwargs`` not a dict)
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``,
        where a ``_validation`` check raised it); in :meth:`from_options`, an
        unknown option.

    See Also
    --------
    fit : the training loop these options drive.
    FitConfig.from_options : a config from keyword options, unknown names rejected.

    References
    ----------
    Generalized Neural Collapse paper, eq. (1) (the CE loss with temperature
    ``tau`` on unit features and classifiers) and Section 2.2 (the GNC
    metrics recorded every ``gnc_every`` epochs).

    Examples
    --------
    >>> from spherecodes.train import FitConfig
    >>> cfg = FitConfig.from_options(tau=0.05, epochs=10)
    >>> cfg.tau, cfg.epochs, cfg.learning_rate
    (0.05, 10, 0.01)
    """

    encoder: str = "mlp"
    feature_dim: int = 3
    classifier: str = "learned"
    tau: float = 0.1
    cmf_momentum: float = 0.9
    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 5e-4
    classifier_lr_scale: float = 1.0
    augment: bool = False
    amp: bool = False
    gnc_every: int = 1
    rho_max_classes: int = 1000
    checkpoint_every: int = 0
    assignment: tuple | None = None
    encoder_kwargs: dict | None = None
    anneal_from: float | None = None
    anneal_fraction: float = 0.5
    anneal_lr_power: float = 0.5

    def __post_init__(self):
        for name, choices in (("encoder", ENCODERS), ("classifier", CLASSIFIERS), ("optimizer", OPTIMIZERS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        for name, minimum in (("feature_dim", 1), ("epochs", 1), ("batch_size", 1), ("gnc_every", 1),
                              ("rho_max_classes", 0), ("checkpoint_every", 0)):
            object.__setattr__(self, name, check_int(getattr(self, name), name, minimum=minimum))
        for name in ("tau", "classifier_lr_scale"):
            object.__setattr__(self, name, _positive(getattr(self, name), name))
        for name in ("momentum", "weight_decay"):
            object.__setattr__(self, name, _positive(getattr(self, name), name, strict=False))
        if self.lr is not None:
            object.__setattr__(self, "lr", _positive(self.lr, "lr"))
        m = _positive(self.cmf_momentum, "cmf_momentum", strict=False)
        if m >= 1.0:
            raise ValueError(f"cmf_momentum must be in [0, 1), got {m}")
        object.__setattr__(self, "cmf_momentum", m)
        if self.anneal_from is not None:
            object.__setattr__(self, "anneal_from", _positive(self.anneal_from, "anneal_from"))
        f = _positive(self.anneal_fraction, "anneal_fraction")
        if f > 1.0:
            raise ValueError(f"anneal_fraction must be in (0, 1], got {f}")
        object.__setattr__(self, "anneal_fraction", f)
        object.__setattr__(self, "anneal_lr_power", _positive(self.anneal_lr_power, "anneal_lr_power", strict=False))
        for name in ("augment", "amp"):
            object.__setattr__(self, name, check_bool(getattr(self, name), name))
        if self.assignment is not None:
            if isinstance(self.assignment, (str, bytes)) or not hasattr(self.assignment, "__iter__"):
                raise ArgumentTypeError(f"assignment must be a sequence of integers, got {self.assignment!r}")
            a = tuple(check_int(v, f"assignment[{i}]", minimum=0) for i, v in enumerate(self.assignment))
            object.__setattr__(self, "assignment", a)
        if self.encoder_kwargs is not None:
            if not isinstance(self.encoder_kwargs, dict):
                raise TypeError(f"encoder_kwargs must be a dict, got {type(self.encoder_kwargs).__name__}")
            object.__setattr__(self, "encoder_kwargs", dict(self.encoder_kwargs))

    @property
    def learning_rate(self) -> float:
        """``lr``, or :func:`default_lr` for this optimizer and encoder when ``lr`` is None."""
        return self.lr if self.lr is not None else default_lr(self.optimizer, self.encoder)

    @classmethod
    def from_options(cls, base=None, **options) -> "FitConfig":
        """``base`` (a FitConfig, a mapping of options, or None for the defaults) with ``options`` applied.

        Parameters
        ----------
        base : FitConfig, dict or None
            The starting options (None: the defaults).
        **options
            Fields of :class:`FitConfig` to override.

        Returns
        -------
        FitConfig

        Raises
        ------
        TypeError
            An option (in ``base`` or ``options``) that is not a field of :class:`FitConfig`
            (the message names it and the closest known option), or a ``base``
            that is neither a FitConfig, a dict nor None.
        ValueError
            A value out of range, as :class:`FitConfig`.
        """
        if base is None:
            merged = {}
        elif isinstance(base, FitConfig):
            merged = base.asdict()
        elif isinstance(base, dict):
            merged = dict(base)
        else:
            raise TypeError(f"config must be a FitConfig, a dict or None, got {type(base).__name__}")
        merged.update(options)
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in merged if k not in names]
        if unknown:
            hints = []
            for k in unknown:
                close = difflib.get_close_matches(k, names, n=1)
                hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise TypeError(f"unknown fit option(s) {', '.join(hints)}; known: {', '.join(names)}")
        return cls(**merged)

    def asdict(self) -> dict:
        """The options as a plain dict (JSON-ready: tuples become lists).

        ``FitConfig.from_options(cfg.asdict()) == cfg``.
        """
        out = dataclasses.asdict(self)
        if out["assignment"] is not None:
            out["assignment"] = list(out["assignment"])
        return out
