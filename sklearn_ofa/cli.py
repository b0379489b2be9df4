"""The ``sklearn-ofa`` command.

Subcommands: ``demo`` (the main job), ``info``, ``lut build|predict|convert|export|import``,
``acc fit|cv|predict``, ``dataset build|merge|info``, ``search``; ``--json``
prints machine-readable output (and nothing else) on stdout. The long commands
show progress on stderr (``--quiet``: none), with or without ``--json``.

Error contract (one place: :func:`_exit_code_and_message`): every failure
prints one line ``sklearn-ofa: error: ...`` on stderr, never a traceback
unless ``--debug`` is given (before or after the subcommand, or
``SKLEARN_OFA_DEBUG=1``), and exits with

- 2: a user error (bad arguments; a missing, unreadable, unwritable, truncated
  or corrupt file; an I/O error; a lock held by another process; a failed
  profiling worker; an invalid arch; a ``ValueError``/``TypeError`` of the
  library; a model file of the wrong kind or one that is not trusted);
- 1: an internal fault (any other exception: a bug, the line says so);
- 130: interrupted (Ctrl-C).

Models are written with skops (:func:`sklearn_ofa.persistence.save`) and read
with :func:`sklearn_ofa.persistence.load`: a pickle/joblib file is loaded only
with ``--trust-pickle``. Every output appears whole or not at all (files and
folders are written beside their target and renamed into place).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
import traceback
import warnings
import zipfile
from pathlib import Path
from typing import Any, Sequence

from ._io import TMP_PREFIX, atomic_folder

__all__ = ["main", "CLIError"]

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A user mistake: printed as one line, exit code 2."""


class _Formatter(argparse.HelpFormatter):
    """Help that shows each option's default (unless None/False or the text already says)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            default is None
            or default is False
            or default == argparse.SUPPRESS
            or "default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors follow the one-line contract (no usage block)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        raise CLIError(f"{message} (see '{self.prog} --help')")


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


# ------------------------------------------------------------------ inputs
def _read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{what} {path} does not exist")
    if p.is_dir():
        raise CLIError(f"{what} {path} is a folder, not a file")
    try:
        return p.read_text()
    except UnicodeDecodeError:
        raise CLIError(f"{what} {path} is not a text file (not UTF-8)") from None


def _read_json(path: str | Path, what: str) -> Any:
    text = _read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"{what} {path} is not valid JSON ({exc})") from None


def _read_archs(path: str, what: str = "archs file") -> list[dict]:
    data = _read_json(path, what)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise CLIError(
            f"{what} {path} must hold an arch dict or a list of them, got {type(data).__name__}"
        )
    if not data:
        raise CLIError(f"{what} {path} holds no arch (an empty list)")
    return data


def _int_list(text: str) -> list[int]:
    """argparse type of ``--image-sizes``: comma-separated positive integers."""
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated integers such as 160,224, got {text!r}"
        ) from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers, got {text!r}")
    return values


def _float_list(text: str) -> list[float]:
    """argparse type of ``--constraint``: comma-separated finite numbers."""
    import math

    try:
        values = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated numbers such as 20,25, got {text!r}"
        ) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"must be comma-separated finite numbers, got {text!r}")
    return values


# ----------------------------------------------------------------- outputs
def _check_writable_parent(path: Path, flag: str) -> None:
    """Fail early (before any long work) when ``path`` cannot be created."""
    parent = path.parent
    while not parent.exists():
        if parent.is_symlink():  # a dangling link
            raise CLIError(f"{flag} {path}: {parent} is a broken link")
        parent = parent.parent
    if not parent.is_dir():
        raise CLIError(f"{flag} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CLIError(f"{flag} {path}: folder {parent} is not writable")


def _check_out_file(path: str, flag: str = "--out") -> Path:
    p = Path(path)
    if p.is_dir():
        raise CLIError(f"{flag} {path} is a folder; give a file name such as {p / 'model.skops'}")
    _check_writable_parent(p, flag)
    return p


def _check_out_folder(path: str, flag: str, *, owned: Any) -> Path:
    """Check that folder ``path`` can be written, and replaced if it exists.

    ``owned(name)`` says whether an existing entry looks like a previous output
    of this command; a folder holding anything else is not replaced.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise CLIError(f"{flag} {path} is a file, not a folder")
    if p.is_dir():
        foreign = [
            q.name for q in p.iterdir() if not owned(q) and not q.name.startswith(TMP_PREFIX)
        ]
        if foreign:
            raise CLIError(
                f"{flag} {path} exists and holds files this command did not write "
                f"({', '.join(sorted(foreign)[:3])}{', ...' if len(foreign) > 3 else ''}); "
                f"give a new folder or remove it"
            )
        if not os.access(p, os.W_OK | os.X_OK):
            raise CLIError(f"{flag} {path}: folder is not writable")
    _check_writable_parent(p, flag)
    return p


def _is_yaml_table(p: Path) -> bool:
    return p.is_file() and p.suffix in (".yaml", ".yml")


def _write_yaml_folder(lut: Any, folder: str) -> list[Path]:
    """Write the table's OFA YAML files as one folder, whole or not at all."""
    with atomic_folder(folder) as tmp:
        names = [f.name for f in lut.to_ofa_yaml(tmp)]
    return [Path(folder) / n for n in names]


