"""Latency measurement of PyTorch modules (CPU wall clock, CUDA events on GPU)."""

from __future__ import annotations

import copy
import math
import numbers
import os
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .._checks import check_bool, is_bool

__all__ = ["LatencyResult", "measure_latency", "fold_batchnorm", "allocator_settings"]

_MALLOC_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def allocator_settings() -> dict[str, str | None]:
    """The glibc allocator variables of this process (they must be set before it starts).

    Returns
    -------
    dict
        ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` to their value
        in the environment, or ``None`` when unset.

    Examples
    --------
    >>> from sklearn_ofa.efficiency.latency import allocator_settings
    >>> sorted(allocator_settings())
    ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']
    """
    return {k: os.environ.get(k) for k in _MALLOC_VARS}


@dataclass
class LatencyResult:
    """Latency samples of one module, in milliseconds, with the settings used.

    Returned by :func:`measure_latency`; the statistics are properties.

    Parameters
    ----------
    samples_ms : numpy.ndarray
        One wall-clock (or CUDA event) time per forward pass.
    settings : dict, default={}
        Device, batch size, threads, warm-up, repeats, BatchNorm folding,
        allocator variables, torch version.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ofa.efficiency.latency import LatencyResult
    >>> res = LatencyResult(np.array([1.0, 2.0, 4.0]))
    >>> res.median_ms, res.min_ms, res.count
    (2.0, 1.0, 3)
    """

    samples_ms: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def median_ms(self) -> float:
        """Median sample (ms)."""
        return float(np.median(self.samples_ms))

    @property
    def mean_ms(self) -> float:
        """Mean sample (ms)."""
        return float(np.mean(self.samples_ms))

    @property
    def std_ms(self) -> float:
        """Sample standard deviation (ms; 0 for one sample)."""
        return float(np.std(self.samples_ms, ddof=1)) if len(self.samples_ms) > 1 else 0.0

    @property
    def min_ms(self) -> float:
        """Fastest sample (ms)."""
        return float(np.min(self.samples_ms))

    @property
    def iqr_ms(self) -> float:
        """Interquartile range of the samples (ms)."""
        q75, q25 = np.percentile(self.samples_ms, [75, 25])
        return float(q75 - q25)

    @property
    def count(self) -> int:
        """Number of samples."""
        return int(len(self.samples_ms))

    def to_dict(self) -> dict:
        """Summary statistics and settings (JSON-friendly; raw samples included).

        Returns
        -------
        dict
            ``median_ms``, ``mean_ms``, ``std_ms``, ``iqr_ms``, ``min_ms``,
            ``count``, ``samples_ms`` (a list) and ``settings``.
        """
        return {
            "median_ms": self.median_ms,
            "mean_ms": self.mean_ms,
            "std_ms": self.std_ms,
            "iqr_ms": self.iqr_ms,
            "min_ms": self.min_ms,
            "count": self.count,
            "samples_ms": [float(s) for s in self.samples_ms],
            "settings": dict(self.settings),
        }

    def __str__(self) -> str:
        return (
            f"median {self.median_ms:.3f} ms (IQR {self.iqr_ms:.3f}, mean {self.mean_ms:.3f} "
            f"± {self.std_ms:.3f}, min {self.min_ms:.3f}, n={self.count}) on "
            f"{self.settings.get('device')} x{self.settings.get('num_threads')} threads"
        )


_CONV_BN = (
    (nn.Conv1d, nn.BatchNorm1d),
    (nn.Conv2d, nn.BatchNorm2d),
    (nn.Conv3d, nn.BatchNorm3d),
)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Return a copy of ``model`` with every Conv -> BatchNorm pair folded into the conv.

    A pair is a ``Conv1d/2d/3d`` directly followed by a ``BatchNorm1d/2d/3d`` among the
    children of one container (the layout of every layer of this package).
    Unlike OFA's latency code, which deletes BatchNorm, this keeps the
    arithmetic of a deployed network. The original model is not changed.

    Parameters
    ----------
    model : torch.nn.Module
        The network to fold.

    Returns
    -------
    torch.nn.Module
        A folded copy, in eval mode.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    >>> f = fold_batchnorm(m)
    >>> x = torch.randn(1, 3, 8, 8)
    >>> torch.allclose(m(x), f(x), atol=1e-5)
    True
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    check_module(model)
    folded = copy.deepcopy(model).eval()
    for parent in folded.modules():
        names = list(parent._modules.keys())
        for a, b in zip(names, names[1:]):
            conv, bn = parent._modules[a], parent._modules[b]
            if any(isinstance(conv, ct) and isinstance(bn, bt) for ct, bt in _CONV_BN):
                parent._modules[a] = fuse_conv_bn_eval(conv, bn)
                parent._modules[b] = nn.Identity()
    return folded


def _input(
    model: nn.Module, input_shape: Any, batch_size: int, device: torch.device
) -> torch.Tensor:
    if isinstance(input_shape, torch.Tensor):
        return input_shape.to(device)
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (3, int(input_shape), int(input_shape))
    if (
        not isinstance(input_shape, (tuple, list))
        or not input_shape
        or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
            for s in input_shape
        )
    ):
        raise ValueError(
            f"input_shape = {input_shape!r} is not allowed; allowed values: a per-sample shape "
            "such as (3, 224, 224), an int r meaning (3, r, r), or an input tensor"
        )
    shape = tuple(int(s) for s in input_shape)
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    return torch.randn((int(batch_size),) + shape, device=device, dtype=dtype)


