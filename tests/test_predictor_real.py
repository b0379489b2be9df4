"""The default accuracy predictor on real ImageNet top-1 of OFA MobileNetV3 subnets.

Uses the bundled :func:`sklearn_ofa.datasets.load_ofa_mbv3_imagenet` (901 real subnets
with measured top-1). One default pipeline and one OFA-recipe pipeline are fitted once
on a seeded 80/20 split (about 20 s on one thread).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sklearn_ofa import make_accuracy_pipeline
from sklearn_ofa.datasets import load_ofa_mbv3_imagenet
from sklearn_ofa.metrics import kendall_tau

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def split():
    bunch = load_ofa_mbv3_imagenet()
    space = bunch.space
    codes, y = space.as_codes(bunch.data), np.asarray(bunch.target, dtype=np.float64)
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:180], order[180:]
    return space, codes[train], y[train], codes[test], y[test]


@pytest.fixture(scope="module")
def fitted(split):
    space, Xtr, ytr, _, _ = split
    default = make_accuracy_pipeline(space, random_state=0).fit(Xtr, ytr)
    ofa = make_accuracy_pipeline(space, recipe="ofa", random_state=0).fit(Xtr, ytr)
    return default, ofa


def _rmse_points(y, p):
    return float(np.sqrt(np.mean((y - p) ** 2)) * 100)


def test_default_beats_ofa_recipe_on_held_out_real_subnets(split, fitted):
    _, _, _, Xte, yte = split
    default, ofa = fitted
    p_def, p_ofa = default.predict(Xte), ofa.predict(Xte)
    tau_def, tau_ofa = kendall_tau(yte, p_def), kendall_tau(yte, p_ofa)
    rmse_def, rmse_ofa = _rmse_points(yte, p_def), _rmse_points(yte, p_ofa)
    assert tau_def > tau_ofa + 0.02, (tau_def, tau_ofa)
    assert rmse_def < 0.7 * rmse_ofa, (rmse_def, rmse_ofa)
    assert tau_def > 0.93 and rmse_def < 0.1, (tau_def, rmse_def)


def test_return_std_is_calibrated_on_held_out_real_subnets(split, fitted):
    _, _, _, Xte, yte = split
    default, _ = fitted
    mean, std = default.predict(Xte, return_std=True)
    assert mean.shape == std.shape == (len(yte),)
    assert np.array_equal(mean, default.predict(Xte))
    assert (std > 0).all()
    z = np.abs(yte - mean) / std
    # 180 held-out subnets: the binomial sd of a 68 % coverage is 3.5 points
    assert 0.55 <= np.mean(z <= 1.0) <= 0.82
    assert np.mean(z <= 1.96) >= 0.82


def test_return_std_survives_pickle_and_row_blocks(split, fitted, monkeypatch):
    _, _, _, Xte, _ = split
    default, ofa = fitted
    mean, std = default.predict(Xte, return_std=True)
    loaded = pickle.loads(pickle.dumps(default))
    m2, s2 = loaded.predict(Xte, return_std=True)
    np.testing.assert_allclose(m2, mean, rtol=0, atol=1e-7)
    np.testing.assert_allclose(s2, std, rtol=1e-5, atol=1e-9)
    monkeypatch.setattr(type(default), "predict_chunk_size", 64)  # 3 row blocks
    m3, s3 = default.predict(Xte, return_std=True)
    np.testing.assert_allclose(m3, mean, rtol=0, atol=1e-7)
    np.testing.assert_allclose(s3, std, rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="calibrated ensemble"):
        ofa.predict(Xte, return_std=True)


def test_conformal_intervals_cover_held_out_real_subnets(split, fitted):
    _, _, _, Xte, yte = split
    default, _ = fitted
    for alpha in (0.1, 0.05):
        lo, hi = default.predict_interval(Xte, alpha=alpha).T
        assert (lo < hi).all()
        covered = np.mean((lo <= yte) & (yte <= hi))
        # 180 held-out subnets: the binomial sd of a 90-95 % coverage is 1.6-2.2 points
        assert covered >= 1 - alpha - 0.07, (alpha, covered)
    mean, _ = default.predict(Xte, return_std=True)
    np.testing.assert_allclose((lo + hi) / 2, mean, atol=1e-9)
    with pytest.raises(
        ValueError, match="alpha = 0.001 is too small for 721 training rows: a 99.9% interval"
    ):
        default.predict_interval(Xte, alpha=0.001)
    with pytest.raises(ValueError, match=r"allowed values: a number in \(0, 1\)"):
        default.predict_interval(Xte, alpha=1.5)


def test_top1_in_percent_is_refused_naming_the_value(split):
    space, Xtr, ytr, _, _ = split
    pipe = make_accuracy_pipeline(space, max_epochs=1, n_ensemble=1)
    with pytest.raises(
        ValueError, match=r"y\[0\] = .* allowed values: \[0, 1\] \(top-1 in percent"
    ):
        pipe.fit(Xtr, ytr * 100)
