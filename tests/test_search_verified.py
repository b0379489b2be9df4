"""Constraints at a confidence (latency intervals) and verification by measuring the result."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from sklearn_ofa import FLOPsModel
from sklearn_ofa.efficiency import LatencyTable
from sklearn_ofa.search import EvolutionFinder
from sklearn_ofa.spaces import MobileNetSpace

TINY = dict(
    family="mbv3",
    base_stage_width=[8, 8, 8, 16, 16, 24, 24, 32, 64],
    depth_list=[1, 2],
    ks_list=[3, 5],
    expand_ratio_list=[3],
    image_sizes=[32],
    n_classes=10,
    name="tiny",
)


@pytest.fixture(scope="module")
def setup():
    space = MobileNetSpace(**TINY)
    lut = LatencyTable(space, warmup=1, repeats=5).fit()
    codes = space.sample_codes(40, random_state=0)
    measured = lut.measure(codes)
    # the same measuring settings as the table, so that verify() may measure with it
    cal = LatencyTable(space, table=lut, calibration="linear", warmup=1, repeats=5)
    cal.fit(codes, measured)
    acc = Ridge().fit(codes, lut.predict_raw(codes))  # toy accuracy: bigger nets score higher
    return space, cal, acc, measured


@pytest.fixture(scope="module")
def modelled():
    """The space and a toy accuracy fit on FLOPs: no timing in it, so searches repeat exactly."""
    space = MobileNetSpace(**TINY)
    codes = space.sample_codes(40, random_state=0)
    return space, Ridge().fit(codes, FLOPsModel(space).fit().predict(codes))


def _finder(acc, eff, constraint, **kw):
    kw = {"population_size": 12, "n_generations": 3, "random_state": 0, **kw}
    return EvolutionFinder(acc, eff, constraint, **kw)


def test_confidence_judges_the_constraint_on_the_one_sided_upper_bound(setup):
    space, cal, acc, measured = setup
    # the limit from the upper bounds themselves (90th percentile): on a loaded runner the
    # timing noise widens the bounds and skews the calibration, so a limit taken from the
    # measurements can lie below every random arch's bound
    limit = float(np.quantile(cal.predict_upper(space.sample_codes(200, random_state=2), 0.1), 0.9))
    finder = _finder(acc, cal, limit, confidence=0.9).fit()
    ev = finder.evaluated_
    assert np.allclose(ev.efficiency, cal.predict_upper(ev.codes, alpha=0.1))
    assert (ev.efficiency <= limit).all()
    # the one-sided bound: the 37th of the 40 signed residuals, never above the two-sided
    # interval's upper end (equal when the largest errors are all overestimates of speed)
    signed = np.sort(cal.conformal_signed_scores_)
    assert len(signed) == 40
    np.testing.assert_allclose(ev.efficiency, cal.predict(ev.codes) * (1 + signed[36]))
    assert (ev.efficiency <= cal.predict_interval(ev.codes, alpha=0.1)[:, 1]).all()


def test_confidence_with_only_a_two_sided_interval_uses_its_upper_end(setup):
    space, cal, acc, _ = setup

    class IntervalOnly:  # a third-party efficiency model with intervals and no predict_upper
        def __init__(self, table):
            self.table = table

        def predict(self, X):
            return self.table.predict(X)

        def predict_interval(self, X, alpha=0.05):
            return self.table.predict_interval(X, alpha=alpha)

    # the limit from the upper ends themselves: timing noise can widen them past 1.2x the median
    upper = cal.predict_interval(space.sample_codes(200, random_state=2), alpha=0.1)[:, 1]
    finder = _finder(acc, IntervalOnly(cal), float(np.median(upper)), confidence=0.9, space=space)
    finder.fit()
    ev = finder.evaluated_
    assert np.allclose(ev.efficiency, cal.predict_interval(ev.codes, alpha=0.1)[:, 1])


def test_confidence_without_intervals_warns_and_uses_the_point_prediction(setup):
    space, cal, acc, _ = setup
    flops = FLOPsModel(space).fit()
    limit = float(np.median(flops.predict(space.sample_codes(50, random_state=1))))
    with pytest.warns(UserWarning, match="FLOPsModel has no predict_interval"):
        warned = _finder(acc, flops, limit, confidence=0.95).fit()
    assert warned.best_arch_ == _finder(acc, flops, limit).fit().best_arch_


def test_verify_measures_the_best_archs_and_returns_one_that_fits(setup):
    space, cal, acc, measured = setup
    # Searched at the median prediction (load spikes in the calibration measurements can put
    # every prediction above the measured median), verified at 3x it: the best archs sit
    # right at the search's constraint, and timing noise on a loaded runner reaches +40%.
    searched = float(np.median(cal.predict(space.sample_codes(200, random_state=2))))
    finder = _finder(acc, cal, searched).fit()
    limit = 3 * searched
    finder.set_params(constraint=limit)
    finder.verify(4)
    res = finder.result()
    ver = res.verification
    assert len(ver.codes) == 4 and (np.diff(ver.accuracy) <= 0).all()
    assert len({tuple(r) for r in ver.codes.tolist()}) == 4
    assert res.measured_efficiency == ver.measured_efficiency[ver.chosen] <= limit
    assert not ver.feasible[: ver.chosen].any()  # the most accurate feasible one
    assert np.array_equal(res.codes, ver.codes[ver.chosen])
    assert res.efficiency == pytest.approx(cal.predict(res.codes[None])[0])


def test_verify_measures_in_rounds_and_with_confidence_judges_a_bound(setup):
    space, cal, acc, measured = setup
    searched = float(np.median(cal.predict(space.sample_codes(200, random_state=2))))
    plain = _finder(acc, cal, searched).fit()
    plain.set_params(constraint=3 * searched)
    ver = plain.verify(3, rounds=2)
    assert ver.passes.shape == (2, 3) and (ver.passes > 0).all()
    np.testing.assert_array_equal(ver.measured_efficiency, np.median(ver.passes, axis=0))
    np.testing.assert_array_equal(ver.measured_bound, ver.measured_efficiency)  # no confidence
    # searched at the median upper bound: timing noise can put every bound above `searched`
    bounded = float(np.median(cal.predict_upper(space.sample_codes(200, random_state=2), 0.1)))
    sure = _finder(acc, cal, bounded, confidence=0.9).fit()
    sure.set_params(constraint=3 * bounded)
    ver = sure.verify(3, rounds=3)
    rel = ver.passes / ver.measured_efficiency - 1
    spread = np.sqrt(np.sum(rel**2) / (3 * 2))  # pooled over 3 archs, 2 degrees of freedom each
    margin = 1.2815515655446004 * spread * np.sqrt(2 / 3)  # z of 0.9
    np.testing.assert_allclose(ver.measured_bound, ver.measured_efficiency * (1 + margin))
    assert (ver.measured_bound > ver.measured_efficiency).all()
    assert ver.feasible.tolist() == (ver.measured_bound <= 3 * bounded).tolist()
    with pytest.raises(ValueError, match="rounds = 0 is not allowed"):
        sure.verify(2, rounds=0)


def test_verify_that_finds_nothing_feasible_says_so(setup):
    space, cal, acc, measured = setup
    finder = _finder(acc, cal, None).fit()
    finder.set_params(constraint=float(measured.min()) * 0.2)  # far below any subnet
    with pytest.raises(ValueError, match=r"none of the 3 measured archs \(1 of at most 3 tries\)"):
        finder.verify(3)
    assert finder.verification_.chosen is None and not finder.verification_.feasible.any()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="verify = .* is not allowed"):
            finder.verify(bad)
        with pytest.raises(ValueError, match="tries = .* is not allowed"):
            finder.verify(2, tries=bad)
    with pytest.raises(TypeError, match="FLOPsModel has no measure"):
        _finder(acc, FLOPsModel(space).fit(), None).fit().verify(2)


class _SlowDevice(FLOPsModel):
    """A device whose measured cost is 10% above the model's prediction, every time."""

    def measure(self, X):
        return 1.1 * self.predict(X)


