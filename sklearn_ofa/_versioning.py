"""Version stamp of persisted estimators, and the HTML repr's link to the API docs.

Both come, as scikit-learn does for its own estimators, from one mixin that every
sklearn_ofa estimator puts first in its bases.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

from .exceptions import InconsistentVersionWarning

__all__ = ["DOCS_URL", "VersionStampMixin", "InconsistentVersionWarning", "package_version"]

#: Root of the published documentation (``[project.urls] Documentation``).
DOCS_URL = "https://sklearn-ofa.github.io/sklearn-ofa/"


def package_version() -> str:
    from . import __version__

    return __version__


def public_module(cls: type) -> str:
    """Module path of ``cls`` up to its first private part (where the docs name it)."""
    parts = cls.__module__.split(".")
    return ".".join(itertools.takewhile(lambda part: not part.startswith("_"), parts))


class VersionStampMixin:
    """Record ``sklearn_ofa.__version__`` when pickled; warn on load under another version.

    Put it before ``BaseEstimator`` in the bases; a subclass that overrides
    ``__getstate__``/``__setstate__`` must call ``super()``. It also points the
    estimator's HTML repr at its page of the API reference
    (``generated/<public module>.<class name>.html``, as ``docs/api.rst`` names it).
    """

    _doc_link_module = "sklearn_ofa"
    _doc_link_template = DOCS_URL + "generated/{estimator_module}.{estimator_name}.html"

    def _doc_link_url_param_generator(self) -> dict[str, str]:
        cls = type(self)
        return {"estimator_module": public_module(cls), "estimator_name": cls.__name__}

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
