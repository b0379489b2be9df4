"""Runtime backends, ONNX export, the torch-free profiler, hybrid calibration, intervals.

Every timing here is real (ONNX Runtime and OpenVINO run the exported blocks on
this CPU); calibration targets with a known structure are built from a real
table's real block latencies so that the assertions do not hinge on noise.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import subprocess_env

from sklearn_ofa import profile_onnx
from sklearn_ofa.cli import LUT_STATISTICS
from sklearn_ofa.cli import main as cli_main
from sklearn_ofa.efficiency import LatencyTable
from sklearn_ofa.efficiency.hybrid import HybridCalibration
from sklearn_ofa.efficiency.lut import STATISTICS
from sklearn_ofa.efficiency.onnx_export import export_space
from sklearn_ofa.persistence import load
from sklearn_ofa.spaces import MobileNetSpace

pytest.importorskip("onnxruntime")

TINY = dict(
    family="mbv3",
    base_stage_width=[8, 8, 8, 16, 16, 24, 24, 32, 64],
    depth_list=[1, 2],
    ks_list=[3, 5],
    expand_ratio_list=[3],
    image_sizes=[32],
    n_classes=10,
    name="tiny",
)
FAST = dict(warmup=1, repeats=3)


@pytest.fixture(scope="module")
def tiny():
    return MobileNetSpace(**TINY)


@pytest.fixture(scope="module")
def torch_table(tiny):
    return LatencyTable(tiny, isolate=False, **FAST).fit()


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "tiny"
    manifest = export_space(tiny, folder, n_subnets=12, random_state=0)
    return folder, manifest


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_runtime_backend_profiles_every_block_and_measures(tiny, torch_table, backend):
    pytest.importorskip(backend)
    lut = LatencyTable(tiny, backend=backend, **FAST).fit()
    assert set(lut.lut_[32]) == set(torch_table.lut_[32])
    assert lut.settings_["backend"] == backend
    archs = tiny.sample(3, random_state=0)
    for arch, p in zip(archs, lut.predict(archs)):
        assert p == pytest.approx(sum(lut.lut_[32][b.key]["median"] for b in tiny.blocks(arch)))
    measured = lut.measure(archs)
    assert measured.shape == (3,) and (measured > 0).all()


def test_runtime_backend_refuses_cuda_and_unknown_backends(tiny):
    with pytest.raises(ValueError, match="device = 'cuda' is not allowed with backend"):
        LatencyTable(tiny, backend="onnxruntime", device="cuda").fit()
    with pytest.raises(ValueError, match="backend"):
        LatencyTable(tiny, backend="tflite").fit()


def test_missing_runtime_is_a_clear_error_and_a_cli_user_error(tmp_path):
    (tmp_path / "openvino.py").write_text("raise ImportError('no openvino here')\n")
    env = subprocess_env()
    env["PYTHONPATH"] = str(tmp_path) + os.pathsep + env["PYTHONPATH"]
    code = (
        "from sklearn_ofa.efficiency import LatencyTable\n"
        f"from sklearn_ofa.spaces import MobileNetSpace\nspace = MobileNetSpace(**{TINY!r})\n"
        "try:\n    LatencyTable(space, backend='openvino').fit()\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "RuntimeNotInstalledError" in out.stdout and "pip install" in out.stdout, out
    cli = subprocess.run(
        [sys.executable, "-m", "sklearn_ofa.cli", "lut", "build", "--backend", "openvino"]
        + ["--space", "ofa_mbv3_w1.0", "--image-sizes", "128", "--out", str(tmp_path / "t.skops")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2, cli.stderr
    assert cli.stderr.startswith("sklearn-ofa: error: runtime 'openvino' needs") and (
        "Traceback" not in cli.stderr
    )


def test_journal_of_another_backend_is_refused_and_old_journals_read_as_torch(tiny, tmp_path):
    journal = tmp_path / "j.jsonl"
    LatencyTable(tiny, isolate=False, cache_path=journal, **FAST).fit()
    with pytest.raises(ValueError, match="backend = 'torch'.*backend = 'onnxruntime'"):
        LatencyTable(tiny, backend="onnxruntime", cache_path=journal, **FAST).fit()
    lines = journal.read_text().splitlines()
    head = json.loads(lines[0])
    del head["settings"]["backend"]  # a journal written before backends existed
    journal.write_text("\n".join([json.dumps(head)] + lines[1:]) + "\n")
    again = LatencyTable(tiny, isolate=False, cache_path=journal, **FAST).fit()
    assert again.n_blocks_ == len(again.lut_[32])


# ----------------------------------------------------------- export + runner
def test_export_manifest_lists_every_block_once_with_checksums(tiny, torch_table, exported):
    folder, manifest = exported
    blocks = [it for it in manifest["items"] if it["kind"] == "block"]
    assert sorted(it["key"] for it in blocks) == sorted(torch_table.lut_[32])
    assert len([it for it in manifest["items"] if it["kind"] == "subnet"]) == 12
    for it in manifest["items"]:
        assert profile_onnx.sha256(folder / it["file"]) == it["sha256"]
    for it in blocks:
        assert it["macs"] == torch_table.lut_[32][it["key"]]["macs"]
    assert (folder / "profile_onnx.py").read_text() == Path(profile_onnx.__file__).read_text()
    again = export_space(tiny, folder, n_subnets=12, random_state=0)  # a rerun reuses the files
    assert again["items"] == manifest["items"]


def _torch_free_env(tmp_path: Path) -> dict:
    blocker = tmp_path / "blocker"
    blocker.mkdir(exist_ok=True)
    for name in ("torch", "sklearn", "sklearn_ofa"):
        (blocker / f"{name}.py").write_text(f"raise ImportError('{name} is not installed here')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(blocker)
    return env


def test_round_trip_export_run_without_torch_import_predicts_like_a_direct_fit(
    tiny, exported, tmp_path
):
    folder, _ = exported
    results = tmp_path / "results.jsonl"
    run = subprocess.run(
        [sys.executable, str(folder / "profile_onnx.py"), str(folder), "--out", str(results)]
        + ["--warmup", "2", "--repeats", "15", "--quiet"],
        env=_torch_free_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    header, done = profile_onnx.read_results(results)
    assert header["backend"] == "onnxruntime" and header["num_threads"] == 1
    lut = LatencyTable.from_measurements(folder, results, calibration="linear")
    assert lut.settings_["source"] == "measurements" and lut.backend == "onnxruntime"
    direct = LatencyTable(tiny, backend="onnxruntime", warmup=2, repeats=15).fit()
    assert set(lut.lut_[32]) == set(direct.lut_[32])
    archs = tiny.sample(30, random_state=5)
    ratio = lut.predict_raw(archs) / direct.predict_raw(archs)
    assert 0.6 < np.median(ratio) < 1.6, ratio  # same runtime, same blocks: measurement noise
    assert lut.predict(archs).shape == (30,)
    with pytest.raises(ValueError, match="measured by profile_onnx on another machine"):
        lut.measure(archs[:1])


@pytest.mark.slow
def test_killed_runner_resumes_without_losing_results(exported, tmp_path):
    folder, manifest = exported
    results = tmp_path / "results.jsonl"
    cmd = [sys.executable, str(folder / "profile_onnx.py"), str(folder), "--out", str(results)]
    cmd += ["--warmup", "1", "--repeats", "200", "--quiet"]
    proc = subprocess.Popen(cmd, env=_torch_free_env(tmp_path))
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= 4:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, before = profile_onnx.read_results(results)
    assert 0 < len(before) < len(manifest["items"])
    assert subprocess.run(cmd, env=_torch_free_env(tmp_path)).returncode == 0
    _, after = profile_onnx.read_results(results)
    ids = [json.loads(x)["id"] for x in results.read_text().splitlines() if '"id"' in x]
    assert len(ids) == len(set(ids)) == len(manifest["items"])
    for key, rec in before.items():
        assert after[key] == rec


def test_runner_refuses_changed_files_other_settings_and_missing_folders(exported, tmp_path):
    folder, manifest = exported
    results = tmp_path / "r.jsonl"
    assert profile_onnx.main([str(folder), "--out", str(results), "--quiet", "--repeats", "2"]) == 0
    with pytest.raises(ValueError, match="repeats = 2, but this run uses repeats = 20"):
        next(profile_onnx.run_folder(folder, results, progress=False))
    assert profile_onnx.main([str(tmp_path / "nothing"), "--out", str(results), "--quiet"]) == 2
    copy = tmp_path / "copy"
    export_space(MobileNetSpace(**TINY), copy, n_subnets=0)
    first = json.loads((copy / "manifest.json").read_text())["items"][0]["file"]
    (copy / first).write_bytes(b"not the exported model")
    with pytest.raises(ValueError, match="checksum differs from the manifest"):
        next(profile_onnx.run_folder(copy, tmp_path / "r2.jsonl", progress=False))


def test_from_measurements_of_an_unfinished_run_names_what_is_missing(exported, tmp_path):
    folder, manifest = exported
    results = tmp_path / "partial.jsonl"
    for i, _ in enumerate(profile_onnx.run_folder(folder, results, repeats=2, progress=False)):
        if i == 2:
            break
    n_blocks = sum(it["kind"] == "block" for it in manifest["items"])
    with pytest.raises(ValueError, match=f"results for 3 of the {n_blocks} blocks"):
        LatencyTable.from_measurements(folder, results)


def test_from_measurements_calibrates_on_the_chosen_statistic(exported, tmp_path):
    folder, manifest = exported
    results = tmp_path / "r.jsonl"
    for _ in profile_onnx.run_folder(folder, results, repeats=3, progress=False):
        pass
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    fastest = LatencyTable.from_measurements(folder, results, calibration="linear", statistic="min")
    by_id = {str(d["id"]): d for d in lines if "id" in d}
    block = next(it for it in manifest["items"] if it["kind"] == "block")
    assert fastest.lut_[32][block["key"]]["min"] == by_id[str(block["id"])]["min"]
    with pytest.raises(ValueError, match="'statistic' parameter of LatencyTable"):
        LatencyTable.from_measurements(folder, results, calibration="linear", statistic="max")
    stripped = tmp_path / "no_min.jsonl"
    subnet_ids = {str(it["id"]) for it in manifest["items"] if it["kind"] == "subnet"}
    for d in lines:
        if str(d.get("id")) in subnet_ids:
            d.pop("min")
    stripped.write_text("".join(json.dumps(d) + "\n" for d in lines))
    with pytest.raises(ValueError, match=r"result 's-0' has no 'min' \(it has \['count', "):
        LatencyTable.from_measurements(folder, stripped, calibration="linear", statistic="min")


def test_cli_export_then_import(tiny, tmp_path):
    folder = tmp_path / "exp"
    space = tmp_path / "space.json"
    assert (
        cli_main(
            ["lut", "export", "--space", "ofa_mbv3_w1.0", "--image-sizes", "128"]
            + ["--subnets", "6", "--out", str(folder), "--quiet", "--json"]
        )
        == 0
    )
    results = tmp_path / "r.jsonl"
    assert profile_onnx.main([str(folder), "--out", str(results), "--quiet", "--repeats", "3"]) == 0
    out = tmp_path / "t.skops"
    assert (
        cli_main(
            ["lut", "import", "--folder", str(folder), "--results", str(results)]
            + ["--calibration", "linear", "--out", str(out), "--json"]
        )
        == 0
    )
    assert out.exists() and not space.exists()
    fastest = tmp_path / "min.skops"
    assert (
        cli_main(
            ["lut", "import", "--folder", str(folder), "--results", str(results)]
            + ["--calibration", "linear", "--statistic", "min", "--out", str(fastest), "--json"]
        )
        == 0
    )
    table = load(fastest)
    direct = LatencyTable.from_measurements(folder, results, calibration="linear", statistic="min")
    codes = table.space_.sample_codes(8, random_state=0)
    assert table.statistic == "min"
    np.testing.assert_array_equal(table.predict(codes), direct.predict(codes))
    assert not np.allclose(table.predict_raw(codes), load(out).predict_raw(codes))
    assert LUT_STATISTICS == list(STATISTICS)  # the CLI's choices, spelt without torch


# --------------------------------------------------- hybrid and intervals
def _structured_targets(table, codes, rng):
    """Latencies with what a block sum misses: per-block overhead and a fixed cost."""
    vals, idx, sums = table._gather(codes)
    n_blocks = (table.keys_[idx] != None).sum(1)  # noqa: E711
    return 1.1 * sums + 0.3 * n_blocks + 0.3 + rng.normal(0, 0.01, len(codes))


def test_hybrid_learns_the_per_block_overhead_a_linear_correction_misses(tiny, torch_table):
    rng = np.random.default_rng(0)
    codes = tiny.sample_codes(80, random_state=1)
    y = _structured_targets(torch_table, codes, rng)
    hybrid = LatencyTable(tiny, table=torch_table.lut_, calibration="hybrid").fit(codes, y)
    cal = hybrid.calibrator_
    assert isinstance(cal, HybridCalibration) and set(cal.cv_mape_) == {
        "linear",
        "per_type",
        "ridge",
        "ridge_log",
    }
    assert cal.chosen_ in {"ridge", "ridge_log"}
    assert cal.cv_mape_[cal.chosen_] < 0.5 * cal.cv_mape_["linear"]
    test = tiny.sample_codes(200, random_state=2)
    y_test = _structured_targets(torch_table, test, rng)
    err = np.abs(hybrid.predict(test) - y_test) / y_test
    assert np.mean(err <= 0.10) == 1.0


@pytest.mark.parametrize("calibration", ["linear", "hybrid"])
def test_interval_coverage_on_held_out_archs(tiny, torch_table, calibration):
    rng = np.random.default_rng(3)
    codes = tiny.sample_codes(100, random_state=4)
    noise = lambda n: np.exp(rng.normal(0, 0.05, n))  # 5% multiplicative noise
    y = _structured_targets(torch_table, codes, rng) * noise(100)
    lut = LatencyTable(tiny, table=torch_table.lut_, calibration=calibration).fit(codes, y)
    test = tiny.sample_codes(2000, random_state=5)
    y_test = _structured_targets(torch_table, test, rng) * noise(2000)
    lo, hi = lut.predict_interval(test, alpha=0.1).T
    assert (lo <= lut.predict(test)).all() and (lut.predict(test) <= hi).all()
    coverage = np.mean((lo <= y_test) & (y_test <= hi))
    assert coverage >= 0.87, coverage  # 1 - alpha = 0.90, less the sampling error of 2,000


@pytest.mark.parametrize("calibration", ["linear", "hybrid"])
def test_upper_bound_coverage_on_held_out_archs(tiny, torch_table, calibration):
    rng = np.random.default_rng(6)
    codes = tiny.sample_codes(100, random_state=7)
    noise = lambda n: np.exp(rng.normal(0, 0.05, n))  # 5% multiplicative noise
    y = _structured_targets(torch_table, codes, rng) * noise(100)
    lut = LatencyTable(tiny, table=torch_table.lut_, calibration=calibration).fit(codes, y)
    test = tiny.sample_codes(2000, random_state=8)
    y_test = _structured_targets(torch_table, test, rng) * noise(2000)
    upper = lut.predict_upper(test, alpha=0.1)
    assert upper.shape == (2000,)
    # one-sided: tighter than the two-sided interval's upper end at the same alpha
    assert (upper < lut.predict_interval(test, alpha=0.1)[:, 1]).all()
    coverage = np.mean(y_test <= upper)
    assert coverage >= 0.87, coverage  # 1 - alpha = 0.90, less the sampling error of 2,000


def test_upper_bound_is_the_conformal_quantile_of_signed_out_of_fold_residuals(tiny, torch_table):
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, cross_val_predict

    rng = np.random.default_rng(9)
    codes = tiny.sample_codes(39, random_state=10)
    y = _structured_targets(torch_table, codes, rng) * np.exp(rng.normal(0, 0.05, 39))
    lut = LatencyTable(tiny, table=torch_table.lut_, calibration="linear").fit(codes, y)
    raw = torch_table.predict_raw(codes)[:, None]  # the linear calibration's one feature
    oof = cross_val_predict(
        LinearRegression(positive=True), raw, y, cv=KFold(5, shuffle=True, random_state=0)
    )
    signed = np.sort((y - oof) / oof)
    # n = 39, alpha = 0.1: the ceil(40 * 0.9) = 36th smallest
    test = tiny.sample_codes(5, random_state=11)
    expected = lut.predict(test) * (1 + signed[35])
    np.testing.assert_allclose(lut.predict_upper(test, alpha=0.1), expected, rtol=1e-9)


def test_interval_errors_name_the_cause(tiny, torch_table):
    with pytest.raises(ValueError, match="needs a calibrated table"):
        torch_table.predict_interval(tiny.sample(2, random_state=0))
    codes = tiny.sample_codes(10, random_state=0)
    y = _structured_targets(torch_table, codes, np.random.default_rng(0))
    lut = LatencyTable(tiny, table=torch_table.lut_, calibration="linear").fit(codes, y)
    with pytest.raises(ValueError, match="too small for 10 calibration archs.*at least 19"):
        lut.predict_interval(codes, alpha=0.05)
    for bad in (0, 1, -0.1, True, "0.1"):
        with pytest.raises(ValueError, match="alpha = .* is not allowed"):
            lut.predict_interval(codes, alpha=bad)
            lut.predict_upper(codes, alpha=bad)
    with pytest.raises(ValueError, match="predict_upper needs a calibrated table"):
        torch_table.predict_upper(codes)
    with pytest.raises(ValueError, match="too small for 10 calibration archs.*at least 19"):
        lut.predict_upper(codes, alpha=0.05)
