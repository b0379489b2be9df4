"""Loader of the bundled ``ofa_mbv3_imagenet`` dataset: real ImageNet top-1 of OFA subnets."""

from __future__ import annotations

from importlib import resources
from typing import Any

from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ..spaces import get_space
from ._csv import ARCH_COLUMNS, read_arch_csv

__all__ = ["load_ofa_mbv3_imagenet"]

_CSV = "ofa_mbv3_imagenet.csv"
_DESCR = "ofa_mbv3_imagenet.rst"
_COLUMNS = {"top1": float, "macs": int, "params": int, "source": str}
ATTRIBUTION = (
    "Measured by IntelLabs/DyNAS-T (notebooks/data/), Apache-2.0, "
    "Copyright (c) 2022 Intel Corporation"
)


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]}, prefer_skip_nested_validation=True
)
def load_ofa_mbv3_imagenet(*, return_X_y: bool = False, as_frame: bool = False) -> Any:
    """Load 901 real subnets of OFA's MobileNetV3 w1.0 supernet with their ImageNet top-1.

    Every record is a subnet of OFA's released ``ofa_mbv3_d234_e346_k357_w1.0``
    supernet, evaluated without fine-tuning on the ImageNet validation set at
    resolution 224, as recorded by two searches of IntelLabs/DyNAS-T (an NSGA-II
    search on top-1 and MACs, and a predictor-guided LINAS search). The subnets
    come from searches, so they crowd the good part of the space. See
    ``DESCR`` for the datasheet and the license (Apache-2.0, attribution kept
    in ``attribution``).

    =================   ==========================================
    Samples             901 (891 distinct networks)
    Features            arch dicts with ``ks``, ``e``, ``d``, ``image_size``
    Target              ImageNet top-1 accuracy, as a fraction
    =================   ==========================================

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        ``data`` becomes a pandas DataFrame with one column per arch key (list
        valued for ``ks``, ``e`` and ``d``), ``target`` a Series, and the Bunch
        gets a ``frame`` with both plus ``macs``, ``params`` and ``source``.
        Requires pandas.

    Returns
    -------
    data : Bunch
        ``data`` (list of arch dicts or DataFrame), ``target`` (float array or
        Series), ``macs`` and ``params`` (int arrays, as recorded; they equal
        the package's own counts), ``source`` (``"nsga2"`` or ``"linas"``: the
        search that chose the subnet), ``frame`` (DataFrame or None),
        ``feature_names``, ``target_names``, ``space`` (``ofa_mbv3_w1.0``),
        ``attribution``, ``DESCR`` and ``filename``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklearn_ofa.datasets import load_ofa_mbv3_imagenet
    >>> bunch = load_ofa_mbv3_imagenet()
    >>> len(bunch.data), bunch.space.name
    (901, 'ofa_mbv3_w1.0')
    >>> round(float(bunch.target.min()), 4), round(float(bunch.target.max()), 4)
    (0.7194, 0.7747)
    >>> sorted(set(bunch.source))
    ['linas', 'nsga2']
    """
    archs, cols = read_arch_csv(_CSV, _COLUMNS)
    descr = (resources.files(__package__) / "descr" / _DESCR).read_text(encoding="utf-8")
    data: Any = archs
    target: Any = cols["top1"]
    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test dependency
            raise ImportError("load_ofa_mbv3_imagenet(as_frame=True) requires pandas") from exc
        data = pd.DataFrame({k: [a[k] for a in archs] for k in ARCH_COLUMNS})
        target = pd.Series(cols["top1"], name="top1")
        extra = pd.DataFrame({k: cols[k] for k in ("macs", "params", "source")})
        frame = pd.concat([data, target, extra], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        macs=cols["macs"],
        params=cols["params"],
        source=cols["source"],
        frame=frame,
        feature_names=list(ARCH_COLUMNS),
        target_names=["top1"],
        space=get_space("ofa_mbv3_w1.0"),
        attribution=ATTRIBUTION,
        DESCR=descr,
        filename=_CSV,
        data_module=f"{__package__}.data",
    )
