"""GNC metrics along training runs: the geometry core's, on renormalized weights.

Weights and features come out of torch in float32 (or from an optimizer step),
so their columns are unit only to about 1e-7: these wrappers pass
``normalize=True`` to :mod:`spherecodes.collapse` and :mod:`spherecodes.measures`
instead of rejecting them.  Definitions (paper Section 2.2):

* ``gnc1 = tr(Sigma_W Sigma_B^+) / K``;
* ``gnc2 = rho_one_vs_rest(W)``, the minimum distance of ``w_k`` to the convex
  hull of the other columns;
* ``gnc3 = (1/K) sum_k (1 - <w_k, m_k / ||m_k||>)`` with ``m_k`` the class mean.
"""
from __future__ import annotations

from ..collapse import GNCMetrics, class_means, gnc1
from ..collapse import gnc3 as _gnc3
from ..collapse import gnc_metrics as _gnc_metrics
from ..measures import rho_one_vs_rest as _rho_one_vs_rest

__all__ = ["GNCMetrics", "class_means", "gnc1", "gnc3", "gnc_metrics", "rho_one_vs_rest"]


def rho_one_vs_rest(W) -> float:
    """``min_k dist(w_k, conv{w_j : j != k})`` of ``W`` ``(d, K)``, columns renormalized."""
    return _rho_one_vs_rest(W, normalize=True)


def gnc3(W, H, y) -> float:
    """GNC3 of weights ``W`` ``(d, K)`` (renormalized) and features ``H`` ``(d, N)`` with labels ``y``."""
    return _gnc3(W, H, y, normalize=True)


def gnc_metrics(W, H, y) -> GNCMetrics:
    """GNC1, GNC2 and GNC3 of ``W`` ``(d, K)`` (renormalized), ``H`` ``(d, N)`` and labels ``y``.

    Parameters
    ----------
    W : array_like, shape (d, K)
        Classifier; its columns are rescaled to unit norm.
    H : array_like, shape (d, N)
        Features.
    y : array_like of int, shape (N,)
        Labels in ``range(K)``; every class needs at least one sample.

    Returns
    -------
    GNCMetrics

    Raises
    ------
    ValueError, TypeError
        As :func:`spherecodes.gnc_metrics` (a zero column of ``W`` included).

    See Also
    --------
    spherecodes.gnc_metrics : the same with ``normalize=False`` by default and a ``layout``.

    References
    ----------
    Generalized Neural Collapse paper, Section 2.2.
    """
    return _gnc_metrics(W, H, y, normalize=True)
