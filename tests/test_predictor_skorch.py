"""AccuracyPredictor follows skorch's conventions: routed parameters, history_, partial_fit."""

from __future__ import annotations

import itertools
import pickle
import warnings
from unittest import mock

import joblib
import numpy as np
import pytest
import skorch
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid, cross_validate
from skorch.callbacks import GradientNormClipping
from skorch.dataset import ValidSplit
from skorch.history import History

from sklearn_ofa import AccuracyPredictor, make_accuracy_pipeline
from sklearn_ofa.accuracy.predictor import DeviceWarning
from sklearn_ofa.datasets import load_digits_subnets

SMALL = {
    "hidden_size": 16,
    "n_layers": 2,
    "max_epochs": 4,
    "batch_size": 32,
    "random_state": 0,
    "n_ensemble": 1,
}


@pytest.fixture(scope="module")
def digits():
    """Real measured subnets of the bundled digits supernet (a few hundred)."""
    bunch = load_digits_subnets()
    return bunch.space, bunch.data[:240], np.asarray(bunch.target[:240], dtype=float)


def _xy(n=96, d=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)).astype(np.float32)
    return X, 0.7 + 0.05 * X[:, 0] - 0.03 * X[:, 1] * X[:, 2]


def _widths(predictor):
    return [
        (m.in_features, m.out_features)
        for m in predictor.nets_[0].module_.layers
        if isinstance(m, torch.nn.Linear)
    ]


# ----------------------------------------------------------------- routing
def test_routed_parameters_reach_the_trained_networks():
    X, y = _xy(70)
    model = AccuracyPredictor(**SMALL).set_params(
        module__hidden_size=8,
        module__n_layers=1,
        optimizer=torch.optim.SGD,
        optimizer__momentum=0.5,
        optimizer__weight_decay=0.01,
        criterion=torch.nn.L1Loss,
        criterion__reduction="sum",
        iterator_train__drop_last=True,
    )
    # the skorch spellings of flat parameters set the flat (canonical) ones
    assert (model.hidden_size, model.n_layers, model.weight_decay) == (8, 1, 0.01)
    shallow = model.get_params(deep=False)
    assert shallow["optimizer__momentum"] == 0.5 and "module__hidden_size" not in shallow
    deep = model.get_params(deep=True)
    assert deep["module__hidden_size"] == 8 and deep["optimizer__weight_decay"] == 0.01
    twin = clone(model)
    assert twin.get_params(deep=False) == shallow
    twin.fit(X, y)
    net = twin.nets_[0]
    assert _widths(twin) == [(10, 8), (8, 1)]
    assert type(net.optimizer_) is torch.optim.SGD
    group = net.optimizer_.param_groups[0]
    assert (group["momentum"], group["weight_decay"]) == (0.5, 0.01)
    assert type(net.criterion_) is torch.nn.L1Loss and net.criterion_.reduction == "sum"
    # 70 rows in batches of 32 with drop_last: 2 batches per epoch, not 3
    assert [len(e["batches"]) for e in twin.history_[0]] == [2] * 4


def test_constructor_takes_skorch_keywords_and_pipelines_route_them():
    model = AccuracyPredictor(
        module__hidden_size=12, optimizer__weight_decay=0.0, iterator_train__drop_last=True
    )
    assert (model.hidden_size, model.weight_decay) == (12, 0.0)
    assert "iterator_train__drop_last=True" in repr(model)
    pipe = make_accuracy_pipeline("digits_mbv3", optimizer__lr=0.02)
    assert pipe["predictor"].lr == 0.02
    pipe.set_params(predictor__module__hidden_size=7, predictor__optimizer__momentum=0.9)
    assert pipe["predictor"].hidden_size == 7
    assert pipe.get_params()["predictor__optimizer__momentum"] == 0.9
    assert clone(pipe)["predictor"].optimizer__momentum == 0.9


@pytest.mark.parametrize(
    "key, why",
    [
        ("module__foo", "AccuracyMLP takes only"),
        ("module__input_dim", "set from the training"),
        ("foo__bar", "not a parameter nor a skorch prefix"),
        ("lr__x", "not a parameter"),
    ],
)
def test_unknown_keys_raise_naming_the_key(key, why):
    with pytest.raises(ValueError, match=rf"Invalid parameter '{key}' for estimator .*{why}"):
        AccuracyPredictor().set_params(**{key: 1})
    with pytest.raises(ValueError, match=rf"Invalid parameter '{key}' for estimator"):
        make_accuracy_pipeline("digits_mbv3").set_params(**{f"predictor__{key}": 1})
    with pytest.raises(TypeError, match=rf"unexpected keyword argument '{key}'"):
        AccuracyPredictor(**{key: 1})
    with pytest.raises(ValueError, match="Invalid parameter 'hiden_size'"):
        AccuracyPredictor().set_params(hiden_size=3)


