"""Version stamp of persisted estimators (as scikit-learn does for its own)."""

from __future__ import annotations

import warnings
from typing import Any

from .exceptions import InconsistentVersionWarning

__all__ = ["VersionStampMixin", "InconsistentVersionWarning", "package_version"]


def package_version() -> str:
    from . import __version__

    return __version__


class VersionStampMixin:
    """Record ``sklearn_ofa.__version__`` when pickled; warn on load under another version.

    Put it before ``BaseEstimator`` in the bases; a subclass that overrides
    ``__getstate__``/``__setstate__`` must call ``super()``.
    """

    def __getstate__(self) -> dict:
        parent = getattr(super(), "__getstate__", None)
        state = dict(parent()) if parent is not None else dict(self.__dict__)
        state["_sklearn_ofa_version"] = package_version()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        saved = state.pop("_sklearn_ofa_version", "pre-0.1.0")
        current = package_version()
        if saved != current:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    original_version=saved,
                    current_version=current,
                ),
                stacklevel=2,
            )
        parent = getattr(super(), "__setstate__", None)
        if parent is not None:
            parent(state)
        else:
            self.__dict__.update(state)