def _save_model(obj: Any, path: str) -> None:
    from .persistence import save

    save(obj, path)


# ------------------------------------------------------------------ models
_KINDS = {
    "latency": "a latency model (LatencyTable or FLOPsModel)",
    "latency_table": "a latency table (LatencyTable)",
    "accuracy": "an accuracy model (a Pipeline from make_accuracy_pipeline or an AccuracyPredictor)",
}


def _describe(obj: Any) -> str:
    from sklearn.pipeline import Pipeline

    from .accuracy import AccuracyPredictor
    from .efficiency import FLOPsModel, LatencyTable

    name = type(obj).__name__
    if isinstance(obj, LatencyTable):
        return "a latency table (LatencyTable)"
    if isinstance(obj, FLOPsModel):
        return "a FLOPs model (FLOPsModel)"
    if isinstance(obj, (Pipeline, AccuracyPredictor)):
        return f"an accuracy model ({name})"
    return f"a {type(obj).__module__}.{type(obj).__qualname__}"


def _is_kind(obj: Any, kind: str) -> bool:
    from sklearn.pipeline import Pipeline

    from .accuracy import AccuracyPredictor
    from .efficiency import FLOPsModel, LatencyTable

    if not callable(getattr(obj, "predict", None)):
        return False
    if kind == "latency":
        return isinstance(obj, (LatencyTable, FLOPsModel))
    if kind == "latency_table":
        return isinstance(obj, LatencyTable)
    if isinstance(obj, Pipeline):  # an accuracy pipeline ends in a regressor, not a cost model
        return not isinstance(obj.steps[-1][1], (LatencyTable, FLOPsModel))
    return isinstance(obj, AccuracyPredictor)


def _load_model(path: str, kind: str, args: argparse.Namespace, flag: str) -> Any:
    """Load a model file (skops; pickle only with --trust-pickle) and check its kind."""
    from .persistence import ModelFileError, UntrustedPickleError, UntrustedTypesError, load

    p = Path(path)
    if not p.exists():
        raise CLIError(f"{flag} {path} does not exist")
    if p.is_dir():
        raise CLIError(f"{flag} {path} is a folder, not a model file")
    try:
        obj = load(p, trust_pickle=bool(getattr(args, "trust_pickle", False)))
    except UntrustedPickleError as exc:
        raise CLIError(f"{flag}: {exc}".replace(" (Python: trust_pickle=True)", "")) from exc
    except (ModelFileError, UntrustedTypesError) as exc:
        raise CLIError(f"{flag}: {exc}") from exc
    except (OSError, EOFError, MemoryError) as exc:
        raise CLIError(f"{flag} {path} cannot be read: {_oneline(exc)}") from exc
    except Exception as exc:  # a trusted pickle can raise anything while it loads
        raise CLIError(
            f"{flag} {path} could not be loaded: {type(exc).__name__}: {_oneline(exc)}"
        ) from exc
    if not _is_kind(obj, kind):
        raise CLIError(f"{flag} {path} holds {_describe(obj)}; expected {_KINDS[kind]}")
    return obj


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
                run_cfg = _read_json(run, "run.config")
                if not isinstance(run_cfg, dict) or not isinstance(run_cfg.get("image_size"), int):
                    raise CLIError(
                        f"run.config {run} has no integer 'image_size'; pass --image-size"
                    )
                args.image_size = run_cfg["image_size"]
        net = build_net(_read_json(cfg_path, "net.config"))
        r = args.image_size or 224
        name = str(cfg_path)
    elif args.arch:
        space = get_space(args.space)
        text = args.arch.strip()
        if text.startswith("{"):
            try:
                arch = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CLIError(f"--arch is not valid JSON ({exc})") from None
        else:
            arch = _read_archs(args.arch, "--arch file")[0]
        arch = space.validate(arch)
        net = space.build(arch)
        r = arch["image_size"]
        name = json.dumps(arch)
    else:
        raise CLIError("give --arch (a JSON arch or file) or --net-config (file or folder)")
    if r <= 0:
        raise CLIError(f"--image-size = {r} is not allowed; allowed values: positive integers")
    flops = count_flops(net, (3, r, r), convention="ofa")
    out = {
        "network": name,
        "image_size": r,
        "params": count_parameters(net),
        "macs": int(flops.macs),
        "flops": int(flops.flops),
    }
    if not args.no_latency:
        res = measure_latency(
            net, (3, r, r), warmup=args.warmup, repeats=args.repeats, num_threads=args.threads
        )
        out["cpu_latency_ms"] = {"median": res.median_ms, "iqr": res.iqr_ms, "n": res.count}
    text = "\n".join(f"{k:>15}: {v}" for k, v in out.items())
    _print(args, out, text)
    return 0


# ------------------------------------------------------------------------ lut
LUT_STATISTICS = ["median", "mean", "min"]  # LatencyTable.STATISTICS, without importing torch


def _statistic_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--statistic",
        default="median",
        choices=LUT_STATISTICS,
        help="which statistic of the timed repeats the table sums and calibrates on "
        "(default: median; min is the least disturbed by other load)",
    )


