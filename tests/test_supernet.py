"""The weight-sharing digits supernet: elastic dimensions and export of static subnets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sklearn_ofa.exceptions import ArchValueError
from sklearn_ofa.nets import build_net
from sklearn_ofa.nets.elastic import ElasticMobileNetV3
from sklearn_ofa.spaces import get_space


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    net = ElasticMobileNetV3("digits_mbv3")
    # non-trivial BatchNorm statistics and affine parameters, so that copying them matters
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
                m.weight.copy_(1 + 0.2 * torch.randn(m.num_features, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=gen))
    return net.eval()


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_space_is_registered_and_small():
    space = get_space("digits_mbv3")
    assert space.n_classes == 10
    assert space.image_sizes == (12, 16, 20, 24, 28, 32)
    assert space.depth_list == (2, 3, 4) and space.ks_list == (3, 5, 7)
    assert len(set(space.stage_widths)) == len(space.stage_widths)


@pytest.mark.parametrize("seed", range(6))
def test_exported_subnet_matches_supernet_in_eval_mode(supernet, seed):
    arch = supernet.sample_active_subnet(random_state=seed)
    assert supernet.get_active_arch() == arch
    static = supernet.get_active_subnet()
    assert not static.training
    r = arch["image_size"]
    x = torch.randn(4, 3, r, r, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected, got = supernet(x), static(x)
    assert got.shape == (4, 10)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    # the export has exactly the architecture the space describes
    reference = build_net(supernet.space.net_config(arch))
    assert _n_params(static) == _n_params(reference)
    assert [tuple(t.shape) for t in static.state_dict().values()] == [
        tuple(t.shape) for t in reference.state_dict().values()
    ]


def test_extreme_subnets_match_and_differ_in_size(supernet):
    sizes = []
    for setter in (supernet.set_max_net, supernet.set_min_net):
        setter()
        static = supernet.get_active_subnet()
        r = supernet.active_image_size
        x = torch.randn(3, 3, r, r, generator=torch.Generator().manual_seed(7))
        with torch.no_grad():
            torch.testing.assert_close(static(x), supernet(x), atol=1e-5, rtol=1e-4)
        sizes.append(_n_params(static))
    assert sizes[0] == _n_params(supernet)  # the largest subnet holds every weight
    assert sizes[1] < sizes[0] / 3


def test_kernel_is_centre_crop_and_channels_are_leading_slice(supernet):
    supernet.set_active_subnet(ks=3, e=3, d=2, image_size=16)
    static = supernet.get_active_subnet()
    big = supernet.blocks[1].conv.depth_conv.conv.weight  # slot 0: 7x7, max channels
    small = static.blocks[1].conv.depth_conv.conv.weight
    assert small.shape[-1] == 3
    torch.testing.assert_close(small, big[: small.shape[0], :, 2:5, 2:5])
    pw = static.blocks[1].conv.point_linear.conv.weight
    torch.testing.assert_close(
        pw, supernet.blocks[1].conv.point_linear.conv.weight[:, : pw.shape[1]]
    )


def test_depth_skips_trailing_blocks(supernet):
    space = supernet.space
    supernet.set_active_subnet(ks=5, e=4, d=[2, 3, 4, 2, 3], image_size=20)
    static = supernet.get_active_subnet()
    assert len(static.blocks) == 1 + 2 + 3 + 4 + 2 + 3
    # the second block of stage 1 in the static net is slot 5 (stage 0 has 4 slots) of the supernet
    w = supernet.blocks[1 + 5].conv.inverted_bottleneck.conv.weight
    got = static.blocks[1 + 2 + 1].conv.inverted_bottleneck.conv.weight
    torch.testing.assert_close(got, w[: got.shape[0]])
    # changing a skipped block's weights does not change the output
    x = torch.randn(2, 3, 20, 20, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        before = supernet(x)
        skipped = supernet.blocks[1 + 3].conv.point_linear.conv.weight  # stage 0, slot 3
        saved = skipped.clone()
        skipped.add_(1.0)
        after = supernet(x)
        skipped.copy_(saved)
    torch.testing.assert_close(before, after)
    assert space.n_slots == 20


def test_train_mode_forward_updates_only_active_bn_statistics():
    torch.manual_seed(0)
    net = ElasticMobileNetV3("digits_mbv3").train()
    net.set_active_subnet(ks=3, e=3, d=2, image_size=12)
    bn = net.blocks[1].conv.inverted_bottleneck.bn
    before = bn.running_mean.clone()
    with torch.no_grad():
        net(torch.randn(8, 3, 12, 12))
    active = net.blocks[1].conv.active_mid_channels
    assert active < bn.num_features
    assert not torch.equal(bn.running_mean[:active], before[:active])
    assert torch.equal(bn.running_mean[active:], before[active:])


def test_gradients_reach_only_active_weights():
    torch.manual_seed(0)
    net = ElasticMobileNetV3("digits_mbv3").train()
    net.set_active_subnet(ks=3, e=3, d=2, image_size=16)
    net(torch.randn(4, 3, 16, 16)).sum().backward()
    g = net.blocks[1].conv.depth_conv.conv.weight.grad
    mid = net.blocks[1].conv.active_mid_channels
    assert g[:mid, :, 2:5, 2:5].abs().sum() > 0
    assert g[:, :, :2].abs().sum() == 0 and g[mid:].abs().sum() == 0
    assert net.blocks[4].conv.depth_conv.conv.weight.grad is None  # skipped slot


def test_sample_is_seeded_and_valid(supernet):
    a = supernet.sample_active_subnet(random_state=11)
    b = supernet.sample_active_subnet(random_state=11)
    assert a == b
    assert supernet.space.validate(a) == a
    supernet.set_arch(a)
    assert supernet.get_active_net_config() == supernet.space.net_config(a)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"ks": 4}, "ks"),
        ({"e": [3] * 19}, "e"),
        ({"d": 5}, "d"),
        ({"image_size": 13}, "image_size"),
    ],
)
def test_bad_settings_name_the_field(supernet, kwargs, field):
    with pytest.raises(ArchValueError, match=field):
        supernet.set_active_subnet(**kwargs)


def test_rejects_non_mbv3_space():
    with pytest.raises(ValueError, match="family='mbv3'"):
        ElasticMobileNetV3("ofa_proxyless_w1.3")


def test_state_dict_round_trip_reproduces_outputs(supernet, tmp_path):
    path = tmp_path / "supernet.pt"
    torch.save(supernet.state_dict(), path)
    other = ElasticMobileNetV3("digits_mbv3").eval()
    other.load_state_dict(torch.load(path))
    arch = supernet.sample_active_subnet(random_state=5)
    other.set_arch(arch)
    x = torch.randn(2, 3, arch["image_size"], arch["image_size"])
    with torch.no_grad():
        assert np.allclose(other(x).numpy(), supernet(x).numpy())


def test_bn_recalibration_of_sliced_layers_matches_the_static_subnet():
    from sklearn_ofa.accuracy.evaluators import set_running_statistics

    torch.manual_seed(0)
    net = ElasticMobileNetV3("digits_mbv3").eval()
    arch = {**net.space.sample(1, random_state=4)[0], "image_size": 16}
    arch["e"] = [3] * 20  # sliced middle channels everywhere
    net.set_arch(arch)
    static = net.get_active_subnet()
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(6, 3, 16, 16, generator=gen) * 2 + 1 for _ in range(3)]
    set_running_statistics(net, batches)  # cumulative average (momentum=None)
    set_running_statistics(static, batches)
    x = torch.randn(4, 3, 16, 16, generator=gen)
    with torch.no_grad():
        torch.testing.assert_close(net(x), static(x), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(
        net.get_active_subnet().blocks[1].conv.inverted_bottleneck.bn.running_var,
        static.blocks[1].conv.inverted_bottleneck.bn.running_var,
    )
