"""Loader of the bundled ``digits_subnets`` accuracy dataset."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ..spaces import get_space
from ._csv import ARCH_COLUMNS as _FEATURES
from ._csv import read_arch_csv

__all__ = ["load_digits_subnets"]

_CSV = "digits_subnets.csv"
_META = "digits_subnets_meta.json"
_DESCR = "digits_subnets.rst"


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]}, prefer_skip_nested_validation=True
)
def load_digits_subnets(*, return_X_y: bool = False, as_frame: bool = False) -> Any:
    """Load the measured top-1 of subnets of the small digits supernet.

    Subnets of the ``digits_mbv3`` space (a small OFA MobileNetV3 space) were
    sampled from a weight-sharing supernet trained on scikit-learn's digits and
    evaluated at several input resolutions on held-out digits, with BatchNorm
    statistics recalibrated per subnet. See ``DESCR`` for the datasheet.

    =================   ==========================================
    Samples             one per (architecture, resolution) pair
    Features            arch dicts with ``ks``, ``e``, ``d``, ``image_size``
    Target              held-out top-1 accuracy, as a fraction
    =================   ==========================================

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        ``data`` becomes a pandas DataFrame with one column per arch key (list
        valued for ``ks``, ``e`` and ``d``), ``target`` a Series, and the Bunch
        gets a ``frame`` with both. Requires pandas.

    Returns
    -------
    data : Bunch
        ``data`` (list of arch dicts or DataFrame), ``target`` (float array or
        Series), ``frame`` (DataFrame or None), ``feature_names``,
        ``target_names``, ``space`` (the :class:`~sklearn_ofa.spaces.SearchSpace`,
        usable wherever a space name is), ``meta`` (recipe, seeds, timings and
        statistics of the build), ``DESCR`` and ``filename``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklearn_ofa.datasets import load_digits_subnets
    >>> bunch = load_digits_subnets()
    >>> len(bunch.data) == len(bunch.target) >= 2000
    True
    >>> bunch.space.name
    'digits_mbv3'
    >>> sorted(bunch.data[0])
    ['d', 'e', 'image_size', 'ks']
    >>> X, y = load_digits_subnets(return_X_y=True)
    >>> bool(0.0 < y.min() < y.max() <= 1.0)
    True
    """
    archs, cols = read_arch_csv(_CSV, {"top1": float})
    top1 = cols["top1"]
    base = resources.files(__package__)
    descr = (base / "descr" / _DESCR).read_text(encoding="utf-8")
    meta = json.loads((base / "data" / _META).read_text(encoding="utf-8"))
    data: Any = archs
    target: Any = top1
    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test dependency
            raise ImportError("load_digits_subnets(as_frame=True) requires pandas") from exc
        data = pd.DataFrame({k: [a[k] for a in archs] for k in _FEATURES})
        target = pd.Series(top1, name="top1")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=list(_FEATURES),
        target_names=["top1"],
        space=get_space(meta.get("space", "digits_mbv3")),
        meta=meta,
        DESCR=descr,
        filename=_CSV,
        data_module=f"{__package__}.data",
    )
