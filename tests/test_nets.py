"""Static subnets: parameter parity with OFA, specialized nets, block modules."""

from __future__ import annotations

import json

import pytest
import torch

from sklearn_ofa.exceptions import NetConfigError
from sklearn_ofa.nets import build_block, build_net
from sklearn_ofa.spaces import get_space

PARITY = {
    "ofa_mbv3_w1.2": "mbv3_w1.2",
    "ofa_proxyless_w1.3": "proxyless_w1.3",
    "ofa_resnet50": "resnet50",
}


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("space_name", list(PARITY))
def test_parameter_count_equals_ofa_for_every_parity_record(space_name, parity):
    space = get_space(space_name)
    for r in parity(PARITY[space_name])["records"]:
        assert n_params(space.build(r["arch"])) == r["params"], r["arch"]


def test_specialized_nets_build_run_and_parse_back(specialized_nets, parity):
    expected = parity("specialized")
    spaces = [
        get_space(n, image_sizes=range(128, 264, 4))
        for n in ("ofa_mbv3_w1.0", "ofa_mbv3_w1.2", "ofa_proxyless_w1.3")
    ]
    for name, cfg, r in specialized_nets:
        net = build_net(json.loads(json.dumps(cfg)))
        assert n_params(net) == expected[name]["params"], name
        with torch.inference_mode():
            out = net(torch.randn(1, 3, r, r))
        assert out.shape == (1, 1000)
        for space in spaces:
            try:
                arch = space.from_net_config(cfg, r)
            except ValueError:
                continue
            mine = space.net_config(arch)
            old = [b.get("conv") or b.get("mobile_inverted_conv") for b in cfg["blocks"]]
            new = [b["conv"] for b in mine["blocks"]]
            assert len(old) == len(new), name
            for o, n in zip(old, new):
                for k in ("in_channels", "out_channels", "kernel_size", "stride"):
                    assert o[k] == n[k], (name, k)
                mid = o.get("mid_channels") or round(o["in_channels"] * o["expand_ratio"])
                assert mid == n["mid_channels"], name
                assert bool(o.get("use_se")) == n["use_se"] and o["act_func"] == n["act_func"]
            shortcut_old = [b["shortcut"] is not None for b in cfg["blocks"]]
            shortcut_new = [b["shortcut"] is not None for b in mine["blocks"]]
            assert shortcut_old == shortcut_new, name
            assert n_params(space.build(arch)) == expected[name]["params"]


def test_proxylessnas_configs_with_zero_layers_build(ofa_reference):
    for path in sorted((ofa_reference / "proxylessnas").glob("*.config")):
        net = build_net(json.loads(path.read_text()))
        with torch.inference_mode():
            assert net(torch.randn(1, 3, 96, 96)).shape == (1, 1000), path.name


def test_ofa_state_dict_names():
    space = get_space("ofa_mbv3_w1.2")
    arch = {"ks": [7] * 20, "e": [6] * 20, "d": [4] * 5, "image_size": 224}
    keys = set(space.build(arch).state_dict())
    for k in (
        "first_conv.conv.weight",
        "first_conv.bn.running_mean",
        "blocks.0.conv.depth_conv.conv.weight",
        "blocks.1.conv.inverted_bottleneck.conv.weight",
        "blocks.5.conv.depth_conv.se.fc.reduce.weight",
        "blocks.5.conv.depth_conv.se.fc.expand.bias",
        "blocks.1.conv.point_linear.bn.weight",
        "final_expand_layer.conv.weight",
        "feature_mix_layer.conv.weight",
        "classifier.linear.weight",
    ):
        assert k in keys, k


@pytest.mark.parametrize("space_name", ["ofa_mbv3_w1.2", "ofa_proxyless_w1.3", "ofa_resnet50"])
def test_blocks_chain_to_the_whole_network(space_name):
    """Running the walk's blocks one after another equals the network's shapes."""
    space = get_space(space_name, image_sizes=[128])
    arch = space.sample(1, random_state=5)[0]
    blocks = space.blocks(arch)
    x = torch.randn(1, 3, 128, 128)
    with torch.inference_mode():
        for blk in blocks:
            h, w, c = blk.in_shape
            assert tuple(x.shape[1:]) == (c, h, w), blk.key
            y = build_block(blk)(x)
            if len(blk.out_shape) == 3:
                oh, ow, oc = blk.out_shape
                assert tuple(y.shape[1:]) == (oc, oh, ow), blk.key
            else:
                assert tuple(y.shape[1:]) == tuple(blk.out_shape)
            x = y
    n_walk = sum(n_params(build_block(b)) for b in blocks)
    assert n_walk == n_params(space.build(arch))


def test_build_net_errors():
    with pytest.raises(NetConfigError, match="allowed values"):
        build_net({"name": "VGG"})
    with pytest.raises(NetConfigError, match="missing 'blocks'"):
        build_net({"name": "MobileNetV3", "first_conv": {}})
    cfg = get_space("ofa_mbv3_w1.2").net_config(
        get_space("ofa_mbv3_w1.2").sample(1, random_state=0)[0]
    )
    cfg["blocks"][2]["conv"]["name"] = "FancyConv"
    with pytest.raises(NetConfigError, match=r"blocks\[2\]\.conv: layer name 'FancyConv'"):
        build_net(cfg)


def test_bn_settings_follow_the_config():
    space = get_space("ofa_proxyless_w1.3")
    net = space.build(space.sample(1, random_state=0)[0])
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.eps == 1e-3 for m in bns)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("kernel_size", 4, "kernel_size = 4 .* odd"),
        ("kernel_size", "3", "kernel_size = '3' .* positive int"),
        ("out_channels", -3, "out_channels = -3"),
        ("stride", 0, "stride = 0"),
        ("expand_ratio", float("nan"), "expand_ratio = nan"),
        ("in_channels", True, "in_channels = True"),
    ],
)
def test_net_config_numbers_are_checked(field, value, match):
    space = get_space("ofa_mbv3_w1.2")
    cfg = space.net_config(space.sample(1, random_state=0)[0])
    cfg["blocks"][1]["conv"][field] = value
    with pytest.raises(NetConfigError, match=r"blocks\[1\]\.conv \(MBConvLayer\): " + match):
        build_net(cfg)
