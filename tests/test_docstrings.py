"""numpydoc validation of every public object of sklearn_ofa.

Public objects: the ``__all__`` of every public module (no leading underscore on its
path) that the package defines, and the public methods and properties those classes
define (scikit-learn's generated ``set_*_request`` excluded; ``forward`` of a torch
module, called as ``module(x)`` and described by its class, excluded too). A method
override without a docstring of its own is validated through the docstring it
inherits, as Sphinx shows it. Checks:

- GL08: the object has a docstring;
- PR01 / PR02: every parameter is documented / no unknown parameter is documented;
- PR07: every documented parameter has a description;
- RT01: a function or method that returns a value has a Returns section;
- EX01: an Examples section, for public classes and module-level functions (exceptions
  and warnings excepted: their example would only show ``raise``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpydoc.validate as numpydoc_validate

import sklearn_ofa

CHECKS = {"GL08", "PR01", "PR02", "PR07", "RT01"}
EXAMPLE_CHECK = "EX01"


def _public_modules() -> list[str]:
    names = ["sklearn_ofa"]
    for info in pkgutil.walk_packages(sklearn_ofa.__path__, "sklearn_ofa."):
        parts = info.name.split(".")
        if not any(p.startswith("_") for p in parts) and parts[-1] != "conftest":
            names.append(info.name)
    return names


def _own(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("sklearn_ofa")


def _public_objects() -> dict[str, str]:
    """Dotted name (at its definition) -> kind ("class", "function" or "member")."""
    found: dict[str, str] = {}
    for modname in _public_modules():
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not _own(obj):
                continue
            qual = f"{obj.__module__}.{obj.__qualname__}"
            found[qual] = "class" if inspect.isclass(obj) else "function"
            if inspect.isclass(obj):
                found.update(_members(obj))
    return found


def _members(cls: type) -> dict[str, str]:
    out = {}
    for name in dir(cls):
        if name.startswith("_") or (name.startswith("set_") and name.endswith("_request")):
            continue
        owners = [k for k in cls.__mro__ if name in vars(k)]
        documented = [k for k in owners if getattr(vars(k)[name], "__doc__", None)]
        owner = (documented or owners or [None])[0]
        if owner is None or not _own(owner) or (name == "forward" and _is_module(cls)):
            continue
        attr = vars(owner)[name]
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr) or isinstance(attr, property):
            out[f"{owner.__module__}.{owner.__qualname__}.{name}"] = "member"
    return out


def _is_module(cls: type) -> bool:
    return any(
        f"{k.__module__}.{k.__name__}" == "torch.nn.modules.module.Module" for k in cls.__mro__
    )


def _is_exception(qualname: str) -> bool:
    module, _, name = qualname.rpartition(".")
    obj = getattr(importlib.import_module(module), name, None)
    return inspect.isclass(obj) and issubclass(obj, BaseException)


def _violations(qualname: str, kind: str) -> list[str]:
    checks = set(CHECKS)
    if kind in ("class", "function") and not _is_exception(qualname):
        checks.add(EXAMPLE_CHECK)
    result = numpydoc_validate.validate(qualname)
    return [f"{qualname}: {code} {msg}" for code, msg in result["errors"] if code in checks]


def test_public_objects_found():
    objects = _public_objects()
    assert "sklearn_ofa.encoding.ArchEncoder" in objects
    assert "sklearn_ofa.encoding.ArchEncoder.transform" in objects
    assert "sklearn_ofa.efficiency.lut.LatencyTable.predict" in objects
    assert len(objects) > 100


def test_numpydoc_validation():
    errors = []
    for qualname, kind in sorted(_public_objects().items()):
        errors.extend(_violations(qualname, kind))
    assert not errors, f"{len(errors)} numpydoc violations:\n" + "\n".join(errors)
