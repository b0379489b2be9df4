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


def _finder(acc, eff, constraint, **kw):
    kw = {"population_size": 12, "n_generations": 3, "random_state": 0, **kw}
    return EvolutionFinder(acc, eff, constraint, **kw)


def test_confidence_judges_the_constraint_on_the_interval_upper_bound(setup):
    space, cal, acc, measured = setup
    # the limit from the upper bounds themselves (90th percentile): on a loaded runner the
    # timing noise widens the interval and skews the calibration, so a limit taken from the
    # measurements can lie below every random arch's bound
    limit = float(
        np.quantile(
            cal.predict_interval(space.sample_codes(200, random_state=2), alpha=0.1)[:, 1], 0.9
        )
    )
    finder = _finder(acc, cal, limit, confidence=0.9).fit()
    ev = finder.evaluated_
    upper = cal.predict_interval(ev.codes, alpha=0.1)[:, 1]
    assert np.allclose(ev.efficiency, upper) and (ev.efficiency <= limit).all()
    assert (cal.predict(ev.codes) < ev.efficiency).all()  # stricter than the point prediction


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


def test_verify_that_finds_nothing_feasible_says_so(setup):
    space, cal, acc, measured = setup
    finder = _finder(acc, cal, None).fit()
    finder.set_params(constraint=float(measured.min()) * 0.2)  # far below any subnet
    with pytest.raises(ValueError, match="none of the 3 best archs meets constraint"):
        finder.verify(3)
    assert finder.verification_.chosen is None and not finder.verification_.feasible.any()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="verify = .* is not allowed"):
            finder.verify(bad)
    with pytest.raises(TypeError, match="FLOPsModel has no measure"):
        _finder(acc, FLOPsModel(space).fit(), None).fit().verify(2)
