"""sklearn_ofa.metrics against scipy, scikit-learn and hand-computed values on real predictions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import mean_absolute_percentage_error, root_mean_squared_error
from sklearn.model_selection import cross_val_predict

from sklearn_ofa.accuracy.scoring import (
    kendall_tau_score,
    kendall_tau_scorer,
    neg_rmse_points_scorer,
    rmse_points_score,
)
from sklearn_ofa.datasets import load_digits_subnets
from sklearn_ofa.efficiency import LatencyTable
from sklearn_ofa.metrics import kendall_tau, latency_report, mape, rmse, within_pct
from sklearn_ofa.spaces import MobileNetSpace


@pytest.fixture(scope="module")
def digits():
    """Real top-1 (fractions) of the bundled digits subnets and a noisy 'prediction'."""
    data = load_digits_subnets()
    y = np.asarray(data.target, dtype=np.float64)[:300]
    pred = y + np.random.default_rng(0).normal(0, 0.01, y.size)
    return y, pred


def test_match_scipy_and_sklearn_on_real_accuracies(digits):
    y, pred = digits
    assert kendall_tau(y, pred) == kendalltau(y, pred).statistic
    assert rmse(y, pred) == root_mean_squared_error(y, pred)
    assert mape(y, pred) == pytest.approx(100 * mean_absolute_percentage_error(y, pred), rel=1e-15)
    assert rmse_points_score(y, pred) == pytest.approx(100 * np.sqrt(np.mean((y - pred) ** 2)))


def test_hand_computed_values():
    # of the 6 pairs only (1, 2) is discordant: tau = (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4.5]) == pytest.approx(2 / 3)
    assert rmse([0, 0, 0, 0], [1, -1, 1, -1]) == 1.0
    assert mape([10, 20, 40], [11, 18, 40]) == pytest.approx((10 + 10 + 0) / 3)
    # |err| / truth: 5 %, 15 %, 10 % (the band is closed), 0 %
    assert within_pct([100, 100, 100, 100], [105, 85, 110, 100]) == 0.75
    assert within_pct([100, 100], [105, 85], pct=0) == 0.0


@pytest.mark.parametrize(
    "y_true, y_pred",
    [([0.7, 0.7, 0.7], [0.1, 0.2, 0.3]), ([0.1, 0.2, 0.3], [0.5, 0.5, 0.5]), ([0.3], [0.4])],
)
def test_kendall_tau_constant_policy(y_true, y_pred):
    assert np.isnan(kendalltau(y_true, y_pred).statistic)  # what scipy gives
    with pytest.raises(ValueError, match="Kendall tau needs at least two values"):
        kendall_tau(y_true, y_pred)
    assert kendall_tau(y_true, y_pred, constant=0.0) == 0.0
    assert np.isnan(kendall_tau(y_true, y_pred, constant=np.nan))
    assert kendall_tau_score(y_true, y_pred) == 0.0
    with pytest.raises(ValueError, match="'constant' parameter of kendall_tau"):
        kendall_tau(y_true, y_pred, constant="zero")


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"y_pred\[2\] = inf is not allowed"):
        rmse([1, 2, 3], [1, 2, np.inf])
    with pytest.raises(ValueError, match="y_true has 2 values but y_pred has 3"):
        kendall_tau([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=r"y_true\[0\] = -1.0 is not allowed"):
        within_pct([-1, 2], [1, 2])
    with pytest.raises(TypeError, match="y_true must be numbers"):
        latency_report(["a", "b"], [1, 2])


def test_scorers_on_a_real_predictor(digits):
    from sklearn.linear_model import Ridge

    data = load_digits_subnets()
    space = data.space
    X = space.to_codes(data.data[:200]).astype(np.float64)
    y = np.asarray(data.target, dtype=np.float64)[:200]
    model = Ridge().fit(X, y)
    pred = model.predict(X)
    assert kendall_tau_scorer(model, X, y) == kendalltau(y, pred).statistic
    assert neg_rmse_points_scorer(model, X, y) == pytest.approx(
        -100 * root_mean_squared_error(y, pred)
    )


TINY = {
    "base_stage_width": [8, 8, 8, 16, 16, 24, 24, 32, 64],
    "depth_list": [1, 2],
    "ks_list": [3],
    "expand_ratio_list": [3],
    "image_sizes": [32],
    "n_classes": 10,
    "name": "tiny",
}


def test_latency_report_and_frozen_table():
    """A really profiled table; calibration through FrozenEstimator survives clone and CV."""
    tiny = MobileNetSpace("mbv3", **TINY)
    table = LatencyTable(tiny, warmup=0, repeats=2, isolate=False).fit()
    archs = tiny.sample(12, random_state=3)
    raw = table.predict(archs)
    y = 1.25 * raw + 0.05
    frozen = LatencyTable(tiny, table=FrozenEstimator(table), calibration="linear")
    from_lut = LatencyTable(tiny, table=table.lut_, calibration="linear")
    cloned = clone(frozen)
    assert cloned.get_params()["table"].estimator is table  # not unfitted by clone
    np.testing.assert_array_equal(
        cloned.fit(archs, y).predict(archs), from_lut.fit(archs, y).predict(archs)
    )
    assert cloned.settings_ == table.settings_
    # the Pipeline/ColumnTransformer calibrations equal a plain LinearRegression on their columns
    from sklearn.linear_model import LinearRegression

    F = cloned._features(tiny.as_codes(archs))
    for cal, cols in (("linear", [0]), ("per_type", slice(1, None))):
        ref = LinearRegression(positive=True).fit(F[:, cols], y).predict(F[:, cols])
        est = LatencyTable(tiny, table=table.lut_, calibration=cal).fit(archs, y)
        np.testing.assert_array_equal(est.predict(archs), ref)
    cv = cross_val_predict(frozen, archs, y, cv=3)
    report = latency_report(y, cv)
    assert report["n"] == 12 and report["within_10pct"] == within_pct(y, cv, 10)
    assert report["mape_pct"] == pytest.approx(100 * np.mean(np.abs(cv - y) / y))
    assert report["kendall_tau"] == kendalltau(y, cv).statistic
    with pytest.raises(
        TypeError, match=r"must wrap a fitted LatencyTable, got FrozenEstimator\(dict\)"
    ):
        LatencyTable(tiny, table=FrozenEstimator({})).fit()


def test_old_calibration_module_warns_and_forwards_to_metrics():
    from sklearn_ofa.efficiency import calibration

    with pytest.warns(FutureWarning, match="sklearn_ofa.metrics.mape"):
        old_mape = calibration.mape
    assert old_mape([10, 20], [11, 18]) == pytest.approx(10.0)
    with pytest.warns(FutureWarning, match="make_scorer"):
        scorer = calibration.within_10pct_scorer
    from sklearn.dummy import DummyRegressor

    X, y = np.zeros((4, 1)), np.array([10.0, 10.0, 10.0, 30.0])
    assert scorer(DummyRegressor(strategy="constant", constant=10.5).fit(X, y), X, y) == 0.75
    with pytest.raises(AttributeError, match="no attribute 'rmse'"):
        calibration.rmse
