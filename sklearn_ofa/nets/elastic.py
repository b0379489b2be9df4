"""A weight-sharing (OFA-style) MobileNetV3 supernet over a :class:`MobileNetSpace`.

Elastic dimensions, as in OFA's ``OFAMobileNetV3``:

- kernel size: the active kernel is the **centre crop** of the largest kernel
  (OFA additionally learns small kernel-transformation matrices; this module
  uses the plain crop);
- expand ratio: the active middle channels are the **first** channels of the
  largest layer (no importance sorting);
- depth: a stage runs its first ``d`` blocks and skips the trailing ones;
- input resolution: the network is fully convolutional; the active image size
  is recorded so that :meth:`ElasticMobileNetV3.get_active_arch` returns a
  complete arch of the space.

Stage widths are fixed, so the first conv, the first block and the head are
ordinary static layers. Parameter names equal those of the static networks
built by :func:`sklearn_ofa.nets.build_net`, which makes the export of an active
subnet a matter of slicing tensors.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import ArchValueError
from ..spaces import MobileNetSpace, get_space, make_divisible
from .layers import IdentityLayer, MBConvLayer, ResidualBlock
from .networks import build_net

__all__ = ["ElasticMobileNetV3", "DynamicMBConvLayer"]


def _crop(weight: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Centre crop of the last two (spatial) dims of a conv weight."""
    start = (weight.shape[-1] - kernel_size) // 2
    return weight[..., start : start + kernel_size, start : start + kernel_size]


