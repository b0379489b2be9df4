"""Measured end-to-end latency of random subnets vs the CPU latency table: raw and calibrated.

Needs the table of ``bench_lut_fit.py``. Subnets are measured the same way as
the blocks (1 thread, same warm-up/repeats, same allocator settings in a child
process). The calibrated predictions are cross-validated (5 folds).

    python benchmarks/bench_lut_calibration.py [--n 60]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.model_selection import KFold, cross_val_predict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

from sklearn_ofa.efficiency import LatencyTable  # noqa: E402
from sklearn_ofa.metrics import latency_report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", default="benchmarks/results/lut_w12_cpu.joblib")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", default="docs/_static/lut_parity.png")
    args = ap.parse_args()
    lut: LatencyTable = joblib.load(args.table)
    codes = lut.space_.sample_codes(args.n, random_state=args.seed)
    measured = lut.measure(codes)
    raw = lut.predict_raw(codes)
    out = {
        "n_subnets": args.n,
        "raw": latency_report(measured, raw),
        "raw_ratio_mean": float(np.mean(raw / measured)),
        "raw_ratio_std": float(np.std(raw / measured)),
    }
    cv = KFold(5, shuffle=True, random_state=0)
    preds = {}
    for cal in ("linear", "per_type"):
        est = LatencyTable(
            lut.space_, table=lut.lut_, calibration=cal, image_sizes=lut.space_.image_sizes
        )
        preds[cal] = cross_val_predict(est, codes, measured, cv=cv)
        out[f"calibrated_{cal}_cv"] = latency_report(measured, preds[cal])
    out["measured_ms"] = measured.tolist()
    out["raw_ms"] = raw.tolist()
    print(json.dumps({k: v for k, v in out.items() if not k.endswith("_ms")}, indent=2))
    save("lut_calibration", out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    lo, hi = 0.9 * min(measured.min(), raw.min()), 1.1 * max(measured.max(), raw.max())
    grid = np.linspace(lo, hi, 10)
    ax.fill_between(grid, 0.9 * grid, 1.1 * grid, color="0.9", label="±10%")
    ax.plot(grid, grid, "k--", lw=1)
    ax.scatter(measured, raw, s=14, label=f"raw block sum (MAPE {out['raw']['mape_pct']:.1f}%)")
    r = out["calibrated_per_type_cv"]
    ax.scatter(
        measured,
        preds["per_type"],
        s=14,
        label=f"calibrated, 5-fold CV (MAPE {r['mape_pct']:.1f}%, ±10%: {r['within_10pct']:.0%})",
    )
    ax.set_xlabel("measured end-to-end latency (ms)")
    ax.set_ylabel("predicted latency (ms)")
    ax.set_title(f"OFA MobileNetV3 w1.2 on this CPU, {args.n} subnets")
    ax.legend(fontsize=7)
    fig.tight_layout()
    Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.figure, dpi=110)
    print("figure", args.figure)


if __name__ == "__main__":
    main()
