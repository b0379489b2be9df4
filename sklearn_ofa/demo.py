"""The main job: the whole workflow on the bundled data (digits and real ImageNet subnets)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_folder, atomic_output

__all__ = ["run_demo", "REPORT_FILES"]

#: Names that a report folder of :func:`run_demo` holds (older releases wrote
#: the models as ``.joblib``); a folder holding anything else is not replaced.
REPORT_FILES = frozenset(
    {
        "report.json",
        "report.txt",
        "accuracy_parity.png",
        "latency_parity.png",
        "pareto.png",
        "accuracy_pipeline.skops",
        "latency_table.skops",
        "latency_table_yaml",
        "lut_journal.jsonl",
        "accuracy_pipeline.joblib",
        "latency_table.joblib",
    }
)


def _log(verbose: bool, msg: str) -> None:
    if verbose:  # progress goes to stderr: stdout is the report (``--json``)
        print(f"[sklearn-ofa demo] {msg}", file=sys.stderr, flush=True)


def _write_json(path: Path, payload: Any) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(
            json.dumps(
                payload, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)
            )
        )


def run_demo(
    out: str | os.PathLike = "sklearn-ofa-demo",
    *,
    quick: bool = False,
    random_state: int = 0,
    verbose: bool = True,
) -> dict:
    """Cross-validate the accuracy pipeline, profile a CPU latency table, search, report.

    On the bundled :func:`~sklearn_ofa.datasets.load_digits_subnets` data (steps 1 to 3)
    and the bundled real ImageNet subnets (step 4):

    1. 5-fold cross-validation of :func:`~sklearn_ofa.make_accuracy_pipeline`
       with one network (``n_ensemble=1``; Kendall tau, RMSE in accuracy points)
       and a fit on all records;
    2. a :class:`~sklearn_ofa.LatencyTable` profiled on this CPU for the
       dataset's space, a set of subnets measured end to end the same way,
       and a cross-validated linear calibration;
    3. an evolutionary search under a few latency constraints;
    4. real ImageNet numbers on :func:`~sklearn_ofa.datasets.load_ofa_mbv3_imagenet`
       (901 measured OFA MobileNetV3 w1.0 subnets): the default pipeline's cross-validated
       quality, a cross-search split (trained on one search's subnets, tested on
       the other's), and a search at 224 px under latency constraints with a
       latency table profiled on this CPU, beside the best measured real subnet
       whose latency by that table fits each constraint.

    Writes ``report.json``, ``report.txt`` and PNG figures (with matplotlib)
    into ``out``, the fitted models as skops files (``accuracy_pipeline.skops``,
    ``latency_table.skops``; load them with :func:`sklearn_ofa.persistence.load`),
    the table as OFA YAML files and the profiling journal.

    The folder appears whole or not at all: it is written as a hidden sibling
    and renamed into place (replacing a previous report). The profiling journal
    lives beside it (``.<out>.lut_journal.jsonl``) until the report is complete,
    so an interrupted demo resumes its measurements.

    Parameters
    ----------
    out : path
        Report folder (created, or replaced as a whole).
    quick : bool
        Smaller settings, for tests.
    random_state : int
        Seed of every random draw of the demo.
    verbose : bool
        Print progress.

    Returns
    -------
    dict
        The report (also in ``report.json``); ``report["text"]`` is the summary.

    Examples
    --------
    Not run as a doctest (about 30 s even with ``quick=True``; the CLI tests run it):

    >>> report = run_demo("report/", quick=True, verbose=False)  # doctest: +SKIP
    >>> sorted(report)  # doctest: +SKIP
    ['accuracy', 'figures', 'imagenet', 'latency', 'search', 'seconds_total', 'settings', 'text']
    """
    out = Path(out)
    if out.is_dir():
        foreign = sorted(
            p.name
            for p in out.iterdir()
            if p.name not in REPORT_FILES and not p.name.startswith(".tmp-")
        )
        if foreign:
            raise ValueError(
                f"out = {str(out)!r} holds files that are not part of a demo report "
                f"({', '.join(foreign[:3])}); allowed: a new folder or a previous report folder"
            )
    where = Path(os.path.abspath(out))
    journal = where.parent / f".{where.name}.lut_journal{'-quick' if quick else ''}.jsonl"
    with atomic_folder(out) as tmp:
        report = _run(tmp, journal, quick=quick, random_state=random_state, verbose=verbose)
        if journal.exists():
            os.replace(journal, tmp / "lut_journal.jsonl")
    _log(verbose, f"report written to {out}/ ({report['seconds_total']} s)")
    return report


def _run(out: Path, journal: Path, *, quick: bool, random_state: int, verbose: bool) -> dict:
    import torch
    from sklearn.model_selection import KFold, cross_val_predict

    from .accuracy import make_accuracy_pipeline
    from .datasets import load_digits_subnets
    from .efficiency import FLOPsModel, LatencyTable
    from .metrics import kendall_tau, latency_report, rmse
    from .persistence import save

    torch.set_num_threads(1)
    t_start = time.perf_counter()
    report: dict[str, Any] = {"settings": {"quick": quick, "random_state": random_state}}

    # 1. accuracy predictor -------------------------------------------------
    bunch = load_digits_subnets()
    space = bunch.space
    X, y = bunch.data, np.asarray(bunch.target, dtype=np.float64)
    if quick:
        idx = np.random.default_rng(random_state).permutation(len(X))[:600]
        X, y = [X[i] for i in idx], y[idx]
    _log(verbose, f"{len(X)} subnets of space {space.name!r}; top-1 {y.min():.3f}..{y.max():.3f}")
    folds = 3 if quick else 5
    # one network on the toy digits data (the 5-net default gained 0.006 tau there, at 5x
    # the time); the ImageNet section below uses the default ensemble
    digits_params = dict(random_state=random_state, n_ensemble=1)
    pipe = make_accuracy_pipeline(space, **digits_params)
    t0 = time.perf_counter()
    cv_pred = cross_val_predict(
        pipe, X, y, cv=KFold(folds, shuffle=True, random_state=random_state)
    )
    tau = kendall_tau(y, cv_pred)
    rmse_points = 100 * rmse(y, cv_pred)
    report["accuracy"] = {
        "n_subnets": len(X),
        "folds": folds,
        "n_ensemble": 1,
        "kendall_tau_cv": tau,
        "rmse_points_cv": rmse_points,
        "top1_min": float(y.min()),
        "top1_median": float(np.median(y)),
        "top1_max": float(y.max()),
        "cv_seconds": round(time.perf_counter() - t0, 1),
    }
    _log(
        verbose,
        f"accuracy pipeline, {folds}-fold CV: Kendall tau {tau:.3f}, RMSE {rmse_points:.2f} points",
    )
    acc_model = make_accuracy_pipeline(space, **digits_params).fit(X, y)
    save(acc_model, out / "accuracy_pipeline.skops")

    # 2. latency table on this CPU ------------------------------------------
    t0 = time.perf_counter()
    reps = dict(warmup=2, repeats=5) if quick else dict(warmup=5, repeats=20)
    lut = LatencyTable(space, cache_path=str(journal), verbose=verbose, **reps).fit()
    n_val = 16 if quick else 40
    val_codes = space.sample_codes(n_val, random_state=random_state + 1)
    measured = lut.measure(val_codes)
    raw = lut.predict_raw(val_codes)
    cal_est = LatencyTable(space, table=lut.lut_, calibration="linear", **reps)
    cal_pred = cross_val_predict(
        cal_est, val_codes, measured, cv=KFold(4, shuffle=True, random_state=random_state)
    )
    calibrated = LatencyTable(space, table=lut.lut_, calibration="linear", **reps).fit(
        val_codes, measured
    )
    save(calibrated, out / "latency_table.skops")
    lut.to_ofa_yaml(out / "latency_table_yaml")
    report["latency"] = {
        "distinct_blocks": lut.n_blocks_,
        "settings": lut.settings_,
        "validation_subnets": n_val,
        "raw": latency_report(measured, raw),
        "calibrated_cv": latency_report(measured, cal_pred),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    _log(
        verbose,
        f"latency table: {lut.n_blocks_} blocks; calibrated CV MAPE "
        f"{report['latency']['calibrated_cv']['mape_pct']:.1f}%",
    )
    mmacs = FLOPsModel(space).fit()

    # 3. search -------------------------------------------------------------
    from .search import EvolutionFinder

    probe = space.sample_codes(2000, random_state=random_state + 2)
    lat = calibrated.predict(probe)
    constraints = [float(np.quantile(lat, q)) for q in (0.2, 0.5, 0.8)]
    finder = EvolutionFinder(
        acc_model,
        calibrated,
        population_size=50 if quick else 100,
        n_generations=10 if quick else 30,
        random_state=random_state,
    )
    searches = []
    for c in constraints:
        res = finder.search(c)
        searches.append(
            {
                "latency_constraint_ms": c,
                "predicted_top1": float(res.accuracy),
                "predicted_latency_ms": float(res.efficiency),
                "mmacs": float(mmacs.predict([res.arch])[0]),
                "arch": res.arch,
            }
        )
        _log(verbose, f"search <= {c:.3f} ms: top-1 {res.accuracy:.4f} at {res.efficiency:.3f} ms")
    report["search"] = searches
    report["imagenet"] = _imagenet(
        quick=quick, random_state=random_state, verbose=verbose, reps=reps
    )
    report["seconds_total"] = round(time.perf_counter() - t_start, 1)

    # figures ---------------------------------------------------------------
    report["figures"] = _figures(
        out, y, cv_pred, tau, measured, raw, cal_pred, searches, probe, acc_model, calibrated
    )
    report["text"] = _text(report)
    (out / "report.txt").write_text(report["text"] + "\n")
    _write_json(out / "report.json", report)
    return report


def _imagenet(*, quick: bool, random_state: int, verbose: bool, reps: dict) -> dict:
    """Real ImageNet numbers: the predictor on 901 measured OFA subnets, then a search."""
    from sklearn.model_selection import KFold, cross_val_predict

    from .accuracy import make_accuracy_pipeline
    from .datasets import load_ofa_mbv3_imagenet
    from .efficiency import FLOPsModel, LatencyTable
    from .metrics import kendall_tau, rmse
    from .search import EvolutionFinder

    t0 = time.perf_counter()
    bunch = load_ofa_mbv3_imagenet()
    space, X, y, source = bunch.space, bunch.data, np.asarray(bunch.target), bunch.source
    if quick:
        idx = np.random.default_rng(random_state).permutation(len(X))[:300]
        X, y, source = [X[i] for i in idx], y[idx], source[idx]
    params = dict(image_sizes=[224], random_state=random_state)
    if quick:
        params["max_epochs"] = 20
    folds = 3 if quick else 5
    cv_pred = cross_val_predict(
        make_accuracy_pipeline(space, **params),
        X,
        y,
        cv=KFold(folds, shuffle=True, random_state=random_state),
    )
    train, test = source == "nsga2", source == "linas"
    cross = make_accuracy_pipeline(space, **params).fit(
        [X[i] for i in np.flatnonzero(train)], y[train]
    )
    cross_pred = cross.predict([X[i] for i in np.flatnonzero(test)])
    result: dict[str, Any] = {
        "n_subnets": len(X),
        "folds": folds,
        "kendall_tau_cv": kendall_tau(y, cv_pred),
        "rmse_points_cv": 100 * rmse(y, cv_pred),
        "cross_search": {
            "train": "nsga2",
            "test": "linas",
            "n_train": int(train.sum()),
            "n_test": int(test.sum()),
            "kendall_tau": kendall_tau(y[test], cross_pred),
            "rmse_points": 100 * rmse(y[test], cross_pred),
        },
    }
    _log(
        verbose,
        f"ImageNet ({len(X)} real OFA subnets), {folds}-fold CV: Kendall tau "
        f"{result['kendall_tau_cv']:.3f}, RMSE {result['rmse_points_cv']:.2f} points",
    )
    acc_model = make_accuracy_pipeline(space, **params).fit(X, y)
    lut = LatencyTable(space, image_sizes=[224], verbose=verbose, **reps).fit()
    real_lat = lut.predict(X)
    mmacs = FLOPsModel(space).fit()
    finder = EvolutionFinder(
        acc_model,
        lut,
        image_sizes=[224],
        population_size=50 if quick else 100,
        n_generations=10 if quick else 100,
        random_state=random_state,
    )
    searches = []
    for q in (0.2, 0.5, 0.8):
        c = float(np.quantile(real_lat, q))
        res = finder.search(c)
        fits = real_lat <= c
        best = int(np.flatnonzero(fits)[np.argmax(y[fits])])
        searches.append(
            {
                "latency_constraint_ms": c,
                "predicted_top1": float(res.accuracy),
                "predicted_latency_ms": float(res.efficiency),
                "mmacs": float(mmacs.predict([res.arch])[0]),
                "arch": res.arch,
                "best_measured_top1_within": float(y[best]),
            }
        )
        _log(
            verbose,
            f"ImageNet search <= {c:.3f} ms: predicted top-1 {res.accuracy:.4f}; best measured "
            f"real subnet within it {y[best]:.4f}",
        )
    result.update(
        lut_blocks=lut.n_blocks_,
        search=searches,
        attribution=bunch.attribution,
        seconds=round(time.perf_counter() - t0, 1),
    )
    return result


def _figures(
    out, y, cv_pred, tau, measured, raw, cal_pred, searches, probe, acc_model, lut
) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from . import plotting
    except ImportError:
        return []
    files = []
    fig = plotting.plot_accuracy_parity(y, cv_pred)
    fig.savefig(out / "accuracy_parity.png", dpi=110, bbox_inches="tight")
    files.append("accuracy_parity.png")
    fig = plotting.plot_latency_parity(measured, cal_pred)
    fig.savefig(out / "latency_parity.png", dpi=110, bbox_inches="tight")
    files.append("latency_parity.png")
    acc = acc_model.predict(probe)
    lat = lut.predict(probe)
    fig = plotting.plot_pareto_front(
        acc,
        lat,
        xlabel="predicted latency (ms)",
        constraints=[s["latency_constraint_ms"] for s in searches],
    )
    ax = fig.axes[0]
    ax.scatter(
        [s["predicted_latency_ms"] for s in searches],
        [s["predicted_top1"] for s in searches],
        marker="*",
        s=120,
        color="crimson",
        zorder=5,
        label="search results",
    )
    ax.legend(fontsize=7)
    fig.savefig(out / "pareto.png", dpi=110, bbox_inches="tight")
    files.append("pareto.png")
    import matplotlib.pyplot as plt

    plt.close("all")
    return files


def _text(report: dict) -> str:
    a, lat = report["accuracy"], report["latency"]
    lines = [
        "sklearn-ofa demo report",
        "=======================",
        f"accuracy pipeline on {a['n_subnets']} digits subnets (top-1 {a['top1_min']:.3f}.."
        f"{a['top1_max']:.3f}), {a['folds']}-fold CV: Kendall tau {a['kendall_tau_cv']:.3f}, "
        f"RMSE {a['rmse_points_cv']:.2f} accuracy points",
        f"latency table on this CPU: {lat['distinct_blocks']} blocks; {lat['validation_subnets']} "
        f"subnets measured end to end",
        f"  raw block sum:        MAPE {lat['raw']['mape_pct']:.1f}%, within ±10% "
        f"{lat['raw']['within_10pct']:.0%}, Kendall tau {lat['raw']['kendall_tau']:.3f}",
        f"  calibrated (CV):      MAPE {lat['calibrated_cv']['mape_pct']:.1f}%, within ±10% "
        f"{lat['calibrated_cv']['within_10pct']:.0%}, Kendall tau {lat['calibrated_cv']['kendall_tau']:.3f}",
        "search:",
    ]
    for s in report["search"]:
        lines.append(
            f"  latency <= {s['latency_constraint_ms']:.3f} ms: predicted top-1 "
            f"{s['predicted_top1']:.4f} at {s['predicted_latency_ms']:.3f} ms, "
            f"{s['mmacs']:.2f} M MACs"
        )
    im = report["imagenet"]
    cs = im["cross_search"]
    lines += [
        f"ImageNet: accuracy pipeline on {im['n_subnets']} real OFA MobileNetV3 w1.0 subnets, "
        f"{im['folds']}-fold CV: Kendall tau {im['kendall_tau_cv']:.3f}, RMSE "
        f"{im['rmse_points_cv']:.2f} accuracy points",
        f"  trained on the {cs['n_train']} {cs['train']} subnets, tested on the {cs['n_test']} "
        f"{cs['test']} ones: Kendall tau {cs['kendall_tau']:.3f}, RMSE {cs['rmse_points']:.2f} points",
        f"  search at 224 px with this CPU's latency table ({im['lut_blocks']} blocks):",
    ]
    for s in im["search"]:
        lines.append(
            f"  latency <= {s['latency_constraint_ms']:.3f} ms: predicted top-1 "
            f"{s['predicted_top1']:.4f}, {s['mmacs']:.0f} M MACs (best measured real subnet "
            f"the table puts within it: {s['best_measured_top1_within']:.4f})"
        )
    lines.append(f"  data: {im['attribution']}")
    lines.append(f"total {report['seconds_total']} s")
    return "\n".join(lines)
