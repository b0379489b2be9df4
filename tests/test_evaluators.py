"""SupernetEvaluator and BatchNorm recalibration on real weight-sharing networks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_ofa.accuracy import AccuracyDataset, SupernetEvaluator
from sklearn_ofa.accuracy.evaluators import evaluate_archs, set_running_statistics
from sklearn_ofa.exceptions import ArchValueError
from sklearn_ofa.nets.elastic import ElasticMobileNetV3


def _batches(n_batches, size=8, n=32, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return [
        (
            scale * torch.randn(n, 3, size, size, generator=g) + 0.5,
            torch.randint(0, 10, (n,), generator=g),
        )
        for _ in range(n_batches)
    ]


def _recalibrated_reference(net, batches):
    """Independent recalibration: PyTorch's reset + cumulative average, in train mode."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        for x, _ in batches:
            net(x)
    return net.eval()


def _resize(batches, size):
    return [
        (F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False), y)
        for x, y in batches
    ]


def _labels_from(net, batches):
    """Replace the labels by ``net``'s own predictions: its top-1 is then exactly 100 %."""
    with torch.no_grad():
        return [(x, net(x).argmax(1)) for x, _ in batches]


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    return ElasticMobileNetV3("digits_mbv3").eval()


# ------------------------------------------------------------ BN recalibration
def test_set_running_statistics_is_the_batch_average():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6, momentum=0.3))
    batches = [torch.randn(16, 3, 9, 9) * (i + 1) + i for i in range(3)]
    assert set_running_statistics(net.eval(), batches) == 3
    bn = net[1]
    with torch.no_grad():
        feats = [net[0](x) for x in batches]
    means = torch.stack([f.mean((0, 2, 3)) for f in feats])
    unbiased = torch.stack([f.var((0, 2, 3), unbiased=True) for f in feats])
    torch.testing.assert_close(bn.running_mean, means.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bn.running_var, unbiased.mean(0), rtol=1e-5, atol=1e-5)
    # OFA's estimate (biased variance, weighted by batch size) agrees to within n/(n-1)
    biased = torch.stack([f.var((0, 2, 3), unbiased=False) for f in feats])
    torch.testing.assert_close(bn.running_var, biased.mean(0), rtol=2e-3, atol=0)
    assert bn.momentum == 0.3 and not net.training


# ------------------------------------------------------------------- MobileNet
def test_top1_equals_an_independent_computation(supernet):
    space = supernet.space
    arch, other = space.sample(2, random_state=1)
    arch["image_size"] = 20
    data8, calib8 = _batches(2, seed=1), _batches(2, seed=2)
    supernet.set_active_subnet(**arch)
    static = _recalibrated_reference(supernet.get_active_subnet(), _resize(calib8, 20))
    labelled = _labels_from(static, _resize(data8, 20))
    data = [(x8, y) for (x8, _), (_, y) in zip(data8, labelled)]
    evaluator = SupernetEvaluator(supernet, data, calibration_loader=calib8)
    assert evaluator(arch) == 100.0
    # another arch, or the same one at another resolution, disagrees with those labels
    other["image_size"] = 20
    assert evaluator(other) < 100.0
    assert evaluator({**arch, "image_size": 28}) < 100.0
    # batch protocol and dataset protocol agree with __call__
    assert evaluator.evaluate_batch([arch, other]) == [100.0, evaluator(other)]
    assert evaluate_archs(evaluator, [arch]) == [100.0]


def test_recalibration_makes_stored_bn_statistics_irrelevant(supernet):
    space = supernet.space
    arch = space.sample(1, random_state=4)[0]
    data8, calib8 = _batches(2, seed=5), _batches(1, seed=6)
    supernet.set_active_subnet(**arch)
    static = _recalibrated_reference(
        supernet.get_active_subnet(), _resize(calib8, arch["image_size"])
    )
    data = [
        (x, y)
        for (x, _), (_, y) in zip(data8, _labels_from(static, _resize(data8, arch["image_size"])))
    ]
    corrupted = ElasticMobileNetV3("digits_mbv3")
    corrupted.load_state_dict(supernet.state_dict())
    g = torch.Generator().manual_seed(9)
    for m in corrupted.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(5 * torch.randn(m.num_features, generator=g))
            m.running_var.copy_(10 * torch.rand(m.num_features, generator=g))
    before = {k: v.clone() for k, v in corrupted.state_dict().items()}
    assert SupernetEvaluator(corrupted, data, calib8)(arch) == 100.0
    assert SupernetEvaluator(corrupted, data, calib8, recalibrate=False)(arch) < 100.0
    after = corrupted.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "BN buffers not restored"


