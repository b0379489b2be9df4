"""FLOPsModel: analytic MACs from the block walk against OFA's figures and the built modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sklearn_ofa.efficiency import FLOPsModel
from sklearn_ofa.efficiency.flops_model import block_macs
from sklearn_ofa.nets import build_block
from sklearn_ofa.spaces import get_space

PARITY = {
    "ofa_mbv3_w1.2": "mbv3_w1.2",
    "ofa_proxyless_w1.3": "proxyless_w1.3",
    "ofa_resnet50": "resnet50",
}


@pytest.mark.parametrize("space_name", list(PARITY))
def test_equals_ofa_count_flops_given_config_for_every_record(space_name, parity):
    recs = parity(PARITY[space_name])["records"]
    model = FLOPsModel(space_name).fit()
    pred = model.predict([r["arch"] for r in recs])
    ref = np.array([r["flops_given_config_M"] for r in recs])
    np.testing.assert_allclose(pred, ref, rtol=1e-9)
    codes = model.space_.to_codes([r["arch"] for r in recs])
    np.testing.assert_array_equal(model.predict(codes), pred)
    np.testing.assert_array_equal(model.predict_flops(codes), 2 * model.predict_macs(codes))


@pytest.mark.parametrize("space_name", list(PARITY))
def test_ofa_hook_count_is_the_float32_rounding_of_the_exact_count(space_name, parity):
    """OFA's count_net_flops accumulates per-layer counts in float32 tensors; the exact
    integer count of this model rounds to within float32 precision of it."""
    recs = parity(PARITY[space_name])["records"]
    model = FLOPsModel(space_name, unit="1").fit()
    exact = model.predict([r["arch"] for r in recs])
    hook = np.array([r["count_net_flops"] for r in recs])
    assert np.all(
        np.abs(exact - hook) <= 2 * np.spacing(hook.astype(np.float32)).astype(np.float64) * 8
    )


def _hook_macs(module: torch.nn.Module, x: torch.Tensor) -> int:
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, torch.nn.Conv2d):
            total += m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1] * out.numel()
        elif isinstance(m, torch.nn.Linear):
            total += m.in_features * m.out_features * (out.numel() // m.out_features)

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    try:
        with torch.inference_mode():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return total


@pytest.mark.parametrize("space_name", list(PARITY))
def test_block_macs_equal_a_hook_count_on_the_real_block(space_name):
    space = get_space(space_name)
    arch = space.sample(1, random_state=11)[0]
    for blk in space.blocks(arch):
        h, w, c = blk.in_shape
        assert block_macs(blk) == _hook_macs(build_block(blk), torch.randn(1, c, h, w)), blk.key


def test_errors_and_api():
    with pytest.raises(
        ValueError, match=r"The 'unit' parameter of FLOPsModel must be a str among .*Got 'T'"
    ):
        FLOPsModel(unit="T").fit()
    model = FLOPsModel()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        model.predict([])
    assert model.fit() is model
    arch = get_space("ofa_mbv3_w1.2").sample(1, random_state=0)[0]
    assert model.get_efficiency(arch) == pytest.approx(float(model.predict([arch])[0]))


def _space_of(cfg, image_size):
    for name in ("ofa_mbv3_w1.2", "ofa_mbv3_w1.0", "ofa_proxyless_w1.3"):
        space = get_space(name)
        if image_size not in space.image_sizes:  # e.g. 236 and 260: extend the resolutions
            space = get_space(name, image_sizes=sorted({*space.image_sizes, image_size}))
        try:
            return space, space.from_net_config(cfg, image_size)
        except ValueError:
            continue
    return None, None


def test_specialized_nets_equal_ofa_figures_and_the_module_counter(specialized_nets, parity):
    from sklearn_ofa.efficiency import count_flops
    from sklearn_ofa.nets import build_net

    ref = parity("specialized")
    models: dict = {}
    n_checked = 0
    for name, cfg, image_size in specialized_nets:
        space, arch = _space_of(cfg, image_size)
        if arch is None:
            continue
        if space not in models:
            models[space] = FLOPsModel(space, unit="1").fit()
        model = models[space]
        macs = model.predict([arch])[0]
        assert macs == pytest.approx(ref[name]["flops_given_config_M"] * 1e6, rel=1e-12, abs=0.5), (
            name
        )
        net = build_net(cfg)
        assert macs == count_flops(net, image_size, convention="ofa").macs, name
        n_checked += 1
    assert n_checked == len(specialized_nets)  # every specialized net is in an OFA space


def test_units_inputs_and_clone():
    import pandas as pd
    from sklearn.base import clone

    space = get_space("ofa_resnet50")
    archs = space.sample(5, random_state=2)
    macs = FLOPsModel(space, unit="1").fit().predict(archs)
    for unit, div in (("K", 1e3), ("M", 1e6), ("G", 1e9)):
        np.testing.assert_allclose(
            FLOPsModel(space, unit=unit).fit().predict(archs), macs / div, rtol=1e-15
        )
    model = FLOPsModel(space).fit()
    np.testing.assert_array_equal(model.predict(pd.DataFrame(archs)), model.predict(archs))
    np.testing.assert_array_equal(model.predict(archs[0]), model.predict(archs[:1]))
    assert model.predict(space.to_codes([])).shape == (0,)
    c = clone(model)
    assert not hasattr(c, "macs_table_") and c.get_params() == model.get_params()
    import pickle

    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(archs), model.predict(archs))
    bigger = [dict(a, image_size=256) for a in archs]
    smaller = [dict(a, image_size=128) for a in archs]
    assert np.all(model.predict(bigger) > model.predict(smaller))


@pytest.mark.parametrize("space_name", [*PARITY, "ofa_mbv3_w1.0", "digits_mbv3"])
def test_predict_equals_count_flops_on_built_subnets(space_name):
    from sklearn_ofa.efficiency import count_flops

    space = get_space(space_name)
    archs = space.sample(3, random_state=21)
    model = FLOPsModel(space, unit="1").fit()
    pred = model.predict_macs(archs)
    device = "meta" if space_name == "ofa_resnet50" else "cpu"
    for arch, macs in zip(archs, pred):
        with torch.device(device):
            net = space.build(arch)
        assert macs == count_flops(net, arch["image_size"], convention="ofa").macs, arch


@pytest.mark.parametrize("space_name", [*PARITY, "digits_mbv3"])
def test_unit_index_points_at_the_entry_of_each_units_gene_values(space_name):
    model = FLOPsModel(space_name).fit()
    space = model.space_
    entries = {flat: (u, values) for flat, u, values, _ in space.unit_entries(with_values=True)}
    codes = space.sample_codes(300, random_state=3)
    idx = space.unit_index(codes)
    assert idx.shape == (len(codes), len(space.units))
    for row, ids in zip(codes, idx):
        for u, (unit, flat) in enumerate(zip(space.units, ids)):
            assert entries[flat] == (u, space.decode_row(row, unit.columns))
    np.testing.assert_array_equal(model.predict_macs(codes), model.macs_table_[idx].sum(1))
