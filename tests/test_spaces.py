"""Search spaces: validation errors, codes, sampling, block walk, net.config parity with OFA."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ofa.exceptions import ArchTypeError, ArchValueError, NetConfigError
from sklearn_ofa.spaces import Block, MobileNetSpace, ResNetSpace, get_space, list_spaces

SPACES = ["ofa_mbv3_w1.0", "ofa_mbv3_w1.2", "ofa_proxyless_w1.3", "ofa_resnet50"]
PARITY = {
    "ofa_mbv3_w1.2": "mbv3_w1.2",
    "ofa_proxyless_w1.3": "proxyless_w1.3",
    "ofa_resnet50": "resnet50",
}


def test_registry_lists_the_ofa_spaces():
    assert set(SPACES) <= set(list_spaces())
    with pytest.raises(ValueError, match="allowed values"):
        get_space("ofa_mbv9")
    with pytest.raises(TypeError):
        get_space(3)


@pytest.mark.parametrize(
    "name, n_slots, n_genes, d_len",
    [("ofa_mbv3_w1.2", 20, 46, 5), ("ofa_proxyless_w1.3", 21, 49, 6), ("ofa_resnet50", 18, 30, 5)],
)
def test_space_shapes(name, n_slots, n_genes, d_len):
    space = get_space(name)
    assert space.n_slots == n_slots
    assert space.n_genes == n_genes
    arch = space.sample(1, random_state=0)[0]
    assert len(arch["d"]) == d_len


def test_ofa_default_choices():
    mb = get_space("ofa_mbv3_w1.2")
    assert mb.image_sizes == tuple(range(128, 225, 4))
    assert (
        mb.ks_list == (3, 5, 7) and mb.expand_ratio_list == (3, 4, 6) and mb.depth_list == (2, 3, 4)
    )
    px = get_space("ofa_proxyless_w1.3")
    assert px.genes[px.key_columns["d"][-1]].choices == (1,)
    rn = get_space("ofa_resnet50")
    assert rn.genes[rn.key_columns["d"][0]].choices == (0, 2)
    assert rn.expand_ratio_list == (0.2, 0.25, 0.35)


def test_image_sizes_are_configurable():
    space = get_space("ofa_mbv3_w1.2", image_sizes=[160, 192, 224])
    assert space.image_sizes == (160, 192, 224)
    assert {a["image_size"] for a in space.sample(50, random_state=0)} <= {160, 192, 224}


# ------------------------------------------------------------------ validation
def _good(space_name):
    return get_space(space_name).sample(1, random_state=1)[0]


@pytest.mark.parametrize("space_name", SPACES)
def test_missing_and_unknown_keys(space_name):
    space = get_space(space_name)
    arch = _good(space_name)
    bad = dict(arch)
    del bad["image_size"]
    with pytest.raises(ArchValueError, match="missing key 'image_size'.*required keys"):
        space.validate(bad)
    bad = dict(arch, extra=1)
    with pytest.raises(ArchValueError, match="unknown key 'extra'.*allowed keys"):
        space.validate(bad)


def test_value_not_in_choices_names_field_position_value_and_choices():
    space = get_space("ofa_mbv3_w1.2")
    arch = _good("ofa_mbv3_w1.2")
    arch["ks"][3] = 4
    with pytest.raises(
        ArchValueError, match=r"arch\['ks'\]\[3\] = 4 is not allowed; allowed values: \[3, 5, 7\]"
    ):
        space.validate(arch)


def test_wrong_length_and_types():
    space = get_space("ofa_mbv3_w1.2")
    arch = _good("ofa_mbv3_w1.2")
    with pytest.raises(ArchValueError, match=r"arch\['e'\] must have 20 entries, got 19"):
        space.validate(dict(arch, e=arch["e"][:-1]))
    with pytest.raises(ArchTypeError, match=r"arch\['d'\] must be a list"):
        space.validate(dict(arch, d=3))
    with pytest.raises(ArchTypeError, match=r"arch\['image_size'\] must be an int.*got str"):
        space.validate(dict(arch, image_size="224"))
    with pytest.raises(ArchTypeError, match=r"arch\['ks'\]\[0\] must be an int.*got bool"):
        space.validate(dict(arch, ks=[True] + arch["ks"][1:]))
    with pytest.raises(ArchTypeError, match="must be a dict"):
        space.validate(42)


def test_resnet_float_expand_ratio_and_stem_depth():
    space = get_space("ofa_resnet50")
    arch = _good("ofa_resnet50")
    arch["e"][0] = 0.3
    with pytest.raises(
        ArchValueError,
        match=r"arch\['e'\]\[0\] = 0.3 is not allowed; allowed values: \[0.2, 0.25, 0.35\]",
    ):
        space.validate(arch)
    arch = _good("ofa_resnet50")
    arch["d"][0] = 1
    with pytest.raises(ArchValueError, match=r"arch\['d'\]\[0\] = 1 .*\[0, 2\]"):
        space.validate(arch)


def test_batch_errors_name_the_row():
    space = get_space("ofa_mbv3_w1.2")
    archs = space.sample(5, random_state=0)
    archs[3]["e"][7] = 5
    with pytest.raises(ArchValueError, match=r"archs\[3\]\['e'\]\[7\] = 5"):
        space.to_codes(archs)
    archs = space.sample(5, random_state=0)
    archs[2]["ks"] = archs[2]["ks"][:5]
    with pytest.raises(ArchValueError, match=r"archs\[2\]\['ks'\] must have 20 entries"):
        space.to_codes(archs)
    archs = space.sample(5, random_state=0)
    archs[4]["image_size"] = "big"
    with pytest.raises(ArchTypeError, match=r"archs\[4\]\['image_size'\]"):
        space.to_codes(archs)


def test_check_codes_rejects_inconsistent_matrices():
    space = get_space("ofa_mbv3_w1.2")
    codes = space.sample_codes(4, random_state=0)
    bad = codes.copy()
    bad[0, 0] = 7
    with pytest.raises(ArchValueError, match="out of range"):
        space.check_codes(bad)
    bad = codes.copy()
    inactive = np.argwhere(bad[:, : space.n_slots] == -1)
    if len(inactive):
        r, c = inactive[0]
        bad[r, c] = 0
        with pytest.raises(ArchValueError, match="inactive block slots must be -1"):
            space.check_codes(bad)
    with pytest.raises(ArchValueError, match="shape"):
        space.check_codes(codes[:, :5])


# ---------------------------------------------------------- codes: properties
def _space_strategy():
    return st.sampled_from(SPACES).map(get_space)


@settings(max_examples=40, deadline=None)
@given(space=_space_strategy(), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30))
def test_sampled_archs_validate_and_codes_round_trip(space, seed, n):
    archs = space.sample(n, random_state=seed)
    for a in archs:
        assert space.validate(a) == a
    codes = space.to_codes(archs)
    assert codes.dtype == np.int16 and codes.shape == (n, space.n_genes)
    assert (space.to_codes(space.from_codes(codes)) == codes).all()
    assert (space.check_codes(codes) == codes).all()


@settings(max_examples=40, deadline=None)
@given(space=_space_strategy(), seed=st.integers(0, 2**32 - 1), prob=st.floats(0, 1))
def test_mutation_and_crossover_stay_in_the_space(space, seed, prob):
    a = space.sample_codes(20, random_state=seed)
    b = space.sample_codes(20, random_state=seed + 1)
    m = space.mutate_codes(a, mutate_prob=prob, random_state=seed)
    c = space.crossover_codes(a, b, random_state=seed)
    for codes in (m, c):
        space.check_codes(codes)
        for arch in space.from_codes(codes):
            space.validate(arch)


@settings(max_examples=25, deadline=None)
@given(
    ks=st.lists(st.sampled_from([3, 5, 7]), min_size=20, max_size=20),
    e=st.lists(st.sampled_from([3, 4, 6]), min_size=20, max_size=20),
    d=st.lists(st.sampled_from([2, 3, 4]), min_size=5, max_size=5),
    r=st.sampled_from(list(range(128, 225, 4))),
)
def test_any_valid_mbv3_arch_round_trips_on_active_genes(ks, e, d, r):
    space = get_space("ofa_mbv3_w1.2")
    arch = {"ks": ks, "e": e, "d": d, "image_size": r}
    back = space.from_codes(space.to_codes([arch]))[0]
    mask = space.active_mask(space.to_codes([arch]))[0]
    assert back["d"] == d and back["image_size"] == r
    assert [k for k, m in zip(back["ks"], mask) if m] == [k for k, m in zip(ks, mask) if m]
    assert [x for x, m in zip(back["e"], mask) if m] == [x for x, m in zip(e, mask) if m]


@settings(max_examples=40, deadline=None)
@given(
    key=st.sampled_from(["ks", "e", "d"]),
    pos=st.integers(0, 4),
    value=st.one_of(
        st.integers(-5, 20), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=3)
    ),
)
def test_bad_values_always_get_named_errors(key, pos, value):
    space = get_space("ofa_mbv3_w1.2")
    arch = space.sample(1, random_state=0)[0]
    choices = {"ks": (3, 5, 7), "e": (3, 4, 6), "d": (2, 3, 4)}[key]
    if isinstance(value, int) and value in choices:
        return
    arch[key][pos] = value
    with pytest.raises((ArchValueError, ArchTypeError)) as info:
        space.validate(arch)
    assert f"['{key}'][{pos}]" in str(info.value)


def test_sampling_is_reproducible_and_uniform():
    space = get_space("ofa_mbv3_w1.2")
    a = space.sample_codes(2000, random_state=42)
    assert (a == space.sample_codes(2000, random_state=42)).all()
    assert not (a == space.sample_codes(2000, random_state=43)).all()
    d = a[:, space.key_columns["d"]]
    freq = np.bincount(d.ravel(), minlength=3) / d.size
    assert np.allclose(freq, 1 / 3, atol=0.03)


def test_dataframe_input():
    pd = pytest.importorskip("pandas")
    space = get_space("ofa_mbv3_w1.2")
    archs = space.sample(4, random_state=0)
    assert (space.to_codes(pd.DataFrame(archs)) == space.to_codes(archs)).all()


# ------------------------------------------------------------------ block walk
def test_block_walk_mbv3_matches_ofa_lut_key_format():
    space = get_space("ofa_mbv3_w1.2")
    arch = {"ks": [3] * 20, "e": [6] * 20, "d": [4] * 5, "image_size": 224}
    blocks = space.blocks(arch)
    keys = [b.key for b in blocks]
    assert keys[0] == "Conv-input:224x224x3-output:112x112x24"
    assert (
        keys[1]
        == "expanded_conv-input:112x112x24-output:112x112x24-expand:24-kernel:3-stride:1-idskip:1-se:0-hs:0"
    )
    assert (
        keys[2]
        == "expanded_conv-input:112x112x24-output:56x56x32-expand:144-kernel:3-stride:2-idskip:0-se:0-hs:0"
    )
    assert keys[-4:] == [
        "Conv_1-input:7x7x192-output:7x7x1152",
        "AvgPool2D-input:7x7x1152-output:1x1x1152",
        "Conv_2-input:1x1x1152-output:1x1x1536",
        "Logits-input:1x1x1536-output:1000",
    ]
    assert len(blocks) == 2 + 20 + 4
    # stage 3 (48 channels) has SE, stage 4 onwards h_swish
    assert any(b.se and b.out_channels == 48 for b in blocks)
    assert all(b.act == "h_swish" for b in blocks if b.op == "mbconv" and b.out_channels >= 96)


def test_every_walk_key_is_in_the_note10_lut(ofa_reference):
    import yaml

    space = get_space("ofa_mbv3_w1.2", image_sizes=[160, 176, 192, 208, 224])
    for r in space.image_sizes:
        lut = yaml.safe_load((ofa_reference / "note10_lut" / f"{r}_lookup_table.yaml").read_text())
        codes = space.sample_codes(200, random_state=r)
        codes[:, space.key_columns["image_size"][0]] = space.image_sizes.index(r)
        used = {b.key for row in codes for b in space.blocks_from_codes(row)}
        assert used <= set(lut), sorted(used - set(lut))[:3]


def test_unit_table_covers_every_walk_block():
    for name in SPACES:
        space = get_space(name)
        entries = {flat: blk for flat, _, blk in space.unit_entries()}
        assert len(entries) <= space.unit_table_size()
        codes = space.sample_codes(30, random_state=0)
        idx = space.unit_index(codes)
        for row, ids in zip(codes, idx):
            from_table = [entries[i] for i in ids if entries[i] is not None]
            assert from_table == space.blocks_from_codes(row)


def test_resnet_walk_uses_widths_and_stem_skip():
    space = get_space("ofa_resnet50")
    arch = {"d": [2, 0, 0, 0, 0], "e": [0.25] * 18, "w": [2, 2, 2, 2, 2, 2], "image_size": 224}
    blocks = space.blocks(arch)
    names = [b.name for b in blocks]
    assert names[:4] == ["stem_conv", "stem_residual_conv", "stem_conv", "max_pool"]
    bottlenecks = [b for b in blocks if b.op == "bottleneck"]
    assert len(bottlenecks) == sum(space.base_depth_list)
    assert bottlenecks[0].in_shape == (56, 56, 64) and bottlenecks[0].out_shape == (56, 56, 256)
    assert bottlenecks[0].mid_channels == 64
    assert blocks[-1].in_shape == (7, 7, 2048)
    arch["d"][0] = 0
    assert "stem_residual_conv" not in [b.name for b in space.blocks(arch)]


def test_block_is_hashable_and_serialisable():
    b = Block("conv", "Conv", (32, 32, 3), (16, 16, 8), kernel_size=3, stride=2)
    assert b == Block(**b.to_dict())
    assert len({b, Block(**b.to_dict())}) == 1


def test_custom_small_space():
    space = MobileNetSpace(
        "mbv3",
        base_stage_width=[8, 8, 16, 24, 32, 40, 48, 96, 128],
        image_sizes=[16, 24, 32],
        depth_list=[1, 2],
        n_classes=10,
        name="tiny",
    )
    assert space.n_slots == 10
    arch = space.sample(1, random_state=0)[0]
    cfg = space.net_config(arch)
    assert cfg["classifier"]["out_features"] == 10
    with pytest.raises(ValueError, match="family"):
        MobileNetSpace("mbv9")
    assert ResNetSpace().n_slots == 18


# ------------------------------------------------------------ net.config parity
@pytest.mark.parametrize("space_name", list(PARITY))
def test_net_config_equals_ofa(space_name, parity):
    space = get_space(space_name)
    records = parity(PARITY[space_name])["records"]
    with_cfg = [r for r in records if "net_config" in r]
    assert with_cfg, "parity file has no net_config records"
    for r in with_cfg:
        assert space.net_config(r["arch"]) == r["net_config"]


@pytest.mark.parametrize("space_name", list(PARITY))
def test_net_config_parses_back(space_name, parity):
    space = get_space(space_name)
    for r in parity(PARITY[space_name])["records"]:
        cfg = space.net_config(r["arch"])
        back = space.from_net_config(cfg, r["arch"]["image_size"])
        # ResNet's w[0] = 0 and 1 both give 24 stem channels: compare networks, not codes
        assert space.net_config(back) == cfg


def test_resnet_stem_width_alias_is_real():
    space = get_space("ofa_resnet50")
    assert space.mid_input_channel[0] == space.mid_input_channel[1]


def test_from_net_config_rejects_other_spaces(specialized_nets):
    w10 = get_space("ofa_mbv3_w1.0", image_sizes=range(128, 264, 4))
    w12 = get_space("ofa_mbv3_w1.2", image_sizes=range(128, 264, 4))
    px = get_space("ofa_proxyless_w1.3", image_sizes=range(128, 264, 4))
    for name, cfg, r in specialized_nets:
        owners = []
        for space in (w10, w12, px):
            try:
                space.from_net_config(cfg, r)
                owners.append(space.name)
            except NetConfigError as exc:
                assert "does not belong to space" in str(exc)
        assert len(owners) == 1, (name, owners)
    with pytest.raises(NetConfigError, match="expected a dict"):
        w12.from_net_config({"name": "MobileNetV3"}, 224)


@pytest.mark.parametrize("space_name", SPACES)
def test_spaces_pickle_deepcopy_and_compare(space_name):
    import copy
    import pickle

    space = get_space(space_name, image_sizes=[160, 224])
    for other in (pickle.loads(pickle.dumps(space)), copy.deepcopy(space)):
        assert other == space and hash(other) == hash(space)
        assert other.image_sizes == (160, 224)
        codes = space.sample_codes(5, random_state=0)
        assert other.from_codes(codes) == space.from_codes(codes)
    assert space != get_space(space_name)


# ------------------------------------------------------------ OFA's arch form
def test_ofa_form_archs_are_accepted_everywhere():
    from sklearn_ofa import ArchEncoder

    space = get_space("ofa_mbv3_w1.0")
    ours = space.sample(5, random_state=0)
    theirs = [
        {"wid": None, "ks": a["ks"], "e": a["e"], "d": a["d"], "r": [a["image_size"]]} for a in ours
    ]
    assert [space.validate(a) for a in theirs] == ours
    np.testing.assert_array_equal(space.to_codes(theirs), space.to_codes(ours))
    enc = ArchEncoder(space).fit()
    np.testing.assert_array_equal(enc.transform(theirs), enc.transform(ours))
    assert space.describe_arch(theirs[0]) == space.describe_arch(ours[0])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"wid": 1}, r"archs\[0\]\['wid'\] = 1 is not allowed; allowed values: \[None\]"),
        ({"r": [224, 160]}, r"archs\[0\]\['r'\] = \[224, 160\] must hold one image size"),
        ({"image_size": 224}, r"archs\[0\] has both 'r' and 'image_size'"),
        ({"r": [225]}, r"archs\[0\]\['image_size'\] = 225 is not allowed; allowed values"),
    ],
)
def test_bad_ofa_form_archs_name_the_field(change, message):
    space = get_space("ofa_mbv3_w1.0")
    arch = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": [224], "wid": None} | change
    with pytest.raises(ArchValueError, match=message):
        space.to_codes([arch])


def test_describe_arch_lists_the_active_blocks_per_stage():
    space = get_space("ofa_mbv3_w1.2")
    arch = space.sample(1, random_state=7)[0]
    parts = space.describe_arch(arch).split(" | ")
    assert parts[0] == f"r{arch['image_size']} d={'-'.join(map(str, arch['d']))}"
    for stage, depth in enumerate(arch["d"]):
        slots = range(4 * stage, 4 * stage + depth)  # 4 slots per stage in this space
        assert parts[stage + 1] == " ".join(f"k{arch['ks'][i]}e{arch['e'][i]}" for i in slots)
    with pytest.raises(ArchValueError, match="allowed values"):
        space.describe_arch(arch | {"image_size": 1})