def test_n_calibration_batches_limits_the_batches_used(supernet):
    arch = supernet.space.sample(1, random_state=7)[0]
    size = arch["image_size"]
    first, weird = _batches(1, seed=8)[0], _batches(1, seed=9, scale=20.0)[0]
    data8 = _batches(2, seed=10)
    supernet.set_active_subnet(**arch)
    static = _recalibrated_reference(supernet.get_active_subnet(), _resize([first], size))
    data = [(x, y) for (x, _), (_, y) in zip(data8, _labels_from(static, _resize(data8, size)))]
    assert SupernetEvaluator(supernet, data, [first, weird], n_calibration_batches=1)(arch) == 100.0
    assert SupernetEvaluator(supernet, data, [first, weird])(arch) < 100.0


class _SizedLoader:
    """Re-iterable loader that renders its images at the size the evaluator asks for."""

    def __init__(self, batches8):
        self.batches8, self.size, self.asked = batches8, 8, []

    def assign_active_img_size(self, size):
        self.size = size
        self.asked.append(size)

    def __iter__(self):
        return iter(_resize(self.batches8, self.size))


def test_loader_resolution_hook_equals_interpolation(supernet):
    archs = supernet.space.sample(3, random_state=11)
    data8, calib8 = _batches(2, seed=12), _batches(1, seed=13)
    plain = SupernetEvaluator(supernet, data8, calib8).evaluate_batch(archs)
    loader, calib = _SizedLoader(data8), _SizedLoader(calib8)
    hooked = SupernetEvaluator(supernet, loader, calib).evaluate_batch(archs)
    assert hooked == plain
    assert loader.asked == [a["image_size"] for a in archs]


def test_evaluator_pickles(supernet):
    archs = supernet.space.sample(2, random_state=14)
    evaluator = SupernetEvaluator(supernet, _batches(1, seed=15), n_calibration_batches=1)
    clone = pickle.loads(pickle.dumps(evaluator))
    assert clone is not evaluator and clone.supernet is not supernet
    assert clone.evaluate_batch(archs) == evaluator.evaluate_batch(archs)


def test_evaluator_errors(supernet):
    arch = supernet.space.sample(1, random_state=0)[0]
    with pytest.raises(TypeError, match="set_active_subnet"):
        SupernetEvaluator(nn.Linear(2, 2), _batches(1))(arch)
    with pytest.raises(ArchValueError, match="image_size"):
        SupernetEvaluator(supernet, _batches(1))({k: arch[k] for k in ("ks", "e", "d")})
    with pytest.raises(ValueError, match="no samples"):
        SupernetEvaluator(supernet, [], _batches(1))(arch)
    with pytest.raises(ValueError, match="calibration_loader yielded no batches"):
        SupernetEvaluator(supernet, _batches(1), [])(arch)
    with pytest.raises(ValueError, match="n_calibration_batches = 0 is not allowed"):
        SupernetEvaluator(supernet, _batches(1), n_calibration_batches=0)(arch)
    with pytest.raises(ValueError, match="interpolation = 'cubic' is not allowed"):
        SupernetEvaluator(supernet, _batches(1), interpolation="cubic")(arch)


# ---------------------------------------------------------- ResNet-style API
def _sliced_bn(bn, x):
    c = x.shape[1]
    factor = bn.momentum
    if bn.training:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:
            factor = 1.0 / float(bn.num_batches_tracked)
    return F.batch_norm(
        x,
        bn.running_mean[:c],
        bn.running_var[:c],
        bn.weight[:c],
        bn.bias[:c],
        bn.training,
        factor or 0.0,
        bn.eps,
    )


