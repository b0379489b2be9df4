"""Profile the full OFA MobileNetV3 w1.2 space at 160/176/192/208/224 on this CPU.

Reports the number of distinct blocks, the wall time of ``fit``, and a resume:
the fit is killed (SIGKILL) part-way, then rerun on the same journal.

    python benchmarks/bench_lut_fit.py [--out lut_w12_cpu.joblib]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

from sklearn_ofa.efficiency import LatencyTable  # noqa: E402

SIZES = [160, 176, 192, 208, 224]
PARAMS = dict(image_sizes=SIZES, warmup=5, repeats=20, num_threads=1, isolate=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--journal", default="benchmarks/results/lut_w12_cpu.jsonl")
    ap.add_argument("--out", default="benchmarks/results/lut_w12_cpu.joblib")
    ap.add_argument("--kill-after", type=float, default=20.0, help="seconds before the SIGKILL")
    args = ap.parse_args()
    journal = Path(args.journal)
    journal.unlink(missing_ok=True)
    code = (
        "import sys; from sklearn_ofa.efficiency import LatencyTable;"
        f"LatencyTable('ofa_mbv3_w1.2', cache_path=sys.argv[1], **{PARAMS!r}).fit()"
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(journal)])
    time.sleep(args.kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = time.perf_counter() - t0
    done_before = sum(1 for line in open(journal) if '"key"' in line)
    t1 = time.perf_counter()
    lut = LatencyTable("ofa_mbv3_w1.2", cache_path=str(journal), verbose=True, **PARAMS).fit()
    resumed = time.perf_counter() - t1
    keys = [json.loads(line)["key"] for line in open(journal) if '"key"' in line]
    total = killed_at + resumed
    res = {
        "distinct_blocks": lut.n_blocks_,
        "killed_after_s": round(killed_at, 1),
        "measured_before_kill": done_before,
        "resume_s": round(resumed, 1),
        "total_fit_wall_s": round(total, 1),
        "journal_records": len(keys),
        "duplicates": len(keys) - len(set(keys)),
        "settings": lut.settings_,
    }
    joblib.dump(lut, args.out)
    print(json.dumps(res, indent=2))
    print(f"saved {save('lut_fit', res)} and {args.out}")


if __name__ == "__main__":
    main()
