"""Code matrices that know their space, and exact translation between compatible spaces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import SpaceMismatchError

if TYPE_CHECKING:  # pragma: no cover
    from ._base import SearchSpace

__all__ = ["Codes", "CodeTranslator"]


class Codes(np.ndarray):
    """An ``int16`` code matrix tagged with the :class:`SearchSpace` that made it.

    ``space.to_codes``, ``sample_codes``, ``mutate_codes`` and ``crossover_codes``
    return it. Every estimator decodes it with the space it names: codes of
    another space are translated value by value when that is exact (e.g. a
    space with fewer image sizes) and refused otherwise, naming both spaces.
    Row selections keep the tag; arithmetic gives a plain ``ndarray``.

    Parameters
    ----------
    array : array-like of int
        The code matrix (viewed, not copied, when it is an ndarray).
    space : SearchSpace
        The space whose codes these are (the attribute ``space``).

    Examples
    --------
    >>> from sklearn_ofa.spaces import get_space
    >>> codes = get_space("ofa_mbv3_w1.2").sample_codes(2, random_state=0)
    >>> codes.space.name, codes[:1].space.name
    ('ofa_mbv3_w1.2', 'ofa_mbv3_w1.2')
    """

    space: "SearchSpace | None"

    def __new__(cls, array: Any, space: "SearchSpace") -> "Codes":
        obj = np.asarray(array).view(cls)
        obj.space = space
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.space = getattr(obj, "space", None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(np.asarray(x) if isinstance(x, Codes) else x for x in inputs)
        out = kwargs.get("out")
        if out:
            kwargs["out"] = tuple(np.asarray(x) if isinstance(x, Codes) else x for x in out)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __reduce__(self):
        func, args, state = super().__reduce__()
        return func, args, (state, self.space)

    def __setstate__(self, state: tuple) -> None:
        nd_state, self.space = state
        super().__setstate__(nd_state)

    def __repr__(self) -> str:
        name = None if self.space is None else self.space.name
        return f"Codes({np.asarray(self)!r}, space={name!r})"


class CheckedCodes(Codes):
    """Codes their maker has already checked against ``space`` (private to the package).

    :meth:`SearchSpace.check_codes` passes them through without a second check.
    The search makes them from the space's own operators, so each of its
    millions of predictor calls skips a validation that cannot fail. Any
    arithmetic or ``np.asarray`` drops the mark, as it drops the :class:`Codes` tag.
    """


class CodeTranslator:
    """Vectorised, exact code conversion from space ``src`` to space ``dst``.

    The spaces must have the same genes (keys and positions) and build the
    same blocks from the same values; their choice lists may differ (e.g. other
    image sizes or kernel sizes). A value of ``src`` that ``dst`` lacks is
    refused when met, naming the gene, the value and both spaces.

    Parameters
    ----------
    src, dst : SearchSpace
        The spaces to translate from and to.

    Raises
    ------
    SpaceMismatchError
        The spaces have other genes or build other networks.

    Examples
    --------
    >>> from sklearn_ofa.spaces import CodeTranslator, MobileNetSpace, get_space
    >>> src = get_space("ofa_mbv3_w1.2")
    >>> dst = MobileNetSpace("mbv3", width_mult=1.2, image_sizes=[160, 224], name="two_sizes")
    >>> codes = src.to_codes([{"ks": [3] * 20, "e": [6] * 20, "d": [4] * 5, "image_size": 224}])
    >>> int(CodeTranslator(src, dst)(codes)[0, -1])  # 224 is choice 1 of dst
    1
    """

    def __init__(self, src: "SearchSpace", dst: "SearchSpace"):
        self.src, self.dst = src, dst
        same_genes = [(g.key, g.pos) for g in src.genes] == [(g.key, g.pos) for g in dst.genes]
        if not same_genes or src.structure_config() != dst.structure_config():
            what = "genes" if not same_genes else "network structure (widths, strides, ...)"
            raise SpaceMismatchError(
                f"codes of space {src.describe()} cannot be decoded by space {dst.describe()}: "
                f"their {what} differ; convert through arch dicts "
                "(src.from_codes, then dst.to_codes) or use estimators of the same space"
            )
        self.identity = all(a.choices == b.choices for a, b in zip(src.genes, dst.genes))
        sizes = src.n_choices + 1
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        table = np.full(int(sizes.sum()), -2, dtype=np.int16)
        for j, (a, b) in enumerate(zip(src.genes, dst.genes)):
            table[self.offsets[j]] = -1
            for code, value in enumerate(a.choices):
                if value in b.choices:
                    table[self.offsets[j] + 1 + code] = b.choices.index(value)
        self.table = table

    def check(self, allowed_codes: dict[int, np.ndarray], role: str = "codes") -> None:
        """Raise when a value ``src`` may produce (per column: ``allowed_codes``) is unknown
        to ``dst``.

        Parameters
        ----------
        allowed_codes : dict of int to ndarray
            Column index to the codes it may hold (all codes of the gene when absent).
        role : str, default="codes"
            What the codes are, for the error message.

        Raises
        ------
        SpaceMismatchError
            A code maps to a value ``dst`` lacks.
        """
        for j in range(self.src.n_genes):
            codes = allowed_codes.get(j, np.arange(self.src.n_choices[j]))
            bad = self.table[self.offsets[j] + 1 + codes] == -2
            if bad.any():
                gene = self.src.genes[j]
                values = [gene.choices[c] for c in codes[bad]]
                raise SpaceMismatchError(
                    f"{role}: {gene.label} values {values} of space {self.src.describe()} are "
                    f"not in space {self.dst.describe()}; allowed values: "
                    f"{list(self.dst.genes[j].choices)}"
                )

    def __call__(self, codes: np.ndarray, *, checked: bool = False) -> np.ndarray:
        """Translate an in-range code matrix of ``src``; raise on a value ``dst`` lacks.

        With ``checked=True`` the caller has already run :meth:`check` for every
        value it can pass, and the per-call check is skipped.
        """
        codes = np.asarray(codes)
        if self.identity:
            return codes
        out = self.table[self.offsets[None, :] + 1 + codes]
        if not checked and len(out) and out.min() == -2:
            r, c = np.argwhere(out == -2)[0]
            gene = self.src.genes[c]
            value = gene.choices[int(codes[r, c])]
            raise SpaceMismatchError(
                f"codes[{r}, {c}] ({gene.label}) = {value!r} of space {self.src.describe()} has "
                f"no code in space {self.dst.describe()}; allowed values: "
                f"{list(self.dst.genes[c].choices)}"
            )
        return out
