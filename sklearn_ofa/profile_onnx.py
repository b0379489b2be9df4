"""Time ONNX models with ONNX Runtime or OpenVINO: the on-device profiler, torch-free.

This one file needs only the standard library, numpy and the runtime
(``onnxruntime`` or ``openvino``), so it runs on a device where PyTorch is not
installed. ``sklearn-ofa lut export`` writes a copy of it into the export
folder; on the device::

    python profile_onnx.py FOLDER --out results.jsonl            # the copy
    python -m sklearn_ofa.profile_onnx FOLDER --out results.jsonl  # installed package

Every result is appended to ``--out`` and flushed to disk at once; a killed run
started again skips what is there and measures the rest. The first line of
the results records the runtime, its version, the settings and the machine.
:meth:`sklearn_ofa.efficiency.LatencyTable.from_measurements` reads them back.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RUNTIMES",
    "RuntimeNotInstalledError",
    "load_runner",
    "main",
    "run_folder",
    "time_onnx",
]

#: The runtimes this profiler drives, with the package each needs.
RUNTIMES = {"onnxruntime": "onnxruntime", "openvino": "openvino"}
MANIFEST = "manifest.json"
_FORMAT = 1


class RuntimeNotInstalledError(ImportError):
    """The runtime a backend needs is not installed (the message says what to install)."""


def _import_runtime(runtime: str) -> Any:
    if runtime not in RUNTIMES:
        raise ValueError(
            f"runtime = {runtime!r} is not allowed; allowed values: {sorted(RUNTIMES)}"
        )
    try:
        return __import__(RUNTIMES[runtime])
    except ImportError as exc:
        raise RuntimeNotInstalledError(
            f"runtime {runtime!r} needs the {RUNTIMES[runtime]!r} package, which is not "
            f"installed ({exc}); install it (pip install {RUNTIMES[runtime]}, or "
            f"pip install 'sklearn-ofa[{'onnx' if runtime == 'onnxruntime' else runtime}]')"
        ) from None


def runtime_version(runtime: str) -> str:
    """Version string of an installed runtime."""
    mod = _import_runtime(runtime)
    if runtime == "openvino":
        return str(mod.get_version())
    return str(mod.__version__)


def load_runner(path: str | os.PathLike, runtime: str, num_threads: int = 1) -> Callable:
    """A function ``run(x)`` that runs the ONNX model at ``path`` once on ``x``.

    Parameters
    ----------
    path : path-like
        An ONNX file with one float32 input.
    runtime : {"onnxruntime", "openvino"}
        Which runtime compiles and runs it (on the CPU).
    num_threads : int, default=1
        Intra-op threads (ONNX Runtime) / inference threads (OpenVINO).

    Returns
    -------
    callable
        ``run(x: numpy.ndarray) -> None``.

    Examples
    --------
    >>> from sklearn_ofa.profile_onnx import load_runner
    >>> load_runner("missing.onnx", "tflite")
    Traceback (most recent call last):
    ...
    ValueError: runtime = 'tflite' is not allowed; allowed values: ['onnxruntime', 'openvino']
    """
    mod = _import_runtime(runtime)
    path = str(path)
    if runtime == "onnxruntime":
        opts = mod.SessionOptions()
        opts.intra_op_num_threads = int(num_threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = mod.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        session = mod.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def run(x: np.ndarray) -> None:
            session.run(None, {name: x})

        return run
    core = mod.Core()
    compiled = core.compile_model(
        path,
        "CPU",
        {"INFERENCE_NUM_THREADS": int(num_threads), "PERFORMANCE_HINT": "LATENCY"},
    )
    request = compiled.create_infer_request()

    def run(x: np.ndarray) -> None:
        request.infer({0: x})

    return run


def time_onnx(
    path: str | os.PathLike,
    input_shape: tuple[int, ...] | list[int],
    runtime: str,
    *,
    num_threads: int = 1,
    warmup: int = 5,
    repeats: int = 20,
    min_run_time: float | None = None,
) -> dict:
    """Time one ONNX model: ``warmup`` untimed runs, then at least ``repeats`` timed ones.

    Parameters
    ----------
    path : path-like
        The ONNX file.
    input_shape : sequence of int
        Full input shape, batch first (``(1, 3, 224, 224)``).
    runtime : {"onnxruntime", "openvino"}
        The runtime.
    num_threads : int, default=1
        Runtime threads.
    warmup, repeats : int
        Untimed and timed runs.
    min_run_time : float, optional
        Keep timing until this many seconds of timed runs have passed.

    Returns
    -------
    dict
        ``median``, ``mean``, ``std``, ``iqr``, ``min`` (ms) and ``count``, as
        :class:`~sklearn_ofa.efficiency.latency.LatencyResult` computes them.

    Examples
    --------
    >>> from sklearn_ofa.profile_onnx import time_onnx
    >>> time_onnx("m.onnx", (1, 3, 8, 8), "onnxruntime", repeats=0)
    Traceback (most recent call last):
    ...
    ValueError: repeats = 0 is not allowed; allowed values: an int >= 1
    """
    for name, value, low in (
        ("num_threads", num_threads, 1),
        ("warmup", warmup, 0),
        ("repeats", repeats, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} = {value!r} is not allowed; allowed values: an int >= {low}")
    run = load_runner(path, runtime, num_threads)
    x = (
        np.random.default_rng(0)
        .standard_normal(tuple(int(s) for s in input_shape))
        .astype(np.float32)
    )
    for _ in range(warmup):
        run(x)
    samples: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        run(x)
        samples.append((time.perf_counter() - t0) * 1e3)
        if len(samples) >= repeats and (
            min_run_time is None or time.perf_counter() - start >= min_run_time
        ):
            break
    arr = np.asarray(samples, dtype=np.float64)
    q75, q25 = np.percentile(arr, [75, 25])
    out = {
        "median": float(np.median(arr)),
        "mean": float(np.mean(arr)),
        "std": float(np.std(arr, ddof=1)) if arr.size > 1 else 0.0,
        "iqr": float(q75 - q25),
        "min": float(np.min(arr)),
        "count": int(arr.size),
    }
    if not all(math.isfinite(out[k]) and out[k] >= 0 for k in ("median", "mean", "min")):
        raise RuntimeError(f"the timer returned impossible times (ms): {samples[:10]}")
    return out


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(folder: str | os.PathLike) -> dict:
    """The export manifest of ``folder``, checked for the fields the profiler needs."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} not found: FOLDER must be written by 'sklearn-ofa lut export'"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ValueError(f"{path} is not an export manifest of format {_FORMAT}")
    items = manifest.get("items")
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path} lists no items to measure")
    for i, item in enumerate(items):
        missing = {"id", "file", "input_shape", "sha256"} - set(item)
        if missing:
            raise ValueError(f"{path}: items[{i}] lacks {sorted(missing)}")
    return manifest


