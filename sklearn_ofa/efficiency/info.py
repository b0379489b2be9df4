"""One-call summary of a network: parameters, MACs, FLOPs and latencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import nn

from .._checks import check_bool
from .flops import _human, check_convention, count_flops, count_parameters, sample_shape
from .latency import (
    LatencyResult,
    _check_device,
    _check_int,
    _check_seconds,
    check_module,
    measure_latency,
)

__all__ = ["NetInfo", "get_net_info"]

#: Keyword arguments of :func:`get_net_info` passed on to :func:`measure_latency`.
LATENCY_KWARGS = ("warmup", "repeats", "min_run_time", "num_threads", "fold_bn")


@dataclass
class NetInfo:
    """Parameters, MACs, FLOPs and latencies of one network for one input shape.

    Returned by :func:`get_net_info`.

    Parameters
    ----------
    params : int
        All parameters (shared ones counted once).
    trainable_params : int
        Parameters with ``requires_grad=True``.
    macs : int or float
        Multiply-accumulates per sample in the chosen ``convention``.
    flops : int or float
        Floating-point operations per sample (a MAC is two FLOPs).
    convention : {"full", "ofa"}
        The counting convention of ``macs`` and ``flops``.
    input_shape : tuple of int
        Shape of one sample.
    latency : dict of str to LatencyResult, default={}
        One measurement per device, keyed by the device string.

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_ofa.efficiency import get_net_info
    >>> info = get_net_info(nn.Conv2d(3, 8, 3), (3, 16, 16), latency_devices=())
    >>> info.to_dict()["params"]
    224
    """

    params: int
    trainable_params: int
    macs: float
    flops: float
    convention: str
    input_shape: tuple
    latency: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-friendly summary (latency: median, IQR and settings per device).

        Returns
        -------
        dict
            The fields, with each latency summarised without its raw samples.
        """
        return {
            "params": self.params,
            "trainable_params": self.trainable_params,
            "macs": self.macs,
            "flops": self.flops,
            "convention": self.convention,
            "input_shape": list(self.input_shape),
            "latency": {
                dev: {k: v for k, v in res.to_dict().items() if k != "samples_ms"}
                for dev, res in self.latency.items()
            },
        }

    def __str__(self) -> str:
        lines = [
            f"input shape      : {tuple(self.input_shape)} (per sample)",
            f"params           : {self.params:,} ({self.trainable_params:,} trainable)",
            f"MACs  ({self.convention:<4})     : {_human(self.macs)} ({self.macs:,})",
            f"FLOPs ({self.convention:<4})     : {_human(self.flops)} ({self.flops:,})",
        ]
        for dev, res in self.latency.items():
            s = res.settings
            lines.append(
                f"latency {dev:<9}: {res.median_ms:.3f} ms median (IQR {res.iqr_ms:.3f}, "
                f"min {res.min_ms:.3f}, n={res.count}, batch {s.get('batch_size')}, "
                f"{s.get('num_threads')} thread(s))"
            )
        return "\n".join(lines)


def get_net_info(
    model: nn.Module,
    input_shape: Sequence[int] | int = (3, 224, 224),
    latency_devices: Sequence[str | torch.device] = ("cpu",),
    *,
    convention: str = "full",
    batch_size: int = 1,
    **latency_kwargs: Any,
) -> NetInfo:
    """Parameters, MACs, FLOPs and measured latency of ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Not changed (counting and timing work on the model as is or a copy).
    input_shape : tuple of int or int, default=(3, 224, 224)
        Shape of one sample; an int ``r`` means ``(3, r, r)``; OFA's
        ``(1, 3, H, W)`` (batch 1) is accepted as in :func:`count_flops`.
    latency_devices : sequence of str, default=("cpu",)
        Devices to time on (``"cpu"``, ``"cuda"``, ``"cuda:N"``); empty to skip timing.
    convention : {"full", "ofa"}, default="full"
        MACs/FLOPs convention of :func:`count_flops`.
    batch_size : int, default=1
        Batch of the latency measurement (MACs and FLOPs are per sample).
    **latency_kwargs
        Passed on to :func:`measure_latency` (``warmup``, ``repeats``,
        ``min_run_time``, ``num_threads``, ``fold_bn``).

    Returns
    -------
    NetInfo
        Printable; ``to_dict()`` for JSON.

    Raises
    ------
    TypeError
        ``model`` is not a module, ``latency_devices`` is not a sequence of
        devices, or an unknown keyword argument.
    ValueError
        A bad ``convention``, ``input_shape``, ``batch_size``, device or
        latency keyword (see :func:`count_flops` and :func:`measure_latency`),
        checked before anything is counted or timed.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    >>> info = get_net_info(net, (3, 16, 16), warmup=1, repeats=3)
    >>> info.params, info.macs
    (224, 42336)
    >>> sorted(info.latency)
    ['cpu']
    """
    check_module(model)
    check_convention(convention)
    _check_int("batch_size", batch_size, 1)
    unknown = sorted(set(latency_kwargs) - set(LATENCY_KWARGS))
    if unknown:
        raise TypeError(
            f"get_net_info got unexpected keyword argument(s) {unknown}; allowed: {list(LATENCY_KWARGS)}"
        )
    if isinstance(latency_devices, (str, torch.device)):
        latency_devices = (latency_devices,)
    if not isinstance(latency_devices, (list, tuple)):
        raise TypeError(
            f"latency_devices = {latency_devices!r} is not allowed; allowed values: a device "
            "('cpu', 'cuda', 'cuda:N') or a list of them (empty: no timing)"
        )
    for dev in latency_devices:
        _check_device(dev)
    if "warmup" in latency_kwargs:
        _check_int("warmup", latency_kwargs["warmup"], 0)
    if "repeats" in latency_kwargs:
        _check_int("repeats", latency_kwargs["repeats"], 1)
    if latency_kwargs.get("num_threads") is not None:
        _check_int("num_threads", latency_kwargs["num_threads"], 1, "an int >= 1 or None")
    _check_seconds("min_run_time", latency_kwargs.get("min_run_time"))
    check_bool("fold_bn", latency_kwargs.get("fold_bn", False))
    flops = count_flops(model, input_shape, convention=convention)
    if not isinstance(input_shape, (int, torch.Tensor)):
        input_shape = sample_shape(model, input_shape)  # OFA's (1, C, H, W) too
    latency: dict[str, LatencyResult] = {}
    for dev in latency_devices:
        latency[str(dev)] = measure_latency(
            model, input_shape, device=dev, batch_size=batch_size, **latency_kwargs
        )
    return NetInfo(
        params=count_parameters(model),
        trainable_params=count_parameters(model, trainable_only=True),
        macs=flops.macs,
        flops=flops.flops,
        convention=convention,
        input_shape=flops.input_shape,
        latency=latency,
    )
