"""RankingMSELoss: the pairwise ranking term, its arguments, and training with it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from sklearn_ofa import make_accuracy_pipeline, persistence
from sklearn_ofa.accuracy.losses import RankingMSELoss
from sklearn_ofa.spaces import get_space


def _by_hand(p, y, weight, t):
    """The loss written out pair by pair (no broadcasting)."""
    pairs = [(i, j) for i, j in itertools.permutations(range(len(y)), 2) if y[i] > y[j]]
    rank = np.mean([t * np.log1p(np.exp(-(p[i] - p[j]) / t)) for i, j in pairs])
    return np.mean((p - y) ** 2) + weight * rank


@pytest.mark.parametrize(("weight", "t"), [(1.0, 0.03), (3.0, 0.5), (0.0, 0.1)])
def test_value_equals_the_pairwise_definition(weight, t):
    rng = np.random.default_rng(0)
    p, y = rng.normal(size=9), rng.normal(size=9)
    y[3] = y[5]  # a tie is no pair
    got = RankingMSELoss(weight, t)(torch.tensor(p).reshape(-1, 1), torch.tensor(y).reshape(-1, 1))
    assert float(got) == pytest.approx(_by_hand(p, y, weight, t), rel=1e-9)


def test_the_wrong_order_costs_more_than_the_right_one_at_equal_squared_error():
    y = torch.tensor([0.0, 1.0])
    loss = RankingMSELoss(rank_weight=1.0, temperature=0.1)
    right, wrong = torch.tensor([0.4, 0.6]), torch.tensor([0.6, 0.4])  # same MSE: 0.16 vs 0.36
    shifted = torch.tensor([-0.4, 1.4])  # right order, MSE 0.16
    assert loss(wrong, y) > loss(right, y)
    assert float(loss(shifted, y)) == pytest.approx(0.16, abs=1e-3)  # margin: ranking term ~0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"rank_weight": -1.0}, r"rank_weight = -1.0 is not allowed; allowed range: \[0, inf\]"),
        ({"temperature": 0.0}, r"temperature = 0.0 is not allowed; allowed range: \(0, inf\]"),
        ({"temperature": float("nan")}, "temperature = nan is not allowed"),
    ],
)
def test_bad_arguments_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        RankingMSELoss(**kw)
    with pytest.raises(TypeError, match="rank_weight must be a number, got str"):
        RankingMSELoss(rank_weight="1")


def test_mismatched_batches_are_refused():
    with pytest.raises(ValueError, match="pred has 3 values but target has 2"):
        RankingMSELoss()(torch.zeros(3), torch.zeros(2))


def test_pipeline_trains_with_it_and_persists(tmp_path):
    space = get_space("ofa_mbv3_w1.2", image_sizes=[160, 176, 192, 208, 224])
    archs = space.sample(400, random_state=0)
    y = np.array([0.70 + 0.002 * sum(a["d"]) + 0.0001 * a["image_size"] for a in archs])
    pipe = make_accuracy_pipeline(
        space,
        criterion=RankingMSELoss,
        criterion__rank_weight=2.0,
        n_ensemble=1,
        hidden_size=32,
        max_epochs=60,
        random_state=0,
    ).fit(archs[:300], y[:300])
    net = pipe["predictor"].nets_[0]
    assert isinstance(net.criterion_, RankingMSELoss) and net.criterion_.rank_weight == 2.0
    pred = pipe.predict(archs[300:])
    assert np.corrcoef(pred, y[300:])[0, 1] > 0.8
    path = persistence.save(pipe, tmp_path / "acc.skops")
    np.testing.assert_allclose(persistence.load(path).predict(archs[300:]), pred, rtol=1e-6)


@pytest.mark.parametrize(("weight", "loss"), [(0.0, torch.nn.MSELoss), (2.5, RankingMSELoss)])
def test_rank_weight_picks_the_default_loss(weight, loss):
    from sklearn_ofa import AccuracyPredictor

    X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    y = 0.7 + 0.01 * X[:, 0]
    model = AccuracyPredictor(
        rank_weight=weight, n_ensemble=1, hidden_size=8, max_epochs=2, random_state=0
    ).fit(X, y)
    criterion = model.nets_[0].criterion_
    assert type(criterion) is loss
    if weight:
        assert criterion.rank_weight == weight and criterion.temperature == 0.03


def test_rank_weight_with_a_criterion_is_refused_not_ignored():
    from sklearn_ofa import AccuracyPredictor

    X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    y = 0.7 + 0.01 * X[:, 0]
    model = AccuracyPredictor(
        criterion=torch.nn.L1Loss, rank_weight=0.5, n_ensemble=1, hidden_size=8, max_epochs=2
    )
    with pytest.raises(
        ValueError, match=r"rank_weight = 0.5 has no effect with criterion = 'L1Loss'"
    ):
        model.fit(X, y)
    assert "nets_" not in model.__dict__
    model.set_params(rank_weight=0.0).fit(X, y)
    assert type(model.nets_[0].criterion_) is torch.nn.L1Loss