def test_user_callbacks_are_copied_per_network_and_builtins_take_parameters():
    X, y = _xy()
    clip = GradientNormClipping(gradient_clip_value=1.0)
    model = AccuracyPredictor(
        **{**SMALL, "n_ensemble": 2}, callbacks=[("clip", clip)], callbacks__lr_schedule__T_max=8
    ).fit(X, y)
    copies = [dict(net.callbacks_)["clip"] for net in model.nets_]
    assert all(isinstance(c, GradientNormClipping) for c in copies)
    assert copies[0] is not copies[1] and clip not in copies
    for net in model.nets_:  # 4 of the 8 epochs of a cosine from 1e-3: half-way down
        assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(5e-4)
    dropped = AccuracyPredictor(**SMALL, callbacks__lr_schedule=None).fit(X, y)
    assert "lr_schedule" not in dict(dropped.nets_[0].callbacks_)
    assert dropped.nets_[0].optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_train_split_is_skorchs():
    X, y = _xy()
    model = AccuracyPredictor(**SMALL, train_split=ValidSplit(4)).fit(X, y)
    assert all(np.isfinite(model.history_[0][:, "valid_loss"]))
    batches = model.history_[0][0]["batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 72  # 3/4 of 96 rows
    assert sum(b.get("valid_batch_size", 0) for b in batches) == 24


@pytest.mark.slow
def test_grid_search_over_module_and_optimizer_parameters_with_two_jobs(digits):
    space, archs, y = digits
    pipe = make_accuracy_pipeline(space, n_layers=1, max_epochs=3, batch_size=64, random_state=0)
    grid = {
        "predictor__module__hidden_size": [8, 24],
        "predictor__optimizer__weight_decay": [0.0, 0.05],
    }
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(archs, y)
    assert search.best_params_ in list(ParameterGrid(grid))
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_["predictor"]
    hidden = search.best_params_["predictor__module__hidden_size"]
    decay = search.best_params_["predictor__optimizer__weight_decay"]
    assert _widths(best)[0][1] == hidden and best.hidden_size == hidden
    assert best.nets_[0].optimizer_.param_groups[0]["weight_decay"] == decay
    assert len(best.history_[0]) == 3


# ---------------------------------------------------------------- history_
def test_history_survives_pickle_joblib_and_skops(tmp_path):
    X, y = _xy()
    model = AccuracyPredictor(**SMALL).fit(X, y)
    losses = model.history_[0][:, "train_loss"]
    assert len(losses) == 4 and model.history_[0] is model.nets_[0].history
    joblib.dump(model, tmp_path / "m.joblib")
    backs = [pickle.loads(pickle.dumps(model)), joblib.load(tmp_path / "m.joblib")]
    sio = pytest.importorskip("skops.io")
    sio.dump(model, tmp_path / "m.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "m.skops")
    assert untrusted == ["sklearn_ofa.accuracy.predictor.AccuracyPredictor"]
    backs.append(sio.load(tmp_path / "m.skops", trusted=untrusted))
    for back in backs:
        assert type(back.history_[0]) is History and back.history_[0] is back.nets_[0].history
        assert back.history_[0][:, "train_loss"] == losses
        np.testing.assert_array_equal(back.predict(X), model.predict(X))
    # routed settings come back with the rebuilt networks
    sgd = AccuracyPredictor(**SMALL, optimizer=torch.optim.SGD, optimizer__momentum=0.3)
    back = pickle.loads(pickle.dumps(sgd.fit(X, y)))
    assert type(back.nets_[0].optimizer_) is torch.optim.SGD
    assert back.nets_[0].optimizer_.param_groups[0]["momentum"] == 0.3


@pytest.mark.slow
def test_history_comes_back_from_two_loky_workers(digits):
    space, archs, y = digits
    pipe = make_accuracy_pipeline(space, **SMALL)
    cv = KFold(2, shuffle=True, random_state=0)
    res = cross_validate(pipe, archs, y, cv=cv, n_jobs=2, return_estimator=True)
    for est, (train, _) in zip(res["estimator"], cv.split(archs)):
        hist = est["predictor"].history_[0]
        assert type(hist) is History and len(hist) == 4
        here = clone(pipe).fit([archs[i] for i in train], y[train])["predictor"].history_[0]
        np.testing.assert_allclose(hist[:, "train_loss"], here[:, "train_loss"], rtol=1e-4)


# ------------------------------------------------------- partial_fit, warm_start
def test_partial_fit_continues_the_same_networks_and_lowers_the_loss():
    X, y = _xy(128)
    params = {**SMALL, "max_epochs": 3, "lr": 3e-3}
    first = AccuracyPredictor(**params).partial_fit(X, y)
    fitted = AccuracyPredictor(**params).fit(X, y)
    np.testing.assert_array_equal(first.predict(X), fitted.predict(X))  # first call = fit
    net = first.nets_[0]
    ends = [first.history_[0][-1]["train_loss"]]
    for _ in range(3):
        first.partial_fit(X, y)
        assert first.nets_[0] is net
        ends.append(first.history_[0][-1]["train_loss"])
    assert len(first.history_[0]) == 12
    assert ends[-1] < ends[0] and all(b <= a * 1.05 for a, b in itertools.pairwise(ends))
    # each call restarts the cosine schedule from lr: 3e-3, then (1 + cos(pi k / 3)) / 2 of it
    cosine = [3e-3, 2.25e-3, 0.75e-3]
    np.testing.assert_allclose(first.history_[0][:, "event_lr"], cosine * 4, rtol=1e-9)
    # Adam's state carried over: one step per batch of every call
    assert net.optimizer_.state_dict()["state"][0]["step"] == 4 * 3 * 4


@pytest.mark.parametrize("standardize", [False, True])
def test_partial_fit_keeps_the_target_scale_of_the_first_call(standardize):
    X, y = _xy(128)
    model = AccuracyPredictor(**SMALL, standardize_target=standardize).fit(X, y)
    base, scale = model.base_acc_, model.target_scale_
    assert scale == (pytest.approx(y.std()) if standardize else 1.0)
    last = model.history_[0][-1]["train_loss"]
    model.partial_fit(X, y)
    # the loss goes on from where it was (a network in other units would jump)
    assert model.history_[0][4]["train_loss"] < 1.05 * last
    model.partial_fit(X, y + 0.01)
    assert (model.base_acc_, model.target_scale_) == (base, scale)
    assert abs(np.mean(model.predict(X)) - np.mean(y)) < 0.03  # still in accuracy units


def test_warm_start_fit_continues_and_cold_fit_restarts():
    X, y = _xy()
    model = AccuracyPredictor(**SMALL, warm_start=True).fit(X, y)
    net = model.nets_[0]
    model.fit(X, y)
    assert model.nets_[0] is net and len(model.history_[0]) == 8
    model.set_params(warm_start=False).fit(X, y)
    assert model.nets_[0] is not net and len(model.history_[0]) == 4


def test_partial_fit_refuses_other_features_or_another_network_shape():
    X, y = _xy()
    model = AccuracyPredictor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but AccuracyPredictor is expecting"):
        model.partial_fit(X[:, :4], y)
    with pytest.raises(ValueError, match="fitted networks have hidden_size=16, got hidden_size=32"):
        model.set_params(hidden_size=32).partial_fit(X, y)
    with pytest.raises(ValueError, match="n_ensemble=1, got n_ensemble=2"):
        model.set_params(hidden_size=16, n_ensemble=2).partial_fit(X, y)


def test_partial_fit_after_unpickling_continues_in_the_same_units():
    X, y = _xy(128)
    model = AccuracyPredictor(**SMALL, standardize_target=True).fit(X, y)
    back = pickle.loads(pickle.dumps(model)).partial_fit(X, y)
    assert len(back.history_[0]) == 8
    assert back.history_[0][4]["train_loss"] < 1.1 * model.history_[0][-1]["train_loss"]


# ----------------------------------------------------------- random_state
def test_random_state_accepts_generators_and_random_states():
    X, y = _xy()
    params = {k: v for k, v in SMALL.items() if k not in ("random_state", "n_ensemble")}

    def pred(rs):
        return AccuracyPredictor(**params, n_ensemble=2, random_state=rs).fit(X, y).predict(X)

    np.testing.assert_array_equal(pred(np.random.default_rng(5)), pred(np.random.default_rng(5)))
    assert not np.array_equal(pred(np.random.default_rng(5)), pred(np.random.default_rng(6)))
    np.testing.assert_array_equal(pred(np.random.RandomState(5)), pred(5))
    np.testing.assert_array_equal(pred(7), pred(7))
    gen = np.random.default_rng(5)
    assert not np.array_equal(pred(gen), pred(gen))  # a shared generator moves on
    with pytest.raises(ValueError, match="'random_state' parameter of AccuracyPredictor"):
        AccuracyPredictor(random_state="seed").fit(X, y)


# ------------------------------------------------------------- DeviceWarning
def test_device_warning_is_skorchs():
    assert issubclass(DeviceWarning, skorch.exceptions.DeviceWarning)
    assert issubclass(DeviceWarning, UserWarning)
    X, y = _xy()
    model = AccuracyPredictor(**SMALL).fit(X, y)
    model.nets_[0].device = "cuda"  # what a CUDA-trained predictor carries
    blob = pickle.dumps(model)
    with mock.patch("torch.cuda.is_available", lambda: False), warnings.catch_warnings():
        warnings.simplefilter("error", skorch.exceptions.DeviceWarning)
        with pytest.raises(skorch.exceptions.DeviceWarning, match="CUDA is not available"):
            pickle.loads(blob)
