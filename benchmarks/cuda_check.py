"""Short check of the CUDA code paths of measure_latency, fold_batchnorm, count_flops, get_net_info.

Runs in well under a minute on a GPU machine; without CUDA it prints the reason and exits 0.

    python benchmarks/cuda_check.py [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_ofa.efficiency import (  # noqa: E402
    count_flops,
    fold_batchnorm,
    get_net_info,
    measure_latency,
)
from sklearn_ofa.spaces import get_space  # noqa: E402


def _check(report: dict, name: str, ok: bool, **detail) -> None:
    report["checks"].append({"name": name, "ok": bool(ok), **detail})
    print(f"[{'ok' if ok else 'FAIL'}] {name} {json.dumps(detail, default=str)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None, help="write the JSON report here")
    args = parser.parse_args()
    report: dict = {
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "checks": [],
    }
    if not torch.cuda.is_available():
        report["skipped"] = "CUDA is not available (torch.cuda.is_available() is False)"
        print(report["skipped"] + "; nothing to check.")
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2))
        return 0
    report["device_name"] = torch.cuda.get_device_name(0)
    t_start = time.perf_counter()
    space = get_space("ofa_mbv3_w1.2")
    arch = space.sample(1, random_state=0)[0]
    arch["image_size"] = 224
    net = space.build(arch).eval()
    for m in net.modules():  # non-trivial BN statistics, so folding is really tested
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)

    # 1. CUDA events path; the user's model stays on the CPU
    res = measure_latency(net, (3, 224, 224), device="cuda", warmup=10, repeats=30)
    _check(
        report,
        "measure_latency cuda",
        res.count == 30 and res.min_ms > 0 and res.min_ms <= res.median_ms <= res.samples_ms.max(),
        median_ms=res.median_ms,
        iqr_ms=res.iqr_ms,
        device=res.settings["device"],
    )
    _check(report, "model not moved", next(net.parameters()).device.type == "cpu")
    res0 = measure_latency(net, 224, device="cuda:0", warmup=3, repeats=5, batch_size=8)
    _check(
        report,
        "explicit cuda:0, batch 8",
        res0.settings["device"] == "cuda:0" and res0.settings["batch_size"] == 8,
        median_ms=res0.median_ms,
    )

    # 2. min_run_time on CUDA
    t0 = time.perf_counter()
    res_t = measure_latency(
        nn.Conv2d(3, 8, 3), (3, 32, 32), device="cuda", warmup=2, repeats=3, min_run_time=0.3
    )
    _check(
        report,
        "min_run_time cuda",
        time.perf_counter() - t0 >= 0.3 and res_t.count > 3,
        count=res_t.count,
    )

    # 3. more work measures slower (16x the layers)
    small = nn.Sequential(*[nn.Linear(2048, 2048) for _ in range(2)])
    big = nn.Sequential(*[nn.Linear(2048, 2048) for _ in range(32)])
    s_ms = measure_latency(
        small, (2048,), device="cuda", batch_size=256, warmup=5, repeats=20
    ).median_ms
    b_ms = measure_latency(
        big, (2048,), device="cuda", batch_size=256, warmup=5, repeats=20
    ).median_ms
    _check(report, "16x the work measures slower", b_ms > s_ms, small_ms=s_ms, big_ms=b_ms)

    # 4. folding on the GPU: same outputs, measurable
    gnet = net.to("cuda")
    folded = fold_batchnorm(gnet)
    x = torch.randn(2, 3, 224, 224, device="cuda")
    with torch.no_grad():
        diff = (folded(x) - gnet(x)).abs().max().item()
    _check(report, "fold_batchnorm on cuda", diff < 1e-3, max_abs_diff=diff)
    res_f = measure_latency(gnet, 224, device="cuda", fold_bn=True, warmup=5, repeats=20)
    _check(report, "fold_bn latency", res_f.settings["fold_bn"] is True, median_ms=res_f.median_ms)

    # 5. counting on a CUDA module equals counting on the CPU
    cpu_net = space.build(arch)
    c_gpu = count_flops(gnet, 224)
    c_cpu = count_flops(cpu_net, 224)
    _check(
        report,
        "count_flops cuda == cpu",
        (c_gpu.macs, c_gpu.flops) == (c_cpu.macs, c_cpu.flops) and not c_gpu.uncounted_ops,
        macs=c_gpu.macs,
        flops=c_gpu.flops,
        uncounted=c_gpu.uncounted_ops,
    )

    # 6. get_net_info on both devices; threads restored
    threads = torch.get_num_threads()
    info = get_net_info(cpu_net, 224, latency_devices=("cpu", "cuda"), warmup=3, repeats=5)
    _check(
        report,
        "get_net_info cpu+cuda",
        sorted(info.latency) == ["cpu", "cuda"] and torch.get_num_threads() == threads,
        text=str(info),
    )

    # 7. unavailable device index is a clear error
    try:
        measure_latency(small, (2048,), device=f"cuda:{torch.cuda.device_count()}")
        _check(report, "bad cuda index rejected", False)
    except ValueError as exc:
        _check(report, "bad cuda index rejected", "not available" in str(exc), message=str(exc))

    report["seconds"] = time.perf_counter() - t_start
    report["all_ok"] = all(c["ok"] for c in report["checks"])
    print(json.dumps({"all_ok": report["all_ok"], "seconds": report["seconds"]}))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    return 0 if report["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
