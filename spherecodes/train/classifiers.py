"""Normalized linear classifiers: learned, fixed (a given code) and CMF.

All three hold a code ``W`` of shape ``(d, K)`` with unit columns (the package
convention) and compute logits ``h @ W / tau`` for unit features ``h`` of shape
``(B, d)``.  ``code()`` returns the current ``W`` as a float64 numpy array.

* :class:`LearnedClassifier` - a free parameter ``V`` (d, K), used as
  ``W = V / ||V||`` (normalized parametrization, trained with the network).
* :class:`FixedClassifier` - a given code (e.g. from ``softmax_code``) and a
  class-to-codeword assignment: class ``k`` uses column ``assignment[k]``.
* :class:`CMFClassifier` - class-mean features (paper Section 5): in training,
  ``M_k <- momentum * M_k + (1 - momentum) * mean(h_i : y_i = k in the batch)``
  for every class present in the mini-batch, ``W = M / ||M||``; no gradient
  flows into ``W``.  The update happens before the logits are computed.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._validation import as_code, check_dims, check_rtol, check_tol

from .config import CLASSIFIERS  # defined once in the torch-free config module


def _check_tau(tau):
    return check_tol(tau, "tau")


class _Base(nn.Module):
    def __init__(self, tau):
        super().__init__()
        self.tau = _check_tau(tau)

    def weight(self) -> torch.Tensor:  # (d, K), unit columns
        raise NotImplementedError

    def code(self) -> np.ndarray:
        with torch.no_grad():
            W = self.weight().detach().double().cpu().numpy()
        return W / np.linalg.norm(W, axis=0)

    def forward(self, h, labels=None):
        return (h @ self.weight().to(h.dtype)) / self.tau


class LearnedClassifier(_Base):
    """Learned classifier ``W = V / ||V||`` with ``V`` (d, K) a parameter (random init from ``generator``).

    Parameters
    ----------
    d, K : int
        Feature dimension (``>= 1``) and number of classes (``>= 2``).
    tau : float
        Temperature: logits are ``h W / tau``.
    generator : torch.Generator, optional
        For the initial ``V`` (Gaussian).

    Raises
    ------
    ValueError
        ``d < 1``, ``K < 2``, ``tau`` not finite and ``> 0``.
    TypeError
        ``d`` or ``K`` not an integer, ``tau`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    build_classifier : by name.

    References
    ----------
    Generalized Neural Collapse paper, eq. (1) (``W`` on ``OB(d, K)``, logits divided by ``tau``).
    """

    def __init__(self, d: int, K: int, tau: float, generator: torch.Generator | None = None):
        super().__init__(tau)
        d, K = check_dims(d, K)
        self.V = nn.Parameter(torch.randn(d, K, generator=generator))

    def weight(self):
        return F.normalize(self.V, dim=0)


class FixedClassifier(_Base):
    """Fixed code ``W`` (d, K) with unit columns; class ``k`` uses column ``assignment[k]``.

    Parameters
    ----------
    W : array_like, shape (d, K)
        The code; its columns are rescaled to unit norm.
    tau : float
        Temperature: logits are ``h W / tau``.
    assignment : sequence of int, length K, optional
        A permutation of ``range(K)`` (default identity).

    Raises
    ------
    ValueError
        ``W`` not a finite ``(d, K)`` matrix with ``K >= 2`` and no zero
        column; ``assignment`` not a permutation of ``range(K)``; ``tau`` not
        finite and ``> 0``.
    TypeError
        ``W`` not a real numeric array, ``tau`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.softmax_code : codes to fix (Theorem 3.2: the optimal classifier).
    spherecodes.train.assignment_experiment : which class gets which codeword.

    References
    ----------
    Generalized Neural Collapse paper, Theorem 3.2 and Section 4 (the class assignment problem).
    """

    def __init__(self, W, tau: float, assignment=None):
        super().__init__(tau)
        W = as_code(W, normalize=True)
        K = W.shape[1]
        if assignment is None:
            assignment = np.arange(K)
        assignment = np.asarray(assignment)
        if assignment.shape != (K,) or not np.array_equal(np.sort(assignment), np.arange(K)):
            raise ValueError(f"assignment must be a permutation of range(K) with K={K}, got {assignment.tolist()}")
        self.assignment = assignment.astype(np.int64)
        self.register_buffer("W", torch.tensor(W[:, self.assignment], dtype=torch.float32))

    def weight(self):
        return self.W


class CMFClassifier(_Base):
    """Class-mean-feature classifier: EMA of mini-batch class means, ``momentum`` in [0, 1).

    Parameters
    ----------
    d, K : int
        Feature dimension (``>= 1``) and number of classes (``>= 2``).
    tau : float
        Temperature: logits are ``h W / tau``.
    momentum : float
        EMA momentum, in ``[0, 1)``.
    generator : torch.Generator, optional
        For the initial means (random unit columns).

    Raises
    ------
    ValueError
        ``d < 1``, ``K < 2``, ``momentum`` outside ``[0, 1)``, ``tau`` not finite and ``> 0``.
    TypeError
        ``d`` or ``K`` not an integer, ``momentum`` or ``tau`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    spherecodes.train.cmf_experiment : learned against CMF classifiers.

    References
    ----------
    Generalized Neural Collapse paper, Section 5 (class-mean features as the classifier,
    motivated by GNC3).
    """

    def __init__(self, d: int, K: int, tau: float, momentum: float = 0.9, generator: torch.Generator | None = None):
        super().__init__(tau)
        d, K = check_dims(d, K)
        momentum = check_rtol(momentum, "momentum")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.K = K
        self.register_buffer("M", F.normalize(torch.randn(d, K, generator=generator), dim=0))

    def weight(self):
        return F.normalize(self.M, dim=0)

    @torch.no_grad()
    def update(self, h, labels):
        """EMA update of the class means from unit features ``h`` (B, d) and ``labels`` (B,)."""
        h = h.detach().float()
        sums = torch.zeros(self.K, h.shape[1], device=h.device).index_add_(0, labels, h)
        counts = torch.bincount(labels, minlength=self.K).to(h.dtype)
        present = counts > 0
        means = sums[present] / counts[present, None]
        M = self.M.T.clone()
        M[present] = self.momentum * M[present] + (1.0 - self.momentum) * means
        self.M.copy_(M.T)

    def forward(self, h, labels=None):
        if self.training and labels is not None:
            self.update(h, labels)
        return super().forward(h, labels)


def build_classifier(kind: str, d: int, K: int, tau: float, *, code=None, assignment=None, momentum=0.9,
                     generator=None) -> nn.Module:
    """Classifier ``kind`` in :data:`CLASSIFIERS`; ``code`` (d, K) is required for ``"fixed"``.

    Parameters
    ----------
    kind : {"learned", "fixed", "cmf"}
        :class:`LearnedClassifier`, :class:`FixedClassifier` or :class:`CMFClassifier`.
    d, K : int
        Feature dimension and number of classes.
    tau : float
        Temperature.
    code : array_like, shape (d, K), optional, keyword-only
        The code of ``"fixed"``.
    assignment : sequence of int, optional, keyword-only
        The assignment of ``"fixed"``.
    momentum : float, keyword-only
        The momentum of ``"cmf"``.
    generator : torch.Generator, optional, keyword-only
        The initialization of ``"learned"`` and ``"cmf"``.

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError
        An unknown ``kind``, ``"fixed"`` without ``code`` or with a code of
        another shape; as the classes.
    TypeError
        As the classes.
    """
    if kind == "learned":
        return LearnedClassifier(d, K, tau, generator=generator)
    if kind == "cmf":
        return CMFClassifier(d, K, tau, momentum=momentum, generator=generator)
    if kind == "fixed":
        if code is None:
            raise ValueError("classifier 'fixed' needs a code W of shape (d, K)")
        code = np.asarray(code, dtype=float)
        if code.ndim != 2 or code.shape != (d, K):
            raise ValueError(f"fixed code must have shape (d, K) = {(d, K)}, got {code.shape}")
        return FixedClassifier(code, tau, assignment=assignment)
    raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {kind!r}")
