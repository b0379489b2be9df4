"""LatencyTable: real profiling of real blocks, resume after SIGKILL, OFA YAML parity, calibration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import joblib
import numpy as np
import pytest
from conftest import subprocess_env
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_ofa.efficiency import FLOPsModel, LatencyTable, load_ofa_lut
from sklearn_ofa.exceptions import MissingBlockError
from sklearn_ofa.spaces import MobileNetSpace, get_space

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


@pytest.fixture(scope="module")
def tiny():
    return MobileNetSpace(**TINY)


@pytest.fixture(scope="module")
def tiny_table(tiny):
    return LatencyTable(tiny, warmup=1, repeats=3, isolate=False).fit()


def test_fit_profiles_every_distinct_block(tiny, tiny_table):
    keys = {blk.key for _, _, blk in tiny.unit_entries() if blk is not None}
    assert tiny_table.n_blocks_ == len(keys)
    assert set(tiny_table.lut_[32]) == keys
    for st in tiny_table.lut_[32].values():
        assert st["count"] == 3 and st["min"] <= st["median"] and st["median"] > 0
        assert st["macs"] is not None


def test_predict_is_the_block_sum(tiny, tiny_table):
    archs = tiny.sample(20, random_state=0)
    pred = tiny_table.predict(archs)
    for arch, p in zip(archs, pred):
        expected = sum(tiny_table.lut_[32][b.key]["median"] for b in tiny.blocks(arch))
        assert p == pytest.approx(expected, rel=1e-12)
    assert np.array_equal(tiny_table.predict(tiny.to_codes(archs)), pred)
    macs = tiny_table.predict_macs(archs)
    assert np.allclose(macs, FLOPsModel(tiny, unit="1").fit().predict(archs))
    assert tiny_table.get_efficiency(archs[0]) == pytest.approx(pred[0])


def test_min_statistic_sums_the_fastest_repeats_and_measures_them(tiny, tiny_table):
    archs = tiny.sample(4, random_state=1)
    fastest = LatencyTable(tiny, table=tiny_table, statistic="min").fit()
    for arch, p in zip(archs, fastest.predict(archs)):
        expected = sum(tiny_table.lut_[32][b.key]["min"] for b in tiny.blocks(arch))
        assert p == pytest.approx(expected, rel=1e-12)
    assert np.all(fastest.predict(archs) <= tiny_table.predict(archs))
    lut = LatencyTable(tiny, warmup=1, repeats=5, isolate=False, statistic="min").fit(archs)
    stats = lut._measure_stats(archs, rounds=2, allow_other_device=False)
    assert np.all(stats["min"] <= stats["median"]) and np.all(stats["min"] > 0)
    measured = lut.measure(archs)
    assert measured.shape == (4,) and np.all(measured > 0)


def test_fit_on_archs_profiles_only_their_blocks(tiny):
    archs = tiny.sample(2, random_state=3)
    lut = LatencyTable(tiny, warmup=0, repeats=1, isolate=False).fit(archs)
    used = {b.key for a in archs for b in tiny.blocks(a)}
    assert set(lut.lut_[32]) == used
    other = [a for a in tiny.sample(200, random_state=4) if {b.key for b in tiny.blocks(a)} - used][
        0
    ]
    with pytest.raises(MissingBlockError, match="not in the latency table") as info:
        lut.predict([other])
    assert (
        info.value.missing_keys
        and set(info.value.missing_keys) == {b.key for b in tiny.blocks(other)} - used
    )
    lut.set_params(on_missing="profile")
    assert lut.predict([other])[0] > 0
    assert {b.key for b in tiny.blocks(other)} <= set(lut.lut_[32])


def test_isolated_profiling_records_allocator_settings(tiny):
    archs = tiny.sample(1, random_state=0)
    lut = LatencyTable(tiny, warmup=0, repeats=2, isolate=True).fit(archs)
    assert lut.settings_["allocator"]["MALLOC_MMAP_THRESHOLD_"] == "4294967296"
    assert lut.predict(archs)[0] > 0
    measured = lut.measure(archs)
    assert measured.shape == (1,) and measured[0] > 0


def test_verbose_shows_profiling_and_measuring_progress_on_stderr_only(tiny, capfd):
    archs = tiny.sample(2, random_state=0)
    lut = LatencyTable(tiny, warmup=0, repeats=1, isolate=False).fit(archs)
    assert lut.measure(archs, rounds=2).shape == (2,)
    assert capfd.readouterr() == ("", "")
    lut = LatencyTable(tiny, warmup=0, repeats=1, isolate=False, verbose=True).fit(archs)
    out, err = capfd.readouterr()
    assert out == "" and "profiling blocks" in err
    assert lut.measure(archs, rounds=2).shape == (2,)
    out, err = capfd.readouterr()
    assert out == "" and "measuring subnets" in err and "4/4" in err


def test_bad_parameters_are_named(tiny):
    with pytest.raises(
        ValueError, match=r"'statistic' parameter of LatencyTable must be a str among .*'max'"
    ):
        LatencyTable(tiny, statistic="max").fit()
    with pytest.raises(
        ValueError, match=r"device = 'tpu' is not allowed; allowed values: 'cpu', 'cuda'"
    ):
        LatencyTable(tiny, device="tpu").fit()
    with pytest.raises(
        ValueError, match=r"'repeats' parameter of LatencyTable must be an int in the range \[1,"
    ):
        LatencyTable(tiny, repeats=0).fit()


def test_persistence_predicts_without_profiling(tmp_path, tiny, tiny_table):
    archs = tiny.sample(5, random_state=1)
    path = tmp_path / "lut.joblib"
    joblib.dump(tiny_table, path)
    assert np.array_equal(joblib.load(path).predict(archs), tiny_table.predict(archs))
    sio = pytest.importorskip("skops.io")
    sio.dump(tiny_table, tmp_path / "lut.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "lut.skops")
    assert all(
        t.startswith(("sklearn_ofa.", "builtins.", "numpy.", "collections.")) for t in untrusted
    ), untrusted
    loaded = sio.load(tmp_path / "lut.skops", trusted=untrusted)
    assert np.array_equal(loaded.predict(archs), tiny_table.predict(archs))


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from sklearn_ofa.efficiency import LatencyTable
    from sklearn_ofa.spaces import MobileNetSpace
    space = MobileNetSpace(**{tiny!r})
    LatencyTable(space, warmup=2, repeats=30, isolate=False, cache_path=sys.argv[1]).fit()
    """
)


