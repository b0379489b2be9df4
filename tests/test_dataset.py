"""AccuracyDataset: OFA's folder format, resumable build, errors, joblib and dask backends."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from _dataset_helpers import IMAGE_SIZES, SPACE, CountingEvaluator, build, det_top1, expected_top1

from sklearn_ofa.accuracy import AccuracyDataset
from sklearn_ofa.accuracy.dataset import record_key, setting_key
from sklearn_ofa.exceptions import ArchValueError, DatasetFormatError, EvaluatorError
from sklearn_ofa.spaces import get_space


# ------------------------------------------------- reading files the way OFA does
def ofa_read(folder: Path) -> tuple[list[str], dict[int, dict], dict]:
    """Re-implementation of how MIT OFA's acc_dataset.py reads a dataset folder.

    ``net_id.dict`` is a JSON list of ``json.dumps(setting)``; the key of a record
    at size ``s`` is ``json.dumps({**json.loads(net_id), "image_size": s})`` in
    ``src/<s>.dict``; merging loops over ``src`` names containing ``.dict``, takes
    ``int(name.split(".dict")[0])`` as the size and ``dict.update``s.
    """
    net_ids = json.load(open(folder / "net_id.dict"))
    per_size, merged = {}, {}
    for fname in os.listdir(folder / "src"):
        if ".dict" not in fname:
            continue
        size = int(fname.split(".dict")[0])
        part = json.load(open(folder / "src" / fname))
        per_size[size] = part
        merged.update(part)
    return net_ids, per_size, merged


def test_key_strings_are_ofa_json_dumps():
    setting = {"ks": [3, 5], "e": [4, 6], "d": [2]}
    assert setting_key(setting) == '{"ks": [3, 5], "e": [4, 6], "d": [2]}'
    assert record_key(setting, 160) == '{"ks": [3, 5], "e": [4, 6], "d": [2], "image_size": 160}'
    resnet = {"d": [0, 1], "e": [0.25, 0.35], "w": [2, 0]}
    assert (
        record_key(resnet, 224)
        == '{"d": [0, 1], "e": [0.25, 0.35], "w": [2, 0], "image_size": 224}'
    )


def test_written_dataset_reads_in_ofa_code(tmp_path):
    build(tmp_path, 6, det_top1)
    net_ids, per_size, merged = ofa_read(tmp_path)
    assert len(net_ids) == 6 and net_ids == sorted(net_ids)
    assert sorted(per_size) == IMAGE_SIZES
    for size in IMAGE_SIZES:
        assert len(per_size[size]) == 6
        for net_id in net_ids:
            setting = json.loads(net_id)
            assert list(setting) == ["ks", "e", "d"]
            key = json.dumps({**setting, "image_size": size})
            assert per_size[size][key] == expected_top1({**setting, "image_size": size})
    assert json.load(open(tmp_path / "acc.dict")) == merged
    # OFA's training reads acc.dict: json.loads(key) -> arch, value / 100 -> target
    X, y = AccuracyDataset(tmp_path, space=SPACE).load()
    ofa_pairs = sorted((k, v / 100.0) for k, v in merged.items())
    assert [json.dumps(a) for a in X] == [k for k, _ in ofa_pairs]
    np.testing.assert_array_equal(y, [v for _, v in ofa_pairs])
    # nothing in src/ that OFA's merge would choke on
    assert sorted(os.listdir(tmp_path / "src")) == ["12.dict", "20.dict"]


def _ofa_style_folder(folder: Path, with_src: bool, with_acc: bool):
    """Write a folder as OFA's build/merge would (random values in inactive slots)."""
    space = get_space(SPACE)
    rng = np.random.default_rng(3)
    settings = []
    for _ in range(5):
        settings.append(
            {
                "ks": [int(rng.choice([3, 5, 7])) for _ in range(20)],
                "e": [int(rng.choice([3, 4, 6])) for _ in range(20)],
                "d": [int(rng.choice([2, 3, 4])) for _ in range(5)],
            }
        )
    net_ids = sorted({json.dumps(s) for s in settings})
    folder.mkdir(exist_ok=True)
    json.dump(net_ids, open(folder / "net_id.dict", "w"), indent=4)
    expected, merged = {}, {}
    for size in (16, 28):
        acc = {}
        for i, nid in enumerate(net_ids):
            key = json.dumps({**json.loads(nid), "image_size": size})
            acc[key] = 60.0 + i + size / 7
            expected[key] = acc[key] / 100.0
        merged.update(acc)
        if with_src:
            (folder / "src").mkdir(exist_ok=True)
            json.dump(acc, open(folder / "src" / f"{size}.dict", "w"), indent=4)
    if with_acc:
        json.dump(merged, open(folder / "acc.dict", "w"), indent=4)
    assert len(space.to_codes([json.loads(k) for k in expected])) == 10
    return expected


