"""Scorers for accuracy predictors, built from :mod:`sklearn_ofa.metrics`.

Pass the scorer objects :data:`kendall_tau_scorer` and
:data:`neg_rmse_points_scorer` as ``scoring=`` (alone or in a dict of several
metrics). scikit-learn has no public registry of scoring strings (its
parameter validation fixes the allowed names when it is imported), so this
package does not add string names.
"""

from __future__ import annotations

from typing import Any

from sklearn.metrics import make_scorer

from ..metrics import kendall_tau, rmse

__all__ = [
    "kendall_tau_score",
    "kendall_tau_scorer",
    "neg_rmse_points_scorer",
    "rmse_points_score",
]


def kendall_tau_score(y_true: Any, y_pred: Any) -> float:
    """The score of :data:`kendall_tau_scorer`: :func:`~sklearn_ofa.metrics.kendall_tau`, 0.0 where undefined.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted accuracies (finite).

    Returns
    -------
    float
        Tau in ``[-1, 1]``; ``0.0`` for a constant side or fewer than two values.

    Examples
    --------
    >>> from sklearn_ofa.accuracy import kendall_tau_score
    >>> kendall_tau_score([0.70, 0.72, 0.75], [0.1, 0.2, 0.3])
    1.0
    """
    return kendall_tau(y_true, y_pred, constant=0.0)


def rmse_points_score(y_true: Any, y_pred: Any) -> float:
    """The score of :data:`neg_rmse_points_scorer`: RMSE in accuracy points (fractions x 100).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted top-1 as fractions (finite).

    Returns
    -------
    float
        :func:`~sklearn_ofa.metrics.rmse` times 100.

    Examples
    --------
    >>> from sklearn_ofa.accuracy import rmse_points_score
    >>> round(rmse_points_score([0.750, 0.760], [0.752, 0.758]), 6)
    0.2
    """
    return 100.0 * rmse(y_true, y_pred)


#: ``scoring=`` object: Kendall tau (greater is better; 0.0 for a constant prediction).
kendall_tau_scorer = make_scorer(kendall_tau, greater_is_better=True, constant=0.0)
#: ``scoring=`` object: minus the RMSE in accuracy points (greater is better).
neg_rmse_points_scorer = make_scorer(rmse_points_score, greater_is_better=False)
