"""Helpers shared by the benchmark scripts: machine description and result files.

Importing it limits numpy's BLAS to one thread (the scripts set torch's threads),
so that every figure is a single-thread figure.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np  # noqa: F401  (loads the BLAS that the limit below applies to)
from threadpoolctl import threadpool_info, threadpool_limits

RESULTS = Path(__file__).resolve().parent / "results"
_BLAS_LIMIT = threadpool_limits(1)


def machine() -> dict:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "blas_threads": sorted({p["num_threads"] for p in threadpool_info()}),
        "loadavg": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def save(topic: str, results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{topic}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2))
    return path


def rate(fn, n: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` throughput of ``fn()`` processing ``n`` items, in items/s."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best
