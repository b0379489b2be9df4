"""Do searched subnets meet their latency budget when measured? Plain vs verified search.

On this CPU (one thread, batch 1, the torch backend): a latency table of
``ofa_mbv3_w1.2`` at 160-224 is fitted (every distinct block profiled) and
calibrated (``calibration="hybrid"``) on ``--n-cal`` measured random subnets.
Budgets are quantiles of those measured latencies. For each budget and seed:

- *plain*: ``EvolutionFinder(acc, table, budget)``, trusting the point prediction;
- *verify*: the same search, then ``verify(k)``: the k best archs measured
  (median of ``--verify-rounds`` passes), the best one measured within the budget
  returned (up to 3 groups of k when none is);
- *confident*: ``confidence=0.95`` (the constraint is judged on the table's
  one-sided 95% upper bound, ``predict_upper``) and ``search(verify=k)``, whose
  measurements are judged at 95% too (median plus the pass-to-pass margin).

``search(verify=k)`` retargets (its default): when the measured archs run faster
than predicted it searches again under the budget scaled by that ratio and keeps
the more accurate verified result.

Each returned subnet is then measured again, independently (``measure(rounds=3)``,
the median of three interleaved passes), and counted as over budget when that
measurement exceeds the budget. Accuracy is OFA's pretrained predictor.

With ``--statistic min`` the table sums the blocks' fastest repeats and every
measurement (calibration, verification, the independent one) is a subnet's
fastest repeat, the median over passes as before.

    python benchmarks/bench_search_verified.py [--seeds 5] [--verify 5] [--statistic min]

Writes ``benchmarks/results/search_verified.json`` (``search_verified_min.json``
for ``--statistic min``; a ``--confidence`` other than 0.95 adds ``_c99`` for 0.99, say).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, save  # noqa: E402
from bench_search import REF  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--verify", type=int, default=5)
    ap.add_argument("--verify-rounds", type=int, default=3)
    ap.add_argument("--n-cal", type=int, default=100)
    ap.add_argument("--quantiles", default="0.2,0.4,0.6,0.8")
    ap.add_argument("--generations", type=int, default=500)
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--statistic", choices=("median", "min"), default="median")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from sklearn_ofa.accuracy import load_ofa_predictor
    from sklearn_ofa.efficiency import LatencyTable
    from sklearn_ofa.search import EvolutionFinder
    from sklearn_ofa.spaces import get_space

    acc = load_ofa_predictor(REF / "predictors" / "acc_predictor.pth", "ofa_mbv3_w1.2")
    space = get_space("ofa_mbv3_w1.2", image_sizes=[160, 176, 192, 208, 224])
    t0 = time.perf_counter()
    lut = LatencyTable(space, statistic=args.statistic, cache_path=RESULTS / "lut_torch.jsonl")
    lut.fit()
    print(f"table: {lut.n_blocks_} blocks in {time.perf_counter() - t0:.0f} s", flush=True)
    codes = space.sample_codes(args.n_cal, random_state=123)
    y = lut.measure(codes, rounds=2)
    table = LatencyTable(space, table=lut, calibration="hybrid", statistic=args.statistic)
    table.fit(codes, y)
    budgets = [float(np.quantile(y, float(q))) for q in args.quantiles.split(",")]
    print(f"calibrated on {len(y)} subnets; budgets (ms): {np.round(budgets, 2).tolist()}")

    def finder(budget, seed, **kw):
        return EvolutionFinder(
            acc, table, budget, n_generations=args.generations, random_state=seed, **kw
        )

    runs = []
    for budget in budgets:
        for seed in range(args.seeds):
            plain = finder(budget, seed).fit()
            checked = {"plain": plain}
            for mode, kw in (("verify", {}), ("confident", {"confidence": args.confidence})):
                found = finder(budget, seed, **kw)
                try:
                    found.search(verify=args.verify, verify_rounds=args.verify_rounds)
                except ValueError as exc:  # none of the k measured archs fits
                    if "best_codes_" not in vars(found):  # the search itself failed
                        raise SystemExit(f"{mode}, budget {budget:.2f} seed {seed}: {exc}")
                    print(f"  {mode}, budget {budget:.2f} seed {seed}: {exc}")
                checked[mode] = found
            names = list(checked)
            again = table.measure(np.stack([checked[m].best_codes_ for m in names]), rounds=3)
            run = {"budget_ms": budget, "seed": seed}
            for m, ms in zip(names, again):
                f = checked[m]
                run[m] = {
                    "accuracy": f.best_accuracy_,
                    "predicted_ms": f.best_efficiency_,
                    "measured_ms": float(ms),
                    "verified": m != "plain" and f.verification_.chosen is not None,
                }
                if m != "plain":
                    ver = f.verification_
                    run[m]["verify_measured_ms"] = ver.measured_efficiency.tolist()
                    run[m]["verify_bound_ms"] = ver.measured_bound.tolist()
                    run[m]["searched_ms"] = ver.searched_constraint
                    run[m]["tries"] = ver.tries
            runs.append(run)
            print(
                f"budget {budget:6.2f} seed {seed}: "
                + " | ".join(
                    f"{m} {run[m]['accuracy']:.4f} pred {run[m]['predicted_ms']:.2f} "
                    f"meas {run[m]['measured_ms']:.2f}"
                    for m in names
                ),
                flush=True,
            )

    summary = {"runs": len(runs)}
    for m in ("plain", "verify", "confident"):
        loss = [100 * (r["plain"]["accuracy"] - r[m]["accuracy"]) for r in runs]
        summary[m] = {
            "over_budget": int(sum(r[m]["measured_ms"] > r["budget_ms"] for r in runs)),
            "mean_measured_over_budget_pct": float(
                np.mean([100 * (r[m]["measured_ms"] / r["budget_ms"] - 1) for r in runs])
            ),
            "accuracy_loss_points_mean": float(np.mean(loss)),
            "accuracy_loss_points_max": float(np.max(loss)),
        }
        print(
            f"{m:>9}: over budget when measured again {summary[m]['over_budget']}/{len(runs)}; "
            f"predicted top-1 below plain: mean {summary[m]['accuracy_loss_points_mean']:.2f} "
            f"points, worst {summary[m]['accuracy_loss_points_max']:.2f}"
        )
    topic = "search_verified" + ("" if args.statistic == "median" else f"_{args.statistic}")
    if args.confidence != 0.95:
        topic += f"_c{round(100 * args.confidence):d}"
    path = save(
        topic,
        {"settings": vars(args), "budgets_ms": budgets, "runs": runs, "summary": summary},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
