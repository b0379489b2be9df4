"""Run every throughput benchmark and print one table of archs/s.

    python benchmarks/run_all.py            # throughput benchmarks (encode, predict, FLOPs, LUT, search)
    python benchmarks/run_all.py --all      # also the LUT profiling and calibration benchmarks

Each script writes ``benchmarks/results/<topic>.json``; this table collects every
``*archs_per_s`` / ``*per_s`` figure found there, with the machine it came from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
THROUGHPUT = ["bench_accuracy.py", "bench_flops.py", "bench_lut_predict.py", "bench_search.py"]
HEAVY = ["bench_lut_fit.py", "bench_lut_calibration.py"]


def _rates(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "machine":
                continue
            yield from _rates(v, f"{prefix}{k}." if not prefix.endswith(f"{k}.") else prefix)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, dict):
                yield from _rates(v, f"{prefix}{i}.")
    elif isinstance(obj, (int, float)) and (
        "per_s" in prefix or "speedup" in prefix or "ms_per" in prefix
    ):
        yield prefix.rstrip("."), obj


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true")
    args = ap.parse_args()
    scripts = THROUGHPUT + (HEAVY if args.all else [])
    failed = []
    for name in scripts:
        path = HERE / name
        if not path.exists():
            print(f"-- {name}: missing, skipped")
            continue
        print(f"== {name}", flush=True)
        rc = subprocess.call([sys.executable, str(path)], cwd=HERE.parent)
        if rc:
            failed.append(name)
    print("\n| benchmark | figure | value |\n| --- | --- | --- |")
    for res in sorted((HERE / "results").glob("*.json")):
        data = json.loads(res.read_text())
        for key, val in _rates(data):
            print(f"| {res.stem} | {key} | {val:,.4g} |")
    if failed:
        print("failed:", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
