"""scikit-learn parameter constraints for this package: numbers as numbers."""

from __future__ import annotations

import numbers
from typing import Any

from sklearn.utils._param_validation import Interval

from ._checks import is_bool

__all__ = ["StrictInterval", "int_interval", "real_interval"]


class StrictInterval(Interval):
    """scikit-learn's ``Interval`` constraint that also refuses ``bool`` and NaN.

    ``True`` is a ``numbers.Integral`` to Python, so scikit-learn's own
    intervals accept ``repeats=True``; the estimators of this package want
    numbers to be numbers.
    """

    def is_satisfied_by(self, val: Any) -> bool:
        if is_bool(val) or (isinstance(val, numbers.Real) and val != val):
            return False
        return super().is_satisfied_by(val)

    def __str__(self) -> str:
        return f"{super().__str__()} (not a bool)"


def int_interval(low: int, high: int | None = None) -> StrictInterval:
    """Constraint ``low <= int <= high`` (``high`` None: unbounded), bools refused."""
    return StrictInterval(numbers.Integral, low, high, closed="left" if high is None else "both")


def real_interval(low: float, high: float | None = None) -> StrictInterval:
    """Constraint: a real number ``>= low`` (``<= high``), bools and NaN refused."""
    return StrictInterval(numbers.Real, low, high, closed="left" if high is None else "both")