def cmd_lut_build(args: argparse.Namespace) -> int:
    from .efficiency import LatencyTable

    _check_out_file(args.out)
    if args.yaml:
        _check_out_folder(args.yaml, "--yaml", owned=_is_yaml_table)
    cache = args.cache or f"{args.out}.jsonl"
    if Path(cache).is_dir():
        raise CLIError(f"--cache {cache} is a folder, not a journal file")
    _check_writable_parent(Path(cache), "--cache")
    lut = LatencyTable(
        args.space,
        backend=args.backend,
        image_sizes=args.image_sizes,
        device=args.device,
        num_threads=args.threads,
        warmup=args.warmup,
        repeats=args.repeats,
        statistic=args.statistic,
        cache_path=cache,
        verbose=not args.quiet,
    ).fit()
    _save_model(lut.set_params(verbose=False), args.out)  # progress is this run's, not the model's
    if args.yaml:
        _write_yaml_folder(lut, args.yaml)
    _print(
        args,
        {"out": args.out, "distinct_blocks": lut.n_blocks_, "settings": lut.settings_},
        f"profiled {lut.n_blocks_} blocks -> {args.out}",
    )
    return 0


def cmd_lut_predict(args: argparse.Namespace) -> int:
    lut = _load_model(args.table, "latency", args, "--table")
    archs = _read_archs(args.archs)
    pred = lut.predict(archs)
    _print(args, {"latency_ms": pred.tolist()}, "\n".join(f"{p:.4f}" for p in pred))
    return 0


def cmd_lut_convert(args: argparse.Namespace) -> int:
    from .efficiency import LatencyTable

    if bool(args.from_yaml) == bool(args.table):
        raise CLIError(
            "give exactly one of --from-yaml (OFA YAML -> fitted table) and "
            "--table (fitted table -> OFA YAML folder)"
        )
    if args.from_yaml:
        _check_out_file(args.out)
        src = Path(args.from_yaml)
        if not src.exists():
            raise CLIError(f"--from-yaml {args.from_yaml} does not exist")
        lut = LatencyTable.from_ofa_yaml(args.from_yaml, space=args.space)
        if not lut.n_blocks_:
            n = sum(len(v) for v in lut.lut_.values())
            raise CLIError(
                f"--from-yaml {args.from_yaml}: none of its {n} entries is a block of space "
                f"{lut.space_.name!r} at image sizes {sorted(lut.lut_)}; check --space"
            )
        _save_model(lut, args.out)
        _print(
            args,
            {"out": args.out, "blocks": lut.n_blocks_},
            f"{lut.n_blocks_} blocks -> {args.out}",
        )
    else:
        _check_out_folder(args.out, "--out", owned=_is_yaml_table)
        lut = _load_model(args.table, "latency_table", args, "--table")
        files = _write_yaml_folder(lut, args.out)
        _print(args, {"files": [str(f) for f in files]}, "\n".join(str(f) for f in files))
    return 0


def _is_export_entry(p: Path) -> bool:
    return p.name in ("blocks", "subnets", "manifest.json", "profile_onnx.py")


def cmd_lut_export(args: argparse.Namespace) -> int:
    from .efficiency.onnx_export import export_space

    _check_out_folder(args.out, "--out", owned=_is_export_entry)
    manifest = export_space(
        args.space,
        args.out,
        image_sizes=args.image_sizes,
        n_subnets=args.subnets,
        random_state=args.seed,
        batch_size=args.batch_size,
        verbose=not args.quiet,
    )
    kinds = [it["kind"] for it in manifest["items"]]
    n_blocks, n_subnets = kinds.count("block"), kinds.count("subnet")
    _print(
        args,
        {"out": args.out, "blocks": n_blocks, "subnets": n_subnets},
        f"{n_blocks} blocks and {n_subnets} subnets -> {args.out}; on the device run:\n"
        f"  python {Path(args.out) / 'profile_onnx.py'} {args.out} --out results.jsonl",
    )
    return 0


def cmd_lut_import(args: argparse.Namespace) -> int:
    from .efficiency import LatencyTable

    _check_out_file(args.out)
    calibration = None if args.calibration == "none" else args.calibration
    lut = LatencyTable.from_measurements(
        args.folder, args.results, calibration=calibration, statistic=args.statistic
    )
    _save_model(lut, args.out)
    _print(
        args,
        {"out": args.out, "blocks": lut.n_blocks_, "settings": lut.settings_},
        f"{lut.n_blocks_} blocks ({lut.settings_.get('backend')}) -> {args.out}",
    )
    return 0


# ------------------------------------------------------------------- accuracy
def _dataset_xy(args: argparse.Namespace):
    if args.data == "digits":
        from .datasets import load_digits_subnets

        bunch = load_digits_subnets()
        return bunch.data, bunch.target, bunch.space
    if args.data == "imagenet":
        from .datasets import load_ofa_mbv3_imagenet

        bunch = load_ofa_mbv3_imagenet()
        return bunch.data, bunch.target, bunch.space
    from .accuracy import AccuracyDataset

    if not Path(args.data).is_dir():
        what = "does not exist" if not Path(args.data).exists() else "is a file, not a folder"
        raise CLIError(
            f"--data {args.data} {what}; give 'digits', 'imagenet' or an OFA dataset folder"
        )
    ds = AccuracyDataset(args.data, space=args.space)
    X, y = ds.load()
    if not len(X):
        raise CLIError(f"--data {args.data} holds no records")
    return X, y, args.space