def _searched_and_tight(modelled, device, k):
    """A finder searched under the device's median cost, its distinct evaluated archs most
    accurate first, and a constraint 5 % over the lowest prediction of the first ``k``."""
    space, acc = modelled
    limit = float(np.median(device.predict(space.sample_codes(200, random_state=3))))
    finder = _finder(acc, device, limit, n_generations=5).fit()
    ev = finder.evaluated_
    _, first = np.unique(ev.codes, axis=0, return_index=True)
    ranked = first[np.argsort(-ev.accuracy[first], kind="stable")]
    return finder, ranked, 1.05 * float(ev.efficiency[ranked[:k]].min())


def test_verify_tries_archs_predicted_lower_by_the_factor_the_first_group_missed(modelled):
    device = _SlowDevice(modelled[0]).fit()
    # a constraint the 3 most accurate archs all miss when measured (10 % over their prediction)
    finder, ranked, tight = _searched_and_tight(modelled, device, 3)
    ev = finder.evaluated_
    finder.set_params(constraint=tight)
    ver = finder.verify(3, rounds=2, tries=3)
    assert ver.tries == 2 and len(ver.codes) == 6
    np.testing.assert_allclose(ver.measured_efficiency, 1.1 * ver.predicted_efficiency)
    assert (np.diff(ver.accuracy) <= 0).all()  # most accurate first, over both groups
    first_group = np.isin(ver.accuracy, ev.accuracy[ranked[:3]])
    assert first_group.sum() == 3 and not ver.feasible[first_group].any()
    # the second group: predicted lower by the 1.1 the first missed by, so all fit
    assert ver.feasible[~first_group].all()
    assert (ver.predicted_efficiency[~first_group] <= tight / 1.1 * (1 + 1e-12)).all()
    assert finder.best_accuracy_ == ver.accuracy[ver.chosen] == ver.accuracy[~first_group].max()
    with pytest.raises(ValueError, match=r"none of the 3 measured archs \(1 of at most 1 tries\)"):
        finder.verify(3, rounds=1, tries=1)


