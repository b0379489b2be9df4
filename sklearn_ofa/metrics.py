"""Metrics of the package's predictors, built on scipy and scikit-learn.

Ranking: :func:`kendall_tau` (what an architecture search needs from a
predictor). Errors: :func:`rmse`, :func:`mape` (in percent) and
:func:`within_pct`, the share of predictions within ``±pct`` % of the truth
(nn-Meter's "±10 % accuracy"). :func:`latency_report` bundles those of a
latency predictor. Every metric takes finite numbers of equal, non-zero
length and raises ``ValueError``/``TypeError`` naming the first bad value
otherwise.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import mean_absolute_percentage_error, root_mean_squared_error
from sklearn.utils._param_validation import StrOptions, validate_params

from ._constraints import real_interval

__all__ = ["kendall_tau", "latency_report", "mape", "rmse", "within_pct"]


def _values(name: str, y: Any) -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False).ravel()
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name}[{i}] = {float(arr[i])!r} is not allowed; allowed values: finite numbers"
        )
    return arr


def _pair(
    y_true: Any, y_pred: Any, *, positive_truth: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as finite float64 vectors of the same, non-zero length."""
    t = _values("y_true", y_true)
    p = _values("y_pred", y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} values but y_pred has {p.size}")
    if not t.size:
        raise ValueError("y_true and y_pred are empty: a metric needs at least one value")
    if positive_truth:
        bad = np.flatnonzero(~(t > 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"y_true[{i}] = {float(t[i])!r} is not allowed; allowed values: numbers > 0 "
                "(a percentage error divides by the truth)"
            )
    return t, p


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "constant": [StrOptions({"raise"}), numbers.Real],
    },
    prefer_skip_nested_validation=True,
)
def kendall_tau(y_true: Any, y_pred: Any, *, constant: str | float = "raise") -> float:
    """Kendall rank correlation (tau-b, :func:`scipy.stats.kendalltau`) of truth and prediction.

    Tau is undefined for fewer than two values or a constant side (scipy
    returns NaN). ``constant`` says what to do then: a report raises, a
    scorer needs a number (the scorers of
    :mod:`sklearn_ofa.accuracy.scoring` use ``constant=0.0``: a prediction
    that ranks nothing scores as no correlation).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Finite numbers.
    constant : "raise" or float, default="raise"
        ``"raise"``: a ``ValueError`` where tau is undefined; a number: return it there.

    Returns
    -------
    float
        In ``[-1, 1]`` (or ``constant``).

    Examples
    --------
    >>> round(kendall_tau([0.70, 0.72, 0.75], [0.1, 0.3, 0.2]), 4)  # 2 concordant, 1 discordant
    0.3333
    >>> kendall_tau([0.7, 0.7, 0.7], [0.1, 0.2, 0.3], constant=0.0)
    0.0
    """
    t, p = _pair(y_true, y_pred)
    if t.size < 2 or np.all(t == t[0]) or np.all(p == p[0]):
        if constant == "raise":
            raise ValueError(
                f"Kendall tau needs at least two values and non-constant y_true and y_pred (got "
                f"{t.size} value(s)); it is undefined otherwise (pass constant=<number> to get "
                "that number instead)"
            )
        return float(constant)
    return float(kendalltau(t, p).statistic)


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"]}, prefer_skip_nested_validation=True
)
def rmse(y_true: Any, y_pred: Any) -> float:
    """Root-mean-square error (:func:`sklearn.metrics.root_mean_squared_error`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Finite numbers.

    Returns
    -------
    float
        In the unit of the inputs.

    Examples
    --------
    >>> rmse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    1.1547005383792515
    """
    t, p = _pair(y_true, y_pred)
    return float(root_mean_squared_error(t, p))


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"]}, prefer_skip_nested_validation=True
)
def mape(y_true: Any, y_pred: Any) -> float:
    """Mean absolute percentage error in percent (:func:`~sklearn.metrics.mean_absolute_percentage_error` x 100).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Finite numbers > 0 (the error divides by them).
    y_pred : array-like of shape (n,)
        Finite numbers.

    Returns
    -------
    float
        Percent (``10.0`` is 10 %).

    Examples
    --------
    >>> mape([10, 20], [11, 18])
    10.0
    """
    t, p = _pair(y_true, y_pred, positive_truth=True)
    return float(mean_absolute_percentage_error(t, p) * 100)


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"], "pct": [real_interval(0)]},
    prefer_skip_nested_validation=True,
)
def within_pct(y_true: Any, y_pred: Any, pct: float = 10.0) -> float:
    """Fraction of predictions within ``±pct`` percent of the truth (nn-Meter's "±10 % accuracy").

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Finite numbers > 0.
    y_pred : array-like of shape (n,)
        Finite numbers.
    pct : float, default=10.0
        The band, in percent of the truth (>= 0).

    Returns
    -------
    float
        In ``[0, 1]``.

    Examples
    --------
    >>> within_pct([10, 20, 30], [10.5, 23, 30])
    0.6666666666666666
    """
    t, p = _pair(y_true, y_pred, positive_truth=True)
    return float(np.mean(np.abs(p - t) <= pct / 100 * t))


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"]}, prefer_skip_nested_validation=True
)
def latency_report(y_true: Any, y_pred: Any) -> dict:
    """MAPE (%), the ±5 % / ±10 % fractions and Kendall tau of a latency predictor in one dict.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Measured latencies (> 0).
    y_pred : array-like of shape (n,)
        Predicted latencies.

    Returns
    -------
    dict
        ``mape_pct``, ``within_5pct``, ``within_10pct``, ``kendall_tau``, ``n``.

    Raises
    ------
    ValueError
        Bad values, or Kendall tau undefined (fewer than two values, a constant side).

    Examples
    --------
    >>> latency_report([10, 20, 30], [10.4, 23, 29])["within_10pct"]
    0.6666666666666666
    """
    return {
        "mape_pct": mape(y_true, y_pred),
        "within_5pct": within_pct(y_true, y_pred, 5),
        "within_10pct": within_pct(y_true, y_pred, 10),
        "kendall_tau": kendall_tau(y_true, y_pred),
        "n": int(np.size(y_true)),
    }
