"""Exact subnets of OFA's supernet checkpoints (load_ofa_supernet / OFASupernet.subnet)."""

from __future__ import annotations

import json

import pytest
import torch

from sklearn_ofa.accuracy import SupernetEvaluator
from sklearn_ofa.accuracy.evaluators import set_running_statistics
from sklearn_ofa.efficiency.flops import count_parameters
from sklearn_ofa.exceptions import ArchValueError
from sklearn_ofa.nets import ElasticMobileNetV3, OFASupernet, load_ofa_supernet
from sklearn_ofa.nets.ofa_supernet import ofa_state_dict


@pytest.fixture(scope="module")
def fixture_dir(ofa_reference):
    return ofa_reference / "supernet_fixture"


@pytest.fixture(scope="module")
def checkpoint(fixture_dir):
    return fixture_dir / "ofa_mbv3_w1.2_random_supernet.pth"


@pytest.fixture(scope="module")
def records(fixture_dir):
    return json.loads((fixture_dir / "subnets_seed0.json").read_text())


@pytest.fixture(scope="module")
def supernet(checkpoint):
    return load_ofa_supernet(checkpoint, space="ofa_mbv3_w1.2")


def _logits(net, record):
    gen = torch.Generator().manual_seed(record["input_seed"])
    x = torch.randn(record["input_shape"], generator=gen)
    with torch.no_grad():
        return net(x)


def _rel_error(y, ref):
    return float((y - ref).abs().max() / ref.abs().max())


@pytest.mark.slow
def test_subnets_reproduce_ofa_logits_and_parameter_counts(supernet, records):
    assert len(records) == 12
    for record in records:
        net = supernet.subnet(record["arch"])
        ref = torch.tensor(record["logits"])
        # the issue asks 1e-4; the crop-only extraction is already off by ~1e-4 on this
        # randomised checkpoint (next test), so hold the exact one to 1e-5
        assert _rel_error(_logits(net, record), ref) <= 1e-5, record["arch"]
        assert count_parameters(net) == record["n_params"]


def test_kernel_transformation_is_what_makes_them_exact(checkpoint, records):
    # The same checkpoint with identity matrices is the plain centre crop (what
    # ElasticMobileNetV3 does): 100 times further from OFA's logits than the transform.
    state = torch.load(checkpoint, weights_only=True)["state_dict"]
    cropped = {k: (torch.eye(v.shape[0]) if k.endswith("_matrix") else v) for k, v in state.items()}
    exact, crop = OFASupernet(state), OFASupernet(cropped)
    for record in records[:3]:
        assert min(record["arch"]["ks"]) < 7
        ref = torch.tensor(record["logits"])
        err_exact = _rel_error(_logits(exact.subnet(record["arch"]), record), ref)
        err_crop = _rel_error(_logits(crop.subnet(record["arch"]), record), ref)
        assert err_crop > 5e-5 and err_crop > 100 * err_exact


@pytest.mark.parametrize("space", ["digits_mbv3", "ofa_mbv3_w1.0"])
def test_subnets_equal_the_elastic_supernets_own(space):
    torch.manual_seed(0)
    elastic = ElasticMobileNetV3(space).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for bn in elastic.modules():
            if isinstance(bn, torch.nn.BatchNorm2d):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
    extracted = OFASupernet(ofa_state_dict(elastic), space)
    for seed in range(3):
        arch = elastic.sample_active_subnet(random_state=seed)
        mine, theirs = extracted.subnet(arch), elastic.get_active_subnet().eval()
        size = arch["image_size"]
        x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            torch.testing.assert_close(mine(x), theirs(x), rtol=1e-4, atol=1e-5)
        assert count_parameters(mine) == count_parameters(theirs)


def test_a_checkpoint_of_another_width_is_refused(checkpoint):
    with pytest.raises(
        ValueError, match=r"first_conv.conv.weight.*shape \(24, 3, 3, 3\).*ofa_mbv3_w1.0"
    ):
        load_ofa_supernet(checkpoint, space="ofa_mbv3_w1.0")


def test_bad_files_are_refused_without_unpickling(tmp_path):
    with pytest.raises(FileNotFoundError, match="no OFA supernet checkpoint"):
        load_ofa_supernet(tmp_path / "missing.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a readable torch checkpoint"):
        load_ofa_supernet(tmp_path / "text.pth")
    torch.save({"state_dict": {"w": [1, 2]}}, tmp_path / "lists.pth")
    with pytest.raises(ValueError, match="no state dict of tensors"):
        load_ofa_supernet(tmp_path / "lists.pth")
    torch.save({"state_dict": {"w": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="checkpoint has no 'first_conv.conv.weight'"):
        load_ofa_supernet(tmp_path / "other.pth")
    # an arbitrary pickled object is not loaded (weights_only=True)
    torch.save({"state_dict": {}, "obj": ValueError("payload")}, tmp_path / "obj.pth")
    with pytest.raises(ValueError, match="not a readable torch checkpoint"):
        load_ofa_supernet(tmp_path / "obj.pth")


def test_a_bad_arch_names_the_field(supernet):
    arch = {"ks": [9] * 20, "e": [6] * 20, "d": [4] * 5, "image_size": 224}
    with pytest.raises(ArchValueError, match=r"\['ks'\]\[0\] = 9 is not allowed; allowed values"):
        supernet.subnet(arch)


def test_supernet_evaluator_recalibrates_the_extracted_subnet(supernet):
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(16, 3, 128, 128, generator=gen)
    arch = supernet.space.sample(1, random_state=3)[0] | {"image_size": 128}
    net = supernet.subnet(arch)
    set_running_statistics(net, [images[:8], images[8:]])
    with torch.no_grad():
        predicted = net.eval()(images).argmax(1)
    labels = predicted.clone()
    labels[10:] = (predicted[10:] + 1) % 1000  # 10 of 16 right: 62.5 %
    data = [(images[:8], labels[:8]), (images[8:], labels[8:])]
    before = {k: v.clone() for k, v in supernet.state_dict.items()}
    assert SupernetEvaluator(supernet, data).evaluate_batch([arch]) == [62.5]
    assert all(torch.equal(before[k], v) for k, v in supernet.state_dict.items())
    # without recalibration the checkpoint's (random) statistics give other predictions
    assert SupernetEvaluator(supernet, data, recalibrate=False)(arch) != 62.5
