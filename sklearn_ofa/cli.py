"""The ``sklearn-ofa`` command.

Subcommands: ``demo`` (the main job), ``info``, ``lut build|predict|convert``,
``acc fit|cv|predict``, ``dataset build|merge|info``, ``search``. User mistakes end
with a one-line error and exit code 2; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from ._atomic import atomic_output

__all__ = ["main"]


class CLIError(Exception):
    """A user mistake: printed as one line, exit code 2."""


def _print(args: argparse.Namespace, payload: Any, text: str | None = None) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, default=_jsonable))
    else:
        print(text if text is not None else json.dumps(payload, indent=2, default=_jsonable))


def _jsonable(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def _read_archs(path: str) -> list[dict]:
    p = Path(path)
    if not p.exists():
        raise CLIError(f"archs file {path} does not exist")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise CLIError(f"archs file {path} is not valid JSON ({exc})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise CLIError(f"archs file {path} must hold an arch dict or a list of them")
    return data


def _load(path: str) -> Any:
    import joblib

    if not Path(path).exists():
        raise CLIError(f"model file {path} does not exist")
    return joblib.load(path)


def _dump(obj: Any, path: str) -> None:
    import joblib

    with atomic_output(path) as tmp:
        joblib.dump(obj, tmp)


# ----------------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    from .efficiency import count_parameters, measure_latency
    from .efficiency.flops import count_flops
    from .nets import build_net
    from .spaces import get_space

    if args.net_config:
        cfg_path = Path(args.net_config)
        if cfg_path.is_dir():
            run = cfg_path / "run.config"
            cfg_path = cfg_path / "net.config"
            if args.image_size is None and run.exists():
                args.image_size = json.loads(run.read_text())["image_size"]
        if not cfg_path.exists():
            raise CLIError(f"net.config {cfg_path} does not exist")
        net = build_net(json.loads(cfg_path.read_text()))
        r = args.image_size or 224
        name = str(cfg_path)
    elif args.arch:
        space = get_space(args.space)
        arch = _read_archs(args.arch)[0] if Path(args.arch).exists() else json.loads(args.arch)
        arch = space.validate(arch)
        net = space.build(arch)
        r = arch["image_size"]
        name = json.dumps(arch)
    else:
        raise CLIError("give --arch (a JSON arch or file) or --net-config (file or folder)")
    flops = count_flops(net, (3, r, r), convention="ofa")
    out = {
        "network": name,
        "image_size": r,
        "params": count_parameters(net),
        "macs": int(flops.macs),
        "flops": int(flops.flops),
    }
    if not args.no_latency:
        res = measure_latency(net, (3, r, r), warmup=args.warmup, repeats=args.repeats,
                              num_threads=args.threads)
        out["cpu_latency_ms"] = {"median": res.median_ms, "iqr": res.iqr_ms, "n": res.count}
    text = "\n".join(f"{k:>15}: {v}" for k, v in out.items())
    _print(args, out, text)
    return 0


# ------------------------------------------------------------------------ lut
def cmd_lut_build(args: argparse.Namespace) -> int:
    from .efficiency import LatencyTable

    sizes = [int(s) for s in args.image_sizes.split(",")] if args.image_sizes else None
    lut = LatencyTable(
        args.space, image_sizes=sizes, device=args.device, num_threads=args.threads,
        warmup=args.warmup, repeats=args.repeats, cache_path=args.cache or f"{args.out}.jsonl",
        verbose=not args.quiet,
    ).fit()
    _dump(lut, args.out)
    if args.yaml:
        lut.to_ofa_yaml(args.yaml)
    _print(args, {"out": args.out, "distinct_blocks": lut.n_blocks_, "settings": lut.settings_},
           f"profiled {lut.n_blocks_} blocks -> {args.out}")
    return 0


def cmd_lut_predict(args: argparse.Namespace) -> int:
    lut = _load(args.table)
    archs = _read_archs(args.archs)
    pred = lut.predict(archs)
    _print(args, {"latency_ms": pred.tolist()}, "\n".join(f"{p:.4f}" for p in pred))
    return 0


def cmd_lut_convert(args: argparse.Namespace) -> int:
    from .efficiency import LatencyTable

    if args.from_yaml:
        lut = LatencyTable.from_ofa_yaml(args.from_yaml, space=args.space)
        _dump(lut, args.out)
        _print(args, {"out": args.out, "blocks": lut.n_blocks_}, f"{lut.n_blocks_} blocks -> {args.out}")
    else:
        lut = _load(args.table)
        files = lut.to_ofa_yaml(args.out)
        _print(args, {"files": [str(f) for f in files]}, "\n".join(str(f) for f in files))
    return 0


# ------------------------------------------------------------------- accuracy
def _dataset_xy(args: argparse.Namespace):
    if args.data == "digits":
        from .datasets import load_digits_subnets

        bunch = load_digits_subnets()
        return bunch.data, bunch.target, bunch.space
    from .accuracy import AccuracyDataset

    ds = AccuracyDataset(args.data, space=args.space)
    X, y = ds.load()
    return X, y, args.space


def cmd_acc_fit(args: argparse.Namespace) -> int:
    from .accuracy import make_accuracy_pipeline

    X, y, space = _dataset_xy(args)
    model = make_accuracy_pipeline(space, random_state=args.seed).fit(X, y)
    _dump(model, args.out)
    _print(args, {"out": args.out, "n_archs": len(X)}, f"fitted on {len(X)} archs -> {args.out}")
    return 0


def cmd_acc_cv(args: argparse.Namespace) -> int:
    from sklearn.model_selection import KFold, cross_validate

    from .accuracy import make_accuracy_pipeline
    from .accuracy.scoring import kendall_tau_scorer, neg_rmse_points_scorer

    X, y, space = _dataset_xy(args)
    res = cross_validate(
        make_accuracy_pipeline(space, random_state=args.seed), X, y,
        cv=KFold(args.folds, shuffle=True, random_state=args.seed),
        scoring={"kendall_tau": kendall_tau_scorer, "rmse_points": neg_rmse_points_scorer},
    )
    out = {
        "folds": args.folds,
        "kendall_tau_mean": float(res["test_kendall_tau"].mean()),
        "kendall_tau_std": float(res["test_kendall_tau"].std()),
        "rmse_points_mean": float(-res["test_rmse_points"].mean()),
    }
    _print(args, out, "\n".join(f"{k:>18}: {v:.4f}" if isinstance(v, float) else f"{k:>18}: {v}"
                                 for k, v in out.items()))
    return 0


def cmd_acc_predict(args: argparse.Namespace) -> int:
    model = _load(args.model)
    pred = model.predict(_read_archs(args.archs))
    _print(args, {"accuracy": pred.tolist()}, "\n".join(f"{p:.5f}" for p in pred))
    return 0


# -------------------------------------------------------------------- dataset
def _import_evaluator(spec: str | None) -> Any:
    """The object named by ``module:attribute`` (a callable ``arch -> top-1`` or an evaluator)."""
    import importlib

    if not spec or ":" not in spec:
        raise CLIError(f"--evaluator must be 'module:attribute' (e.g. mypkg.evals:evaluate), got {spec!r}")
    module_name, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"--evaluator {spec!r}: cannot import module {module_name!r} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CLIError(f"--evaluator {spec!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not (callable(obj) or hasattr(obj, "evaluate_batch")):
        raise CLIError(f"--evaluator {spec!r} is neither callable nor has an evaluate_batch method")
    return obj


def cmd_dataset(args: argparse.Namespace) -> int:
    from .accuracy import AccuracyDataset

    ds = AccuracyDataset(args.folder, space=args.space)
    if args.action == "build":
        evaluator = _import_evaluator(args.evaluator)
        sizes = [int(s) for s in args.image_sizes.split(",")] if args.image_sizes else None
        ds.build(evaluator, n_arch=args.n_arch, image_sizes=sizes, random_state=args.seed,
                 n_jobs=args.n_jobs, batch_size=args.batch_size, progress=not args.json)
    if args.action == "merge":
        ds.merge()
    X, y = ds.load()
    import numpy as np

    sizes = sorted({a["image_size"] for a in X})
    out = {"folder": args.folder, "n_records": len(X), "image_sizes": sizes}
    if len(y):
        out.update({"top1_min": float(np.min(y)), "top1_median": float(np.median(y)),
                    "top1_max": float(np.max(y)), "top1_std": float(np.std(y))})
    _print(args, out, "\n".join(f"{k:>12}: {v}" for k, v in out.items()))
    return 0


# --------------------------------------------------------------------- search
def cmd_search(args: argparse.Namespace) -> int:
    from .search import EvolutionFinder

    acc = _load(args.accuracy)
    eff = _load(args.efficiency)
    finder = EvolutionFinder(
        acc, eff, population_size=args.population, n_generations=args.generations,
        random_state=args.seed,
    )
    results = []
    try:
        constraints = [float(c) for c in args.constraint.split(",")]
    except ValueError:
        raise CLIError(f"--constraint must be comma-separated numbers, got {args.constraint!r}") from None
    for c in constraints:
        res = finder.search(c)
        results.append({"constraint": c, "accuracy": float(res.accuracy),
                        "efficiency": float(res.efficiency), "arch": res.arch})
    _print(args, results, "\n".join(
        f"<= {r['constraint']:g}: acc {r['accuracy']:.4f} eff {r['efficiency']:.3f} {json.dumps(r['arch'])}"
        for r in results))
    return 0


# ----------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    report = run_demo(args.out, quick=args.quick, random_state=args.seed, verbose=not args.quiet)
    _print(args, report, report.get("text"))
    return 0


# --------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sklearn-ofa",
        description="Once-for-All NAS predictors: accuracy pipelines, FLOPs and latency tables, search.",
        epilog="Start with: sklearn-ofa demo --out report/   (the whole workflow on bundled data)",
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        return sp

    d = common(sub.add_parser("demo", help="the main job on the bundled digits data"))
    d.add_argument("--out", default="sklearn-ofa-demo", help="report folder")
    d.add_argument("--quick", action="store_true", help="smaller settings (for tests)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)

    i = common(sub.add_parser("info", help="params, MACs and CPU latency of an arch or net.config"))
    i.add_argument("--arch", help="arch JSON string or file")
    i.add_argument("--net-config", help="OFA net.config file, or a folder with net.config and run.config")
    i.add_argument("--space", default="ofa_mbv3_w1.2")
    i.add_argument("--image-size", type=int)
    i.add_argument("--threads", type=int, default=1)
    i.add_argument("--warmup", type=int, default=5)
    i.add_argument("--repeats", type=int, default=20)
    i.add_argument("--no-latency", action="store_true")
    i.set_defaults(func=cmd_info)

    lut = sub.add_parser("lut", help="latency lookup tables").add_subparsers(dest="action", required=True)
    b = common(lut.add_parser("build", help="profile a space on this machine"))
    b.add_argument("--space", default="ofa_mbv3_w1.2")
    b.add_argument("--image-sizes", help="comma-separated, e.g. 160,176,192,208,224")
    b.add_argument("--device", default="cpu")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--repeats", type=int, default=20)
    b.add_argument("--cache", help="journal file (default: OUT.jsonl); a rerun resumes from it")
    b.add_argument("--out", required=True, help="fitted table (joblib)")
    b.add_argument("--yaml", help="also write OFA YAML files into this folder")
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(func=cmd_lut_build)
    lp = common(lut.add_parser("predict", help="latency of archs"))
    lp.add_argument("--table", required=True)
    lp.add_argument("--archs", required=True, help="JSON file: arch dict or list of them")
    lp.set_defaults(func=cmd_lut_predict)
    lc = common(lut.add_parser("convert", help="OFA YAML <-> fitted table"))
    lc.add_argument("--from-yaml", help="folder or file of OFA YAML tables")
    lc.add_argument("--table", help="fitted table (joblib) to write as OFA YAML")
    lc.add_argument("--space", default="ofa_mbv3_w1.2")
    lc.add_argument("--out", required=True)
    lc.set_defaults(func=cmd_lut_convert)

    acc = sub.add_parser("acc", help="accuracy predictor").add_subparsers(dest="action", required=True)
    for name, func, hlp in (("fit", cmd_acc_fit, "fit the default pipeline"),
                            ("cv", cmd_acc_cv, "cross-validate the default pipeline")):
        a = common(acc.add_parser(name, help=hlp))
        a.add_argument("--data", default="digits", help="'digits' (bundled) or an OFA dataset folder")
        a.add_argument("--space", default="ofa_mbv3_w1.2", help="space of an OFA dataset folder")
        a.add_argument("--seed", type=int, default=0)
        if name == "fit":
            a.add_argument("--out", required=True)
        else:
            a.add_argument("--folds", type=int, default=5)
        a.set_defaults(func=func)
    ap = common(acc.add_parser("predict", help="predict archs with a fitted pipeline"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--archs", required=True)
    ap.set_defaults(func=cmd_acc_predict)

    ds = common(sub.add_parser("dataset", help="accuracy datasets in OFA's layout"))
    ds.add_argument("action", choices=["build", "merge", "info"],
                    help="build: evaluate missing archs (resumes); merge: fold a src/ folder in")
    ds.add_argument("folder")
    ds.add_argument("--space", default="ofa_mbv3_w1.2")
    ds.add_argument("--evaluator", help="build: module:attribute of a callable arch -> top-1 "
                                        "or of an evaluator with evaluate_batch")
    ds.add_argument("--n-arch", type=int, default=1000, help="build: distinct archs to sample")
    ds.add_argument("--image-sizes", help="build: comma-separated sizes per arch (default: all)")
    ds.add_argument("--n-jobs", type=int, default=1)
    ds.add_argument("--batch-size", type=int, default=1, help="build: archs per task")
    ds.add_argument("--seed", type=int, default=0)
    ds.set_defaults(func=cmd_dataset)

    s = common(sub.add_parser("search", help="evolutionary search with fitted predictors"))
    s.add_argument("--accuracy", required=True, help="fitted accuracy pipeline (joblib)")
    s.add_argument("--efficiency", required=True, help="fitted LatencyTable or FLOPsModel (joblib)")
    s.add_argument("--constraint", required=True, help="one or more comma-separated limits")
    s.add_argument("--population", type=int, default=100)
    s.add_argument("--generations", type=int, default=50)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_search)
    return p


def _version() -> str:
    from . import __version__

    return f"sklearn-ofa {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"sklearn-ofa: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        if os.environ.get("SKLEARN_OFA_DEBUG"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"sklearn-ofa: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sklearn-ofa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
