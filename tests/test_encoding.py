"""ArchEncoder: OFA parity, round trips, names, pandas output and the scikit-learn API by hand."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_ofa import ArchEncoder
from sklearn_ofa.exceptions import ArchTypeError, ArchValueError
from sklearn_ofa.spaces import get_space

PARITY = [
    ("ofa_mbv3_w1.2", "mbv3_w1.2"),
    ("ofa_proxyless_w1.3", "proxyless_w1.3"),
    ("ofa_resnet50", "resnet50"),
]


def _reference_mobilenet(arch, image_sizes, max_depth=4):
    """Straight per-arch one-hot in OFA's documented MobileNet layout (test oracle)."""
    n_slots = len(arch["ks"])
    feat = np.zeros(len(image_sizes) + 6 * n_slots, dtype=np.float32)
    feat[list(image_sizes).index(arch["image_size"])] = 1
    for i in range(n_slots):
        if i % max_depth < arch["d"][i // max_depth]:
            feat[len(image_sizes) + 3 * i + [3, 5, 7].index(arch["ks"][i])] = 1
            feat[len(image_sizes) + 3 * n_slots + 3 * i + [3, 4, 6].index(arch["e"][i])] = 1
    return feat


@pytest.mark.parametrize("space_name, parity_name", PARITY)
def test_parity_with_ofa_arch2feature(space_name, parity, parity_name):
    data = parity(parity_name)
    enc = ArchEncoder(space_name).fit()
    X = enc.transform([r["arch"] for r in data["records"]])
    assert X.dtype == np.float32 and X.shape == (len(data["records"]), data["meta"]["encoder_dim"])
    for row, record in zip(X, data["records"]):
        assert np.nonzero(row)[0].tolist() == record["ofa_encoder_ones"]
    # the code path gives the same features
    codes = enc.space_.to_codes([r["arch"] for r in data["records"]])
    np.testing.assert_array_equal(enc.transform(codes), X)
    np.testing.assert_array_equal(enc.transform_codes(codes), X)


def test_random_codes_match_reference_encoding():
    enc = ArchEncoder("ofa_mbv3_w1.2", image_sizes=[160, 176, 192, 208, 224]).fit()
    archs = enc.space_.sample(300, random_state=3)
    X = enc.transform(archs)
    expected = np.stack([_reference_mobilenet(a, [160, 176, 192, 208, 224]) for a in archs])
    np.testing.assert_array_equal(X, expected)
    assert X.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("space_name", [p[0] for p in PARITY])
def test_inverse_transform_round_trip(space_name):
    enc = ArchEncoder(space_name).fit()
    codes = enc.space_.sample_codes(200, random_state=0)
    X = enc.transform(codes)
    np.testing.assert_array_equal(enc.inverse_transform_codes(X), codes)
    archs = enc.inverse_transform(X)
    np.testing.assert_array_equal(enc.space_.to_codes(archs), codes)


def test_inverse_transform_rejects_bad_features():
    enc = ArchEncoder("ofa_mbv3_w1.2").fit()
    X = enc.transform(enc.space_.sample_codes(2, random_state=0))
    with pytest.raises(ArchValueError, match="shape"):
        enc.inverse_transform(X[:, :-1])
    X[0, 25:] = 0  # no active block at all: depth 0 is not a choice
    with pytest.raises(ArchValueError, match="active blocks in stage 1"):
        enc.inverse_transform(X)


def test_feature_names_and_pandas_output():
    enc = ArchEncoder("ofa_mbv3_w1.2").fit()
    names = enc.get_feature_names_out()
    assert len(names) == 145 and len(set(names)) == 145
    assert names[0] == "image_size_128" and names[24] == "image_size_224"
    assert "stage2_block1_ks_5" in names and names[-1] == "stage5_block4_e_6"
    # stage 2 block 1 is slot 4: its kernel one-hot sits at 25 + 4 * 3 + 1 for ks=5
    assert names[25 + 4 * 3 + 1] == "stage2_block1_ks_5"
    r50 = ArchEncoder("ofa_resnet50").fit().get_feature_names_out()
    assert r50[8:10].tolist() == ["input_stem_d_0", "input_stem_d_2"]
    assert r50[-1] == "stage4_block4_e_0.35"

    archs = enc.space_.sample(5, random_state=0)
    df = enc.set_output(transform="pandas").transform(archs)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == names.tolist()
    assert (
        df.to_numpy().sum(axis=1).tolist()
        == enc.set_output(transform="default").transform(archs).sum(axis=1).tolist()
    )


def test_dataframe_and_single_dict_input():
    enc = ArchEncoder("ofa_mbv3_w1.2").fit()
    archs = enc.space_.sample(4, random_state=1)
    X = enc.transform(archs)
    np.testing.assert_array_equal(enc.transform(pd.DataFrame(archs)), X)
    np.testing.assert_array_equal(enc.transform(archs[0]), X[:1])


def test_image_sizes_parameter():
    enc = ArchEncoder("ofa_mbv3_w1.2", image_sizes=[160, 224]).fit()
    assert enc.n_features_out_ == 2 + 120
    arch = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "image_size": 192}
    with pytest.raises(ArchValueError, match=r"image_size.*192.*\[160, 224\]"):
        enc.transform([arch])


