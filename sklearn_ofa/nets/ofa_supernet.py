"""Exact static subnets of OFA's released MobileNetV3 supernet checkpoints.

OFA's ``OFAMobileNetV3`` derives a subnet's weights from the supernet's as
follows (``get_active_subnet(preserve_weight=True)``), and so does
:meth:`OFASupernet.subnet`:

- the first conv, the first block and the head are copied as they are;
- a stage of depth ``d`` keeps its first ``d`` blocks;
- an expand ratio ``e`` keeps the first ``make_divisible(round(cin * e), 8)``
  middle channels (of the expansion conv, its BatchNorm, the depthwise conv, the
  squeeze-excite and the projection), and the squeeze-excite keeps the first
  ``make_divisible(mid // 4, 8)`` reduced channels;
- a kernel size ``k`` smaller than the largest is reached step by step
  (7 to 5, then 5 to 3): the centre of the current kernel, flattened per
  channel, is multiplied by the learnt ``<src>to<dst>_matrix`` of the step;
- BatchNorm weights, biases and running statistics are the first channels.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import ArchValueError
from ..spaces import MobileNetSpace, get_space
from .networks import build_subnet

__all__ = ["OFASupernet", "load_ofa_supernet"]


def _ofa_key(key: str) -> str:
    """OFA's dynamic-layer name of a static-net key (``conv.conv``, ``bn.bn``)."""
    for part in ("inverted_bottleneck", "depth_conv", "point_linear"):
        key = key.replace(f"{part}.conv.", f"{part}.conv.conv.").replace(
            f"{part}.bn.", f"{part}.bn.bn."
        )
    return key


def transform_kernel(weight: torch.Tensor, kernel_size: int, matrices: dict) -> torch.Tensor:
    """A depthwise kernel at ``kernel_size`` by OFA's kernel transformation.

    Parameters
    ----------
    weight : torch.Tensor
        ``(channels, 1, K, K)`` weights at the largest kernel size ``K``.
    kernel_size : int
        The target kernel size.
    matrices : dict
        ``{(src, dst): (dst*dst, dst*dst) tensor}`` for every step of the chain.

    Returns
    -------
    torch.Tensor
        ``(channels, 1, kernel_size, kernel_size)`` weights.

    Examples
    --------
    >>> import torch
    >>> w = torch.randn(4, 1, 5, 5)
    >>> eye = {(5, 3): torch.eye(9)}
    >>> torch.equal(transform_kernel(w, 3, eye), w[:, :, 1:4, 1:4])  # identity = centre crop
    True
    """
    steps = sorted({s for s, _ in matrices} | {d for _, d in matrices} | {weight.shape[-1]})
    out = weight
    for src, dst in zip(reversed(steps[1:]), reversed(steps[:-1])):
        if src <= kernel_size:
            break
        start = (src - dst) // 2
        centre = out[:, :, start : start + dst, start : start + dst]
        flat = centre.reshape(-1, dst * dst)
        out = F.linear(flat, matrices[(src, dst)]).reshape(centre.shape)
    if out.shape[-1] != kernel_size:
        raise ArchValueError(
            f"kernel size {kernel_size} is not reachable from {weight.shape[-1]}; "
            f"allowed values: {steps}"
        )
    return out


