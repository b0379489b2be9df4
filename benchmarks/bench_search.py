"""Evolutionary search: time per generation and best predicted accuracy, against a per-arch loop.

    python benchmarks/bench_search.py [--generations 100] [--seeds 5] [--constraint 25]

Predictors: OFA's pretrained MobileNetV3 w1.2 accuracy predictor
(``load_ofa_predictor``) and the Note10 latency table (``LatencyTable.from_ofa_yaml``),
both from ``../shared/ofa_reference`` (or ``$SKLEARN_OFA_REFERENCE``). One thread.

Compared with:

- (the same-run comparison with MIT's tutorial ``EvolutionFinder`` itself is
  ``bench_search_vs_ofa.py``);
- ``loop_search`` below, a per-arch re-implementation of the same algorithm
  (tutorial semantics: Python ``random``, dict archs, one efficiency query per
  candidate until it fits, one accuracy call per generation), run with the
  *same* predictors, seeds, constraint and generations, so the best predicted
  accuracies are directly comparable. The finder runs twice: by default (a child
  identical to a parent is redrawn) and with ``redraw_copies=False`` (OFA's rule).

Writes ``benchmarks/results/search.json``.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

REF = Path(
    os.environ.get(
        "SKLEARN_OFA_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "ofa_reference"
    )
)


def load_predictors():
    from sklearn_ofa.accuracy import load_ofa_predictor
    from sklearn_ofa.efficiency import LatencyTable

    acc = load_ofa_predictor(REF / "predictors" / "acc_predictor.pth", "ofa_mbv3_w1.2")
    lut = LatencyTable.from_ofa_yaml(REF / "note10_lut", space="ofa_mbv3_w1.2")
    return acc, lut


# --------------------------------------------------------------- per-arch loop
def loop_search(
    acc,
    lut,
    constraint,
    *,
    generations,
    population=100,
    parent_ratio=0.25,
    mutation_ratio=0.5,
    mutate_prob=0.1,
    seed=0,
):
    """The regularised evolution of OFA's tutorial, one arch at a time (for comparison only)."""
    rnd = random.Random(seed)
    nprnd = np.random.default_rng(seed)
    space = lut.space_
    sizes = [160, 176, 192, 208, 224]
    ks_c, e_c, d_c = [3, 5, 7], [3, 4, 6], [2, 3, 4]
    memo: dict = {}

    def efficiency(arch):
        key = (tuple(arch["ks"]), tuple(arch["e"]), tuple(arch["d"]), arch["image_size"])
        if key not in memo:
            memo[key] = float(lut.predict(space.to_codes([arch]))[0])
        return memo[key]

    def until_fits(make):
        while True:
            arch = make()
            eff = efficiency(arch)
            if eff <= constraint:
                return arch, eff

    def sample():
        return {
            "ks": [rnd.choice(ks_c) for _ in range(20)],
            "e": [rnd.choice(e_c) for _ in range(20)],
            "d": [rnd.choice(d_c) for _ in range(5)],
            "image_size": rnd.choice(sizes),
        }

    def mutate(parent):
        child = copy.deepcopy(parent)
        if rnd.random() < mutate_prob:
            child["image_size"] = rnd.choice(sizes)
        for i in range(20):
            if rnd.random() < mutate_prob:
                child["ks"][i], child["e"][i] = rnd.choice(ks_c), rnd.choice(e_c)
        for i in range(5):
            if rnd.random() < mutate_prob:
                child["d"][i] = rnd.choice(d_c)
        return child

    def crossover(a, b):
        child = {k: [rnd.choice(pair) for pair in zip(a[k], b[k])] for k in ("ks", "e", "d")}
        child["image_size"] = rnd.choice([a["image_size"], b["image_size"]])
        return child

    n_mut = int(round(mutation_ratio * population))
    n_par = int(round(parent_ratio * population))
    pool = [until_fits(sample) for _ in range(population)]
    accs = acc.predict([a for a, _ in pool])
    pop = [(float(x), a, e) for x, (a, e) in zip(accs, pool)]
    best = [max(p[0] for p in pop)]
    seconds = []
    for _ in range(generations):
        t0 = time.perf_counter()
        parents = sorted(pop, key=lambda p: p[0], reverse=True)[:n_par]
        pool = [until_fits(lambda: mutate(parents[nprnd.integers(n_par)][1])) for _ in range(n_mut)]
        pool += [
            until_fits(
                lambda: crossover(
                    parents[nprnd.integers(n_par)][1], parents[nprnd.integers(n_par)][1]
                )
            )
            for _ in range(population - n_mut)
        ]
        accs = acc.predict([a for a, _ in pool])
        pop = parents + [(float(x), a, e) for x, (a, e) in zip(accs, pool)]
        top = max(pop, key=lambda p: p[0])
        best.append(max(best[-1], top[0]))
        seconds.append(time.perf_counter() - t0)
    top = max(pop, key=lambda p: p[0])
    return {
        "best_accuracy": top[0],
        "best_efficiency": top[2],
        "history": best,
        "ms_per_generation": 1e3 * float(np.median(seconds)),
    }


