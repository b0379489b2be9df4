"""Numbers you can trust: no silent wrong answer from the efficiency estimators.

Every test uses real tables (dicts, real OFA YAML files written to ``tmp_path``,
real profiling of a tiny space) and real estimators; nothing is mocked.
"""

from __future__ import annotations

import copyreg
import json
import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.dummy import DummyRegressor
from torch import nn

from sklearn_ofa._versioning import InconsistentVersionWarning, VersionStampMixin
from sklearn_ofa.efficiency import (
    FLOPsModel,
    LatencyTable,
    count_flops,
    count_parameters,
    fold_batchnorm,
    get_net_info,
    load_ofa_lut,
    measure_latency,
    save_ofa_lut,
)
from sklearn_ofa.efficiency.flops_model import block_macs
from sklearn_ofa.metrics import kendall_tau, mape, within_pct
from sklearn_ofa.spaces import MobileNetSpace

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
OTHER = dict(TINY, base_stage_width=[16, 16, 16, 24, 24, 32, 32, 48, 96], name="other")


@pytest.fixture(scope="module")
def tiny():
    return MobileNetSpace(**TINY)


def _keys(space) -> list[str]:
    return sorted({blk.key for _, _, blk in space.unit_entries() if blk is not None})


def _table(space, size: int = 32) -> dict:
    """A complete, plausible table of the space: block i takes 0.01 * (i + 1) ms."""
    return {
        size: {
            k: {"median": 0.01 * (i + 1), "mean": 0.011 * (i + 1), "std": 0.001, "count": 5}
            for i, k in enumerate(_keys(space))
        }
    }


@pytest.fixture(scope="module")
def table(tiny):
    return _table(tiny)


@pytest.fixture(scope="module")
def fitted(tiny, table):
    return LatencyTable(tiny, table=table).fit()


@pytest.fixture(scope="module")
def profiled(tiny):
    """A table really profiled on this machine (a few archs' blocks, one repeat)."""
    return LatencyTable(tiny, warmup=0, repeats=1, isolate=False).fit(
        tiny.sample(2, random_state=0)
    )