@pytest.mark.parametrize("with_src,with_acc", [(True, True), (True, False), (False, True)])
def test_hand_made_ofa_folder_loads(tmp_path, with_src, with_acc):
    expected = _ofa_style_folder(tmp_path, with_src, with_acc)
    X, y = AccuracyDataset(tmp_path, space=SPACE).load()
    got = {json.dumps(a): v for a, v in zip(X, y)}
    assert got == expected
    assert all(list(a) == ["ks", "e", "d", "image_size"] for a in X)


def test_merge_matches_ofa_merge(tmp_path):
    _ofa_style_folder(tmp_path, with_src=True, with_acc=False)
    merged = AccuracyDataset(tmp_path).merge()
    assert merged == ofa_read(tmp_path)[2] == json.load(open(tmp_path / "acc.dict"))
    only16 = AccuracyDataset(tmp_path).merge(image_sizes=[16])
    assert {json.loads(k)["image_size"] for k in only16} == {16}


@pytest.mark.slow
def test_load_as_frame_and_pipeline(tmp_path):
    build(tmp_path, 8, det_top1)
    X, y = AccuracyDataset(tmp_path, space=SPACE).load()
    Xf, yf = AccuracyDataset(tmp_path, space=SPACE).load(as_frame=True)
    assert list(Xf.columns) == ["ks", "e", "d", "image_size"] and yf.name == "top1"
    assert len(Xf) == 16 and Xf.to_dict(orient="records") == X
    np.testing.assert_array_equal(yf.to_numpy(), y)
    space = get_space(SPACE)
    np.testing.assert_array_equal(space.as_codes(Xf), space.as_codes(X))
    try:
        from sklearn_ofa.accuracy import make_accuracy_pipeline
    except (ImportError, AttributeError):
        pytest.skip("make_accuracy_pipeline is not available yet")
    from sklearn.model_selection import cross_val_score

    pipe = make_accuracy_pipeline(SPACE, max_epochs=2)
    scores = cross_val_score(pipe, X, y, cv=2)
    assert np.isfinite(scores).all()


def test_build_skips_what_is_on_disk_and_tops_up(tmp_path):
    ev = CountingEvaluator()
    build(tmp_path, 4, ev)
    assert len(ev.calls) == 8
    first = json.load(open(tmp_path / "acc.dict"))
    ev.calls.clear()
    build(tmp_path, 4, ev)
    assert ev.calls == []
    build(tmp_path, 7, ev)  # three more archs, at both sizes
    assert len(ev.calls) == 6
    assert len(json.load(open(tmp_path / "net_id.dict"))) == 7
    after = json.load(open(tmp_path / "acc.dict"))
    assert len(after) == 14 and all(after[k] == v for k, v in first.items())
    assert all(v == expected_top1(json.loads(k)) for k, v in after.items())


def test_sampled_archs_are_distinct_and_seeded(tmp_path):
    build(tmp_path / "a", 30, det_top1, image_sizes=[12])
    build(tmp_path / "b", 30, det_top1, image_sizes=[12])
    ids = json.load(open(tmp_path / "a" / "net_id.dict"))
    assert ids == json.load(open(tmp_path / "b" / "net_id.dict"))
    space = get_space(SPACE)
    codes = space.to_codes([{**json.loads(s), "image_size": 12} for s in ids])
    assert len(np.unique(codes, axis=0)) == 30


