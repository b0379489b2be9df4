"""Saving and loading fitted models: skops by default, pickle/joblib only when trusted.

A pickle (and so a joblib file) can run arbitrary code while it loads. A
`skops <https://skops.readthedocs.io>`_ file cannot: it stores the object's
state as data and rebuilds only types it is told to trust.
:func:`save` writes skops files (unless the name asks for a pickle format);
:func:`load` rebuilds only :data:`TRUSTED_TYPES` (and what skops trusts by
default: numpy, scikit-learn, builtins) and refuses pickles unless the caller
says ``trust_pickle=True``.

Python users may keep using ``joblib.dump``/``joblib.load`` for files they made
themselves or otherwise trust; never load a pickle or joblib file from an
unknown source.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, Iterable

from ._io import atomic_output

__all__ = [
    "TRUSTED_TYPES",
    "PICKLE_SUFFIXES",
    "save",
    "load",
    "file_format",
    "ModelFileError",
    "UntrustedPickleError",
    "UntrustedTypesError",
]

#: Types of this package that a fitted :class:`~sklearn_ofa.LatencyTable`,
#: :class:`~sklearn_ofa.FLOPsModel`, accuracy pipeline
#: (:func:`~sklearn_ofa.make_accuracy_pipeline`, :func:`~sklearn_ofa.load_ofa_predictor`)
#: holds beyond what skops trusts by default (numpy arrays and dtypes,
#: scikit-learn estimators such as ``Pipeline`` and ``LinearRegression``,
#: builtins). Computed with :func:`skops.io.get_untrusted_types` on real fitted
#: objects; the predictors store their networks as numpy arrays, so no torch or
#: skorch type is needed.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn_ofa.accuracy.losses.RankingMSELoss",
    "sklearn_ofa.accuracy.pipeline.AccuracyPipeline",
    "sklearn_ofa.accuracy.predictor.AccuracyPredictor",
    "sklearn_ofa.efficiency.flops_model.FLOPsModel",
    "sklearn_ofa.efficiency.hybrid.HybridCalibration",
    "sklearn_ofa.efficiency.lut.LatencyTable",
    "sklearn_ofa.encoding.ArchEncoder",
    "sklearn_ofa.spaces.mobilenet.MobileNetSpace",
    "sklearn_ofa.spaces.resnet.ResNetSpace",
)

#: File name endings that :func:`save` writes with joblib (a pickle) instead of skops.
PICKLE_SUFFIXES: tuple[str, ...] = (".joblib", ".pkl", ".pickle")

_ZIP_MAGIC = b"PK\x03\x04"
# the first bytes of a pickle (protocol >= 2) and of joblib's compressed files
_PICKLE_MAGIC = (
    b"\x80",
    b"\x78",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x5d\x00\x00",
    b"\x04\x22\x4d\x18",
)


class ModelFileError(ValueError):
    """A model file is empty, truncated, corrupt or not a model file at all.

    Parameters
    ----------
    message : str
        The error message.
    path : str or path-like, optional
        The file (kept as the ``str`` attribute ``path``, or None).
    """

    def __init__(self, message: str, path: Any = None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class UntrustedPickleError(ValueError):
    """A pickle/joblib file was to be loaded without ``trust_pickle=True``.

    Parameters
    ----------
    message : str
        The error message.
    path : str or path-like, optional
        The file (kept as the ``str`` attribute ``path``, or None).
    """

    def __init__(self, message: str, path: Any = None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class UntrustedTypesError(ValueError):
    """A skops file holds types outside :data:`TRUSTED_TYPES` and skops' defaults.

    Parameters
    ----------
    message : str
        The error message.
    types : iterable of str, default=()
        The untrusted types, fully qualified (kept as the list ``types``).
    path : str or path-like, optional
        The file (kept as the ``str`` attribute ``path``, or None).
    """

    def __init__(self, message: str, types: Iterable[str] = (), path: Any = None):
        super().__init__(message)
        self.types = list(types)
        self.path = None if path is None else str(path)


def file_format(path: str | os.PathLike) -> str:
    """What a model file holds, judged by its first bytes: ``"skops"``, ``"pickle"`` or ``"unknown"``.

    ``"pickle"`` includes joblib files, compressed or not.

    Parameters
    ----------
    path : str or path-like
        The file to look at.

    Returns
    -------
    str
        ``"skops"``, ``"pickle"`` or ``"unknown"``.

    Examples
    --------
    >>> import tempfile, pathlib, joblib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = joblib.dump({"a": 1}, folder / "x.joblib")
    >>> file_format(folder / "x.joblib")
    'pickle'
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_ZIP_MAGIC):
        return "skops"
    if head and any(head.startswith(m) for m in _PICKLE_MAGIC):
        return "pickle"
    return "unknown"


