"""Cheap deterministic evaluators for the accuracy-dataset tests, importable by workers.

Run as a script it performs one build (used by the SIGKILL fault test)::

    python tests/_dataset_helpers.py FOLDER N_ARCH SLEEP_S LOG_FILE [N_JOBS]
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # make ``sklearn_ofa`` and this module importable
    sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).parent)]

SPACE = "digits_mbv3"
IMAGE_SIZES = [12, 20]


def expected_top1(arch: dict) -> float:
    """A fixed pseudo-random top-1 in percent, from the arch's *active* genes only.

    Computed from the space's code row (inactive slots are -1 there), so archs
    that differ only in switched-off blocks get the same value.
    """
    from sklearn_ofa.spaces import get_space

    codes = get_space(SPACE).to_codes([arch])[0]
    digest = hashlib.sha256(codes.tobytes()).digest()
    return round(40.0 + 55.0 * int.from_bytes(digest[:4], "little") / 2**32, 4)


def det_top1(arch: dict) -> float:
    """Evaluator: :func:`expected_top1` without delay."""
    return expected_top1(arch)


class SlowLoggedEvaluator:
    """Evaluator that sleeps and logs each finished evaluation (fsync'ed) to a file."""

    def __init__(self, sleep_s: float, log_file: str):
        self.sleep_s = sleep_s
        self.log_file = log_file

    def __call__(self, arch: dict) -> float:
        time.sleep(self.sleep_s)
        value = expected_top1(arch)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(arch) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return value


class CountingEvaluator:
    """Evaluator with a batch method that records what it was asked (in-process only)."""

    def __init__(self):
        self.calls: list[dict] = []

    def evaluate_batch(self, archs):
        self.calls.extend(archs)
        return [expected_top1(a) for a in archs]


def build(folder: str, n_arch: int, evaluator, **kw):
    from sklearn_ofa.accuracy import AccuracyDataset

    ds = AccuracyDataset(folder, space=SPACE)
    kw.setdefault("image_sizes", IMAGE_SIZES)
    kw.setdefault("random_state", 0)
    kw.setdefault("verbose", False)
    return ds.build(evaluator, n_arch=n_arch, **kw)


if __name__ == "__main__":
    folder, n_arch, sleep_s, log_file = sys.argv[1:5]
    n_jobs = int(sys.argv[5]) if len(sys.argv) > 5 else None
    build(folder, int(n_arch), SlowLoggedEvaluator(float(sleep_s), log_file), n_jobs=n_jobs)