def _write_yaml(folder, table: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for size, entries in table.items():
        rows = {
            k: {"count": v["count"], "mean": v["mean"], "std": v["std"]} for k, v in entries.items()
        }
        (folder / f"{size}_lookup_table.yaml").write_text(yaml.safe_dump(rows, sort_keys=True))


def _corrupt_yaml(path, field: str, text: str) -> str:
    """Replace ``field`` of the first entry of an OFA YAML file by raw YAML ``text``; return the key."""
    lines = path.read_text().splitlines()
    key = lines[0].rstrip(":")
    for i, line in enumerate(lines[1:], 1):
        if line.strip().startswith(f"{field}:"):
            lines[i] = f"  {field}: {text}"
            break
    path.write_text("\n".join(lines) + "\n")
    return key


# ---------------------------------------------------------------- OFA YAML files
@pytest.mark.parametrize(
    "field, text, shown",
    [
        ("mean", "-0.5", "-0.5"),
        ("mean", ".nan", "nan"),
        ("mean", ".inf", "inf"),
        ("mean", "-.inf", "-inf"),
        ("mean", "fast", "'fast'"),
        ("mean", "true", "True"),
        ("std", "-1.0", "-1.0"),
        ("std", ".nan", "nan"),
        ("count", "0", "0"),
        ("count", "2.5", "2.5"),
    ],
)
def test_yaml_latency_must_be_finite_and_non_negative(tmp_path, tiny, table, field, text, shown):
    _write_yaml(tmp_path, table)
    path = tmp_path / "32_lookup_table.yaml"
    key = _corrupt_yaml(path, field, text)
    for load in (
        lambda: load_ofa_lut(tmp_path),
        lambda: LatencyTable.from_ofa_yaml(tmp_path, space=tiny),
    ):
        with pytest.raises(ValueError) as info:
            load()
        msg = str(info.value)
        assert str(path) in msg and repr(key) in msg and f"[{field!r}] = {shown}" in msg, msg
        assert "is not allowed; allowed values:" in msg


def test_yaml_negative_variance_raises(tmp_path):
    path = tmp_path / "224_lookup_table.yaml"
    path.write_text("expanded_conv-input:112x112x16-output:56x56x24:\n  mean: 1.0\n  var: -0.1\n")
    with pytest.raises(
        ValueError, match=r"224_lookup_table.yaml: entry .*\['var'\] = -0.1 is not allowed"
    ):
        load_ofa_lut(path)


def test_empty_yaml_file_raises(tmp_path):
    (tmp_path / "32_lookup_table.yaml").write_text("{}\n")
    with pytest.raises(ValueError, match="32_lookup_table.yaml: the latency table is empty"):
        load_ofa_lut(tmp_path)


def test_yaml_of_another_space_raises_naming_the_file(tmp_path, tiny):
    _write_yaml(tmp_path, _table(MobileNetSpace(**OTHER)))
    with pytest.raises(
        ValueError,
        match=r"32_lookup_table.yaml: none of its \d+ entries .* is a block of "
        r"space 'tiny' at image size 32",
    ):
        LatencyTable.from_ofa_yaml(tmp_path, space=tiny)


def test_cli_convert_of_a_yaml_that_fits_no_block_exits_2(tmp_path, capsys):
    from sklearn_ofa.cli import main

    _write_yaml(tmp_path / "yaml", _table(MobileNetSpace(**OTHER), size=224))
    out = tmp_path / "table.joblib"
    rc = main(
        [
            "lut",
            "convert",
            "--from-yaml",
            str(tmp_path / "yaml"),
            "--out",
            str(out),
            "--space",
            "ofa_mbv3_w1.2",
        ]
    )
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "224" in err


def test_yaml_round_trip_keeps_the_numbers(tmp_path, tiny, table):
    _write_yaml(tmp_path, table)
    lut = LatencyTable.from_ofa_yaml(tmp_path, space=tiny)
    assert lut.n_blocks_ == len(_keys(tiny)) and lut.settings_["source"] == "ofa_yaml"
    archs = tiny.sample(10, random_state=0)
    expected = [sum(table[32][b.key]["mean"] for b in tiny.blocks(a)) for a in archs]
    np.testing.assert_allclose(lut.predict(archs), expected, rtol=1e-12)
    with pytest.raises(ValueError, match=r"has no 'median' .*set statistic"):
        LatencyTable.from_ofa_yaml(tmp_path, space=tiny, statistic="median")


def test_save_ofa_lut_refuses_bad_numbers(tmp_path, table):
    bad = {32: dict(table[32])}
    key = next(iter(bad[32]))
    bad[32][key] = dict(bad[32][key], mean=float("nan"))
    with pytest.raises(ValueError, match=r"lut\[32\]\[.*\]\['mean'\] = nan is not allowed"):
        save_ofa_lut(bad, tmp_path / "out")
    assert not (tmp_path / "out" / "32_lookup_table.yaml").exists()
    with pytest.raises(TypeError, match="paths must be a folder"):
        load_ofa_lut(3)


# ------------------------------------------------------------------ table= dicts
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "0.3", True, None, [0.3]])
def test_table_param_latency_must_be_a_finite_number(tiny, table, value):
    bad = {32: dict(table[32])}
    key = sorted(bad[32])[3]
    bad[32][key] = dict(bad[32][key], median=value)
    with pytest.raises(ValueError) as info:
        LatencyTable(tiny, table=bad).fit()
    msg = str(info.value)
    assert f"table[32][{key!r}]['median'] = {value!r} is not allowed" in msg, msg


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"abc": {}}, r"table key 'abc' is not allowed"),
        ({True: {}}, r"table key True is not allowed"),
        ({0: {}}, r"table key 0 is not allowed"),
        ({32: [1, 2]}, r"table\[32\] must be a mapping"),
        ({32: {"Conv-x": 0.5}}, r"table\[32\]\['Conv-x'\] = 0.5 is not allowed"),
        (
            {32: {"Conv-x": {"std": 0.1}}},
            r"table\[32\]\['Conv-x'\] has neither 'median' nor 'mean'",
        ),
        ({32: {"Conv-x": {"mean": 0.1}}}, r"table\[32\]\['Conv-x'\] has no 'median'"),
        ({32: {"Conv-x": {"median": 0.1, "macs": -3}}}, r"\['macs'\] = -3 is not allowed"),
    ],
)
def test_table_param_structure_is_checked(tiny, bad, match):
    with pytest.raises(ValueError, match=match):
        LatencyTable(tiny, table=bad).fit()


