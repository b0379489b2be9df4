"""Profiling worker: measures blocks or whole networks and prints one JSON line per result.

Run as ``python -m sklearn_ofa.efficiency._profile_worker`` with a JSON job on
standard input. :class:`~sklearn_ofa.efficiency.LatencyTable` starts it as a
child process so that the allocator variables of MEASURING.md
(``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``) are in force from the
start of the measuring process, for blocks and validation networks alike.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Iterator

from ..spaces import Block

__all__ = ["profile_items"]


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
        raise ValueError(f"job has unknown field(s) {unknown}; allowed: ['settings', 'blocks', 'nets']")

    from ..nets import build_block, build_net
    from .latency import measure_latency

    settings = dict(job.get("settings") or {})
    batch_size = int(settings.pop("batch_size", 1))
    torch.manual_seed(0)
    for blk_dict in job.get("blocks", []):
        blk = Block(**{k: tuple(v) if k in ("in_shape", "out_shape") else v for k, v in blk_dict.items()})
        module = build_block(blk)
        h, w, c = blk.in_shape
        res = measure_latency(module, (c, h, w), batch_size=batch_size, **settings)
        yield _checked({
            "key": blk.key,
            "median": res.median_ms,
            "mean": res.mean_ms,
            "std": res.std_ms,
            "iqr": res.iqr_ms,
            "min": res.min_ms,
            "count": res.count,
            "macs": _macs(blk),
        }, f"block {blk.key!r}")
    for cfg, image_size in job.get("nets", []):
        net = build_net(cfg)
        res = measure_latency(net, (3, image_size, image_size), batch_size=batch_size, **settings)
        yield _checked({"median": res.median_ms, "mean": res.mean_ms, "std": res.std_ms,
                        "iqr": res.iqr_ms, "min": res.min_ms, "count": res.count},
                       f"a subnet at image size {image_size}")


def main() -> None:
    job = json.loads(sys.stdin.read())
    for result in profile_items(job):
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
