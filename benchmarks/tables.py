"""Render the benchmark results as the tables the docs and the README print.

The docs build (``docs/conf.py``) writes ``docs/_generated/<topic>.rst`` with
:func:`write_all`; the README's "Measured" table is :func:`readme_table`,
written into README.md by ``python benchmarks/tables.py --readme`` and checked
by ``tests/test_doc_figures.py``. Every figure comes from ``figures.py``, which
reads ``benchmarks/results/*.json``; ``python benchmarks/tables.py`` prints the
docs' tables.
"""

from __future__ import annotations

import sys
from pathlib import Path

from figures import BACKENDS, figures, load

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = (
    "<!-- measured: written by `python benchmarks/tables.py --readme` from benchmarks/results -->"
)
END = "<!-- end of measured -->"


def _grid(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(rows[0], widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows[1:]]
    return "\n".join(lines + [rule]) + "\n"


def accuracy_real_rst(f: dict[str, str]) -> str:
    """Quality, learning curve and coverage tables of ``accuracy_real.json``."""
    res = load("accuracy_real")
    names = {"default": "package default", "ofa": 'OFA\'s recipe (``recipe="ofa"``)'}
    sizes = list(res["recipes"]["default"]["learning_curve"])
    quality = [["recipe", "5-fold CV", "NSGA-II -> LINAS", "LINAS -> NSGA-II", "fit", "predict"]]
    curve = [["recipe"] + [f"{n} subnets" for n in sizes]]
    for recipe in res["recipes"]:
        p = f"real_{recipe}_"
        quality.append(
            [names[recipe]] + [f[p + k] for k in ("cv5", "n2l", "l2n", "fit", "predict")]
        )
        curve.append([names[recipe]] + [f[p + f"n{n}"] for n in sizes])
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
    m = res["machine"]
    return (
        f"Kendall tau / RMSE (accuracy points) on {f['real_n']} real subnets "
        f"(``benchmarks/bench_accuracy_real.py``, {m['date']}, torch {m['torch']}, "
        "1 thread; fit: seconds per 5-fold fit; predict: encode + predict of 10,000 codes):\n\n"
        + _grid(quality)
        + "\nLearning curve, Kendall tau on the 20 % test subnets (mean of 3 random splits):\n\n"
        + _grid(curve)
        + "\nCoverage of the default's uncertainty on held-out subnets:\n\n"
        + _grid(cov)
    )


def throughput_rst(f: dict[str, str]) -> str:
    rows = [["what", "archs/s", "reference", "ratio"]]
    for label, key in (
        ("``ArchEncoder`` from arch dicts", "enc_dicts"),
        ("``ArchEncoder`` from a code matrix (validated)", "enc_codes"),
        ("``ArchEncoder.transform_codes`` (trusted codes)", "enc_trusted"),
        ("encode + predict (OFA predictor, 400-wide MLP), codes", "encpred_codes"),
    ):
        rows.append([label, f[key], f[key + "_ref"], f[key + "_x"]])
    for label, key in (
        ("MobileNetV3 w1.2", "flops_mbv3"),
        ("ProxylessNAS w1.3", "flops_proxyless"),
        ("ResNet50", "flops_resnet"),
    ):
        rows.append(
            [f"``FLOPsModel.predict``, {label}, codes", f[key], f["flops_ref"], f[key + "_x"]]
        )
    for label, key in (("codes", "lutp_codes"), ("arch dicts", "lutp_dicts")):
        rows.append([f"``LatencyTable.predict``, {label}", f[key], f["lutp_ref"], f[key + "_x"]])
    return _grid(rows)


def search_vs_ofa_rst(f: dict[str, str]) -> str:
    rows = [["generations", "OFA ms/gen", "sklearn-ofa ms/gen", "same-run ratio"]]
    rows[0].append("repeat agreement (max/min)")
    for gens, label in ((500, "500 (default)"), (100, "100")):
        p = f"sv{gens}_"
        rows.append(
            [label, f[p + "ofa_ms"], f[p + "ours_ms"], f"{f[p + 'ratio']} ({f[p + 'range']})"]
            + [f"OFA {f[p + 'rep_ofa']}, sklearn-ofa {f[p + 'rep_ours']}"]
        )
    return _grid(rows)


def search_verified_rst(f: dict[str, str]) -> str:
    rows = [["statistic", "search", "over budget, measured", "predicted top-1 vs plain"]]
    for stat, p in (("median", "sver_"), ("min", "svermin_")):
        k, miss = f[p + "verify_k"], f[p + "confident_miss_range"]
        rows += [
            [stat, "plain (point prediction)", f[p + "plain_over"], "--"],
            [
                stat,
                f"``verify={k}`` alone",
                f[p + "verify_over"],
                f"-{f[p + 'verify_loss_mean']} points",
            ],
            [
                stat,
                f"``confidence=0.95`` and ``verify={k}``",
                f[p + "confident_over"] + ("" if miss == "none" else f" (by {miss})"),
                f"-{f[p + 'loss_mean']} points (worst -{f[p + 'loss_max']})",
            ],
        ]
    return _grid(rows)


def pareto_rst(f: dict[str, str]) -> str:
    rows = [["seed", "sweep curve", "sweep, all scored", "NSGA-II front", "wall: sweep / NSGA-II"]]
    for r in load("pareto")["rows"]:
        rows.append(
            [str(r["seed"])]
            + [f"{r[k]:.3f}" for k in ("hv_sweep_curve", "hv_sweep_all_scored", "hv_pareto")]
            + [f"{r['sweep_s']:.1f} s / {r['pareto_s']:.1f} s"]
        )
    return _grid(rows)


def lut_backends_rst(f: dict[str, str]) -> str:
    rows = [["backend", "statistic", "blocks", "fit", "repeat agreement +-10 %"]]
    rows[0] += ["raw sum +-10 % / MAPE", "linear +-10 % / MAPE", "hybrid +-10 % / MAPE"]
    rows[0] += ["hybrid 95 % interval coverage"]
    rows[0] += [f"same, mean / 5th percentile of {f['lutb_splits']} splits"]
    for backend, short in BACKENDS.items():
        for stat, p in (("median", short + "_"), ("min", short + "_min_")):
            rows.append(
                [backend, stat, f[short + "_blocks"], f[short + "_fit"], f[p + "repeat"]]
                + [
                    f"{f[p + m + '_within']} / {f[p + m + '_mape']}"
                    for m in ("raw", "linear", "hybrid")
                ]
                + [f[p + "hybrid_cover"]]
                + [f"{f[p + 'hybrid_cover_mean']} / {f[p + 'hybrid_cover_p05']}"]
            )
    return _grid(rows)


def specialized_rst(f: dict[str, str]) -> str:
    rows = [["net", "size", "predicted", "top-1 (name)"]]
    for r in load("parity")["specialized"]:
        name = r["name"].split("_finetune")[0]
        rows.append([name, str(r["image_size"]), f"{100 * r['predicted']:.2f}"])
        rows[-1].append(f"{100 * r['named']:.1f}")
    return _grid(rows)


RENDERERS = {
    "accuracy_real": accuracy_real_rst,
    "throughput": throughput_rst,
    "search_vs_ofa": search_vs_ofa_rst,
    "search_verified": search_verified_rst,
    "pareto": pareto_rst,
    "lut_backends": lut_backends_rst,
    "specialized": specialized_rst,
}

# The README's measured table: (what, result) templates over the names of figures.py.
# Rows without a placeholder state what the test suite asserts exactly.
README_ROWS = (
    (
        "OFA parity",
        "600 OFA records: `net.config` and parameter counts equal; all 21 released specialized "
        "nets build, run and parse back; MACs equal to OFA's `count_flops_given_config` on all 600",
    ),
    (
        "OFA predictor import",
        "max abs. difference to OFA's tutorial predictions {parity_pred_diff} on "
        "{parity_records} archs (same weights, same features)",
    ),
    (
        "OFA supernet extraction (`load_ofa_supernet`), randomised w1.2 checkpoint with OFA's "
        "key names",
        "logits of OFA's `get_active_subnet(preserve_weight=True)` for {parity_subnets} subnets "
        "reproduced to {parity_logits} relative (plain kernel crop: {parity_crop}); parameter "
        "counts equal",
    ),
    (
        "bundled ImageNet subnets (DyNAS-T)",
        "recorded MACs equal the package's `FLOPsModel` count for all 901, parameter counts "
        "equal `build_subnet`'s for all 901",
    ),
    (
        "default accuracy pipeline, {real_n} real ImageNet subnets (bundled), Kendall tau / "
        "RMSE points",
        "5-fold CV {real_default_cv5} (OFA's recipe {real_ofa_cv5}); trained on the NSGA-II "
        "search, scored on the LINAS one {real_default_n2l} (OFA's {real_ofa_n2l}); LINAS -> "
        "NSGA-II {real_default_l2n} (OFA's {real_ofa_l2n})",
    ),
    (
        "learning curve on the real subnets, Kendall tau on 20 % held out (3 splits)",
        "250 / 500 / 720 training subnets: default {real_default_n250} / {real_default_n500} / "
        "{real_default_n720}, OFA's recipe {real_ofa_n250} / {real_ofa_n500} / {real_ofa_n720}",
    ),
    (
        "accuracy uncertainty, 5-fold held-out real subnets",
        "`mean +- std` covers {real_default_cv5_cover1} (nominal 68.3 %), conformal "
        "`predict_interval` {real_default_cv5_conf90} at 90 % and {real_default_cv5_conf95} at "
        "95 %; subnets of the other search: conformal 95 % covers only "
        "{real_default_n2l_conf95_short} and {real_default_l2n_conf95}",
    ),
    (
        "default vs OFA's recipe, cost (1 thread)",
        "fit on 720 subnets {real_default_fit} vs {real_ofa_fit}; encode + predict "
        "{real_default_predict} vs {real_ofa_predict} (5 networks vs 1)",
    ),
    (
        "default pipeline on the bundled digits subnets, 5-fold CV",
        "Kendall tau {digits5_tau}, RMSE {digits5_rmse} points (one network, `n_ensemble=1`: "
        "{digits1_tau} / {digits1_rmse})",
    ),
    (
        "`LatencyTable.fit`, full MobileNetV3 w1.2 space at 160/176/192/208/224",
        "{lutfit_blocks} distinct blocks, {lutfit_wall} wall (killed after {lutfit_killed}, "
        "resumed: {lutfit_records} journal records, {lutfit_duplicates} duplicated)",
    ),
    (
        "{lutcal_n} random subnets, raw block sum vs measured",
        "MAPE {lutcal_raw_mape}, {lutcal_raw_within} within ±10 %, Kendall tau {lutcal_raw_tau}",
    ),
    (
        "same, linear calibration (5-fold CV)",
        "MAPE {lutcal_linear_mape}, {lutcal_linear_within} within ±10 %, Kendall tau "
        "{lutcal_linear_tau}",
    ),
    (
        "backends, full w1.2 space at 160-224: fit",
        "{torch_blocks} blocks: torch {torch_fit}, ONNX Runtime {ort_fit}, OpenVINO {ov_fit} "
        "(export included)",
    ),
    (
        "backends, kill -9 mid-profile, then the same command "
        "(`benchmarks/bench_lut_kill_resume.sh`)",
        "ONNX Runtime: killed at {kill_ort_at} with {kill_ort_before} blocks journaled "
        "({kill_ort_n} runs), reruns {kill_ort_rerun}, {kill_ort_blocks} blocks, "
        "{kill_ort_lost} lost, {kill_ort_dup} duplicated; OpenVINO: killed at {kill_ov_at} with "
        "{kill_ov_before}, rerun {kill_ov_rerun}, {kill_ov_blocks} blocks, {kill_ov_lost} lost, "
        "{kill_ov_dup} duplicated",
    ),
    (
        "backends, {lutb_n_cal} calibration / {lutb_n_test} held-out subnets ({lutb_rounds} "
        "interleaved passes): hybrid",
        "torch {torch_hybrid_within} within ±10 %, MAPE {torch_hybrid_mape}, 95 % intervals "
        "cover {torch_hybrid_cover}; ONNX Runtime {ort_hybrid_within}, {ort_hybrid_mape}, "
        "{ort_hybrid_cover}; OpenVINO {ov_hybrid_within}, {ov_hybrid_mape}, {ov_hybrid_cover}; "
        "coverage over {lutb_splits} random splits, mean: {torch_hybrid_cover_mean}, "
        "{ort_hybrid_cover_mean}, {ov_hybrid_cover_mean} (repeat agreement {lutb_repeat_range})",
    ),
    (
        "same: linear / raw block sum",
        "torch {torch_linear_within} / {torch_raw_within}; ONNX Runtime {ort_linear_within} / "
        "{ort_raw_within}; OpenVINO {ov_linear_within} / {ov_raw_within} within ±10 %",
    ),
    (
        "same: repeat agreement (pass 1 vs pass 2 within ±10 %)",
        "torch {torch_repeat}, ONNX Runtime {ort_repeat}, OpenVINO {ov_repeat} (one run, this "
        "noisy shared VM)",
    ),
    (
        'same passes, `statistic="min"` (blocks and subnets timed by their fastest repeat): hybrid',
        "torch {torch_min_hybrid_within} within ±10 %, MAPE {torch_min_hybrid_mape}; ONNX "
        "Runtime {ort_min_hybrid_within}, {ort_min_hybrid_mape}; OpenVINO "
        "{ov_min_hybrid_within}, {ov_min_hybrid_mape}; coverage over {lutb_splits} splits, "
        "mean: {torch_min_hybrid_cover_mean}, {ort_min_hybrid_cover_mean}, "
        "{ov_min_hybrid_cover_mean}; repeat agreement {torch_min_repeat}, {ort_min_repeat}, "
        "{ov_min_repeat}",
    ),
    (
        "`LatencyTable.predict`, 10,000 archs",
        "{lutp_codes} archs/s from codes ({lutp_codes_x} OFA's per-arch {lutp_ref}/s), "
        "{lutp_dicts}/s from dicts",
    ),
    (
        "`FLOPsModel.predict`, 10,000 archs",
        "{flops_mbv3} (MobileNetV3), {flops_proxyless} (ProxylessNAS), {flops_resnet} "
        "(ResNet50) archs/s from codes",
    ),
    (
        "`ArchEncoder`, 10,000 archs",
        "{enc_codes} archs/s from validated codes ({enc_codes_x}), {enc_trusted}/s trusted codes "
        "({enc_trusted_x}), {enc_dicts}/s from dicts ({enc_dicts_x})",
    ),
    (
        "encode + predict, OFA's 400-wide MLP",
        "{encpred_codes} archs/s ({encpred_codes_x}; the MLP's matrix products dominate)",
    ),
    (
        "`EvolutionFinder` vs OFA's tutorial finder, same run, population 100, Note10 LUT, "
        "25 ms, 500 generations",
        "{sv500_ours_ms} vs {sv500_ofa_ms} ms per generation: {sv500_ratio} median "
        "({sv500_range} over {sv500_rounds} rounds; repeat agreement max/min {sv500_rep_ours} "
        "and {sv500_rep_ofa}); 100 generations: {sv100_ratio} ({sv100_range})",
    ),
    (
        "searched subnets measured again, 4 budgets x 5 seeds (torch backend, hybrid table)",
        "over budget: plain {sver_plain_over}, `verify={sver_verify_k}` {sver_verify_over}, "
        "`confidence=0.95` + `verify={sver_verify_k}` {sver_confident_over} (by "
        "{sver_confident_miss_range}) at -{sver_loss_mean} points predicted top-1",
    ),
    (
        "`ParetoFinder` (NSGA-II) vs a 7-budget sweep at equal accuracy predictions "
        "(~{pareto_calls}), {pareto_seeds} seeds",
        "hypervolume {pareto_hv} vs {pareto_sweep_hv} (sweep curve) and {pareto_all_hv} (front "
        "of all the sweep scored); wall {pareto_wall} vs {sweep_wall}",
    ),
)


# Figures the README's prose quotes (its Limitations); each rendered phrase must appear
# in README.md, whitespace aside.
README_PHRASES = (
    "the search runs at {sv500_ratio} OFA's tutorial per generation in the median of "
    "{sv500_rounds} same-run rounds at 500 generations, but {sv500_below_10x} of the "
    "{sv500_rounds} rounds were below 10x, and {sv100_ratio} at 100 generations; encoding from "
    "validated codes runs at {enc_codes_x} (target 100x; {enc_trusted_x} when the codes are "
    "trusted",
    "5-fold Kendall tau {real_default_cv5_tau} / RMSE {real_default_cv5_rmse} points (target "
    "0.970 / 0.055), {real_default_n250} with 250 training subnets (target 0.945), and "
    "generalises poorly across searches ({real_default_n2l} and {real_default_l2n} points)",
    "conformal 95 % intervals cover {real_default_cv5_conf95} in 5-fold CV, "
    "{real_default_cv5_conf95_under} under) but far too narrow for archs of another search "
    "({real_default_n2l_conf95_short} and {real_default_l2n_conf95})",
    "underestimates end-to-end latency ({lutcal_ratio} of it here)",
    "w1.2 specialized nets run about {spec_gap} points above the top-1 in their names "
    "(Kendall tau {spec_tau})",
    "hybrid calibration puts {torch_hybrid_within}, {ort_hybrid_within} and {ov_hybrid_within} "
    "of held-out subnets within ±10 % (PyTorch, ONNX Runtime, OpenVINO; goal 99 %; the two "
    "halves of the passes over the same subnets agree within ±10 % only {lutb_repeat_range} of "
    "the time here), MAPE {torch_hybrid_mape}, {ort_hybrid_mape} and {ov_hybrid_mape} against "
    "a 3 % goal. One "
    "calibration set's 95 % intervals covered {torch_hybrid_cover}, {ort_hybrid_cover} and "
    "{ov_hybrid_cover} of the held-out subnets; over {lutb_splits} random calibration / held-out "
    "splits of the same subnets, {torch_hybrid_cover_mean}, {ort_hybrid_cover_mean} and "
    "{ov_hybrid_cover_mean} on average (5th percentile {torch_hybrid_cover_p05}, "
    "{ort_hybrid_cover_p05}, {ov_hybrid_cover_p05})",
    'with `statistic="min"`, from the same passes: {torch_min_hybrid_within}, '
    "{ort_min_hybrid_within} and {ov_min_hybrid_within} within ±10 %, MAPE "
    "{torch_min_hybrid_mape}, {ort_min_hybrid_mape} and {ov_min_hybrid_mape}, repeat agreement "
    "{torch_min_repeat}, {ort_min_repeat} and {ov_min_repeat}",
    "{sver_confident_over} returned subnets still measured over budget when timed again (by "
    "{sver_confident_miss_range}) and the predicted top-1 was {sver_loss_mean} points below the "
    "plain search",
    'with `statistic="min"` (tables and measurements on the fastest repeat) '
    "{svermin_confident_over} were over budget at {svermin_loss_mean} points",
    "the plain search's winners measured {svermin_plain_over_mean} against the budget on average",
    "a returned subnet timed again differed from the median its verification judged by "
    "{svermin_recheck_median} (standard deviation {svermin_recheck_sd}; median statistic "
    "{sver_recheck_median}, {sver_recheck_sd})",
)


def readme_table(f: dict[str, str] | None = None) -> str:
    """The README's measured table, between its two marker lines."""
    f = figures() if f is None else f
    lines = [BEGIN, "", "| what | result |", "| --- | --- |"]
    lines += [f"| {what.format(**f)} | {result.format(**f)} |" for what, result in README_ROWS]
    return "\n".join(lines + ["", END])


def readme_block(text: str) -> str:
    """The marked block of a README's text (markers included)."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def write_readme() -> None:
    text = README.read_text()
    README.write_text(text.replace(readme_block(text), readme_table()))


def write_all(folder: Path, f: dict[str, str] | None = None) -> list[Path]:
    """Write ``folder/<topic>.rst`` for every table of :data:`RENDERERS` (``f``: the figures)."""
    folder.mkdir(parents=True, exist_ok=True)
    f = figures() if f is None else f
    written = []
    for topic, render in RENDERERS.items():
        path = folder / f"{topic}.rst"
        path.write_text(render(f))
        written.append(path)
    return written


if __name__ == "__main__":
    if sys.argv[1:] == ["--readme"]:
        write_readme()
        print("wrote the measured table of", README)
    else:
        f = figures()
        for topic, render in RENDERERS.items():
            print(f"{topic}:\n{render(f)}")
