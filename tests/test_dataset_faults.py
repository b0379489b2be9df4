"""A real build killed with SIGKILL at random moments, then resumed, loses nothing."""

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
from _dataset_helpers import IMAGE_SIZES, build, det_top1
from conftest import subprocess_env

HELPER = Path(__file__).with_name("_dataset_helpers.py")
N_ARCH = 20
SLEEP_S = 0.02


def _n_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _check_files_valid(folder: Path) -> set[str]:
    """Every ``.dict`` file parses; journals hold valid lines except a torn last one.

    Returns the keys stored, each checked to be stored exactly once.
    """
    stored: list[str] = []
    for name in ("net_id.dict", "acc.dict"):
        if (folder / name).exists():
            json.loads((folder / name).read_text())
    src = folder / "src"
    files = sorted(src.iterdir()) if src.is_dir() else []
    dict_keys: dict[int, set] = {}
    journal_keys: dict[int, list] = {}
    for path in files:
        if path.name.endswith(".dict"):
            dict_keys[int(path.name[:-5])] = set(json.loads(path.read_text()))
        elif path.name.endswith(".journal"):
            lines = path.read_bytes().split(b"\n")
            journal_keys[int(path.name[:-8])] = [json.loads(line)[0] for line in lines[:-1]]
        else:
            assert path.name.startswith(".tmp-"), path  # an interrupted atomic write
    for size in set(dict_keys) | set(journal_keys):
        in_dict = dict_keys.get(size, set())
        in_journal = journal_keys.get(size, [])
        assert len(in_journal) == len(set(in_journal)), "a record was journaled twice"
        # a journal left beside a freshly compacted .dict may repeat it, never contradict it
        stored += sorted(in_dict | set(in_journal))
    assert len(stored) == len(set(stored))
    return set(stored)


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path):
    folder, log = tmp_path / "killed", tmp_path / "evaluated.log"
    cmd = [sys.executable, str(HELPER), str(folder), str(N_ARCH), str(SLEEP_S), str(log)]
    rng = np.random.default_rng(0)
    n_total = N_ARCH * len(IMAGE_SIZES)
    kills = 0
    for _ in range(8):
        before = _n_lines(log)
        proc = subprocess.Popen(cmd, env=subprocess_env())
        # wait until this run has evaluated something (start-up takes ~1 s), then kill it
        # at a random moment of its evaluating, journaling or compacting
        deadline = time.monotonic() + 30
        while _n_lines(log) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        stored = _check_files_valid(folder)
        logged = log.read_text().splitlines() if log.exists() else []
        logged_keys = {json.dumps(json.loads(line)) for line in logged}
        # everything stored was evaluated; at most one evaluation in flight was lost per kill
        assert stored <= logged_keys
        assert len(logged_keys - stored) <= 1
        if len(stored) == n_total:
            break
    assert kills >= 3, "the kills must land inside builds to test anything"
    subprocess.run(cmd, env=subprocess_env(), check=True, timeout=120)
    stored = _check_files_valid(folder)
    assert len(stored) == n_total
    logged = log.read_text().splitlines()
    # each evaluation ran once, plus at most one repeat per kill (the lost in-flight one)
    assert n_total <= len(logged) <= n_total + kills
    assert not list((folder / "src").glob("*.journal"))

    reference = tmp_path / "uninterrupted"
    build(reference, N_ARCH, det_top1)
    for name in ("net_id.dict", "acc.dict", "src/12.dict", "src/20.dict"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name


@pytest.mark.slow
def test_sigkill_of_a_parallel_build_then_resume(tmp_path):
    folder, log = tmp_path / "killed", tmp_path / "evaluated.log"
    cmd = [sys.executable, str(HELPER), str(folder), str(N_ARCH), "0.05", str(log), "2"]
    # own process group, killed as a whole: the build and its joblib workers die together,
    # as when a batch scheduler kills a job
    proc = subprocess.Popen(cmd, env=subprocess_env(), start_new_session=True)
    deadline = time.monotonic() + 60
    while _n_lines(log) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    stored = _check_files_valid(folder)
    logged = {json.dumps(json.loads(line)) for line in log.read_text().splitlines()}
    assert 0 < len(stored) and stored <= logged
    assert len(logged - stored) <= 4  # tasks in flight: joblib dispatches 2 * n_jobs ahead
    subprocess.run(cmd[:-1], env=subprocess_env(), check=True, timeout=120)  # resume serially
    assert len(_check_files_valid(folder)) == N_ARCH * len(IMAGE_SIZES)
    reference = tmp_path / "uninterrupted"
    build(reference, N_ARCH, det_top1)
    for name in ("net_id.dict", "acc.dict", "src/12.dict", "src/20.dict"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