class _SteppedDevice(FLOPsModel):
    """Measures 10% over the prediction above ``step_at``, 25% over at or below it."""

    step_at = np.inf

    def measure(self, X):
        pred = self.predict(X)
        return pred * np.where(pred > self.step_at, 1.1, 1.25)


def test_verify_lowers_each_try_by_the_factor_the_last_group_missed(modelled):
    device = _SteppedDevice(modelled[0]).fit()
    finder, _, tight = _searched_and_tight(modelled, device, 2)
    # the second group (predicted within tight / 1.1) measures 25% over: it misses too
    device.step_at = tight / 1.1
    finder.set_params(constraint=tight)
    ver = finder.verify(2, rounds=2, tries=3)
    assert ver.tries == 3 and len(ver.codes) == 6
    np.testing.assert_allclose(
        ver.measured_efficiency / ver.predicted_efficiency,
        np.where(ver.predicted_efficiency > tight / 1.1, 1.1, 1.25),
    )
    pred = ver.predicted_efficiency
    second = (pred <= tight / 1.1 * (1 + 1e-12)) & (pred > tight / 1.25 * (1 + 1e-12))
    third = pred <= tight / 1.25 * (1 + 1e-12)
    # the third group is lowered by the 1.25 the second missed by (the median ratio of the
    # four measured before it, 1.175, would leave it where 25 % over still misses), so it fits
    assert second.sum() == 2 and third.sum() == 2
    assert ver.feasible[third].all() and not ver.feasible[~third].any()
    assert finder.best_accuracy_ == ver.accuracy[third].max()


class _FastDevice(FLOPsModel):
    """A device whose measured cost is 20% below the model's prediction, every time."""

    def measure(self, X):
        return 0.8 * self.predict(X)


def test_search_with_verify_retargets_when_the_device_measures_faster(modelled):
    space, acc = modelled
    device = _FastDevice(space).fit()
    limit = float(np.median(device.predict(space.sample_codes(200, random_state=3))))
    once = _finder(acc, device, limit, n_generations=5).search(verify=3, retarget=False)
    assert once.verification.searched_constraint == limit
    res = _finder(acc, device, limit, n_generations=5).search(verify=3, verify_rounds=2)
    ver = res.verification
    # measured / predicted is 0.8 for every arch: the second search ran at limit / 0.8
    assert ver.searched_constraint == pytest.approx(limit / 0.8)
    assert res.constraint == limit and res.measured_efficiency <= limit
    assert (res.evaluated.efficiency <= limit / 0.8 * (1 + 1e-12)).all()
    assert res.efficiency > limit  # predicted over the budget, measured within it
    assert res.accuracy > once.accuracy
    with pytest.raises(TypeError, match="retarget"):
        _finder(acc, device, limit).search(verify=2, retarget="yes")


def test_search_with_verify_does_not_retarget_a_device_slower_than_predicted(modelled):
    space, acc = modelled
    device = _SlowDevice(space).fit()
    limit = float(np.median(device.predict(space.sample_codes(200, random_state=3))))
    res = _finder(acc, device, limit, n_generations=5).search(verify=3, verify_rounds=1)
    assert res.verification.searched_constraint == limit
    assert res.measured_efficiency <= limit
