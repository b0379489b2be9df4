"""Same-run throughput of the from-codes paths in two source trees, interleaved.

Each round runs one child process per tree (alternating which goes first) that
measures, on 10,000 codes of ``ofa_mbv3_w1.2`` at one thread: ``FLOPsModel.predict``,
``LatencyTable.predict`` (OFA's Note10 table), ``ArchEncoder.transform`` and the
OFA accuracy pipeline's ``predict``. Reports per metric the median rate of each
tree, the median of the per-round ratios (head / base), and the spread of the
ratios across rounds (the machine's repeat agreement).

    git worktree add /tmp/base HEAD~1
    python benchmarks/compare_trees.py --base /tmp/base --head . --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
threadpool_limits(1)
import torch
torch.set_num_threads(1)
from sklearn_ofa import ArchEncoder, FLOPsModel, LatencyTable, load_ofa_predictor
ref = sys.argv[1]
N = 10_000

def rate(fn, repeat=7):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t0)
    return N / best

lut = LatencyTable.from_ofa_yaml(ref + "/note10_lut", space="ofa_mbv3_w1.2")
space = lut.space_
codes = space.sample_codes(N, random_state=0)
flops = FLOPsModel(space).fit()
enc = ArchEncoder(space="ofa_mbv3_w1.2", image_sizes=list(space.image_sizes)).fit()
pipe = load_ofa_predictor(ref + "/predictors/acc_predictor.pth", "ofa_mbv3_w1.2")
out = {
    "flops_predict": rate(lambda: flops.predict(codes)),
    "lut_predict": rate(lambda: lut.predict(codes)),
    "encode": rate(lambda: enc.transform(codes)),
    "encode_predict": rate(lambda: pipe.predict(codes), repeat=3),
}
print(json.dumps(out))
"""


def run(tree: Path, ref: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    res = subprocess.run(
        [sys.executable, "-c", CHILD, ref], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, type=Path)
    ap.add_argument("--head", required=True, type=Path)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument(
        "--reference", default=str(Path(__file__).resolve().parents[2] / "shared" / "ofa_reference")
    )
    args = ap.parse_args()
    rows: dict[str, list] = {"base": [], "head": []}
    for r in range(args.rounds):
        order = ("base", "head") if r % 2 == 0 else ("head", "base")
        for name in order:
            rows[name].append(run(getattr(args, name), args.reference))
    print(f"{'metric':<16}{'base /s':>12}{'head /s':>12}{'head/base':>11}{'ratio range':>16}")
    summary = {}
    for metric in rows["base"][0]:
        b = [x[metric] for x in rows["base"]]
        h = [x[metric] for x in rows["head"]]
        ratios = [hh / bb for hh, bb in zip(h, b)]
        med = statistics.median(ratios)
        summary[metric] = {
            "base": statistics.median(b),
            "head": statistics.median(h),
            "ratio_median": med,
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
        }
        print(
            f"{metric:<16}{statistics.median(b):>12.3g}{statistics.median(h):>12.3g}"
            f"{med:>11.3f}{min(ratios):>8.3f}-{max(ratios):.3f}"
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