class OFASupernet:
    """The weights of an OFA MobileNetV3 supernet checkpoint, and its exact static subnets.

    Build it with :func:`load_ofa_supernet`. :meth:`subnet` returns the static
    network of an arch with exactly the weights OFA's
    ``set_active_subnet(...)`` + ``get_active_subnet(preserve_weight=True)``
    give (see the module notes). :class:`~sklearn_ofa.accuracy.SupernetEvaluator`
    evaluates its subnets with BatchNorm recalibration.

    Parameters
    ----------
    state_dict : dict of str to torch.Tensor
        OFA's key names (``blocks.1.conv.depth_conv.conv.conv.weight``,
        ``...bn.bn.running_mean``, ``...conv.7to5_matrix``).
    space : str or MobileNetSpace, default="ofa_mbv3_w1.2"
        The MobileNetV3 space of the supernet; every tensor's shape is checked
        against it.

    Attributes
    ----------
    space : MobileNetSpace
    state_dict : dict of str to torch.Tensor

    Examples
    --------
    >>> from sklearn_ofa.nets import OFASupernet, ElasticMobileNetV3
    >>> from sklearn_ofa.nets.ofa_supernet import ofa_state_dict
    >>> supernet = OFASupernet(ofa_state_dict(ElasticMobileNetV3("digits_mbv3")), "digits_mbv3")
    >>> arch = supernet.space.sample(1, random_state=0)[0]
    >>> type(supernet.subnet(arch)).__name__
    'MobileNetV3'
    """

    def __init__(self, state_dict: dict, space: Any = "ofa_mbv3_w1.2"):
        space = get_space(space)
        if not isinstance(space, MobileNetSpace) or space.family != "mbv3":
            raise ValueError(
                f"space = {space!r} is not allowed; OFASupernet needs a MobileNetV3 space "
                "(family='mbv3'), e.g. 'ofa_mbv3_w1.0' or 'ofa_mbv3_w1.2'"
            )
        self.space = space
        self.state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
        self._check_shapes()

    # ------------------------------------------------------------------ checks
    def _largest_net(self) -> nn.Module:
        sp = self.space
        return build_subnet(sp, sp.from_codes((sp.n_choices - 1)[None, :])[0])

    def _check_shapes(self) -> None:
        sd, name = self.state_dict, self.space.name
        for key, target in self._largest_net().state_dict().items():
            src = self._source_key(key, None)
            if src not in sd:
                raise ValueError(
                    f"checkpoint has no {src!r}; it is not an OFA MobileNetV3 supernet of "
                    f"space {name!r}"
                )
            if tuple(sd[src].shape) != tuple(target.shape):
                raise ValueError(
                    f"checkpoint {src!r} has shape {tuple(sd[src].shape)}; space {name!r} "
                    f"needs {tuple(target.shape)} (another width or space?)"
                )
        for slot in range(self.space.n_slots):
            for src, dst in self._kernel_steps():
                key = f"blocks.{slot + 1}.conv.depth_conv.conv.{src}to{dst}_matrix"
                if key not in sd:
                    raise ValueError(f"checkpoint has no kernel-transformation matrix {key!r}")

    def _kernel_steps(self) -> list[tuple[int, int]]:
        ks = sorted(self.space.ks_list)
        return list(zip(ks[1:], ks[:-1]))

    # ---------------------------------------------------------------- mapping
    def _block_index(self, arch: dict) -> list[int]:
        """Supernet block of every block of the static subnet (``blocks.0`` first)."""
        out, start = [0], 1
        for depth, n in zip(arch["d"], self.space.stage_max_depth):
            out += list(range(start, start + depth))
            start += n
        return out

    @staticmethod
    def _source_key(key: str, index: list[int] | None) -> str:
        if not key.startswith("blocks."):
            return key
        _, i, rest = key.split(".", 2)
        block = int(i) if index is None else index[int(i)]
        return f"blocks.{block}.{rest}" if block == 0 else f"blocks.{block}.{_ofa_key(rest)}"

    def subnet(self, arch: Any) -> nn.Module:
        """The static subnet of ``arch`` with OFA's weights (eval mode).

        Parameters
        ----------
        arch : dict
            An arch of :attr:`space` (validated; ``image_size`` is not used by
            the weights).

        Returns
        -------
        torch.nn.Module
            A :class:`~sklearn_ofa.nets.MobileNetV3` (OFA's module names) in
            eval mode, on the checkpoint's device and dtype.

        Raises
        ------
        ArchValueError, ArchTypeError
            ``arch`` is not an arch of the space.
        """
        arch = self.space.validate(arch)
        net = build_subnet(self.space, arch)
        index = self._block_index(arch)
        sd, new = self.state_dict, {}
        for key, target in net.state_dict().items():
            src = sd[self._source_key(key, index)]
            if src.ndim:
                src = src[tuple(slice(0, n) for n in target.shape[:2])]
            if key.endswith("depth_conv.conv.weight") and index[int(key.split(".")[1])] > 0:
                block = index[int(key.split(".")[1])]
                matrices = {
                    (s, d): sd[f"blocks.{block}.conv.depth_conv.conv.{s}to{d}_matrix"]
                    for s, d in self._kernel_steps()
                }
                src = transform_kernel(src, target.shape[-1], matrices)
            new[key] = src.detach().clone()
        net.load_state_dict(new)
        first = next(iter(sd.values()))
        return net.to(device=first.device, dtype=first.dtype).eval()

    __call__ = subnet

    def __repr__(self) -> str:
        return f"OFASupernet(space={self.space.name!r}, tensors={len(self.state_dict)})"