def cmd_acc_fit(args: argparse.Namespace) -> int:
    from .accuracy import make_accuracy_pipeline

    _check_out_file(args.out)
    X, y, space = _dataset_xy(args)
    model = make_accuracy_pipeline(space, random_state=args.seed, verbose=int(not args.quiet))
    model.fit(X, y)
    _save_model(model.set_params(predictor__verbose=0), args.out)  # a quiet model file
    _print(args, {"out": args.out, "n_archs": len(X)}, f"fitted on {len(X)} archs -> {args.out}")
    return 0


def cmd_acc_import_ofa(args: argparse.Namespace) -> int:
    from .accuracy.ofa_import import load_ofa_predictor

    _check_out_file(args.out)
    if not Path(args.path).is_file():
        raise CLIError(f"PATH {args.path} is not a file; give OFA's accuracy predictor (.pth)")
    model = load_ofa_predictor(args.path, space=args.space)
    _save_model(model, args.out)
    n_in = model.named_steps["predictor"].n_features_in_
    _print(
        args,
        {"out": args.out, "space": args.space, "n_features": int(n_in)},
        f"OFA predictor {args.path} ({n_in} features, space {args.space}) -> {args.out}",
    )
    return 0


def cmd_acc_cv(args: argparse.Namespace) -> int:
    import numpy as np
    from sklearn.model_selection import KFold, cross_validate

    from .accuracy import make_accuracy_pipeline
    from .accuracy.scoring import kendall_tau_scorer, neg_rmse_points_scorer

    if args.folds < 2:
        raise CLIError(f"--folds = {args.folds} is not allowed; allowed values: integers >= 2")
    X, y, space = _dataset_xy(args)
    tau, rmse = [], []
    splits = KFold(args.folds, shuffle=True, random_state=args.seed).split(X, y)
    for k, split in enumerate(splits, 1):  # one fold at a time: a progress line after each
        t0 = time.perf_counter()
        res = cross_validate(
            make_accuracy_pipeline(space, random_state=args.seed),
            X,
            y,
            cv=[split],
            scoring={"kendall_tau": kendall_tau_scorer, "rmse_points": neg_rmse_points_scorer},
            error_score="raise",
        )
        tau.append(float(res["test_kendall_tau"][0]))
        rmse.append(float(-res["test_rmse_points"][0]))
        if not args.quiet:
            print(
                f"fold {k}/{args.folds}: kendall tau {tau[-1]:.4f}, rmse {rmse[-1]:.4f} points "
                f"({time.perf_counter() - t0:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    out = {
        "folds": args.folds,
        "kendall_tau_mean": float(np.mean(tau)),
        "kendall_tau_std": float(np.std(tau)),
        "rmse_points_mean": float(np.mean(rmse)),
    }
    _print(
        args,
        out,
        "\n".join(
            f"{k:>18}: {v:.4f}" if isinstance(v, float) else f"{k:>18}: {v}" for k, v in out.items()
        ),
    )
    return 0


def cmd_acc_predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model, "accuracy", args, "--model")
    pred = model.predict(_read_archs(args.archs))
    _print(args, {"accuracy": pred.tolist()}, "\n".join(f"{p:.5f}" for p in pred))
    return 0


# -------------------------------------------------------------------- dataset
def _import_evaluator(spec: str | None) -> Any:
    """The object named by ``module:attribute`` (a callable ``arch -> top-1`` or an evaluator)."""
    import importlib

    if not spec or ":" not in spec:
        raise CLIError(
            f"--evaluator must be 'module:attribute' (e.g. mypkg.evals:evaluate), got {spec!r}"
        )
    module_name, _, attr = spec.partition(":")
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:  # as `python -m`: modules of this folder
        sys.path.insert(0, cwd)
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(
            f"--evaluator {spec!r}: cannot import module {module_name!r} ({exc}); "
            f"searched the current folder {cwd} and the installed packages"
        ) from None
    except Exception as exc:  # the user's module failed while it was imported
        raise CLIError(
            f"--evaluator {spec!r}: importing module {module_name!r} failed "
            f"({type(exc).__name__}: {_oneline(exc)})"
        ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CLIError(
                f"--evaluator {spec!r}: module {module_name!r} has no attribute {attr!r}"
            )
        obj = getattr(obj, part)
    if not (callable(obj) or hasattr(obj, "evaluate_batch")):
        raise CLIError(f"--evaluator {spec!r} is neither callable nor has an evaluate_batch method")
    return obj


def _raised_in_module(exc: BaseException, module_name: str) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is in the module ``module_name``."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    tb = exc.__traceback__
    if not path or tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return os.path.abspath(tb.tb_frame.f_code.co_filename) == os.path.abspath(path)


def cmd_dataset(args: argparse.Namespace) -> int:
    from .accuracy import AccuracyDataset

    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"dataset folder {args.folder} is a file, not a folder")
    if args.action != "build" and not folder.exists():
        raise CLIError(f"dataset folder {args.folder} does not exist")
    if args.action == "build":
        _check_writable_parent(folder / "acc.dict", "dataset folder")
    ds = AccuracyDataset(args.folder, space=args.space)
    if args.action == "build":
        evaluator = _import_evaluator(args.evaluator)
        try:
            ds.build(
                evaluator,
                n_arch=args.n_arch,
                image_sizes=args.image_sizes,
                random_state=args.seed,
                n_jobs=args.n_jobs,
                batch_size=args.batch_size,
                verbose=not args.quiet,
            )
        except (ValueError, TypeError, OSError):
            raise
        except Exception as exc:
            if _raised_in_module(exc, args.evaluator.partition(":")[0]):  # the user's code failed
                raise CLIError(
                    f"--evaluator {args.evaluator} raised {type(exc).__name__}: "
                    f"{_oneline(exc)} (finished evaluations are kept; a rerun "
                    f"resumes)"
                ) from exc
            raise
    if args.action == "merge":
        ds.merge()
    X, y = ds.load()
    import numpy as np

    sizes = sorted({a["image_size"] for a in X})
    out = {"folder": args.folder, "n_records": len(X), "image_sizes": sizes}
    if len(y):
        out.update(
            {
                "top1_min": float(np.min(y)),
                "top1_median": float(np.median(y)),
                "top1_max": float(np.max(y)),
                "top1_std": float(np.std(y)),
            }
        )
    _print(args, out, "\n".join(f"{k:>12}: {v}" for k, v in out.items()))
    return 0


