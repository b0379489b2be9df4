"""EvolutionFinder, Pareto fronts and sweeps, with real estimators.

Efficiency: the analytic FLOPsModel (and OFA's Note10 latency table where the
reference data is present). Accuracy: a Ridge regression on one-hot codes fitted
to a synthetic target (more MACs and some genes help), or OFA's pretrained
predictor where present.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from sklearn_ofa import FLOPsModel
from sklearn_ofa.search import EvolutionFinder, pareto_front, pareto_mask, pareto_sweep
from sklearn_ofa.spaces import get_space


def _finder(ridge, flops, **kw):
    params = {
        "constraint": 300.0,
        "space": "ofa_mbv3_w1.2",
        "population_size": 40,
        "n_generations": 15,
        "random_state": 0,
    }
    params.update(kw)
    return EvolutionFinder(ridge, flops, **params)


def test_result_fits_constraint_and_matches_predictors(ridge, flops):
    finder = _finder(ridge, flops).fit()
    space = get_space("ofa_mbv3_w1.2")
    # recompute with the predictors, from the arch dicts
    assert flops.predict([finder.best_arch_])[0] == pytest.approx(finder.best_efficiency_)
    assert finder.best_efficiency_ <= 300.0
    codes = space.to_codes([finder.best_arch_])
    assert ridge.predict(codes)[0] == pytest.approx(finder.best_accuracy_)
    ev = finder.evaluated_
    archs = finder.space_.from_codes(ev.codes)
    recomputed = flops.predict(archs)
    np.testing.assert_allclose(recomputed, ev.efficiency)
    assert (recomputed <= 300.0).all()
    np.testing.assert_allclose(ridge.predict(space.to_codes(archs)), ev.accuracy)
    assert finder.best_accuracy_ == pytest.approx(ev.accuracy.max())


def test_history_shapes_and_elitism(ridge, flops):
    P, G = 40, 15
    finder = _finder(ridge, flops, population_size=P, n_generations=G).fit()
    h, ev = finder.history_, finder.evaluated_
    for key in (
        "generation",
        "best_accuracy",
        "best_efficiency",
        "mean_parent_accuracy",
        "n_candidates",
        "seconds",
    ):
        assert h[key].shape == (G + 1,), key
    assert ev.codes.shape == (P * (G + 1), finder.space_.n_genes)
    assert ev.accuracy.shape == ev.efficiency.shape == ev.generation.shape == (P * (G + 1),)
    assert (np.diff(h.best_accuracy) >= 0).all()
    assert h.best_accuracy[-1] > h.best_accuracy[0]  # evolution beats its random start
    # best per generation equals the best arch evaluated up to then
    running = [ev.accuracy[ev.generation <= g].max() for g in range(G + 1)]
    np.testing.assert_allclose(h.best_accuracy, running)
    assert (h.n_candidates >= P).all()
    assert finder.n_accuracy_predictions_ <= P * (G + 1)


class _CountingPredictor:
    """A real fitted model whose predict records every row it is asked to score."""

    def __init__(self, model):
        self.model, self.rows = model, []

    def predict(self, X):
        self.rows.extend(map(bytes, np.ascontiguousarray(X)))
        return self.model.predict(X)


def test_each_distinct_arch_is_predicted_once_per_search(ridge, flops):
    counting = _CountingPredictor(ridge)
    finder = _finder(counting, flops, n_generations=30).fit()
    distinct = {bytes(row) for row in np.ascontiguousarray(finder.evaluated_.codes)}
    assert len(counting.rows) == len(set(counting.rows)) == len(distinct)
    assert finder.n_accuracy_predictions_ == len(distinct)
    assert len(distinct) < len(finder.evaluated_.codes)  # repeats happened and were reused


def test_deterministic_under_random_state(ridge, flops):
    a = _finder(ridge, flops, random_state=3).fit()
    b = _finder(ridge, flops, random_state=np.random.default_rng(3)).fit()
    c = _finder(ridge, flops, random_state=4).fit()
    np.testing.assert_array_equal(a.evaluated_.codes, b.evaluated_.codes)
    np.testing.assert_array_equal(a.history_.best_accuracy, b.history_.best_accuracy)
    assert a.best_arch_ == b.best_arch_
    assert not np.array_equal(a.evaluated_.codes, c.evaluated_.codes)


def test_image_sizes_auto_trusted_range_and_explicit(ridge, flops):
    space = get_space("ofa_mbv3_w1.2")
    auto = _finder(ridge, flops, n_generations=3).fit()
    sizes = {a["image_size"] for a in auto.space_.from_codes(auto.evaluated_.codes)}
    assert sizes <= set(range(160, 225)) and len(sizes) > 3
    assert auto.space_.image_sizes == tuple(r for r in space.image_sizes if 160 <= r <= 224)
    fixed = _finder(ridge, flops, n_generations=3, image_sizes=[160, 224]).fit()
    sizes = {a["image_size"] for a in fixed.space_.from_codes(fixed.evaluated_.codes)}
    assert sizes == {160, 224}
    everything = _finder(ridge, flops, n_generations=1, image_sizes=None, population_size=100).fit()
    sizes = {a["image_size"] for a in everything.space_.from_codes(everything.evaluated_.codes)}
    assert min(sizes) < 160


def test_copies_of_parents_are_redrawn(ridge, flops):
    for redraw in (True, False):
        finder = _finder(ridge, flops, n_generations=10, redraw_copies=redraw).fit()
        ev = finder.evaluated_
        keys = [row.tobytes() for row in ev.codes]
        n_copies = 0
        for g in range(1, 11):
            # the parents of generation g are among everything evaluated before it
            seen = {k for k, gen in zip(keys, ev.generation) if gen < g}
            n_copies += sum(k in seen for k, gen in zip(keys, ev.generation) if gen == g)
        if redraw:
            assert n_copies < 0.05 * 40 * 10  # only after the copy round gave up
        else:
            assert n_copies > 0.1 * 40 * 10  # OFA's rule keeps many copies


def test_unconstrained_search_and_result_bunch(ridge, flops):
    finder = _finder(ridge, flops, constraint=None, n_generations=5)
    result = finder.search()
    assert result.arch == finder.best_arch_
    assert result.constraint is None and result.accuracy == finder.best_accuracy_
    tight = finder.search(constraint=250.0)
    assert tight.constraint == 250.0 and tight.efficiency <= 250.0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"population_size": 1}, "population_size"),
        ({"parent_ratio": 0.0}, "parent_ratio"),
        ({"mutation_ratio": 1.5}, "mutation_ratio"),
        ({"mutate_prob": -0.1}, "mutate_prob"),
        ({"n_generations": -1}, "n_generations"),
        ({"image_sizes": "all"}, "image_sizes"),
        ({"max_rounds": 0}, "max_rounds"),
    ],
)
def test_bad_parameters_name_field_value_and_allowed(ridge, flops, params, field):
    with pytest.raises(ValueError, match=field) as info:
        _finder(ridge, flops, **params).fit()
    value = next(iter(params.values()))
    assert repr(value) in str(info.value) or str(value) in str(info.value)


def test_bad_image_sizes_and_predictors(ridge, flops):
    with pytest.raises(ValueError, match=r"image_sizes = \[150\].*\[128, 132"):
        _finder(ridge, flops, image_sizes=[150]).fit()
    with pytest.raises(TypeError, match="efficiency_predictor must be .* predict.*got int"):
        EvolutionFinder(ridge, 3, 300.0, space="ofa_mbv3_w1.2").fit()
    with pytest.raises(
        ValueError, match="efficiency_predictor works on space 'ofa_mbv3_w1.2'.*differ"
    ):
        _finder(ridge, flops, space="ofa_mbv3_w1.0").fit()
    with pytest.raises(ValueError, match="space = None cannot be inferred"):
        EvolutionFinder(ridge, Ridge().fit([[0], [1]], [0, 1]), 1.0).fit()


def test_too_tight_constraint_raises(ridge, flops):
    with pytest.raises(ValueError, match=r"constraint = 1\.0 is too tight.*smallest efficiency"):
        _finder(ridge, flops, constraint=1.0, max_rounds=2).fit()


def test_codes_translated_to_each_predictor_space(ridge, flops):
    """The efficiency model knows only two sizes: the finder translates codes for it."""
    small = FLOPsModel(get_space("ofa_mbv3_w1.2", image_sizes=[160, 224])).fit()
    finder = EvolutionFinder(
        ridge, small, 300.0, population_size=20, n_generations=3, random_state=0
    ).fit()
    assert finder.space_.image_sizes == (160, 224)
    assert flops.predict([finder.best_arch_])[0] == pytest.approx(finder.best_efficiency_)


def test_fitted_finder_survives_pickle_and_joblib(ridge, flops, tmp_path):
    """A fitted finder (its predictors translated to a smaller space) pickles, and the copy
    searches exactly as the original does from the same state."""
    import joblib

    small = FLOPsModel(get_space("ofa_mbv3_w1.2", image_sizes=[160, 224])).fit()
    finder = EvolutionFinder(
        ridge, small, 300.0, population_size=20, n_generations=3, random_state=0
    ).fit()
    joblib.dump(finder, tmp_path / "finder.joblib")
    copy = joblib.load(tmp_path / "finder.joblib")
    assert copy.best_arch_ == finder.best_arch_
    again, original = copy.search(), finder.search()
    assert again.arch == original.arch and again.accuracy == original.accuracy


# ----------------------------------------------------------------- Pareto
def _brute_force_mask(acc, eff):
    n = len(acc)
    out = np.ones(n, dtype=bool)
    for i, j in itertools.product(range(n), range(n)):
        if acc[j] >= acc[i] and eff[j] <= eff[i] and (acc[j] > acc[i] or eff[j] < eff[i]):
            out[i] = False
    return out


def test_pareto_front_hand_made_points():
    acc = [0.70, 0.80, 0.75, 0.80, 0.60, 0.70, 0.85]
    eff = [10.0, 20.0, 25.0, 20.0, 5.0, 12.0, 40.0]
    # 0.75@25 is dominated by 0.80@20, 0.70@12 by 0.70@10; the two 0.80@20 tie
    assert pareto_mask(acc, eff).tolist() == [True, True, False, True, True, False, True]
    assert pareto_front(acc, eff).tolist() == [4, 0, 1, 3, 6]
    assert pareto_front([], []).tolist() == []


def test_pareto_mask_matches_definition_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        acc = rng.integers(0, 6, 40).astype(float)
        eff = rng.integers(0, 6, 40).astype(float)
        np.testing.assert_array_equal(pareto_mask(acc, eff), _brute_force_mask(acc, eff))


def test_pareto_bad_input():
    with pytest.raises(ValueError, match="same length"):
        pareto_mask([1, 2], [1])
    with pytest.raises(ValueError, match=r"efficiency\[1\] = nan"):
        pareto_mask([1, 2], [1, np.nan])


def test_pareto_sweep_curve_is_dataframe_friendly(ridge, flops):
    pd = pytest.importorskip("pandas")
    finder = _finder(ridge, flops, n_generations=5)
    curve, finders = pareto_sweep(finder, [220, 300, 400], return_finders=True)
    frame = pd.DataFrame(curve)
    assert list(frame.columns) == ["constraint", "accuracy", "efficiency", "arch", "on_front"]
    assert len(frame) == 3 and (frame.efficiency <= frame.constraint).all()
    np.testing.assert_allclose(flops.predict(list(frame.arch)), frame.efficiency)
    assert [f.constraint for f in finders] == [220.0, 300.0, 400.0]
    np.testing.assert_array_equal(curve.on_front, pareto_mask(curve.accuracy, curve.efficiency))
    assert finder.constraint == 300.0  # the template is left alone
    with pytest.raises(ValueError, match="constraints"):
        pareto_sweep(finder, [])


# ------------------------------------------------------- OFA reference data
def test_search_with_note10_table_and_ofa_predictor(ofa_reference):
    from sklearn_ofa.efficiency import LatencyTable

    lut = LatencyTable.from_ofa_yaml(ofa_reference / "note10_lut", space="ofa_mbv3_w1.2")
    try:
        from sklearn_ofa.accuracy import load_ofa_predictor

        acc = load_ofa_predictor(
            ofa_reference / "predictors" / "acc_predictor.pth", "ofa_mbv3_w1.2"
        )
    except ImportError:  # pragma: no cover - accuracy package not there yet
        pytest.skip("load_ofa_predictor is not available")
    finder = EvolutionFinder(
        acc, lut, 25.0, population_size=50, n_generations=10, random_state=0
    ).fit()
    assert finder.space_.image_sizes == (160, 176, 192, 208, 224)
    assert lut.predict([finder.best_arch_])[0] == pytest.approx(finder.best_efficiency_)
    assert finder.best_efficiency_ <= 25.0
    assert acc.predict([finder.best_arch_])[0] == pytest.approx(finder.best_accuracy_, abs=1e-6)
    assert 0.7 < finder.best_accuracy_ < 0.9
    assert finder.history_.best_accuracy[-1] > finder.history_.best_accuracy[0]


# ------------------------------------------- predictors that return bad numbers
class _Corrupting:
    """Mixin of a real regressor whose ``predict`` spoils some outputs, as a broken model would."""

    how = "nan"

    def predict(self, X):
        y = np.asarray(super().predict(X), dtype=np.float64)
        if self.how == "nan":
            y[::7] = np.nan
        elif self.how == "inf":
            y[-1] = np.inf
        elif self.how == "-inf":
            y[0] = -np.inf
        elif self.how == "shape":
            y = np.column_stack([y, y])
        elif self.how == "short":
            y = y[:-1]
        elif self.how == "text":
            y = np.array(["fast"] * len(y))
        elif self.how == "none":
            y = np.array([None] * len(y))
        return y


class CorruptRidge(_Corrupting, Ridge):
    def __init__(self, how="nan", alpha=1.0):
        super().__init__(alpha=alpha)
        self.how = how


class CorruptFLOPs(_Corrupting, FLOPsModel):
    def __init__(self, how="nan", space="ofa_mbv3_w1.2", unit="M"):
        super().__init__(space=space, unit=unit)
        self.how = how


BAD_OUTPUTS = {
    "nan": "non-finite",
    "inf": "non-finite",
    "-inf": "non-finite",
    "shape": "shape",
    "short": "shape",
    "text": "non-numeric",
    "none": "non-finite",  # None converts to NaN
}


@pytest.mark.parametrize("how", sorted(BAD_OUTPUTS))
def test_bad_accuracy_predictions_raise_naming_the_predictor(flops, how):
    space = flops.space_
    X = space.sample_codes(300, random_state=0)
    acc = CorruptRidge(how=how).fit(X, np.log(flops.predict(X)))
    finder = EvolutionFinder(
        acc,
        flops,
        300.0,
        space="ofa_mbv3_w1.2",
        population_size=20,
        n_generations=3,
        random_state=0,
    )
    with pytest.raises(ValueError, match="accuracy_predictor") as info:
        finder.search()
    msg = str(info.value)
    assert BAD_OUTPUTS[how] in msg and "20 archs" in msg
    if BAD_OUTPUTS[how] == "non-finite":
        n_bad = {"nan": 3, "none": 20}.get(how, 1)  # NaN: rows 0, 7, 14 of the 20 initial archs
        assert f"returned {n_bad} non-finite" in msg
        assert "for arch {'ks': [" in msg  # an example arch, as a dict the user can inspect
        assert "image_size" in msg


@pytest.mark.parametrize("how", sorted(BAD_OUTPUTS))
def test_bad_efficiency_predictions_raise_naming_the_predictor(ridge, how):
    eff = CorruptFLOPs(how=how).fit()
    finder = EvolutionFinder(
        ridge,
        eff,
        300.0,
        space="ofa_mbv3_w1.2",
        population_size=20,
        n_generations=3,
        random_state=0,
    )
    with pytest.raises(ValueError, match="efficiency_predictor") as info:
        finder.search()
    assert BAD_OUTPUTS[how] in str(info.value)


def test_bad_predictions_in_a_later_generation_are_caught(flops):
    """A predictor that breaks mid-search (e.g. a flaky remote one): the search stops with an
    error at that generation instead of finishing with accuracy=nan or a wrong best arch."""

    class BreaksAfterFirstCall(Ridge):
        def predict(self, X):
            y = super().predict(X)
            self.calls_ = getattr(self, "calls_", 0) + 1
            if self.calls_ > 1:
                y[-1] = np.nan
            return y

    space = flops.space_
    X = space.sample_codes(300, random_state=0)
    acc = BreaksAfterFirstCall().fit(X, np.log(flops.predict(X)))
    finder = EvolutionFinder(
        acc, flops, None, space="ofa_mbv3_w1.2", population_size=20, n_generations=5, random_state=0
    )
    with pytest.raises(ValueError, match="accuracy_predictor.predict returned 1 non-finite"):
        finder.search()
    assert acc.calls_ == 2 and not hasattr(finder, "best_arch_")


def test_column_vector_predictions_are_accepted(ridge, flops):
    class ColumnRidge(Ridge):
        def predict(self, X):
            return super().predict(X).reshape(-1, 1)

    space = flops.space_
    X = space.sample_codes(300, random_state=0)
    acc = ColumnRidge().fit(X, np.log(flops.predict(X)))
    res = EvolutionFinder(
        acc,
        flops,
        300.0,
        space="ofa_mbv3_w1.2",
        population_size=20,
        n_generations=3,
        random_state=0,
    ).search()
    assert np.isfinite(res.accuracy) and res.efficiency <= 300.0


def test_pareto_sweep_with_a_nan_predictor_raises(flops):
    space = flops.space_
    X = space.sample_codes(300, random_state=0)
    acc = CorruptRidge(how="nan").fit(X, np.log(flops.predict(X)))
    finder = EvolutionFinder(
        acc, flops, space="ofa_mbv3_w1.2", population_size=20, n_generations=2, random_state=0
    )
    with pytest.raises(ValueError, match="accuracy_predictor"):
        pareto_sweep(finder, [250, 400])
    with pytest.raises(ValueError, match=r"efficiency\[1\] = inf .*1 non-finite"):
        pareto_front([0.5, 0.6], [1.0, np.inf])
    with pytest.raises(ValueError, match="accuracy must be numbers"):
        pareto_mask(["a", "b"], [1.0, 2.0])


# ----------------------------------------------------- the space's operators
class _CopyingSpace(type(get_space("ofa_mbv3_w1.2"))):
    """A space whose operators make every child a copy of its first parent and every random
    arch use the smallest image size: a search that breeds with them can find nothing new."""

    def sample_codes(self, n, random_state=None, *, masked=True):
        codes = super().sample_codes(n, random_state, masked=masked)
        codes[:, self.key_columns["image_size"]] = 0
        return codes

    def mutate_full_codes(self, full, mutate_prob, random_state=None):
        return np.array(full)

    def crossover_full_codes(self, full_a, full_b, random_state=None):
        return np.array(full_a)


def test_search_breeds_with_the_space_operators(ridge, flops):
    space = _CopyingSpace(**get_space("ofa_mbv3_w1.2").get_config())
    finder = _finder(ridge, flops, space=space, redraw_copies=False).fit()
    assert isinstance(finder.space_, _CopyingSpace)
    ev = finder.evaluated_
    initial = {row.tobytes() for row in ev.codes[ev.generation == 0]}
    assert {row.tobytes() for row in ev.codes} == initial  # no arch outside generation 0
    assert {a["image_size"] for a in finder.space_.from_codes(ev.codes)} == {160}
    # the same search with the plain space does find new archs
    plain = _finder(ridge, flops, redraw_copies=False).fit().evaluated_
    assert len({row.tobytes() for row in plain.codes}) > 2 * 40


def test_resolution_mutate_prob_reaches_the_mutation(ridge, flops):
    """Mutation only: with resolution_mutate_prob=0 each child keeps its parent's image size,
    so the sizes of the population can only shrink to those of generation 0's parents."""
    finder = _finder(
        ridge,
        flops,
        mutation_ratio=1.0,
        resolution_mutate_prob=0.0,
        n_generations=8,
        redraw_copies=False,
    ).fit()
    ev = finder.evaluated_
    sizes = np.asarray(ev.codes)[:, finder.space_.key_columns["image_size"][0]]
    for g in range(1, 9):
        assert set(sizes[ev.generation == g]) <= set(sizes[ev.generation < g])
    moving = _finder(
        ridge,
        flops,
        mutation_ratio=1.0,
        resolution_mutate_prob=1.0,
        n_generations=8,
        redraw_copies=False,
    ).fit()
    size_col = moving.space_.key_columns["image_size"][0]
    kids = np.asarray(moving.evaluated_.codes)[moving.evaluated_.generation > 0, size_col]
    assert len(set(kids)) == len(moving.space_.image_sizes)