class TinyElasticResNet(nn.Module):
    """Weight-sharing net with OFA ResNet's API: ``set_active_subnet(d=, e=, w=)``.

    ``w`` picks the width (8, 12 or 16 channels), ``d`` how many of two residual
    blocks run, ``e`` each block's bottleneck ratio; BatchNorm is sliced.
    """

    widths, ratios = (8, 12, 16), (0.25, 0.5)

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.reduce = nn.ModuleList(nn.Conv2d(16, 8, 1, bias=False) for _ in range(2))
        self.reduce_bn = nn.ModuleList(nn.BatchNorm2d(8) for _ in range(2))
        self.expand = nn.ModuleList(nn.Conv2d(8, 16, 3, padding=1, bias=False) for _ in range(2))
        self.expand_bn = nn.ModuleList(nn.BatchNorm2d(16) for _ in range(2))
        self.head = nn.Linear(16, 10)
        self.set_active_subnet(d=[2], e=[0.5, 0.5], w=[2])

    def set_active_subnet(self, d=None, e=None, w=None):
        if d is not None:
            self.depth = int(d[0])
        if e is not None:
            self.ratio = [float(v) for v in e]
        if w is not None:
            self.width = self.widths[int(w[0])]

    def forward(self, x):
        c = self.width
        x = F.relu(_sliced_bn(self.stem_bn, F.conv2d(x, self.stem.weight[:c], padding=1)))
        for i in range(self.depth):
            mid = int(self.ratio[i] * c)
            h = F.relu(_sliced_bn(self.reduce_bn[i], F.conv2d(x, self.reduce[i].weight[:mid, :c])))
            h = _sliced_bn(
                self.expand_bn[i], F.conv2d(h, self.expand[i].weight[:c, :mid], padding=1)
            )
            x = F.relu(x + h)
        return F.linear(x.mean((2, 3)), self.head.weight[:, :c], self.head.bias)


def test_resnet_style_supernet():
    torch.manual_seed(3)
    net = TinyElasticResNet().eval()
    arch = {"d": [1], "e": [0.25, 0.5], "w": [1], "image_size": 12}
    data8, calib8 = _batches(2, seed=20), _batches(2, seed=21)
    # reference: same weights, the subnet as a fresh module recalibrated by hand
    ref = TinyElasticResNet()
    ref.load_state_dict(net.state_dict())
    ref.set_active_subnet(d=[1], e=[0.25, 0.5], w=[1])
    ref = _recalibrated_reference(ref, _resize(calib8, 12))
    data = [(x, y) for (x, _), (_, y) in zip(data8, _labels_from(ref, _resize(data8, 12)))]
    evaluator = SupernetEvaluator(net, data, calib8)
    assert evaluator(arch) == 100.0  # d, e, w reached the net; image_size was not passed
    assert evaluator({**arch, "w": [2]}) < 100.0


# ---------------------------------------------------------- inside a build
@pytest.mark.slow
def test_build_with_supernet_evaluator_in_two_processes(tmp_path, supernet):
    evaluator = SupernetEvaluator(
        supernet, _batches(2, seed=30), _batches(1, seed=31), num_threads=1
    )
    kw = dict(n_arch=3, image_sizes=[12, 24], random_state=0, verbose=False)
    X1, y1 = AccuracyDataset(tmp_path / "a", space="digits_mbv3").build(evaluator, **kw).load()
    X2, y2 = (
        AccuracyDataset(tmp_path / "b", space="digits_mbv3")
        .build(evaluator, n_jobs=2, backend="loky", **kw)
        .load()
    )
    assert X1 == X2 and len(X1) == 6
    np.testing.assert_array_equal(y1, y2)
    expected = [evaluator(a) / 100 for a in X1]
    np.testing.assert_array_equal(y1, expected)


def test_set_running_statistics_restores_momentum_and_flags_after_a_failing_batch():
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, momentum=0.2), nn.Dropout(0.1))
    net.eval()
    net[2].train()  # mixed flags come back as they were
    good = torch.randn(4, 3, 5, 5)
    with pytest.raises(RuntimeError):
        set_running_statistics(net, [good, torch.randn(4, 7, 5, 5)])  # wrong channel count
    assert net[1].momentum == 0.2
    assert [m.training for m in net.modules()] == [False, False, False, True]
    # no BatchNorm layer: nothing to recalibrate, nothing run
    assert set_running_statistics(nn.Sequential(nn.Conv2d(3, 4, 1)), [good]) == 0
