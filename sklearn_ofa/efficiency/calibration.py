"""Metrics for latency predictors: MAPE, the ±10% accuracy of nn-Meter, Kendall tau."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import make_scorer

__all__ = ["mape", "within_pct", "kendall_tau", "latency_report", "within_10pct_scorer"]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} values but y_pred has {p.size}")
    return t, p


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error, in percent.

    Examples
    --------
    >>> mape([10, 20], [11, 18])
    10.0
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t) / np.abs(t)) * 100)


def within_pct(y_true, y_pred, pct: float = 10.0) -> float:
    """Fraction of predictions within ``±pct`` percent of the truth (nn-Meter's "±10% accuracy").

    Examples
    --------
    >>> within_pct([10, 20, 30], [10.5, 23, 30])
    0.6666666666666666
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t) <= pct / 100 * np.abs(t)))


def kendall_tau(y_true, y_pred) -> float:
    """Kendall rank correlation (tau-b) between truth and prediction."""
    t, p = _pair(y_true, y_pred)
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
