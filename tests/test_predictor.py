"""AccuracyPredictor and make_accuracy_pipeline: sklearn checks, model selection, persistence."""

from __future__ import annotations

import io
import pickle
import warnings
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ofa import AccuracyPredictor, make_accuracy_pipeline
from sklearn_ofa.accuracy import kendall_tau_score, rmse_points_score
from sklearn_ofa.accuracy.predictor import AccuracyMLP, DeviceWarning
from sklearn_ofa.accuracy.scoring import kendall_tau_scorer, neg_rmse_points_scorer
from sklearn_ofa.spaces import get_space

SMALL = dict(hidden_size=16, n_layers=2, max_epochs=10, n_ensemble=1, batch_size=32)

# scikit-learn's generic checks all pass; none is expected to fail. (The checked instance is
# small but trained long enough for check_regressors_train's R^2 > 0.5 on its toy data.)
EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    [
        AccuracyPredictor(
            hidden_size=16,
            n_layers=2,
            max_epochs=15,
            batch_size=64,
            lr=1e-2,
            n_ensemble=1,
            random_state=0,
        )
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _toy_data(n=300, seed=0):
    """Real archs with a planted accuracy rule: deeper/wider/larger is better."""
    space = get_space("ofa_mbv3_w1.2", image_sizes=[160, 176, 192, 208, 224])
    codes = space.sample_codes(n, random_state=seed)
    archs = space.from_codes(codes)
    y = np.array(
        [
            0.70
            + 0.002 * sum(a["d"])
            + 0.0004 * sum(e for e, on in zip(a["e"], _active(a)) if on)
            + 0.0002 * (a["image_size"] - 160) / 16
            for a in archs
        ]
    )
    return space, codes, archs, y


def _active(arch):
    return [i % 4 < arch["d"][i // 4] for i in range(20)]


def test_module_structure_and_base_acc():
    X = np.random.default_rng(0).random((50, 7), dtype=np.float32)
    y = 0.8 + 0.01 * X[:, 0]
    model = AccuracyPredictor(
        hidden_size=12, n_layers=3, max_epochs=2, n_ensemble=2, random_state=0
    ).fit(X, y)
    assert len(model.nets_) == 2
    module = model.nets_[0].module_
    assert isinstance(module, AccuracyMLP)
    linears = [m for m in module.layers if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (7, 12),
        (12, 12),
        (12, 12),
        (12, 1),
    ]
    assert linears[-1].bias is None
    assert sum(isinstance(m, torch.nn.ReLU) for m in module.layers) == 3
    assert model.base_acc_ == pytest.approx(y.mean())
    assert float(module.base_acc) == pytest.approx(y.mean(), abs=1e-6)
    assert module.layers[0].weight.dtype == torch.float32
    # forward uses the layers' functional forms: the same numbers as the Sequential
    xt = torch.from_numpy(X)
    with torch.no_grad():
        assert torch.equal(module(xt), module.layers(xt) + module.base_acc)


def test_predict_is_1d_and_deterministic():
    X = np.random.default_rng(1).random((80, 5))  # float64 in, cast inside
    y = X @ np.arange(5) / 100 + 0.7
    a = AccuracyPredictor(**SMALL, random_state=3).fit(X, y.reshape(-1, 1).ravel())
    b = AccuracyPredictor(**SMALL, random_state=3).fit(X, y)
    c = AccuracyPredictor(**SMALL, random_state=4).fit(X, y)
    pa = a.predict(X)
    assert pa.shape == (80,) and pa.dtype == np.float64
    np.testing.assert_array_equal(pa, b.predict(X))
    assert not np.array_equal(pa, c.predict(X))


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_verbose_progress_goes_to_stderr_only(verbose, capsys):
    X = np.random.default_rng(1).random((40, 5))
    y = X.sum(1) / 10
    params = dict(hidden_size=8, max_epochs=2, n_ensemble=2, random_state=0)
    quiet = AccuracyPredictor(**params).fit(X, y)
    capsys.readouterr()
    model = AccuracyPredictor(**params, verbose=verbose).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), quiet.predict(X))  # same training
    model.partial_fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    if verbose == 0:
        assert err == ""
    else:
        assert "training 2 nets" in err and "4/4" in err
        assert ("train_loss" in err) == (verbose >= 2)
    model.set_params(verbose=0).partial_fit(X, y)  # a fitted net follows the new verbose
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "params",
    [
        dict(early_stopping=True, patience=3, max_epochs=40),
        dict(standardize_target=False, lr_schedule="constant"),
    ],
)
def test_training_options(params):
    space, codes, archs, y = _toy_data(200)
    pipe = make_accuracy_pipeline(space, **{**SMALL, **params}, random_state=0)
    pipe.fit(archs, y)
    net = pipe["predictor"].nets_[0]
    if params.get("early_stopping"):
        assert "valid_loss" in net.history[-1]
        assert len(net.history) <= 40
    assert pipe.predict(codes).shape == (200,)