def ofa_state_dict(supernet: nn.Module) -> dict:
    """An :class:`~sklearn_ofa.nets.ElasticMobileNetV3`'s weights under OFA's key names.

    The kernel-transformation matrices are identities (the elastic net crops
    kernels), so :meth:`OFASupernet.subnet` reproduces its subnets.

    Parameters
    ----------
    supernet : ElasticMobileNetV3
        The weight-sharing network.

    Returns
    -------
    dict of str to torch.Tensor
        OFA's key names, as in OFA's released checkpoints.

    Examples
    --------
    >>> from sklearn_ofa.nets import ElasticMobileNetV3
    >>> sd = ofa_state_dict(ElasticMobileNetV3("digits_mbv3"))
    >>> sd["blocks.1.conv.depth_conv.conv.7to5_matrix"].shape
    torch.Size([25, 25])
    """
    out = {}
    ks = sorted(supernet.space.ks_list)
    for key, value in supernet.state_dict().items():
        out[OFASupernet._source_key(key, None)] = value.detach().clone()
    for slot in range(supernet.space.n_slots):
        for src, dst in zip(ks[1:], ks[:-1]):
            out[f"blocks.{slot + 1}.conv.depth_conv.conv.{src}to{dst}_matrix"] = torch.eye(
                dst * dst
            )
    return out


def load_ofa_supernet(
    path: str | os.PathLike, space: Any = "ofa_mbv3_w1.2", *, map_location: Any = "cpu"
) -> OFASupernet:
    """Load an OFA MobileNetV3 supernet checkpoint (e.g. ``ofa_mbv3_d234_e346_k357_w1.2``).

    The file is read with ``torch.load(..., weights_only=True)``: tensors only,
    never arbitrary pickled objects. Both ``{"state_dict": ...}`` (OFA's release
    format) and a bare state dict are accepted; a ``module.`` prefix (from
    ``DataParallel``) is stripped. Nothing is downloaded: pass the path of the
    checkpoint you have.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    space : str or MobileNetSpace, default="ofa_mbv3_w1.2"
        The space of the supernet: ``"ofa_mbv3_w1.2"`` or ``"ofa_mbv3_w1.0"`` for
        OFA's released MobileNetV3 supernets.
    map_location : str or torch.device, default="cpu"
        Passed to :func:`torch.load`.

    Returns
    -------
    OFASupernet
        Its :meth:`~OFASupernet.subnet` gives exact static subnets.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not an OFA MobileNetV3 supernet of ``space`` (the message
        names the first missing key or mismatching shape).

    Examples
    --------
    >>> import tempfile, torch
    >>> from sklearn_ofa.nets import ElasticMobileNetV3, load_ofa_supernet
    >>> from sklearn_ofa.nets.ofa_supernet import ofa_state_dict
    >>> path = tempfile.mkdtemp() + "/supernet.pth"
    >>> torch.save({"state_dict": ofa_state_dict(ElasticMobileNetV3("digits_mbv3"))}, path)
    >>> supernet = load_ofa_supernet(path, space="digits_mbv3")
    >>> arch = supernet.space.sample(1, random_state=0)[0]
    >>> supernet.subnet(arch)(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 10])
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no OFA supernet checkpoint at {path!r}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path!r} is not a readable torch checkpoint of tensors: {exc}") from exc
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path!r} holds no state dict of tensors")
    return OFASupernet(state, space)