def _slice_bn(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm over the first ``x.shape[1]`` channels of ``bn`` (statistics updated in place)."""
    c = x.shape[1]
    if c == bn.num_features:
        return bn(x)
    factor = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:  # cumulative average, as nn.BatchNorm2d does
            factor = 1.0 / float(bn.num_batches_tracked)
    return F.batch_norm(
        x,
        bn.running_mean[:c],
        bn.running_var[:c],
        bn.weight[:c],
        bn.bias[:c],
        bn.training or not bn.track_running_stats,
        factor,
        bn.eps,
    )


class DynamicMBConvLayer(MBConvLayer):
    """An :class:`MBConvLayer` holding the largest kernel and expansion, run at an active subset.

    Parameters
    ----------
    in_channels, out_channels, stride, act_func, use_se, bn
        As for :class:`MBConvLayer`.
    ks_list, expand_ratio_list : sequence of int
        The elastic choices; the weights are allocated for the largest ones.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.elastic import DynamicMBConvLayer
    >>> layer = DynamicMBConvLayer(16, 16, ks_list=[3, 5], expand_ratio_list=[3, 6]).eval()
    >>> layer.active_kernel_size, layer.active_mid_channels
    (5, 96)
    >>> layer.active_kernel_size, layer.active_expand_ratio = 3, 3
    >>> layer(torch.ones(1, 16, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ks_list: Sequence[int],
        expand_ratio_list: Sequence[int],
        stride: int = 1,
        act_func: str = "relu6",
        use_se: bool = False,
        bn: dict | None = None,
    ):
        self.ks_list = tuple(sorted(ks_list))
        self.expand_ratio_list = tuple(sorted(expand_ratio_list))
        max_e = self.expand_ratio_list[-1]
        super().__init__(
            in_channels,
            out_channels,
            kernel_size=self.ks_list[-1],
            stride=stride,
            expand_ratio=max_e,
            mid_channels=self.mid_of(max_e, in_channels),
            act_func=act_func,
            use_se=use_se,
            bn=bn,
        )
        self.use_se = use_se
        self.active_kernel_size = self.ks_list[-1]
        self.active_expand_ratio = max_e

    @staticmethod
    def mid_of(expand_ratio: float, in_channels: int) -> int:
        """Middle channels of an expand ratio (the rounding of the search space).

        Parameters
        ----------
        expand_ratio : float
            Expansion of the block.
        in_channels : int
            Input channels of the block.

        Returns
        -------
        int
            ``make_divisible(round(in_channels * expand_ratio))``.
        """
        return make_divisible(round(in_channels * expand_ratio))

    @property
    def active_mid_channels(self) -> int:
        """Middle channels at the active expand ratio."""
        return self.mid_of(self.active_expand_ratio, self.in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mid, k = self.active_mid_channels, self.active_kernel_size
        ib = self.inverted_bottleneck
        x = ib.act(_slice_bn(ib.bn, F.conv2d(x, ib.conv.weight[:mid])))
        dc = self.depth_conv
        w = _crop(dc.conv.weight[:mid], k)
        x = dc.act(_slice_bn(dc.bn, F.conv2d(x, w, None, self.stride, k // 2, 1, mid)))
        if self.use_se:
            fc = dc.se.fc
            se_mid = make_divisible(mid // 4, 8)
            y = x.mean(dim=(2, 3), keepdim=True)
            y = F.relu(F.conv2d(y, fc.reduce.weight[:se_mid, :mid], fc.reduce.bias[:se_mid]))
            y = F.hardsigmoid(F.conv2d(y, fc.expand.weight[:mid, :se_mid], fc.expand.bias[:mid]))
            x = x * y
        pl = self.point_linear
        return _slice_bn(pl.bn, F.conv2d(x, pl.conv.weight[:, :mid]))


class ElasticMobileNetV3(nn.Module):
    """Weight-sharing MobileNetV3 supernet of a ``family="mbv3"`` :class:`MobileNetSpace`.

    Follows OFA's ``OFAMobileNetV3`` API: :meth:`set_active_subnet`,
    :meth:`sample_active_subnet`, :meth:`get_active_subnet` (a static module with
    the shared weights copied) and :meth:`get_active_net_config`.

    Parameters
    ----------
    space : str or MobileNetSpace
        A MobileNetV3 space (e.g. ``"digits_mbv3"``); its widths, strides,
        activations, SE flags and choices define the supernet.

    Attributes
    ----------
    space : MobileNetSpace
    runtime_depth : list of int
        Active depth of every elastic stage.
    active_image_size : int
        Input resolution of the active subnet (inputs are not resized here).

    Examples
    --------
    >>> import torch
    >>> net = ElasticMobileNetV3("digits_mbv3").eval()
    >>> arch = net.sample_active_subnet(random_state=0)
    >>> x = torch.randn(2, 3, arch["image_size"], arch["image_size"])
    >>> sub = net.get_active_subnet()
    >>> torch.allclose(net(x), sub(x), atol=1e-5)
    True
    """

    def __init__(self, space: Any = "digits_mbv3"):
        super().__init__()
        space = get_space(space)
        if not isinstance(space, MobileNetSpace) or space.family != "mbv3":
            raise ValueError(
                f"space = {space!r} is not allowed; ElasticMobileNetV3 needs a MobileNetSpace "
                "with family='mbv3'"
            )
        self.space = space
        largest = space.from_codes((space.n_choices - 1)[None, :])[0]
        static = build_net(space.net_config(largest)).train()
        bn = static.config.get("bn")
        self.first_conv = static.first_conv
        blocks: list[nn.Module] = [static.blocks[0]]
        for info in space.slot_info:
            conv = DynamicMBConvLayer(
                info["cin"],
                info["cout"],
                space.ks_list,
                space.expand_ratio_list,
                stride=info["stride"],
                act_func=info["act"],
                use_se=info["se"],
                bn=bn,
            )
            identity = info["stride"] == 1 and info["cin"] == info["cout"]
            blocks.append(ResidualBlock(conv, IdentityLayer() if identity else None))
        self.blocks = nn.ModuleList(blocks)
        self.final_expand_layer = static.final_expand_layer
        self.global_avg_pool = static.global_avg_pool
        self.feature_mix_layer = static.feature_mix_layer
        self.classifier = static.classifier
        starts = np.concatenate([[0], np.cumsum(space.stage_max_depth)[:-1]])
        self._stage_slots = [
            list(range(int(s), int(s) + int(n))) for s, n in zip(starts, space.stage_max_depth)
        ]
        self.set_max_net()
        # channels-last weights make the (sliced) depthwise convolutions several times faster on CPU
        self.to(memory_format=torch.channels_last)

    # --------------------------------------------------------------- active subnet
    @property
    def _dynamic(self) -> list[DynamicMBConvLayer]:
        return [b.conv for b in self.blocks[1:]]

    def _per(self, value: Any, n: int, field: str, choices: Sequence) -> list | None:
        if value is None:
            return None
        values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * n
        if len(values) != n:
            raise ArchValueError(f"{field} must be one value or a list of {n}, got {len(values)}")
        for i, v in enumerate(values):
            if v not in choices:
                raise ArchValueError(
                    f"{field}[{i}] = {v!r} is not allowed; allowed values: {list(choices)}"
                )
        return [int(v) for v in values]

    def set_active_subnet(
        self, ks: Any = None, e: Any = None, d: Any = None, image_size: int | None = None, **_: Any
    ) -> None:
        """Activate a subnet; each argument is one value for all or a list (``None``: unchanged).

        ``ks`` and ``e`` have one entry per block slot, ``d`` one per stage.

        Parameters
        ----------
        ks : int or list of int, optional
            Kernel size of every block slot.
        e : int or list of int, optional
            Expand ratio of every block slot.
        d : int or list of int, optional
            Depth of every stage.
        image_size : int, optional
            Input resolution (recorded; inputs are not resized).
        **_ : dict
            Other keyword arguments, ignored (as in OFA).

        Examples
        --------
        >>> net = ElasticMobileNetV3("digits_mbv3")
        >>> net.set_active_subnet(ks=3, e=3, d=2, image_size=16)
        >>> net.get_active_arch()["d"]
        [2, 2, 2, 2, 2]
        """
        sp = self.space
        ks = self._per(ks, sp.n_slots, "ks", sp.ks_list)
        e = self._per(e, sp.n_slots, "e", sp.expand_ratio_list)
        d = self._per(d, len(self._stage_slots), "d", sp.depth_list)
        if image_size is not None and image_size not in sp.image_sizes:
            raise ArchValueError(
                f"image_size = {image_size!r} is not allowed; allowed values: {list(sp.image_sizes)}"
            )
        for i, layer in enumerate(self._dynamic):
            if ks is not None:
                layer.active_kernel_size = ks[i]
            if e is not None:
                layer.active_expand_ratio = e[i]
        if d is not None:
            self.runtime_depth = d
        if image_size is not None:
            self.active_image_size = int(image_size)

    def set_arch(self, arch: dict) -> None:
        """Activate the subnet of an arch dict of the space (validated).

        Parameters
        ----------
        arch : dict
            An arch of ``self.space``.
        """
        self.set_active_subnet(**self.space.validate(arch))

    def set_max_net(self) -> None:
        """Activate the largest subnet (largest kernel, expansion, depth and resolution)."""
        sp = self.space
        self.set_active_subnet(
            sp.ks_list[-1], sp.expand_ratio_list[-1], sp.depth_list[-1], sp.image_sizes[-1]
        )

    def set_min_net(self) -> None:
        """Activate the smallest subnet."""
        sp = self.space
        self.set_active_subnet(
            sp.ks_list[0], sp.expand_ratio_list[0], sp.depth_list[0], sp.image_sizes[0]
        )

    def sample_active_subnet(self, random_state: Any = None) -> dict:
        """Sample an arch uniformly per gene (as OFA does), activate it and return it.

        Parameters
        ----------
        random_state : int, numpy.random.Generator or None, default=None
            Seed of the draw.

        Returns
        -------
        dict
            The arch now active.
        """
        arch = self.space.sample(1, random_state=random_state)[0]
        self.set_active_subnet(**arch)
        return arch

    def get_active_arch(self) -> dict:
        """The active subnet as an arch dict of the space.

        Returns
        -------
        dict
            ``{"ks", "e", "d", "image_size"}`` of the active subnet.
        """
        return {
            "ks": [m.active_kernel_size for m in self._dynamic],
            "e": [m.active_expand_ratio for m in self._dynamic],
            "d": list(self.runtime_depth),
            "image_size": self.active_image_size,
        }

    def get_active_net_config(self) -> dict:
        """OFA ``net.config`` of the active subnet.

        Returns
        -------
        dict
            As ``space.net_config(self.get_active_arch())``.
        """
        return self.space.net_config(self.get_active_arch())

    def _active_block_indices(self) -> list[int]:
        out = [0]
        for slots, depth in zip(self._stage_slots, self.runtime_depth):
            out += [s + 1 for s in slots[:depth]]
        return out

    def get_active_subnet(self, preserve_weight: bool = True) -> nn.Module:
        """A static network (:func:`build_net`) of the active subnet, with its weights copied.

        Kernels are centre-cropped, channels sliced, BatchNorm statistics copied;
        in eval mode its outputs equal the supernet's in the active configuration.
        The module is in the supernet's train/eval mode.

        Parameters
        ----------
        preserve_weight : bool, default=True
            Copy the shared weights; with False the network keeps its fresh
            initialisation.

        Returns
        -------
        torch.nn.Module
            The static subnet.
        """
        net = build_net(self.get_active_net_config())
        if preserve_weight:
            mine = self.state_dict()
            index = self._active_block_indices()
            new = {}
            for key, target in net.state_dict().items():
                src_key = key
                if key.startswith("blocks."):
                    _, i, rest = key.split(".", 2)
                    src_key = f"blocks.{index[int(i)]}.{rest}"
                src = mine[src_key]
                if src.ndim:
                    src = src[tuple(slice(0, n) for n in target.shape[:2])]
                    if src.ndim == 4:
                        src = _crop(src, target.shape[-1])
                new[key] = src.clone()
            net.load_state_dict(new)
        return net.train(self.training)

    # --------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(x)
        for i in self._active_block_indices():
            x = self.blocks[i](x)
        x = self.final_expand_layer(x)
        x = self.global_avg_pool(x)
        x = self.feature_mix_layer(x)
        return self.classifier(x)
