"""Static subnets built from OFA ``net.config`` dicts, and single blocks from the block walk."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

import torch
from torch import nn

from ..exceptions import NetConfigError
from ..spaces import Block, get_space
from .layers import (
    ConvLayer,
    GlobalAvgPool2d,
    IdentityLayer,
    LinearLayer,
    MBConvLayer,
    ResidualBlock,
    ResNetBottleneckBlock,
)

__all__ = ["MobileNetV3", "ProxylessNASNets", "ResNets", "build_net", "build_block", "NET_NAMES"]

NET_NAMES = ("MobileNetV3", "ProxylessNASNets", "MobileNetV2", "ResNets")


_POSITIVE_INT_FIELDS = (
    "in_channels",
    "out_channels",
    "mid_channels",
    "in_features",
    "out_features",
    "stride",
    "groups",
    "dilation",
)


def _check_fields(cfg: dict, where: str, name: str) -> None:
    """Numbers of a layer dict as numbers, in range: a wrong one is an error, not a net."""
    for field in _POSITIVE_INT_FIELDS + ("kernel_size",):
        value = cfg.get(field)
        if value is None:
            continue
        # OFA's older configs hold some widths as one-element lists
        items = value if isinstance(value, (list, tuple)) and value else [value]
        if not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in items
        ):
            raise NetConfigError(
                f"{where} ({name}): {field} = {value!r} is not allowed; it must be a positive int"
            )
        if field == "kernel_size" and any(v % 2 == 0 for v in items):
            raise NetConfigError(
                f"{where} ({name}): kernel_size = {value!r} is not allowed; it must be odd"
            )
    for field in ("expand_ratio",):
        value = cfg.get(field)
        if value is not None and (
            not isinstance(value, numbers.Real)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise NetConfigError(
                f"{where} ({name}): {field} = {value!r} is not allowed; it must be a positive number"
            )
    value = cfg.get("dropout_rate")
    if value is not None and (
        not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value < 1
    ):
        raise NetConfigError(
            f"{where} ({name}): dropout_rate = {value!r} is not allowed; allowed range: [0, 1)"
        )


def _layer(cfg: dict | None, bn: dict, where: str) -> nn.Module | None:
    if cfg is None:
        return None
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise NetConfigError(f"{where} must be a layer dict with a 'name', got {cfg!r}")
    cfg = dict(cfg)
    name = cfg.pop("name")
    _check_fields(cfg, where, name)
    try:
        if name == "ConvLayer":
            return ConvLayer(bn=bn, **cfg)
        if name in ("MBConvLayer", "MBInvertedConvLayer"):
            return MBConvLayer(bn=bn, **cfg)
        if name == "IdentityLayer":
            return IdentityLayer()
        if name == "ZeroLayer":
            return None
        if name == "LinearLayer":
            return LinearLayer(**cfg)
        if name in ("ResidualBlock", "MobileInvertedResidualBlock"):
            conv_cfg = cfg.get("conv", cfg.get("mobile_inverted_conv"))
            conv = _layer(conv_cfg, bn, where + ".conv")
            shortcut = (
                _layer(cfg.get("shortcut"), bn, where + ".shortcut") if conv is not None else None
            )
            return ResidualBlock(conv, shortcut)
        if name == "ResNetBottleneckBlock":
            return ResNetBottleneckBlock(bn=bn, **cfg)
    except TypeError as exc:
        raise NetConfigError(f"{where} ({name}) has bad fields: {exc}") from None
    raise NetConfigError(
        f"{where}: layer name {name!r} is not supported; allowed: ConvLayer, MBConvLayer, "
        "MBInvertedConvLayer, IdentityLayer, ZeroLayer, LinearLayer, ResidualBlock, "
        "MobileInvertedResidualBlock, ResNetBottleneckBlock"
    )


def _require(config: dict, keys: tuple[str, ...]) -> None:
    for k in keys:
        if k not in config:
            raise NetConfigError(f"net.config of {config.get('name')!r} is missing {k!r}")


class MobileNetV3(nn.Module):
    """Static OFA MobileNetV3: first conv, MBConv blocks, final expand, pool, feature mix, classifier.

    Usually made by :func:`build_net`, which picks the class from ``config["name"]``.

    Parameters
    ----------
    config : dict
        An OFA ``net.config`` (kept, deep-copied, as ``self.config``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.networks import MobileNetV3
    >>> from sklearn_ofa.spaces import get_space
    >>> space = get_space("ofa_mbv3_w1.0")
    >>> net = MobileNetV3(space.net_config(space.sample(1, random_state=0)[0])).eval()
    >>> net(torch.zeros(1, 3, 128, 128)).shape
    torch.Size([1, 1000])
    """

    def __init__(self, config: dict):
        super().__init__()
        _require(
            config,
            ("first_conv", "blocks", "final_expand_layer", "feature_mix_layer", "classifier"),
        )
        bn = config.get("bn") or {}
        self.config = copy.deepcopy(config)
        self.first_conv = _layer(config["first_conv"], bn, "first_conv")
        self.blocks = nn.ModuleList(
            [_layer(b, bn, f"blocks[{i}]") for i, b in enumerate(config["blocks"])]
        )
        self.final_expand_layer = _layer(config["final_expand_layer"], bn, "final_expand_layer")
        self.global_avg_pool = GlobalAvgPool2d(keep_dim=True)
        self.feature_mix_layer = _layer(config["feature_mix_layer"], bn, "feature_mix_layer")
        self.classifier = _layer(config["classifier"], bn, "classifier")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(x)
        for block in self.blocks:
            x = block(x)
        x = self.final_expand_layer(x)
        x = self.global_avg_pool(x)
        x = self.feature_mix_layer(x)
        return self.classifier(x)


class ProxylessNASNets(nn.Module):
    """Static ProxylessNAS / MobileNetV2: first conv, MBConv blocks, feature mix, pool, classifier.

    Usually made by :func:`build_net`, which picks the class from ``config["name"]``.

    Parameters
    ----------
    config : dict
        An OFA ``net.config`` (kept, deep-copied, as ``self.config``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.networks import ProxylessNASNets
    >>> from sklearn_ofa.spaces import get_space
    >>> space = get_space("ofa_proxyless_w1.3")
    >>> net = ProxylessNASNets(space.net_config(space.sample(1, random_state=0)[0])).eval()
    >>> net(torch.zeros(1, 3, 128, 128)).shape
    torch.Size([1, 1000])
    """

    def __init__(self, config: dict):
        super().__init__()
        _require(config, ("first_conv", "blocks", "feature_mix_layer", "classifier"))
        bn = config.get("bn") or {}
        self.config = copy.deepcopy(config)
        self.first_conv = _layer(config["first_conv"], bn, "first_conv")
        self.blocks = nn.ModuleList(
            [_layer(b, bn, f"blocks[{i}]") for i, b in enumerate(config["blocks"])]
        )
        self.feature_mix_layer = _layer(config["feature_mix_layer"], bn, "feature_mix_layer")
        self.global_avg_pool = GlobalAvgPool2d(keep_dim=False)
        self.classifier = _layer(config["classifier"], bn, "classifier")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(x)
        for block in self.blocks:
            x = block(x)
        if self.feature_mix_layer is not None:
            x = self.feature_mix_layer(x)
        x = self.global_avg_pool(x)
        return self.classifier(x)


class ResNets(nn.Module):
    """Static OFA ResNet: input stem, 3x3/2 max pooling, bottleneck blocks, pool, classifier.

    Usually made by :func:`build_net`, which picks the class from ``config["name"]``.

    Parameters
    ----------
    config : dict
        An OFA ``net.config`` (kept, deep-copied, as ``self.config``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.networks import ResNets
    >>> from sklearn_ofa.spaces import get_space
    >>> space = get_space("ofa_resnet50")
    >>> net = ResNets(space.net_config(space.sample(1, random_state=0)[0])).eval()
    >>> net(torch.zeros(1, 3, 128, 128)).shape
    torch.Size([1, 1000])
    """

    def __init__(self, config: dict):
        super().__init__()
        _require(config, ("input_stem", "blocks", "classifier"))
        bn = config.get("bn") or {}
        self.config = copy.deepcopy(config)
        self.input_stem = nn.ModuleList(
            [_layer(c, bn, f"input_stem[{i}]") for i, c in enumerate(config["input_stem"])]
        )
        self.max_pooling = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.blocks = nn.ModuleList(
            [_layer(b, bn, f"blocks[{i}]") for i, b in enumerate(config["blocks"])]
        )
        self.global_avg_pool = GlobalAvgPool2d(keep_dim=False)
        self.classifier = _layer(config["classifier"], bn, "classifier")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.input_stem:
            x = layer(x)
        x = self.max_pooling(x)
        for block in self.blocks:
            x = block(x)
        x = self.global_avg_pool(x)
        return self.classifier(x)


_NETS = {
    "MobileNetV3": MobileNetV3,
    "ProxylessNASNets": ProxylessNASNets,
    "MobileNetV2": ProxylessNASNets,
    "ResNets": ResNets,
}


def build_net(config: dict[str, Any]) -> nn.Module:
    """Build a static PyTorch network from an OFA ``net.config`` dict.

    Both OFA layouts load: the current one (``ResidualBlock``/``MBConvLayer``)
    and the one of the released specialized nets (``MobileInvertedResidualBlock``
    / ``MBInvertedConvLayer``, ``mid_channels`` null). Submodule names follow
    OFA's, so OFA state dicts load with ``load_state_dict``.

    Parameters
    ----------
    config : dict
        With ``name`` in ``MobileNetV3``, ``ProxylessNASNets`` (``MobileNetV2``)
        or ``ResNets``.

    Returns
    -------
    torch.nn.Module
        In eval mode.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.spaces import get_space
    >>> space = get_space("ofa_mbv3_w1.2")
    >>> net = build_net(space.net_config(space.sample(1, random_state=0)[0]))
    >>> net(torch.zeros(1, 3, 128, 128)).shape
    torch.Size([1, 1000])
    """
    if not isinstance(config, dict):
        raise NetConfigError(f"net.config must be a dict, got {type(config).__name__}")
    name = config.get("name")
    if name not in _NETS:
        raise NetConfigError(
            f"net.config name = {name!r} is not supported; allowed values: {list(_NETS)}"
        )
    return _NETS[name](config).eval()


def build_subnet(space: Any, arch: Any) -> nn.Module:
    """Build the static PyTorch subnet of ``arch`` in ``space`` (random weights, eval mode).

    Parameters
    ----------
    space : str or SearchSpace
        A space name of :func:`sklearn_ofa.spaces.get_space` or a space object
        that has a ``net.config`` format.
    arch : dict
        An arch of the space (validated).

    Returns
    -------
    torch.nn.Module
        The subnet, OFA's module names, in eval mode.

    Raises
    ------
    ArchValueError, ArchTypeError
        When ``arch`` is not an arch of the space.
    NetConfigError
        When the space has no ``net.config`` format.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets import build_subnet
    >>> arch = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "image_size": 160}
    >>> build_subnet("ofa_mbv3_w1.0", arch)(torch.zeros(1, 3, 160, 160)).shape
    torch.Size([1, 1000])
    """
    return build_net(get_space(space).net_config(arch))


class _AvgPoolLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.pool = GlobalAvgPool2d(keep_dim=False)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.pool(x))


def build_block(block: Block, bn: dict | None = None) -> nn.Module:
    """Build the PyTorch module of one :class:`~sklearn_ofa.spaces.Block` (eval mode).

    The module takes an ``(N, C, H, W)`` tensor of the block's input shape.

    Parameters
    ----------
    block : Block
        One block of a space's block walk (``space.blocks(arch)``).
    bn : dict or None, default=None
        BatchNorm ``eps`` and ``momentum`` (PyTorch's defaults if absent).

    Returns
    -------
    torch.nn.Module
        In eval mode.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.spaces import get_space
    >>> space = get_space("ofa_mbv3_w1.2")
    >>> blk = space.blocks(space.sample(1, random_state=0)[0])[3]
    >>> h, w, c = blk.in_shape
    >>> tuple(build_block(blk)(torch.zeros(1, c, h, w)).shape[1:]) == (blk.out_shape[2],) + blk.out_shape[:2]
    True
    """
    b = block
    if b.op == "conv":
        m = ConvLayer(
            b.in_channels,
            b.out_channels,
            b.kernel_size,
            b.stride,
            bias=b.bias,
            use_bn=b.use_bn,
            act_func=b.act,
            bn=bn,
        )
    elif b.op == "residual_conv":
        m = ResidualBlock(
            ConvLayer(
                b.in_channels, b.out_channels, b.kernel_size, b.stride, act_func=b.act, bn=bn
            ),
            IdentityLayer(),
        )
    elif b.op == "mbconv":
        m = ResidualBlock(
            MBConvLayer(
                b.in_channels,
                b.out_channels,
                b.kernel_size,
                b.stride,
                b.expand_ratio,
                b.mid_channels,
                b.act,
                b.se,
                bn=bn,
            ),
            IdentityLayer() if b.identity else None,
        )
    elif b.op == "bottleneck":
        m = ResNetBottleneckBlock(
            b.in_channels,
            b.out_channels,
            b.kernel_size,
            b.stride,
            b.expand_ratio,
            b.mid_channels,
            b.act or "relu",
            bn=bn,
        )
    elif b.op == "avgpool":
        m = GlobalAvgPool2d(keep_dim=True)
    elif b.op == "maxpool":
        m = nn.MaxPool2d(kernel_size=b.kernel_size, stride=b.stride, padding=b.kernel_size // 2)
    elif b.op == "linear":
        m = LinearLayer(b.in_channels, b.out_channels, bias=b.bias)
    elif b.op == "avgpool_linear":
        m = _AvgPoolLinear(b.in_channels, b.out_channels)
    else:
        raise ValueError(f"block op = {b.op!r} is not allowed")
    return m.eval()
