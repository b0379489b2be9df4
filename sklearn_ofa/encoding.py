"""ArchEncoder: architectures <-> OFA-compatible one-hot features.

The space decides the layout (:meth:`SearchSpace.feature_columns`); for OFA's
spaces it is OFA's ``arch2feature``:

- MobileNet spaces (MobileNetV3, ProxylessNAS): image-size one-hot, then one
  kernel-size one-hot per block slot, then one expand-ratio one-hot per slot;
- ResNet50: image-size one-hot, input-stem skip (2 columns), width-index
  one-hot per width place, then one expand-ratio one-hot per block slot;
- a new space: image size, its other global genes, then its slot genes.

Block slots switched off by the depth genes are all zero. Every one-hot group
is one gene column of the space's code matrix, so encoding is a vectorised
comparison of the codes against ``0..n_choices-1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._checks import check_int_list
from ._versioning import VersionStampMixin
from .exceptions import ArchTypeError, ArchValueError
from .spaces import SearchSpace, get_space

__all__ = ["ArchEncoder", "feature_gene_columns"]


def feature_gene_columns(space: SearchSpace) -> np.ndarray:
    """Code-matrix columns in the order their one-hot groups appear in the features.

    The space decides (:meth:`SearchSpace.feature_columns`); this is its cached result.

    Parameters
    ----------
    space : SearchSpace
        The space.

    Returns
    -------
    numpy.ndarray
        Column indices of the code matrix, one per one-hot group.

    Examples
    --------
    >>> from sklearn_ofa.encoding import feature_gene_columns
    >>> from sklearn_ofa.spaces import get_space
    >>> space = get_space("ofa_mbv3_w1.2")
    >>> space.genes[feature_gene_columns(space)[0]].label
    'image_size'
    """
    return space._feature_columns.copy()


def _is_empty_batch(X: Any) -> bool:
    """An empty list/tuple, a 0-row DataFrame or an empty 1-D array (no columns to check)."""
    if isinstance(X, (list, tuple)):
        return len(X) == 0
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        return len(X) == 0
    return isinstance(X, np.ndarray) and X.ndim == 1 and X.size == 0


_MAX_CHUNK_STATES = 256
#: Rows encoded per block: bounds the temporaries of a large batch.
_ROW_CHUNK = 65536


def _chunk_plan(cols: np.ndarray, sizes: np.ndarray) -> dict:
    """Plan the encoding as table look-ups of whole row pieces.

    Consecutive one-hot groups with the same number of choices are packed into
    chunks of up to ``_MAX_CHUNK_STATES`` joint states (code -1 included); each
    chunk is one ``np.take`` of a precomputed float32 piece into a structured
    row, so the output is written once, contiguously.
    """
    fields, layout = [], []
    start = 0
    while start < len(cols):
        k = int(sizes[start])
        stop = start
        while stop < len(cols) and sizes[stop] == k:
            stop += 1
        per_chunk = max(1, int(np.floor(np.log(_MAX_CHUNK_STATES) / np.log(k + 1) + 1e-9)))
        while start < stop:
            m = min(per_chunk, stop - start)
            count = (stop - start) // m
            chunk_cols = cols[start : start + count * m]
            states = (k + 1) ** m
            digits = np.indices((k + 1,) * m).reshape(m, -1).T  # (states, m), code + 1
            table = np.zeros((states, m, k), dtype=np.float32)
            for j in range(m):
                on = digits[:, j] > 0
                table[np.nonzero(on)[0], j, digits[on, j] - 1] = 1.0
            base = [(k + 1) ** (m - 1 - j) for j in range(m)]
            if (np.diff(chunk_cols) == 1).all():  # a slice is cheaper than a gather
                chunk_cols = slice(int(chunk_cols[0]), int(chunk_cols[-1]) + 1)
            name = f"f{len(fields)}"
            void = np.dtype((np.void, 4 * m * k))
            fields.append((name, chunk_cols, base, table.reshape(states, -1).view(void).ravel()))
            layout.append((name, void, (count,)))
            start += count * m
    return {"dtype": np.dtype(layout), "fields": fields}


class ArchEncoder(VersionStampMixin, TransformerMixin, BaseEstimator):
    """One-hot encode architectures of a search space in OFA's ``arch2feature`` layout.

    Parameters
    ----------
    space : str or SearchSpace, default="ofa_mbv3_w1.2"
        The search space (a name of :func:`sklearn_ofa.spaces.get_space` or a space object).
    image_sizes : sequence of int or None, default=None
        Image sizes of the resolution one-hot; ``None`` uses the space's sizes.
    depth_features : bool, default=False
        Append one depth one-hot per stage (``stage1_depth_2``, ...) after OFA's
        features. ``False`` gives OFA's ``arch2feature`` exactly (what OFA's
        pretrained predictors read); :func:`~sklearn_ofa.make_accuracy_pipeline`
        turns it on, which made real ImageNet top-1 easier to learn (see the
        user guide).

    Attributes
    ----------
    space_ : SearchSpace
        The space used (with ``image_sizes`` applied).
    gene_columns_ : ndarray of int
        Code-matrix column of every one-hot group, in feature order.
    feature_offsets_ : ndarray of int
        First feature column of every one-hot group.
    n_features_out_ : int
        Number of features.

    Examples
    --------
    >>> from sklearn_ofa import ArchEncoder
    >>> enc = ArchEncoder("ofa_mbv3_w1.2").fit()
    >>> arch = {"ks": [3] * 20, "e": [6] * 20, "d": [2] * 5, "image_size": 224}
    >>> X = enc.transform([arch])
    >>> X.shape, X.dtype, int(X.sum())
    ((1, 145), dtype('float32'), 21)
    >>> enc.get_feature_names_out()[[24, 25, 85]].tolist()
    ['image_size_224', 'stage1_block1_ks_3', 'stage1_block1_e_3']
    >>> enc.inverse_transform(X)[0]["d"]
    [2, 2, 2, 2, 2]
    >>> enc_d = ArchEncoder("ofa_mbv3_w1.2", depth_features=True).fit()
    >>> enc_d.n_features_out_, enc_d.get_feature_names_out()[-3:].tolist()
    (160, ['stage5_depth_2', 'stage5_depth_3', 'stage5_depth_4'])
    """

    _parameter_constraints: dict = {
        "space": [str, SearchSpace],
        "image_sizes": ["array-like", None],
        "depth_features": ["boolean"],
    }

    def __init__(
        self,
        space: str | SearchSpace = "ofa_mbv3_w1.2",
        image_sizes: Any = None,
        depth_features: bool = False,
    ):
        self.space = space
        self.image_sizes = image_sizes
        self.depth_features = depth_features

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        tags.input_tags.two_d_array = False
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any = None, y: Any = None) -> "ArchEncoder":
        """Build the feature layout from the space; ``X`` and ``y`` are ignored.

        Parameters
        ----------
        X, y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        self : ArchEncoder

        Raises
        ------
        TypeError
            ``image_sizes`` holds something other than ints.
        """
        if self.image_sizes is None:
            space = get_space(self.space)
        else:
            space = get_space(
                self.space, image_sizes=check_int_list("image_sizes", self.image_sizes)
            )
        cols = feature_gene_columns(space)
        if self.depth_features:  # depth genes are one-hot groups like the others
            cols = np.concatenate([cols, space.stage_depth_cols]).astype(cols.dtype)
        sizes = space.n_choices[cols]
        self.space_ = space
        self.gene_columns_ = cols
        self.feature_offsets_ = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.n_features_out_ = int(sizes.sum())
        self._plan = _chunk_plan(cols, sizes)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Encode archs (list of dicts, one dict, a DataFrame, or a code matrix).

        Parameters
        ----------
        X : list of dict, dict, DataFrame or code matrix
            Validated by the space: a bad arch raises an error naming the field.
            An empty batch gives an empty result.

        Returns
        -------
        ndarray of float32, shape (n_archs, ``n_features_out_``)
        """
        check_is_fitted(self, "space_")
        if _is_empty_batch(X):
            return np.zeros((0, self.n_features_out_), dtype=np.float32)
        return self.transform_codes(self.space_.as_codes(X))

    def transform_codes(self, codes: np.ndarray) -> np.ndarray:
        """Encode a code matrix without validating it (the fast path of a search).

        ``codes`` must come from the space (``to_codes``, ``as_codes``,
        ``sample_codes``, ``mutate_codes``...); use :meth:`transform` for
        untrusted input.

        Parameters
        ----------
        codes : numpy.ndarray
            A code matrix of the space.

        Returns
        -------
        ndarray of shape (n_archs, n_features_out)
            The one-hot features, as :meth:`transform` gives them.
        """
        check_is_fitted(self, "space_")
        codes = np.asarray(codes)
        n_genes = self.space_.n_genes
        if codes.ndim != 2 or codes.shape[1] != n_genes:
            raise ArchValueError(
                f"codes must have shape (n_archs, {n_genes}) for space "
                f"{self.space_.name!r}, got {codes.shape}"
            )
        if codes.dtype.kind not in "iu":
            raise ArchTypeError(f"codes must be an integer matrix, got dtype {codes.dtype}")
        n = len(codes)
        out = np.empty(n, dtype=self._plan["dtype"])
        for start in range(0, n, _ROW_CHUNK):  # bounded temporaries for large batches
            self._encode_rows(codes[start : start + _ROW_CHUNK], out[start : start + _ROW_CHUNK])
        return out.view(np.float32).reshape(n, self.n_features_out_)

    def _encode_rows(self, codes: np.ndarray, out: np.ndarray) -> None:
        n = len(codes)
        for name, cols, base, table in self._plan["fields"]:
            digits = codes[:, cols]
            digits = digits.reshape(n, out[name].shape[1], len(base)) + np.int16(1)
            index = digits[:, :, 0] * np.int16(base[0])
            for i in range(1, len(base)):
                index += digits[:, :, i] * np.int16(base[i]) if base[i] != 1 else digits[:, :, i]
            np.take(table, index, out=out[name])

    def inverse_transform(self, X: Any) -> list[dict]:
        """Decode one-hot features back to arch dicts.

        Depths are recovered from the number of active block slots per stage;
        inactive slots get the first choice of their gene (see
        :meth:`SearchSpace.from_codes`).

        Parameters
        ----------
        X : array-like of shape (n_archs, n_features_out)
            One-hot features, as :meth:`transform` makes them.

        Returns
        -------
        list of dict
            One arch per row.
        """
        check_is_fitted(self, "space_")
        return self.space_.from_codes(self.inverse_transform_codes(X))

    def inverse_transform_codes(self, X: Any) -> np.ndarray:
        """Decode one-hot features to a code matrix.

        Parameters
        ----------
        X : array-like of shape (n_archs, n_features_out)
            One-hot features, as :meth:`transform` makes them.

        Returns
        -------
        numpy.ndarray
            The code matrix of the space.
        """
        check_is_fitted(self, "space_")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_out_:
            raise ArchValueError(
                f"X must have shape (n_archs, {self.n_features_out_}), got {X.shape}"
            )
        space = self.space_
        n = len(X)
        codes = np.zeros((n, space.n_genes), dtype=np.intp)
        sizes = space.n_choices[self.gene_columns_]
        for col, off, k in zip(self.gene_columns_, self.feature_offsets_, sizes):
            block = X[:, off : off + k]
            codes[:, col] = np.where(block.max(axis=1) > 0.5, block.argmax(axis=1), -1)
        active = codes[:, space.slot_columns[0]] >= 0
        for s, dcol in enumerate(space.stage_depth_cols):
            count = active[:, space.slot_stage == s].sum(axis=1) - space.stage_base_depth[s]
            choices = np.asarray(space.genes[dcol].choices)
            match = count[:, None] == choices[None, :]
            if not match.any(axis=1).all():
                r = int(np.nonzero(~match.any(axis=1))[0][0])
                raise ArchValueError(
                    f"X[{r}] has {count[r]} active blocks in stage {s + 1}; "
                    f"allowed depths: {list(choices)}"
                )
            codes[:, dcol] = match.argmax(axis=1)
        return space.check_codes(codes)

    # the look-up plan holds structured dtypes: rebuild it on load instead of storing it
    def __getstate__(self) -> dict:
        state = super().__getstate__()  # a copy, with the package version stamp
        state.pop("_plan", None)
        return state

    def __setstate__(self, state: dict) -> None:
        state = {"depth_features": False, **state}  # pickles made before the option
        super().__setstate__(state)  # warns when saved by another sklearn_ofa version
        if "space_" in state:
            self._plan = _chunk_plan(self.gene_columns_, self.space_.n_choices[self.gene_columns_])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Readable feature names, e.g. ``image_size_224`` or ``stage2_block1_ks_5``.

        Parameters
        ----------
        input_features : None
            Ignored (the input is arch dicts, not named columns).

        Returns
        -------
        ndarray of str
            One name per output feature.
        """
        check_is_fitted(self, "space_")
        names = self.space_.feature_names()
        if getattr(self, "depth_features", False):
            space = self.space_
            names += [
                f"stage{s + 1}_depth_{v}"
                for s, c in enumerate(space.stage_depth_cols)
                for v in space.genes[c].choices
            ]
        return np.asarray(names, dtype=object)
