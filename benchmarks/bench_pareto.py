"""One NSGA-II run (``ParetoFinder``) against a constraint sweep, at equal predictor calls.

OFA's pretrained MobileNetV3 w1.2 accuracy predictor and the Note10 latency table
(``../shared/ofa_reference``), one thread. Per seed: ``pareto_sweep`` runs one
``EvolutionFinder`` (population 100, ``--generations``) per budget; ``ParetoFinder``
(population 100) then gets as many generations as keep its distinct accuracy
predictions within the sweep's total. Reported: the hypervolume (pymoo's ``HV``;
objectives -top-1 and latency, reference point the lowest top-1 scored by either
and the largest budget) of the sweep's curve (one arch per budget), of the front
of everything the sweep scored, and of ParetoFinder's front; wall time of each.

    python benchmarks/bench_pareto.py [--seeds 3] [--generations 100]

Writes ``benchmarks/results/pareto.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402
from bench_search import load_predictors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--budgets", default="20,23,26,30,35,40,50")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from pymoo.indicators.hv import HV

    from sklearn_ofa.search import EvolutionFinder, ParetoFinder, pareto_front, pareto_sweep

    acc, lut = load_predictors()
    budgets = [float(b) for b in args.budgets.split(",")]
    rows = []
    for seed in range(args.seeds):
        finder = EvolutionFinder(
            acc, lut, population_size=100, n_generations=args.generations, random_state=seed
        )
        t0 = time.perf_counter()
        curve, finders = pareto_sweep(finder, budgets, return_finders=True)
        sweep_s = time.perf_counter() - t0
        calls = sum(f.n_accuracy_predictions_ for f in finders)
        # distinct predictions per NSGA-II generation are at most the population: start
        # there, then trim generations until the run stays within the sweep's calls
        n_gen = calls // 100
        while True:
            pf = ParetoFinder(acc, lut, population_size=100, n_generations=n_gen, random_state=seed)
            pf.fit()
            if pf.n_accuracy_predictions_ <= calls:
                break
            n_gen -= max(1, (pf.n_accuracy_predictions_ - calls) // 100)
        sweep_acc = np.concatenate([f.evaluated_.accuracy for f in finders])
        sweep_eff = np.concatenate([f.evaluated_.efficiency for f in finders])
        keep = sweep_eff <= max(budgets)
        sweep_front = pareto_front(sweep_acc, sweep_eff)
        low = min(sweep_acc.min(), pf.evaluated_.accuracy.min())
        hv = HV(ref_point=np.array([-low, max(budgets)]))

        def volume(a, e):
            a, e = np.asarray(a), np.asarray(e)
            inside = e <= max(budgets)
            return float(hv(np.column_stack([-a[inside], e[inside]])))

        row = {
            "seed": seed,
            "sweep_calls": int(calls),
            "pareto_calls": int(pf.n_accuracy_predictions_),
            "pareto_generations": int(n_gen),
            "sweep_s": sweep_s,
            "pareto_s": pf.seconds_,
            "hv_sweep_curve": volume(curve.accuracy, curve.efficiency),
            "hv_sweep_all_scored": volume(sweep_acc[sweep_front], sweep_eff[sweep_front]),
            "hv_pareto": volume(pf.front_.accuracy, pf.front_.efficiency),
            "pareto_front_size": len(pf.front_.accuracy),
            "sweep_archs_within_budgets": int(keep.sum()),
        }
        rows.append(row)
        print(
            f"seed {seed}: calls sweep {calls} / NSGA-II {row['pareto_calls']} "
            f"({n_gen} gen); HV sweep curve {row['hv_sweep_curve']:.4f}, sweep all scored "
            f"{row['hv_sweep_all_scored']:.4f}, NSGA-II {row['hv_pareto']:.4f} "
            f"({row['pareto_front_size']} archs); wall {sweep_s:.1f} s vs {pf.seconds_:.1f} s",
            flush=True,
        )
    path = save("pareto", {"settings": {**vars(args), "threads": 1}, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
