"""Accuracy prediction: skorch MLP regressor, pipeline factory, OFA checkpoints, datasets."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "AccuracyPredictor": ".predictor",
    "make_accuracy_pipeline": ".pipeline",
    "load_ofa_predictor": ".ofa_import",
    "AccuracyDataset": ".dataset",
    "SupernetEvaluator": ".evaluators",
    "kendall_tau_score": ".scoring",
    "rmse_points_score": ".scoring",
    "kendall_tau_scorer": ".scoring",
    "neg_rmse_points_scorer": ".scoring",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
