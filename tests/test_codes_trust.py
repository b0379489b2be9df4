"""Codes know their space; space parameters and arch values are checked as strictly as validate."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_ofa import ArchEncoder, FLOPsModel, LatencyTable
from sklearn_ofa.exceptions import ArchTypeError, ArchValueError, SpaceMismatchError
from sklearn_ofa.spaces import Codes, get_space, list_spaces

FULL = get_space("digits_mbv3")
SMALL = get_space("digits_mbv3", image_sizes=[16, 32])


def _arch_at(size: int, seed: int = 0) -> dict:
    return dict(FULL.sample(1, random_state=seed)[0], image_size=size)


# ----------------------------------------------------------- codes know their space
def test_codes_carry_their_space_through_rows_and_pickle():
    codes = FULL.sample_codes(5, random_state=0)
    assert isinstance(codes, Codes) and codes.space is FULL
    assert codes[1:3].space is FULL
    assert type(codes + 1) is np.ndarray  # arithmetic is no longer a code matrix
    back = pickle.loads(pickle.dumps(codes))
    assert back.space == FULL and np.array_equal(back, codes)
    for made in (
        FULL.to_codes(FULL.sample(2)),
        FULL.mutate_codes(codes, 0.5, 0),
        FULL.crossover_codes(codes, codes[::-1], 0),
    ):
        assert made.space is FULL


def test_checked_codes_skip_the_check_only_in_their_own_space():
    from sklearn_ofa.spaces._codes import CheckedCodes

    codes = np.asarray(FULL.sample_codes(4, random_state=0))
    bad = codes.copy()
    bad[0, 0] = 99  # out of range: a plain matrix or plain Codes is refused
    with pytest.raises(ArchValueError, match=r"codes\[0, 0\].*out of range"):
        FULL.check_codes(Codes(bad, FULL))
    passed = FULL.check_codes(CheckedCodes(codes, FULL))
    assert type(passed) is np.ndarray and np.shares_memory(passed, codes)
    # the mark is the space's: another space (even an equal one) checks again
    other = get_space("digits_mbv3", image_sizes=list(FULL.image_sizes))
    assert other is not FULL
    with pytest.raises(ArchValueError, match="out of range"):
        other.check_codes(CheckedCodes(bad, FULL))
    assert type(CheckedCodes(codes, FULL) + 0) is np.ndarray  # arithmetic drops the mark


@pytest.mark.slow
def test_latency_table_decodes_codes_of_another_space_by_value():
    lut = LatencyTable(SMALL, repeats=2, warmup=0, isolate=False).fit()
    arch16, arch32 = _arch_at(16), _arch_at(32)
    by_dict = lut.predict([arch16, arch32])
    assert by_dict[0] != by_dict[1]
    # codes of the full space: image size 16 is code 1 there, but 32 is code 1 of the table's space
    assert np.array_equal(lut.predict(FULL.to_codes([arch16, arch32])), by_dict)
    with pytest.raises(SpaceMismatchError, match=r"image_size.*= 20.*'digits_mbv3'.*\[16, 32\]"):
        lut.predict(FULL.to_codes([_arch_at(20)]))
    with pytest.raises(SpaceMismatchError, match="'ofa_mbv3_w1.2'.*'digits_mbv3'"):
        lut.predict(get_space("ofa_mbv3_w1.2").sample_codes(1, random_state=0))


def test_encoder_and_flops_decode_codes_of_another_space_by_value():
    enc = ArchEncoder(space="digits_mbv3", image_sizes=[16, 32]).fit()
    archs = [_arch_at(16, 1), _arch_at(32, 2)]
    assert np.array_equal(enc.transform(FULL.to_codes(archs)), enc.transform(archs))
    flops = FLOPsModel(SMALL).fit()
    assert np.array_equal(
        flops.predict(FULL.to_codes(archs)), FLOPsModel(FULL).fit().predict(archs)
    )
    with pytest.raises(SpaceMismatchError, match="'digits_mbv3'"):
        enc.transform(FULL.to_codes([_arch_at(24)]))


def test_incompatible_spaces_are_refused_naming_both():
    codes = get_space("ofa_mbv3_w1.0").sample_codes(3, random_state=0)
    with pytest.raises(SpaceMismatchError, match="'ofa_mbv3_w1.0'.*'ofa_mbv3_w1.2'"):
        get_space("ofa_mbv3_w1.2").from_codes(codes)
    with pytest.raises(SpaceMismatchError, match="'ofa_resnet50'"):
        FLOPsModel("ofa_resnet50").fit().predict(codes)


def test_plain_integer_matrices_are_checked_for_width_dtype_and_range():
    plain = np.asarray(FULL.sample_codes(4, random_state=3))
    assert FULL.from_codes(plain) == FULL.from_codes(FULL.sample_codes(4, random_state=3))
    for bad, err, msg in [
        (np.full((1, FULL.n_genes), -1), ArchValueError, "disagrees with the depth"),
        (np.full((1, FULL.n_genes), -5), ArchValueError, r"out of range; allowed: -1"),
        (np.full((1, FULL.n_genes), 0.7), ArchTypeError, "integer matrix.*float64"),
        (np.zeros((1, 60), dtype=int), ArchValueError, r"shape \(n_archs, 46\).*\(1, 60\)"),
        (np.zeros((1, FULL.n_genes), dtype=bool), ArchTypeError, "dtype bool"),
        ([[0, 1], [2]], ArchTypeError, "rectangular"),
    ]:
        with pytest.raises(err, match=msg):
            FULL.from_codes(bad)
        if isinstance(bad, np.ndarray):  # a list is read as arch dicts by estimators
            with pytest.raises(err, match=msg):
                FLOPsModel(FULL).fit().predict(bad)


# --------------------------------------------------------- arch values as validate
@pytest.mark.parametrize("value", ["3", 3.0, "2.24e2", True, None, [3]])
def test_to_codes_refuses_what_validate_refuses(value):
    arch = _arch_at(16)
    for key, patched in (("image_size", value), ("ks", [value] + arch["ks"][1:])):
        bad = dict(arch, **{key: patched})
        with pytest.raises((ArchTypeError, ArchValueError), match=rf"archs\[0\]\['{key}'\]"):
            FULL.to_codes([bad])
        with pytest.raises((ArchTypeError, ArchValueError)):
            FULL.validate(bad)


def test_bool_is_not_an_int_where_zero_or_one_is_a_choice():
    space = get_space("ofa_resnet50")  # depth choices 0, 1, 2
    arch = space.sample(1, random_state=0)[0]
    arch["d"] = [True] + arch["d"][1:]
    with pytest.raises(ArchTypeError, match=r"archs\[0\]\['d'\]\[0\] must be an int"):
        space.to_codes([arch])


# --------------------------------------------------------------- space parameters
@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(image_sizes=[0]), r"image_sizes\[0\] = 0 .* >= 1"),
        (dict(image_sizes=[-32]), r"image_sizes\[0\] = -32"),
        (dict(image_sizes=[]), "image_sizes must not be empty"),
        (dict(image_sizes=[16, 16]), "distinct"),
        (dict(image_sizes=["32"]), r"image_sizes\[0\] must be an int.*str"),
        (dict(image_sizes=[32.5]), r"image_sizes\[0\] must be an int.*float"),
        (dict(ks_list=[4]), r"ks_list\[0\] = 4 .* odd"),
        (dict(ks_list=[-3]), r"ks_list\[0\] = -3 .* >= 1"),
        (dict(depth_list=[0, 1]), r"depth_list\[0\] = 0 .* >= 1"),
        (dict(expand_ratio_list=[0]), r"expand_ratio_list\[0\] = 0"),
        (dict(width_mult=0), r"width_mult = 0.0 .*\(0, inf\]"),
        (dict(width_mult="1.0"), "width_mult must be a number"),
        (dict(n_classes=0), "n_classes = 0"),
        (dict(dropout_rate=1.5), "dropout_rate = 1.5"),
        (dict(stride_stages=[1, 2, 2, 2, 1, 3]), r"stride_stages\[5\] = 3 .*\[1, 2\]"),
        (dict(act_stages=["relu"] * 5 + ["gelu"]), r"act_stages\[5\] = 'gelu'"),
        (dict(name=3), "name must be a str"),
    ],
)
def test_space_parameters_are_checked(overrides, match):
    with pytest.raises((ValueError, TypeError), match=match):
        get_space("digits_mbv3", **overrides)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(depth_list=[-1, 0]), r"depth_list\[0\] = -1"),
        (dict(expand_ratio_list=[0.25, -0.2]), r"expand_ratio_list\[1\] = -0.2"),
        (dict(width_mult_list=[float("nan")]), r"width_mult_list\[0\] = nan"),
        (dict(image_sizes=[224, 0]), r"image_sizes\[1\] = 0"),
    ],
)
def test_resnet_space_parameters_are_checked(overrides, match):
    with pytest.raises((ValueError, TypeError), match=match):
        get_space("ofa_resnet50", **overrides)


def test_sampling_parameters_are_checked():
    with pytest.raises(ValueError, match="n = -1"):
        FULL.sample_codes(-1)
    with pytest.raises(TypeError, match="n must be an int"):
        FULL.sample(2.5)
    with pytest.raises(ValueError, match="mutate_prob = 1.5"):
        FULL.mutate_codes(FULL.sample_codes(2), mutate_prob=1.5)
    assert FULL.sample_codes(0).shape == (0, FULL.n_genes)


# ------------------------------------------------------------------ properties
_SPACES = [get_space(name) for name in list_spaces()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_codes_round_trip_in_every_space(data):
    space = data.draw(st.sampled_from(_SPACES))
    seed = data.draw(st.integers(0, 2**32 - 1))
    codes = space.sample_codes(data.draw(st.integers(0, 5)), random_state=seed)
    archs = space.from_codes(codes)
    assert [space.validate(a) for a in archs] == archs
    assert np.array_equal(space.to_codes(archs), codes)
    assert np.array_equal(space.mask_codes(np.maximum(codes, 0)), codes)


_junk_value = st.one_of(
    st.integers(-10, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
    st.lists(st.integers(0, 7), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_property_to_codes_is_validate_or_a_named_error(data):
    space = data.draw(st.sampled_from(_SPACES))
    arch = space.sample(1, random_state=data.draw(st.integers(0, 1000)))[0]
    key = data.draw(st.sampled_from(list(space.arch_keys)))
    value = data.draw(_junk_value)
    if isinstance(arch[key], list) and not isinstance(value, list):
        pos = data.draw(st.integers(0, len(arch[key]) - 1))
        arch[key] = arch[key][:pos] + [value] + arch[key][pos + 1 :]
    else:
        arch[key] = value
    try:
        expected = space.validate(arch)
    except (ArchTypeError, ArchValueError) as exc:
        with pytest.raises(type(exc), match=rf"\['{key}'\]"):
            space.to_codes([arch])
    else:
        assert space.from_codes(space.to_codes([arch]))[0] == _active_only(space, expected)


def _active_only(space, arch):
    return space.from_codes(space.to_codes([arch]))[0]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_property_code_matrices_decode_or_raise_a_named_error(data):
    space = data.draw(st.sampled_from(_SPACES))
    n = data.draw(st.integers(0, 3))
    width = data.draw(st.sampled_from([space.n_genes, space.n_genes - 1, space.n_genes + 3]))
    kind = data.draw(st.sampled_from(["int", "float", "masked"]))
    if kind == "masked":
        base = np.asarray(space.sample_codes(n, random_state=data.draw(st.integers(0, 99))))
        flips = data.draw(st.integers(0, 3))
        for _ in range(flips if n else 0):
            r, c = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, space.n_genes - 1))
            base[r, c] = data.draw(st.integers(-3, 30))
        X = base[:, :width] if width <= space.n_genes else np.pad(base, ((0, 0), (0, 3)))
    else:
        values = data.draw(st.lists(st.integers(-3, 30), min_size=n * width, max_size=n * width))
        X = np.array(values, dtype=np.int64 if kind == "int" else np.float64).reshape(n, width)
    try:
        archs = space.from_codes(X)
    except ArchTypeError as exc:
        assert "codes" in str(exc) and kind == "float"
    except ArchValueError as exc:
        assert "codes" in str(exc)
    else:
        assert len(archs) == n and width == space.n_genes
        assert np.array_equal(space.to_codes(archs), X)


def test_space_guide_examples_run():
    # The modules' own examples run with the package's doctests (pytest --doctest-modules).
    import doctest

    guide = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "spaces.rst"
    result = doctest.testfile(str(guide), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