def test_bad_params_raise():
    X, y = np.zeros((20, 3)), np.zeros(20)
    with pytest.raises(ValueError, match="lr_schedule"):
        AccuracyPredictor(lr_schedule="step").fit(X, y)
    with pytest.raises(ValueError, match="hidden_size"):
        AccuracyPredictor(hidden_size=0).fit(X, y)
    with pytest.raises(ValueError, match="at least 10 samples"):
        AccuracyPredictor(early_stopping=True).fit(X[:5], y[:5])


def test_scorers():
    assert kendall_tau_score([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert rmse_points_score([0.75, 0.75], [0.76, 0.74]) == pytest.approx(1.0)
    assert kendall_tau_score([1, 1, 1], [1, 2, 3]) == 0.0  # constant truth: tau undefined


@pytest.mark.slow
def test_pipeline_cross_val_and_gridsearch():
    space, codes, archs, y = _toy_data(240)
    pipe = make_accuracy_pipeline(space, **{**SMALL, "max_epochs": 40, "lr": 1e-2}, random_state=0)
    assert [name for name, _ in pipe.steps] == ["encoder", "predictor"]
    scores = cross_val_score(pipe, archs, y, cv=3, scoring=kendall_tau_scorer)
    assert scores.shape == (3,) and np.all(scores > 0.3)
    pipe.set_params(predictor__max_epochs=10)
    res = cross_validate(
        pipe, codes, y, cv=2, scoring={"tau": kendall_tau_scorer, "rmse": neg_rmse_points_scorer}
    )
    assert np.all(res["test_rmse"] < 0)

    grid = GridSearchCV(
        pipe,
        {"predictor__hidden_size": [8, 16]},
        cv=2,
        n_jobs=2,
        scoring=kendall_tau_scorer,
    )
    grid.fit(archs, y)
    assert set(grid.best_params_) == {"predictor__hidden_size"}
    assert len(grid.cv_results_["mean_test_score"]) == 2
    assert (
        grid.best_estimator_["predictor"].hidden_size == grid.best_params_["predictor__hidden_size"]
    )
    assert grid.predict(archs[:3]).shape == (3,)


def _fitted_pipeline():
    space, codes, archs, y = _toy_data(120)
    return make_accuracy_pipeline(space, **SMALL, random_state=0).fit(archs, y), codes


def test_joblib_round_trip(tmp_path):
    pipe, codes = _fitted_pipeline()
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    back = joblib.load(path)
    np.testing.assert_array_equal(back.predict(codes), pipe.predict(codes))


SKOPS_TRUSTED = [
    "sklearn_ofa.accuracy.pipeline.AccuracyPipeline",
    "sklearn_ofa.encoding.ArchEncoder",
    "sklearn_ofa.spaces.mobilenet.MobileNetSpace",
    "sklearn_ofa.accuracy.predictor.AccuracyPredictor",
]


def test_skops_round_trip(tmp_path):
    sio = pytest.importorskip("skops.io")
    pipe, codes = _fitted_pipeline()
    path = tmp_path / "pipe.skops"
    sio.dump(pipe, path)
    # only this package's four classes need trusting: the weights are numpy arrays
    assert sorted(sio.get_untrusted_types(file=path)) == sorted(SKOPS_TRUSTED)
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)
    back = sio.load(path, trusted=SKOPS_TRUSTED)
    np.testing.assert_array_equal(back.predict(codes), pipe.predict(codes))
    np.testing.assert_array_equal(
        back["encoder"].transform(codes), pipe["encoder"].transform(codes)
    )


def test_cuda_trained_predictor_loads_on_cpu():
    pipe, codes = _fitted_pipeline()
    expected = pipe.predict(codes)
    predictor = pipe["predictor"]
    # what a predictor trained with device="cuda" carries: the device setting on every net
    predictor.set_params(device="cuda")
    for net in predictor.nets_:
        net.device = "cuda"
    blob = pickle.dumps(pipe)
    with mock.patch("torch.cuda.is_available", lambda: False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            back = pickle.loads(blob)
    assert any(issubclass(w.category, DeviceWarning) and "CUDA" in str(w.message) for w in caught)
    assert all(net.device == "cpu" for net in back["predictor"].nets_)
    assert back["predictor"].nets_[0].module_.base_acc.device.type == "cpu"
    np.testing.assert_array_equal(back.predict(codes), expected)


def test_predictor_state_is_plain_torch(tmp_path):
    """The module state saves with torch and reloads into a fresh AccuracyMLP."""
    pipe, codes = _fitted_pipeline()
    module = pipe["predictor"].nets_[0].module_
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    buf.seek(0)
    fresh = AccuracyMLP(module.layers[0].in_features, 16, 2)
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    X = torch.from_numpy(pipe["encoder"].transform(codes))
    with torch.no_grad():
        np.testing.assert_allclose(fresh(X).numpy().ravel(), pipe.predict(codes), rtol=1e-6)


def test_fast_predict_path_agrees_with_the_validated_one_and_still_rejects_bad_input():
    rng = np.random.default_rng(0)
    X = rng.random((120, 12)).astype(np.float32)
    y = X[:, 0] - 0.5 * X[:, 1] + 0.7
    model = AccuracyPredictor(**SMALL, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), model.predict(X.astype(np.float64).tolist()))
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(bad)
    with pytest.raises(ValueError, match="12 features"):
        model.predict(X[:, :5])


def _toy(n=80, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, size=(n, d)).astype("float32")
    return X, 0.7 + 0.01 * X[:, 0] + 0.003 * X[:, 1]


def test_return_std_shapes_clone_and_joblib(tmp_path):
    from sklearn.base import clone

    X, y = _toy()
    params = dict(SMALL, n_ensemble=3, random_state=0)
    model = AccuracyPredictor(**params).fit(X, y)
    mean, std = model.predict(X[:7], return_std=True)
    assert mean.shape == std.shape == (7,) and mean.dtype == std.dtype == np.float64
    np.testing.assert_array_equal(mean, model.predict(X[:7]))
    assert model.std_scale_ > 0 and (std >= 0).all()
    empty = model.predict(np.zeros((0, X.shape[1]), "float32"), return_std=True)
    assert [a.shape for a in empty] == [(0,), (0,)]
    again = clone(model).fit(X, y)  # same seed, same calibration
    np.testing.assert_allclose(again.predict(X[:7], return_std=True)[1], std, rtol=1e-5)
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_allclose(loaded.predict(X[:7], return_std=True)[1], std, rtol=1e-5)
    pipe = make_accuracy_pipeline(
        "ofa_mbv3_w1.2", hidden_size=8, n_layers=1, max_epochs=2, n_ensemble=2, random_state=0
    )
    archs = get_space("ofa_mbv3_w1.2").sample(20, random_state=0)
    pipe.fit(archs, np.linspace(0.7, 0.8, 20))
    m, s = pipe.predict(archs[:3], return_std=True)
    assert m.shape == s.shape == (3,)
    for bad in ("yes", 1, None):  # a truthy non-bool must not pick the return type
        with pytest.raises(TypeError, match=r"return_std = .* allowed values: True or False"):
            pipe.predict(archs[:3], return_std=bad)


@pytest.mark.parametrize("params", [dict(n_ensemble=1), dict(n_ensemble=3, calibrate_std=False)])
def test_return_std_refused_without_calibration(params):
    X, y = _toy()
    model = AccuracyPredictor(**{**SMALL, **params, "random_state": 0}).fit(X, y)
    assert model.std_scale_ is None
    model.predict(X[:2])
    with pytest.raises(ValueError, match="return_std=True needs a calibrated ensemble"):
        model.predict(X[:2], return_std=True)


def test_ofa_recipe_and_new_defaults():
    from sklearn_ofa.accuracy.predictor import OFA_RECIPE

    default = make_accuracy_pipeline("ofa_mbv3_w1.0")
    assert default["encoder"].depth_features
    p = default["predictor"]
    assert (p.standardize_target, p.weight_decay, p.n_ensemble, p.calibrate_std) == (
        True,
        1e-3,
        5,
        True,
    )
    ofa = make_accuracy_pipeline("ofa_mbv3_w1.0", recipe="ofa", max_epochs=3)
    assert not ofa["encoder"].depth_features
    got = ofa["predictor"].get_params()
    assert all(got[k] == v for k, v in OFA_RECIPE.items() if k != "max_epochs")
    assert got["max_epochs"] == 3
    with pytest.raises(ValueError, match="recipe"):
        make_accuracy_pipeline("ofa_mbv3_w1.0", recipe="mit")
