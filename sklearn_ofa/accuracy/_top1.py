"""An evaluator's result as a top-1 accuracy in percent."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .._checks import is_bool
from ..exceptions import EvaluatorError

__all__ = ["check_top1", "TOP1_UNITS"]

#: Units of :meth:`AccuracyDataset.build`'s ``top1_unit``.
TOP1_UNITS = ("percent", "fraction")


def check_top1(value: Any, arch: Any, unit: str | None) -> float:
    """An evaluator's result as top-1 in percent, or :class:`EvaluatorError`.

    Parameters
    ----------
    value : object
        What the evaluator returned.
    arch : dict
        The arch it was evaluated on (for the message).
    unit : {"percent", "fraction"} or None
        ``None``: percent, and a value in ``(0, 1]`` is refused as looking like
        a fraction; ``"percent"``: any value in ``[0, 100]`` (declared
        explicitly); ``"fraction"``: a value in ``[0, 1]``, multiplied by 100.

    Returns
    -------
    float
        Top-1 in percent.
    """
    raw = value
    if (
        not is_bool(value)
        and not isinstance(value, numbers.Real)
        and getattr(value, "ndim", None) == 0
        and hasattr(value, "item")
    ):  # a 0-d numpy array or torch tensor
        value = value.item()
    if is_bool(value) or not isinstance(value, numbers.Real):
        raise EvaluatorError(
            f"the evaluator returned {raw!r} ({type(raw).__name__}) for arch {arch}; "
            "expected a real number: the top-1 accuracy in percent (e.g. 75.3)"
        )
    out = float(value)
    if not math.isfinite(out):
        raise EvaluatorError(
            f"the evaluator returned top-1 = {out!r} for arch {arch}; expected a finite "
            "number in percent (0..100)"
        )
    if unit == "fraction":
        if not 0.0 <= out <= 1.0:
            raise EvaluatorError(
                f"the evaluator returned top-1 = {out!r} for arch {arch}; with "
                "top1_unit='fraction' it must be in [0, 1]"
            )
        return out * 100.0
    if not 0.0 <= out <= 100.0:
        raise EvaluatorError(
            f"the evaluator returned top-1 = {out!r} for arch {arch}; expected percent in [0, 100]"
        )
    if unit is None and 0.0 < out <= 1.0:
        raise EvaluatorError(
            f"the evaluator returned top-1 = {out!r} for arch {arch}, which looks like a "
            f"fraction; evaluators must return percent ({out * 100:g} for {out * 100:g} %). "
            "Pass top1_unit='fraction' to build() for an evaluator that returns fractions, "
            "or top1_unit='percent' (or give the evaluator a top1_unit = 'percent' attribute) "
            "if accuracies below 1 % are real"
        )
    return out
