"""Throughput of FLOPsModel.predict on 10,000 archs per space, from codes and from dicts.

Reference: MIT ofa's ``count_flops_given_config`` (one arch at a time), 1.46 K archs/s on
this machine class (1 thread). Also reports the cost of counting on built modules
(``count_flops``, OFA convention, nets built on the meta device) for comparison.

    python benchmarks/bench_flops.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import rate, save  # noqa: E402

from sklearn_ofa.efficiency import FLOPsModel, count_flops  # noqa: E402
from sklearn_ofa.spaces import get_space  # noqa: E402

REFERENCE = 1.46e3
SPACES = ("ofa_mbv3_w1.2", "ofa_proxyless_w1.3", "ofa_resnet50")
N = 10_000
N_MODULES = 10


def main() -> None:
    torch.set_num_threads(1)
    rows = {}
    for name in SPACES:
        space = get_space(name)
        codes = space.sample_codes(N, random_state=0)
        archs = space.from_codes(codes)
        t0 = time.perf_counter()
        model = FLOPsModel(space).fit()
        fit_s = time.perf_counter() - t0
        r_codes = rate(lambda: model.predict(codes), N)
        r_dicts = rate(lambda: model.predict(archs), N, repeat=3)
        t0 = time.perf_counter()
        for arch in archs[:N_MODULES]:
            with torch.device("meta"):
                net = space.build(arch)
            count_flops(net, arch["image_size"], convention="ofa")
        r_module = N_MODULES / (time.perf_counter() - t0)
        rows[name] = {
            "fit_s": fit_s,
            "table_entries": int(model.macs_table_.size),
            "codes_archs_per_s": r_codes,
            "dicts_archs_per_s": r_dicts,
            "build_and_count_flops_archs_per_s": r_module,
            "speedup_codes": r_codes / REFERENCE,
            "speedup_dicts": r_dicts / REFERENCE,
        }
    print(f"FLOPsModel.predict, {N} archs, 1 thread; reference {REFERENCE:.0f} archs/s (MIT ofa)")
    head = f"{'space':<20}{'fit s':>8}{'codes/s':>12}{'x ref':>8}{'dicts/s':>12}{'x ref':>8}{'module/s':>10}"
    print(head)
    for name, r in rows.items():
        print(
            f"{name:<20}{r['fit_s']:>8.3f}{r['codes_archs_per_s']:>12,.0f}{r['speedup_codes']:>8.0f}"
            f"{r['dicts_archs_per_s']:>12,.0f}{r['speedup_dicts']:>8.0f}"
            f"{r['build_and_count_flops_archs_per_s']:>10.1f}"
        )
    res = {"n": N, "reference_archs_per_s": REFERENCE, "spaces": rows}
    path = save("flops", res)
    print(json.dumps({"written": str(path)}))


if __name__ == "__main__":
    main()
