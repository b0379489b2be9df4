"""ParetoFinder: NSGA-II (pymoo) on the space's operators, against a constraint sweep."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from sklearn_ofa.search import EvolutionFinder, ParetoFinder, pareto_mask, pareto_sweep
from sklearn_ofa.spaces import get_space

pytest.importorskip("pymoo", reason="ParetoFinder needs pymoo (the [pareto] extra)")
from pymoo.indicators.hv import HV  # noqa: E402


def _pareto(ridge, flops, **kw):
    params = {"population_size": 40, "n_generations": 12, "random_state": 0, **kw}
    return ParetoFinder(ridge, flops, **params)


def test_front_is_nondominated_and_matches_the_predictors(ridge, flops):
    pf = _pareto(ridge, flops).fit()
    ev, front = pf.evaluated_, pf.front_
    # every arch scored once, and the recorded numbers are the predictors'
    assert len({r.tobytes() for r in ev.codes}) == len(ev.codes) == pf.n_accuracy_predictions_
    # (codes of the search space, restricted to 160-224: back through arch dicts)
    full = flops.space_.to_codes(pf.space_.from_codes(ev.codes))
    np.testing.assert_allclose(ridge.predict(full), ev.accuracy)
    np.testing.assert_allclose(flops.predict(front.arch), front.efficiency)
    # the front: nondominated among everything scored, cheapest first, more accurate as it costs
    assert pareto_mask(ev.accuracy, ev.efficiency).sum() == len(front.accuracy) > 3
    assert (np.diff(front.efficiency) >= 0).all() and (np.diff(front.accuracy) >= 0).all()
    dominated = (ev.accuracy[:, None] >= front.accuracy) & (
        ev.efficiency[:, None] <= front.efficiency
    )
    strictly = (ev.accuracy[:, None] > front.accuracy) | (ev.efficiency[:, None] < front.efficiency)
    assert not (dominated & strictly).any()
    assert set(ev.generation.tolist()) == set(range(12))


def test_same_seed_same_front_and_it_pickles(ridge, flops, tmp_path):
    a = _pareto(ridge, flops).fit()
    b = _pareto(ridge, flops).fit()
    assert np.array_equal(a.front_.codes, b.front_.codes)
    path = tmp_path / "pf.joblib"
    joblib.dump(a, path)
    assert np.array_equal(joblib.load(path).front_.codes, a.front_.codes)
    c = _pareto(ridge, flops, random_state=1).fit()
    assert not np.array_equal(a.evaluated_.codes, c.evaluated_.codes)


def test_hypervolume_at_least_the_sweeps_at_equal_predictor_calls(ridge, flops):
    """One NSGA-II run against a constraint sweep given as many accuracy predictions."""
    sizes = [r for r in flops.space_.image_sizes if 160 <= r <= 224]  # what both search
    space = get_space("ofa_mbv3_w1.2", image_sizes=sizes)
    cost = flops.predict(space.sample_codes(2000, random_state=5))
    budgets = np.quantile(cost, [0.1, 0.3, 0.5, 0.7, 0.9])
    for seed in range(3):
        finder = EvolutionFinder(
            ridge, flops, population_size=40, n_generations=10, random_state=seed
        )
        curve, finders = pareto_sweep(finder, budgets, return_finders=True)
        calls = sum(f.n_accuracy_predictions_ for f in finders)
        pf = _pareto(ridge, flops, random_state=seed, n_generations=calls // 40).fit()
        assert pf.n_accuracy_predictions_ <= calls
        acc_all = np.concatenate(
            [f.evaluated_.accuracy for f in finders] + [pf.evaluated_.accuracy]
        )
        ref = np.array([-acc_all.min(), float(cost.max())])
        hv = HV(ref_point=ref)
        sweep_hv = hv(np.column_stack([-curve.accuracy, curve.efficiency]))
        nsga_hv = hv(np.column_stack([-pf.front_.accuracy, pf.front_.efficiency]))
        assert nsga_hv >= sweep_hv, (seed, nsga_hv, sweep_hv)


def test_bad_parameters_name_the_field(ridge, flops):
    with pytest.raises(ValueError, match="population_size"):
        _pareto(ridge, flops, population_size=2).fit()
    with pytest.raises(ValueError, match="image_sizes"):
        _pareto(ridge, flops, image_sizes=[999]).fit()