def test_given_archs_dedupe_on_codes(tmp_path):
    space = get_space(SPACE)
    arch = space.validate({"ks": [3] * 20, "e": [4] * 20, "d": [2] * 5, "image_size": 16})
    twin = {**arch, "ks": [3, 3, 7, 7] * 5}  # differs only in switched-off slots
    np.testing.assert_array_equal(space.to_codes([arch]), space.to_codes([twin]))
    ev = CountingEvaluator()
    ds = AccuracyDataset(tmp_path, space=SPACE)
    ds.build(ev, archs=[arch, twin], image_sizes=None)
    assert len(ev.calls) == 1
    ds.build(ev, archs=[twin], image_sizes=[16, 24])
    assert len(ev.calls) == 2 and ev.calls[1]["image_size"] == 24
    X, y = ds.load()
    assert len(X) == 2
    # the given values (inactive slots included) are kept in the keys, as OFA does
    assert json.dumps(arch) in json.load(open(tmp_path / "acc.dict"))


def test_torn_journal_tail_is_ignored_and_resumed(tmp_path):
    build(tmp_path, 3, det_top1)
    src = tmp_path / "src"
    records = json.load(open(src / "12.dict"))
    keys = sorted(records)
    # simulate a build killed after two journaled results and in the middle of a third
    json.dump({keys[0]: records[keys[0]]}, open(src / "12.dict", "w"))
    with open(src / "12.journal", "w") as fh:
        fh.write(json.dumps([keys[1], records[keys[1]]]) + "\n")
        fh.write(json.dumps([keys[2], records[keys[2]]])[:25])
    (tmp_path / "acc.dict").unlink()
    X, _ = AccuracyDataset(tmp_path, space=SPACE).load()
    assert len(X) == 2 + 3  # size 12: two readable, size 20: three
    ev = CountingEvaluator()
    build(tmp_path, 3, ev)
    assert [json.dumps(a) for a in ev.calls] == [keys[2]]
    assert not (src / "12.journal").exists()
    assert json.load(open(src / "12.dict")) == records


# ------------------------------------------------------------------- errors
def test_corrupt_file_is_named(tmp_path):
    build(tmp_path, 2, det_top1)
    path = tmp_path / "src" / "20.dict"
    path.write_text(path.read_text()[:-30])
    with pytest.raises(DatasetFormatError, match=r"20\.dict: not valid JSON") as info:
        AccuracyDataset(tmp_path).load()
    assert info.value.path == str(path)


def test_duplicate_key_with_different_values(tmp_path):
    (tmp_path / "src").mkdir()
    key = json.dumps({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "image_size": 12})
    (tmp_path / "src" / "12.dict").write_text("{%s: 50.0, %s: 51.0}" % ((json.dumps(key),) * 2))
    with pytest.raises(DatasetFormatError, match="appears twice with different values"):
        AccuracyDataset(tmp_path).load()
    (tmp_path / "src" / "12.dict").write_text(json.dumps({key: 50.0}))
    (tmp_path / "acc.dict").write_text(json.dumps({key: 49.0}))
    with pytest.raises(DatasetFormatError, match=r"acc\.dict.*49\.0 but 50\.0"):
        AccuracyDataset(tmp_path).load()


@pytest.mark.parametrize(
    "name,content,match",
    [
        (
            "12.dict",
            {json.dumps({"ks": [3], "image_size": 16}): 50.0},
            "does not match the file name",
        ),
        ("12.dict", {json.dumps({"ks": [3], "image_size": 12}): 150.0}, "outside 0..100"),
        ("12.dict", {json.dumps({"ks": [3], "image_size": 12}): "high"}, "must be a number"),
        ("12.dict", {"not json": 50.0}, "is not a JSON object"),
        ("12.dict", [1, 2], "expected a JSON object"),
        ("big.dict", {}, "file name must be <image_size>.dict"),
    ],
)
def test_malformed_src_files(tmp_path, name, content, match):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / name).write_text(json.dumps(content))
    with pytest.raises(DatasetFormatError, match=match):
        AccuracyDataset(tmp_path).load()


def test_corrupt_journal_line_in_the_middle(tmp_path):
    (tmp_path / "src").mkdir()
    key = json.dumps({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "image_size": 12})
    (tmp_path / "src" / "12.journal").write_text(f"garbage\n{json.dumps([key, 50.0])}\n")
    with pytest.raises(DatasetFormatError, match=r"12\.journal, line 1"):
        AccuracyDataset(tmp_path).load()