# --------------------------------------------------------------------- search
def _check_search_spaces(args: argparse.Namespace, acc: Any, eff: Any) -> None:
    """Refuse an accuracy model and an efficiency model of different search spaces, naming both
    (the search would otherwise fail later, on what their image sizes share)."""
    from .exceptions import SpaceMismatchError
    from .search.evolution import _predictor_space

    acc_space, eff_space = _predictor_space(acc), _predictor_space(eff)
    if acc_space is None or eff_space is None:
        return
    why = None
    try:
        eff_space.translator_from(acc_space)
    except SpaceMismatchError as exc:
        why = f"their genes or network structure differ ({exc})"
    else:
        if not set(acc_space.image_sizes) & set(eff_space.image_sizes):
            why = (
                f"they share no image size (accuracy: {list(acc_space.image_sizes)}, "
                f"efficiency: {list(eff_space.image_sizes)})"
            )
    if why is not None:
        raise CLIError(
            f"--accuracy {args.accuracy} is a model of space {acc_space.describe()} and "
            f"--efficiency {args.efficiency} one of space {eff_space.describe()}: {why}; "
            "pass two models fitted on the same search space"
        )


def cmd_search(args: argparse.Namespace) -> int:
    from .search import EvolutionFinder

    if args.pareto:
        if args.verify:
            raise CLIError("--verify is not allowed with --pareto (it checks one constraint)")
    elif args.constraint is None:
        raise CLIError(
            "the following arguments are required: --constraint (or --pareto for the whole "
            "front) (see 'sklearn-ofa search --help')"
        )
    acc = _load_model(args.accuracy, "accuracy", args, "--accuracy")
    eff = _load_model(args.efficiency, "latency", args, "--efficiency")
    _check_search_spaces(args, acc, eff)
    if "verbose" in eff.get_params():  # a LatencyTable: progress of verify's measurements
        eff.set_params(verbose=not args.quiet)
    if args.pareto:
        return _search_pareto(args, acc, eff)
    finder = EvolutionFinder(
        acc,
        eff,
        confidence=args.confidence,
        population_size=args.population,
        n_generations=args.generations,
        random_state=args.seed,
        verbose=not args.quiet,
    )
    results = []
    for c in args.constraint:
        res = finder.search(c, verify=args.verify, verify_rounds=args.verify_rounds)
        row = {
            "constraint": c,
            "accuracy": float(res.accuracy),
            "efficiency": float(res.efficiency),
            "generations": int(res.history.generation[-1]),
            "population": int(args.population),
            "arch": res.arch,
        }
        if args.verify:
            ver = res.verification
            row["measured_efficiency"] = float(res.measured_efficiency)
            row["measured_bound"] = float(ver.measured_bound[ver.chosen])
            row["searched_constraint"] = float(ver.searched_constraint)
            row["verified"] = int(args.verify)
        results.append(row)

    def line(r: dict) -> str:
        measured = ""
        if "measured_efficiency" in r:
            measured = f" measured {r['measured_efficiency']:.3f}"
            if r["measured_bound"] != r["measured_efficiency"]:
                measured += f" (bound {r['measured_bound']:.3f})"
        return (
            f"<= {r['constraint']:g}: acc {r['accuracy']:.4f} eff {r['efficiency']:.3f}{measured} "
            f"({r['generations']} generations) {json.dumps(r['arch'])}"
        )

    _print(args, results, "\n".join(line(r) for r in results))
    return 0


def _search_pareto(args: argparse.Namespace, acc: Any, eff: Any) -> int:
    import numpy as np

    from .search import ParetoFinder

    pf = ParetoFinder(
        acc,
        eff,
        confidence=args.confidence,
        population_size=args.population,
        n_generations=args.generations,
        random_state=args.seed,
        verbose=not args.quiet,
    )
    try:
        pf.fit()
    except ImportError as exc:  # pymoo missing: the user's install, not a bug
        raise CLIError(str(exc)) from None
    front = pf.front_
    keep = np.ones(len(front.accuracy), dtype=bool)
    if args.constraint is not None:  # a cap on the front
        keep = front.efficiency <= max(args.constraint)
    rows = [
        {"accuracy": float(a), "efficiency": float(e), "arch": arch}
        for a, e, arch, k in zip(front.accuracy, front.efficiency, front.arch, keep)
        if k
    ]
    head = (
        f"Pareto front: {len(rows)} archs ({pf.n_accuracy_predictions_} archs scored, "
        f"{args.generations} generations of {args.population})"
    )
    text = "\n".join(
        [head]
        + [
            f"acc {r['accuracy']:.4f} eff {r['efficiency']:.3f} {json.dumps(r['arch'])}"
            for r in rows
        ]
    )
    _print(args, rows, text)
    return 0