def test_table_that_fits_no_block_raises(tiny):
    other = _table(MobileNetSpace(**OTHER))
    with pytest.raises(ValueError, match=r"table\[32\]: none of its \d+ entries .* space 'tiny'"):
        LatencyTable(tiny, table=other).fit()
    with pytest.raises(
        ValueError, match=r"the table has no block of space 'tiny' at image sizes \[32\]"
    ):
        LatencyTable(tiny, table={}).fit()
    with pytest.raises(
        ValueError, match=r"no block of space 'tiny' .* entries for image sizes \[224\]"
    ):
        LatencyTable(tiny, table=_table(tiny, size=224)).fit()


def test_json_string_size_keys_are_accepted(tiny, table, fitted):
    as_json = json.loads(json.dumps(table))  # {"32": ...}
    lut = LatencyTable(tiny, table=as_json).fit()
    archs = tiny.sample(5, random_state=2)
    np.testing.assert_array_equal(lut.predict(archs), fitted.predict(archs))


# ------------------------------------------------------------ profiling journal
@pytest.mark.parametrize("value", ["NaN", "-Infinity", "-0.2", '"0.2"'])
def test_journal_rows_are_checked(tmp_path, tiny, value):
    journal = tmp_path / "j.jsonl"
    archs = tiny.sample(1, random_state=0)
    LatencyTable(tiny, warmup=0, repeats=1, isolate=False, cache_path=journal).fit(archs)
    lines = journal.read_text().splitlines()
    rec = json.loads(lines[1])
    lines[1] = json.dumps(rec).replace(
        f'"median": {json.dumps(rec["median"])}', f'"median": {value}'
    )
    journal.write_text("\n".join(lines) + "\n")
    more = tiny.sample(30, random_state=1)  # needs blocks beyond the journal: it is read
    with pytest.raises(
        ValueError, match=rf"j.jsonl: line 2 \({rec['key']!r}\)\['median'\] = .* is not allowed"
    ):
        LatencyTable(tiny, warmup=0, repeats=1, isolate=False, cache_path=journal).fit(more)


def test_profiled_table_is_finite_and_positive(profiled):
    for st_ in profiled.lut_[32].values():
        assert all(
            math.isfinite(st_[f]) and st_[f] >= 0 for f in ("median", "mean", "std", "min", "iqr")
        )


# ------------------------------------------------------------------- calibration
def test_calibration_on_one_arch_raises(tiny, table):
    arch = tiny.sample(1, random_state=0)
    with pytest.raises(
        ValueError, match=r"calibration needs at least two distinct archs, but X has 1 sample"
    ):
        LatencyTable(tiny, table=table, calibration="linear").fit(arch, [3.0])
    with pytest.raises(ValueError, match=r"X has 3 sample\(s\) of 1 distinct arch"):
        LatencyTable(tiny, table=table, calibration="per_type").fit(arch * 3, [3.0, 3.1, 2.9])


def test_calibration_on_constant_targets_raises(tiny, table):
    archs = tiny.sample(6, random_state=1)
    with pytest.raises(
        ValueError, match=r"calibration needs targets that vary, but y is constant \(2.5 ms"
    ):
        LatencyTable(tiny, table=table, calibration="linear").fit(archs, [2.5] * 6)


def test_calibration_on_constant_block_sums_raises(tiny):
    flat = {32: {k: {"median": 0.1} for k in _keys(tiny)}}
    sampled = tiny.sample(4, random_state=3)
    archs = [
        dict(a, d=sampled[0]["d"]) for a in sampled
    ]  # same depths: same number of 0.1 ms blocks
    assert len(np.unique(tiny.to_codes(archs), axis=0)) >= 2
    with pytest.raises(
        ValueError,
        match=r"calibration needs block sums that vary, but the 4 archs of X have "
        r"the same block latencies",
    ):
        LatencyTable(tiny, table=flat, calibration="linear").fit(archs, [1.0, 2.0, 3.0, 4.0])


