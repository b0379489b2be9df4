"""Render benchmark result files as the tables the docs and README print.

The docs build (``docs/conf.py``) writes ``docs/_generated/<topic>.rst`` from
``benchmarks/results/<topic>.json`` with these functions, so the figures on the
pages are the recorded ones; ``tests/test_doc_figures.py`` checks that the
README's rows say the same. Run ``python benchmarks/tables.py`` to print them.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(topic: str) -> dict:
    return json.loads((RESULTS / f"{topic}.json").read_text())


def _pair(d: dict) -> str:
    return f"{d['kendall_tau']:.3f} / {d['rmse_points']:.3f}"


def accuracy_real_cells(res: dict) -> dict[str, dict[str, str]]:
    """Formatted cells per recipe: tau / RMSE (points) and the learning curve's tau."""
    out = {}
    for recipe, r in res["recipes"].items():
        curve = r["learning_curve"]
        out[recipe] = {
            "cv5": _pair(r["cv5"]),
            "nsga2_to_linas": _pair(r["cross_nsga2_to_linas"]),
            "linas_to_nsga2": _pair(r["cross_linas_to_nsga2"]),
            **{f"n{n}": f"{curve[n]['kendall_tau']:.3f}" for n in curve},
            "fit_s": f"{r['cv5']['fit_s']:.1f}",
            "archs_per_s": f"{r['encode_predict_archs_per_s'] / 1000:.0f} K",
        }
    return out


def _grid(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(rows[0], widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows[1:]]
    return "\n".join(lines + [rule]) + "\n"


def accuracy_real_rst(res: dict) -> str:
    """Quality, learning curve and coverage tables of ``accuracy_real.json``."""
    cells = accuracy_real_cells(res)
    sizes = [k[1:] for k in cells["default"] if k.startswith("n") and k[1:].isdigit()]
    names = {"default": "package default", "ofa": 'OFA\'s recipe (``recipe="ofa"``)'}
    quality = [
        ["recipe", "5-fold CV", "NSGA-II -> LINAS", "LINAS -> NSGA-II", "fit (s)", "predict"]
    ]
    curve = [["recipe"] + [f"{n} subnets" for n in sizes]]
    for recipe, c in cells.items():
        quality.append(
            [names.get(recipe, recipe), c["cv5"], c["nsga2_to_linas"], c["linas_to_nsga2"]]
            + [c["fit_s"], c["archs_per_s"] + " archs/s"]
        )
        curve.append([names.get(recipe, recipe)] + [c[f"n{n}"] for n in sizes])
    d = res["recipes"]["default"]
    cov = [["held-out subnets", "+-1 std (68.3 %)", "+-1.96 std (95 %)"]]
    cov[0] += ["conformal 68 %", "conformal 90 %", "conformal 95 %"]
    for key, label in (
        ("cv5", "5-fold CV"),
        ("cross_nsga2_to_linas", "NSGA-II -> LINAS"),
        ("cross_linas_to_nsga2", "LINAS -> NSGA-II"),
    ):
        row = [label, f"{d[key]['coverage_1std']:.1%}", f"{d[key]['coverage_1.96std']:.1%}"]
        row += [f"{d[key][f'conformal_coverage_{c}']:.1%}" for c in ("0.68", "0.90", "0.95")]
        cov.append(row)
    m = res.get("machine", {})
    return (
        f"Kendall tau / RMSE (accuracy points) on {res['n_subnets']} real subnets "
        f"(``benchmarks/bench_accuracy_real.py``, {m.get('date', '?')}, "
        f"torch {m.get('torch', '?')}, 1 thread; fit: seconds per 5-fold fit; predict: "
        "encode + predict of 10,000 codes):\n\n"
        + _grid(quality)
        + "\nLearning curve, Kendall tau on the 20 % test subnets (mean of 3 random splits):\n\n"
        + _grid(curve)
        + "\nCoverage of the default's uncertainty on held-out subnets:\n\n"
        + _grid(cov)
    )


RENDERERS = {"accuracy_real": accuracy_real_rst}


def write_all(folder: Path) -> list[Path]:
    """Write ``folder/<topic>.rst`` for every topic with a results file."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, render in RENDERERS.items():
        if (RESULTS / f"{topic}.json").exists():
            path = folder / f"{topic}.rst"
            path.write_text(render(load(topic)))
            written.append(path)
    return written


if __name__ == "__main__":
    for topic, render in RENDERERS.items():
        print(render(load(topic)))
