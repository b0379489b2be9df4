"""The bundled digits_subnets dataset, its loader, and the script that builds it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_ofa.datasets import load_digits_subnets
from sklearn_ofa.spaces import SearchSpace, get_space

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "sklearn_ofa" / "datasets" / "data"


@pytest.fixture(scope="module")
def bunch():
    return load_digits_subnets()


def test_bunch_holds_at_least_2000_distinct_subnets_of_the_space(bunch):
    assert isinstance(bunch.space, SearchSpace) and bunch.space == get_space("digits_mbv3")
    X, y = bunch.data, bunch.target
    assert len(X) == len(y) >= 2000
    codes = bunch.space.to_codes(X)  # raises if any arch is outside the space
    assert len({row.tobytes() for row in codes}) == len(X)
    assert len({a["image_size"] for a in X}) >= 4
    assert y.dtype == np.float64 and np.all((y > 0) & (y <= 1))
    assert bunch.feature_names == ["ks", "e", "d", "image_size"]
    assert bunch.target_names == ["top1"]
    assert bunch.frame is None


def test_top1_are_counts_over_the_held_out_images(bunch):
    # every accuracy is k / n_held_out for an integer k (a real count, not a smoothed value)
    n = bunch.meta["n_held_out_images"]
    k = bunch.target * n
    assert np.allclose(k, np.round(k), atol=1e-3)


def test_accuracy_spread_makes_prediction_meaningful(bunch):
    y = bunch.target
    assert y.std() > 0.01
    assert y.max() - y.min() > 0.1
    # bigger subnets are better on average: deeper archs beat shallower ones
    depth = np.array([sum(a["d"]) for a in bunch.data])
    assert y[depth >= np.quantile(depth, 0.75)].mean() > y[depth <= np.quantile(depth, 0.25)].mean()


def test_datasheet_and_metadata_agree_with_the_data(bunch):
    y = bunch.target
    stats = bunch.meta["statistics"]
    assert stats["n_records"] == len(y)
    assert stats["top1_min"] == pytest.approx(y.min(), abs=1e-6)
    assert stats["top1_median"] == pytest.approx(np.median(y), abs=1e-6)
    assert stats["top1_max"] == pytest.approx(y.max(), abs=1e-6)
    assert stats["top1_std"] == pytest.approx(y.std(), abs=1e-6)
    assert bunch.meta["space_config"] == bunch.space.get_config()
    for needle in ("digits_mbv3", "sandwich", "seed", f"{len(y)}", f"{np.median(y) * 100:.1f}"):
        assert needle in bunch.DESCR, needle


def test_return_x_y_and_as_frame_agree(bunch):
    X, y = load_digits_subnets(return_X_y=True)
    assert X == bunch.data and np.array_equal(y, bunch.target)
    frame_bunch = load_digits_subnets(as_frame=True)
    df, s = frame_bunch.data, frame_bunch.target
    assert list(df.columns) == ["ks", "e", "d", "image_size"] and s.name == "top1"
    assert frame_bunch.frame.shape == (len(y), 5)
    np.testing.assert_array_equal(s.to_numpy(), y)
    np.testing.assert_array_equal(bunch.space.to_codes(df), bunch.space.to_codes(X))
    Xf, yf = load_digits_subnets(return_X_y=True, as_frame=True)
    assert Xf.equals(df) and yf.equals(s)


def test_shipped_csv_is_small_and_well_formed():
    path = DATA / "digits_subnets.csv"
    assert path.stat().st_size < 1_000_000
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["ks", "e", "d", "image_size", "top1"]
    assert all(len(r) == 5 for r in rows[1:])


@pytest.mark.slow
def test_pipeline_takes_the_bunch_space_and_learns(bunch):
    from scipy.stats import kendalltau

    from sklearn_ofa import make_accuracy_pipeline

    X, y = bunch.data, bunch.target
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    train, test = idx[:1200], idx[1200:1700]
    pipe = make_accuracy_pipeline(bunch.space, max_epochs=30, n_ensemble=1, random_state=0)
    pipe.fit([X[i] for i in train], y[train])
    pred = pipe.predict([X[i] for i in test])
    assert kendalltau(pred, y[test]).statistic > 0.3


@pytest.mark.slow
def test_generator_script_builds_and_resumes(tmp_path):
    script = REPO / "scripts" / "make_digits_subnets.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        str(script),
        "--warmup-epochs",
        "1",
        "--epochs",
        "1",
        "--n-arch",
        "3",
        "--image-sizes",
        "12",
        "16",
        "--work-dir",
        str(tmp_path / "work"),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    with (tmp_path / "out" / "digits_subnets.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    assert len(rows) == 6 and {r[3] for r in rows} == {"12", "16"}
    meta = json.loads((tmp_path / "out" / "digits_subnets_meta.json").read_text())
    assert meta["statistics"]["n_records"] == 6 and meta["n_held_out_images"] == 599
    # the OFA folder layout the build wrote
    assert json.loads((tmp_path / "work" / "ofa_format" / "net_id.dict").read_text())
    # a rerun resumes: no epoch retrained, no subnet re-evaluated, same output
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed training after epoch 2" in second.stdout
    assert "epoch   1/2" not in second.stdout
    with (tmp_path / "out" / "digits_subnets.csv").open(newline="") as fh:
        assert list(csv.reader(fh))[1:] == rows
    # a different recipe refuses to resume from the same checkpoint
    third = subprocess.run(
        cmd[:2] + ["--lr", "0.2"] + cmd[2:], capture_output=True, text=True, env=env, timeout=300
    )
    assert third.returncode != 0 and "another recipe" in third.stderr


@pytest.mark.slow
def test_killed_training_resumes_to_the_same_weights(tmp_path):
    import signal
    import time

    import torch

    script = REPO / "scripts" / "make_digits_subnets.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def cmd(work):
        return [
            sys.executable,
            str(script),
            "--warmup-epochs",
            "1",
            "--epochs",
            "2",
            "--train-only",
            "--work-dir",
            str(work),
        ]

    done = subprocess.run(cmd(tmp_path / "a"), capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt = tmp_path / "b" / "supernet.pt"
    proc = subprocess.Popen(
        cmd(tmp_path / "b"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    deadline = time.monotonic() + 240
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(ckpt, weights_only=False)["state"]["epoch"]
    assert killed_at < 3
    resumed = subprocess.run(
        cmd(tmp_path / "b"), capture_output=True, text=True, env=env, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed training after epoch {killed_at}" in resumed.stdout
    a = torch.load(tmp_path / "a" / "supernet.pt", weights_only=False)["model"]
    b = torch.load(ckpt, weights_only=False)["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------- ofa_mbv3_imagenet
@pytest.fixture(scope="module")
def imagenet():
    from sklearn_ofa.datasets import load_ofa_mbv3_imagenet

    return load_ofa_mbv3_imagenet()


def _dynast_rows(real_data: Path) -> list[tuple[dict, float, int, int]]:
    """The original DyNAS-T records, parsed independently of the package."""
    import ast

    out = []
    for name in ("mbnv3w10_evonsga2_acc_macs.csv", "mbnv3w10_linasga_acc.csv"):
        with (real_data / name).open(newline="") as fh:
            for row in csv.DictReader(fh):
                sub = ast.literal_eval(row["Sub-network"])
                arch = {"ks": sub["ks"], "e": sub["e"], "d": sub["d"], "image_size": sub["r"][0]}
                out.append(
                    (
                        arch,
                        float(row["Top-1 Acc (%)"]),
                        int(row["MACs"]),
                        int(row["Model Parameters"]),
                    )
                )
    return out


def test_imagenet_records_equal_the_dynast_measurements(imagenet, real_data):
    rows = _dynast_rows(real_data)
    assert len(imagenet.data) == len(rows) == 901
    assert [a for a, *_ in rows] == imagenet.data
    np.testing.assert_allclose(imagenet.target * 100, [r[1] for r in rows], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(imagenet.macs, [r[2] for r in rows])
    np.testing.assert_array_equal(imagenet.params, [r[3] for r in rows])
    assert list(imagenet.source).count("nsga2") == 540


def test_imagenet_macs_and_params_equal_the_package_counts(imagenet):
    from sklearn_ofa.efficiency import FLOPsModel
    from sklearn_ofa.efficiency.flops import count_parameters
    from sklearn_ofa.nets import build_subnet

    space = imagenet.space
    macs = FLOPsModel(space).fit().predict_macs(imagenet.data)
    np.testing.assert_array_equal(macs, imagenet.macs)
    for i in np.random.default_rng(0).choice(len(imagenet.data), 25, replace=False):
        assert count_parameters(build_subnet(space, imagenet.data[i])) == imagenet.params[i]


def test_imagenet_bunch_frame_and_attribution(imagenet):
    from sklearn_ofa.datasets import load_ofa_mbv3_imagenet

    assert imagenet.space.name == "ofa_mbv3_w1.0"
    assert "Apache" in imagenet.DESCR and "Intel Corporation" in imagenet.DESCR
    assert "Intel Corporation" in imagenet.attribution
    assert imagenet.space.to_codes(imagenet.data).shape == (901, imagenet.space.n_genes)
    X, y = load_ofa_mbv3_imagenet(return_X_y=True)
    assert X == imagenet.data and np.array_equal(y, imagenet.target)
    frame = load_ofa_mbv3_imagenet(as_frame=True).frame
    assert list(frame.columns) == ["ks", "e", "d", "image_size", "top1", "macs", "params", "source"]
    np.testing.assert_array_equal(frame["macs"].to_numpy(), imagenet.macs)


def test_imagenet_generator_rebuilds_the_shipped_files(real_data, tmp_path):
    script = REPO / "scripts" / "make_ofa_mbv3_imagenet.py"
    subprocess.run(
        [sys.executable, str(script), "--src", str(real_data), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for rel in ("data/ofa_mbv3_imagenet.csv", "descr/ofa_mbv3_imagenet.rst"):
        shipped = REPO / "sklearn_ofa" / "datasets" / rel
        assert (tmp_path / rel).read_bytes() == shipped.read_bytes(), rel
