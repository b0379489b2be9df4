"""Scorers for accuracy predictors: Kendall tau and RMSE in accuracy points.

Pass the scorer objects :data:`kendall_tau_scorer` and
:data:`neg_rmse_points_scorer` as ``scoring=`` (alone or in a dict of several
metrics). scikit-learn has no public registry of scoring strings (its
parameter validation fixes the allowed names when it is imported), so this
package does not add string names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import make_scorer

__all__ = [
    "kendall_tau_score",
    "rmse_points_score",
    "kendall_tau_scorer",
    "neg_rmse_points_scorer",
]


def kendall_tau_score(y_true: Any, y_pred: Any) -> float:
    """Kendall rank correlation (tau-b) between true and predicted accuracies.

    Examples
    --------
    >>> from sklearn_ofa.accuracy import kendall_tau_score
    >>> kendall_tau_score([0.70, 0.72, 0.75], [0.1, 0.2, 0.3])
    1.0
    """
    tau = kendalltau(np.ravel(y_true), np.ravel(y_pred)).statistic
    return float(0.0 if np.isnan(tau) else tau)


def rmse_points_score(y_true: Any, y_pred: Any) -> float:
    """Root-mean-square error in accuracy points (targets given as fractions: x 100).

    Examples
    --------
    >>> from sklearn_ofa.accuracy import rmse_points_score
    >>> round(rmse_points_score([0.750, 0.760], [0.752, 0.758]), 6)
    0.2
    """
    diff = np.ravel(y_true).astype(np.float64) - np.ravel(y_pred).astype(np.float64)
    return float(100.0 * np.sqrt(np.mean(diff**2)))


kendall_tau_scorer = make_scorer(kendall_tau_score, greater_is_better=True)
neg_rmse_points_scorer = make_scorer(rmse_points_score, greater_is_better=False)