def test_bad_input_errors_name_the_field():
    enc = ArchEncoder("ofa_mbv3_w1.2").fit()
    arch = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "image_size": 224}
    with pytest.raises(ArchValueError, match=r"archs\[1\]\['ks'\]\[4\] = 9"):
        enc.transform([arch, {**arch, "ks": [3] * 4 + [9] + [3] * 15}])
    with pytest.raises(ArchValueError, match="out of range"):
        enc.transform(np.full((1, 46), 7, dtype=np.int16))
    with pytest.raises(ArchTypeError):
        enc.transform(5)


# ---- scikit-learn API properties (check_estimator skips dict-input estimators) ----


def test_tags_declare_dict_input():
    tags = ArchEncoder().__sklearn_tags__()
    assert tags.input_tags.dict and not tags.input_tags.two_d_array


def test_sklearn_api_properties():
    space = get_space("ofa_resnet50")
    enc = ArchEncoder(space=space, image_sizes=[128, 160, 224])
    assert vars(enc) == {"space": space, "image_sizes": [128, 160, 224], "depth_features": False}
    assert repr(enc).startswith("ArchEncoder(image_sizes=[128, 160, 224]")
    params = enc.get_params()
    with pytest.raises(NotFittedError):
        enc.transform(space.sample(1, random_state=0))
    with pytest.raises(NotFittedError):
        enc.get_feature_names_out()
    assert enc.fit(space.sample(3, random_state=0)) is enc
    assert enc.get_params() == params
    assert all(k.endswith("_") or k.startswith("_") for k in vars(enc) if k not in params)

    twin = clone(enc)
    assert twin.get_params() == params and not hasattr(twin, "space_")
    archs = enc.space_.sample(3, random_state=2)
    assert {a["image_size"] for a in enc.space_.sample(50, random_state=0)} == {128, 160, 224}
    np.testing.assert_array_equal(twin.fit(archs).transform(archs), enc.transform(archs))
    np.testing.assert_array_equal(enc.fit_transform(archs), enc.transform(archs))
    back = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(back.transform(archs), enc.transform(archs))


def test_invalid_space_parameter():
    with pytest.raises(ValueError, match="space = 'nope' is not known"):
        ArchEncoder("nope").fit()
    with pytest.raises(ValueError, match="space"):
        ArchEncoder(3).fit()


@pytest.mark.parametrize("space_name", ["ofa_mbv3_w1.2", "ofa_proxyless_w1.3", "ofa_resnet50"])
def test_depth_features_append_a_depth_one_hot_per_stage(space_name):
    space = get_space(space_name)
    codes = space.sample_codes(50, random_state=0)
    base = ArchEncoder(space).fit()
    enc = ArchEncoder(space, depth_features=True).fit()
    X0, X = base.transform_codes(codes), enc.transform_codes(codes)
    n_depth = int(space.n_choices[space.stage_depth_cols].sum())
    assert X.shape == (50, base.n_features_out_ + n_depth) == (50, enc.n_features_out_)
    np.testing.assert_array_equal(X[:, : X0.shape[1]], X0)  # OFA's features unchanged
    tail, off = X[:, X0.shape[1] :], 0
    for s, col in enumerate(space.stage_depth_cols):
        k = int(space.n_choices[col])
        np.testing.assert_array_equal(tail[:, off : off + k].argmax(1), codes[:, col])
        assert (tail[:, off : off + k].sum(1) == 1).all()
        off += k
    names = enc.get_feature_names_out()
    assert len(names) == X.shape[1] and names[-1].startswith(
        f"stage{len(space.stage_depth_cols)}_depth_"
    )
    np.testing.assert_array_equal(enc.inverse_transform_codes(X), base.inverse_transform_codes(X0))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).transform_codes(codes), X)
