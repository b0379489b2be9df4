"""The sklearn-ofa command: the main job end to end, subcommands, one-line errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import subprocess_env

from sklearn_ofa import FLOPsModel
from sklearn_ofa.cli import main
from sklearn_ofa.spaces import get_space


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sklearn_ofa.cli", *args],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=600,
    )


@pytest.mark.slow
def test_demo_quick_writes_a_complete_report(tmp_path):
    out = tmp_path / "demo"
    proc = run("demo", "--quick", "--json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    printed = json.loads(proc.stdout)  # --json: stdout is the JSON report and nothing else
    assert printed["search"] == report["search"]
    assert "[sklearn-ofa demo]" in proc.stderr  # progress goes to stderr
    assert report["accuracy"]["n_subnets"] > 0 and -1 <= report["accuracy"]["kendall_tau_cv"] <= 1
    assert report["latency"]["distinct_blocks"] > 0
    assert len(report["search"]) == 3
    lat = [s["predicted_latency_ms"] for s in report["search"]]
    for s in report["search"]:
        assert s["predicted_latency_ms"] <= s["latency_constraint_ms"] + 1e-9
        get_space("digits_mbv3").validate(s["arch"])
    assert lat == sorted(lat)
    im = report["imagenet"]  # real ImageNet subnets: CV, cross-search split, search at 224
    assert im["n_subnets"] == 300 and -1 <= im["kendall_tau_cv"] <= 1
    assert im["cross_search"]["n_train"] + im["cross_search"]["n_test"] == 300
    assert im["lut_blocks"] > 0 and "Intel Corporation" in im["attribution"]
    for s in im["search"]:
        assert s["predicted_latency_ms"] <= s["latency_constraint_ms"] + 1e-9
        assert get_space("ofa_mbv3_w1.0").validate(s["arch"])["image_size"] == 224
        assert 0.70 < s["best_measured_top1_within"] < 0.78
    assert "ImageNet" in report["text"]
    for name in (
        "report.txt",
        "accuracy_parity.png",
        "latency_parity.png",
        "pareto.png",
        "accuracy_pipeline.skops",
        "latency_table.skops",
        "lut_journal.jsonl",
    ):
        assert (out / name).stat().st_size > 0, name
    assert list((out / "latency_table_yaml").glob("*_lookup_table.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no temporary, no journal left
    # the saved models load safely and drive the CLI
    archs = tmp_path / "archs.json"
    archs.write_text(json.dumps([s["arch"] for s in report["search"]]))
    proc = run(
        "lut",
        "predict",
        "--table",
        str(out / "latency_table.skops"),
        "--archs",
        str(archs),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["latency_ms"] == pytest.approx(lat, rel=1e-6)


def test_user_mistakes_are_one_line_errors(tmp_path, capsys):
    assert (
        main(["lut", "predict", "--table", str(tmp_path / "none.skops"), "--archs", "x.json"]) == 2
    )
    err = capsys.readouterr().err
    assert (
        err.startswith("sklearn-ofa: error:") and "does not exist" in err and "Traceback" not in err
    )
    bad = tmp_path / "archs.json"
    bad.write_text("{not json")
    assert main(["info", "--arch", str(bad), "--no-latency"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    arch = get_space("ofa_mbv3_w1.2").sample(1, random_state=0)[0]
    arch["ks"][0] = 4
    assert main(["info", "--arch", json.dumps(arch), "--no-latency"]) == 2
    err = capsys.readouterr().err
    assert "['ks'][0] = 4 is not allowed" in err and len(err.strip().splitlines()) == 1
    proc = run("search", "--accuracy", "a", "--efficiency", "b")
    assert proc.returncode == 2 and "--constraint" in proc.stderr


def test_info_on_an_arch_and_a_specialized_net(ofa_reference, parity, capsys):
    arch = get_space("ofa_mbv3_w1.2").sample(1, random_state=0)[0]
    assert (
        main(["info", "--arch", json.dumps(arch), "--json", "--repeats", "2", "--warmup", "1"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["params"] > 0 and out["flops"] == 2 * out["macs"] and out["cpu_latency_ms"]["n"] == 2
    folder = ofa_reference / "specialized" / "flops-389M_top1-79.1_finetune-75"
    assert main(["info", "--net-config", str(folder), "--json", "--no-latency"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["macs"] == 389_487_856  # exact count (OFA's float32 hook total reads 389,487,872)
    assert out["params"] == parity("specialized")[folder.name]["params"]


def test_lut_convert_and_predict(tmp_path, ofa_reference, parity, capsys):
    table = tmp_path / "note10.skops"
    assert (
        main(
            [
                "lut",
                "convert",
                "--from-yaml",
                str(ofa_reference / "note10_lut"),
                "--out",
                str(table),
            ]
        )
        == 0
    )
    recs = [r for r in parity("mbv3_w1.2")["records"] if "note10_latency_ms" in r][:5]
    archs = tmp_path / "archs.json"
    archs.write_text(json.dumps([r["arch"] for r in recs]))
    capsys.readouterr()
    assert main(["lut", "predict", "--table", str(table), "--archs", str(archs), "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)["latency_ms"]
    assert pred == pytest.approx([r["note10_latency_ms"] for r in recs], rel=1e-9)
    assert main(["lut", "convert", "--table", str(table), "--out", str(tmp_path / "yaml")]) == 0
    assert len(list((tmp_path / "yaml").glob("*_lookup_table.yaml"))) == 5
    # a joblib file (a pickle) is read only with --trust-pickle
    pickled = tmp_path / "note10.joblib"
    assert (
        main(["lut", "convert", "--from-yaml", str(tmp_path / "yaml"), "--out", str(pickled)]) == 0
    )
    capsys.readouterr()
    assert main(["lut", "predict", "--table", str(pickled), "--archs", str(archs)]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert (
        main(
            [
                "lut",
                "predict",
                "--table",
                str(pickled),
                "--archs",
                str(archs),
                "--json",
                "--trust-pickle",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["latency_ms"] == pytest.approx(pred, rel=1e-9)


def test_dataset_build_with_an_importable_evaluator_resumes(tmp_path, capsys, monkeypatch):
    mod = tmp_path / "my_evals.py"
    mod.write_text(
        "from sklearn_ofa import FLOPsModel\n"
        "_flops = FLOPsModel('ofa_mbv3_w1.2').fit()\n"
        "def evaluate(arch):\n"
        "    return 60.0 + float(_flops.predict([arch])[0]) / 100.0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "ds"
    argv = [
        "dataset",
        "build",
        str(folder),
        "--evaluator",
        "my_evals:evaluate",
        "--n-arch",
        "4",
        "--image-sizes",
        "160,224",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_records"] == 8 and out["image_sizes"] == [160, 224]
    from sklearn_ofa.accuracy import AccuracyDataset

    X, y = AccuracyDataset(folder, space="ofa_mbv3_w1.2").load()
    flops = FLOPsModel("ofa_mbv3_w1.2").fit()
    np.testing.assert_allclose(np.asarray(y) * 100, 60.0 + flops.predict(X) / 100.0, rtol=1e-6)
    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert main(argv) == 0  # complete: a rerun evaluates nothing and changes nothing
    capsys.readouterr()
    assert {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    "spec, words",
    [
        (None, "module:attribute"),
        ("nonexistent_module_xyz:f", "cannot import"),
        ("json:no_such_function", "no attribute"),
        ("json:__name__", "neither callable"),
    ],
)
def test_dataset_build_bad_evaluator_is_one_line(tmp_path, capsys, spec, words):
    argv = ["dataset", "build", str(tmp_path / "ds")] + (["--evaluator", spec] if spec else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "--evaluator" in err and len(err.splitlines()) == 1


def test_dataset_info(tmp_path, capsys):
    from sklearn_ofa.accuracy import AccuracyDataset

    space = get_space("ofa_mbv3_w1.2", image_sizes=[160, 224])
    AccuracyDataset(tmp_path, space=space).build(
        lambda a: 70.0 + a["image_size"] / 100, n_arch=3, random_state=0, verbose=False
    )
    assert main(["dataset", "info", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_records"] == 6 and out["image_sizes"] == [160, 224]
    assert out["top1_max"] == pytest.approx(0.7224)


def test_acc_import_ofa_saves_a_pipeline_that_predicts_as_the_library(ofa_reference, tmp_path):
    from sklearn_ofa.accuracy.ofa_import import load_ofa_predictor
    from sklearn_ofa.persistence import load

    pth = ofa_reference / "predictors" / "acc_predictor.pth"
    out = tmp_path / "ofa.skops"
    proc = run("acc", "import-ofa", str(pth), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["n_features"] == 145
    space = get_space("ofa_mbv3_w1.2")
    archs = space.sample(20, random_state=0)
    expected = load_ofa_predictor(pth, "ofa_mbv3_w1.2").predict(archs)
    np.testing.assert_array_equal(load(out).predict(archs), expected)  # loads untrusted: skops
    # archs in OFA's own form go through `acc predict`
    ofa_form = [
        {"wid": None, "ks": a["ks"], "e": a["e"], "d": a["d"], "r": [a["image_size"]]}
        for a in archs
    ]
    (tmp_path / "archs.json").write_text(json.dumps(ofa_form))
    proc = run(
        "acc", "predict", "--model", str(out), "--archs", str(tmp_path / "archs.json"), "--json"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_allclose(json.loads(proc.stdout)["accuracy"], expected, rtol=1e-6)
    proc = run("acc", "import-ofa", str(pth), "--space", "ofa_resnet50", "--out", str(out))
    assert proc.returncode == 2 and "space 'ofa_resnet50' does not match" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dataset_build_imports_an_evaluator_of_the_current_folder(tmp_path):
    # the console script's sys.path[0] is its bin folder, not the current one
    (tmp_path / "here_evals.py").write_text("def evaluate(arch):\n    return 70.0\n")
    exe = str(Path(sys.executable).with_name("sklearn-ofa"))
    args = ["dataset", "build", "ds", "--evaluator", "here_evals:evaluate", "--n-arch", "2"]
    args += ["--image-sizes", "160", "--json", "--space", "ofa_mbv3_w1.2"]
    proc = subprocess.run(
        [exe, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_records"] == 2
    proc = subprocess.run(
        [exe, *args[:4], "missing_evals:evaluate", *args[5:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert proc.returncode == 2
    assert f"searched the current folder {tmp_path}" in proc.stderr


# ------------------------------------------------------------------- progress
@pytest.fixture
def small_pipelines(monkeypatch):
    """``acc fit``/``acc cv`` train a small pipeline (the default one takes minutes)."""
    import sklearn_ofa.accuracy as accuracy

    real = accuracy.make_accuracy_pipeline

    def small(space, **kw):
        return real(space, **{"hidden_size": 8, "max_epochs": 2, "n_ensemble": 2, **kw})

    monkeypatch.setattr(accuracy, "make_accuracy_pipeline", small)
    return small


def test_acc_fit_shows_progress_on_stderr_unless_quiet(tmp_path, capsys, small_pipelines):
    from sklearn_ofa.persistence import load

    out = tmp_path / "m.skops"
    assert main(["acc", "fit", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"out": str(out), "n_archs": 2400}
    assert "training 2 nets" in captured.err
    assert load(out)["predictor"].verbose == 0  # the model file is quiet in the library
    assert main(["acc", "fit", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.startswith("fitted on 2400 archs")


def test_acc_cv_prints_a_line_per_fold_and_the_same_scores(capsys, small_pipelines):
    from sklearn.model_selection import KFold, cross_validate

    from sklearn_ofa.accuracy.scoring import kendall_tau_scorer, neg_rmse_points_scorer
    from sklearn_ofa.datasets import load_digits_subnets

    assert main(["acc", "cv", "--folds", "2", "--seed", "1", "--json"]) == 0
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    lines = captured.err.splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["fold 1/2", "fold 2/2"]
    assert all(ln.endswith(" s)") for ln in lines)
    bunch = load_digits_subnets()
    res = cross_validate(  # what acc cv computed before it reported each fold
        small_pipelines(bunch.space, random_state=1),
        bunch.data,
        bunch.target,
        cv=KFold(2, shuffle=True, random_state=1),
        scoring={"kendall_tau": kendall_tau_scorer, "rmse_points": neg_rmse_points_scorer},
        error_score="raise",
    )
    assert got == {
        "folds": 2,
        "kendall_tau_mean": float(res["test_kendall_tau"].mean()),
        "kendall_tau_std": float(res["test_kendall_tau"].std()),
        "rmse_points_mean": float(-res["test_rmse_points"].mean()),
    }
    assert main(["acc", "cv", "--folds", "2", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_dataset_build_shows_progress_with_json_and_none_when_quiet(tmp_path, capsys, monkeypatch):
    (tmp_path / "const_evals.py").write_text("def evaluate(arch):\n    return 70.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["dataset", "build", str(tmp_path / "ds"), "--evaluator", "const_evals:evaluate"]
    argv += ["--n-arch", "2", "--image-sizes", "160", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_records"] == 2 and "accuracy dataset" in captured.err
    assert main([*argv[:2], str(tmp_path / "ds2"), *argv[3:], "--quiet"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_records"] == 2 and captured.err == ""


@pytest.mark.parametrize(
    "command", [["search"], ["acc", "fit"], ["acc", "cv"], ["dataset"], ["lut", "build"]]
)
def test_help_shows_defaults_and_quiet(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: " in text and "--quiet no progress" in text
