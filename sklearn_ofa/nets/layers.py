"""Static PyTorch layers of OFA subnets.

Submodule names follow OFA's (``conv``, ``bn``, ``act``, ``inverted_bottleneck``,
``depth_conv``, ``point_linear``, ``se.fc.reduce``...) so that state dicts of
OFA's static subnets load into these modules unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..spaces import make_divisible

__all__ = [
    "build_activation",
    "SEModule",
    "ConvLayer",
    "IdentityLayer",
    "LinearLayer",
    "MBConvLayer",
    "ResidualBlock",
    "ResNetBottleneckBlock",
    "GlobalAvgPool2d",
]

ACTIVATIONS = ("relu", "relu6", "h_swish", "h_sigmoid", "tanh", "sigmoid", None)


def build_activation(name: str | None, inplace: bool = True) -> nn.Module | None:
    """Activation module by OFA name (``h_swish`` is :class:`torch.nn.Hardswish`).

    Parameters
    ----------
    name : str or None
        One of ``"relu"``, ``"relu6"``, ``"h_swish"``, ``"h_sigmoid"``, ``"tanh"``,
        ``"sigmoid"``; ``None`` or ``"none"`` for no activation.
    inplace : bool, default=True
        Build in-place ReLU / ReLU6 / Hardswish / Hardsigmoid modules.

    Returns
    -------
    torch.nn.Module or None
        The activation, or ``None`` for no activation.

    Examples
    --------
    >>> from sklearn_ofa.nets.layers import build_activation
    >>> build_activation("h_swish")
    Hardswish()
    >>> build_activation(None) is None
    True
    """
    if name is None or name == "none":
        return None
    if name == "relu":
        return nn.ReLU(inplace=inplace)
    if name == "relu6":
        return nn.ReLU6(inplace=inplace)
    if name == "h_swish":
        return nn.Hardswish(inplace=inplace)
    if name == "h_sigmoid":
        return nn.Hardsigmoid(inplace=inplace)
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"act_func = {name!r} is not allowed; allowed values: {list(ACTIVATIONS)}")


class SEModule(nn.Module):
    """Squeeze-and-excitation with OFA's widths (``make_divisible(channels // 4, 8)``).

    Parameters
    ----------
    channels : int
        Input (and output) channels.
    reduction : int, default=4
        The hidden width is ``make_divisible(channels // reduction, 8)``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import SEModule
    >>> se = SEModule(32)
    >>> se.fc.reduce.out_channels
    8
    >>> se(torch.ones(1, 32, 4, 4)).shape
    torch.Size([1, 32, 4, 4])
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.channels = channels
        mid = make_divisible(channels // reduction, 8)
        self.fc = nn.Sequential(
            OrderedDict(
                [
                    ("reduce", nn.Conv2d(channels, mid, 1, 1, 0, bias=True)),
                    ("relu", nn.ReLU(inplace=True)),
                    ("expand", nn.Conv2d(mid, channels, 1, 1, 0, bias=True)),
                    ("h_sigmoid", nn.Hardsigmoid(inplace=True)),
                ]
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=(2, 3), keepdim=True)
        return x * self.fc(y)


class GlobalAvgPool2d(nn.Module):
    """Global average pooling that keeps or drops the spatial dims.

    Parameters
    ----------
    keep_dim : bool, default=True
        Keep the two spatial dims (of size 1) in the output.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import GlobalAvgPool2d
    >>> GlobalAvgPool2d(keep_dim=False)(torch.ones(2, 8, 5, 5)).shape
    torch.Size([2, 8])
    """

    def __init__(self, keep_dim: bool = True):
        super().__init__()
        self.keep_dim = keep_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3), keepdim=self.keep_dim)


def _bn(channels: int, bn: dict | None) -> nn.BatchNorm2d:
    bn = bn or {}
    return nn.BatchNorm2d(channels, eps=bn.get("eps", 1e-5), momentum=bn.get("momentum", 0.1))


class ConvLayer(nn.Module):
    """Conv (+BN) (+activation), with OFA's 'same' padding.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    kernel_size : int, default=3
        Odd kernel size; the padding is ``(kernel_size // 2) * dilation``.
    stride : int, default=1
        Convolution stride.
    dilation : int, default=1
        Convolution dilation.
    groups : int, default=1
        Convolution groups.
    bias : bool, default=False
        Give the convolution a bias.
    use_bn : bool, default=True
        Add a BatchNorm after the convolution.
    act_func : str or None, default="relu"
        Activation name (see :func:`build_activation`).
    dropout_rate : float, default=0
        Rate of a :class:`torch.nn.Dropout2d` before the convolution (none if 0).
    bn : dict or None, default=None
        BatchNorm ``eps`` and ``momentum`` (PyTorch's defaults if absent).
    use_se : bool, default=False
        Add a squeeze-and-excitation module last.
    **_ignored : dict
        Other keys of an OFA layer config (such as ``name``), ignored.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import ConvLayer
    >>> layer = ConvLayer(3, 16, kernel_size=3, stride=2, act_func="h_swish")
    >>> layer(torch.ones(1, 3, 32, 32)).shape
    torch.Size([1, 16, 16, 16])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = False,
        use_bn: bool = True,
        act_func: str | None = "relu",
        dropout_rate: float = 0,
        bn: dict | None = None,
        use_se: bool = False,
        **_ignored,
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        if dropout_rate > 0:
            self.dropout = nn.Dropout2d(dropout_rate)
        pad = (kernel_size // 2) * dilation
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            pad,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        if use_bn:
            self.bn = _bn(out_channels, bn)
        act = build_activation(act_func)
        if act is not None:
            self.act = act
        if use_se:
            self.se = SEModule(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for m in self._modules.values():
            x = m(x)
        return x


class IdentityLayer(nn.Module):
    """The identity shortcut.

    Parameters
    ----------
    *args, **kwargs
        Accepted and ignored (an OFA layer config may be passed).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import IdentityLayer
    >>> x = torch.ones(1, 4)
    >>> IdentityLayer()(x) is x
    True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class LinearLayer(nn.Module):
    """(Dropout +) Linear, flattening its input first.

    Parameters
    ----------
    in_features, out_features : int
        Features in and out.
    bias : bool, default=True
        Give the linear layer a bias.
    dropout_rate : float, default=0
        Rate of a :class:`torch.nn.Dropout` before the linear layer (none if 0).
    **_ignored : dict
        Other keys of an OFA layer config (such as ``name``), ignored.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import LinearLayer
    >>> LinearLayer(16, 10)(torch.ones(2, 16, 1, 1)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dropout_rate: float = 0,
        **_ignored,
    ):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        if dropout_rate > 0:
            self.dropout = nn.Dropout(dropout_rate)
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        for m in self._modules.values():
            x = m(x)
        return x


class MBConvLayer(nn.Module):
    """Inverted residual: [1x1 expand] -> kxk depthwise [-> SE] -> 1x1 projection.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    kernel_size : int, default=3
        Depthwise kernel size.
    stride : int, default=1
        Depthwise stride.
    expand_ratio : float, default=6
        Hidden width is ``round(in_channels * expand_ratio)`` unless
        ``mid_channels`` is given; 1 means no expansion conv.
    mid_channels : int or None, default=None
        Hidden width (overrides ``expand_ratio``).
    act_func : str, default="relu6"
        Activation name (see :func:`build_activation`).
    use_se : bool, default=False
        Add squeeze-and-excitation after the depthwise conv.
    bn : dict or None, default=None
        BatchNorm ``eps`` and ``momentum`` (PyTorch's defaults if absent).
    **_ignored : dict
        Other keys of an OFA layer config (such as ``name``), ignored.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import MBConvLayer
    >>> layer = MBConvLayer(16, 24, kernel_size=5, stride=2, expand_ratio=4)
    >>> layer.mid_channels
    64
    >>> layer(torch.ones(1, 16, 8, 8)).shape
    torch.Size([1, 24, 4, 4])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 6,
        mid_channels: int | None = None,
        act_func: str = "relu6",
        use_se: bool = False,
        bn: dict | None = None,
        **_ignored,
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        mid = mid_channels if mid_channels is not None else round(in_channels * expand_ratio)
        self.mid_channels = mid
        if expand_ratio != 1:
            self.inverted_bottleneck = nn.Sequential(
                OrderedDict(
                    [
                        ("conv", nn.Conv2d(in_channels, mid, 1, 1, 0, bias=False)),
                        ("bn", _bn(mid, bn)),
                        ("act", build_activation(act_func)),
                    ]
                )
            )
        else:
            self.inverted_bottleneck = None
        dw = [
            (
                "conv",
                nn.Conv2d(mid, mid, kernel_size, stride, kernel_size // 2, groups=mid, bias=False),
            ),
            ("bn", _bn(mid, bn)),
            ("act", build_activation(act_func)),
        ]
        if use_se:
            dw.append(("se", SEModule(mid)))
        self.depth_conv = nn.Sequential(OrderedDict(dw))
        self.point_linear = nn.Sequential(
            OrderedDict(
                [
                    ("conv", nn.Conv2d(mid, out_channels, 1, 1, 0, bias=False)),
                    ("bn", _bn(out_channels, bn)),
                ]
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x)
        return self.point_linear(self.depth_conv(x))


class ResidualBlock(nn.Module):
    """``conv(x) + shortcut(x)``; no shortcut means plain ``conv(x)``; no conv means ``x``.

    Parameters
    ----------
    conv : torch.nn.Module or None
        The main branch.
    shortcut : torch.nn.Module or None
        The shortcut branch (usually an :class:`IdentityLayer`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import IdentityLayer, MBConvLayer, ResidualBlock
    >>> block = ResidualBlock(MBConvLayer(8, 8), IdentityLayer())
    >>> block(torch.ones(1, 8, 4, 4)).shape
    torch.Size([1, 8, 4, 4])
    """

    def __init__(self, conv: nn.Module | None, shortcut: nn.Module | None):
        super().__init__()
        self.conv = conv
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv is None:
            return x
        if self.shortcut is None:
            return self.conv(x)
        return self.conv(x) + self.shortcut(x)


class ResNetBottleneckBlock(nn.Module):
    """ResNet bottleneck with OFA's ``avgpool_conv`` (or ``conv``) downsampling.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    kernel_size : int, default=3
        Kernel size of the middle conv.
    stride : int, default=1
        Stride of the middle conv and of the downsampling branch.
    expand_ratio : float, default=0.25
        Hidden width is ``make_divisible(round(out_channels * expand_ratio), 8)``
        unless ``mid_channels`` is given.
    mid_channels : int or None, default=None
        Hidden width (overrides ``expand_ratio``; still made divisible by 8).
    act_func : str, default="relu"
        Activation name (see :func:`build_activation`).
    groups : int, default=1
        Groups of the middle conv.
    downsample_mode : {"avgpool_conv", "conv"}, default="avgpool_conv"
        Shortcut when the shape changes: average pooling then a 1x1 conv, or a
        strided 1x1 conv.
    bn : dict or None, default=None
        BatchNorm ``eps`` and ``momentum`` (PyTorch's defaults if absent).
    **_ignored : dict
        Other keys of an OFA layer config (such as ``name``), ignored.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.layers import ResNetBottleneckBlock
    >>> block = ResNetBottleneckBlock(64, 256, stride=2)
    >>> block.mid_channels
    64
    >>> block(torch.ones(1, 64, 8, 8)).shape
    torch.Size([1, 256, 4, 4])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 0.25,
        mid_channels: int | None = None,
        act_func: str = "relu",
        groups: int = 1,
        downsample_mode: str = "avgpool_conv",
        bn: dict | None = None,
        **_ignored,
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        mid = mid_channels if mid_channels is not None else round(out_channels * expand_ratio)
        mid = make_divisible(mid, 8)
        self.mid_channels = mid
        self.conv1 = nn.Sequential(
            OrderedDict(
                [
                    ("conv", nn.Conv2d(in_channels, mid, 1, 1, 0, bias=False)),
                    ("bn", _bn(mid, bn)),
                    ("act", build_activation(act_func)),
                ]
            )
        )
        self.conv2 = nn.Sequential(
            OrderedDict(
                [
                    (
                        "conv",
                        nn.Conv2d(
                            mid,
                            mid,
                            kernel_size,
                            stride,
                            kernel_size // 2,
                            groups=groups,
                            bias=False,
                        ),
                    ),
                    ("bn", _bn(mid, bn)),
                    ("act", build_activation(act_func)),
                ]
            )
        )
        self.conv3 = nn.Sequential(
            OrderedDict(
                [
                    ("conv", nn.Conv2d(mid, out_channels, 1, 1, 0, bias=False)),
                    ("bn", _bn(out_channels, bn)),
                ]
            )
        )
        if stride == 1 and in_channels == out_channels:
            self.downsample = IdentityLayer()
        elif downsample_mode == "conv":
            self.downsample = nn.Sequential(
                OrderedDict(
                    [
                        ("conv", nn.Conv2d(in_channels, out_channels, 1, stride, 0, bias=False)),
                        ("bn", _bn(out_channels, bn)),
                    ]
                )
            )
        elif downsample_mode == "avgpool_conv":
            self.downsample = nn.Sequential(
                OrderedDict(
                    [
                        ("avg_pool", nn.AvgPool2d(stride, stride, 0, ceil_mode=True)),
                        ("conv", nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False)),
                        ("bn", _bn(out_channels, bn)),
                    ]
                )
            )
        else:
            raise ValueError(
                f"downsample_mode = {downsample_mode!r} is not allowed; allowed values: "
                "['avgpool_conv', 'conv']"
            )
        self.final_act = build_activation(act_func)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.downsample(x)
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.final_act(x + residual)