def test_archs_outside_the_space(tmp_path):
    (tmp_path / "src").mkdir()
    key = json.dumps({"ks": [9] * 20, "e": [3] * 20, "d": [2] * 5, "image_size": 12})
    (tmp_path / "src" / "12.dict").write_text(json.dumps({key: 50.0}))
    assert len(AccuracyDataset(tmp_path).load()[0]) == 1  # no space: no check
    with pytest.raises(
        DatasetFormatError, match=r"not an arch of space 'digits_mbv3'.*\['ks'\]\[0\] = 9"
    ):
        AccuracyDataset(tmp_path, space=SPACE).load()
    with pytest.raises(ArchValueError, match=r"archs\[0\]\['ks'\]\[0\] = 9"):
        AccuracyDataset(tmp_path / "new", space=SPACE).build(det_top1, archs=[json.loads(key)])
    with pytest.raises(ArchValueError, match=r"image_sizes contains 224"):
        build(tmp_path / "new", 2, det_top1, image_sizes=[224])


def test_build_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="needs a search space"):
        AccuracyDataset(tmp_path).build(det_top1, n_arch=2)
    with pytest.raises(
        ValueError,
        match=r"'n_arch' parameter .* must be an int in the range "
        r"\[1, inf\) \(not a bool\)\. Got 0",
    ):
        build(tmp_path, 0, det_top1)
    with pytest.raises(TypeError, match="'evaluator' parameter .* must be a callable"):
        build(tmp_path, 1, 42)
    with pytest.raises(FileNotFoundError, match="no accuracy dataset"):
        AccuracyDataset(tmp_path / "nothing").load()


@pytest.mark.parametrize("bad", [150.0, float("nan"), -1, "x"])
def test_bad_evaluator_values_stop_the_build(tmp_path, bad):
    def evaluator(arch):
        return bad

    with pytest.raises(EvaluatorError, match="expected"):
        build(tmp_path, 2, evaluator)
    assert not (tmp_path / "acc.dict").exists()


def test_two_builds_in_one_folder_are_refused(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / ".build.lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RuntimeError, match="another build is running"):
            build(tmp_path, 2, det_top1)


# ------------------------------------------------------------------ parallel
@pytest.mark.slow
def test_joblib_processes_equal_serial(tmp_path):
    build(tmp_path / "serial", 6, det_top1)
    build(tmp_path / "par", 6, det_top1, n_jobs=2, backend="loky")
    for name in ("net_id.dict", "acc.dict", "src/12.dict", "src/20.dict"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "par" / name).read_bytes()


@pytest.mark.slow
def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config

    build(tmp_path / "serial", 5, det_top1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, timeout=60) as client,
    ):
        with parallel_config(backend="dask"):
            build(tmp_path / "dask", 5, det_top1, batch_size=2)
        assert len(client.scheduler_info()["workers"]) == 2
    for name in ("net_id.dict", "acc.dict", "src/12.dict", "src/20.dict"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()


def test_build_extends_a_folder_with_only_acc_dict(tmp_path):
    expected = _ofa_style_folder(tmp_path, with_src=False, with_acc=True)
    ev = CountingEvaluator()
    ds = AccuracyDataset(tmp_path, space=SPACE)
    ds.build(ev, image_sizes=[16, 28], n_arch=6, random_state=0)
    assert len(ev.calls) == 2  # one new arch at two sizes; the ten records were kept
    X, y = ds.load()
    got = {json.dumps(a): v for a, v in zip(X, y)}
    assert len(got) == 12 and all(got[k] == v for k, v in expected.items())
    assert all(json.dumps(a) in json.load(open(tmp_path / "acc.dict")) for a in X)


def test_build_is_quiet_by_default_and_verbose_shows_a_bar_on_stderr(tmp_path, capsys):
    AccuracyDataset(tmp_path / "quiet", space=SPACE).build(
        det_top1, n_arch=2, image_sizes=[12], random_state=0
    )
    assert capsys.readouterr() == ("", "")
    AccuracyDataset(tmp_path / "verbose", space=SPACE).build(
        det_top1, n_arch=2, image_sizes=[12], random_state=0, verbose=True
    )
    out, err = capsys.readouterr()
    assert out == "" and "accuracy dataset" in err


def test_build_progress_is_deprecated_for_verbose(tmp_path, capsys):
    ds = AccuracyDataset(tmp_path, space=SPACE)
    with pytest.warns(FutureWarning, match=r"progress=.* deprecated .* use verbose="):
        ds.build(det_top1, n_arch=2, image_sizes=[12], random_state=0, progress=False)
    assert len(ds.load()[0]) == 2
    assert capsys.readouterr() == ("", "")
