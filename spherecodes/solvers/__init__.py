"""Solvers on the oblique manifold OB(d, K): Softmax Codes, Tammes codes, HardMax.

Random restarts (:mod:`.multistart`, through a ``concurrent.futures.Executor``,
anytime) each run a projected-Adam log-sum-exp continuation (:mod:`.descent`),
every other one (one in four where restarts run the Softmax stage) on centrally
symmetric codes; the best few are then polished: for
large problems (``K (d - 1) >= 400``) an L-BFGS sharpness continuation
(:mod:`.sharpen`), then trust-region sequential LP on the active constraints
(:mod:`.polish`) to a KKT point, for the Tammes and then the Softmax objective.
All options live in one :class:`~.settings.SearchSettings`.
"""
from ._common import closed_form
from .hardmax import HardMaxResult, hardmax
from .settings import SearchSettings, default_time_limit
from .softmax import softmax_code
from .tammes import tammes_code

__all__ = ["softmax_code", "tammes_code", "hardmax", "HardMaxResult", "SearchSettings", "closed_form",
           "default_time_limit"]
