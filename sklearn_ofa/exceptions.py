"""Exceptions raised by sklearn_ofa."""

from __future__ import annotations

__all__ = [
    "ArchValueError",
    "ArchTypeError",
    "SpaceMismatchError",
    "NetConfigError",
    "MissingBlockError",
    "DatasetFormatError",
    "EvaluatorError",
    "InconsistentVersionWarning",
]


class ArchValueError(ValueError):
    """An architecture has a missing/unknown key, a wrong length or a value outside its choices."""


class ArchTypeError(TypeError):
    """An architecture (or one of its fields) has the wrong type."""


class SpaceMismatchError(ArchValueError):
    """A code matrix (or a predictor) of one search space was given to an estimator of another
    space that cannot decode it exactly. The message names both spaces."""


class NetConfigError(ValueError):
    """An OFA ``net.config`` dict is malformed or does not belong to a search space."""


class MissingBlockError(ValueError):
    """A latency table was asked for blocks it has not profiled.

    Parameters
    ----------
    message : str
        The error message.
    missing_keys : list of str, optional
        The block keys that were looked up and not found (kept as an attribute).
    """

    def __init__(self, message: str, missing_keys: list[str] | None = None):
        super().__init__(message)
        self.missing_keys = list(missing_keys or [])


class DatasetFormatError(ValueError):
    """A file of an accuracy dataset is corrupt, malformed or contradicts another one.

    Parameters
    ----------
    message : str
        The error message.
    path : str or path-like, optional
        The offending file (kept as the ``str`` attribute ``path``, or None).
    """

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class EvaluatorError(ValueError):
    """An accuracy evaluator returned something that is not a top-1 in percent."""


class InconsistentVersionWarning(UserWarning):
    """An estimator is unpickled with another ``sklearn_ofa`` version than the one that saved it.

    The three parameters are kept as attributes of the same names.

    Parameters
    ----------
    estimator_name : str
        Class name of the unpickled estimator.
    original_version : str
        Version that saved it (``"pre-0.1.0"`` for an unstamped file).
    current_version : str
        Version loading it.
    """

    def __init__(self, *, estimator_name: str, original_version: str, current_version: str):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self) -> str:
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sklearn_ofa version "
            f"{self.original_version} when using version {self.current_version}. Predictions "
            "may differ or fail; refit or re-save it with this version."
        )
