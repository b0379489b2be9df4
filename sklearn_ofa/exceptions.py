"""Exceptions raised by sklearn_ofa."""

from __future__ import annotations

__all__ = [
    "ArchValueError",
    "ArchTypeError",
    "NetConfigError",
    "MissingBlockError",
    "DatasetFormatError",
    "EvaluatorError",
]


class ArchValueError(ValueError):
    """An architecture has a missing/unknown key, a wrong length or a value outside its choices."""


class ArchTypeError(TypeError):
    """An architecture (or one of its fields) has the wrong type."""


class NetConfigError(ValueError):
    """An OFA ``net.config`` dict is malformed or does not belong to a search space."""


class MissingBlockError(ValueError):
    """A latency table was asked for blocks it has not profiled.

    Attributes
    ----------
    missing_keys : list of str
        The block keys that were looked up and not found.
    """

    def __init__(self, message: str, missing_keys: list[str] | None = None):
        super().__init__(message)
        self.missing_keys = list(missing_keys or [])


class DatasetFormatError(ValueError):
    """A file of an accuracy dataset is corrupt, malformed or contradicts another one.

    Attributes
    ----------
    path : str or None
        The offending file.
    """

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class EvaluatorError(ValueError):
    """An accuracy evaluator returned something that is not a top-1 in percent."""
