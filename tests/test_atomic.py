"""Atomic file output shared by the dataset, LUT YAML, CLI and demo writers."""

from __future__ import annotations

import os

import joblib
import pytest
import torch

from sklearn_ofa._io import atomic_output


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "acc.dict"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk gone"):
        with atomic_output(target, durable=True) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk gone")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acc.dict"]


def test_new_file_has_plain_permissions_and_writers_see_a_usable_name(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with atomic_output(tmp_path / "sub" / "net.pt") as tmp:
        torch.save({"w": torch.ones(2)}, tmp)  # torch derives its archive name from the file name
    with atomic_output(tmp_path / "model.joblib") as tmp:
        joblib.dump([1, 2], tmp)
    assert torch.load(tmp_path / "sub" / "net.pt")["w"].tolist() == [1.0, 1.0]
    assert joblib.load(tmp_path / "model.joblib") == [1, 2]
    mode = os.stat(plain).st_mode & 0o777
    assert os.stat(tmp_path / "model.joblib").st_mode & 0o777 == mode
