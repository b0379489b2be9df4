"""The CLI's error contract, whole-or-nothing outputs and safe model loading.

Every subcommand is run for real (``main(argv)`` in-process, and as a process
for the exit codes and streams a shell sees) on broken input: malformed JSON,
truncated files, folders where files belong, missing paths, unwritable outputs,
pickles without ``--trust-pickle``, model files of the wrong kind, empty YAML
folders. Each must end with exit code 2 and exactly one stderr line and no
traceback; ``--debug`` shows the traceback. Models are real fitted estimators
saved with skops/joblib.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from conftest import subprocess_env
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_ofa import FLOPsModel, LatencyTable, make_accuracy_pipeline, persistence
from sklearn_ofa._io import atomic_folder
from sklearn_ofa._versioning import VersionStampMixin, package_version
from sklearn_ofa.cli import main
from sklearn_ofa.spaces import MobileNetSpace


def tiny_space() -> MobileNetSpace:
    return MobileNetSpace(
        "mbv3",
        base_stage_width=[8, 8, 8, 16, 16, 24, 24, 32, 64],
        depth_list=[1, 2],
        ks_list=[3],
        expand_ratio_list=[3],
        image_sizes=[32],
        n_classes=10,
        name="tiny",
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Real fitted models on a tiny space, as skops and joblib files, plus broken copies."""
    d = tmp_path_factory.mktemp("models")
    space = tiny_space()
    lut = LatencyTable(space, repeats=3, warmup=1, isolate=False).fit()
    archs = space.sample(40, random_state=0)
    y = [0.7 + 0.002 * sum(a["d"]) for a in archs]
    pipe = make_accuracy_pipeline(space, max_epochs=2, n_ensemble=1, random_state=0).fit(archs, y)
    flops = FLOPsModel(space).fit()
    paths = {
        "lut": persistence.save(lut, d / "lut.skops"),
        "acc": persistence.save(pipe, d / "acc.skops"),
        "flops": persistence.save(flops, d / "flops.skops"),
        "lut_pickle": d / "lut.joblib",
        "acc_pickle": d / "acc.joblib",
        "archs": d / "archs.json",
        "bad_json": d / "bad.json",
        "folder": d / "a_folder",
        "missing": d / "missing.skops",
        "under_file": d / "archs.json" / "out.skops",
        "empty_yaml": d / "empty_yaml",
        "truncated_skops": d / "truncated.skops",
        "truncated_pickle": d / "truncated.joblib",
        "empty_file": d / "empty.skops",
    }
    joblib.dump(lut, paths["lut_pickle"])
    joblib.dump(pipe, paths["acc_pickle"])
    paths["archs"].write_text(json.dumps(archs[:3]))
    paths["bad_json"].write_text('[{"ks": [3, 3')
    paths["folder"].mkdir()
    paths["empty_yaml"].mkdir()
    data = paths["lut"].read_bytes()
    paths["truncated_skops"].write_bytes(data[: len(data) // 2])
    data = paths["lut_pickle"].read_bytes()
    paths["truncated_pickle"].write_bytes(data[: len(data) // 2])
    paths["empty_file"].write_bytes(b"")
    return {k: str(v) for k, v in paths.items()} | {"_objects": (lut, pipe, flops, archs)}


def assert_user_error(capsys, argv, *words, code=2):
    """``main(argv)`` exits ``code`` with one stderr line, no traceback, naming ``words``."""
    assert main(argv) == code
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sklearn-ofa: error: ") and len(lines[0]) > len(
        "sklearn-ofa: error: "
    )
    assert "Traceback" not in captured.err + captured.out
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


# one row per (subcommand, failure): argv built from the fixture's paths, words the line must name
CASES = {
    # malformed JSON
    "lut-predict-bad-json": (
        ["lut", "predict", "--table", "{lut}", "--archs", "{bad_json}"],
        ["not valid JSON", "bad.json"],
    ),
    "acc-predict-bad-json": (
        ["acc", "predict", "--model", "{acc}", "--archs", "{bad_json}"],
        ["not valid JSON"],
    ),
    "info-arch-bad-json": (["info", "--arch", "{bad_json}", "--no-latency"], ["not valid JSON"]),
    "info-arch-bad-inline-json": (["info", "--arch", "{{not json", "--no-latency"], ["--arch"]),
    "info-net-config-bad-json": (
        ["info", "--net-config", "{bad_json}", "--no-latency"],
        ["net.config", "not valid JSON"],
    ),
    # truncated / empty / corrupt model files
    "lut-predict-truncated-skops": (
        ["lut", "predict", "--table", "{truncated_skops}", "--archs", "{archs}"],
        ["--table", "truncated"],
    ),
    "lut-predict-truncated-pickle": (
        ["lut", "predict", "--table", "{truncated_pickle}", "--archs", "{archs}", "--trust-pickle"],
        ["--table"],
    ),
    "acc-predict-empty-file": (
        ["acc", "predict", "--model", "{empty_file}", "--archs", "{archs}"],
        ["empty"],
    ),
    "acc-predict-json-as-model": (
        ["acc", "predict", "--model", "{archs}", "--archs", "{archs}"],
        ["neither a skops file nor a pickle"],
    ),
    "search-truncated": (
        ["search", "--accuracy", "{truncated_skops}", "--efficiency", "{lut}", "--constraint", "1"],
        ["--accuracy"],
    ),
    "lut-convert-truncated": (
        ["lut", "convert", "--table", "{truncated_skops}", "--out", "{folder}/yaml_out"],
        ["--table"],
    ),
    # a folder instead of a file
    "lut-predict-folder-table": (
        ["lut", "predict", "--table", "{folder}", "--archs", "{archs}"],
        ["is a folder"],
    ),
    "lut-predict-folder-archs": (
        ["lut", "predict", "--table", "{lut}", "--archs", "{folder}"],
        ["is a folder"],
    ),
    "acc-predict-folder": (
        ["acc", "predict", "--model", "{folder}", "--archs", "{archs}"],
        ["is a folder"],
    ),
    "acc-fit-out-folder": (["acc", "fit", "--out", "{folder}"], ["--out", "is a folder"]),
    "lut-convert-out-folder": (
        ["lut", "convert", "--from-yaml", "{empty_yaml}", "--out", "{folder}"],
        ["is a folder"],
    ),
    "search-folder": (
        ["search", "--accuracy", "{folder}", "--efficiency", "{lut}", "--constraint", "1"],
        ["is a folder"],
    ),
    "dataset-info-file": (["dataset", "info", "{archs}"], ["is a file, not a folder"]),
    "acc-cv-data-file": (["acc", "cv", "--data", "{archs}"], ["--data", "is a file"]),
    "lut-build-cache-folder": (
        ["lut", "build", "--out", "{folder}/x.skops", "--cache", "{folder}", "--quiet"],
        ["--cache", "is a folder"],
    ),
    # a path that does not exist
    "lut-predict-missing": (
        ["lut", "predict", "--table", "{missing}", "--archs", "{archs}"],
        ["does not exist"],
    ),
    "lut-predict-missing-archs": (
        ["lut", "predict", "--table", "{lut}", "--archs", "{missing}"],
        ["does not exist"],
    ),
    "lut-convert-missing": (
        ["lut", "convert", "--from-yaml", "{missing}", "--out", "{folder}/x.skops"],
        ["does not exist"],
    ),
    "acc-predict-missing": (
        ["acc", "predict", "--model", "{missing}", "--archs", "{archs}"],
        ["does not exist"],
    ),
    "search-missing": (
        ["search", "--accuracy", "{acc}", "--efficiency", "{missing}", "--constraint", "1"],
        ["--efficiency", "does not exist"],
    ),
    "info-missing": (["info", "--net-config", "{missing}", "--no-latency"], ["does not exist"]),
    "dataset-info-missing": (["dataset", "info", "{missing}"], ["does not exist"]),
    "dataset-merge-missing": (["dataset", "merge", "{missing}"], ["does not exist"]),
    "acc-fit-data-missing": (
        ["acc", "fit", "--data", "{missing}", "--out", "{folder}/m.skops"],
        ["--data", "does not exist"],
    ),
    # an output that cannot be written (a path under a regular file)
    "lut-build-unwritable": (
        ["lut", "build", "--out", "{under_file}", "--quiet"],
        ["--out", "is a file, not a folder"],
    ),
    "lut-build-yaml-unwritable": (
        ["lut", "build", "--out", "{folder}/x.skops", "--yaml", "{under_file}", "--quiet"],
        ["--yaml"],
    ),
    "lut-convert-unwritable": (
        ["lut", "convert", "--from-yaml", "{empty_yaml}", "--out", "{under_file}"],
        ["--out", "is a file"],
    ),
    "lut-convert-yaml-unwritable": (
        ["lut", "convert", "--table", "{lut}", "--out", "{under_file}"],
        ["--out"],
    ),
    "acc-fit-unwritable": (["acc", "fit", "--out", "{under_file}"], ["--out", "is a file"]),
    "demo-unwritable": (["demo", "--out", "{under_file}", "--quick"], ["--out"]),
    "dataset-build-unwritable": (
        ["dataset", "build", "{under_file}", "--evaluator", "json:loads"],
        ["is a file"],
    ),
    # a pickle without --trust-pickle
    "lut-predict-pickle": (
        ["lut", "predict", "--table", "{lut_pickle}", "--archs", "{archs}"],
        ["pickle", "arbitrary code", "--trust-pickle", ".skops"],
    ),
    "acc-predict-pickle": (
        ["acc", "predict", "--model", "{acc_pickle}", "--archs", "{archs}"],
        ["pickle", "--trust-pickle"],
    ),
    "lut-convert-pickle": (
        ["lut", "convert", "--table", "{lut_pickle}", "--out", "{folder}/y"],
        ["pickle", "--trust-pickle"],
    ),
    "search-pickle": (
        ["search", "--accuracy", "{acc_pickle}", "--efficiency", "{lut}", "--constraint", "1"],
        ["--accuracy", "pickle", "--trust-pickle"],
    ),
    # a model of the wrong kind
    "lut-predict-accuracy-model": (
        ["lut", "predict", "--table", "{acc}", "--archs", "{archs}"],
        ["accuracy model", "expected a latency model"],
    ),
    "acc-predict-latency-model": (
        ["acc", "predict", "--model", "{lut}", "--archs", "{archs}"],
        ["latency table", "expected an accuracy model"],
    ),
    "acc-predict-latency-pickle": (
        ["acc", "predict", "--model", "{lut_pickle}", "--archs", "{archs}", "--trust-pickle"],
        ["latency table"],
    ),
    "lut-convert-flops-model": (
        ["lut", "convert", "--table", "{flops}", "--out", "{folder}/z"],
        ["FLOPs model", "expected a latency table"],
    ),
    "search-swapped": (
        ["search", "--accuracy", "{lut}", "--efficiency", "{acc}", "--constraint", "1"],
        ["--accuracy", "expected an accuracy model"],
    ),
    # an empty YAML folder
    "lut-convert-empty-yaml": (
        ["lut", "convert", "--from-yaml", "{empty_yaml}", "--out", "{folder}/e.skops"],
        ["no *.yaml"],
    ),
    # bad arguments
    "no-subcommand": ([], ["required"]),
    "unknown-subcommand": (["frobnicate"], ["invalid choice"]),
    "lut-convert-neither": (["lut", "convert", "--out", "{folder}/n"], ["exactly one"]),
    "search-bad-constraint": (
        ["search", "--accuracy", "{acc}", "--efficiency", "{lut}", "--constraint", "fast"],
        ["--constraint"],
    ),
    "search-nan-constraint": (
        ["search", "--accuracy", "{acc}", "--efficiency", "{lut}", "--constraint", "nan"],
        ["--constraint"],
    ),
    "lut-build-bad-sizes": (
        ["lut", "build", "--out", "{folder}/x.skops", "--image-sizes", "a,b"],
        ["--image-sizes"],
    ),
    "search-bad-population": (
        [
            "search",
            "--accuracy",
            "{acc}",
            "--efficiency",
            "{lut}",
            "--constraint",
            "1",
            "--population",
            "1",
        ],
        ["population_size"],
    ),
    "acc-cv-one-fold": (["acc", "cv", "--folds", "1"], ["--folds"]),
    "info-nothing": (["info"], ["--arch", "--net-config"]),
    "info-bad-space": (["info", "--arch", "{archs}", "--space", "nope", "--no-latency"], ["nope"]),
    "dataset-bad-evaluator": (
        ["dataset", "build", "{folder}/ds", "--evaluator", "nomodule_xyz:f"],
        ["cannot import"],
    ),
    # invalid archs (library ValueError/TypeError name the field)
    "lut-predict-invalid-arch": (
        ["lut", "predict", "--table", "{lut}", "--archs", "{bad_arch}"],
        ["ks"],
    ),
    "acc-predict-wrong-type": (
        ["acc", "predict", "--model", "{acc}", "--archs", "{number_list}"],
        [],
    ),
}


@pytest.fixture(scope="module")
def paths(models, tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    arch = dict(models["_objects"][3][0])
    arch["ks"] = [4] * len(arch["ks"])
    (d / "bad_arch.json").write_text(json.dumps([arch]))
    (d / "number_list.json").write_text("[1, 2, 3]")
    return {
        **models,
        "bad_arch": str(d / "bad_arch.json"),
        "number_list": str(d / "number_list.json"),
    }


def _argv(template, paths):
    return [a.format(**paths) for a in template]


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_failure_is_one_line_and_exit_2(case, paths, capsys):
    template, words = CASES[case]
    before = sorted(os.listdir(paths["folder"]))
    assert_user_error(capsys, _argv(template, paths), *words)
    assert sorted(os.listdir(paths["folder"])) == before  # nothing half-written anywhere


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(paths, capsys, where):
    argv = ["lut", "predict", "--table", paths["acc"], "--archs", paths["archs"]]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-1].startswith("sklearn-ofa: error: --table")


def test_real_process_exit_codes_and_streams(paths):
    env = subprocess_env()
    cmd = [sys.executable, "-m", "sklearn_ofa.cli"]
    proc = subprocess.run(
        cmd + ["lut", "predict", "--table", paths["lut_pickle"], "--archs", paths["archs"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "--trust-pickle" in proc.stderr
    proc = subprocess.run(
        cmd
        + [
            "lut",
            "predict",
            "--table",
            paths["lut_pickle"],
            "--archs",
            paths["archs"],
            "--trust-pickle",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["latency_ms"]) == 3
    proc = subprocess.run(
        cmd + ["--debug", "acc", "predict", "--model", paths["folder"], "--archs", paths["archs"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_skops_models_work_end_to_end(paths, capsys):
    assert (
        main(["lut", "predict", "--table", paths["lut"], "--archs", paths["archs"], "--json"]) == 0
    )
    lut, pipe, flops, archs = paths["_objects"]
    out = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(out["latency_ms"], lut.predict(archs[:3]))
    assert (
        main(["acc", "predict", "--model", paths["acc"], "--archs", paths["archs"], "--json"]) == 0
    )
    np.testing.assert_allclose(
        json.loads(capsys.readouterr().out)["accuracy"], pipe.predict(archs[:3]), rtol=1e-6
    )
    assert main(["lut", "predict", "--table", paths["flops"], "--archs", paths["archs"]]) == 0
    capsys.readouterr()


def test_search_reports_its_generations(paths, capsys):
    lut, _, _, archs = paths["_objects"]
    limit = float(np.median(lut.predict(archs)))
    argv = [
        "search",
        "--accuracy",
        paths["acc"],
        "--efficiency",
        paths["lut"],
        "--constraint",
        f"{limit},{limit * 2}",
        "--population",
        "10",
        "--generations",
        "3",
    ]
    assert main(argv + ["--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["generations"] for r in res] == [3, 3]
    assert all(r["efficiency"] <= r["constraint"] for r in res)
    assert main(argv) == 0
    assert "(3 generations)" in capsys.readouterr().out


def test_search_progress_is_on_stderr_unless_quiet(paths, capsys):
    lut, _, _, archs = paths["_objects"]
    limit = 3.0 * float(np.median(lut.predict(archs)))  # generous: measured subnets fit
    argv = ["search", "--accuracy", paths["acc"], "--efficiency", paths["lut"]]
    argv += ["--constraint", str(limit), "--population", "10", "--generations", "3", "--json"]
    assert main(argv + ["--verify", "2"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["verified"] == 2  # stdout: the JSON alone
    assert "search (constraint" in captured.err and "measuring subnets" in captured.err
    assert main(argv + ["--verify", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["verified"] == 2 and captured.err == ""


# ------------------------------------------------------- internal faults, Ctrl-C
@pytest.fixture
def faulty_module(tmp_path, monkeypatch):
    """An importable module with transformers that fail inside ``predict``, as a real bug would."""
    (tmp_path / "faulty_steps.py").write_text(
        textwrap.dedent("""
        from sklearn.base import BaseEstimator, TransformerMixin

        class Buggy(TransformerMixin, BaseEstimator):
            def fit(self, X, y=None):
                return self

            def fit_transform(self, X, y=None):
                return X

            def transform(self, X):
                raise RuntimeError("something broke\\nsecond line")

        class Interrupt(Buggy):
            def transform(self, X):
                raise KeyboardInterrupt
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    return importlib.import_module("faulty_steps")


@pytest.mark.parametrize(
    "step, code, words",
    [
        ("Buggy", 1, ["internal error", "RuntimeError: something broke", "bug", "--debug"]),
        ("Interrupt", 130, ["interrupted"]),
    ],
)
def test_internal_fault_and_interrupt(faulty_module, paths, tmp_path, capsys, step, code, words):
    model = Pipeline([("step", getattr(faulty_module, step)()), ("reg", Ridge())])
    model.fit(np.eye(3), [1.0, 2.0, 3.0])
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    argv = ["acc", "predict", "--model", str(path), "--archs", paths["archs"], "--trust-pickle"]
    line = assert_user_error(capsys, argv, *words, code=code)
    assert "second line" not in line


# -------------------------------------------------------- whole or not at all
def test_yaml_folder_is_replaced_whole_and_foreign_folders_are_kept(paths, tmp_path, capsys):
    out = tmp_path / "yaml"
    assert main(["lut", "convert", "--table", paths["lut"], "--out", str(out)]) == 0
    first = sorted(p.name for p in out.iterdir())
    assert first == ["32_lookup_table.yaml"]
    (out / "160_lookup_table.yaml").write_text("stale: 1\n")  # a previous table's file
    assert main(["lut", "convert", "--table", paths["lut"], "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == first  # replaced as a whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yaml"]  # no temporary left
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert_user_error(
        capsys, ["lut", "convert", "--table", paths["lut"], "--out", str(out)], "notes.txt"
    )
    assert (out / "notes.txt").read_text() == "mine"


def test_demo_refuses_a_foreign_folder_before_any_work(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("precious")
    assert_user_error(capsys, ["demo", "--out", str(tmp_path), "--quick"], "thesis.tex")
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_atomic_folder_failure_keeps_the_old_folder(tmp_path):
    target = tmp_path / "out"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError, match="disk gone"):
        with atomic_folder(target) as tmp:
            (tmp / "a.txt").write_text("new")
            (tmp / "b.txt").write_text("half")
            raise RuntimeError("disk gone")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert (target / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(FileExistsError):
        with atomic_folder(target, replace=False):
            pass
    with atomic_folder(target) as tmp:
        (tmp / "c.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ------------------------------------------------------------ safe loading
def test_trusted_types_cover_real_fitted_models(paths, ofa_reference):
    from sklearn_ofa import load_ofa_predictor, make_accuracy_pipeline
    from sklearn_ofa.accuracy.losses import RankingMSELoss

    lut, pipe, flops, archs = paths["_objects"]
    note10 = LatencyTable.from_ofa_yaml(ofa_reference / "note10_lut", space="ofa_mbv3_w1.2")
    codes = note10.space_.sample_codes(30, random_state=0)
    calibrated = LatencyTable(
        "ofa_mbv3_w1.2",
        table=note10.lut_,
        calibration="per_type",
        statistic="mean",
        image_sizes=sorted(note10.lut_),
    ).fit(codes, 1.1 * note10.predict(codes) + 0.5)
    hybrid = LatencyTable(
        "ofa_mbv3_w1.2",
        table=note10.lut_,
        calibration="hybrid",
        statistic="mean",
        image_sizes=sorted(note10.lut_),
    ).fit(codes, 1.1 * note10.predict(codes) + 0.5)
    objects = [
        lut,
        pipe,
        flops,
        note10,
        calibrated,
        hybrid,
        load_ofa_predictor(ofa_reference / "predictors" / "acc_predictor.pth", "ofa_mbv3_w1.2"),
        load_ofa_predictor(
            ofa_reference / "predictors" / "ofa_resnet50_acc_predictor.pth", "ofa_resnet50"
        ),
        make_accuracy_pipeline(
            "ofa_mbv3_w1.2", criterion=RankingMSELoss, n_ensemble=1, hidden_size=8, max_epochs=1
        ).fit(codes, np.linspace(0.7, 0.8, len(codes))),
    ]
    needed = set()
    for obj in objects:
        needed |= set(sio.get_untrusted_types(data=sio.dumps(obj)))
    assert needed <= set(persistence.TRUSTED_TYPES), needed - set(persistence.TRUSTED_TYPES)
    # and nothing is trusted that no fitted model needs
    assert set(persistence.TRUSTED_TYPES) <= needed


def test_skops_round_trip_predicts_the_same(paths, tmp_path):
    lut, pipe, flops, archs = paths["_objects"]
    for name, obj in (("lut", lut), ("pipe", pipe), ("flops", flops)):
        path = persistence.save(obj, tmp_path / f"{name}.skops")
        assert persistence.file_format(path) == "skops"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # same version: no InconsistentVersionWarning
            loaded = persistence.load(path)
        assert type(loaded) is type(obj)
        np.testing.assert_allclose(loaded.predict(archs), obj.predict(archs), rtol=1e-6)
        assert "_sklearn_ofa_version" not in vars(loaded)  # a version stamp is consumed on load
        for step in getattr(loaded, "steps", []):
            assert "_sklearn_ofa_version" not in vars(step[1])
    # .joblib names write a (trusted-only) pickle
    path = persistence.save(flops, tmp_path / "flops.joblib")
    assert persistence.file_format(path) == "pickle"
    with pytest.raises(persistence.UntrustedPickleError, match="arbitrary code"):
        persistence.load(path)
    np.testing.assert_allclose(
        persistence.load(path, trust_pickle=True).predict(archs), flops.predict(archs)
    )


class Stamped(VersionStampMixin, Ridge):
    """A real estimator with the package's version stamp (as the package's estimators have)."""


def test_version_stamped_state_round_trips_through_skops(tmp_path):
    est = Stamped().fit(np.eye(3), [1.0, 2.0, 3.0])
    assert est.__getstate__()["_sklearn_ofa_version"] == package_version()
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == [f"{Stamped.__module__}.{Stamped.__qualname__}"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = sio.loads(data, trusted=untrusted)
    assert "_sklearn_ofa_version" not in vars(loaded)
    np.testing.assert_allclose(loaded.predict(np.eye(3)), est.predict(np.eye(3)))


def test_untrusted_types_are_refused_by_name(paths, tmp_path, capsys):
    evil = Pipeline([("f", FunctionTransformer(os.system)), ("r", Ridge())])
    path = tmp_path / "evil.skops"
    sio.dump(evil, path)
    with pytest.raises(persistence.UntrustedTypesError) as info:
        persistence.load(path)
    assert any("system" in t for t in info.value.types)
    line = assert_user_error(
        capsys,
        ["acc", "predict", "--model", str(path), "--archs", paths["archs"]],
        "does not trust",
        "system",
    )
    assert "posix" in line or "nt." in line


def test_corrupt_files_raise_model_file_error(paths, tmp_path):
    for key in ("truncated_skops", "empty_file"):
        with pytest.raises(persistence.ModelFileError):
            persistence.load(paths[key])
    with pytest.raises(persistence.ModelFileError):
        persistence.load(paths["truncated_pickle"], trust_pickle=True)
    with pytest.raises(FileNotFoundError):
        persistence.load(paths["missing"])
    with pytest.raises(IsADirectoryError):
        persistence.load(paths["folder"])


def test_a_failing_evaluator_is_a_user_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_evals.py").write_text(
        "def evaluate(arch):\n    raise RuntimeError('GPU fell off the bus')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = [
        "dataset",
        "build",
        str(tmp_path / "ds"),
        "--evaluator",
        "broken_evals:evaluate",
        "--n-arch",
        "2",
        "--image-sizes",
        "160",
        "--json",
        "--quiet",
    ]
    assert_user_error(
        capsys,
        argv,
        "--evaluator broken_evals:evaluate raised RuntimeError",
        "GPU fell off the bus",
    )


def test_a_failed_profiling_worker_is_one_line(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA (the worker must fail)")
    argv = [
        "lut",
        "build",
        "--space",
        "digits_mbv3",
        "--device",
        "cuda",
        "--out",
        str(tmp_path / "lut.skops"),
        "--quiet",
        "--repeats",
        "1",
        "--warmup",
        "0",
    ]
    assert_user_error(capsys, argv, "profiling worker failed", "cuda")
    assert not (tmp_path / "lut.skops").exists()


def test_search_pareto_prints_the_front(paths, capsys):
    pytest.importorskip("pymoo", reason="--pareto needs pymoo")
    argv = ["search", "--accuracy", paths["acc"], "--efficiency", paths["lut"], "--pareto"]
    argv += ["--population", "10", "--generations", "3"]
    assert main(argv + ["--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    acc, eff = (np.array([r[k] for r in rows]) for k in ("accuracy", "efficiency"))
    assert len(rows) >= 2 and (np.diff(eff) >= 0).all() and (np.diff(acc) >= 0).all()
    cap = float(np.median(eff))
    assert main(argv + ["--constraint", str(cap), "--json"]) == 0
    capped = json.loads(capsys.readouterr().out)
    assert capped == [r for r in rows if r["efficiency"] <= cap]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"Pareto front: {len(rows)} archs")
    assert_user_error(capsys, argv + ["--verify", "2"], "--verify is not allowed with --pareto")


def test_search_verify_measures_and_reports_side_by_side(paths, capsys):
    lut, _, _, archs = paths["_objects"]
    limit = 3.0 * float(np.median(lut.predict(archs)))  # generous: measured subnets fit
    argv = ["search", "--accuracy", paths["acc"], "--efficiency", paths["lut"]]
    argv += ["--constraint", f"{limit}", "--population", "10", "--generations", "2"]
    assert main(argv + ["--verify", "2", "--json"]) == 0
    (res,) = json.loads(capsys.readouterr().out)
    assert res["verified"] == 2 and 0 < res["measured_efficiency"] <= limit
    assert main(argv + ["--verify", "2"]) == 0
    assert " measured " in capsys.readouterr().out
    assert_user_error(
        capsys,
        ["search", "--accuracy", paths["acc"], "--efficiency", paths["flops"]]
        + ["--constraint", "1e9", "--population", "10", "--generations", "1", "--verify", "2"]
        + ["--quiet"],
        "verify needs an efficiency predictor that measures",
    )


def test_every_option_has_help_and_the_search_defaults_are_the_librarys():
    import argparse
    import inspect

    from sklearn_ofa.cli import build_parser
    from sklearn_ofa.efficiency import LatencyTable
    from sklearn_ofa.search import EvolutionFinder

    def parsers(parser, name):
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from parsers(sub, f"{name} {sub_name}")

    missing, shown = [], 0
    for name, parser in parsers(build_parser(), "sklearn-ofa"):
        text = parser.format_help()
        for action in parser._actions:
            if action.option_strings and action.dest != "help" and not action.help:
                missing.append(f"{name} {action.option_strings[0]}")
            if action.option_strings and isinstance(action.default, int) and action.default > 1:
                assert "default" in (
                    action.help or ""
                ) or f"(default: {action.default})" in " ".join(text.split()), (
                    name,
                    action.option_strings,
                )
                shown += 1
    assert not missing, missing
    assert shown > 5
    lib = inspect.signature(EvolutionFinder).parameters
    table = inspect.signature(LatencyTable).parameters
    defaults = {a.dest: a.default for _, p in parsers(build_parser(), "") for a in p._actions}
    search = dict(parsers(build_parser(), "sklearn-ofa"))["sklearn-ofa search"]
    sd = {a.dest: a.default for a in search._actions}
    assert sd["generations"] == lib["n_generations"].default
    assert sd["population"] == lib["population_size"].default
    assert defaults["warmup"] == table["warmup"].default
    assert defaults["repeats"] == table["repeats"].default
