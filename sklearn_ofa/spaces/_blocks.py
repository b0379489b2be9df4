"""The unit of the block walk: one layer or block of a static subnet.

A :class:`Block` says everything needed to build the PyTorch module, count its
multiply-accumulates, and name it in a latency lookup table (OFA's key format).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Block", "make_divisible", "BLOCK_OPS"]

#: The kinds of block the walk produces.
BLOCK_OPS = (
    "conv",  # ConvLayer: conv (+BN) (+act)
    "mbconv",  # inverted residual: [1x1 expand] -> kxk depthwise [-> SE] -> 1x1 linear
    "residual_conv",  # ConvLayer wrapped with an identity shortcut (ResNet stem)
    "bottleneck",  # ResNet bottleneck: 1x1 -> kxk -> 1x1 (+ downsample) + act
    "avgpool",  # global average pooling
    "maxpool",  # 3x3 stride-2 max pooling (ResNet stem)
    "linear",  # flatten + linear classifier
    "avgpool_linear",  # global average pooling + flatten + linear (ProxylessNAS "Logits")
)


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor`` without losing more than 10%.

    This is the channel rounding used throughout OFA's networks.

    Parameters
    ----------
    v : float
        The width to round.
    divisor : int, default=8
        The result is a multiple of it.
    min_value : int, optional
        Smallest result (``divisor`` by default).

    Returns
    -------
    int
        The rounded width.

    Examples
    --------
    >>> make_divisible(16 * 1.2)
    24
    >>> make_divisible(112 * 1.2)
    136
    """
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return int(new_v)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(int(s)) for s in shape)


@dataclass(frozen=True)
class Block:
    """One layer or block of a static subnet, as the block walk lists it.

    Parameters
    ----------
    op : str
        One of :data:`BLOCK_OPS`.
    name : str
        The layer name in OFA's latency tables (``"Conv"``, ``"expanded_conv"``,
        ``"Conv_1"``, ``"AvgPool2D"``, ``"Conv_2"``, ``"Logits"``) or, for
        ResNet layers, a descriptive name (``"stem_conv"``, ``"bottleneck"``...).
    in_shape, out_shape : tuple of int
        ``(height, width, channels)``; the classifier's output is ``(classes,)``.
    kernel_size, stride : int
        Of the spatial convolution.
    mid_channels : int or None
        Hidden width of an MBConv or bottleneck block.
    expand_ratio : float or None
        The expand ratio the block was built from (as OFA records it).
    identity : bool
        Whether the block has an identity shortcut.
    se : bool
        Squeeze-and-excitation after the depthwise convolution.
    act : str or None
        ``"relu"``, ``"relu6"``, ``"h_swish"`` or None.
    use_bn : bool
        BatchNorm after the convolution (``conv`` blocks).
    bias : bool
        Convolution / linear bias.
    key_style : str
        ``"mbv3"`` (OFA ``MBv3LatencyTable``: expand = mid channels, with
        ``se``/``hs``), ``"proxyless"`` (``ProxylessNASLatencyTable``: expand =
        ratio) or ``"resnet"`` (this package's own keys).

    Examples
    --------
    >>> b = Block("conv", "Conv", (224, 224, 3), (112, 112, 24), kernel_size=3,
    ...           stride=2, act="h_swish")
    >>> b.key
    'Conv-input:224x224x3-output:112x112x24'
    """

    op: str
    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel_size: int = 1
    stride: int = 1
    mid_channels: int | None = None
    expand_ratio: float | None = None
    identity: bool = False
    se: bool = False
    act: str | None = None
    use_bn: bool = True
    bias: bool = False
    key_style: str = "mbv3"

    @property
    def in_channels(self) -> int:
        """Channels of the input (the last entry of ``in_shape``)."""
        return int(self.in_shape[-1])

    @property
    def out_channels(self) -> int:
        """Channels of the output (the last entry of ``out_shape``)."""
        return int(self.out_shape[-1])

    @property
    def key(self) -> str:
        """The lookup-table key of this block (OFA's YAML key format)."""
        parts = [self.name, "input:" + _shape(self.in_shape), "output:" + _shape(self.out_shape)]
        if self.op == "mbconv":
            if self.key_style == "proxyless":
                parts += [
                    "expand:%d" % round(self.expand_ratio),
                    "kernel:%d" % self.kernel_size,
                    "stride:%d" % self.stride,
                    "idskip:%d" % int(self.identity),
                ]
            else:
                parts += [
                    "expand:%d" % self.mid_channels,
                    "kernel:%d" % self.kernel_size,
                    "stride:%d" % self.stride,
                    "idskip:%d" % int(self.identity),
                    "se:%d" % int(self.se),
                    "hs:%d" % int(self.act == "h_swish"),
                ]
        elif self.op == "bottleneck":
            parts += [
                "mid:%d" % self.mid_channels,
                "kernel:%d" % self.kernel_size,
                "stride:%d" % self.stride,
                "idskip:%d" % int(self.identity),
            ]
        elif self.op in ("conv", "residual_conv") and self.key_style == "resnet":
            parts += ["kernel:%d" % self.kernel_size, "stride:%d" % self.stride]
        return "-".join(parts)

    def to_dict(self) -> dict:
        """A plain-dict copy (JSON-friendly).

        Returns
        -------
        dict
            Every field of the block.
        """
        return asdict(self)
