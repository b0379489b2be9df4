"""Throughput of LatencyTable.predict on 10,000 archs (Note10 table), from dicts and from codes.

Reference: MIT ofa's tutorial spec path, 14.9 K archs/s on this machine class (1 thread).

    python benchmarks/bench_lut_predict.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import rate, save  # noqa: E402

from sklearn_ofa.efficiency import LatencyTable  # noqa: E402

REFERENCE = 14.9e3
SHARED = Path(__file__).resolve().parents[2] / "shared" / "ofa_reference" / "note10_lut"


def main() -> None:
    torch.set_num_threads(1)
    lut = LatencyTable.from_ofa_yaml(SHARED, space="ofa_mbv3_w1.2")
    space = lut.space_
    n = 10_000
    codes = space.sample_codes(n, random_state=0)
    archs = space.from_codes(codes)
    r_dicts = rate(lambda: lut.predict(archs), n)
    r_codes = rate(lambda: lut.predict(codes), n)
    res = {
        "n": n,
        "dicts_archs_per_s": r_dicts,
        "codes_archs_per_s": r_codes,
        "reference_archs_per_s": REFERENCE,
        "speedup_dicts": r_dicts / REFERENCE,
        "speedup_codes": r_codes / REFERENCE,
    }
    print(json.dumps(res, indent=2))
    save("lut_predict", res)


if __name__ == "__main__":
    main()
