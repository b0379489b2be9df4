"""The default accuracy pipeline on the bundled digits subnets, 5-fold CV.

Data: :func:`sklearn_ofa.datasets.load_digits_subnets`. Folds:
``KFold(5, shuffle=True, random_state=0)``; pipelines
``make_accuracy_pipeline(bunch.space, n_ensemble=n, random_state=0)`` for the
default ensemble of 5 and for one network. Measured per fold: Kendall tau, RMSE
in accuracy points and fit seconds (one torch thread).

Run (about 7 minutes on one thread)::

    python benchmarks/bench_accuracy_digits.py

Writes ``benchmarks/results/accuracy_digits.json`` and prints a line per pipeline.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

from sklearn_ofa import make_accuracy_pipeline  # noqa: E402
from sklearn_ofa.datasets import load_digits_subnets  # noqa: E402
from sklearn_ofa.metrics import kendall_tau  # noqa: E402


def main() -> None:
    from sklearn.model_selection import KFold

    torch.set_num_threads(1)
    bunch = load_digits_subnets()
    codes = bunch.space.as_codes(bunch.data)
    y = np.asarray(bunch.target, dtype=np.float64)
    out = {"n_subnets": len(y), "target_sd_points": float(np.std(y) * 100), "pipelines": {}}
    for n_ensemble in (5, 1):
        folds = []
        for train, test in KFold(5, shuffle=True, random_state=0).split(codes):
            pipe = make_accuracy_pipeline(bunch.space, n_ensemble=n_ensemble, random_state=0)
            t0 = time.perf_counter()
            pipe.fit(codes[train], y[train])
            fit_s = time.perf_counter() - t0
            pred = pipe.predict(codes[test])
            folds.append(
                {
                    "kendall_tau": kendall_tau(y[test], pred),
                    "rmse_points": float(np.sqrt(np.mean((y[test] - pred) ** 2)) * 100),
                    "fit_s": fit_s,
                }
            )
        summary = {k: float(np.mean([f[k] for f in folds])) for k in folds[0]}
        summary["fit_s_total"] = float(sum(f["fit_s"] for f in folds))
        out["pipelines"][f"n_ensemble={n_ensemble}"] = {**summary, "folds": folds}
        print(
            f"n_ensemble={n_ensemble}: tau {summary['kendall_tau']:.3f}, "
            f"RMSE {summary['rmse_points']:.2f} points, 5 fits {summary['fit_s_total']:.0f} s",
            flush=True,
        )
    print("wrote", save("accuracy_digits", out))


if __name__ == "__main__":
    main()
