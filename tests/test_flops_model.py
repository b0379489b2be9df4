"""FLOPsModel: analytic MACs from the block walk against OFA's figures and the built modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sklearn_ofa.efficiency import FLOPsModel
from sklearn_ofa.efficiency.flops_model import block_macs
from sklearn_ofa.nets import build_block
from sklearn_ofa.spaces import get_space

PARITY = {"ofa_mbv3_w1.2": "mbv3_w1.2", "ofa_proxyless_w1.3": "proxyless_w1.3", "ofa_resnet50": "resnet50"}


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
    assert np.all(np.abs(exact - hook) <= 2 * np.spacing(hook.astype(np.float32)).astype(np.float64) * 8)


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
    with pytest.raises(ValueError, match=r"unit = 'G' is not allowed; allowed values: \['M', '1'\]"):
        FLOPsModel(unit="G").fit()
    model = FLOPsModel()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        model.predict([])
    assert model.fit() is model
    arch = get_space("ofa_mbv3_w1.2").sample(1, random_state=0)[0]
    assert model.get_efficiency(arch) == pytest.approx(float(model.predict([arch])[0]))