@pytest.mark.slow
def test_killed_fit_resumes_without_losing_measurements(tmp_path, tiny):
    journal = tmp_path / "journal.jsonl"
    script = tmp_path / "fit.py"
    script.write_text(_KILL_SCRIPT.format(tiny=TINY))
    total = len({b.key for _, _, b in tiny.unit_entries() if b is not None})
    seen = []
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(journal)], env=subprocess_env())
        deadline = time.time() + 60
        start = _count(journal)
        while time.time() < deadline and _count(journal) < start + 3 and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen.append(_count(journal))
    assert seen[-1] > seen[0] > 0, seen
    assert seen[-1] < total  # really interrupted
    before = _records(journal)
    lut = LatencyTable(tiny, warmup=2, repeats=30, isolate=False, cache_path=journal).fit()
    after = _records(journal)
    keys = [json.loads(line)["key"] for line in open(journal) if '"key"' in line]
    assert len(keys) == len(set(keys)) == total  # nothing duplicated, everything there
    for key, rec in before.items():  # finished measurements were kept, not redone
        assert after[key] == rec
        assert lut.lut_[32][key]["median"] == rec["median"]


def _records(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line:
            rec = json.loads(line)
            if "key" in rec:
                out[rec["key"]] = rec
    return out


def _count(path):
    if not os.path.exists(path):
        return 0
    return sum(1 for line in open(path) if '"key"' in line and line.endswith("\n"))


def test_resume_refuses_other_settings(tmp_path, tiny):
    journal = tmp_path / "j.jsonl"
    LatencyTable(tiny, warmup=0, repeats=1, isolate=False, cache_path=journal).fit(
        tiny.sample(1, random_state=0)
    )
    with pytest.raises(ValueError, match="measured with repeats = 1"):
        LatencyTable(tiny, warmup=0, repeats=2, isolate=False, cache_path=journal).fit()


# ------------------------------------------------------------------ calibration
def test_calibration_cross_validation_and_grid_search(tiny, tiny_table):
    archs = tiny.sample(30, random_state=7)
    raw = tiny_table.predict_raw(archs)
    y = 1.3 * raw + 0.2  # a real affine relation between block sums and totals
    est = LatencyTable(tiny, table=tiny_table.lut_, calibration="linear")
    scores = cross_val_score(est, archs, y, cv=3, scoring="neg_mean_absolute_percentage_error")
    assert scores.mean() > -1e-6
    grid = GridSearchCV(
        LatencyTable(tiny, table=tiny_table.lut_),
        {"calibration": ["linear", "per_type"]},
        cv=3,
        scoring="neg_mean_absolute_percentage_error",
    ).fit(archs, y)
    assert grid.best_params_["calibration"] in ("linear", "per_type")
    with pytest.raises(ValueError, match="needs X"):
        LatencyTable(tiny, table=tiny_table.lut_, calibration="linear").fit(None, y)


# ------------------------------------------------------------------- OFA tables
@pytest.fixture(scope="module")
def note10(ofa_reference):
    return LatencyTable.from_ofa_yaml(ofa_reference / "note10_lut", space="ofa_mbv3_w1.2")


def test_note10_parity_on_every_record(note10, parity):
    recs = [r for r in parity("mbv3_w1.2")["records"] if "note10_latency_ms" in r]
    assert len(recs) > 100
    pred = note10.predict([r["arch"] for r in recs])
    ref = np.array([r["note10_latency_ms"] for r in recs])
    np.testing.assert_allclose(pred, ref, rtol=1e-9)


def test_note10_specialized_nets(ofa_reference, parity, specialized_nets):
    spec = parity("specialized")
    # the Note10 tables are for w1.2: loaded for w1.0 they fit no block at all, which is an error
    with pytest.raises(
        ValueError,
        match=r"160_lookup_table.yaml: none of its 96 entries .* is a block of "
        r"space 'ofa_mbv3_w1.0' at image size 160",
    ):
        LatencyTable.from_ofa_yaml(ofa_reference / "note10_lut", space="ofa_mbv3_w1.0")
    note10_entries = load_ofa_lut(ofa_reference / "note10_lut")
    w12 = get_space("ofa_mbv3_w1.2", image_sizes=[160, 176, 192, 208, 224])
    w10_space = get_space("ofa_mbv3_w1.0", image_sizes=[160, 176, 192, 208, 224])
    note10 = LatencyTable.from_ofa_yaml(ofa_reference / "note10_lut", space=w12)
    checked = missing = 0
    for name, cfg, r in specialized_nets:
        if "note10_latency_ms" in spec[name]:
            arch = w12.from_net_config(cfg, r)
            assert note10.predict([arch])[0] == pytest.approx(
                spec[name]["note10_latency_ms"], rel=1e-9
            )
            checked += 1
        if "note10_lut_missing_key" in spec[name]:
            arch = w10_space.from_net_config(cfg, r)
            key = spec[name]["note10_lut_missing_key"].strip("'")
            assert key in {b.key for b in w10_space.blocks(arch)} and key not in note10_entries[r]
            missing += 1
    assert checked >= 2 and missing >= 5
    cfg30 = [c for n, c, _ in specialized_nets if n.startswith("note10_lat-30ms")][0]
    arch30 = w12.from_net_config(cfg30, 224)
    assert note10.predict([arch30])[0] == pytest.approx(29.965, abs=1e-3)


def test_ofa_yaml_round_trip(tmp_path, ofa_reference, note10, parity):
    note10.to_ofa_yaml(tmp_path)
    original = load_ofa_lut(ofa_reference / "note10_lut")
    written = load_ofa_lut(tmp_path)
    for r in original:
        for key in written[r]:
            assert written[r][key]["mean"] == original[r][key]["mean"]
            assert written[r][key]["std"] == pytest.approx(original[r][key]["std"])
            assert written[r][key]["count"] == original[r][key]["count"]
    back = LatencyTable.from_ofa_yaml(tmp_path, space="ofa_mbv3_w1.2")
    archs = [r["arch"] for r in parity("mbv3_w1.2")["records"] if "note10_latency_ms" in r]
    np.testing.assert_array_equal(back.predict(archs), note10.predict(archs))


def test_proxylessnas_mobile_trim_loads(ofa_reference):
    lut = load_ofa_lut(ofa_reference / "proxylessnas" / "mobile_trim.yaml")
    (size,) = lut
    assert size == 224
    entries = lut[224]
    key = "expanded_conv-input:112x112x16-output:56x56x24-expand:3-kernel:3-stride:2-idskip:0"
    assert entries[key]["mean"] == pytest.approx(6.240567073170731)
    assert entries[key]["std"] == pytest.approx(0.07330791484716055**0.5)
    cfg = json.loads((ofa_reference / "proxylessnas" / "proxyless_mobile.config").read_text())
    fsize, found = 112, 0
    for blk in cfg["blocks"]:
        conv = blk["mobile_inverted_conv"]
        if conv["name"] == "ZeroLayer":
            continue
        out = (fsize - 1) // conv["stride"] + 1
        k = (
            f"expanded_conv-input:{fsize}x{fsize}x{conv['in_channels']}-output:{out}x{out}x"
            f"{conv['out_channels']}-expand:{conv['expand_ratio']}-kernel:{conv['kernel_size']}-"
            f"stride:{conv['stride']}-idskip:{int(blk['shortcut'] is not None)}"
        )
        found += k in entries
        fsize = out
    assert found >= 15


def test_missing_files_and_bad_yaml(tmp_path):
    with pytest.raises(FileNotFoundError, match="no \\*.yaml"):
        load_ofa_lut(tmp_path)
    bad = tmp_path / "160_lookup_table.yaml"
    bad.write_text("Conv-input:160x160x3-output:80x80x24: 3\n")
    with pytest.raises(ValueError, match="must be a mapping with 'mean'"):
        load_ofa_lut(bad)
