"""Import of OFA's pretrained accuracy predictors: parity with OFA and the specialized nets."""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_ofa import load_ofa_predictor
from sklearn_ofa.exceptions import ArchValueError, NetConfigError
from sklearn_ofa.spaces import get_space


@pytest.fixture(scope="module")
def mbv3_predictor(ofa_reference):
    return load_ofa_predictor(ofa_reference / "predictors" / "acc_predictor.pth", "ofa_mbv3_w1.2")


def test_tutorial_checkpoint_parity(mbv3_predictor, parity):
    records = parity("mbv3_w1.2")["records"]
    pred = mbv3_predictor.predict([r["arch"] for r in records])
    expected = np.array([r["tutorial_pred_acc"] for r in records])
    assert pred.shape == expected.shape
    np.testing.assert_allclose(pred, expected, rtol=0, atol=1e-5)
    # the package layout differs from the tutorial's: image size first, 4-pixel sizes
    assert mbv3_predictor["encoder"].n_features_out_ == 145
    assert mbv3_predictor["predictor"].nets_[0].module_.layers[0].in_features == 145


def test_resnet50_checkpoint_parity(ofa_reference, parity):
    records = parity("resnet50")["records"]
    pipe = load_ofa_predictor(
        ofa_reference / "predictors" / "ofa_resnet50_acc_predictor.pth", "ofa_resnet50"
    )
    pred = pipe.predict([r["arch"] for r in records])
    expected = np.array([r["nas_pred_acc"] for r in records])
    np.testing.assert_allclose(pred, expected, rtol=0, atol=1e-5)
    # a subset of image sizes reads the same columns
    sub = load_ofa_predictor(
        ofa_reference / "predictors" / "ofa_resnet50_acc_predictor.pth",
        "ofa_resnet50",
        image_sizes=[160, 224],
    )
    keep = [i for i, r in enumerate(records) if r["arch"]["image_size"] in (160, 224)]
    np.testing.assert_allclose(
        sub.predict([records[i]["arch"] for i in keep]), expected[keep], rtol=0, atol=1e-5
    )


def test_image_sizes_outside_checkpoint(ofa_reference):
    path = ofa_reference / "predictors" / "acc_predictor.pth"
    with pytest.raises(ArchValueError, match="image_size = 240 is outside"):
        load_ofa_predictor(path, "ofa_mbv3_w1.2", image_sizes=range(128, 264, 4))
    wide = load_ofa_predictor(
        path, "ofa_mbv3_w1.2", image_sizes=range(128, 264, 4), clip_image_sizes=True
    )
    narrow = load_ofa_predictor(path, "ofa_mbv3_w1.2")
    arch = {"ks": [5] * 20, "e": [4] * 20, "d": [3] * 5, "image_size": 224}
    # 224..239 share the tutorial's last slot; beyond it the clipped pipeline reuses that slot
    same = [wide.predict([{**arch, "image_size": r}])[0] for r in (224, 236, 240, 260)]
    assert np.ptp(same) == 0
    assert same[0] == pytest.approx(narrow.predict([arch])[0], abs=1e-7)
    r50 = ofa_reference / "predictors" / "ofa_resnet50_acc_predictor.pth"
    with pytest.raises(ArchValueError, match="image_size = 150 is not one of"):
        load_ofa_predictor(r50, "ofa_resnet50", image_sizes=[150, 160])


def test_wrong_space_or_file(ofa_reference, tmp_path):
    import torch

    with pytest.raises(ValueError, match="does not match"):
        load_ofa_predictor(ofa_reference / "predictors" / "acc_predictor.pth", "ofa_resnet50")
    bad = tmp_path / "bad.pth"
    torch.save({"weight": torch.zeros(2)}, bad)
    with pytest.raises(ValueError, match="not an OFA accuracy-predictor state dict"):
        load_ofa_predictor(bad, "ofa_mbv3_w1.2")


def test_specialized_nets_table(ofa_reference, specialized_nets, capsys):
    """Predict OFA's specialized MobileNetV3 w1.2 subnets from their net.config."""
    space = get_space("ofa_mbv3_w1.2", image_sizes=range(128, 264, 4))
    pipe = load_ofa_predictor(
        ofa_reference / "predictors" / "acc_predictor.pth",
        space,
        image_sizes=range(128, 264, 4),
        clip_image_sizes=True,
    )
    rows = []
    for name, cfg, image_size in specialized_nets:
        try:
            arch = space.from_net_config(cfg, image_size)
        except NetConfigError:
            continue  # another space (w1.0 or ProxylessNAS)
        named = float(name.split("top1-")[1].split("_")[0])
        rows.append((name, image_size, 100 * pipe.predict([arch])[0], named))
    print(f"\n{'subnet':40s} {'size':>4s} {'predicted':>9s} {'named':>6s}")
    for name, size, pred, named in rows:
        flag = " (size clipped to 224..239 slot)" if size >= 240 else ""
        print(f"{name:40s} {size:4d} {pred:9.2f} {named:6.1f}{flag}")
    assert len(rows) >= 5
    pred = np.array([r[2] for r in rows])
    named = np.array([r[3] for r in rows])
    # the supernet predictor ranks the specialized nets like their fine-tuned top-1
    from scipy.stats import kendalltau

    assert kendalltau(pred, named).statistic > 0.6
    assert np.all((pred > 65) & (pred < 85))


@pytest.mark.slow
def test_default_pipeline_learns_the_ofa_predictor(ofa_reference):
    """5-fold CV of the default pipeline on archs labelled by OFA's predictor (+ noise).

    The labels come from OFA's pretrained MobileNetV3 predictor, with Gaussian
    noise of 0.04 accuracy points (the spread of repeated measurements of one
    subnet); the default pipeline must rank held-out archs well.
    """
    from sklearn.model_selection import KFold, cross_validate

    from sklearn_ofa import make_accuracy_pipeline
    from sklearn_ofa.accuracy.scoring import kendall_tau_scorer, neg_rmse_points_scorer

    space = get_space("ofa_mbv3_w1.2", image_sizes=range(160, 228, 4))
    oracle = load_ofa_predictor(ofa_reference / "predictors" / "acc_predictor.pth", space)
    codes = space.sample_codes(500, random_state=0)
    y = oracle.predict(codes) + np.random.default_rng(1).normal(0, 0.0004, len(codes))
    res = cross_validate(
        # one network and fewer epochs than the defaults keep this test fast;
        # benchmarks/bench_accuracy.py --quality compares the full defaults
        make_accuracy_pipeline(space, n_ensemble=1, max_epochs=60, batch_size=32, random_state=0),
        codes,
        y,
        cv=KFold(5, shuffle=True, random_state=0),
        scoring={"tau": kendall_tau_scorer, "rmse": neg_rmse_points_scorer},
    )
    tau, rmse = res["test_tau"].mean(), -res["test_rmse"].mean()
    print(
        f"\n500 archs labelled by OFA's predictor: 5-fold Kendall tau {tau:.3f}, "
        f"RMSE {rmse:.3f} points (label sd {100 * y.std():.2f} points)"
    )
    assert tau > 0.75
    assert rmse < 0.6 * 100 * y.std()
