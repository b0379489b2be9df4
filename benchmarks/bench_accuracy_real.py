"""Accuracy predictors on real ImageNet top-1: the package default against OFA's recipe.

Data: :func:`sklearn_ofa.datasets.load_ofa_mbv3_imagenet`, 901 real subnets of OFA's
MobileNetV3 w1.0 supernet with measured ImageNet top-1 (540 from an NSGA-II search,
361 from a LINAS search, IntelLabs/DyNAS-T). Recipes, both through
``make_accuracy_pipeline(space, recipe=...)`` with ``random_state=0``:

- ``default``: OFA's features + a depth one-hot per stage, standardised targets,
  weight decay 1e-3, cosine lr, an ensemble of 5 with an out-of-fold calibrated std;
- ``ofa``: OFA's features and training recipe (one MLP, constant lr, batch 256).

Measured, Kendall tau and RMSE in accuracy points:

- 5-fold CV (``KFold(5, shuffle=True, random_state=0)``), with the coverage of the
  default's ``mean +- 1 std`` (nominal 68.3 %) and ``+- 1.96 std`` (95 %), and of
  its split-conformal ``predict_interval`` at alpha 0.32, 0.1 and 0.05;
- cross-search: train on one search's subnets, score on the other's;
- learning curve: 250, 500 and all 720 training subnets of 3 random 80/20 splits
  (seeds 0..2), scored on the split's 181 test subnets;
- fit time (seconds per fit, one torch thread) and encode+predict throughput on
  10,000 codes of the space.

Run (a few minutes, one thread)::

    python benchmarks/bench_accuracy_real.py

Writes ``benchmarks/results/accuracy_real.json`` and prints a table.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import rate, save  # noqa: E402

from sklearn_ofa import make_accuracy_pipeline  # noqa: E402
from sklearn_ofa.datasets import load_ofa_mbv3_imagenet  # noqa: E402
from sklearn_ofa.metrics import kendall_tau  # noqa: E402

RECIPES = ("default", "ofa")
SIZES = (250, 500, None)  # None: every training subnet of the split
N_SPLITS_CURVE = 3


def rmse_points(y, p) -> float:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(p)) ** 2)) * 100)


def fit_score(recipe: str, codes, y, train, test, space) -> dict:
    pipe = make_accuracy_pipeline(space, recipe=recipe, random_state=0)
    t0 = time.perf_counter()
    pipe.fit(codes[train], y[train])
    seconds = time.perf_counter() - t0
    out = {"fit_s": seconds}
    if recipe == "default":
        mean, std = pipe.predict(codes[test], return_std=True)
        z = np.abs(y[test] - mean) / std
        out["coverage_1std"] = float(np.mean(z <= 1.0))
        out["coverage_1.96std"] = float(np.mean(z <= 1.96))
        for alpha in (0.32, 0.1, 0.05):  # split-conformal intervals
            lo, hi = pipe.predict_interval(codes[test], alpha=alpha).T
            out[f"conformal_coverage_{1 - alpha:.2f}"] = float(
                np.mean((lo <= y[test]) & (y[test] <= hi))
            )
    else:
        mean = pipe.predict(codes[test])
    out["kendall_tau"] = kendall_tau(y[test], mean)
    out["rmse_points"] = rmse_points(y[test], mean)
    return out


def mean_of(rows: list[dict]) -> dict:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def evaluate(recipe: str, codes, y, source, space) -> dict:
    from sklearn.model_selection import KFold, train_test_split

    folds = [
        fit_score(recipe, codes, y, tr, te, space)
        for tr, te in KFold(5, shuffle=True, random_state=0).split(codes)
    ]
    res = {"cv5": {**mean_of(folds), "folds": folds}}
    for a, b in (("nsga2", "linas"), ("linas", "nsga2")):
        train, test = np.flatnonzero(source == a), np.flatnonzero(source == b)
        res[f"cross_{a}_to_{b}"] = fit_score(recipe, codes, y, train, test, space)
    curve = {}
    for size in SIZES:
        rows = []
        for seed in range(N_SPLITS_CURVE):
            train, test = train_test_split(np.arange(len(y)), test_size=0.2, random_state=seed)
            if size is not None:
                train = np.random.default_rng(seed).choice(train, size, replace=False)
            rows.append(fit_score(recipe, codes, y, train, test, space))
        curve[str(size or len(train))] = {**mean_of(rows), "splits": rows}
    res["learning_curve"] = curve
    return res


def throughput(recipe: str, space, codes, y, n: int = 10_000) -> float:
    pipe = make_accuracy_pipeline(space, recipe=recipe, random_state=0, max_epochs=1)
    pipe.fit(codes[:256], y[:256])  # the weights are irrelevant to speed
    batch = space.sample_codes(n, random_state=0)
    return rate(lambda: pipe.predict(batch), n, repeat=5)


def main() -> None:
    torch.set_num_threads(1)
    bunch = load_ofa_mbv3_imagenet()
    space = bunch.space
    codes = space.as_codes(bunch.data)
    y = np.asarray(bunch.target, dtype=np.float64)
    source = np.asarray(bunch.source)
    results = {}
    for recipe in RECIPES:
        results[recipe] = evaluate(recipe, codes, y, source, space)
        results[recipe]["encode_predict_archs_per_s"] = throughput(recipe, space, codes, y)
    path = save("accuracy_real", {"n_subnets": len(y), "recipes": results})

    def cell(d: dict) -> str:
        return f"{d['kendall_tau']:.3f} / {d['rmse_points']:.3f}"

    sizes = list(results["default"]["learning_curve"])
    head = ["recipe", "5-fold", "nsga2->linas", "linas->nsga2"] + [f"n={s}" for s in sizes]
    print(" | ".join(head) + " | fit s (5-fold) | archs/s")
    for recipe, r in results.items():
        row = [recipe, cell(r["cv5"]), cell(r["cross_nsga2_to_linas"])]
        row += [cell(r["cross_linas_to_nsga2"])]
        row += [f"{r['learning_curve'][s]['kendall_tau']:.3f}" for s in sizes]
        print(
            " | ".join(row) + f" | {r['cv5']['fit_s']:.1f} | {r['encode_predict_archs_per_s']:,.0f}"
        )
    d = results["default"]
    print(
        "coverage of the default: +-1 std, +-1.96 std (nominal 0.683, 0.95) | "
        "conformal predict_interval (nominal 0.68, 0.90, 0.95)"
    )
    for key in ("cv5", "cross_nsga2_to_linas", "cross_linas_to_nsga2"):
        conf = " / ".join(
            f"{d[key][f'conformal_coverage_{c}']:.3f}" for c in ("0.68", "0.90", "0.95")
        )
        print(f"  {key}: {d[key]['coverage_1std']:.3f} / {d[key]['coverage_1.96std']:.3f} | {conf}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