def test_y_without_calibration_raises(tiny, table):
    archs = tiny.sample(5, random_state=0)
    with pytest.raises(ValueError, match=r"y is given but calibration=None, so y would be ignored"):
        LatencyTable(tiny, table=table).fit(archs, np.arange(1.0, 6.0))


@pytest.mark.parametrize(
    "y, exc, match",
    [
        ([1.0, np.nan, 2.0, 3.0], ValueError, "Input y contains NaN"),
        ([1.0, np.inf, 2.0, 3.0], ValueError, "Input y contains infinity"),
        (
            [1.0, 0.0, 2.0, 3.0],
            ValueError,
            r"y\[1\] = 0.0 is not allowed; allowed values: measured latencies > 0",
        ),
        ([1.0, 2.0, -2.0, 3.0], ValueError, r"y\[2\] = -2.0 is not allowed"),
        (
            ["1", "2", "3", "4"],
            TypeError,
            r"y must be measured latencies in ms \(numbers\), got dtype <U1",
        ),
        ([True, False, True, True], TypeError, "bools are not latencies"),
        ([1.0, 2.0, 3.0], ValueError, "y has 3 values but X has 4 archs"),
    ],
)
def test_calibration_targets_are_checked(tiny, table, y, exc, match):
    archs = tiny.sample(4, random_state=5)
    with pytest.raises(exc, match=match):
        LatencyTable(tiny, table=table, calibration="linear").fit(archs, y)


def test_calibrated_predictions_are_never_negative_or_infinite(tiny, table, fitted):
    archs = tiny.sample(200, random_state=0)
    raw = fitted.predict_raw(archs)
    big = np.argsort(raw)[-20:]
    train = [archs[i] for i in big]
    y = 3.0 * raw[big] - 2.9 * raw[big].min()  # exact line: slope 3, a large negative intercept
    cal = LatencyTable(tiny, table=table, calibration="linear").fit(train, y)
    np.testing.assert_allclose(cal.predict(train), y, rtol=1e-6)
    smallest = archs[int(np.argmin(raw))]
    with pytest.raises(
        ValueError,
        match=r"calibrated latency \(ms\) of X\[0\] is -[\d.e-]+, not a finite "
        r"number >= 0 .*extrapolates",
    ):
        cal.predict([smallest])
    assert np.all(np.isfinite(cal.predict_raw([smallest])))
    negative = LatencyTable(
        tiny, table=table, calibration=DummyRegressor(strategy="constant", constant=-1.0)
    )
    negative.fit(train, y)
    with pytest.raises(ValueError, match=r"of X\[0\] is -1.0, not a finite number >= 0 \(5 of 5"):
        negative.predict(archs[:5])


# --------------------------------------------------------------- empty inputs
def test_predict_on_zero_archs_returns_an_empty_float_array(tiny, table, fitted):
    archs = tiny.sample(10, random_state=0)
    cal = LatencyTable(tiny, table=table, calibration="per_type").fit(
        archs, fitted.predict(archs) * 1.2 + 0.1
    )
    flops = FLOPsModel(tiny).fit()
    empties = [
        [],
        tiny.to_codes([]),
        np.empty((0, tiny.n_genes), dtype=np.int64),
        pd.DataFrame(columns=tiny.arch_keys),
    ]
    for X in empties:
        for method in (
            fitted.predict,
            fitted.predict_raw,
            fitted.predict_macs,
            cal.predict,
            flops.predict,
            flops.predict_macs,
            flops.predict_flops,
        ):
            out = method(X)
            assert isinstance(out, np.ndarray) and out.shape == (0,) and out.dtype == np.float64, (
                method
            )


def test_fit_on_zero_samples_raises_sklearns_message(tiny, table):
    for X in ([], tiny.to_codes([])):
        with pytest.raises(
            ValueError,
            match=r"Found array with 0 sample\(s\) \(shape=\(0, \d+\)\) while a "
            r"minimum of 1 is required by LatencyTable",
        ):
            LatencyTable(tiny, table=table).fit(X)
        with pytest.raises(
            ValueError, match=r"Found array with 0 sample\(s\) .* required by LatencyTable"
        ):
            LatencyTable(tiny, table=table, calibration="linear").fit(X, [])
        with pytest.raises(
            ValueError, match=r"Found array with 0 sample\(s\) .* required by FLOPsModel"
        ):
            FLOPsModel(tiny).fit(X)