def check_module(model: Any, name: str = "model") -> None:
    """Raise ``TypeError`` unless ``model`` is a ``torch.nn.Module``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")


def _check_int(name: str, value: Any, low: int, allowed: str | None = None) -> None:
    """An int (not a bool, not a float) ``>= low``, else ``ValueError`` naming ``name``."""
    if is_bool(value) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(
            f"{name} = {value!r} is not allowed; allowed values: {allowed or f'an int >= {low}'}"
        )


def _check_seconds(name: str, value: Any) -> None:
    """A finite number of seconds >= 0 or None."""
    if value is None:
        return
    if (
        is_bool(value)
        or not isinstance(value, numbers.Real)
        or not (math.isfinite(value) and value >= 0)
    ):
        raise ValueError(
            f"{name} = {value!r} is not allowed; allowed values: a finite number of seconds >= 0 or None"
        )


def _check_device(device: Any) -> torch.device:
    allowed = "'cpu', 'cuda', 'cuda:N'"
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"device = {device!r} is not allowed; allowed values: {allowed} (a str or torch.device)"
        )
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device = {device!r} is not allowed; allowed values: {allowed}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device = {str(device)!r} is not allowed; allowed values: {allowed}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device = {str(device)!r} is not available: torch.cuda.is_available() is False"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device = {str(device)!r} is not available: only {torch.cuda.device_count()} CUDA device(s)"
            )
    return dev


def measure_latency(
    model: nn.Module,
    input_shape: Sequence[int] | int | torch.Tensor = (3, 224, 224),
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 1,
    warmup: int = 10,
    repeats: int = 50,
    min_run_time: float | None = None,
    num_threads: int | None = 1,
    fold_bn: bool = False,
) -> LatencyResult:
    """Measure the forward latency of ``model``.

    The model runs in eval mode under :func:`torch.inference_mode` on a copy
    placed on ``device``; the user's module is never changed. On CPU each
    forward pass is timed with :func:`time.perf_counter`; on CUDA with CUDA
    events after a synchronisation. The thread count is set for the
    measurement and restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        The network to time (a copy of it runs).
    input_shape : tuple of int, int or Tensor
        Per-sample shape ``(C, H, W)`` (an int ``r`` means ``(3, r, r)``), or
        a ready input tensor (then ``batch_size`` is ignored).
    device : str or torch.device
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    batch_size : int
        Samples per forward pass.
    warmup : int
        Untimed forward passes first.
    repeats : int
        Timed forward passes (the minimum, when ``min_run_time`` is set).
    min_run_time : float, optional
        Keep measuring until this many seconds of timed passes have run.
    num_threads : int or None
        CPU threads during the measurement (None keeps the current setting).
        One thread is the default because two threads are bimodal on small
        machines.
    fold_bn : bool
        Fold BatchNorm into the preceding convolutions first
        (:func:`fold_batchnorm`), as a deployed network would run.

    Returns
    -------
    LatencyResult
        Every sample is a finite time >= 0 (ms).

    Raises
    ------
    TypeError
        ``model`` is not a module, or ``fold_bn`` not a bool.
    ValueError
        A bad argument (named with its value and what is allowed): an
        ``input_shape`` that is not a shape, counts that are not ints
        (bools and floats included), a ``min_run_time`` that is not a finite
        number of seconds >= 0, an unknown or unavailable device.

    Examples
    --------
    >>> from torch import nn
    >>> res = measure_latency(nn.Conv2d(3, 8, 3), (3, 32, 32), warmup=2, repeats=5)
    >>> res.count
    5
    """
    check_module(model)
    _check_int("repeats", repeats, 1)
    _check_int("warmup", warmup, 0)
    _check_int("batch_size", batch_size, 1)
    if num_threads is not None:
        _check_int("num_threads", num_threads, 1, "an int >= 1 or None")
    _check_seconds("min_run_time", min_run_time)
    check_bool("fold_bn", fold_bn)
    dev = _check_device(device)
    net = fold_batchnorm(model) if fold_bn else copy.deepcopy(model)
    net = net.to(dev).eval()
    x = _input(net, input_shape, batch_size, dev)
    old_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    samples: list[float] = []
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                net(x)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t_start = time.perf_counter()
            while True:
                if dev.type == "cuda":
                    # events recorded on the measured device's current stream
                    with torch.cuda.device(dev):
                        stream = torch.cuda.current_stream(dev)
                        start = torch.cuda.Event(enable_timing=True)
                        end = torch.cuda.Event(enable_timing=True)
                        start.record(stream)
                        net(x)
                        end.record(stream)
                        end.synchronize()
                    samples.append(start.elapsed_time(end))
                else:
                    t0 = time.perf_counter()
                    net(x)
                    samples.append((time.perf_counter() - t0) * 1e3)
                if len(samples) >= repeats and (
                    min_run_time is None or time.perf_counter() - t_start >= min_run_time
                ):
                    break
    finally:
        torch.set_num_threads(old_threads)
    samples_arr = np.asarray(samples, dtype=np.float64)
    if not (np.isfinite(samples_arr).all() and (samples_arr >= 0).all()):
        raise RuntimeError(f"the timer returned impossible times (ms): {samples_arr[:10].tolist()}")
    settings = {
        "device": str(dev),
        "batch_size": int(x.shape[0]),
        "input_shape": list(x.shape[1:]),
        "num_threads": int(num_threads) if num_threads is not None else old_threads,
        "warmup": int(warmup),
        "repeats": len(samples),
        "min_run_time": min_run_time,
        "fold_bn": bool(fold_bn),
        "allocator": allocator_settings(),
        "torch": torch.__version__,
    }
    return LatencyResult(samples_arr, settings)
