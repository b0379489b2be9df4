"""Counting multiply-accumulates, FLOPs and parameters of any PyTorch module.

Two conventions:

- ``"full"``: every operator of the forward pass, functional calls included,
  is counted by intercepting the aten operators (a ``TorchDispatchMode``).
  ``macs`` are the multiply-accumulates of convolutions and matrix products;
  ``flops`` counts each MAC as two FLOPs and adds the elementwise work
  (normalisation, activations, pooling, residual additions, SE scaling).
  Where the numbers come from: convolutions and matrix products use the
  formulas of :class:`torch.utils.flop_counter.FlopCounterMode` (its
  ``flop_registry``; ``aten.mv``/``aten.dot``, which it lacks, are added here);
  the elementwise costs and the per-module attribution are this module's own.
  The formulas are applied in this module's one dispatch mode rather than by
  stacking ``FlopCounterMode`` itself: that gave the same integers on every
  test but made ``count_flops`` about 1.5x slower (its module tracker and a
  second dispatch of every operator; ~95 ms against ~60 ms for an OFA
  MobileNetV3 w1.2 subnet at 224 on one CPU thread).
- ``"ofa"``: OFA's ``count_net_flops`` convention: only ``Conv1d/2d/3d`` and
  ``Linear`` modules, a convolution as ``cin * output elements * kernel /
  groups`` and a linear layer as ``in_features * out_features``; ``flops`` is
  ``2 * macs``.

Counting never changes the model: it uses process-wide module hooks and a
dispatch mode that are removed afterwards, runs under
:func:`torch.inference_mode` in eval mode and restores every module's
train/eval flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import conv_flop_count, flop_registry, shape_wrapper

from .._checks import check_bool
from .latency import check_module

__all__ = ["count_flops", "count_parameters", "FlopsResult", "ModuleCount", "CONVENTIONS"]

CONVENTIONS = ("full", "ofa")

# FLOPs per output element of elementwise operators that are not one operation each
_ELEMENTWISE_COST = {
    "hardsigmoid": 3,  # add 3, clamp, divide by 6
    "hardswish": 4,  # hardsigmoid, then multiply
    "sigmoid": 4,  # negate, exp, add 1, reciprocal
    "silu": 5,
    "tanh": 5,
    "gelu": 8,
    "elu": 3,
    "softplus": 3,
    "mish": 9,
    "softmax": 5,
    "_softmax": 5,
    "log_softmax": 5,
    "_log_softmax": 5,
}
# elementwise operators without aten's "pointwise" tag, one FLOP per output element
_ONE_PER_ELEMENT = {
    "add",
    "sub",
    "mul",
    "div",
    "rsub",
    "relu",
    "relu6",
    "hardtanh",
    "clamp",
    "clamp_min",
    "clamp_max",
    "leaky_relu",
    "threshold",
    "neg",
    "abs",
    "sqrt",
    "rsqrt",
    "exp",
    "log",
    "pow",
    "addcmul",
    "addcdiv",
    "where",
    "maximum",
    "minimum",
    "prelu",
    "_prelu_kernel",
}
# operators that move or reinterpret data, or create it: zero FLOPs, not reported as uncounted
_FREE = {
    "view",
    "_unsafe_view",
    "reshape",
    "t",
    "transpose",
    "permute",
    "expand",
    "squeeze",
    "unsqueeze",
    "flatten",
    "contiguous",
    "clone",
    "copy",
    "detach",
    "alias",
    "cat",
    "stack",
    "split",
    "split_with_sizes",
    "chunk",
    "slice",
    "select",
    "narrow",
    "index",
    "_to_copy",
    "to",
    "empty",
    "empty_like",
    "zeros",
    "zeros_like",
    "ones",
    "ones_like",
    "full",
    "full_like",
    "fill",
    "zero",
    "new_zeros",
    "new_empty",
    "new_ones",
    "arange",
    "randn",
    "rand",
    "randn_like",
    "lift_fresh",
    "pad",
    "constant_pad_nd",
    "reflection_pad2d",
    "replication_pad2d",
    "unbind",
    "as_strided",
    "dropout",
    "native_dropout",
    "feature_dropout",
    "size",
    "sym_size",
    "stride",
    "unfold",
    "roll",
    "flip",
    "repeat",
    "gather",
    "scatter",
    "masked_fill",
    "lift_fresh_copy",
    "channel_shuffle",
    "pixel_shuffle",
    "upsample_nearest2d",
    "_reshape_alias",
    "expand_as",
    "view_as",
    "reshape_as",
    "type_as",
    "item",
    "_local_scalar_dense",
    "max_pool2d_with_indices_backward",
    "identity",
}


_MATMUL_OPS = {
    "convolution",
    "_convolution",
    "convolution_overrideable",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "mm",
    "addmm",
    "bmm",
    "baddbmm",
    "linear",
    "matmul",
}
_BATCH_NORM = {
    "batch_norm",
    "native_batch_norm",
    "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training",
    "cudnn_batch_norm",
    "miopen_batch_norm",
    "_batch_norm_impl_index",
    "instance_norm",
}
_OTHER_NORM = {"layer_norm", "native_layer_norm", "group_norm", "native_group_norm"}
_WINDOW_POOL = {
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
}
_MEAN_POOL = {
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "_adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "_adaptive_avg_pool3d",
    "mean",
}
_REDUCE = {
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "sum",
    "amax",
    "amin",
    "max",
    "min",
    "norm",
    "linalg_vector_norm",
    "var",
    "std",
}
# operators counted where they are met (not broken into parts first)
_DIRECT = (
    _MATMUL_OPS
    | _BATCH_NORM
    | _OTHER_NORM
    | _WINDOW_POOL
    | _MEAN_POOL
    | _REDUCE
    | set(_ELEMENTWISE_COST)
    | _ONE_PER_ELEMENT
    | _FREE
)


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(int(s) for s in shape))


def _vector_product_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """``aten.mv`` / ``aten.dot`` (no formula in torch's ``flop_registry``): 2 * matrix size."""
    return 2 * _numel(a_shape)


# FLOPs of convolutions and matrix products: the formulas FlopCounterMode applies
# (torch.utils.flop_counter.flop_registry), plus the matrix-vector products of torch.matmul
_MAC_FORMULAS = {
    **{op: f for op, f in flop_registry.items() if isinstance(op, torch._ops.OpOverloadPacket)},
    torch.ops.aten.mv: shape_wrapper(_vector_product_flops),
    torch.ops.aten.dot: shape_wrapper(_vector_product_flops),
}


def _conv_as_convolution(transposed: bool):
    # the formula behind FlopCounterMode's aten.convolution entry, on shapes directly
    return lambda args, out: conv_flop_count(args[0].shape, args[1].shape, out.shape, transposed)


def _linear_as_mm(args, out):
    x, w = args[0], args[1]  # weight is (out_features, in_features)
    rows = x.numel() // int(x.shape[-1]) if x.dim() else 1
    return _MAC_FORMULAS[torch.ops.aten.mm](
        (rows, int(w.shape[1])), (int(w.shape[1]), int(w.shape[0]))
    )


# composite operators that reach the counter whole (their decomposition would cost a
# second dispatch): argument adapters onto the formula of the aten operator they run
_COMPOSITE_MACS = {
    **{f"conv{d}d": _conv_as_convolution(False) for d in (1, 2, 3)},
    **{f"conv_transpose{d}d": _conv_as_convolution(True) for d in (1, 2, 3)},
    "linear": _linear_as_mm,
}


def _elementwise_flops(name: str, func: Any, args: tuple, kwargs: dict, out: Any) -> int | None:
    """FLOPs of a non-matmul operator, None when the operator is not known."""
    first = args[0] if args and isinstance(args[0], torch.Tensor) else None
    out_t = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(out_t, torch.Tensor):
        return 0 if name in _FREE else None
    n_out = out_t.numel()
    if name in _BATCH_NORM:
        return 2 * (first.numel() if first is not None else n_out)  # scale and shift
    if name in _OTHER_NORM:
        return 5 * (first.numel() if first is not None else n_out)  # mean, var, normalise, affine
    if name in _WINDOW_POOL:
        kernel = args[1] if len(args) > 1 else kwargs.get("kernel_size")
        kernel = [kernel] if isinstance(kernel, int) else list(kernel)
        dims = {"1d": 1, "2d": 2, "3d": 3}[name.split("_pool")[1][:2]]
        if len(kernel) == 1:
            kernel = kernel * dims
        return n_out * _numel(kernel)
    if name in _MEAN_POOL:
        return (first.numel() if first is not None else n_out) + n_out  # sums, then divides
    if name in _REDUCE:
        return first.numel() if first is not None else n_out
    if name in _ELEMENTWISE_COST:
        return _ELEMENTWISE_COST[name] * n_out
    if name in _ONE_PER_ELEMENT or torch.Tag.pointwise in func.tags:
        return n_out
    if name in _FREE:
        return 0
    return None


def _op_name(func: Any) -> str:
    name = func.overloadpacket.__name__
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name


@dataclass
class ModuleCount:
    """Counts of one module of a :class:`FlopsResult` (children included, per sample).

    Parameters
    ----------
    name : str
        Qualified module name (``""`` for the root).
    type : str
        Class name of the module.
    depth : int
        Nesting depth (0 for the root).
    params : int
        Parameters of the module and its children.
    macs, flops : float, default=0
        Multiply-accumulates and floating-point operations per sample.
    calls : int, default=0
        Forward calls during the counted pass.

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_ofa.efficiency import count_flops
    >>> res = count_flops(nn.Sequential(nn.Conv2d(3, 8, 3)), (3, 8, 8))
    >>> mc = res.by_module["0"]
    >>> mc.type, mc.params, mc.macs
    ('Conv2d', 224, 7776)
    """

    name: str
    type: str
    depth: int
    params: int
    macs: float = 0
    flops: float = 0
    calls: int = 0


@dataclass
class FlopsResult:
    """MACs and FLOPs of one forward pass, per sample unless ``batch_size`` says otherwise.

    Returned by :func:`count_flops`.

    Parameters
    ----------
    macs : int or float
        Multiply-accumulates per sample (an int whenever the batch divides it).
    flops : int or float
        Floating-point operations per sample (a MAC is two FLOPs).
    convention : {"full", "ofa"}
        The counting convention.
    batch_size : int
        Batch the forward pass ran with; totals were divided by it.
    input_shape : tuple of int
        Shape of one sample.
    by_module : dict of str to ModuleCount
        Per-module counts (each module includes its children), in module order.
    by_operator : dict of str to tuple
        ``(macs, flops)`` per aten operator (``"full"``) or module type (``"ofa"``).
    uncounted_ops : dict of str to int
        Operators that ran but have no cost rule (counted as zero), with call counts.
    macs_float32 : float or None
        ``"ofa"`` only: the total as OFA's ``count_net_flops`` returns it, each layer
        stored in a float32 tensor and the layers summed in float32 in module order.
        Above 2**24 it can differ from the exact ``macs`` by float32 rounding.

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_ofa.efficiency import count_flops
    >>> res = count_flops(nn.Linear(10, 5), (10,))
    >>> res.macs, res.flops
    (50, 100)
    >>> res.to_dict()["by_module"][0]["type"]
    'Linear'
    """

    macs: float
    flops: float
    convention: str
    batch_size: int
    input_shape: tuple
    by_module: dict = field(default_factory=dict)
    by_operator: dict = field(default_factory=dict)
    uncounted_ops: dict = field(default_factory=dict)
    macs_float32: float | None = None

    @property
    def gmacs(self) -> float:
        """MACs per sample in billions."""
        return self.macs / 1e9

    @property
    def mmacs(self) -> float:
        """MACs per sample in millions (OFA's "M FLOPs")."""
        return self.macs / 1e6

    @property
    def gflops(self) -> float:
        """FLOPs per sample in billions."""
        return self.flops / 1e9

    def table(self, max_depth: int = 3) -> str:
        """A per-module table (module, type, parameters, MACs, FLOPs), children indented.

        Parameters
        ----------
        max_depth : int, default=3
            Deepest module level shown.

        Returns
        -------
        str
            A Markdown table, one row per module.
        """
        rows = [("module", "type", "#params", "MACs", "FLOPs")]
        for mc in self.by_module.values():
            if mc.depth > max_depth:
                continue
            label = "  " * mc.depth + (mc.name.rsplit(".", 1)[-1] if mc.name else "model")
            rows.append((label, mc.type, _human(mc.params), _human(mc.macs), _human(mc.flops)))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = []
        for j, r in enumerate(rows):
            cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
            cells += [r[i].rjust(widths[i]) for i in range(2, 5)]
            lines.append("| " + " | ".join(cells) + " |")
            if j == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Totals, settings and per-module rows (JSON-friendly).

        Returns
        -------
        dict
            The fields, ``by_module`` as a list of row dicts.
        """
        return {
            "macs": self.macs,
            "flops": self.flops,
            "convention": self.convention,
            "batch_size": self.batch_size,
            "input_shape": list(self.input_shape),
            "macs_float32": self.macs_float32,
            "by_module": [vars(m).copy() for m in self.by_module.values()],
            "by_operator": {k: list(v) for k, v in self.by_operator.items()},
            "uncounted_ops": dict(self.uncounted_ops),
        }

    def __str__(self) -> str:
        head = (
            f"{_human(self.macs)} MACs, {_human(self.flops)} FLOPs per sample "
            f"(convention={self.convention!r}, input {tuple(self.input_shape)}, "
            f"batch_size={self.batch_size})"
        )
        if self.uncounted_ops:
            head += f"\nuncounted operators (zero cost): {sorted(self.uncounted_ops)}"
        return head + "\n" + self.table()


def _human(n: float) -> str:
    n = float(n)
    for div, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.3f}{suf}"
    return f"{n:g}"


class _Counter(TorchDispatchMode):
    """Counts aten operators, attributing each to the innermost module running it.

    Convolutions and matrix products are costed by the formulas of
    :class:`~torch.utils.flop_counter.FlopCounterMode` (:data:`_MAC_FORMULAS`;
    MACs are half their FLOPs), every other operator by this module's rules.
    """

    def __init__(self, stack: list[int]):
        super().__init__()
        self.stack = stack
        self.label: str | None = None  # the matmul-family operator being decomposed
        self.macs: dict[int, float] = {}
        self.flops: dict[int, float] = {}
        self.by_op: dict[str, list] = {}
        self.uncounted: dict[str, int] = {}

    def _add(self, name: str, macs: int, flops: int) -> None:
        key = self.stack[-1] if self.stack else None
        self.macs[key] = self.macs.get(key, 0) + macs
        self.flops[key] = self.flops.get(key, 0) + flops
        acc = self.by_op.setdefault(name, [0, 0])
        acc[0] += macs
        acc[1] += flops

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        formula = _MAC_FORMULAS.get(func._overloadpacket)
        if formula is not None:
            out = func(*args, **kwargs)
            flops = int(formula(*args, **kwargs, out_val=out))
            self._add(self.label or _op_name(func), flops // 2, flops)
            return out
        name = _op_name(func)
        if name in _COMPOSITE_MACS:  # conv2d, linear, ...: counted as the aten op they run
            out = func(*args, **kwargs)
            flops = int(_COMPOSITE_MACS[name](args, out))
            self._add(name, flops // 2, flops)
            return out
        if name in _MATMUL_OPS and self.label is None:
            # matmul and the like: counted on the operators they break into, under their name
            self.label = name
            try:
                with self:
                    decomposed = func.decompose(*args, **kwargs)
            finally:
                self.label = None
            if decomposed is not NotImplemented:
                return decomposed
        elif name not in _DIRECT and torch.Tag.pointwise not in func.tags:
            # composite operators break into the aten operators that implement them
            decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        out = func(*args, **kwargs)
        flops = None if name in _MATMUL_OPS else _elementwise_flops(name, func, args, kwargs, out)
        if flops is None:
            self.uncounted[name] = self.uncounted.get(name, 0) + 1
        elif flops:
            self._add(name, 0, flops)
        return out


def check_convention(convention: Any) -> None:
    """Raise ``ValueError`` unless ``convention`` is one of :data:`CONVENTIONS`."""
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise ValueError(
            f"convention = {convention!r} is not allowed; allowed values: {list(CONVENTIONS)}"
        )


def _has_3d_layers(model: nn.Module) -> bool:
    return any(type(m).__name__.endswith("3d") for m in model.modules())


def sample_shape(model: nn.Module, input_shape: Sequence[int]) -> tuple:
    """The per-sample shape of ``input_shape``, accepting OFA's ``(1, C, H, W)`` form.

    A 4-element shape is OFA's / thop's / fvcore's batched form and loses its
    leading batch of 1, unless ``model`` has 3-d layers (``Conv3d``, ...), for which
    4 elements are one sample ``(C, D, H, W)``. Any other shape is returned as is.

    Parameters
    ----------
    model : torch.nn.Module
        The network the shape is for.
    input_shape : sequence of int
        A checked shape of ints >= 1.

    Returns
    -------
    tuple of int
        Shape of one sample.

    Raises
    ------
    ValueError
        A 4-element shape with a batch other than 1 (use ``batch_size`` instead).

    Examples
    --------
    >>> from torch import nn
    >>> sample_shape(nn.Conv2d(3, 8, 3), (1, 3, 224, 224))
    (3, 224, 224)
    >>> sample_shape(nn.Conv3d(1, 8, 3), (1, 3, 16, 16))
    (1, 3, 16, 16)
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 4 or _has_3d_layers(model):
        return shape
    if shape[0] != 1:
        raise ValueError(
            f"input_shape = {tuple(input_shape)!r} is not allowed: a 4-element shape is "
            f"(1, C, H, W), batch 1; allowed values: batch 1, or the per-sample shape "
            f"{shape[1:]} with batch_size={shape[0]}"
        )
    return shape[1:]


def _make_inputs(model: nn.Module, input_shape: Any, batch_size: int) -> tuple[tuple, int, tuple]:
    if isinstance(input_shape, torch.Tensor):
        if input_shape.dim() == 0 or input_shape.shape[0] == 0:
            raise ValueError(
                f"input_shape: an input tensor needs a batch dimension of size >= 1, got shape "
                f"{tuple(input_shape.shape)}"
            )
        return (input_shape,), int(input_shape.shape[0]), tuple(input_shape.shape[1:])
    if (
        isinstance(input_shape, (tuple, list))
        and input_shape
        and all(isinstance(t, torch.Tensor) for t in input_shape)
    ):
        if input_shape[0].dim() == 0:
            raise ValueError(
                "input_shape: the first input tensor must have a batch dimension, got a scalar"
            )
        b = int(input_shape[0].shape[0])
        return tuple(input_shape), b, tuple(input_shape[0].shape[1:])
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (3, int(input_shape), int(input_shape))
    if (
        not isinstance(input_shape, (tuple, list))
        or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
            for s in input_shape
        )
        or not input_shape
    ):
        raise ValueError(
            f"input_shape = {input_shape!r} is not allowed; allowed values: a per-sample shape "
            "such as (3, 224, 224), an int r meaning (3, r, r), or an input tensor"
        )
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size = {batch_size!r} is not allowed; allowed values: an int >= 1")
    input_shape = sample_shape(model, input_shape)
    first = next(iter(model.parameters()), None)
    if first is None:
        first = next(iter(model.buffers()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    shape = (int(batch_size),) + tuple(int(s) for s in input_shape)
    return (torch.zeros(shape, device=device, dtype=dtype),), int(batch_size), shape[1:]


def _per_sample(total: float, batch: int) -> float:
    if batch == 1:
        return total
    if isinstance(total, (int, np.integer)) and total % batch == 0:
        return int(total // batch)
    return total / batch


def _ofa_layer_macs(module: nn.Module, out: Any, batch: int) -> int | None:
    """Per-sample MACs of a layer as OFA's ``count_net_flops`` counts it (None: not counted)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        k = _numel(module.weight.shape[2:])
        return module.in_channels * (out.numel() // batch) * k // module.groups
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return None


def count_flops(
    model: nn.Module,
    input_shape: Sequence[int] | int | torch.Tensor = (3, 224, 224),
    *,
    convention: str = "full",
    batch_size: int = 1,
    per_sample: bool = True,
) -> FlopsResult:
    """Count the multiply-accumulates (MACs) and FLOPs of one forward pass of ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Any module; it is neither changed nor left with hooks or buffers.
    input_shape : tuple of int, int, Tensor or tuple of Tensor
        Shape of one sample, e.g. ``(3, 224, 224)`` (an int ``r`` means
        ``(3, r, r)``), or OFA's / thop's ``(1, 3, 224, 224)`` with a batch of 1
        (see :func:`sample_shape`; ``batch_size`` sets the batch); or ready input
        tensor(s), whose first dimension is the batch.
    convention : {"full", "ofa"}, default="full"
        ``"full"`` counts every aten operator of the forward pass (functional
        calls included); ``"ofa"`` reproduces OFA's ``count_net_flops``:
        ``Conv1d/2d/3d`` and ``Linear`` modules only, a linear layer as
        ``in_features * out_features``.
    batch_size : int, default=1
        Batch of the zero input made from ``input_shape``.
    per_sample : bool, default=True
        Divide the totals by the batch size.

    Returns
    -------
    FlopsResult
        ``macs`` and ``flops`` (``flops`` counts a MAC as two FLOPs), a
        per-module breakdown (``print(result.table())``) and per-operator totals.

    Raises
    ------
    TypeError
        ``model`` is not a module, or ``per_sample`` not a bool.
    ValueError
        An unknown ``convention``, an ``input_shape`` that is not a shape (or
        tensors), a ``batch_size`` that is not an int >= 1 (bools and floats
        refused); each message names the argument, its value and what is allowed.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
    ...                     nn.Linear(8 * 16 * 16, 10))
    >>> res = count_flops(net, (3, 16, 16))
    >>> res.macs  # 8*16*16 conv outputs of 3*3*3 MACs, then 2048*10 for the linear layer
    75776
    >>> res.flops  # 2 * MACs, plus one FLOP per ReLU output
    153600
    >>> count_flops(net, (3, 16, 16), convention="ofa").macs
    75776
    >>> count_flops(net, (1, 3, 16, 16)).macs  # OFA's batched form, batch 1
    75776
    """
    check_module(model)
    check_convention(convention)
    check_bool("per_sample", per_sample)
    inputs, batch, sample_shape = _make_inputs(model, input_shape, batch_size)
    names: dict[int, str] = {}
    modules: dict[int, nn.Module] = {}
    for name, m in model.named_modules():
        names[id(m)] = name
        modules[id(m)] = m
    stack: list[int] = []
    calls: dict[int, int] = {}
    ofa_layers: dict[int, int] = {}

    def pre_hook(module, args):
        key = id(module)
        if key in names:
            stack.append(key)
            calls[key] = calls.get(key, 0) + 1

    def post_hook(module, args, out):
        key = id(module)
        if key in names:
            if stack and stack[-1] == key:
                stack.pop()
            if convention == "ofa":
                macs = _ofa_layer_macs(module, out, batch)
                if macs is not None:
                    ofa_layers[key] = macs  # OFA stores, not adds: the last call counts

    training = {id(m): m.training for m in model.modules()}
    counter = _Counter(stack) if convention == "full" else None
    pre = torch.nn.modules.module.register_module_forward_pre_hook(pre_hook)
    post = torch.nn.modules.module.register_module_forward_hook(post_hook)
    try:
        model.eval()
        with torch.inference_mode():
            if counter is not None:
                with counter:
                    model(*inputs)
            else:
                model(*inputs)
    finally:
        pre.remove()
        post.remove()
        for m in model.modules():
            m.training = training[id(m)]

    div = batch if per_sample else 1
    macs_f32 = None
    if counter is not None:
        own_macs, own_flops = counter.macs, counter.flops
        by_op = {
            k: (_per_sample(v[0], div), _per_sample(v[1], div))
            for k, v in sorted(counter.by_op.items())
        }
        uncounted = dict(sorted(counter.uncounted.items()))
        total_macs = _per_sample(sum(v[0] for v in counter.by_op.values()), div)
        total_flops = _per_sample(sum(v[1] for v in counter.by_op.values()), div)
    else:
        # per sample already; OFA counts a linear layer once whatever the batch
        if not per_sample:
            ofa_layers = {
                k: v if isinstance(modules[k], nn.Linear) else v * batch
                for k, v in ofa_layers.items()
            }
        own_macs = dict(ofa_layers)
        own_flops = {k: 2 * v for k, v in ofa_layers.items()}
        by_type: dict[str, int] = {}
        for key, macs in ofa_layers.items():
            t = type(modules[key]).__name__
            by_type[t] = by_type.get(t, 0) + macs
        by_op = {k: (v, 2 * v) for k, v in sorted(by_type.items())}
        uncounted = {}
        total_macs = sum(ofa_layers.values())
        total_flops = 2 * total_macs
        # as count_net_flops: one float32 buffer per leaf layer, summed in float32, module order
        acc = np.float32(0)
        for m in model.modules():
            if id(m) in ofa_layers and not list(m.children()):
                acc = np.float32(acc + np.float32(ofa_layers[id(m)]))
        macs_f32 = float(acc)

    # inclusive counts by name: a module holds its own counts and those of its descendants
    ids = {name: key for key, name in names.items()}
    inc = {key: [0, 0] for key in names}
    for key, name in names.items():
        parts = name.split(".") if name else []
        for i in range(len(parts) + 1):
            row = inc[ids[".".join(parts[:i])]]
            row[0] += own_macs.get(key, 0)
            row[1] += own_flops.get(key, 0)
    params = _inclusive_params(model)
    by_module = {}
    for name, m in model.named_modules():
        key = id(m)
        macs, flops = inc[key]
        if counter is not None:
            macs, flops = _per_sample(macs, div), _per_sample(flops, div)
        by_module[name] = ModuleCount(
            name=name,
            type=type(m).__name__,
            depth=0 if not name else name.count(".") + 1,
            params=params[key],
            macs=macs,
            flops=flops,
            calls=calls.get(key, 0),
        )
    return FlopsResult(
        macs=total_macs,
        flops=total_flops,
        convention=convention,
        batch_size=batch,
        input_shape=tuple(int(s) for s in sample_shape),
        by_module=by_module,
        by_operator=by_op,
        uncounted_ops=uncounted,
        macs_float32=macs_f32,
    )


def _inclusive_params(model: nn.Module) -> dict[int, int]:
    """Parameters of every module with its descendants (shared parameters counted once each)."""
    out: dict[int, int] = {}

    def visit(m: nn.Module, seen_mods: set) -> set:
        ps = {id(p): p.numel() for p in m.parameters(recurse=False)}
        ids = dict(ps)
        for child in m.children():
            if id(child) in seen_mods:
                continue
            seen_mods.add(id(child))
            ids.update(visit(child, seen_mods))
        out[id(m)] = int(sum(ids.values()))
        return ids

    visit(model, {id(model)})
    return out


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (shared parameters counted once).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    trainable_only : bool, default=False
        Count only parameters with ``requires_grad=True``.

    Returns
    -------
    int
        The number of parameters.

    Examples
    --------
    >>> from torch import nn
    >>> lin = nn.Linear(10, 5)
    >>> count_parameters(lin)
    55
    >>> _ = lin.bias.requires_grad_(False)
    >>> count_parameters(lin, trainable_only=True)
    50
    """
    check_module(model)
    check_bool("trainable_only", trainable_only)
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))
