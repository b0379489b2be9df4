"""measure_latency, fold_batchnorm and get_net_info on real small modules (no timing thresholds)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_ofa.efficiency import (
    LatencyResult,
    count_flops,
    count_parameters,
    fold_batchnorm,
    get_net_info,
    measure_latency,
)
from sklearn_ofa.spaces import get_space


def _mlp(n_layers: int, width: int = 256) -> nn.Module:
    return nn.Sequential(*[nn.Linear(width, width) for _ in range(n_layers)])


def test_statistics_are_consistent_and_repeats_are_honoured():
    res = measure_latency(nn.Conv2d(3, 8, 3), (3, 16, 16), warmup=2, repeats=7)
    assert isinstance(res, LatencyResult)
    assert res.count == len(res.samples_ms) == 7 == res.settings["repeats"]
    s = res.samples_ms
    assert np.all(s > 0)
    assert s.min() == res.min_ms <= res.median_ms <= s.max()
    assert s.min() <= res.mean_ms <= s.max()
    assert res.std_ms == pytest.approx(np.std(s, ddof=1))
    assert 0 <= res.iqr_ms <= s.max() - s.min()
    d = res.to_dict()
    assert d["samples_ms"] == list(s) and d["settings"]["warmup"] == 2
    assert d["settings"]["input_shape"] == [3, 16, 16] and d["settings"]["batch_size"] == 1
    assert "median" in str(res) and "cpu" in str(res)


def test_min_run_time_keeps_measuring_past_repeats():
    t0 = time.perf_counter()
    res = measure_latency(nn.ReLU(), (4,), warmup=0, repeats=3, min_run_time=0.2)
    elapsed = time.perf_counter() - t0
    assert elapsed >= 0.2
    assert res.count > 3  # a ReLU on 4 numbers is far faster than 0.2 s / 3
    assert res.samples_ms.sum() <= elapsed * 1e3
    assert res.settings["min_run_time"] == 0.2


def test_four_times_the_work_measures_slower():
    x_shape = (256,)
    small, big = _mlp(2), _mlp(8)
    # interleave two rounds so that a burst of machine noise hits both
    rounds = [
        (
            measure_latency(small, x_shape, batch_size=64, warmup=3, repeats=15).median_ms,
            measure_latency(big, x_shape, batch_size=64, warmup=3, repeats=15).median_ms,
        )
        for _ in range(2)
    ]
    small_ms = min(r[0] for r in rounds)
    big_ms = min(r[1] for r in rounds)
    assert big_ms > small_ms


def test_threads_are_set_and_restored_even_on_error():
    before = torch.get_num_threads()
    res = measure_latency(nn.Linear(8, 8), (8,), warmup=1, repeats=2, num_threads=2)
    assert res.settings["num_threads"] == 2
    assert torch.get_num_threads() == before

    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure_latency(Boom(), (8,), num_threads=2)
    assert torch.get_num_threads() == before
    kept = measure_latency(nn.Linear(8, 8), (8,), warmup=0, repeats=1, num_threads=None)
    assert kept.settings["num_threads"] == before


def test_model_is_not_changed_and_train_mode_is_kept():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3))
    net.train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    hooks = [len(m._forward_hooks) for m in net.modules()]
    for fold in (False, True):
        res = measure_latency(net, (3, 8, 8), warmup=1, repeats=2, batch_size=2, fold_bn=fold)
        assert res.settings["fold_bn"] is fold and res.settings["batch_size"] == 2
    assert net.training and all(m.training for m in net.modules())
    assert isinstance(net[1], nn.BatchNorm2d)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())  # BN stats untouched
    assert [len(m._forward_hooks) for m in net.modules()] == hooks


def test_input_tensor_sets_the_batch():
    res = measure_latency(nn.Linear(5, 2), torch.randn(3, 5), warmup=0, repeats=2)
    assert res.settings["batch_size"] == 3 and res.settings["input_shape"] == [5]


def _randomise_bn(net: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net.eval()


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_fold_batchnorm_gives_the_same_outputs(dims):
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
    bn = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dims]
    net = _randomise_bn(
        nn.Sequential(conv(3, 6, 3, bias=False), bn(6), nn.ReLU(), conv(6, 4, 1), bn(4))
    )
    folded = fold_batchnorm(net)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    assert sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules()) == 2
    x = torch.randn((2, 3) + (7,) * dims)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=1e-4, atol=1e-5)


def test_fold_batchnorm_on_a_real_subnet():
    space = get_space("ofa_mbv3_w1.2")
    arch = space.sample(1, random_state=4)[0]
    net = _randomise_bn(space.build(arch))
    folded = fold_batchnorm(net)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=1e-3, atol=1e-4)
    # folding removes the BN arithmetic, not the convolutions
    assert count_flops(folded, 128).macs == count_flops(net, 128).macs
    assert count_flops(folded, 128).flops < count_flops(net, 128).flops


def test_errors_name_the_field_and_allowed_values():
    lin = nn.Linear(4, 4)
    with pytest.raises(
        ValueError, match=r"device = 'tpu' is not allowed; allowed values: 'cpu', 'cuda'"
    ):
        measure_latency(lin, (4,), device="tpu")
    with pytest.raises(ValueError, match=r"device = 'meta' is not allowed"):
        measure_latency(lin, (4,), device="meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device = 'cuda' is not available"):
            measure_latency(lin, (4,), device="cuda")
    for kw, msg in [
        ({"repeats": 0}, r"repeats = 0 is not allowed; allowed values: an int >= 1"),
        ({"repeats": 2.5}, r"repeats = 2.5 is not allowed"),
        ({"warmup": -1}, r"warmup = -1 is not allowed; allowed values: an int >= 0"),
        ({"batch_size": 0}, r"batch_size = 0 is not allowed"),
        (
            {"num_threads": 0},
            r"num_threads = 0 is not allowed; allowed values: an int >= 1 or None",
        ),
        ({"min_run_time": -1.0}, r"min_run_time = -1.0 is not allowed"),
    ]:
        with pytest.raises(ValueError, match=msg):
            measure_latency(lin, (4,), **kw)
    with pytest.raises(ValueError, match=r"input_shape = \(4, -2\) is not allowed"):
        measure_latency(lin, (4, -2))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        measure_latency(lambda x: x, (4,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_cuda_events_path():
    res = measure_latency(nn.Conv2d(3, 8, 3), (3, 32, 32), device="cuda", warmup=3, repeats=5)
    assert res.count == 5 and res.settings["device"].startswith("cuda")
    assert res.min_ms <= res.median_ms


# ------------------------------------------------------------------ get_net_info
def test_get_net_info_reports_params_macs_flops_and_latency():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 10)
    )
    info = get_net_info(net, (3, 16, 16), warmup=1, repeats=3)
    flops = count_flops(net, (3, 16, 16))
    assert info.params == count_parameters(net) == 224 + 16 + 15690
    assert (info.macs, info.flops) == (flops.macs, flops.flops)
    assert info.macs == 8 * 14 * 14 * 27 + 8 * 14 * 14 * 10
    assert list(info.latency) == ["cpu"] and info.latency["cpu"].count == 3
    text = str(info)
    assert "params" in text and "MACs" in text and "FLOPs" in text and "latency cpu" in text
    d = info.to_dict()
    assert d["params"] == info.params and "samples_ms" not in d["latency"]["cpu"]
    ofa = get_net_info(net, (3, 16, 16), latency_devices=(), convention="ofa")
    assert ofa.latency == {} and ofa.flops == 2 * ofa.macs


def test_get_net_info_does_not_change_the_model():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    get_net_info(net, (3, 8, 8), warmup=0, repeats=1)
    assert net.training and all(torch.equal(state[k], v) for k, v in net.state_dict().items())
