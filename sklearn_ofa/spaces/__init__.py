"""Search spaces: definitions, validation, code matrices, sampling, block walk, net.config.

Examples
--------
>>> from sklearn_ofa.spaces import get_space
>>> space = get_space("ofa_mbv3_w1.2")
>>> archs = space.sample(4, random_state=0)
>>> codes = space.to_codes(archs)
>>> space.from_codes(codes) == [space.from_codes(space.to_codes([a]))[0] for a in archs]
True
"""

from __future__ import annotations

from typing import Any, Callable

from ._base import CODE_DTYPE, Gene, SearchSpace, Unit
from ._blocks import BLOCK_OPS, Block, make_divisible
from ._codes import Codes, CodeTranslator
from .mobilenet import MobileNetSpace
from .resnet import ResNetSpace

__all__ = [
    "get_space",
    "list_spaces",
    "register_space",
    "SearchSpace",
    "MobileNetSpace",
    "ResNetSpace",
    "Block",
    "BLOCK_OPS",
    "Gene",
    "Unit",
    "CODE_DTYPE",
    "Codes",
    "CodeTranslator",
    "make_divisible",
]

_DIGITS_MBV3 = dict(
    family="mbv3",
    base_stage_width=[8, 8, 8, 16, 24, 32, 40, 64, 96],
    stride_stages=[1, 2, 2, 2, 1, 2],
    image_sizes=[12, 16, 20, 24, 28, 32],
    n_classes=10,
    name="digits_mbv3",
)

_REGISTRY = {
    "ofa_mbv3_w1.0": lambda **kw: MobileNetSpace(
        "mbv3", width_mult=1.0, name="ofa_mbv3_w1.0", **kw
    ),
    "ofa_mbv3_w1.2": lambda **kw: MobileNetSpace(
        "mbv3", width_mult=1.2, name="ofa_mbv3_w1.2", **kw
    ),
    "ofa_proxyless_w1.3": lambda **kw: MobileNetSpace(
        "proxyless", width_mult=1.3, name="ofa_proxyless_w1.3", **kw
    ),
    "ofa_resnet50": lambda **kw: ResNetSpace(name="ofa_resnet50", **kw),
    # the small space of the bundled digits supernet (sklearn_ofa.datasets.load_digits_subnets)
    "digits_mbv3": lambda **kw: MobileNetSpace(**{**_DIGITS_MBV3, **kw}),
}
_BUILTIN = frozenset(_REGISTRY)


def register_space(
    name: str, factory: Callable[..., SearchSpace], *, overwrite: bool = False
) -> None:
    """Make a space available by name to :func:`get_space` (and every ``space=`` parameter).

    Parameters
    ----------
    name : str
        The registry name.
    factory : callable
        ``factory(**overrides)`` returns the space, e.g. a :class:`SearchSpace`
        subclass; ``get_space(name, image_sizes=...)`` passes the overrides on.
    overwrite : bool, default=False
        Replace an existing entry of that name (the built-in spaces cannot be replaced).

    Raises
    ------
    ValueError
        For an empty name, a name already registered (unless ``overwrite``) or a
        built-in space's name.
    TypeError
        When ``factory`` is not callable or does not return a :class:`SearchSpace`.

    Examples
    --------
    >>> from sklearn_ofa.spaces import MobileNetSpace, get_space, register_space
    >>> register_space("mbv3_small_images", lambda **kw: MobileNetSpace(
    ...     "mbv3", **{"image_sizes": [128, 160], "name": "mbv3_small_images", **kw}))
    >>> get_space("mbv3_small_images").image_sizes
    (128, 160)
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name = {name!r} must be a non-empty string")
    if name in _BUILTIN:
        raise ValueError(f"name = {name!r} is a built-in space; built-in names: {sorted(_BUILTIN)}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(
            f"name = {name!r} is already registered; pass overwrite=True to replace it"
        )
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    space = factory()
    if not isinstance(space, SearchSpace):
        raise TypeError(f"factory() must return a SearchSpace, got {type(space).__name__}")
    if space.name != name:
        raise ValueError(
            f"factory() returned a space named {space.name!r}, expected name = {name!r}"
        )
    _REGISTRY[name] = factory


def list_spaces() -> list[str]:
    """Names accepted by :func:`get_space`.

    Returns
    -------
    list of str
        The registered space names, sorted.

    Examples
    --------
    >>> "ofa_mbv3_w1.2" in list_spaces()
    True
    """
    return sorted(_REGISTRY)


def get_space(space: Any, **overrides: Any) -> SearchSpace:
    """Return a search space by name (or pass a :class:`SearchSpace` through).

    Parameters
    ----------
    space : str or SearchSpace
        One of :func:`list_spaces`, or a space object (returned as is).
    **overrides
        Constructor arguments that change the defaults, e.g. ``image_sizes``.

    Returns
    -------
    SearchSpace
        The space (a new one when ``overrides`` are given).

    Examples
    --------
    >>> get_space("ofa_resnet50").image_sizes
    (128, 144, 160, 176, 192, 224, 240, 256)
    >>> get_space("ofa_mbv3_w1.0", image_sizes=[160, 224]).image_sizes
    (160, 224)
    """
    if isinstance(space, SearchSpace):
        if overrides:
            cfg = {**space.get_config(), **overrides}
            return type(space)(**cfg)
        return space
    if isinstance(space, dict) and "family" in space:
        return MobileNetSpace(**space)
    if not isinstance(space, str):
        raise TypeError(
            f"space must be a name (one of {list_spaces()}) or a SearchSpace, "
            f"got {type(space).__name__}"
        )
    if space not in _REGISTRY:
        raise ValueError(f"space = {space!r} is not known; allowed values: {list_spaces()}")
    return _REGISTRY[space](**overrides)
