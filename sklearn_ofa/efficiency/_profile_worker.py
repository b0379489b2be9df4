"""The profiling-worker protocol, both sides: measure blocks or whole networks.

The parent (:func:`run_job`, used by :class:`~sklearn_ofa.efficiency.LatencyTable`)
starts ``python -m sklearn_ofa.efficiency._profile_worker`` with the allocator
variables :data:`MALLOC_ENV` (they only work when set before a process starts),
writes one JSON job to its standard input and reads one JSON line per result
from its standard output. The child (:func:`main`) measures with
:func:`profile_items`. Without isolation the parent calls
:func:`profile_items` in-process.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..spaces import Block

__all__ = ["MALLOC_ENV", "profile_items", "run_job", "worker_settings"]

#: Allocator settings that stop glibc from returning activation buffers to the OS
#: between forward passes (see the latency user guide).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"}


def _macs(block: Block) -> int | None:
    try:
        from .flops_model import block_macs
    except ImportError:  # pragma: no cover - FLOPs model not installed
        return None
    return int(block_macs(block))


def _checked(result: dict, what: str) -> dict:
    """``result`` when its latencies are finite numbers of ms >= 0, else ``ValueError``."""
    for field in ("median", "mean", "std", "iqr", "min"):
        v = result[field]
        if not (isinstance(v, float) and math.isfinite(v) and v >= 0):
            raise ValueError(f"measuring {what} gave {field} = {v!r}, not a finite latency >= 0 ms")
    return result


def profile_items(job: dict) -> Iterator[dict]:
    """Measure every item of ``job`` and yield one result dict per item.

    Parameters
    ----------
    job : dict
        ``settings`` (:func:`~sklearn_ofa.efficiency.measure_latency` keyword
        arguments, checked by it) and ``blocks`` (Block dicts) and/or ``nets``
        (``[net_config, image_size]`` pairs).

    Yields
    ------
    dict
        ``median``, ``mean``, ``std``, ``iqr``, ``min`` (ms, finite and >= 0),
        ``count`` (and ``key``, ``macs`` for a block).
    """
    import torch

    if not isinstance(job, dict):
        raise TypeError(f"job must be a dict, got {type(job).__name__}")
    unknown = sorted(set(job) - {"settings", "blocks", "nets"})
    if unknown:
        raise ValueError(
            f"job has unknown field(s) {unknown}; allowed: ['settings', 'blocks', 'nets']"
        )

    from ..nets import build_block, build_net

    settings = dict(job.get("settings") or {})
    batch_size = int(settings.pop("batch_size", 1))
    timer = _timer(settings.pop("backend", "torch"), settings)
    torch.manual_seed(0)
    try:
        for blk_dict in job.get("blocks", []):
            blk = Block(
                **{
                    k: tuple(v) if k in ("in_shape", "out_shape") else v
                    for k, v in blk_dict.items()
                }
            )
            h, w, c = blk.in_shape
            stats = timer(build_block(blk), (batch_size, c, h, w))
            yield _checked({"key": blk.key, **stats, "macs": _macs(blk)}, f"block {blk.key!r}")
        for cfg, image_size in job.get("nets", []):
            stats = timer(build_net(cfg), (batch_size, 3, image_size, image_size))
            yield _checked(stats, f"a subnet at image size {image_size}")
    finally:
        getattr(timer, "cleanup", lambda: None)()


def _timer(backend: str, settings: dict):
    """``timer(module, full_input_shape) -> stats`` for ``backend`` with ``settings``."""
    if backend == "torch":
        from .latency import measure_latency

        def time_torch(module, shape):
            res = measure_latency(module, tuple(shape[1:]), batch_size=shape[0], **settings)
            return {
                "median": res.median_ms,
                "mean": res.mean_ms,
                "std": res.std_ms,
                "iqr": res.iqr_ms,
                "min": res.min_ms,
                "count": res.count,
            }

        return time_torch
    import tempfile

    from .. import profile_onnx
    from .onnx_export import export_onnx

    profile_onnx.runtime_version(backend)  # a missing runtime fails before any export
    if settings.get("device", "cpu") != "cpu":
        raise ValueError(
            f"backend {backend!r} runs on the CPU here; device = {settings['device']!r} is not "
            "allowed with it (allowed: 'cpu')"
        )
    tmp = tempfile.TemporaryDirectory(prefix="sklearn_ofa_onnx_")

    def time_runtime(module, shape):
        path = Path(tmp.name) / "model.onnx"
        export_onnx(module, shape, path)
        return profile_onnx.time_onnx(
            path,
            shape,
            backend,
            num_threads=int(settings.get("num_threads") or 1),
            warmup=int(settings.get("warmup", 5)),
            repeats=int(settings.get("repeats", 20)),
            min_run_time=settings.get("min_run_time"),
        )

    time_runtime.cleanup = tmp.cleanup
    return time_runtime


# ----------------------------------------------------------------- parent side
def worker_settings(est: Any) -> dict:
    """The ``settings`` of a job: the measuring parameters of a LatencyTable ``est``."""
    return {
        "backend": str(est.backend),
        "device": str(est.device),
        "batch_size": int(est.batch_size),
        "num_threads": int(est.num_threads),
        "warmup": int(est.warmup),
        "repeats": int(est.repeats),
        "min_run_time": est.min_run_time,
        "fold_bn": bool(est.fold_bn),
    }


def run_job(job: dict, settings: dict, *, isolate: bool) -> Iterator[dict]:
    """Measure the ``blocks``/``nets`` of ``job`` and yield one result per item, in order.

    With ``isolate`` the job runs in a child process started with
    :data:`MALLOC_ENV`; a failing child raises ``RuntimeError`` with the end of
    its standard error.
    """
    job = {**job, "settings": settings}
    if not job.get("blocks") and not job.get("nets"):
        return
    if not isolate:
        yield from profile_items(job)
        return
    env = dict(os.environ, **MALLOC_ENV)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sklearn_ofa.efficiency._profile_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
        for line in proc.stdout:
            yield json.loads(line)
        proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"profiling worker failed:\n{proc.stderr.read()[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ child side
def main() -> None:
    job = json.loads(sys.stdin.read())
    for result in profile_items(job):
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
