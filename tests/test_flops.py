"""count_flops / count_parameters on real modules, against hand counts, FlopCounterMode and OFA."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sklearn_ofa.efficiency import FlopsResult, count_flops, count_parameters
from sklearn_ofa.nets import build_net
from sklearn_ofa.spaces import get_space

PARITY = {
    "ofa_mbv3_w1.2": "mbv3_w1.2",
    "ofa_proxyless_w1.3": "proxyless_w1.3",
    "ofa_resnet50": "resnet50",
}


def _out_len(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _torch_flops(model, x):
    model = model.eval()
    with FlopCounterMode(display=False) as fc, torch.inference_mode():
        model(x)
    return fc.get_total_flops()


# ------------------------------------------------------------------ conv / linear
@pytest.mark.parametrize(
    "dims,cin,cout,k,s,p,d,g",
    [
        (1, 6, 12, 5, 2, 1, 1, 3),
        (2, 8, 16, 3, 1, 1, 1, 1),
        (2, 8, 8, 5, 2, 2, 1, 8),  # depthwise
        (2, 6, 9, 3, 1, 2, 2, 3),  # dilated, grouped
        (3, 4, 6, 3, 2, 0, 1, 2),
    ],
)
def test_conv_macs_match_the_formula_both_conventions_and_flop_counter_mode(
    dims, cin, cout, k, s, p, d, g
):
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims](cin, cout, k, s, p, d, g)
    size = 11
    out_len = _out_len(size, k, s, p, d)
    expected = cout * out_len**dims * (cin // g) * k**dims
    shape = (cin,) + (size,) * dims
    full = count_flops(conv, shape)
    ofa = count_flops(conv, shape, convention="ofa")
    assert full.macs == ofa.macs == expected
    assert full.flops == ofa.flops == 2 * expected
    assert _torch_flops(conv, torch.zeros((1,) + shape)) == 2 * expected


def test_linear_counts_tokens_in_full_but_once_in_ofa_convention():
    lin = nn.Linear(16, 8)
    assert count_flops(lin, (16,)).macs == 128
    res = count_flops(lin, (5, 16))  # 5 tokens per sample
    assert res.macs == 5 * 128 and res.flops == 2 * 5 * 128
    assert count_flops(lin, (5, 16), convention="ofa").macs == 128  # OFA: in * out
    assert _torch_flops(lin, torch.zeros(1, 5, 16)) == 2 * 5 * 128


# ------------------------------------------------------------------ other operators
class _SE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.reduce = nn.Conv2d(c, 4, 1)
        self.expand = nn.Conv2d(4, c, 1)

    def forward(self, x):
        y = x.mean(dim=(2, 3), keepdim=True)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(y))))


class _Block(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.Hardswish()
        self.relu6 = nn.ReLU6()
        self.se = _SE(c)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(3, stride=1)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        y = self.relu6(self.act(self.bn(x)))
        y = self.se(y) + x  # residual add, functional
        y = self.avg(self.pool(y))
        return self.gap(y)


def test_elementwise_pooling_se_and_residual_costs_are_counted_by_the_documented_rules():
    c, h = 8, 10
    n = c * h * h
    res = count_flops(_Block(c), (c, h, h))
    macs_se = c * 4 + 4 * c  # two 1x1 convs on the pooled vector
    assert res.macs == macs_se
    pooled = c * 5 * 5  # after MaxPool2d(2)
    avg_out = c * 3 * 3  # AvgPool2d(3, stride 1) on 5x5
    expected = (
        2 * n  # batch norm: scale and shift
        + 4 * n  # hardswish
        + 1 * n  # relu6
        + (n + c)  # SE mean: sums then divides
        + 2 * macs_se
        + 4  # relu on the reduced vector
        + 3 * c  # hardsigmoid
        + n  # SE scaling multiply
        + n  # residual add
        + pooled * 4  # max pool, 2x2 window per output
        + avg_out * 9  # avg pool, 3x3 window per output
        + (avg_out + c)  # adaptive average pool to 1x1
    )
    assert res.flops == expected
    assert res.uncounted_ops == {}
    by = res.by_operator
    assert by["batch_norm"] == (0, 2 * n) and by["hardswish"] == (0, 4 * n)
    assert res.by_module["se"].macs == macs_se
    assert res.by_module["bn"].flops == 2 * n
    # the functional residual add happens in the root's forward: root only
    assert res.by_module[""].flops == expected
    assert _torch_flops(_Block(c), torch.zeros(1, c, h, h)) == 2 * res.macs


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 3, 3, 3))
        self.proj = nn.Parameter(torch.randn(6, 4))

    def forward(self, x):
        y = F.conv2d(x, self.w, padding=1)  # 6 x 8 x 8 outputs, 27 MACs each
        z = torch.matmul(y.flatten(2).transpose(1, 2), self.proj)  # (64, 6) @ (6, 4)
        return torch.cumsum(z, dim=1)  # no cost rule: reported


def test_functional_ops_are_counted_in_full_convention_and_unknown_ops_are_reported():
    res = count_flops(_Functional(), (3, 8, 8))
    assert res.macs == 6 * 64 * 27 + 64 * 6 * 4
    assert res.uncounted_ops == {"cumsum": 1}
    assert "cumsum" in str(res)
    assert _torch_flops(_Functional(), torch.zeros(1, 3, 8, 8)) == 2 * res.macs
    # OFA's convention only sees Conv/Linear modules
    assert count_flops(_Functional(), (3, 8, 8), convention="ofa").macs == 0


# ------------------------------------------------------------------ batch, inputs, table
def test_batch_handling_is_per_sample_by_default():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    one = count_flops(net, (3, 8, 8))
    three = count_flops(net, (3, 8, 8), batch_size=3)
    assert (three.macs, three.flops, three.batch_size) == (one.macs, one.flops, 3)
    total = count_flops(net, (3, 8, 8), batch_size=3, per_sample=False)
    assert (total.macs, total.flops) == (3 * one.macs, 3 * one.flops)
    assert total.by_module["0"].macs == 3 * one.by_module["0"].macs
    from_tensor = count_flops(net, torch.zeros(3, 3, 8, 8))
    assert (from_tensor.macs, from_tensor.batch_size, from_tensor.input_shape) == (
        one.macs,
        3,
        (3, 8, 8),
    )
    ofa_total = count_flops(net, (3, 8, 8), batch_size=3, per_sample=False, convention="ofa")
    conv_macs = 4 * 36 * 27
    assert ofa_total.macs == 3 * conv_macs + 144 * 2  # OFA counts a linear layer once


def test_int_input_shape_means_three_channel_square_images():
    conv = nn.Conv2d(3, 2, 1)
    assert count_flops(conv, 5).macs == count_flops(conv, (3, 5, 5)).macs == 2 * 3 * 25


def test_table_is_hierarchical_and_inclusive():
    net = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)), nn.ReLU())
    res = count_flops(net, (3, 6, 6))
    assert isinstance(res, FlopsResult)
    rows = res.by_module
    assert rows[""].macs == rows["0"].macs == rows["0.0"].macs == 4 * 16 * 27
    assert rows["0"].flops == rows["0.0"].flops + rows["0.1"].flops
    assert rows[""].params == count_parameters(net) == rows["0"].params
    table = res.table()
    assert table.splitlines()[0].startswith("| module") and "BatchNorm2d" in table
    assert "BatchNorm2d" not in res.table(max_depth=1)
    d = res.to_dict()
    assert d["macs"] == res.macs and len(d["by_module"]) == len(rows)


# ------------------------------------------------------------------ no side effects
def _snapshot(model):
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        [(n, m.training) for n, m in model.named_modules()],
        [
            (n, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._buffers))
            for n, m in model.named_modules()
        ],
    )


@pytest.mark.parametrize("convention", ["full", "ofa"])
def test_model_is_not_changed_and_no_hooks_are_left(convention):
    from torch.nn.modules import module as module_mod

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5))
    net.train()
    net[1].eval()  # mixed train/eval flags must come back as they were
    before = _snapshot(net)
    n_global = (len(module_mod._global_forward_hooks), len(module_mod._global_forward_pre_hooks))
    count_flops(net, (3, 8, 8), convention=convention, batch_size=2)
    after = _snapshot(net)
    assert before[1] == after[1] and before[2] == after[2]
    assert before[0].keys() == after[0].keys()
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])  # BN stats untouched
    assert (
        len(module_mod._global_forward_hooks),
        len(module_mod._global_forward_pre_hooks),
    ) == n_global


def test_errors_name_the_field_and_allowed_values():
    conv = nn.Conv2d(3, 2, 1)
    with pytest.raises(
        ValueError, match=r"convention = 'thop' is not allowed; allowed values: \['full', 'ofa'\]"
    ):
        count_flops(conv, (3, 4, 4), convention="thop")
    with pytest.raises(ValueError, match=r"input_shape = \(3, 0, 4\) is not allowed"):
        count_flops(conv, (3, 0, 4))
    with pytest.raises(
        ValueError, match=r"batch_size = 0 is not allowed; allowed values: an int >= 1"
    ):
        count_flops(conv, (3, 4, 4), batch_size=0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        count_flops("net", (3, 4, 4))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        count_parameters(None)


def test_count_parameters_trainable_only_and_shared_weights():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, nn.ReLU(), lin, nn.BatchNorm1d(4))
    assert count_parameters(net) == 20 + 8  # shared linear counted once
    net[3].weight.requires_grad_(False)
    assert count_parameters(net, trainable_only=True) == 20 + 4
    assert count_flops(net, (4,)).macs == 2 * 16  # but it runs twice


# ------------------------------------------------------------------ OFA parity
def test_specialized_nets_match_ofa_count_net_flops_and_params(specialized_nets, parity):
    ref = parity("specialized")
    assert len(specialized_nets) == len(ref)
    for name, cfg, image_size in specialized_nets:
        net = build_net(cfg)  # CPU: a real forward is faster here than meta tensors
        res = count_flops(net, (3, image_size, image_size), convention="ofa")
        rec = ref[name]
        assert res.macs == round(rec["flops_given_config_M"] * 1e6), name
        assert res.macs_float32 == rec["count_net_flops"], name
        assert count_parameters(net) == rec["params"], name
        if name.startswith("flops-389M"):
            assert (res.macs, res.macs_float32, image_size) == (389_487_856, 389_487_872.0, 224)


def _check_records(space_name, records):
    space = get_space(space_name)
    # shapes are all counting needs: ResNets count faster on the meta device (no weights),
    # MobileNets on the CPU (their many elementwise ops are slow as meta-tensor references)
    device = "meta" if space_name == "ofa_resnet50" else "cpu"
    for rec in records:
        with torch.device(device):
            net = space.build(rec["arch"])
        res = count_flops(net, rec["arch"]["image_size"], convention="ofa")
        assert res.macs == round(rec["flops_given_config_M"] * 1e6), rec["arch"]
        assert res.macs_float32 == rec["count_net_flops"], rec["arch"]
        assert count_parameters(net) == rec["params"], rec["arch"]


@pytest.mark.parametrize("space_name", list(PARITY))
def test_parity_records_subset(space_name, parity):
    """29 of the 200 records per space are built and counted (FLOPsModel covers all 200)."""
    _check_records(space_name, parity(PARITY[space_name])["records"][::7])


@pytest.mark.slow
@pytest.mark.parametrize("space_name", list(PARITY))
def test_parity_records_more(space_name, parity):
    """29 further records per space."""
    _check_records(space_name, parity(PARITY[space_name])["records"][3::7])


@pytest.mark.parametrize("space_name", list(PARITY))
def test_full_convention_agrees_with_flop_counter_mode_on_real_subnets(space_name):
    space = get_space(space_name)
    arch = space.sample(1, random_state=5)[0]
    arch["image_size"] = min(space.image_sizes)
    net = space.build(arch)
    full = count_flops(net, arch["image_size"])
    ofa = count_flops(net, arch["image_size"], convention="ofa")
    x = torch.randn(1, 3, arch["image_size"], arch["image_size"])
    assert _torch_flops(net, x) == 2 * full.macs
    assert full.macs == ofa.macs  # CNNs: only conv + linear carry MACs
    assert full.flops > 2 * full.macs  # BN, activations, pooling, adds come on top
    assert full.uncounted_ops == {}


def test_ofa_four_element_input_shape_means_batch_one():
    from sklearn_ofa.efficiency import get_net_info

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    one = count_flops(net, (3, 8, 8))
    for conv in ("full", "ofa"):
        res = count_flops(net, (1, 3, 8, 8), convention=conv)
        assert (res.macs, res.input_shape, res.batch_size) == (4 * 36 * 27 + 144 * 2, (3, 8, 8), 1)
    assert count_flops(net, [1, 3, 8, 8], batch_size=2).macs == one.macs
    info = get_net_info(net, (1, 3, 8, 8), warmup=0, repeats=1)
    assert info.input_shape == (3, 8, 8) and info.latency["cpu"].settings["input_shape"] == [
        3,
        8,
        8,
    ]
    with pytest.raises(
        ValueError, match=r"input_shape = \(2, 3, 8, 8\) is not allowed.*batch_size=2"
    ):
        count_flops(net, (2, 3, 8, 8))
    # a net with 3-d layers: 4 elements are one (C, D, H, W) sample
    conv3d = nn.Conv3d(1, 2, 3)
    assert count_flops(conv3d, (1, 5, 5, 5)).macs == 2 * 27 * 27