# ------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--constraint", type=float, default=25.0)
    ap.add_argument("--timing-generations", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from sklearn_ofa.search import EvolutionFinder

    if not REF.is_dir():
        sys.exit(f"OFA reference data not found at {REF} (set SKLEARN_OFA_REFERENCE)")
    acc, lut = load_predictors()

    # ---- time per generation
    timing = []
    for pop in (100, 500):
        finder = EvolutionFinder(
            acc,
            lut,
            args.constraint,
            population_size=pop,
            n_generations=args.timing_generations,
            random_state=0,
        )
        cpu0 = time.process_time()
        finder.fit()
        cpu_ms = 1e3 * (time.process_time() - cpu0) / (args.timing_generations + 1)
        sec = finder.history_.seconds[1:]
        ms = 1e3 * float(np.median(sec))
        timing.append(
            {
                "population": pop,
                "ms_per_generation": ms,
                "ms_per_generation_min": 1e3 * float(sec.min()),
                "cpu_ms_per_generation": cpu_ms,
                "archs_per_s": pop / (ms / 1e3),
                "efficiency_queries_per_generation": float(finder.history_.n_candidates[1:].mean()),
                "accuracy_predictions_per_generation": (finder.n_accuracy_predictions_ - pop)
                / args.timing_generations,
            }
        )
    # what the predictors alone cost per call
    space = lut.space_
    codes = space.sample_codes(100, random_state=0)
    finder = EvolutionFinder(
        acc, lut, args.constraint, population_size=100, n_generations=0, random_state=0
    ).fit()
    acc_codes = finder._acc_codes(space.to_codes(space.from_codes(codes)))

    def best_ms(fn, n=30):
        fn()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return 1e3 * float(np.median(ts))

    parts = {
        "accuracy_predict_100_ms": best_ms(lambda: acc.predict(acc_codes)),
        "accuracy_predict_50_ms": best_ms(lambda: acc.predict(acc_codes[:50])),
        "latency_predict_100_ms": best_ms(lambda: lut.predict(codes)),
        "latency_predict_250_ms": best_ms(lambda: lut.predict(np.repeat(codes, 3, 0)[:250])),
    }

    # ---- best predicted accuracy at equal generations, several seeds
    quality = []
    for seed in range(args.seeds):
        finder = EvolutionFinder(
            acc,
            lut,
            args.constraint,
            population_size=100,
            n_generations=args.generations,
            random_state=seed,
        ).fit()
        ofa_mode = EvolutionFinder(
            acc,
            lut,
            args.constraint,
            population_size=100,
            n_generations=args.generations,
            random_state=seed,
            redraw_copies=False,
        ).fit()
        t0 = time.perf_counter()
        ref = loop_search(acc, lut, args.constraint, generations=args.generations, seed=seed)
        loop_s = time.perf_counter() - t0
        quality.append(
            {
                "seed": seed,
                "vectorised_best_accuracy": finder.best_accuracy_,
                "vectorised_best_latency_ms": finder.best_efficiency_,
                "vectorised_copies_kept_best_accuracy": ofa_mode.best_accuracy_,
                "loop_best_accuracy": ref["best_accuracy"],
                "loop_best_latency_ms": ref["best_efficiency"],
                "vectorised_ms_per_generation": 1e3 * float(np.median(finder.history_.seconds[1:])),
                "loop_ms_per_generation": ref["ms_per_generation"],
                "loop_seconds": loop_s,
                "vectorised_best_at": {
                    str(g): float(finder.history_.best_accuracy[g])
                    for g in (10, 25, 50, args.generations)
                    if g <= args.generations
                },
                "loop_best_at": {
                    str(g): float(ref["history"][g])
                    for g in (10, 25, 50, args.generations)
                    if g <= args.generations
                },
            }
        )

    print(
        f"\nSearch, OFA MobileNetV3 w1.2, Note10 LUT <= {args.constraint} ms, "
        f"OFA pretrained predictor, 1 thread"
    )
    print(
        "(wall ms/gen: median and fastest generation; cpu: process time per generation, which\n"
        " is what a quiet machine's wall time would be for this single-threaded work)"
    )
    print(
        f"{'population':>10} {'ms/gen':>8} {'min':>7} {'cpu ms':>7} {'archs/s':>9} {'lat q/gen':>10} "
        f"{'acc pred/gen':>13}"
    )
    for t in timing:
        print(
            f"{t['population']:>10} {t['ms_per_generation']:8.2f} {t['ms_per_generation_min']:7.2f} "
            f"{t['cpu_ms_per_generation']:7.2f} "
            f"{t['archs_per_s']:9.0f} {t['efficiency_queries_per_generation']:10.1f} "
            f"{t['accuracy_predictions_per_generation']:13.1f}"
        )
    print("predictor cost per call: " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
    if not quality:
        save("search_timing", {"settings": vars(args), "timing": timing, "predictor_cost": parts})
        return
    print(f"\nBest predicted top-1 after {args.generations} generations (population 100)")
    print(
        f"{'seed':>4} {'vectorised':>11} {'lat ms':>7} {'copies kept':>11} {'loop':>8} {'lat ms':>7} "
        f"{'vec ms/gen':>10} {'loop ms/gen':>11}"
    )
    for q in quality:
        print(
            f"{q['seed']:>4} {q['vectorised_best_accuracy']:11.4f} {q['vectorised_best_latency_ms']:7.2f} "
            f"{q['vectorised_copies_kept_best_accuracy']:11.4f} {q['loop_best_accuracy']:8.4f} {q['loop_best_latency_ms']:7.2f} "
            f"{q['vectorised_ms_per_generation']:10.2f} {q['loop_ms_per_generation']:11.2f}"
        )
    va = np.array([q["vectorised_best_accuracy"] for q in quality])
    la = np.array([q["loop_best_accuracy"] for q in quality])
    ka = np.array([q["vectorised_copies_kept_best_accuracy"] for q in quality])
    print(
        f"mean {va.mean():11.4f} {'':7} {ka.mean():11.4f} {la.mean():8.4f}   (vectorised - loop: "
        f"{(va - la).mean():+.4f}, wins {int((va >= la).sum())}/{len(va)})"
    )
    path = save(
        "search",
        {
            "settings": {
                **vars(args),
                "threads": 1,
            },
            "timing": timing,
            "predictor_cost": parts,
            "quality": quality,
            "mean_best_accuracy": {
                "vectorised": float(va.mean()),
                "vectorised_copies_kept": float(ka.mean()),
                "loop": float(la.mean()),
            },
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
