"""Efficiency: FLOPs/parameter counting, latency measurement, FLOPs model, latency tables."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "measure_latency": ".latency",
    "LatencyResult": ".latency",
    "fold_batchnorm": ".latency",
    "count_flops": ".flops",
    "count_parameters": ".flops",
    "FlopsResult": ".flops",
    "get_net_info": ".info",
    "FLOPsModel": ".flops_model",
    "LatencyTable": ".lut",
    "load_ofa_lut": ".ofa_yaml",
    "save_ofa_lut": ".ofa_yaml",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
