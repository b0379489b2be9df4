"""Checks of arguments and values shared by every floor: numbers as numbers, in range, finite.

Numbers must be numbers: ``bool`` is not an int here (Python and scikit-learn
take ``True`` as ``1``), strings are not numbers, and non-integral floats are
not ints. Messages name the argument, the value and what is allowed. numpy only:
the torch-free, scikit-learn-free space layer uses these too.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

__all__ = [
    "is_bool",
    "is_int",
    "is_real",
    "check_int",
    "check_real",
    "check_choice_list",
    "check_int_list",
    "check_options",
    "check_name",
    "reject_non_numbers",
    "check_finite_predictions",
    "check_predictions",
    "zero_samples_error",
    "n_rows",
]


def is_bool(value: Any) -> bool:
    """``bool`` or ``numpy.bool_``."""
    return isinstance(value, (bool, np.bool_))


def check_bool(name: str, value: Any) -> None:
    """A bool (Python or numpy), else ``TypeError`` naming ``name`` and its value."""
    if not is_bool(value):
        raise TypeError(f"{name} = {value!r} is not allowed; allowed values: True or False")


def is_int(v: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(v, numbers.Integral) and not is_bool(v)


def is_real(v: Any) -> bool:
    """A real number that is not a bool."""
    return isinstance(v, numbers.Real) and not is_bool(v)


def check_int(name: str, value: Any, *, low: int | None = None, odd: bool = False) -> int:
    """``value`` as an int; raise naming ``name`` unless an integer ``>= low`` (and odd)."""
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} = {value} is not allowed; it must be >= {low}")
    if odd and value % 2 == 0:
        raise ValueError(f"{name} = {value} is not allowed; it must be odd (a centred kernel)")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float within ``[low, high]`` (ends open where asked)."""
    if not is_real(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    lo_bad = low is not None and (value <= low if low_open else value < low)
    hi_bad = high is not None and (value >= high if high_open else value > high)
    if value != value or value in (float("inf"), float("-inf")) or lo_bad or hi_bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        span = f"{'(' if low_open else '['}{lo}, {hi}{')' if high_open else ']'}"
        raise ValueError(f"{name} = {value!r} is not allowed; allowed range: {span}")
    return value


def check_choice_list(
    name: str,
    values: Any,
    *,
    kind: str = "int",
    low: float | None = None,
    low_open: bool = False,
    odd: bool = False,
    length: int | None = None,
    distinct: bool = True,
) -> tuple:
    """A non-empty list of distinct ints (or reals), each checked like :func:`check_int`."""
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, Sequence)
        and not hasattr(values, "__array__")
    ):
        what = "ints" if kind == "int" else "numbers"
        raise TypeError(f"{name} must be a list of {what}, got {type(values).__name__} {values!r}")
    values = list(np.ravel(values).tolist() if hasattr(values, "__array__") else values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    if length is not None and len(values) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(values)}: {values!r}")
    out = []
    for i, v in enumerate(values):
        label = f"{name}[{i}]"
        if kind == "int":
            out.append(check_int(label, v, low=None if low is None else int(low), odd=odd))
            if low_open and out[-1] <= low:
                raise ValueError(f"{label} = {out[-1]} is not allowed; it must be > {low}")
        else:
            out.append(check_real(label, v, low=low, low_open=low_open))
    if distinct and len(set(out)) != len(out):
        raise ValueError(f"{name} must hold distinct values, got {values!r}")
    return tuple(out)