# -------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "param, value",
    [("space", "nope"), ("space", 3), ("unit", "T"), ("unit", 1), ("unit", None), ("unit", "m")],
)
def test_flops_model_bad_params_are_named(param, value):
    with pytest.raises((ValueError, TypeError)) as info:
        FLOPsModel(**{param: value}).fit()
    msg = str(info.value)
    assert param in msg and repr(value) in msg, msg


@pytest.mark.parametrize(
    "param, value",
    [
        ("repeats", True),
        ("repeats", 2.5),
        ("repeats", 0),
        ("warmup", -1),
        ("warmup", 1.0),
        ("batch_size", "1"),
        ("num_threads", 0),
        ("min_run_time", float("nan")),
        ("min_run_time", -1.0),
        ("min_run_time", float("inf")),
        ("min_run_time", "1"),
        ("fold_bn", "yes"),
        ("isolate", 1),
        ("statistic", "max"),
        ("calibration", "quadratic"),
        ("calibration", 3),
        ("table", [1, 2]),
        ("cache_path", 3),
        ("on_missing", "skip"),
        ("device", "tpu"),
        ("device", "cuda:x"),
        ("device", 0),
        ("image_sizes", [32.5]),
        ("image_sizes", [True]),
        ("image_sizes", "32"),
        ("image_sizes", []),
        ("verbose", "loud"),
        ("space", "nope"),
    ],
)
def test_latency_table_bad_params_are_named(tiny, table, param, value):
    params = {"space": tiny, "table": table, param: value}
    with pytest.raises((ValueError, TypeError)) as info:
        LatencyTable(**params).fit()
    msg = str(info.value)
    assert param in msg, msg


# ------------------------------------------------------------------- measure
def test_measure_refuses_a_yaml_table_from_another_device(tmp_path, tiny, table):
    _write_yaml(tmp_path, table)
    lut = LatencyTable.from_ofa_yaml(tmp_path, space=tiny, warmup=0, repeats=1, isolate=False)
    archs = tiny.sample(2, random_state=0)
    with pytest.raises(
        ValueError,
        match=r"come from OFA YAML files \(.*32_lookup_table.yaml\) measured on "
        r"another device.*allow_other_device=True",
    ):
        lut.measure(archs)
    out = lut.measure(archs, allow_other_device=True)
    assert out.shape == (2,) and np.all(np.isfinite(out)) and np.all(out > 0)
    with pytest.raises(ValueError, match=r"passed as table= .*allow_other_device=True"):
        LatencyTable(tiny, table=table).fit().measure(archs)


def test_measure_refuses_other_settings_than_the_profile(tiny, profiled):
    archs = tiny.sample(2, random_state=0)
    out = profiled.measure(archs)
    assert out.shape == (2,) and np.all(np.isfinite(out) & (out > 0))
    changed = pickle.loads(pickle.dumps(profiled)).set_params(repeats=3)
    with pytest.raises(
        ValueError, match=r"profiled with repeats = 1 but measure\(\) would use repeats = 3"
    ):
        changed.measure(archs)
    assert profiled.measure([]).shape == (0,)


# ------------------------------------------------------------- version stamp
def _unpickle_with_stamp(est, stamp):
    """Pickle ``est`` with ``stamp`` written into its state dict, and unpickle it."""
    state = est.__getstate__()
    assert state["_sklearn_ofa_version"] != stamp
    state["_sklearn_ofa_version"] = stamp

    class Edited:
        def __reduce__(self):
            return copyreg._reconstructor, (type(est), object, None), state

    return pickle.loads(pickle.dumps(Edited()))


@pytest.mark.parametrize(
    "make", [lambda s, t: LatencyTable(s, table=t).fit(), lambda s, t: FLOPsModel(s).fit()]
)
def test_version_stamp_warns_on_another_version(tiny, table, make):
    import sklearn_ofa

    est = make(tiny, table)
    assert type(est).__mro__[1] is VersionStampMixin
    assert est.__getstate__()["_sklearn_ofa_version"] == sklearn_ofa.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        same = pickle.loads(pickle.dumps(est))
    archs = tiny.sample(3, random_state=0)
    np.testing.assert_array_equal(same.predict(archs), est.predict(archs))
    with pytest.warns(
        InconsistentVersionWarning, match=r"from sklearn_ofa version 0\.0\.1 when using version"
    ):
        old = _unpickle_with_stamp(est, "0.0.1")
    np.testing.assert_array_equal(old.predict(archs), est.predict(archs))