# ------------------------------------------------------ unfitted predictors
def _unfitted(kind):
    from sklearn_ofa import AccuracyPredictor, LatencyTable, make_accuracy_pipeline

    return {
        "LatencyTable": lambda: LatencyTable("ofa_mbv3_w1.2"),
        "FLOPsModel": lambda: FLOPsModel("ofa_mbv3_w1.2"),
        "AccuracyPredictor": lambda: AccuracyPredictor(),
        "pipeline": lambda: make_accuracy_pipeline("ofa_mbv3_w1.2"),
    }[kind]()


@pytest.mark.parametrize("role", ["accuracy_predictor", "efficiency_predictor"])
@pytest.mark.parametrize("kind", ["LatencyTable", "FLOPsModel", "AccuracyPredictor", "pipeline"])
def test_unfitted_predictors_raise_not_fitted_naming_the_role(ridge, flops, role, kind):
    from sklearn.exceptions import NotFittedError

    unfitted = _unfitted(kind)
    other = _CountingPredictor(flops if role == "accuracy_predictor" else ridge)
    acc, eff = (unfitted, other) if role == "accuracy_predictor" else (other, unfitted)
    finder = EvolutionFinder(
        acc, eff, 300.0, space="ofa_mbv3_w1.2", population_size=20, n_generations=2, random_state=0
    )
    for run in (finder.fit, finder.search):
        with pytest.raises(
            NotFittedError,
            match=rf"^{role} \({type(unfitted).__name__}\) is not "
            r"fitted",
        ):
            run()
    assert other.rows == [] and not hasattr(finder, "best_arch_")  # before any work


def test_frozen_fitted_predictor_is_accepted(ridge, flops):
    from sklearn.frozen import FrozenEstimator

    res = _finder(ridge, FrozenEstimator(flops), n_generations=2).search()
    assert res.efficiency <= 300.0
