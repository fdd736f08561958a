"""spherecodes: the geometry of classes on the sphere.

Codes are float64 arrays ``W`` of shape ``(d, K)`` whose K columns are unit
vectors in R^d (the oblique manifold OB(d, K)).  Features are ``(d, N)`` with
integer labels of length N.

The public API is re-exported here and imported lazily, so that
``import spherecodes`` stays fast: numba kernels compile (or load from their
on-disk cache) only on first use.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "hull": ["one_vs_rest_distances", "distance_to_hull", "OneVsRest", "HullProjection"],
    "measures": ["rho_one_vs_rest", "rho_one_vs_one", "max_inner_product", "min_angle",
                 "rattlers", "separation", "Separation"],
    "constructions": ["polygon", "simplex_etf", "cross_polytope", "icosahedron", "cell24", "cell600",
                      "e8_roots", "schlafli27", "gosset56", "clebsch16", "higman_sims100", "mclaughlin275",
                      "isotropic112", "srg162", "isotropic891", "equiangular552", "leech_kissing4600",
                      "leech_min_vectors", "isotropic_code", "named_codes", "NamedCode"],
    "bounds": ["theorem39_bounds", "Theorem39Bounds", "exact_optimum", "dimension_bounds",
               "DimensionBounds", "SphereCodesWarning"],
    "collapse": ["class_means", "gnc1", "gnc2", "gnc3", "gnc_metrics", "GNCMetrics", "optimal_features"],
    "code": ["SphereCode"],
    "solvers": ["softmax_code", "tammes_code", "hardmax", "HardMaxResult"],
    "plotting": ["plot_code"],
    "streaming": ["StreamingCollapse", "ClassStatistics", "CollapseMetrics", "NCCAgreement", "LayerHooks",
                  "register_hooks"],
    "pairwise": ["cdnv", "uniformity", "riesz_energy"],
    "margins": ["distance_between_hulls", "HullDistance", "feature_margins", "FeatureMargins"],
}
_LOCATION = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_LOCATION)


def __getattr__(name: str):
    module = _LOCATION.get(name)
    if module is None:
        raise AttributeError(f"module 'spherecodes' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"spherecodes.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
