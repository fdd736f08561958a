"""Solvers on the oblique manifold OB(d, K): Softmax Codes, Tammes codes, HardMax.

Pipeline per random restart: smoothing continuation (:mod:`.smoothing`) to find a
basin, for large problems (``K (d - 1) >= 400``) an L-BFGS sharpness continuation
(:mod:`.sharpen`) towards the basin's optimum, trust-region sequential LP polish
on the active constraints (:mod:`.polish`) to a KKT point, then multistart
(:mod:`.multistart`) through a ``concurrent.futures.Executor``.
"""
from .hardmax import HardMaxResult, hardmax
from .softmax import softmax_code
from .tammes import tammes_code

__all__ = ["softmax_code", "tammes_code", "hardmax", "HardMaxResult"]
