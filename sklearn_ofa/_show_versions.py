"""``show_versions()``: the system and dependency versions to paste into a bug report."""

from __future__ import annotations

import importlib
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

__all__ = ["show_versions"]

#: Distributions reported, required first, then optional ones (``None`` when absent).
DEPENDENCIES = (
    "sklearn-ofa",
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "skorch",
    "joblib",
    "pyyaml",
    "onnxruntime",
    "openvino",
    "skops",
    "matplotlib",
    "pandas",
)


def _system_info() -> dict[str, str]:
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
    }


def _version_of(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _deps_info() -> dict[str, str | None]:
    return {name: _version_of(name) for name in DEPENDENCIES}


def _torch_info() -> dict[str, str | int | bool | None]:
    if _version_of("torch") is None:
        return {}
    torch = importlib.import_module("torch")
    cuda = bool(torch.cuda.is_available())
    return {
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "cuda_available": cuda,
        "cuda_version": torch.version.cuda,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
    }


def show_versions(as_dict: bool = False) -> dict[str, dict] | None:
    """Print the system, dependency and torch versions, for bug reports.

    Parameters
    ----------
    as_dict : bool, default=False
        Return the information as a dict of sections instead of printing it.

    Returns
    -------
    info : dict or None
        With ``as_dict=True``, ``{"System": ..., "Python dependencies": ...,
        "Torch": ...}``, each a dict of name to value (``None`` for an absent
        optional package); otherwise ``None``, after printing.

    Examples
    --------
    >>> import sklearn_ofa
    >>> info = sklearn_ofa.show_versions(as_dict=True)
    >>> info["Python dependencies"]["sklearn-ofa"] == sklearn_ofa.__version__
    True
    >>> sorted(info)
    ['Python dependencies', 'System', 'Torch']
    """
    info = {
        "System": _system_info(),
        "Python dependencies": _deps_info(),
        "Torch": _torch_info(),
    }
    if as_dict:
        return info
    for section, values in info.items():
        print(f"\n{section}:")
        for key, value in values.items():
            print(f"{key:>20}: {value}")
    return None
