"""sklearn-ofa: scikit-learn estimators for Once-for-All NAS predictors.

Public names are imported lazily, so ``import sklearn_ofa`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ArchEncoder": "sklearn_ofa.encoding",
    "AccuracyPredictor": "sklearn_ofa.accuracy",
    "make_accuracy_pipeline": "sklearn_ofa.accuracy",
    "load_ofa_predictor": "sklearn_ofa.accuracy",
    "AccuracyDataset": "sklearn_ofa.accuracy",
    "SupernetEvaluator": "sklearn_ofa.accuracy",
    "count_flops": "sklearn_ofa.efficiency",
    "count_parameters": "sklearn_ofa.efficiency",
    "measure_latency": "sklearn_ofa.efficiency",
    "get_net_info": "sklearn_ofa.efficiency",
    "FLOPsModel": "sklearn_ofa.efficiency",
    "LatencyTable": "sklearn_ofa.efficiency",
    "EvolutionFinder": "sklearn_ofa.search",
    "get_space": "sklearn_ofa.spaces",
    "build_net": "sklearn_ofa.nets",
    "ElasticMobileNetV3": "sklearn_ofa.nets",
    "load_digits_subnets": "sklearn_ofa.datasets",
    "show_versions": "sklearn_ofa._show_versions",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sklearn_ofa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
