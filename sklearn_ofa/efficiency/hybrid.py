"""The hybrid latency calibration: learn what the block sum misses, model chosen by CV.

A block sum misses per-block framework overhead, cache effects and fusion
across blocks. :class:`HybridCalibration` is fitted on the feature matrix that
:class:`~sklearn_ofa.efficiency.LatencyTable` builds for ``calibration="hybrid"``
(block sum, per-type sums, per-type block counts, active blocks, MACs, image
size) and picks, by cross-validated MAPE, one of a few small models: the plain
linear correction of the block sum, one weight per block type, and a ridge
regression on all features (relative or absolute error).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["HybridCalibration"]

_ALPHAS = np.logspace(-4, 3, 15)


def _columns(cols: Any) -> ColumnTransformer:
    return ColumnTransformer([("features", "passthrough", cols)])


def _candidates(n_types: int, n_features: int) -> dict[str, Any]:
    types = list(range(1, 1 + n_types))
    every = list(range(n_features))
    ridge = Pipeline([("scale", StandardScaler()), ("ridge", RidgeCV(alphas=_ALPHAS))])
    return {
        "linear": Pipeline(
            [("columns", _columns([0])), ("regressor", LinearRegression(positive=True))]
        ),
        "per_type": Pipeline(
            [("columns", _columns(types)), ("regressor", LinearRegression(positive=True))]
        ),
        "ridge": Pipeline([("columns", _columns(every)), ("regressor", clone(ridge))]),
        # fitted on log latency against log features: relative error, as MAPE counts it
        "ridge_log": TransformedTargetRegressor(
            regressor=Pipeline(
                [
                    ("columns", _columns(every)),
                    ("log", FunctionTransformer(np.log1p)),
                    ("regressor", clone(ridge)),
                ]
            ),
            func=np.log,
            inverse_func=np.exp,
        ),
    }


class HybridCalibration(RegressorMixin, BaseEstimator):
    """Latency correction on top of a block sum, the model chosen by cross-validated MAPE.

    Parameters
    ----------
    n_types : int, default=1
        Number of per-type sum columns after the block sum (column 0).
    candidates : list of str, optional
        Models to choose from (default: all of ``"linear"``, ``"per_type"``,
        ``"ridge"``, ``"ridge_log"``).
    cv : int, default=5
        Shuffled folds of the selection (fewer when there are fewer samples).
    random_state : int, default=0
        Seed of the fold shuffling.

    Attributes
    ----------
    chosen_ : str
        The candidate with the lowest cross-validated MAPE.
    cv_mape_ : dict
        Cross-validated MAPE (%) of every candidate.
    estimator_ : estimator
        The chosen candidate, refitted on all samples.
    oof_predictions_ : ndarray of shape (n_samples,)
        The chosen candidate's out-of-fold predictions (for conformal intervals).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ofa.efficiency.hybrid import HybridCalibration
    >>> rng = np.random.default_rng(0)
    >>> F = rng.uniform(1, 10, size=(40, 3))
    >>> F[:, 0] = F[:, 1] + F[:, 2]
    >>> y = 1.3 * F[:, 1] + 0.9 * F[:, 2] + 0.5
    >>> cal = HybridCalibration(n_types=2).fit(F, y)
    >>> cal.chosen_ in {"per_type", "ridge", "ridge_log"}, bool(cal.cv_mape_[cal.chosen_] < 1)
    (True, True)
    """

    _parameter_constraints: dict = {
        "n_types": [int],
        "candidates": [list, None],
        "cv": [int],
        "random_state": [int],
    }

    def __init__(
        self,
        n_types: int = 1,
        *,
        candidates: list[str] | None = None,
        cv: int = 5,
        random_state: int = 0,
    ):
        self.n_types = n_types
        self.candidates = candidates
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> HybridCalibration:
        """Cross-validate every candidate, keep the best, refit it on all samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Calibration features (column 0 the block sum, then ``n_types`` per-type sums).
        y : array-like of shape (n_samples,)
            Measured latencies (ms, > 0).

        Returns
        -------
        self : HybridCalibration
        """
        X, y = validate_data(self, X, y, y_numeric=True)
        if not 1 + self.n_types <= X.shape[1]:
            raise ValueError(
                f"n_types = {self.n_types!r} is not allowed for {X.shape[1]} feature columns; "
                f"allowed values: 0 .. {X.shape[1] - 1}"
            )
        every = _candidates(self.n_types, X.shape[1])
        names = list(every) if self.candidates is None else list(self.candidates)
        unknown = [n for n in names if n not in every]
        if unknown or not names:
            raise ValueError(
                f"candidates = {self.candidates!r} is not allowed; allowed values: a non-empty "
                f"list of {sorted(every)}"
            )
        folds = KFold(min(self.cv, len(y)), shuffle=True, random_state=self.random_state)
        oof = {n: cross_val_predict(every[n], X, y, cv=folds) for n in names}
        self.cv_mape_ = {
            n: float(np.mean(np.abs(p - y) / y) * 100) if np.isfinite(p).all() else np.inf
            for n, p in oof.items()
        }
        self.chosen_ = min(names, key=lambda n: self.cv_mape_[n])
        self.oof_predictions_ = oof[self.chosen_]
        self.estimator_ = clone(every[self.chosen_]).fit(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted latency (ms) of the chosen model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Calibration features.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False)
        return np.asarray(self.estimator_.predict(X), dtype=np.float64).ravel()
