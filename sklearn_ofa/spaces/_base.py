"""Search-space machinery shared by every space: genes, validation, codes, sampling.

An architecture ("arch") is a dict with OFA's keys, e.g. ``{"ks": [...], "e":
[...], "d": [...], "image_size": 224}``. A batch of archs becomes a *code matrix*:
one row per arch, one int16 column per gene (the index of the chosen value), and
``-1`` for per-block genes of block slots that the depth switches off.
Everything downstream (encoder, FLOPs, latency tables, search) works on codes.
"""

from __future__ import annotations

import abc
import itertools
import json
import operator
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .._checks import check_int, check_real, is_int, is_real
from ..exceptions import ArchTypeError, ArchValueError, NetConfigError
from ._blocks import Block
from ._codes import CheckedCodes, Codes, CodeTranslator

__all__ = ["Gene", "Unit", "SearchSpace", "CODE_DTYPE", "Codes"]

CODE_DTYPE = np.int16
_CHUNK = 65_536  # rows per block of large temporaries


@dataclass(frozen=True)
class Gene:
    """One column of the code matrix: ``arch[key][pos]`` (or ``arch[key]`` when pos is None).

    Parameters
    ----------
    key : str
        The arch key (``"ks"``, ``"e"``, ``"d"``, ``"image_size"``, ...).
    pos : int or None
        Position in the list ``arch[key]``; None for a scalar key.
    choices : tuple
        The allowed values; a code is an index into it.

    Examples
    --------
    >>> from sklearn_ofa.spaces import get_space
    >>> gene = get_space("ofa_mbv3_w1.2").genes[0]
    >>> gene.label, gene.choices
    ('ks[0]', (3, 5, 7))
    """

    key: str
    pos: int | None
    choices: tuple

    @property
    def label(self) -> str:
        """``key[pos]``, or ``key`` for a scalar gene (as error messages name it)."""
        return self.key if self.pos is None else f"{self.key}[{self.pos}]"


@dataclass(frozen=True)
class Unit:
    """One place of the block walk, and the gene columns its block depends on.

    ``build(values)`` gets the decoded gene values (None for an inactive slot)
    in the order of ``columns`` and returns a :class:`Block` or None.

    Parameters
    ----------
    name : str
        Name of the place (e.g. ``"first_conv"``, ``"slot3"``).
    columns : tuple of int
        The gene columns the block depends on.
    build : callable
        ``build(values) -> Block or None``.

    Examples
    --------
    >>> from sklearn_ofa.spaces import get_space
    >>> unit = get_space("ofa_mbv3_w1.2").units[0]
    >>> unit.name, len(unit.columns) > 0
    ('first_conv', True)
    """

    name: str
    columns: tuple[int, ...]
    build: Callable[[tuple], Block | None]


def _fmt_choices(choices: Sequence) -> str:
    return "[" + ", ".join(repr(c) for c in choices) + "]"


def _as_array(codes: Any) -> np.ndarray:
    try:
        return np.asarray(codes)
    except (TypeError, ValueError):
        raise ArchTypeError(
            f"codes must be a rectangular integer matrix, got {type(codes).__name__}"
        ) from None


