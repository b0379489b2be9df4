"""Every figure the README and the docs quote, formatted from the results files.

:func:`figures` reads ``benchmarks/results/*.json`` and returns the figures by
name (strings, as printed). The docs use them as ``|name|`` substitutions
(``docs/conf.py``), ``tables.py`` renders the README's table and the docs'
tables from them, and ``tests/test_doc_figures.py`` checks that the README says
the same. Nothing here is typed in by hand: rerun a benchmark and the docs follow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = {"torch": "torch", "onnxruntime": "ort", "openvino": "ov"}


def load(topic: str) -> dict:
    return json.loads((RESULTS / f"{topic}.json").read_text())


def pct(x: float, decimals: int = 0) -> str:
    return f"{100 * x:.{decimals}f} %"


def share(x: float) -> str:
    """A fraction as a percentage with the decimals it needs (0.995 -> 99.5 %, 0.9 -> 90 %)."""
    return f"{100 * x:.1f}".removesuffix(".0") + " %"


def mega(x: float) -> str:
    return f"{x / 1e6:.2f} M"


def kilo(x: float, decimals: int = 0) -> str:
    return f"{x / 1e3:.{decimals}f} K"


def span(values, fmt: str = "{:.1f}", sep: str = "-") -> str:
    lo, hi = min(values), max(values)
    return (
        fmt.format(lo)
        if fmt.format(lo) == fmt.format(hi)
        else fmt.format(lo) + sep + fmt.format(hi)
    )


def _throughput() -> dict[str, str]:
    t = load("accuracy")["throughput"]
    f = {}
    for name, key in (
        ("enc_dicts", "encode_dicts"),
        ("enc_codes", "encode_codes"),
        ("enc_trusted", "encode_codes_unchecked"),
        ("encpred_codes", "encode_predict_codes"),
    ):
        rate, x = t[key]["archs_per_s"], t[key]["speedup"]
        f[name] = kilo(rate) if rate < 1e6 else mega(rate)
        f[name + "_x"] = f"{x:.1f}x" if x < 10 else f"{x:.0f}x"
        f[name + "_ref"] = kilo(rate / x)
    fl = load("flops")
    f["flops_ref"] = kilo(fl["reference_archs_per_s"], 2)
    for space, short in (("ofa_mbv3_w1.2", "mbv3"), ("ofa_proxyless_w1.3", "proxyless")):
        f[f"flops_{short}"] = mega(fl["spaces"][space]["codes_archs_per_s"])
        f[f"flops_{short}_x"] = f"{fl['spaces'][space]['speedup_codes']:.0f}x"
    f["flops_resnet"] = mega(fl["spaces"]["ofa_resnet50"]["codes_archs_per_s"])
    f["flops_resnet_x"] = f"{fl['spaces']['ofa_resnet50']['speedup_codes']:.0f}x"
    spaces = fl["spaces"].values()
    f["flops_x_range"] = span([s["speedup_codes"] for s in spaces], "{:,.0f}")
    f["flops_dicts_range"] = span([s["dicts_archs_per_s"] / 1e6 for s in spaces], "{:.2f}") + " M"
    build = [s["build_and_count_flops_archs_per_s"] for s in spaces]
    f["flops_build_s_range"] = span([1 / b for b in build], "{:.2f}") + " s"
    f["flops_build_rate_range"] = span(build, "{:.0f}")
    lp = load("lut_predict")
    f["lutp_codes"], f["lutp_dicts"] = mega(lp["codes_archs_per_s"]), mega(lp["dicts_archs_per_s"])
    f["lutp_codes_x"] = f"{lp['speedup_codes']:.0f}x"
    f["lutp_dicts_x"] = f"{lp['speedup_dicts']:.0f}x"
    f["lutp_ref"] = kilo(lp["reference_archs_per_s"], 1)
    return f


def _search_vs_ofa() -> dict[str, str]:
    f = {}
    for gens in (500, 100):
        d = load(f"search_vs_ofa_{gens}gen")
        s, p = d["summary"], f"sv{gens}_"
        f[p + "rounds"] = str(len(d["rounds"]))
        f[p + "ofa_ms"] = f"{s['ofa_ms_per_generation_median']:.2f}"
        f[p + "ours_ms"] = f"{s['ours_ms_per_generation_median']:.2f}"
        f[p + "ratio"] = f"x{s['ratio_median']:.1f}"
        f[p + "range"] = span(s["ratio_range"], "x{:.1f}")
        f[p + "rep_ofa"] = f"{s['ofa_repeat_agreement']:.2f}"
        f[p + "rep_ours"] = f"{s['ours_repeat_agreement']:.2f}"
        f[p + "below_10x"] = str(sum(r["ratio"] < 10 for r in d["rounds"]))
        f[p + "top1_ofa"] = f"{s['best_top1_mean']['ofa']:.4f}"
        f[p + "top1_ours"] = f"{s['best_top1_mean']['ours']:.4f}"
    return f


def _search_verified_of(topic: str, p: str) -> dict[str, str]:
    """Figures of one ``bench_search_verified.py`` results file, under prefix ``p``."""
    d = load(topic)
    s, runs = d["summary"], d["runs"]
    f = {p + "runs": str(s["runs"]), p + "verify_k": str(d["settings"]["verify"])}
    for mode in ("plain", "verify", "confident"):
        f[f"{p}{mode}_over"] = f"{s[mode]['over_budget']} of {s['runs']}"
    f[p + "plain_over_mean"] = f"{s['plain']['mean_measured_over_budget_pct']:.1f} %"
    misses = [
        100 * (r["confident"]["measured_ms"] / r["budget_ms"] - 1)
        for r in runs
        if r["confident"]["measured_ms"] > r["budget_ms"]
    ]
    f[p + "confident_miss_range"] = span(misses) + " %" if misses else "none"
    f[p + "loss_mean"] = f"{s['confident']['accuracy_loss_points_mean']:.2f}"
    f[p + "loss_max"] = f"{s['confident']['accuracy_loss_points_max']:.2f}"
    f[p + "verify_none_within"] = str(sum(not r["verify"]["verified"] for r in runs))
    f[p + "confident_none_within"] = str(sum(not r["confident"]["verified"] for r in runs))
    f[p + "verify_loss_mean"] = f"{s['verify']['accuracy_loss_points_mean']:.2f}"
    f[p + "rounds"] = str(d["settings"].get("verify_rounds", 1))
    # the same arch returned by plain searches of different seeds, timed minutes apart
    same: dict = {}
    for r in runs:
        key = (r["budget_ms"], r["plain"]["accuracy"], r["plain"]["predicted_ms"])
        same.setdefault(key, []).append(r["plain"]["measured_ms"])
    drift = [max(v) / min(v) - 1 for v in same.values() if len(v) > 1]
    f[p + "same_arch_drift"] = pct(max(drift), 0) if drift else "n/a"
    # the confident search's returned subnet: its independent measurement over the median its
    # verification judged (the chosen arch is the most accurate one whose bound met the budget)
    recheck = []
    for r in runs:
        c = r["confident"]
        if c["verified"]:
            i = int(np.argmax(np.asarray(c["verify_bound_ms"]) <= r["budget_ms"]))
            recheck.append(100 * (c["measured_ms"] / c["verify_measured_ms"][i] - 1))
    f[p + "recheck_median"] = f"{np.median(recheck):+.1f} %"
    f[p + "recheck_sd"] = f"{np.std(recheck):.1f} %"
    f[p + "recheck_range"] = span(recheck, "{:+.1f}", " to ") + " %"
    return f


def _search_verified() -> dict[str, str]:
    f = _search_verified_of("search_verified", "sver_")  # the median statistic (the default)
    return f | _search_verified_of("search_verified_min", "svermin_")


def _pareto() -> dict[str, str]:
    rows = load("pareto")["rows"]
    f = {"pareto_seeds": str(len(rows))}
    for key, col in (
        ("hv_pareto", "pareto_hv"),
        ("hv_sweep_curve", "pareto_sweep_hv"),
        ("hv_sweep_all_scored", "pareto_all_hv"),
    ):
        f[col] = span([r[key] for r in rows], "{:.3f}")
    f["pareto_wall"] = span([r["pareto_s"] for r in rows]) + " s"
    f["sweep_wall"] = span([r["sweep_s"] for r in rows]) + " s"
    f["pareto_calls"] = f"{round(np.mean([r['pareto_calls'] for r in rows]), -3):,.0f}"
    return f


def _lut() -> dict[str, str]:
    fit, cal = load("lut_fit"), load("lut_calibration")
    f = {
        "lutfit_blocks": str(fit["distinct_blocks"]),
        "lutfit_wall": f"{fit['total_fit_wall_s']:.1f} s",
        "lutfit_killed": f"{fit['killed_after_s']:.0f} s",
        "lutfit_records": str(fit["journal_records"]),
        "lutfit_duplicates": str(fit["duplicates"]),
        "lutcal_n": str(cal["n_subnets"]),
        "lutcal_ratio": f"{cal['raw_ratio_mean']:.2f} ± {cal['raw_ratio_std']:.2f}",
    }
    for key, short in (
        ("raw", "raw"),
        ("calibrated_linear_cv", "linear"),
        ("calibrated_per_type_cv", "per_type"),
    ):
        f[f"lutcal_{short}_mape"] = f"{cal[key]['mape_pct']:.1f} %"
        f[f"lutcal_{short}_within"] = share(cal[key]["within_10pct"])
        f[f"lutcal_{short}_tau"] = f"{cal[key]['kendall_tau']:.2f}"
    return f


def _lut_judged(p: str, r: dict) -> dict[str, str]:
    """Repeat agreement, fidelity and coverage of one backend and statistic, under prefix ``p``."""
    f = {p + "repeat": share(r["repeat_within_10pct"])}
    f[p + "repeat_mape"] = f"{r['repeat_mape_pct']:.1f} %"
    for model in ("raw", "linear", "hybrid"):
        f[p + model + "_within"] = share(r[model]["within_10pct"])
        f[p + model + "_mape"] = f"{r[model]['mape_pct']:.{2 if model == 'hybrid' else 1}f} %"
    for model in ("linear", "hybrid"):
        f[p + model + "_cover"] = pct(r[model]["interval_coverage_95"], 1)
        splits = r[model]["coverage_splits"]
        f[p + model + "_cover_mean"] = pct(splits["coverage_mean"], 1)
        f[p + model + "_cover_p05"] = pct(splits["coverage_p05"], 1)
    f[p + "chosen"] = r["hybrid"]["chosen"]
    return f


def _lut_backends() -> dict[str, str]:
    f = {}
    results = load("lut_backends")["results"]
    for r in results:
        p = BACKENDS[r["backend"]] + "_"
        f[p + "blocks"] = str(r["blocks"])
        f[p + "fit"] = f"{r['fit_s']:.0f} s"
        f[p + "median_ms"] = f"{np.median(r['measured_ms']):.1f} ms"
        # the median statistic (the default) under p, the min one under p + "min_"
        f |= _lut_judged(p, r) | _lut_judged(p + "min_", r["statistic_min"])
        f["lutb_splits"] = str(r["hybrid"]["coverage_splits"]["splits"])
        f["lutb_n_cal"], f["lutb_n_test"] = str(r["n_cal"]), str(r["n_test"])
        f["lutb_rounds"] = str(r["rounds"])
    f["lutb_repeat_range"] = (
        span([100 * r["repeat_within_10pct"] for r in results], "{:.0f}") + " %"
    )
    runs = load("lut_kill_resume")["runs"]
    for backend, short in BACKENDS.items():
        mine = [r for r in runs if r["backend"] == backend]
        if not mine:
            continue
        p = f"kill_{short}_"
        f[p + "n"] = str(len(mine))
        f[p + "at"] = span([r["killed_at_s"] for r in mine], "{:.0f}") + " s"
        f[p + "before"] = span([r["blocks_before_kill"] for r in mine], "{:.0f}")
        f[p + "rerun"] = span([r["rerun_s"] for r in mine]) + " s"
        f[p + "blocks"] = span([r["distinct_blocks"] for r in mine], "{:.0f}")
        space_blocks = int(f[short + "_blocks"])  # the full profile of that backend
        lost = [space_blocks - r["distinct_blocks"] for r in mine]
        dup = [r["blocks"] - r["distinct_blocks"] + r["unparsable_lines"] for r in mine]
        f[p + "lost"], f[p + "dup"] = str(max(lost)), str(max(dup))
    return f


def _accuracy() -> dict[str, str]:
    f = {}
    digits = load("accuracy_digits")
    f["digits_sd"] = f"{digits['target_sd_points']:.2f}"
    for key, short in (("n_ensemble=5", "digits5"), ("n_ensemble=1", "digits1")):
        d = digits["pipelines"][key]
        f[short + "_tau"] = f"{d['kendall_tau']:.3f}"
        f[short + "_rmse"] = f"{d['rmse_points']:.2f}"
        f[short + "_tau_folds"] = span([x["kendall_tau"] for x in d["folds"]], "{:.3f}", " to ")
        f[short + "_rmse_folds"] = span([x["rmse_points"] for x in d["folds"]], "{:.2f}", " to ")
        f[short + "_fit"] = f"{d['fit_s_total']:.0f} s"
    real = load("accuracy_real")
    f["real_n"] = str(real["n_subnets"])
    for recipe, r in real["recipes"].items():
        p = f"real_{recipe}_"
        for key, short in (
            ("cv5", "cv5"),
            ("cross_nsga2_to_linas", "n2l"),
            ("cross_linas_to_nsga2", "l2n"),
        ):
            f[p + short] = f"{r[key]['kendall_tau']:.3f} / {r[key]['rmse_points']:.3f}"
            f[p + short + "_tau"] = f"{r[key]['kendall_tau']:.3f}"
            f[p + short + "_rmse"] = f"{r[key]['rmse_points']:.3f}"
        for n, c in r["learning_curve"].items():
            f[p + f"n{n}"] = f"{c['kendall_tau']:.3f}"
        f[p + "fit"] = f"{r['cv5']['fit_s']:.1f} s"
        f[p + "predict"] = kilo(r["encode_predict_archs_per_s"]) + " archs/s"
        if recipe == "default":
            for key, short in (("cv5", "cv5"), ("cross_nsga2_to_linas", "n2l")):
                f[p + short + "_cover1"] = pct(r[key]["coverage_1std"], 1)
                for c in ("0.68", "0.90", "0.95"):
                    f[p + short + f"_conf{c[2:]}"] = pct(r[key][f"conformal_coverage_{c}"], 1)
            f[p + "l2n_conf95"] = pct(r["cross_linas_to_nsga2"]["conformal_coverage_0.95"], 0)
            f[p + "n2l_conf95_short"] = pct(r["cross_nsga2_to_linas"]["conformal_coverage_0.95"], 0)
            under = 95 - 100 * r["cv5"]["conformal_coverage_0.95"]
            f[p + "cv5_conf95_under"] = f"{under:.1f} points"
    return f


def _parity() -> dict[str, str]:
    d = load("parity")
    spec = d["specialized"]
    pred, named = (np.array([r[k] for r in spec]) for k in ("predicted", "named"))
    return {
        "spec_n": str(len(spec)),
        "spec_gap": f"{100 * np.mean(pred - named):.1f}",
        "spec_tau": f"{d['specialized_kendall_tau']:.2f}",
        "parity_records": str(d["predictor_records"]),
        "parity_pred_diff": f"{d['predictor_max_abs_diff']:.0e}",
        "parity_subnets": str(len(d["logits_rel_error_transformed"])),
        "parity_logits": f"{max(d['logits_rel_error_transformed']):.1e}",
        "parity_crop": span(d["logits_rel_error_crop"], "{:.1e}", " to "),
    }


SOURCES = (
    _parity,
    _throughput,
    _search_vs_ofa,
    _search_verified,
    _pareto,
    _lut,
    _lut_backends,
    _accuracy,
)


def figures() -> dict[str, str]:
    """Every quoted figure by name, formatted as printed."""
    out: dict[str, str] = {}
    for source in SOURCES:
        out.update(source())
    return out


def rst_substitutions(f: dict[str, str] | None = None) -> str:
    """``.. |name| replace:: value`` lines for the docs' ``rst_epilog`` (``f``: the figures)."""
    f = figures() if f is None else f
    return "\n".join(f".. |{k}| replace:: {v}" for k, v in f.items()) + "\n"


if __name__ == "__main__":
    for name, value in figures().items():
        print(f"{name:32s} {value}")
