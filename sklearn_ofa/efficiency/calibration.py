"""Metrics for latency predictors: MAPE, the ±10% accuracy of nn-Meter, Kendall tau."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import make_scorer

__all__ = ["mape", "within_pct", "kendall_tau", "latency_report", "within_10pct_scorer"]


def _values(name: str, y) -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numbers (latencies in ms), got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False).ravel()
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {float(arr[i])!r} is not allowed; allowed values: finite numbers")
    return arr


def _pair(y_true, y_pred, *, positive_truth: bool = False) -> tuple[np.ndarray, np.ndarray]:
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
                f"y_true[{i}] = {float(t[i])!r} is not allowed; allowed values: latencies > 0 "
                "(a percentage error divides by the truth)"
            )
    return t, p


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error, in percent.

    ``y_true`` must be finite and > 0, ``y_pred`` finite (``ValueError``
    naming the first bad value otherwise).

    Examples
    --------
    >>> mape([10, 20], [11, 18])
    10.0
    """
    t, p = _pair(y_true, y_pred, positive_truth=True)
    return float(np.mean(np.abs(p - t) / t) * 100)


def within_pct(y_true, y_pred, pct: float = 10.0) -> float:
    """Fraction of predictions within ``±pct`` percent of the truth (nn-Meter's "±10% accuracy").

    Examples
    --------
    >>> within_pct([10, 20, 30], [10.5, 23, 30])
    0.6666666666666666
    """
    if isinstance(pct, bool) or not isinstance(pct, (int, float, np.integer, np.floating)) or not (
        np.isfinite(pct) and pct >= 0
    ):
        raise ValueError(f"pct = {pct!r} is not allowed; allowed values: a finite number of percent >= 0")
    t, p = _pair(y_true, y_pred, positive_truth=True)
    return float(np.mean(np.abs(p - t) <= pct / 100 * t))


def kendall_tau(y_true, y_pred) -> float:
    """Kendall rank correlation (tau-b) between truth and prediction.

    ``ValueError`` when there are fewer than two values or either side is
    constant (tau is undefined there, scipy would return NaN).
    """
    t, p = _pair(y_true, y_pred)
    if t.size < 2 or np.all(t == t[0]) or np.all(p == p[0]):
        raise ValueError(
            f"Kendall tau needs at least two values and non-constant y_true and y_pred (got {t.size} "
            "value(s)); it is undefined otherwise"
        )
    return float(kendalltau(t, p).statistic)


def latency_report(y_true, y_pred) -> dict:
    """MAPE (%), ±5%/±10% fractions and Kendall tau in one dict."""
    return {
        "mape_pct": mape(y_true, y_pred),
        "within_5pct": within_pct(y_true, y_pred, 5),
        "within_10pct": within_pct(y_true, y_pred, 10),
        "kendall_tau": kendall_tau(y_true, y_pred),
        "n": int(np.size(y_true)),
    }


#: ``scoring=`` object: fraction within ±10% (greater is better).
within_10pct_scorer = make_scorer(within_pct, greater_is_better=True)
