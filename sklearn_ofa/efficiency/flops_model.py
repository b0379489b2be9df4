"""Analytic FLOPs of subnets from the block walk, vectorised over batches of archs."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._checks import check_predictions, zero_samples_error
from .._versioning import VersionStampMixin
from ..spaces import Block, SearchSpace, get_space, make_divisible

__all__ = ["block_macs", "FLOPsModel", "UNITS"]

# divisor of each ``unit`` of FLOPsModel.predict
UNITS = {"1": 1.0, "K": 1e3, "M": 1e6, "G": 1e9}


def _conv(out_size: int, cin: int, cout: int, k: int = 1, groups: int = 1) -> int:
    return cin * cout * k * k * out_size * out_size // groups


def block_macs(block: Block) -> int:
    """Multiply-accumulates of one block in OFA's convention (convolutions and linear layers).

    SE convolutions count at 1x1 spatial size; BatchNorm, activations,
    pooling and residual additions count zero, as in OFA's
    ``count_flops_given_config``.

    Parameters
    ----------
    block : Block
        One block of a space's block walk (``space.blocks(arch)``).

    Returns
    -------
    int
        Exact MACs of the block for one sample.

    Examples
    --------
    >>> from sklearn_ofa.spaces import Block
    >>> block_macs(Block("conv", "Conv", (224, 224, 3), (112, 112, 24), kernel_size=3, stride=2))
    8128512
    """
    b = block
    if not isinstance(block, Block):
        raise TypeError(f"block must be a sklearn_ofa.spaces.Block, got {type(block).__name__}")
    if b.op in ("conv", "residual_conv"):
        return _conv(b.out_shape[0], b.in_channels, b.out_channels, b.kernel_size)
    if b.op == "mbconv":
        mid = b.mid_channels
        fin, fout = b.in_shape[0], b.out_shape[0]
        macs = 0
        if b.expand_ratio != 1:
            macs += _conv(fin, b.in_channels, mid, 1)
        macs += _conv(fout, mid, mid, b.kernel_size, mid)
        if b.se:
            se_mid = make_divisible(mid // 4, 8)
            macs += 2 * mid * se_mid
        macs += _conv(fout, mid, b.out_channels, 1)
        return macs
    if b.op == "bottleneck":
        mid = b.mid_channels
        fin, fout = b.in_shape[0], b.out_shape[0]
        macs = _conv(fin, b.in_channels, mid, 1)
        macs += _conv(fout, mid, mid, b.kernel_size)
        macs += _conv(fout, mid, b.out_channels, 1)
        if not b.identity:
            macs += _conv(fout, b.in_channels, b.out_channels, 1)
        return macs
    if b.op in ("linear", "avgpool_linear"):
        return b.in_channels * b.out_channels
    return 0


class FLOPsModel(VersionStampMixin, RegressorMixin, BaseEstimator):
    """Analytic MACs of subnets of a search space, in OFA's convention (conv + linear).

    ``predict`` returns **multiply-accumulates** (what OFA calls "FLOPs"), in
    millions by default; :meth:`predict_flops` returns floating-point
    operations (two per MAC) and :meth:`predict_macs` plain MACs. Convolutions
    (SE convolutions at 1x1) and the classifier count; BatchNorm, activations,
    pooling and residual additions do not. The figures equal OFA's
    ``count_flops_given_config`` and the exact integer count of
    :func:`~sklearn_ofa.efficiency.count_flops` (``convention="ofa"``) on the
    built subnet.

    ``fit`` builds a dense per-unit table of block MACs from the block walk
    (``X`` and ``y`` are ignored); ``predict`` is one gather and one sum per
    batch of architectures, given as arch dicts, a DataFrame or a code matrix.

    Parameters
    ----------
    space : str or SearchSpace, default="ofa_mbv3_w1.2"
        A space name (:func:`~sklearn_ofa.spaces.list_spaces`), a
        :class:`~sklearn_ofa.spaces.SearchSpace`, or a MobileNet space config dict.
    unit : {"M", "1", "K", "G"}, default="M"
        Scale of ``predict``: millions (``"M"``, like OFA's
        ``count_flops_given_config``), plain MACs (``"1"``), thousands or billions.

    Attributes
    ----------
    space_ : SearchSpace
    macs_table_ : ndarray of float64
        MACs of every block a unit of the space can take, indexed by
        ``space_.unit_index(codes)``.

    Notes
    -----
    Parameters are checked by ``fit`` (scikit-learn's ``_parameter_constraints``):
    a bad one raises :class:`~sklearn.utils._param_validation.InvalidParameterError`
    (a ``ValueError`` and a ``TypeError``) naming it, its value and what is allowed.

    OFA's hook counter ``count_net_flops`` can differ from these figures by a
    few MACs (e.g. 389,487,872 against 389,487,856 for ``flops-389M``): it
    stores each layer's count in float32 and sums in float32. The figures here
    are exact; ``count_flops(..., convention="ofa").macs_float32`` reproduces
    OFA's rounded total.

    Examples
    --------
    >>> from sklearn_ofa.efficiency import FLOPsModel
    >>> model = FLOPsModel("ofa_mbv3_w1.2").fit()
    >>> arch = {"ks": [7] * 20, "e": [6] * 20, "d": [4] * 5, "image_size": 224}
    >>> round(float(model.predict([arch])[0]), 3)  # million MACs
    843.101
    >>> int(model.predict_macs([arch])[0]), int(model.predict_flops([arch])[0])
    (843101040, 1686202080)
    """

    _parameter_constraints: dict = {
        "space": [str, SearchSpace, dict],
        "unit": [StrOptions(set(UNITS))],
    }

    def __init__(self, space: Any = "ofa_mbv3_w1.2", unit: str = "M"):
        self.space = space
        self.unit = unit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any = None, y: Any = None) -> "FLOPsModel":
        """Build the MACs table.

        Parameters
        ----------
        X : list of arch dicts, DataFrame or code matrix, optional
            Not used for the table (it covers every block of the space), but
            checked when given: archs of the space, at least one.
        y : ignored
            Present for the scikit-learn API (e.g. ``cross_val_score``).

        Returns
        -------
        self
        """
        space = get_space(self.space)
        if X is not None:
            codes = space.as_codes(X)
            if len(codes) == 0:
                raise zero_samples_error(codes, self)
        table = np.zeros(space.unit_table_size(), dtype=np.float64)
        for flat, _, blk in space.unit_entries():
            if blk is not None:
                table[flat] = block_macs(blk)
        self.space_ = space
        self.macs_table_ = table
        return self

    def predict_macs(self, X: Any) -> np.ndarray:
        """Plain multiply-accumulates per arch (float64, exact below 2**53).

        Parameters
        ----------
        X : list of arch dicts, one dict, DataFrame or code matrix
            Archs of the space.

        Returns
        -------
        ndarray of shape (n_archs,)
            Finite and >= 0 (an empty ``X`` gives an empty array).
        """
        check_is_fitted(self, "macs_table_")
        codes = self.space_.as_codes(X)
        if not len(codes):
            return np.zeros(0, dtype=np.float64)
        macs = self.macs_table_[self.space_.unit_index(codes)].sum(1)
        return check_predictions(macs, "FLOPsModel: the MACs")

    def predict_flops(self, X: Any) -> np.ndarray:
        """Floating-point operations per arch (plain, not scaled), one MAC being two FLOPs.

        Parameters
        ----------
        X : list of arch dicts, one dict, DataFrame or code matrix
            Archs of the space.

        Returns
        -------
        ndarray of shape (n_archs,)
            ``2 * predict_macs(X)``.
        """
        return 2.0 * self.predict_macs(X)

    def predict(self, X: Any) -> np.ndarray:
        """MACs per arch in ``unit`` (millions by default).

        Parameters
        ----------
        X : list of arch dicts, one dict, DataFrame or code matrix
            Archs of the space.

        Returns
        -------
        ndarray of shape (n_archs,)
            Finite and >= 0 (an empty ``X`` gives an empty array).
        """
        macs = self.predict_macs(X)
        return macs / UNITS[self.unit] if self.unit != "1" else macs

    def get_efficiency(self, arch: dict) -> float:
        """OFA-style facade: MACs of one arch dict, in ``unit``.

        Parameters
        ----------
        arch : dict
            One arch of the space.

        Returns
        -------
        float
            ``predict([arch])[0]``.
        """
        if not isinstance(arch, dict):
            raise TypeError(f"arch must be one arch dict, got {type(arch).__name__}")
        return float(self.predict([arch])[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.target_tags.required = False
        return tags