# ----------------------------------------------------------------------- demo
def _is_demo_output(p: Path) -> bool:
    from .demo import REPORT_FILES

    return p.name in REPORT_FILES


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    _check_out_folder(args.out, "--out", owned=_is_demo_output)
    report = run_demo(args.out, quick=args.quick, random_state=args.seed, verbose=not args.quiet)
    _print(args, report, report.get("text"))
    return 0


# --------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sklearn-ofa",
        description="Once-for-All NAS predictors: accuracy pipelines, FLOPs and latency tables, search.",
        epilog="Start with: sklearn-ofa demo --out report/   (the whole workflow on bundled data). "
        "Errors: one line on stderr, exit 2 (user error), 1 (bug), 130 (interrupted); "
        "--debug shows the traceback.",
    )
    p.add_argument("--version", action="version", version=_version())
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp):
        sp.add_argument(
            "--json", action="store_true", help="machine-readable output (only JSON on stdout)"
        )
        sp.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the traceback of an error",
        )
        return sp

    def trust(sp):
        sp.add_argument(
            "--trust-pickle",
            action="store_true",
            help="allow loading pickle/joblib model files (they can run arbitrary code; "
            "only for files you made or trust)",
        )
        return sp

    d = common(sub.add_parser("demo", help="the main job on the bundled digits data"))
    d.add_argument(
        "--out",
        default="sklearn-ofa-demo",
        help="report folder (written whole; a previous report there is replaced)",
    )
    d.add_argument("--quick", action="store_true", help="smaller settings (for tests)")
    d.add_argument("--seed", type=int, default=0, help="random seed of the whole demo")
    d.add_argument("--quiet", action="store_true", help="no progress on stderr")
    d.set_defaults(func=cmd_demo)

    i = common(sub.add_parser("info", help="params, MACs and CPU latency of an arch or net.config"))
    i.add_argument("--arch", help="arch JSON string or file")
    i.add_argument(
        "--net-config", help="OFA net.config file, or a folder with net.config and run.config"
    )
    i.add_argument(
        "--space",
        default="ofa_mbv3_w1.2",
        help="search space name (sklearn_ofa.spaces.list_spaces())",
    )
    i.add_argument(
        "--image-size",
        type=int,
        help="input size for a net.config (default: its run.config's, else 224)",
    )
    i.add_argument("--threads", type=int, default=1, help="torch CPU threads while timing")
    i.add_argument("--warmup", type=int, default=5, help="untimed runs before timing")
    i.add_argument("--repeats", type=int, default=20, help="timed runs (the median is reported)")
    i.add_argument("--no-latency", action="store_true", help="skip the CPU timing")
    i.set_defaults(func=cmd_info)

    lut = sub.add_parser("lut", help="latency lookup tables")
    lut.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    lut = lut.add_subparsers(dest="action", required=True, parser_class=_Parser)
    b = common(lut.add_parser("build", help="profile a space on this machine"))
    b.add_argument(
        "--space",
        default="ofa_mbv3_w1.2",
        help="search space name (sklearn_ofa.spaces.list_spaces())",
    )
    b.add_argument(
        "--image-sizes", type=_int_list, help="comma-separated, e.g. 160,176,192,208,224"
    )
    b.add_argument(
        "--backend",
        default="torch",
        choices=["torch", "onnxruntime", "openvino"],
        help="what runs the blocks (default: torch)",
    )
    b.add_argument("--device", default="cpu", help="torch device to profile on (cpu or cuda)")
    b.add_argument("--threads", type=int, default=1, help="CPU threads of the profiling worker")
    b.add_argument("--warmup", type=int, default=5, help="untimed runs per block")
    b.add_argument(
        "--repeats", type=int, default=20, help="timed runs per block (all statistics are kept)"
    )
    _statistic_option(b)
    b.add_argument("--cache", help="journal file (default: OUT.jsonl); a rerun resumes from it")
    b.add_argument(
        "--out", required=True, help="fitted table (.skops; a .joblib/.pkl name writes a pickle)"
    )
    b.add_argument("--yaml", help="also write OFA YAML files into this folder")
    b.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    b.set_defaults(func=cmd_lut_build)
    lp = trust(common(lut.add_parser("predict", help="latency of archs")))
    lp.add_argument("--table", required=True, help="fitted LatencyTable or FLOPsModel (.skops)")
    lp.add_argument("--archs", required=True, help="JSON file: arch dict or list of them")
    lp.set_defaults(func=cmd_lut_predict)
    lc = trust(common(lut.add_parser("convert", help="OFA YAML <-> fitted table")))
    lc.add_argument("--from-yaml", help="folder or file of OFA YAML tables")
    lc.add_argument("--table", help="fitted table (.skops) to write as an OFA YAML folder")
    lc.add_argument(
        "--space",
        default="ofa_mbv3_w1.2",
        help="search space name (sklearn_ofa.spaces.list_spaces())",
    )
    lc.add_argument(
        "--out",
        required=True,
        help="with --from-yaml: the fitted table (.skops); with --table: the YAML folder",
    )
    lc.set_defaults(func=cmd_lut_convert)
    le = common(lut.add_parser("export", help="blocks and subnets as ONNX, for another device"))
    le.add_argument(
        "--space",
        default="ofa_mbv3_w1.2",
        help="search space name (sklearn_ofa.spaces.list_spaces())",
    )
    le.add_argument(
        "--image-sizes", type=_int_list, help="comma-separated, e.g. 160,176,192,208,224"
    )
    le.add_argument(
        "--subnets", type=int, default=100, help="whole subnets for a calibration (default: 100)"
    )
    le.add_argument("--seed", type=int, default=0, help="seed of the subnet sample (default: 0)")
    le.add_argument("--batch-size", type=int, default=1, help="default: 1")
    le.add_argument("--out", required=True, help="export folder (a rerun finishes it)")
    le.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    le.set_defaults(func=cmd_lut_export)
    li = common(lut.add_parser("import", help="a fitted table from profile_onnx results"))
    li.add_argument("--folder", required=True, help="the export folder")
    li.add_argument("--results", required=True, help="results file written by profile_onnx")
    li.add_argument(
        "--calibration",
        default="hybrid",
        choices=["none", "linear", "per_type", "hybrid"],
        help="fitted on the measured subnets (default: hybrid)",
    )
    _statistic_option(li)
    li.add_argument("--out", required=True, help="fitted table (.skops)")
    li.set_defaults(func=cmd_lut_import)

    acc = sub.add_parser("acc", help="accuracy predictor")
    acc.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    acc = acc.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, func, hlp in (
        ("fit", cmd_acc_fit, "fit the default pipeline"),
        ("cv", cmd_acc_cv, "cross-validate the default pipeline"),
    ):
        a = common(acc.add_parser(name, help=hlp))
        a.add_argument(
            "--data",
            default="digits",
            help="'digits' or 'imagenet' (bundled: digits subnets, real OFA MobileNetV3 w1.0 "
            "ImageNet subnets) or an OFA dataset folder",
        )
        a.add_argument("--space", default="ofa_mbv3_w1.2", help="space of an OFA dataset folder")
        a.add_argument("--seed", type=int, default=0, help="random seed of the training")
        if name == "fit":
            a.add_argument(
                "--out",
                required=True,
                help="fitted pipeline (.skops; a .joblib/.pkl name writes a pickle)",
            )
        else:
            a.add_argument("--folds", type=int, default=5, help="cross-validation folds (shuffled)")
        a.add_argument(
            "--quiet",
            action="store_true",
            help="no progress on stderr (by default: "
            + ("a bar over the training epochs)" if name == "fit" else "a line per fold)"),
        )
        a.set_defaults(func=func)
    ai = common(acc.add_parser("import-ofa", help="OFA's accuracy predictor .pth -> pipeline"))
    ai.add_argument("path", metavar="PATH", help="OFA's predictor checkpoint (read tensors-only)")
    ai.add_argument("--space", default="ofa_mbv3_w1.2", help="the space it was trained on")
    ai.add_argument("--out", required=True, help="fitted pipeline (.skops)")
    ai.set_defaults(func=cmd_acc_import_ofa)
    ap = trust(common(acc.add_parser("predict", help="predict archs with a fitted pipeline")))
    ap.add_argument("--model", required=True, help="fitted accuracy pipeline (.skops)")
    ap.add_argument("--archs", required=True, help="JSON file: arch dict or list of them")
    ap.set_defaults(func=cmd_acc_predict)

    ds = common(sub.add_parser("dataset", help="accuracy datasets in OFA's layout"))
    ds.add_argument(
        "action",
        choices=["build", "merge", "info"],
        help="build: evaluate missing archs (resumes); merge: fold a src/ folder in",
    )
    ds.add_argument("folder", help="the dataset folder (created by build)")
    ds.add_argument(
        "--space",
        default="ofa_mbv3_w1.2",
        help="search space name (sklearn_ofa.spaces.list_spaces())",
    )
    ds.add_argument(
        "--evaluator",
        help="build: module:attribute of a callable arch -> top-1 "
        "or of an evaluator with evaluate_batch",
    )
    ds.add_argument("--n-arch", type=int, default=1000, help="build: distinct archs to sample")
    ds.add_argument(
        "--image-sizes", type=_int_list, help="build: comma-separated sizes per arch (default: all)"
    )
    ds.add_argument("--n-jobs", type=int, default=1, help="parallel evaluator processes")
    ds.add_argument("--batch-size", type=int, default=1, help="build: archs per task")
    ds.add_argument("--seed", type=int, default=0, help="random seed of the arch sample")
    ds.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ds.set_defaults(func=cmd_dataset)

    s = trust(common(sub.add_parser("search", help="evolutionary search with fitted predictors")))
    s.add_argument("--accuracy", required=True, help="fitted accuracy pipeline (.skops)")
    s.add_argument("--efficiency", required=True, help="fitted LatencyTable or FLOPsModel (.skops)")
    s.add_argument(
        "--constraint",
        type=_float_list,
        help="one or more comma-separated limits (required without --pareto; with it, a cap "
        "on the front)",
    )
    s.add_argument(
        "--pareto",
        action="store_true",
        help="return the whole accuracy/efficiency front of one NSGA-II run (needs pymoo: "
        "pip install 'sklearn-ofa[pareto]')",
    )
    s.add_argument(
        "--confidence",
        type=float,
        help="judge the constraint on the table's one-sided upper bound at this confidence, "
        "e.g. 0.95 (needs a calibrated table; default: point prediction), and --verify's "
        "measurements at it too",
    )
    s.add_argument(
        "--verify",
        type=int,
        help="measure the K best archs end to end and return the best that meets the "
        "constraint (needs a LatencyTable of this machine)",
    )
    s.add_argument(
        "--verify-rounds",
        type=int,
        default=3,
        help="measuring passes over the K archs of --verify (median; default 3)",
    )
    s.add_argument("--population", type=int, default=100, help="archs per generation")
    s.add_argument(
        "--generations",
        type=int,
        default=500,
        help="generations after the random population (as the library and OFA)",
    )
    s.add_argument("--seed", type=int, default=0, help="random seed of the search")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")
    s.set_defaults(func=cmd_search)
    return p