def save(obj: Any, path: str | os.PathLike) -> Path:
    """Write a fitted model atomically, with skops (joblib for ``.joblib``/``.pkl``/``.pickle`` names).

    The file appears whole or not at all (it is written beside ``path`` and
    renamed). Prefer ``.skops``: such a file loads with :func:`load` without
    trusting its source.

    Parameters
    ----------
    obj : object
        A fitted estimator (anything skops or joblib can store).
    path : path
        The file to write; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_ofa import FLOPsModel
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "flops.skops"
    >>> _ = save(FLOPsModel("ofa_mbv3_w1.2").fit(), path)
    >>> type(load(path)).__name__
    'FLOPsModel'
    """
    path = Path(path)
    with atomic_output(path) as tmp:
        if path.name.lower().endswith(PICKLE_SUFFIXES):
            import joblib

            joblib.dump(obj, tmp)
        else:
            import skops.io as sio

            sio.dump(obj, tmp)
    return path


def load(path: str | os.PathLike, *, trust_pickle: bool = False) -> Any:
    """Load a model written by :func:`save` (or by ``skops.io.dump``/``joblib.dump``).

    A skops file is loaded with ``skops.io.load(path, trusted=TRUSTED_TYPES)``
    once every type it holds is known to be trusted; a pickle or joblib file
    only with ``trust_pickle=True``, since unpickling can run arbitrary code.
    The format is read from the file's first bytes, not from its name.

    Parameters
    ----------
    path : path
        The model file.
    trust_pickle : bool, default=False
        Allow loading a pickle/joblib file. Only for files you made yourself
        or whose source you trust.

    Returns
    -------
    object
        The fitted model.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        The file is missing or cannot be read.
    UntrustedPickleError
        A pickle/joblib file and ``trust_pickle=False``.
    UntrustedTypesError
        A skops file holding types outside :data:`TRUSTED_TYPES` (named in the message).
    ModelFileError
        The file is empty, truncated, corrupt or not a model file.

    Examples
    --------
    >>> import tempfile, pathlib, joblib
    >>> from sklearn_ofa import FLOPsModel
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> model = FLOPsModel("ofa_mbv3_w1.2").fit()
    >>> _ = save(model, folder / "flops.skops")
    >>> load(folder / "flops.skops").space_.name
    'ofa_mbv3_w1.2'
    >>> _ = joblib.dump(model, folder / "flops.joblib")
    >>> load(folder / "flops.joblib")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sklearn_ofa.persistence.UntrustedPickleError: model file ... is a pickle/joblib file...
    >>> type(load(folder / "flops.joblib", trust_pickle=True)).__name__
    'FLOPsModel'
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "model file does not exist", str(path))
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder, not a model file", str(path))
    if path.stat().st_size == 0:
        raise ModelFileError(f"model file {path} is empty", path)
    kind = file_format(path)
    if kind == "skops":
        return _load_skops(path)
    if kind == "unknown":
        raise ModelFileError(
            f"model file {path} is neither a skops file nor a pickle/joblib file", path
        )
    if not trust_pickle:
        raise UntrustedPickleError(
            f"model file {path} is a pickle/joblib file, and loading one can run arbitrary code; "
            f"if you made it or trust its source, pass --trust-pickle (Python: trust_pickle=True), "
            f'or convert it once to the safe format: python -c "from sklearn_ofa import persistence '
            f"as p; p.save(p.load('{path}', trust_pickle=True), '{path.with_suffix('.skops')}')\"",
            path,
        )
    import joblib

    try:
        return joblib.load(path)
    except (
        EOFError,
        pickle.UnpicklingError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        ImportError,
        TypeError,
        zipfile.BadZipFile,
    ) as exc:
        raise ModelFileError(
            f"model file {path} could not be unpickled (truncated, corrupt or made by an "
            f"incompatible version): {type(exc).__name__}: {_first_line(exc)}",
            path,
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _load_skops(path: Path) -> Any:
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, TypeError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ModelFileError(
            f"model file {path} is not a readable skops file (truncated or corrupt): "
            f"{type(exc).__name__}: {_first_line(exc)}",
            path,
        ) from exc
    untrusted = sorted(set(found) - set(TRUSTED_TYPES))
    if untrusted:
        raise UntrustedTypesError(
            f"model file {path} holds types that sklearn_ofa does not trust: "
            f"{', '.join(untrusted)}; load it with skops.io.load(path, trusted=[...]) only if "
            f"you trust its source",
            untrusted,
            path,
        )
    try:
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except (
        zipfile.BadZipFile,
        EOFError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
    ) as exc:
        raise ModelFileError(
            f"model file {path} could not be loaded (truncated, corrupt or made by an "
            f"incompatible version): {type(exc).__name__}: {_first_line(exc)}",
            path,
        ) from exc