# ------------------------------------------------------------ public functions
def test_public_functions_check_their_arguments():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    cases = [
        (lambda: count_flops("net"), TypeError, "model must be a torch.nn.Module, got str"),
        (
            lambda: count_flops(net, (3, 8, 8), convention="mmac"),
            ValueError,
            "convention = 'mmac' is not allowed",
        ),
        (
            lambda: count_flops(net, (3, 8, 8), convention=["full"]),
            ValueError,
            r"convention = \['full'\]",
        ),
        (
            lambda: count_flops(net, (3, 8, 8), per_sample="yes"),
            TypeError,
            "per_sample = 'yes' is not allowed",
        ),
        (
            lambda: count_flops(net, (3, 8, 8), batch_size=True),
            ValueError,
            "batch_size = True is not allowed",
        ),
        (
            lambda: count_flops(net, (3, 8, 8), batch_size=2.0),
            ValueError,
            "batch_size = 2.0 is not allowed",
        ),
        (
            lambda: count_flops(net, (3, 8.5, 8)),
            ValueError,
            r"input_shape = \(3, 8.5, 8\) is not allowed",
        ),
        (
            lambda: count_flops(net, torch.zeros(())),
            ValueError,
            "input_shape: an input tensor needs a batch",
        ),
        (
            lambda: count_parameters(net, trainable_only=1),
            TypeError,
            "trainable_only = 1 is not allowed",
        ),
        (lambda: count_parameters([net]), TypeError, "model must be a torch.nn.Module, got list"),
        (
            lambda: measure_latency(net, (3, 8, 8), min_run_time=float("inf")),
            ValueError,
            "min_run_time = inf is not allowed; allowed values: a finite number of seconds",
        ),
        (
            lambda: measure_latency(net, (3, 8, 8), repeats=2.0),
            ValueError,
            "repeats = 2.0 is not allowed",
        ),
        (
            lambda: measure_latency(net, (3, 8, 8), warmup=False),
            ValueError,
            "warmup = False is not allowed",
        ),
        (
            lambda: measure_latency(net, (3, 8, 8), fold_bn="no"),
            TypeError,
            "fold_bn = 'no' is not allowed",
        ),
        (lambda: measure_latency(net, (3, 8, 8), device=0), TypeError, "device = 0 is not allowed"),
        (lambda: measure_latency(net, (3, 8, 8), num_threads=1.5), ValueError, "num_threads = 1.5"),
        (
            lambda: get_net_info(net, (3, 8, 8), convention="x"),
            ValueError,
            "convention = 'x' is not allowed",
        ),
        (
            lambda: get_net_info(net, (3, 8, 8), batch_size=0),
            ValueError,
            "batch_size = 0 is not allowed",
        ),
        (
            lambda: get_net_info(net, (3, 8, 8), latency_devices=5),
            TypeError,
            "latency_devices = 5 is not allowed",
        ),
        (
            lambda: get_net_info(net, (3, 8, 8), latency_devices=["tpu"]),
            ValueError,
            "device = 'tpu'",
        ),
        (
            lambda: get_net_info(net, (3, 8, 8), repeat=3),
            TypeError,
            r"unexpected keyword argument\(s\) \['repeat'\]",
        ),
        (
            lambda: get_net_info(net, (3, 8, 8), repeats=-1),
            ValueError,
            "repeats = -1 is not allowed",
        ),
        (lambda: fold_batchnorm("net"), TypeError, "model must be a torch.nn.Module"),
        (
            lambda: block_macs({"op": "conv"}),
            TypeError,
            "block must be a sklearn_ofa.spaces.Block, got dict",
        ),
        (lambda: mape([1.0, 0.0], [1.0, 1.0]), ValueError, r"y_true\[1\] = 0.0 is not allowed"),
        (lambda: mape([1.0, 2.0], [1.0, np.nan]), ValueError, r"y_pred\[1\] = nan is not allowed"),
        (lambda: mape([], []), ValueError, "y_true and y_pred are empty"),
        (lambda: mape(["a"], [1.0]), TypeError, "y_true must be numbers"),
        (
            lambda: within_pct([1.0], [1.0], pct=-5),
            ValueError,
            r"'pct' parameter of within_pct must be .* Got -5",
        ),
        (lambda: kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]), ValueError, "Kendall tau needs"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()
    info = get_net_info(net, (3, 8, 8), latency_devices=[], convention="ofa")
    assert info.macs == count_flops(net, (3, 8, 8), convention="ofa").macs and not info.latency