def _version() -> str:
    from . import __version__

    return f"sklearn-ofa {__version__}"


# ------------------------------------------------------------ error contract
def _oneline(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (its type name if it has none)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def _os_message(exc: OSError) -> str:
    try:
        import filelock

        if isinstance(exc, filelock.Timeout):
            return (
                f"another process holds the lock {exc.lock_file}; wait for it to finish "
                f"(or remove the lock file if no process is running)"
            )
    except ImportError:  # pragma: no cover
        pass
    if exc.strerror and exc.filename is not None:
        where = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 else "")
        return f"{where}: {exc.strerror[:1].lower()}{exc.strerror[1:]}"
    return _oneline(exc)


def _is_worker_failure(exc: BaseException) -> bool:
    from . import exceptions

    worker_error = getattr(exceptions, "ProfilingError", None)
    if worker_error is not None and isinstance(exc, worker_error):
        return True
    return isinstance(exc, RuntimeError) and str(exc).startswith("profiling worker failed")


def _exit_code_and_message(exc: BaseException) -> tuple[int, str]:
    """The one mapping from an exception to (exit code, one-line message)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, CLIError):
        return EXIT_USER_ERROR, " ".join(str(exc).split("\n"))
    if isinstance(exc, OSError):
        return EXIT_USER_ERROR, _os_message(exc)
    if isinstance(exc, (EOFError, pickle.UnpicklingError, zipfile.BadZipFile)):
        return EXIT_USER_ERROR, f"truncated or corrupt file ({type(exc).__name__}: {_oneline(exc)})"
    if isinstance(exc, (ValueError, TypeError)):
        return EXIT_USER_ERROR, _oneline(exc)
    from .profile_onnx import RuntimeNotInstalledError

    if isinstance(exc, RuntimeNotInstalledError):
        return EXIT_USER_ERROR, _oneline(exc)
    if _is_worker_failure(exc):
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = f": {lines[-1]}" if len(lines) > 1 else ""
        return EXIT_USER_ERROR, f"{lines[0].rstrip(':')}{detail}"
    try:
        import yaml

        if isinstance(exc, yaml.YAMLError):
            return EXIT_USER_ERROR, f"not valid YAML ({_oneline(exc)})"
    except ImportError:  # pragma: no cover
        pass
    return EXIT_INTERNAL_ERROR, (
        f"internal error ({type(exc).__name__}: {_oneline(exc)}); this is a bug in sklearn-ofa, "
        f"please report it; rerun with --debug to see the traceback"
    )


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    print(f"sklearn-ofa: warning: {text} ({category.__name__})", file=sys.stderr)


def _wants_debug(argv: Sequence[str]) -> bool:
    """--debug anywhere before a ``--`` (also when parsing itself fails)."""
    args = list(argv)
    if "--" in args:
        args = args[: args.index("--")]
    return "--debug" in args or os.environ.get("SKLEARN_OFA_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sklearn-ofa`` command; returns the exit code (0, 1, 2 or 130).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        0 on success, 2 for a usage or input error, 1 for an internal error,
        130 when interrupted.

    Examples
    --------
    The error goes to ``sys.stderr`` as one line
    (``sklearn-ofa: error: --table missing.skops does not exist``):

    >>> main(["lut", "predict", "--table", "missing.skops", "--archs", "a.json"])
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _wants_debug(argv)
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _one_line_warning
            args = build_parser().parse_args(argv)
            debug = debug or bool(getattr(args, "debug", False))
            return int(args.func(args) or 0)
    except SystemExit:  # --help, --version
        raise
    except BaseException as exc:  # noqa: BLE001 - the one place that maps errors to exit codes
        if not isinstance(exc, Exception) and not isinstance(exc, KeyboardInterrupt):
            raise  # GeneratorExit and the like
        code, msg = _exit_code_and_message(exc)
        if debug:
            traceback.print_exception(exc)
        try:
            sys.stdout.flush()
        except OSError:  # e.g. a closed pipe: nothing more can be written there
            _silence_stdout()
        print(f"sklearn-ofa: error: {msg}", file=sys.stderr)
        return code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
