"""Search speed against MIT's ``once-for-all`` tutorial ``EvolutionFinder``, same run.

Both searches run in this one process, one thread, interleaved round by round
(the order alternates), with the same predictors: OFA's pretrained MobileNetV3
w1.2 accuracy predictor and its Note10 latency tables from
``../shared/ofa_reference`` (or ``$SKLEARN_OFA_REFERENCE``), population 100,
parent ratio 0.25, mutation ratio 0.5, mutate probability 0.1, the same
latency constraint. A round times one whole search of ``--generations``
generations on each side; ms per generation is that wall time divided by the
number of generations (the initial population is included on both sides).
Reported: the median of each side, the median and range of the per-round
ratios OFA / sklearn-ofa, and each side's repeat agreement (max / min over
rounds).

OFA's code is not a dependency. Get the tutorial files from its PyPI release
(the wheel has no dependencies; its package ``__init__`` imports torchvision,
so only the three tutorial modules are loaded, by file)::

    pip download --no-deps ofa==0.1.0.post202307202001 -d /tmp/ofa
    unzip -q /tmp/ofa/ofa-*.whl -d /tmp/ofa/src
    python benchmarks/bench_search_vs_ofa.py --ofa-tutorial /tmp/ofa/src/ofa/tutorial

The tutorial modules download their data; here ``ofa.utils.download_url`` is
given the local copies instead, its ``yaml.load(fp)`` (PyYAML < 6 API) is given
``yaml.safe_load``, and its tqdm bar is disabled. Nothing else of its code changes.

Writes ``benchmarks/results/search_vs_ofa_<generations>gen.json``.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import random
import statistics
import sys
import time
import types
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


def load_ofa_tutorial(folder: Path) -> types.SimpleNamespace:
    """OFA's tutorial EvolutionFinder, AccuracyPredictor and LatencyTable on local data."""
    import tqdm
    import yaml

    def download_url(url, *args, **kwargs):
        name = url.rsplit("/", 1)[-1]
        sub = "predictors" if name.endswith(".pth") else "note10_lut"
        return str(REF / sub / name)

    utils = types.ModuleType("ofa.utils")
    utils.download_url = download_url
    sys.modules.setdefault("ofa", types.ModuleType("ofa"))
    sys.modules["ofa.utils"] = utils
    mods = {}
    for name in ("evolution_finder", "accuracy_predictor", "latency_table"):
        spec = importlib.util.spec_from_file_location(f"ofa_tutorial_{name}", folder / f"{name}.py")
        mods[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[name])
    mods["latency_table"].yaml = types.SimpleNamespace(load=yaml.safe_load)
    mods["evolution_finder"].tqdm = functools.partial(tqdm.tqdm, disable=True)
    return types.SimpleNamespace(**mods)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ofa-tutorial", type=Path, required=True, help="folder of OFA's tutorial/")
    ap.add_argument("--generations", type=int, default=500, help="default: both finders' default")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--constraint", type=float, default=25.0, help="Note10 latency (ms)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if not REF.is_dir():
        sys.exit(f"OFA reference data not found at {REF} (set SKLEARN_OFA_REFERENCE)")
    if not (args.ofa_tutorial / "evolution_finder.py").is_file():
        sys.exit(f"--ofa-tutorial {args.ofa_tutorial}: no evolution_finder.py there")

    from sklearn_ofa.accuracy import load_ofa_predictor
    from sklearn_ofa.efficiency import LatencyTable
    from sklearn_ofa.search import EvolutionFinder

    ofa = load_ofa_tutorial(args.ofa_tutorial)
    with open(os.devnull, "w") as quiet:  # its LatencyTable prints a line per table
        stdout, sys.stdout = sys.stdout, quiet
        try:
            ofa_lut = ofa.latency_table.LatencyTable(device="note10")
        finally:
            sys.stdout = stdout
    ofa_acc = ofa.accuracy_predictor.AccuracyPredictor(pretrained=True, device="cpu")
    acc = load_ofa_predictor(REF / "predictors" / "acc_predictor.pth", "ofa_mbv3_w1.2")
    lut = LatencyTable.from_ofa_yaml(REF / "note10_lut", space="ofa_mbv3_w1.2")
    G = args.generations

    def run_ofa(seed: int) -> tuple[float, float, float]:
        finder = ofa.evolution_finder.EvolutionFinder(
            "note10", args.constraint, ofa_lut, ofa_acc, max_time_budget=G, population_size=100
        )
        random.seed(seed)
        np.random.seed(seed)
        t0 = time.perf_counter()
        _, best = finder.run_evolution_search()
        return 1e3 * (time.perf_counter() - t0) / G, float(best[0]), float(best[2])

    def run_ours(seed: int) -> tuple[float, float, float]:
        finder = EvolutionFinder(
            acc, lut, args.constraint, population_size=100, n_generations=G, random_state=seed
        )
        t0 = time.perf_counter()
        finder.fit()
        ms = 1e3 * (time.perf_counter() - t0) / G
        return ms, finder.best_accuracy_, finder.best_efficiency_

    run_ofa(0), run_ours(0)  # warm-up: first-call costs of both sides
    rounds = []
    for r in range(args.rounds):
        order = (("ofa", run_ofa), ("ours", run_ours))
        res = dict((name, fn(r)) for name, fn in (order if r % 2 == 0 else order[::-1]))
        rounds.append(
            {
                "round": r,
                "ofa_ms_per_generation": res["ofa"][0],
                "ours_ms_per_generation": res["ours"][0],
                "ratio": res["ofa"][0] / res["ours"][0],
                "ofa_best": res["ofa"][1:],
                "ours_best": res["ours"][1:],
            }
        )
        print(
            f"round {r}: OFA {res['ofa'][0]:7.2f} ms/gen  sklearn-ofa {res['ours'][0]:6.2f} "
            f"ms/gen  ratio x{rounds[-1]['ratio']:.1f}  (best top-1 {res['ofa'][1]:.4f} vs "
            f"{res['ours'][1]:.4f})",
            flush=True,
        )

    def col(key):
        return [x[key] for x in rounds]

    ofa_ms, ours_ms, ratio = (
        col(k) for k in ("ofa_ms_per_generation", "ours_ms_per_generation", "ratio")
    )
    summary = {
        "ofa_ms_per_generation_median": statistics.median(ofa_ms),
        "ours_ms_per_generation_median": statistics.median(ours_ms),
        "ratio_median": statistics.median(ratio),
        "ratio_range": [min(ratio), max(ratio)],
        "ofa_repeat_agreement": max(ofa_ms) / min(ofa_ms),
        "ours_repeat_agreement": max(ours_ms) / min(ours_ms),
        "best_top1_mean": {
            "ofa": statistics.mean(x["ofa_best"][0] for x in rounds),
            "ours": statistics.mean(x["ours_best"][0] for x in rounds),
        },
    }
    print(
        f"\nper generation (population 100, {G} generations, {args.rounds} rounds, 1 thread): "
        f"OFA {summary['ofa_ms_per_generation_median']:.2f} ms, sklearn-ofa "
        f"{summary['ours_ms_per_generation_median']:.2f} ms; same-run ratio median "
        f"x{summary['ratio_median']:.1f} (rounds x{min(ratio):.1f}-x{max(ratio):.1f}); repeat "
        f"agreement max/min OFA {summary['ofa_repeat_agreement']:.2f}, sklearn-ofa "
        f"{summary['ours_repeat_agreement']:.2f}"
    )
    path = save(
        f"search_vs_ofa_{G}gen",
        {
            "settings": {**vars(args), "ofa_tutorial": str(args.ofa_tutorial), "threads": 1},
            "rounds": rounds,
            "summary": summary,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