# ------------------------------------------------------------ property tests
_FIELD_TOKENS = ("arch", "codes", "ks", "'e'", "'d'", "image_size", "X[")

_junk_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(-2, 9), max_size=4),
)


def _junk_inputs(space):
    arch = space.sample(1, random_state=0)[0]
    keys = list(arch)
    perturbed = st.builds(
        lambda k, v, n: [dict(arch, **{k: v})] * n,
        st.sampled_from(keys),
        _junk_scalars,
        st.integers(1, 3),
    )
    element_junk = st.builds(
        lambda k, i, v: (
            [dict(arch, **{k: [v if j == i else x for j, x in enumerate(arch[k])]})]
            if isinstance(arch[k], list)
            else [dict(arch, **{k: v})]
        ),
        st.sampled_from(keys),
        st.integers(0, 3),
        _junk_scalars,
    )
    dicts = st.lists(
        st.dictionaries(st.sampled_from([*keys, "foo"]), _junk_scalars, max_size=5), max_size=3
    )
    elements = {
        np.int8: st.integers(-3, 6),
        np.int16: st.integers(-3, 6),
        np.int64: st.integers(-3, 6),
        np.uint8: st.integers(0, 6),
        np.float64: st.floats(-3, 6) | st.just(np.nan) | st.just(np.inf),
        np.bool_: st.booleans(),
    }
    widths = [space.n_genes, space.n_genes - 1, space.n_genes + 1, 1]
    shapes = st.tuples(st.integers(0, 4), st.sampled_from(widths))
    arrays = st.sampled_from(list(elements)).flatmap(
        lambda dt: hnp.arrays(dtype=dt, shape=shapes, elements=elements[dt])
    )
    valid = st.builds(
        lambda n, seed: space.sample_codes(n, random_state=seed),
        st.integers(0, 6),
        st.integers(0, 99),
    )
    flips = st.builds(
        lambda seed, r, c, v: _set(space.sample_codes(3, random_state=seed), r, c, v),
        st.integers(0, 99),
        st.integers(0, 2),
        st.integers(0, space.n_genes - 1),
        st.integers(-3, 5),
    )
    return st.one_of(_junk_scalars, perturbed, element_junk, dicts, arrays, valid, flips)


def _set(codes, r, c, v):
    codes = codes.copy()
    codes[r, c] = v
    return codes


def _n_archs(X):
    if isinstance(X, np.ndarray):
        return X.shape[0]
    return len(X) if isinstance(X, list) else None


def _check_property(predict, X):
    try:
        out = predict(X)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert msg and any(t in msg for t in _FIELD_TOKENS), (
            f"{type(exc).__name__} names no field: {msg!r}"
        )
        return
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.ndim == 1
    n = _n_archs(X)
    if n is not None:
        assert out.shape == (n,)
    assert np.all(np.isfinite(out)) and np.all(out >= 0)


_PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(data=st.data())
def test_latency_table_predict_property(data):
    space = MobileNetSpace(**TINY)
    lut = _latency_table_for_property()
    _check_property(lut.predict, data.draw(_junk_inputs(space)))


@_PROPERTY
@given(data=st.data())
def test_flops_model_predict_property(data):
    model = _flops_model_for_property()
    _check_property(model.predict, data.draw(_junk_inputs(model.space_)))


_CACHE: dict = {}


def _latency_table_for_property():
    if "lut" not in _CACHE:
        space = MobileNetSpace(**TINY)
        _CACHE["lut"] = LatencyTable(space, table=_table(space)).fit()
    return _CACHE["lut"]


def _flops_model_for_property():
    if "flops" not in _CACHE:
        _CACHE["flops"] = FLOPsModel("ofa_mbv3_w1.2").fit()
    return _CACHE["flops"]
