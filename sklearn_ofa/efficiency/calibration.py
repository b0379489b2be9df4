"""Deprecated: the latency metrics moved to :mod:`sklearn_ofa.metrics` (removed in 0.4).

``mape``, ``within_pct``, ``kendall_tau`` and ``latency_report`` are the functions of
:mod:`sklearn_ofa.metrics`; ``within_10pct_scorer`` is
``make_scorer(sklearn_ofa.metrics.within_pct)``. Each access emits a ``FutureWarning``.
"""

from __future__ import annotations

import warnings
from typing import Any

_MOVED = ("mape", "within_pct", "kendall_tau", "latency_report")


def __getattr__(name: str) -> Any:
    if name not in _MOVED and name != "within_10pct_scorer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sklearn_ofa import metrics

    if name == "within_10pct_scorer":
        from sklearn.metrics import make_scorer

        new, value = "make_scorer(sklearn_ofa.metrics.within_pct)", make_scorer(metrics.within_pct)
    else:
        new, value = f"sklearn_ofa.metrics.{name}", getattr(metrics, name)
    warnings.warn(
        f"sklearn_ofa.efficiency.calibration.{name} is deprecated since 0.2 and will be removed "
        f"in 0.4; use {new}",
        FutureWarning,
        stacklevel=2,
    )
    return value