def check_options(name: str, values: Any, allowed: Sequence, *, length: int) -> tuple:
    """A list of ``length`` entries, each one of ``allowed``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list, got {type(values).__name__} {values!r}")
    if len(values) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(values)}: {list(values)!r}")
    for i, v in enumerate(values):
        if is_bool(v):  # numpy bool compares as bool
            v = bool(v)
        if not any(type(v) is type(a) and v == a for a in allowed):
            raise ValueError(
                f"{name}[{i}] = {v!r} is not allowed; allowed values: {list(allowed)!r}"
            )
    return tuple(values)


def check_name(name: Any) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {type(name).__name__} {name!r}")


def check_int_list(name: str, values: Any) -> list[int]:
    """``values`` as a non-empty list of ints (repeats allowed); raise naming ``name[i]``."""
    return list(check_choice_list(name, values, distinct=False))


def reject_non_numbers(X: Any, name: str, *, allow_bool: bool = True) -> None:
    """Raise ``TypeError`` naming ``name`` when ``X`` holds strings (or bools, if refused).

    scikit-learn's ``check_array`` converts ``"0.8"`` to ``0.8`` silently; this
    check runs first. Inputs that are not array-like are left to ``check_array``.
    """
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # DataFrame
        for col, dt in zip(X.columns, X.dtypes):
            kind = getattr(dt, "kind", "O")
            if kind in "OUSV" or (kind == "b" and not allow_bool):
                arr = np.asarray(X[col])
                _check_object_values(arr, f"{name}[{col!r}]", allow_bool, kind)
        return
    if isinstance(X, np.ndarray):
        arr = X
    elif isinstance(X, (list, tuple)):
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError):
            return
    else:
        return
    kind = arr.dtype.kind
    if kind in "OUSV" or (kind == "b" and not allow_bool):
        _check_object_values(arr, name, allow_bool, kind)


def _check_object_values(arr: np.ndarray, name: str, allow_bool: bool, kind: str) -> None:
    if kind in "USV":
        first = arr.flat[0].item() if arr.size else ""
        raise TypeError(f"{name} must hold numbers, got strings such as {first!r}")
    if kind == "b":
        raise TypeError(f"{name} must hold numbers, got booleans")
    for i, v in enumerate(arr.flat):
        if isinstance(v, (str, bytes)) or (not allow_bool and is_bool(v)):
            index = np.unravel_index(i, arr.shape) if arr.ndim > 1 else (i,)
            where = "".join(f"[{int(j)}]" for j in index)
            raise TypeError(f"{name}{where} must be a number, got {type(v).__name__} {v!r}")


def check_finite_predictions(pred: np.ndarray, who: str) -> np.ndarray:
    """Return ``pred`` when finite; else raise ``ValueError`` naming the first bad row."""
    if pred.size and not np.isfinite(pred).all():
        r = int(np.flatnonzero(~np.isfinite(pred))[0])
        raise ValueError(
            f"{who} predicted {float(pred[r])!r} for row {r}: the network's output is not finite "
            "(its weights or the input features are corrupt); no prediction is returned"
        )
    return pred


def zero_samples_error(codes: np.ndarray, estimator: Any) -> ValueError:
    """scikit-learn's message for a fit on zero samples."""
    return ValueError(
        f"Found array with 0 sample(s) (shape={codes.shape}) while a minimum of 1 is required by "
        f"{type(estimator).__name__}."
    )


def check_predictions(pred: np.ndarray, what: str, hint: str = "") -> np.ndarray:
    """Return ``pred`` when it is finite and ``>= 0``, else raise ``ValueError`` naming the row.

    Two reductions (min and max; NaN propagates through both), no Python loop
    over the archs.
    """
    if pred.size and not (pred.min() >= 0 and pred.max() < np.inf):
        bad = np.flatnonzero(~(np.isfinite(pred) & (pred >= 0)))
        i = int(bad[0])
        raise ValueError(
            f"{what} of X[{i}] is {float(pred[i])!r}, not a finite number >= 0 "
            f"({bad.size} of {pred.size} predictions are not){'; ' + hint if hint else ''}"
        )
    return pred


def n_rows(X: Any) -> int | None:
    """Number of rows of a batch (list, tuple, array, DataFrame); ``None`` for one dict
    or anything without a length."""
    if isinstance(X, dict):
        return None
    if isinstance(X, np.ndarray):
        return int(X.shape[0]) if X.ndim else None
    if isinstance(X, (list, tuple)) or hasattr(X, "iloc"):
        return len(X)
    return None