_INT_TYPES = (int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
_REAL_TYPES = _INT_TYPES + (float, np.float16, np.float32, np.float64)


def _check_value_types(values: list, kind: str) -> None:
    """Raise TypeError (the slow path then names the field) unless every value is a
    number of the key's kind: ints for ``"int"`` keys, ints or floats otherwise."""
    allowed = _INT_TYPES if kind == "int" else _REAL_TYPES
    if not set(map(type, values)).issubset(allowed):
        raise TypeError


#: Short labels of per-block-slot arch keys in :meth:`SearchSpace.describe`.
_SLOT_LABELS = {"ks": "k", "e": "e", "w": "w"}


def from_ofa_form(arch: Any, where: str = "arch") -> Any:
    """An arch dict in OFA's own form (``"r": [224]``, ``"wid": None``) in the package's form.

    OFA's tutorials and DyNAS-T write the resolution as ``r`` (a one-element
    list) and add ``wid`` (None for the MobileNets, whose widths are fixed by
    the space). Any other input is returned unchanged.

    Parameters
    ----------
    arch : dict
        An arch dict, in either form.
    where : str, default="arch"
        How error messages name it.

    Returns
    -------
    dict
        ``image_size`` in place of ``r``, without ``wid``.

    Raises
    ------
    ArchValueError
        ``r`` is not one image size, both ``r`` and ``image_size`` are given, or
        ``wid`` is not None.

    Examples
    --------
    >>> from_ofa_form({"ks": [3], "e": [4], "d": [2], "r": [224], "wid": None})
    {'ks': [3], 'e': [4], 'd': [2], 'image_size': 224}
    """
    if not isinstance(arch, dict) or ("r" not in arch and "wid" not in arch):
        return arch
    wid = arch.get("wid")
    if wid is not None:
        raise ArchValueError(
            f"{where}['wid'] = {wid!r} is not allowed; allowed values: [None] (OFA's form; "
            "the widths are fixed by the space)"
        )
    out = {k: v for k, v in arch.items() if k not in ("r", "wid")}
    if "r" in arch:
        if "image_size" in arch:
            raise ArchValueError(f"{where} has both 'r' and 'image_size'; give one of them")
        r = arch["r"]
        if isinstance(r, (list, tuple)):
            if len(r) != 1:
                raise ArchValueError(
                    f"{where}['r'] = {r!r} must hold one image size (OFA's form, e.g. [224])"
                )
            r = r[0]
        out["image_size"] = r
    return out


class SearchSpace(abc.ABC):
    """Abstract base of a search space: subclasses declare genes, slots and the block walk.

    A subclass implements :meth:`get_config` and :meth:`build_units` and sets, in
    ``__init__`` (then calls :meth:`finish_setup`):

    - ``name``: registry name;
    - ``arch_keys``: ordered arch keys, each a list key or ``"image_size"``;
    - ``genes``: list of :class:`Gene` in code-column order;
    - ``slot_keys``: the per-block-slot list keys (e.g. ``("ks", "e")``);
    - ``slot_stage``, ``slot_pos``: stage and position within stage of every slot;
    - ``stage_depth_key``/``stage_depth_pos``/``stage_base_depth``: where each
      stage's depth gene lives and the depth it always has on top of it;
    - ``value_kind``: per key, ``"int"`` or ``"float"``.

    Optional hooks: :meth:`net_config` / :meth:`from_net_config` (OFA's
    ``net.config``), :meth:`feature_columns` and :meth:`feature_prefix` (the
    encoder's layout and feature names). The docs page "Adding a search space"
    builds one step by step.

    Examples
    --------
    >>> from sklearn_ofa.spaces import SearchSpace, get_space
    >>> space = get_space("ofa_mbv3_w1.2")
    >>> isinstance(space, SearchSpace), space.n_genes
    (True, 46)
    >>> archs = space.sample(2, random_state=0)
    >>> space.from_codes(space.to_codes(archs)) == archs
    True
    """

    name: str = "space"
    #: constructor arguments that only list choices: spaces that differ only in these
    #: translate each other's codes value by value (see :meth:`structure_config`)
    choice_params: tuple[str, ...] = ("image_sizes",)
    arch_keys: tuple[str, ...] = ()
    genes: list[Gene]
    slot_keys: tuple[str, ...] = ()
    value_kind: dict[str, str]

    # ------------------------------------------------------------------ setup
    def finish_setup(self) -> None:
        """Derive the column lookups and the block walk; call it at the end of ``__init__``.

        Checks that every arch key has genes and that the slot and stage facts
        agree with them, then calls :meth:`build_units`.

        Raises
        ------
        ValueError
            When the declared genes, slots or stages are inconsistent.
        """
        self._check_declaration()
        self.n_genes = len(self.genes)
        self.key_columns: dict[str, np.ndarray] = {}
        for key in self.arch_keys:
            self.key_columns[key] = np.array(
                [i for i, g in enumerate(self.genes) if g.key == key], dtype=np.intp
            )
        self.key_length = {
            k: (None if self.genes[c[0]].pos is None else len(c))
            for k, c in self.key_columns.items()
        }
        self.n_slots = len(self.slot_stage)
        self.slot_stage = np.asarray(self.slot_stage, dtype=np.intp)
        self.slot_pos = np.asarray(self.slot_pos, dtype=np.intp)
        self.stage_base_depth = np.asarray(self.stage_base_depth, dtype=np.intp)
        depth_cols = self.key_columns[self.stage_depth_key][list(self.stage_depth_pos)]
        self.stage_depth_cols = np.asarray(depth_cols, dtype=np.intp)
        # depth value per stage and code: padded lookup (stage, code) -> depth value
        width = max(len(self.genes[c].choices) for c in self.stage_depth_cols)
        self._depth_values = np.zeros((len(self.stage_depth_cols), width), dtype=np.intp)
        for s, c in enumerate(self.stage_depth_cols):
            ch = self.genes[c].choices
            self._depth_values[s, : len(ch)] = ch
        # slot gene columns: (n_slot_keys, n_slots)
        self.slot_columns = np.stack([self.key_columns[k] for k in self.slot_keys])
        self.n_choices = np.array([len(g.choices) for g in self.genes], dtype=np.intp)
        self._non_slot_columns = np.setdiff1d(np.arange(self.n_genes), self.slot_columns.ravel())
        self._column_slot = np.full(self.n_genes, self.n_slots, dtype=np.intp)  # gene -> slot
        for cols in self.slot_columns:
            self._column_slot[cols] = np.arange(self.n_slots)
        self._choice_arrays = [np.asarray(g.choices) for g in self.genes]
        self._build_value_luts()
        self._units = list(self.build_units())
        self._feature_columns = np.asarray(self.feature_columns(), dtype=np.intp)

    def _check_declaration(self) -> None:
        where = type(self).__name__
        for attr in (
            "name",
            "arch_keys",
            "genes",
            "slot_keys",
            "slot_stage",
            "slot_pos",
            "stage_depth_key",
            "stage_depth_pos",
            "stage_base_depth",
            "value_kind",
        ):
            if not hasattr(self, attr):
                raise ValueError(f"{where} must set {attr!r} before finish_setup()")
        keys = {g.key for g in self.genes}
        if "image_size" not in self.arch_keys:
            raise ValueError(f"{where}.arch_keys = {self.arch_keys!r} must include 'image_size'")
        if keys != set(self.arch_keys):
            raise ValueError(
                f"{where}.arch_keys = {list(self.arch_keys)} must be the gene keys {sorted(keys)}"
            )
        if set(self.value_kind) != keys or not set(self.value_kind.values()) <= {"int", "float"}:
            raise ValueError(
                f"{where}.value_kind = {self.value_kind!r} must map every key of "
                f"{sorted(keys)} to 'int' or 'float'"
            )
        for k in self.slot_keys:
            n = sum(g.key == k for g in self.genes)
            if n != len(self.slot_stage):
                raise ValueError(
                    f"{where}: slot key {k!r} has {n} genes, expected one per slot "
                    f"({len(self.slot_stage)})"
                )
        if len(self.slot_pos) != len(self.slot_stage):
            raise ValueError(f"{where}: slot_pos and slot_stage must have one entry per slot")
        n_stages = len(set(self.slot_stage))
        if len(self.stage_depth_pos) != n_stages or len(self.stage_base_depth) != n_stages:
            raise ValueError(
                f"{where}: stage_depth_pos and stage_base_depth need one entry per stage "
                f"({n_stages})"
            )

    @abc.abstractmethod
    def get_config(self) -> dict:
        """Constructor arguments that rebuild this space (JSON-friendly).

        Returns
        -------
        dict
            Keyword arguments of the subclass's constructor.
        """

    @abc.abstractmethod
    def build_units(self) -> list[Unit]:
        """The places of the block walk, in forward order (called by :meth:`finish_setup`).

        Returns
        -------
        list of Unit
            Each with the gene columns its block depends on.
        """

    # ------------------------------------------------------------ features
    def feature_columns(self) -> np.ndarray:
        """Code columns in the order the encoder's one-hot groups follow (a hook).

        The default: the image size, then every gene that is neither a block-slot
        gene nor a stage depth (in column order), then the slot genes, key by key.
        This is OFA's ``arch2feature`` layout for its MobileNet and ResNet spaces,
        and it keeps every extra global gene of a new space.

        Returns
        -------
        ndarray of int
            Column indices, one per one-hot group.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_resnet50")
        >>> [space.genes[c].label for c in space.feature_columns()[:3]]
        ['image_size', 'd[0]', 'w[0]']
        """
        r = self.key_columns["image_size"]
        skip = set(self.slot_columns.ravel().tolist()) | set(self.stage_depth_cols.tolist())
        skip |= set(r.tolist())
        others = [c for c in range(self.n_genes) if c not in skip]
        cols = [r, np.asarray(others, dtype=np.intp)]
        cols += [self.key_columns[k] for k in self.slot_keys]
        return np.concatenate(cols).astype(np.intp)

    def feature_prefix(self, col: int) -> str:
        """How the one-hot features of gene column ``col`` are named (a hook).

        Slot genes are named after their stage and block (``stage2_block1_ks``),
        scalar genes after their key, other list genes ``key`` + position.

        Parameters
        ----------
        col : int
            A gene column.

        Returns
        -------
        str
            The prefix; a feature is ``prefix_value``.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> get_space("ofa_mbv3_w1.2").feature_prefix(0)
        'stage1_block1_ks'
        """
        gene = self.genes[col]
        slot = int(self._column_slot[col])
        if slot < self.n_slots:
            return f"stage{self.slot_stage[slot] + 1}_block{self.slot_pos[slot] + 1}_{gene.key}"
        return gene.key if gene.pos is None else f"{gene.key}{gene.pos}"

    def feature_names(self) -> list[str]:
        """Names of the encoder's features: ``prefix_value`` for every column and choice.

        Returns
        -------
        list of str
            In the order of :meth:`feature_columns`.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> get_space("ofa_mbv3_w1.2", image_sizes=[160, 224]).feature_names()[:3]
        ['image_size_160', 'image_size_224', 'stage1_block1_ks_3']
        """
        names = []
        for c in self._feature_columns:
            prefix = self.feature_prefix(int(c))
            names += [
                f"{prefix}_{v:g}" if isinstance(v, float) else f"{prefix}_{v}"
                for v in self.genes[c].choices
            ]
        return names

    def _build_value_luts(self) -> None:
        """Per key: vectorised value -> code lookup."""
        self._key_choices: dict[str, list[tuple]] = {}
        self._int_luts: dict[tuple, np.ndarray] = {}
        for key, cols in self.key_columns.items():
            self._key_choices[key] = [self.genes[c].choices for c in cols]
            allc = [v for c in cols for v in self.genes[c].choices]
            if all(is_int(v) and 0 <= v <= 4096 for v in allc):
                lut = np.full((len(cols), max(allc) + 1), -1, dtype=np.intp)
                for j, c in enumerate(cols):
                    for code, v in enumerate(self.genes[c].choices):
                        lut[j, v] = code
                self._int_luts[tuple(cols.tolist())] = lut

    # ------------------------------------------------------------ properties
    @property
    def image_sizes(self) -> tuple[int, ...]:
        """The input resolutions of the space (choices of the ``image_size`` gene)."""
        return self.genes[self.key_columns["image_size"][0]].choices

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SearchSpace)
            and type(self) is type(other)
            and self._signature() == other._signature()
        )

    def __hash__(self) -> int:
        return hash(self._signature())

    def _signature(self) -> tuple:
        sig = self.__dict__.get("_signature_cache")
        if sig is None:
            sig = (self.name, tuple(self.genes), json.dumps(self.get_config(), sort_keys=True))
            self._signature_cache = sig
        return sig

    def structure_config(self) -> dict:
        """The constructor arguments that fix the blocks built from gene values: everything
        but the choice lists (:attr:`choice_params`) and the name.

        Returns
        -------
        dict
            Constructor argument to value.
        """
        return {
            k: v for k, v in self.get_config().items() if k not in self.choice_params + ("name",)
        }

    def describe(self) -> str:
        """The space's name plus what sets it apart from the registered space of that name
        (e.g. ``'digits_mbv3' (image_sizes=[16, 32])``), for error messages.

        Returns
        -------
        str
            The description.
        """
        from . import _REGISTRY  # lazy: the registry imports this module

        diff = dict(self.get_config())
        if self.name in _REGISTRY:
            try:
                default = _REGISTRY[self.name]().get_config()
            except (TypeError, ValueError):  # pragma: no cover - registry entries build
                default = {}
            diff = {k: v for k, v in diff.items() if default.get(k) != v and k != "name"}
        else:
            diff = {k: diff[k] for k in ("image_sizes",) if k in diff}
        extra = ", ".join(f"{k}={v!r}" for k, v in diff.items())
        return f"{self.name!r}" + (f" ({extra})" if extra else "")

    def translator_from(self, source: "SearchSpace") -> CodeTranslator:
        """The cached exact translator of ``source``'s codes into this space's codes.

        Parameters
        ----------
        source : SearchSpace
            The space to translate from.

        Returns
        -------
        CodeTranslator
            Cached per source space.

        Raises
        ------
        SpaceMismatchError
            When the two spaces' genes or network structure differ.
        """
        cache = self.__dict__.setdefault("_translators", {})
        key = source._signature()
        if key not in cache:
            cache[key] = CodeTranslator(source, self)
        return cache[key]

    def translate_codes(self, codes: Any, source: "SearchSpace") -> np.ndarray:
        """Codes of ``source`` as codes of this space (checked first in ``source``).

        Raises :class:`~sklearn_ofa.exceptions.SpaceMismatchError`, naming both
        spaces, when the spaces are incompatible or a value has no code here.

        Parameters
        ----------
        codes : array-like of int
            Codes of ``source``.
        source : SearchSpace
            The space that made ``codes``.

        Returns
        -------
        Codes
            The same archs as codes of this space.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> full = get_space("digits_mbv3")
        >>> small = get_space("digits_mbv3", image_sizes=[16, 32])
        >>> arch = dict(full.sample(1, random_state=0)[0], image_size=16)
        >>> codes = full.to_codes([arch])
        >>> small.from_codes(small.translate_codes(codes, full))[0]["image_size"]
        16
        """
        if source is self or source == self:
            return self.check_codes(codes)
        checked = source.check_codes(codes)
        return Codes(self.translator_from(source)(checked), self)

    # the block-walk units hold closures: pickle, deepcopy and skops store the config instead
    def __getstate__(self) -> dict:
        return {"config": self.get_config()}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state["config"])

    # ------------------------------------------------------------ validation
    def validate(self, arch: Any, *, where: str = "arch") -> dict:
        """Check one arch dict and return a canonical copy (plain Python values).

        Parameters
        ----------
        arch : dict
            The arch.
        where : str, default="arch"
            How error messages name it (e.g. ``"archs[3]"``).

        Returns
        -------
        dict
            The canonical copy.

        Raises
        ------
        ArchTypeError
            ``arch`` is not a mapping, or a field has the wrong type.
        ArchValueError
            A key is missing or unknown, a list has the wrong length, or a value
            is not one of the allowed choices. The message names the field, the
            position, the value and the allowed values.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> space.validate({"ks": [3] * 20, "e": [6] * 20, "d": [4] * 5, "image_size": 7})
        Traceback (most recent call last):
        ...
        sklearn_ofa.exceptions.ArchValueError: arch['image_size'] = 7 is not allowed; allowed values: [128, 132, ...
        """
        if not isinstance(arch, dict):
            try:
                arch = dict(arch)
            except (TypeError, ValueError):
                raise ArchTypeError(
                    f"{where} must be a dict with keys {list(self.arch_keys)}, "
                    f"got {type(arch).__name__}"
                ) from None
        arch = from_ofa_form(arch, where)
        missing = [k for k in self.arch_keys if k not in arch]
        if missing:
            raise ArchValueError(
                f"{where} is missing key {missing[0]!r}; required keys: {list(self.arch_keys)}"
            )
        unknown = [k for k in arch if k not in self.arch_keys]
        if unknown:
            raise ArchValueError(
                f"{where} has unknown key {unknown[0]!r}; allowed keys: {list(self.arch_keys)}"
            )
        out: dict = {}
        for key in self.arch_keys:
            value = arch[key]
            choices = self._key_choices[key]
            length = self.key_length[key]
            if length is None:
                out[key] = self._check_value(value, choices[0], f"{where}[{key!r}]", key)
                continue
            if isinstance(value, np.ndarray):
                value = value.tolist()
            if not isinstance(value, (list, tuple)):
                raise ArchTypeError(
                    f"{where}[{key!r}] must be a list of {length} values, "
                    f"got {type(value).__name__} {value!r}"
                )
            if len(value) != length:
                raise ArchValueError(
                    f"{where}[{key!r}] must have {length} entries, got {len(value)}"
                )
            out[key] = [
                self._check_value(v, choices[i], f"{where}[{key!r}][{i}]", key)
                for i, v in enumerate(value)
            ]
        return out

    def _check_value(self, value: Any, choices: tuple, label: str, key: str) -> Any:
        kind = self.value_kind.get(key, "int")
        ok_type = is_int(value) if kind == "int" else is_real(value)
        if not ok_type:
            want = "an int" if kind == "int" else "a number"
            raise ArchTypeError(
                f"{label} must be {want} (one of {_fmt_choices(choices)}), "
                f"got {type(value).__name__} {value!r}"
            )
        for c in choices:
            if (kind == "int" and value == c) or (kind != "int" and abs(value - c) < 1e-9):
                return c
        raise ArchValueError(
            f"{label} = {value!r} is not allowed; allowed values: {_fmt_choices(choices)}"
        )

    # ------------------------------------------------------------------ codes
    def to_codes(self, archs: Any) -> np.ndarray:
        """Convert archs to a code matrix (``int16``, shape ``(n_archs, n_genes)``).

        Accepts a list of arch dicts, one dict, or a pandas DataFrame with one
        column per arch key. Validation is vectorised; on the first bad arch the
        error names its row, field, position, value and allowed values.

        Parameters
        ----------
        archs : list of dict, dict or DataFrame
            The archs.

        Returns
        -------
        Codes
            Tagged with this space.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> codes = space.to_codes(space.sample(3, random_state=0))
        >>> codes.shape
        (3, 46)
        """
        archs = self.as_arch_list(archs)
        n = len(archs)
        codes = Codes(np.empty((n, self.n_genes), dtype=CODE_DTYPE), self)
        if n == 0:
            return codes
        nkeys = len(self.arch_keys)
        try:
            if set(map(len, archs)) != {nkeys}:
                raise ValueError
            for key in self.arch_keys:
                cols = self.key_columns[key]
                codes[:, cols] = self._key_to_codes(archs, key, cols)
        except (KeyError, TypeError, ValueError, IndexError):
            # slow path: find the first bad arch and raise its precise error
            for i, a in enumerate(archs):
                self.validate(a, where=f"archs[{i}]")
            raise
        self.mask_inactive(codes)
        return codes

    def as_codes(self, X: Any) -> np.ndarray:
        """Codes of ``X`` in this space, checked.

        - :class:`Codes` made by this space pass through (range-checked);
        - :class:`Codes` of another space are translated exactly, or refused with a
          :class:`~sklearn_ofa.exceptions.SpaceMismatchError` naming both spaces;
        - a plain integer matrix is checked for width, range and depth
          consistency (it cannot say which space made it: prefer :class:`Codes`);
        - anything else (arch dicts, one dict, a DataFrame) goes through :meth:`to_codes`.

        Every estimator over archs accepts these forms through this method, so a
        search can skip the dict conversion.

        Parameters
        ----------
        X : Codes, int array, list of arch dicts, dict or DataFrame
            The archs.

        Returns
        -------
        numpy.ndarray
            ``int16`` codes of shape ``(n_archs, n_genes)`` of this space.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> codes = space.sample_codes(5, random_state=0)
        >>> space.as_codes(codes) is not None
        True
        """
        if isinstance(X, np.ndarray) and X.dtype != object:
            return self.check_codes(X)
        return self.to_codes(X)

    def _key_to_codes(self, archs: list, key: str, cols: np.ndarray) -> np.ndarray:
        """Codes of one arch key for all archs; ``ValueError``/``TypeError`` on a bad value."""
        n, length = len(archs), self.key_length[key]
        values = map(operator.itemgetter(key), archs)
        lut = self._int_luts.get(tuple(cols.tolist()))
        kind = self.value_kind.get(key, "int")
        if length is not None and lut is not None and lut.shape[1] <= 256:
            values = list(values)
            if set(map(len, values)) != {length}:
                raise ValueError
            try:  # small ints: bytes() converts them in C (and refuses floats and strings)
                flat = np.frombuffer(bytes(itertools.chain.from_iterable(values)), np.uint8)
                out = self._ints_to_codes(flat.reshape(n, length), lut)
            except (TypeError, ValueError):
                pass  # floats, negatives, > 255: the general path below decides
            else:
                if (lut[:, :2] >= 0).any():  # 0 or 1 is a choice: bytes() took bools for them
                    _check_value_types(list(itertools.chain.from_iterable(values)), kind)
                return out
        if length is None:
            values = list(values)
            _check_value_types(values, kind)
            flat = np.fromiter(values, dtype=np.float64, count=n)
        else:
            values = list(itertools.chain.from_iterable(values))
            _check_value_types(values, kind)
            flat = np.fromiter(values, dtype=np.float64, count=n * length)
        return self._values_to_codes(flat.reshape(n, len(cols)), cols)

    @staticmethod
    def _ints_to_codes(iv: np.ndarray, lut: np.ndarray) -> np.ndarray:
        """Look non-negative ints up in a ``(n_cols, max_value + 1)`` value -> code table."""
        width = lut.shape[1]
        if iv.max(initial=0) >= width:
            raise ValueError
        flat_index = iv + (np.arange(lut.shape[0], dtype=np.intp) * width)[None, :]
        out = lut.ravel().take(flat_index)
        if (out < 0).any():
            raise ValueError
        return out

    def _values_to_codes(self, values: np.ndarray, cols: np.ndarray) -> np.ndarray:
        lut = self._int_luts.get(tuple(cols.tolist()))
        if lut is not None:  # small non-negative int choices: one table lookup
            iv = values.astype(np.intp)
            if not ((iv == values) & (iv >= 0)).all():
                raise ValueError  # handled by the slow path, which names the field
            return self._ints_to_codes(iv, lut)
        out = np.full(values.shape, -1, dtype=np.intp)
        for j, c in enumerate(cols):
            choices = self._choice_arrays[c].astype(np.float64)
            diff = np.abs(values[:, j, None] - choices[None, :])
            idx = diff.argmin(axis=1)
            ok = diff[np.arange(len(idx)), idx] < 1e-9
            out[ok, j] = idx[ok]
        bad = np.argwhere(out < 0)
        if len(bad):
            raise ValueError  # handled by the slow path, which names the field
        return out

    def as_arch_list(self, archs: Any) -> list:
        """The archs of a batch as a list of dicts, unchecked (see :meth:`validate`).

        Parameters
        ----------
        archs : dict, list of dict or pandas.DataFrame
            One arch, a list of archs, or a frame with one arch per row.

        Returns
        -------
        list of dict
            The archs, in order.

        Raises
        ------
        ArchTypeError
            For a code matrix or anything that is not a batch of dicts.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> len(space.as_arch_list(space.sample(1, random_state=0)[0]))
        1
        """
        if isinstance(archs, dict):
            out = [archs]
        elif hasattr(archs, "to_dict") and hasattr(archs, "columns"):  # pandas DataFrame
            out = archs.to_dict(orient="records")
        elif isinstance(archs, np.ndarray) and archs.dtype != object:
            raise ArchTypeError(
                "expected a list of arch dicts; for a code matrix use from_codes / the codes API"
            )
        else:
            try:
                out = list(archs)
            except TypeError:
                raise ArchTypeError(
                    f"expected a list of arch dicts, got {type(archs).__name__}"
                ) from None
        if any(isinstance(a, dict) and ("r" in a or "wid" in a) for a in out):
            out = [from_ofa_form(a, f"archs[{i}]") for i, a in enumerate(out)]
        return out

    def describe_arch(self, arch: Any) -> str:
        """A one-line summary of a subnet (OFA's ``module_str`` in short): resolution, depths, then the active blocks per stage.

        Blocks that the depths switch off are left out; per-block genes are
        written as ``k<kernel>e<expand>`` (``w<width>`` where the space has it).

        Parameters
        ----------
        arch : dict
            An arch of the space (validated; OFA's ``r``/``wid`` form accepted).

        Returns
        -------
        str
            E.g. ``"r224 d=2-2-2-2-2 | k3e3 k3e3 | k3e3 k3e3 | ..."``.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> arch = {"ks": [7] * 20, "e": [6] * 20, "d": [2, 3, 4, 2, 2], "image_size": 224}
        >>> space.describe_arch(arch)
        'r224 d=2-3-4-2-2 | k7e6 k7e6 | k7e6 k7e6 k7e6 | k7e6 k7e6 k7e6 k7e6 | k7e6 k7e6 | k7e6 k7e6'
        """
        arch = self.validate(arch)
        active = self.active_mask(self.to_codes([arch]))[0]
        slot_keys = [k for k in self.arch_keys if self.key_length[k] == self.n_slots]
        head = [f"r{arch['image_size']}"] + [
            f"{k}={'-'.join(map(str, arch[k]))}"
            for k in self.arch_keys
            if k != "image_size" and k not in slot_keys
        ]
        stages: dict[int, list[str]] = {}
        for slot in np.flatnonzero(active):
            label = "".join(f"{_SLOT_LABELS.get(k, k)}{arch[k][slot]:g}" for k in slot_keys)
            stages.setdefault(int(self.slot_stage[slot]), []).append(label)
        return " | ".join([" ".join(head)] + [" ".join(v) for _, v in sorted(stages.items())])

    def active_mask(self, codes: np.ndarray) -> np.ndarray:
        """Which block slots the depths switch on.

        Parameters
        ----------
        codes : ndarray of int, shape (n_archs, n_genes)
            Masked or full codes; only the depth genes are read (not checked).

        Returns
        -------
        ndarray of bool, shape (n_archs, n_slots)
            True where the block slot is switched on.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> int(space.active_mask(np.zeros((1, space.n_genes), dtype=np.int16)).sum())
        10
        """
        codes = np.asarray(codes)
        depth_codes = codes[:, self.stage_depth_cols].astype(np.intp)
        depth = self._depth_values[np.arange(len(self.stage_depth_cols))[None, :], depth_codes]
        depth = depth + self.stage_base_depth[None, :]
        return self.slot_pos[None, :] < depth[:, self.slot_stage]

    def mask_codes(self, codes: Any) -> np.ndarray:
        """A copy of in-range ``codes`` with ``-1`` in every block slot the depths switch off.

        Full codes (every gene >= 0, as ``sample_codes(..., masked=False)`` and
        the full-code operators give) become valid codes of this space. For
        trusted int16 input in a hot loop, :meth:`mask_inactive` does the same
        in place without the checks.

        Parameters
        ----------
        codes : array-like of int, shape (n_archs, n_genes)
            Codes in ``-1..n_choices - 1``; ``-1`` outside block slots becomes 0.

        Returns
        -------
        Codes
            The int16 code matrix of this space.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> full = np.zeros((1, space.n_genes), dtype=np.int16)  # depth 2 everywhere
        >>> int((space.mask_codes(full) == -1).sum())  # ks and e of 10 switched-off slots
        20
        """
        arr = _as_array(codes)
        self._check_matrix(arr)
        out = np.array(arr, dtype=CODE_DTYPE)
        out[:, self._non_slot_columns] = np.maximum(out[:, self._non_slot_columns], 0)
        self.mask_inactive(out)
        return Codes(out, self)

    def mask_inactive(self, codes: np.ndarray) -> np.ndarray:
        """Set ``-1`` in place in every block slot the depths switch off; trusted input.

        The unchecked, in-place form of :meth:`mask_codes` for hot loops (the
        search calls it on every batch of candidates). Nothing is validated:
        pass an int16 matrix of shape ``(n_archs, n_genes)`` whose depth genes
        are valid codes (e.g. full codes from the operators of this space).

        Parameters
        ----------
        codes : ndarray of int16, shape (n_archs, n_genes)
            Modified in place.

        Returns
        -------
        ndarray
            ``codes`` itself.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> full = space.sample_codes(3, random_state=0, masked=False)
        >>> bool((space.mask_inactive(full.copy()) == space.mask_codes(full)).all())
        True
        """
        if len(codes) > _CHUNK:  # row blocks: the masks are (rows x slots) temporaries
            for start in range(0, len(codes), _CHUNK):
                self.mask_inactive(codes[start : start + _CHUNK])
            return codes
        inactive = np.zeros((len(codes), self.n_slots + 1), dtype=bool)  # last: not a slot
        inactive[:, :-1] = ~self.active_mask(codes)
        np.putmask(codes, inactive[:, self._column_slot], -1)
        return codes

    def check_codes(self, codes: Any) -> np.ndarray:
        """Validate a code matrix (shape, range, inactive marks) and return it as int16.

        :class:`Codes` of another space are translated (see :meth:`as_codes`).

        Parameters
        ----------
        codes : array-like of int
            Shape ``(n_archs, n_genes)``; ``-1`` marks a switched-off slot.

        Returns
        -------
        numpy.ndarray
            The codes as ``int16``.

        Raises
        ------
        ArchTypeError
            The codes are not integers (floats, bools, strings).
        ArchValueError
            Wrong width, a code out of range, or slots that disagree with the depths.
        SpaceMismatchError
            :class:`Codes` of a space this one cannot decode exactly.
        """
        if type(codes) is CheckedCodes and codes.space is self:
            return codes.view(np.ndarray)
        source = getattr(codes, "space", None)
        if source is not None and source is not self and isinstance(codes, Codes):
            if source != self:
                return np.asarray(self.translate_codes(codes, source))
        arr = np.asarray(codes) if isinstance(codes, np.ndarray) else _as_array(codes)
        self._check_matrix(arr)
        arr = arr.astype(CODE_DTYPE, copy=False)
        if not len(arr) or self._codes_consistent(arr):
            return arr
        expected = arr.copy()
        self.mask_inactive(expected)
        non_slot = np.ones(self.n_genes, dtype=bool)
        non_slot[self.slot_columns.ravel()] = False
        bad = (expected != arr) | ((arr == -1) & non_slot[None, :])
        active_cols = np.zeros_like(arr, dtype=bool)
        mask = self.active_mask(arr) if len(arr) else np.zeros((0, self.n_slots), bool)
        for cols in self.slot_columns:
            active_cols[:, cols] = mask
        bad |= active_cols & (arr == -1)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ArchValueError(
                f"codes[{r}, {c}] ({self.genes[c].label}) = {arr[r, c]} disagrees with the "
                "depth genes: inactive block slots must be -1 and active ones >= 0"
            )
        return arr

    def _check_matrix(self, arr: np.ndarray) -> None:
        """Integer dtype, ``(n, n_genes)`` shape, every code in ``-1..n_choices - 1``."""
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
            raise ArchTypeError(
                f"codes must be an integer matrix (one row per arch, {self.n_genes} columns "
                f"for space {self.name!r}), got dtype {arr.dtype}"
            )
        if arr.ndim != 2 or arr.shape[1] != self.n_genes:
            raise ArchValueError(
                f"codes must have shape (n_archs, {self.n_genes}) for space {self.name!r}, "
                f"got {arr.shape}"
            )
        if len(arr) and (arr.min(axis=0).min() < -1 or (arr.max(axis=0) >= self.n_choices).any()):
            r, c = np.argwhere((arr < -1) | (arr >= self.n_choices[None, :]))[0]
            raise ArchValueError(
                f"codes[{r}, {c}] ({self.genes[c].label}) = {arr[r, c]} is out of range; "
                f"allowed: -1 (inactive) or 0..{self.n_choices[c] - 1}"
            )

    def _codes_consistent(self, arr: np.ndarray) -> bool:
        """In-range codes agree with their depths: slot genes are -1 exactly where
        inactive, every other gene is >= 0."""
        non_slot = self._non_slot_columns
        if len(non_slot) and (arr[:, non_slot].min(axis=0) < 0).any():
            return False
        on = arr[:, self.slot_columns.ravel()].reshape(len(arr), len(self.slot_columns), -1)
        return bool(((on >= 0) == self.active_mask(arr)[:, None, :]).all())

    def from_codes(self, codes: Any) -> list[dict]:
        """Convert a code matrix back to arch dicts.

        Inactive block slots get the first choice of their gene (OFA archs carry
        a value there that the network ignores).

        Parameters
        ----------
        codes : Codes or array-like of int
            Shape ``(n_archs, n_genes)`` (checked, translated if of another space).

        Returns
        -------
        list of dict
            One arch dict per row.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_resnet50")
        >>> archs = space.sample(2, random_state=1)
        >>> codes = space.to_codes(archs)
        >>> bool((space.to_codes(space.from_codes(codes)) == codes).all())
        True
        """
        if not isinstance(codes, np.ndarray):
            codes = _as_array(codes)
        if codes.ndim == 1:  # one row
            codes = codes[None, :]
        codes = self.check_codes(codes).astype(np.intp)
        filled = np.where(codes < 0, 0, codes)
        per_key = {}
        for key, cols in self.key_columns.items():
            vals = (
                np.stack([self._choice_arrays[c][filled[:, c]] for c in cols], axis=1)
                if len(codes)
                else np.zeros((0, len(cols)))
            )
            per_key[key] = vals.tolist()
        out = []
        for i in range(len(codes)):
            arch = {}
            for key in self.arch_keys:
                row = per_key[key][i]
                arch[key] = row[0] if self.key_length[key] is None else row
            out.append(arch)
        return out

    # ------------------------------------------------------------- operators
    # Sampling, mutation and crossover, one set for users and the search. The
    # *full-code* operators work on codes with a value in every gene, also in
    # switched-off slots (a hidden value, as an arch dict keeps one), so that a
    # depth mutation that switches a slot back on restores it; they check
    # nothing (trusted input, hot loops) and :meth:`mask_inactive` masks them.
    # The ``*_codes`` methods check their input, fill, apply the operator, mask.
    def sample_codes(self, n: int, random_state: Any = None, *, masked: bool = True) -> np.ndarray:
        """Sample ``n`` archs uniformly per gene (as OFA does) and return their codes.

        Parameters
        ----------
        n : int
            Number of archs.
        random_state : int, numpy Generator or None, default=None
            A Generator is used (and advanced) as it is.
        masked : bool, default=True
            False returns *full* codes instead: a plain int16 array with a
            value in every gene, also in switched-off block slots (the input
            of :meth:`mutate_full_codes` and :meth:`crossover_full_codes`).

        Returns
        -------
        Codes or ndarray of int16, shape (n, n_genes)
            Codes of this space, or plain full codes with ``masked=False``.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> codes = space.sample_codes(4, random_state=0)
        >>> full = space.sample_codes(4, random_state=0, masked=False)
        >>> bool((full >= 0).all()), bool((space.mask_codes(full) == codes).all())
        (True, True)
        """
        n = check_int("n", n, low=0)
        if not isinstance(masked, (bool, np.bool_)):
            raise TypeError(f"masked must be True or False, got {masked!r}")
        rng = np.random.default_rng(random_state)
        # drawn in row blocks (same stream as one draw) to keep float64 temporaries small
        out = np.empty((n, self.n_genes), dtype=CODE_DTYPE)
        for start in range(0, n, _CHUNK):
            block = rng.random((min(_CHUNK, n - start), self.n_genes))
            block *= self.n_choices[None, :]
            out[start : start + len(block)] = block
        return Codes(self.mask_inactive(out), self) if masked else out

    def sample(self, n: int, random_state: Any = None) -> list[dict]:
        """Sample ``n`` arch dicts (see :meth:`sample_codes`).

        Parameters
        ----------
        n : int
            Number of archs.
        random_state : int, numpy Generator or None, default=None
            Seed or Generator.

        Returns
        -------
        list of dict
            One arch dict per sample.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> arch = get_space("ofa_mbv3_w1.2").sample(1, random_state=0)[0]
        >>> sorted(arch)
        ['d', 'e', 'image_size', 'ks']
        """
        return self.from_codes(self.sample_codes(n, random_state))

    def fill_inactive(self, codes: Any, random_state: Any = None) -> np.ndarray:
        """Full codes of checked ``codes``: a random value in every switched-off slot.

        Parameters
        ----------
        codes : array-like of int, shape (n_archs, n_genes)
            Codes of this space (checked with :meth:`check_codes`).
        random_state : int, numpy Generator or None, default=None
            Seed or Generator for the hidden values.

        Returns
        -------
        ndarray of int16, shape (n_archs, n_genes)
            Full codes: ``codes`` where active, random values elsewhere.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> codes = space.sample_codes(3, random_state=0)
        >>> full = space.fill_inactive(codes, random_state=1)
        >>> bool((full >= 0).all()), bool((space.mask_codes(full) == codes).all())
        (True, True)
        """
        rng = np.random.default_rng(random_state)
        codes = self.check_codes(codes)
        hidden = self.sample_codes(len(codes), rng, masked=False)
        return np.where(codes < 0, hidden, codes).astype(CODE_DTYPE, copy=False)

    def mutate_full_codes(
        self, full: np.ndarray, mutate_prob: Any, random_state: Any = None
    ) -> np.ndarray:
        """Mutated copy of full codes: each gene redrawn uniformly with its probability.

        Trusted input, nothing is checked (the search calls this on every batch).

        Parameters
        ----------
        full : ndarray of int16, shape (n_archs, n_genes)
            Full codes (every gene >= 0), e.g. from ``sample_codes(masked=False)``.
        mutate_prob : float or ndarray of shape (n_genes,)
            Probability that each gene is redrawn; one per gene lets genes such
            as the image size mutate at their own rate.
        random_state : int, numpy Generator or None, default=None
            A Generator is used (and advanced) as it is.

        Returns
        -------
        ndarray of int16, shape (n_archs, n_genes)
            Full codes; :meth:`mask_inactive` masks them.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> full = space.sample_codes(5, random_state=0, masked=False)
        >>> prob = np.zeros(space.n_genes)
        >>> prob[-1] = 1.0  # redraw only the last gene
        >>> child = space.mutate_full_codes(full, prob, random_state=1)
        >>> bool((child[:, :-1] == full[:, :-1]).all())
        True
        """
        rng = np.random.default_rng(random_state)
        child = np.array(full, dtype=CODE_DTYPE)
        rows, cols = np.nonzero(rng.random(child.shape) < mutate_prob)
        child[rows, cols] = (rng.random(len(rows)) * self.n_choices[cols]).astype(CODE_DTYPE)
        return child

    def crossover_full_codes(
        self, full_a: np.ndarray, full_b: np.ndarray, random_state: Any = None
    ) -> np.ndarray:
        """Uniform crossover of full codes: each gene from either parent row, equally likely.

        Trusted input, nothing is checked (the search calls this on every batch).

        Parameters
        ----------
        full_a, full_b : ndarray of int16, shape (n_archs, n_genes)
            Full codes of the parents, row ``i`` of each crossed with the other.
        random_state : int, numpy Generator or None, default=None
            A Generator is used (and advanced) as it is.

        Returns
        -------
        ndarray of int16, shape (n_archs, n_genes)
            The children's full codes (mask them with :meth:`mask_inactive`).

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> a = space.sample_codes(5, random_state=0, masked=False)
        >>> child = space.crossover_full_codes(a, a[::-1], random_state=1)
        >>> bool(((child == a) | (child == a[::-1])).all())
        True
        """
        rng = np.random.default_rng(random_state)
        return np.where(rng.integers(0, 2, size=np.shape(full_a), dtype=bool), full_b, full_a)

    def mutate_codes(
        self, codes: Any, mutate_prob: float = 0.1, random_state: Any = None
    ) -> np.ndarray:
        """Resample each gene with probability ``mutate_prob`` (vectorised over rows).

        Block slots that a mutated depth switches on get random values.

        Parameters
        ----------
        codes : array-like of int, shape (n_archs, n_genes)
            Codes of this space (checked).
        mutate_prob : float, default=0.1
            Probability that each gene is redrawn, in [0, 1].
        random_state : int, numpy Generator or None, default=None
            Seed or Generator.

        Returns
        -------
        Codes
            The mutated codes of this space, row by row.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> codes = space.sample_codes(4, random_state=0)
        >>> bool((space.mutate_codes(codes, mutate_prob=0.0, random_state=1) == codes).all())
        True
        """
        mutate_prob = check_real("mutate_prob", mutate_prob, low=0, high=1)
        rng = np.random.default_rng(random_state)
        full = self.fill_inactive(codes, rng)
        return Codes(self.mask_inactive(self.mutate_full_codes(full, mutate_prob, rng)), self)

    def crossover_codes(self, codes_a: Any, codes_b: Any, random_state: Any = None) -> np.ndarray:
        """Uniform crossover: each gene from either parent with equal probability.

        Parameters
        ----------
        codes_a, codes_b : array-like of int, shape (n_archs, n_genes)
            Codes of this space (checked), row ``i`` of each crossed with the other.
        random_state : int, numpy Generator or None, default=None
            Seed or Generator.

        Returns
        -------
        Codes
            The children's codes of this space.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> a = space.sample_codes(4, random_state=0)
        >>> bool((space.crossover_codes(a, a, random_state=1) == a).all())
        True
        """
        rng = np.random.default_rng(random_state)
        a = self.fill_inactive(codes_a, rng)
        b = self.fill_inactive(codes_b, rng)
        if a.shape != b.shape:
            raise ArchValueError(f"parents must have the same shape, got {a.shape} and {b.shape}")
        return Codes(self.mask_inactive(self.crossover_full_codes(a, b, rng)), self)

    def mutate(self, archs: Any, mutate_prob: float = 0.1, random_state: Any = None) -> list[dict]:
        """Mutate arch dicts (see :meth:`mutate_codes`).

        Parameters
        ----------
        archs : list of dict
            Archs of this space.
        mutate_prob : float, default=0.1
            Probability that each gene is redrawn.
        random_state : int, numpy Generator or None, default=None
            Seed or Generator.

        Returns
        -------
        list of dict
            The mutated archs.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_resnet50")
        >>> archs = space.sample(2, random_state=0)
        >>> space.mutate(archs, mutate_prob=0.0, random_state=1) == archs
        True
        """
        return self.from_codes(self.mutate_codes(self.to_codes(archs), mutate_prob, random_state))

    def crossover(self, archs_a: Any, archs_b: Any, random_state: Any = None) -> list[dict]:
        """Cross over two equally long lists of arch dicts (see :meth:`crossover_codes`).

        Parameters
        ----------
        archs_a, archs_b : list of dict
            Parents, element ``i`` of each crossed with the other.
        random_state : int, numpy Generator or None, default=None
            Seed or Generator.

        Returns
        -------
        list of dict
            The children.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_resnet50")
        >>> archs = space.sample(2, random_state=0)
        >>> space.crossover(archs, archs, random_state=1) == archs
        True
        """
        return self.from_codes(
            self.crossover_codes(self.to_codes(archs_a), self.to_codes(archs_b), random_state)
        )

    # ------------------------------------------------------------ block walk
    @property
    def units(self) -> list[Unit]:
        """The places of the block walk, each with the gene columns it depends on."""
        return self._units

    def decode_row(self, row: np.ndarray, columns: Iterable[int]) -> tuple:
        """The gene values of ``columns`` in one code row (None where the code is ``-1``).

        Parameters
        ----------
        row : ndarray of int
            One row of a checked code matrix.
        columns : iterable of int
            Gene columns, e.g. a unit's ``columns``.

        Returns
        -------
        tuple
            The decoded values, as :class:`Unit` builders receive them.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> arch = {"ks": [3] * 20, "e": [4] * 20, "d": [2] * 5, "image_size": 224}
        >>> space.decode_row(space.to_codes([arch])[0], [0, 20, 45])
        (3, 4, 224)
        """
        return tuple(None if row[c] < 0 else self.genes[c].choices[int(row[c])] for c in columns)

    def blocks(self, arch: Any) -> list[Block]:
        """The blocks of the static subnet ``arch``, in forward order.

        Parameters
        ----------
        arch : dict
            An arch of this space (validated).

        Returns
        -------
        list of Block
            One per layer of the subnet.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> arch = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "image_size": 224}
        >>> [b.name for b in space.blocks(arch)][:3]
        ['Conv', 'expanded_conv', 'expanded_conv']
        """
        row = self.to_codes([arch] if isinstance(arch, dict) else arch)[0]
        return self.blocks_from_codes(row)

    def blocks_from_codes(self, row: np.ndarray) -> list[Block]:
        """The block walk for one code row.

        Parameters
        ----------
        row : numpy.ndarray
            One row of a checked code matrix.

        Returns
        -------
        list of Block
            As :meth:`blocks` of the decoded arch.
        """
        out = []
        for unit in self.units:
            blk = unit.build(self.decode_row(row, unit.columns))
            if blk is not None:
                out.append(blk)
        return out

    def unit_radices(self) -> list[np.ndarray]:
        """Per unit: the mixed-radix strides of its columns (each code shifted by +1).

        Returns
        -------
        list of numpy.ndarray
            One array of strides per unit.
        """
        out = []
        for unit in self.units:
            sizes = [int(self.n_choices[c]) + 1 for c in unit.columns]
            strides = np.ones(len(sizes), dtype=np.intp)
            for i in range(len(sizes) - 2, -1, -1):
                strides[i] = strides[i + 1] * sizes[i + 1]
            out.append(strides)
        return out

    def unit_sizes(self) -> np.ndarray:
        """Size of each unit's table: the product of ``n_choices + 1`` over its columns.

        Returns
        -------
        numpy.ndarray
            One size per unit.
        """
        return np.array(
            [int(np.prod([int(self.n_choices[c]) + 1 for c in u.columns])) for u in self.units],
            dtype=np.intp,
        )

    def unit_offsets(self) -> np.ndarray:
        """Start of each unit's table inside one flat table.

        Returns
        -------
        numpy.ndarray
            One offset per unit.
        """
        sizes = self.unit_sizes()
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)

    def _unit_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Cached ``(weights, offsets)``: ``unit_index = (codes + 1) @ weights + offsets``.

        ``weights[c, u]`` is the mixed-radix stride of gene column ``c`` in unit
        ``u`` (0 where the unit does not use the column).
        """
        cached = self.__dict__.get("_unit_layout_cache")
        if cached is None:
            weights = np.zeros((self.n_genes, len(self.units)), dtype=np.float64)
            for u, (unit, radix) in enumerate(zip(self.units, self.unit_radices())):
                weights[list(unit.columns), u] = radix
            offsets = self.unit_offsets().astype(np.float64)
            if self.unit_table_size() < 2**24:  # float32 products and sums are exact below 2**24
                weights, offsets = weights.astype(np.float32), offsets.astype(np.float32)
            cached = (weights, offsets)
            self._unit_layout_cache = cached
        return cached

    def unit_index(self, codes: np.ndarray) -> np.ndarray:
        """``(n_archs, n_units)`` indices into a flat per-unit table (see :meth:`unit_entries`).

        The flat index of unit ``u`` is ``offset[u] + sum_c (code[c] + 1) * stride[c, u]``,
        computed for the whole batch as one matrix product (exact: every partial
        sum is an integer below the table size).

        Parameters
        ----------
        codes : numpy.ndarray
            A checked code matrix of this space.

        Returns
        -------
        numpy.ndarray
            Integer indices of shape ``(n_archs, n_units)``.
        """
        weights, offsets = self._unit_layout()
        c1 = np.asarray(codes).astype(weights.dtype)
        c1 += 1
        idx = c1 @ weights
        idx += offsets
        return idx.astype(np.intp)

    def unit_entries(self, with_values: bool = False) -> Iterator[tuple]:
        """Every reachable ``(flat_index, unit_index, block)`` of the flat table.

        With ``with_values=True`` the tuples are ``(flat_index, unit_index,
        values, block)``, ``values`` being the decoded gene values of the
        unit's columns. Entries not listed here cannot occur in a valid code
        matrix.

        Parameters
        ----------
        with_values : bool, default=False
            Also yield the decoded gene values of each entry.

        Yields
        ------
        tuple
            ``(flat_index, unit_index, block)`` or, with values,
            ``(flat_index, unit_index, values, block)``; ``block`` may be None.
        """
        slot_cols = set(self.slot_columns.ravel().tolist())
        offsets = self.unit_offsets()
        for u, (unit, strides) in enumerate(zip(self.units, self.unit_radices())):
            ranges = []
            for c in unit.columns:
                lo = -1 if c in slot_cols else 0
                ranges.append(range(lo, int(self.n_choices[c])))
            slot_in_unit = [c in slot_cols for c in unit.columns]
            for combo in itertools.product(*ranges):
                inactive = [v < 0 for v, s in zip(combo, slot_in_unit) if s]
                if inactive and any(inactive) and not all(inactive):
                    continue
                flat = int(offsets[u] + sum((v + 1) * s for v, s in zip(combo, strides)))
                values = tuple(
                    None if v < 0 else self.genes[c].choices[v] for v, c in zip(combo, unit.columns)
                )
                if with_values:
                    yield flat, u, values, unit.build(values)
                else:
                    yield flat, u, unit.build(values)

    def unit_table_size(self) -> int:
        """Size of the flat per-unit table (the sum of :meth:`unit_sizes`).

        Returns
        -------
        int
            The number of entries.
        """
        return int(self.unit_sizes().sum())

    # -------------------------------------------------------------- net.config
    def net_config(self, arch: Any) -> dict:
        """OFA's ``net.config`` dict of the static subnet ``arch``.

        Parameters
        ----------
        arch : dict
            An arch of this space.

        Returns
        -------
        dict
            The ``net.config``.

        Raises
        ------
        NetConfigError
            When the space has no ``net.config`` format (the default of this hook).
        """
        raise self._no_net_config()

    def from_net_config(self, config: dict, image_size: int) -> dict:
        """Parse an OFA ``net.config`` (and input size) back into an arch of this space.

        Parameters
        ----------
        config : dict
            An OFA ``net.config``.
        image_size : int
            Input resolution of the subnet.

        Returns
        -------
        dict
            The arch.

        Raises
        ------
        NetConfigError
            When the config is malformed or its network is not in this space,
            or the space has no ``net.config`` format (the default of this hook).
        """
        raise self._no_net_config()

    def build(self, arch: Any):
        """Build the static PyTorch subnet of ``arch``: :func:`sklearn_ofa.nets.build_subnet`.

        Parameters
        ----------
        arch : dict
            An arch of this space.

        Returns
        -------
        torch.nn.Module
            The subnet, in eval mode.
        """
        from ..nets import build_subnet  # lazy: spaces never import torch

        return build_subnet(self, arch)

    def _no_net_config(self) -> NetConfigError:
        return NetConfigError(
            f"space {self.name!r} ({type(self).__name__}) has no net.config format: "
            "implement net_config/from_net_config to build or measure its subnets"
        )

    def _not_in_space(self, what: str) -> NetConfigError:
        return NetConfigError(f"net.config does not belong to space {self.name!r}: {what}")
