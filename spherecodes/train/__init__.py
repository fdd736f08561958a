"""UFM and full-network generalized-neural-collapse experiments (a thin PyTorch bridge).

Install the extra: ``pip install -e ".[train]"``.  Importing this package does
not import torch; the names below load their module on first use.

* :func:`train_ufm`, :func:`temperature_sweep` - the unconstrained features model (2).
* :func:`fit` (options in one frozen :class:`FitConfig`), :func:`build_model` - normalized networks (MLP, small CNN, CIFAR ResNet18)
  with learned, fixed or CMF classifiers, per-epoch GNC metrics, logs and checkpoints (:func:`load_checkpoint`).
* :func:`load_digits`, :func:`load_cifar10`, :func:`load_cifar100`,
  :func:`load_image_folder`, :func:`synthetic_classes`, :func:`load_dataset` - offline data.
* :func:`temperature_experiment`, :func:`assignment_experiment`, :func:`cmf_experiment`,
  :func:`feature_dim_experiment` - experiments (a)-(d); also ``python -m spherecodes.train``.
* :func:`temperature_study`, :func:`finetune_study` - multi-seed Figure 2 and Section 5 analogs
  (``python -m spherecodes.train temperature-study`` / ``finetune``).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ufm": ["train_ufm", "temperature_sweep", "UFMResult", "TemperatureSweep", "ufm_loss"],
    "loop": ["fit", "build_model", "evaluate", "FitResult", "load_checkpoint"],
    "config": ["FitConfig"],
    "data": ["ArrayDataset", "DataNotFoundError", "load_digits", "load_cifar10", "load_cifar100",
             "load_image_folder", "synthetic_classes", "load_dataset"],
    "classifiers": ["LearnedClassifier", "FixedClassifier", "CMFClassifier", "build_classifier"],
    "models": ["MLP", "SmallCNN", "ResNet18", "NormalizedNet", "build_encoder"],
    "metrics": ["gnc_metrics", "GNCMetrics"],
    "experiments": ["temperature_experiment", "assignment_experiment", "cmf_experiment", "feature_dim_experiment",
                    "ExperimentResult"],
    "studies": ["temperature_study", "finetune_study"],
    "cli": ["main"],
}
_LOCATION = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_LOCATION)


def __getattr__(name: str):
    module = _LOCATION.get(name)
    if module is None:
        raise AttributeError(f"module 'spherecodes.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"spherecodes.train.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