def read_results(path: str | os.PathLike) -> tuple[dict | None, dict[str, dict]]:
    """Header and ``{id: stats}`` of a results file; a truncated last line is dropped."""
    header, done = None, {}
    path = Path(path)
    if not path.exists():
        return None, {}
    lines = path.read_text().splitlines()
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if no == len(lines):  # a kill mid-write: measured again
                break
            raise ValueError(
                f"{path}: line {no} is not JSON; the results file is corrupt"
            ) from None
        if "header" in rec:
            header = rec["header"]
        else:
            done[str(rec["id"])] = rec
    return header, done


def _settings(runtime: str, num_threads: int, warmup: int, repeats: int, min_run_time) -> dict:
    return {
        "backend": runtime,
        "runtime_version": runtime_version(runtime),
        "num_threads": int(num_threads),
        "warmup": int(warmup),
        "repeats": int(repeats),
        "min_run_time": min_run_time,
    }


def run_folder(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    runtime: str = "onnxruntime",
    *,
    num_threads: int = 1,
    warmup: int = 5,
    repeats: int = 20,
    min_run_time: float | None = None,
    progress: bool = True,
) -> Iterator[dict]:
    """Measure every item of an export folder, appending each result to ``out``; resumable.

    Parameters
    ----------
    folder : path-like
        Written by ``sklearn-ofa lut export`` (``manifest.json`` and ONNX files).
    out : path-like
        Results file (JSON lines); items already in it are skipped.
    runtime : {"onnxruntime", "openvino"}, default="onnxruntime"
        The runtime.
    num_threads, warmup, repeats, min_run_time
        As :func:`time_onnx`; a resumed run must use the same settings.
    progress : bool, default=True
        A progress line with the ETA on standard error.

    Yields
    ------
    dict
        Each new result (``id``, ``median`` ... ``count``).

    Examples
    --------
    >>> from sklearn_ofa.profile_onnx import run_folder
    >>> next(run_folder("no_such_folder", "results.jsonl"))
    Traceback (most recent call last):
    ...
    FileNotFoundError: no_such_folder/manifest.json not found: FOLDER must be written by 'sklearn-ofa lut export'
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    settings = _settings(runtime, num_threads, warmup, repeats, min_run_time)
    header, done = read_results(out)
    if header is not None:
        for field in ("backend", "num_threads", "warmup", "repeats", "min_run_time"):
            if header.get(field) != settings[field]:
                raise ValueError(
                    f"{out} was measured with {field} = {header.get(field)!r}, but this run uses "
                    f"{field} = {settings[field]!r}; use another --out or the same settings"
                )
    todo = [it for it in manifest["items"] if str(it["id"]) not in done]
    machine = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    with open(out, "a", encoding="utf-8") as f:
        if header is None:
            f.write(json.dumps({"header": {**settings, "machine": machine}}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        t_start = time.perf_counter()
        for n, item in enumerate(todo, 1):
            path = folder / item["file"]
            if sha256(path) != item["sha256"]:
                raise ValueError(f"{path}: checksum differs from the manifest; export again")
            stats = time_onnx(
                path,
                item["input_shape"],
                runtime,
                num_threads=num_threads,
                warmup=warmup,
                repeats=repeats,
                min_run_time=min_run_time,
            )
            rec = {"id": str(item["id"]), **stats}
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
            if progress:
                spent = time.perf_counter() - t_start
                eta = spent / n * (len(todo) - n)
                sys.stderr.write(
                    f"\rprofile_onnx: {len(done) + n}/{len(manifest['items'])} items, "
                    f"ETA {eta:.0f} s   "
                )
                sys.stderr.flush()
            yield rec
    if progress and todo:
        sys.stderr.write("\n")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m sklearn_ofa.profile_onnx FOLDER --out results.jsonl``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a user error (one line on standard error).

    Examples
    --------
    >>> from sklearn_ofa.profile_onnx import main
    >>> main(["no_such_folder", "--out", "r.jsonl", "--quiet"])
    2
    """
    parser = argparse.ArgumentParser(
        prog="profile_onnx",
        description="Measure the ONNX files of a 'sklearn-ofa lut export' folder (resumable).",
    )
    parser.add_argument("folder", help="the export folder (holds manifest.json)")
    parser.add_argument("--out", required=True, help="results file (JSON lines), appended to")
    parser.add_argument(
        "--runtime", default="onnxruntime", choices=sorted(RUNTIMES), help="default: onnxruntime"
    )
    parser.add_argument("--threads", type=int, default=1, help="runtime threads (default: 1)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs per item (default: 5)")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per item (default: 20)")
    parser.add_argument(
        "--min-run-time", type=float, default=None, help="minimum seconds of timed runs per item"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    try:
        n = 0
        for _ in run_folder(
            args.folder,
            args.out,
            args.runtime,
            num_threads=args.threads,
            warmup=args.warmup,
            repeats=args.repeats,
            min_run_time=args.min_run_time,
            progress=not args.quiet,
        ):
            n += 1
    except (OSError, ValueError, ImportError) as exc:
        sys.stderr.write(f"profile_onnx: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("profile_onnx: interrupted; run again to resume\n")
        return 130
    if not args.quiet:
        sys.stderr.write(f"profile_onnx: {n} new result(s) in {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
