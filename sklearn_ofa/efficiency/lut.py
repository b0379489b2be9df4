"""LatencyTable: a latency lookup-table estimator whose ``fit`` profiles real PyTorch blocks."""

from __future__ import annotations

import numbers
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from .._checks import check_bool, check_predictions, is_bool, zero_samples_error
from .._constraints import int_interval, real_interval
from .._io import Journal
from .._versioning import VersionStampMixin
from ..exceptions import MissingBlockError
from ..spaces import Block, SearchSpace, get_space
from ._profile_worker import MALLOC_ENV, run_job, worker_settings
from .hybrid import HybridCalibration
from .ofa_yaml import check_latency_stats

__all__ = ["MALLOC_ENV", "LatencyTable"]

_DEVICE_RE = re.compile(r"cpu|cuda(:\d+)?")
BACKENDS = ("torch", "onnxruntime", "openvino")
STATISTICS = ("median", "mean", "min")  # of a block's or subnet's timed repeats


def _setting(settings: Mapping, field: str) -> Any:
    """A recorded measurement setting; tables and journals from before backends are torch's."""
    return settings.get(field, "torch" if field == "backend" else None)


#: Feature columns of the built-in calibrations: 0 is the block sum, 1.. the per-type sums.
_CALIBRATION_COLUMNS = {"linear": [0], "per_type": slice(1, None)}
_SETTING_FIELDS = (
    "backend",
    "device",
    "batch_size",
    "num_threads",
    "warmup",
    "repeats",
    "min_run_time",
    "fold_bn",
    "isolate",
)


class LatencyTable(VersionStampMixin, RegressorMixin, BaseEstimator):
    """Latency lookup table over a search space: ``predict`` sums per-block latencies.

    ``fit`` enumerates every distinct block the space needs at the chosen
    image sizes (or only those used by the archs in ``X``), builds each in
    PyTorch, measures it with :func:`~sklearn_ofa.efficiency.measure_latency`
    and stores the statistics in ``lut_`` plus a dense table, so that
    ``predict`` is one gather and one sum over a batch of architectures.
    When ``y`` (measured end-to-end latencies of the archs in ``X``) is given,
    ``fit`` also learns a correction on top of the block sum.

    No number enters or leaves silently: every latency of the table (OFA
    YAML files, ``table=``, the journal, fresh measurements) must be a finite
    number of milliseconds >= 0, calibration targets finite and > 0, and
    ``predict`` returns finite latencies >= 0 or raises ``ValueError``.
    Parameters are checked by ``fit`` with scikit-learn's
    ``_parameter_constraints`` (an
    :class:`~sklearn.utils._param_validation.InvalidParameterError`, both a
    ``ValueError`` and a ``TypeError``, names the parameter, its value and
    what is allowed).

    Parameters
    ----------
    space : str or SearchSpace, default="ofa_mbv3_w1.2"
        The search space (a name of :func:`~sklearn_ofa.spaces.list_spaces` or a space).
    backend : {"torch", "onnxruntime", "openvino"}, default="torch"
        What runs the blocks and subnets: PyTorch eager, or the block exported
        to ONNX (static shapes, opset 17) and run by ONNX Runtime or OpenVINO
        on the CPU (extras ``[onnx]`` / ``[openvino]``; a missing runtime is an
        ``ImportError`` naming the package). ``measure`` uses the same backend.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (``"cpu"`` only with a runtime backend).
    batch_size : int, default=1
        Samples per profiled forward pass.
    image_sizes : list of int, optional
        Resolutions to profile (and to accept in ``predict``); default: the space's.
    num_threads : int, default=1
        CPU threads while measuring (one thread is stable; two are bimodal on
        small machines).
    warmup, repeats : int
        Untimed and timed forward passes per block.
    min_run_time : float, optional
        Minimum seconds of timed passes per block.
    fold_bn : bool, default=False
        Fold BatchNorm into convolutions before measuring (torch backend; the
        runtimes fold it themselves).
    isolate : bool, default=True
        Measure in a child process started with the allocator variables
        :data:`MALLOC_ENV` (they only work when set before a process starts).
    statistic : {"median", "mean", "min"}, default="median"
        Which statistic of the timed repeats ``predict`` sums per block and
        :meth:`measure` returns per subnet (OFA's tables have ``mean`` only).
        ``"min"``, the fastest repeat, is the least disturbed by other load on
        a shared machine, but describes it at its quietest rather than its
        typical speed.
    calibration : {None, "linear", "per_type", "hybrid"} or regressor, default=None
        Correction fitted when ``y`` is given: ``"linear"`` is ``a * sum + b``,
        ``"per_type"`` one non-negative weight per block type (first conv,
        MBConv, head layers...) plus an intercept; ``"hybrid"`` a
        :class:`~sklearn_ofa.efficiency.hybrid.HybridCalibration` (the best by
        cross-validated MAPE of the two above and ridge models on block sums,
        per-type sums and counts, active blocks, MACs and image size); a
        scikit-learn regressor is fitted on ``[block sum, per-type sums]``.
        Every calibration also keeps its out-of-fold relative residuals for
        :meth:`predict_interval`. A calibration needs at least
        two distinct archs whose targets (and block sums) vary; ``y`` without a
        calibration is an error (it would be ignored).
    table : dict, LatencyTable or FrozenEstimator, optional
        Measurements to reuse instead of profiling: ``{image_size: {key:
        {"median"/"mean": ms, ...}}}``, a fitted table (its ``lut_`` and
        ``settings_`` are copied), or a fitted table wrapped in
        :class:`sklearn.frozen.FrozenEstimator`. Every entry must hold the
        chosen ``statistic``, as a finite number of ms >= 0, and the table
        must contain blocks of the space. Cross-validating a calibration then
        refits only the correction. scikit-learn's ``clone`` (used by
        ``cross_val_score``, ``GridSearchCV``...) unfits an estimator
        parameter, so pass ``FrozenEstimator(fitted_table)`` (or its
        ``lut_``) to an estimator that will be cloned.
    cache_path : str, optional
        Journal (JSON lines) of finished measurements: every measurement is
        appended and fsynced, a killed ``fit`` resumes from it.
    on_missing : {"raise", "profile"}, default="raise"
        What ``predict`` does with blocks not in the table: raise
        :class:`~sklearn_ofa.exceptions.MissingBlockError` naming them, or
        profile them on demand.
    verbose : bool, default=False
        A progress bar with ETA on stderr while profiling (``fit``) and
        measuring (``measure``).

    Attributes
    ----------
    space_ : SearchSpace
    lut_ : dict
        ``{image_size: {key: {"median", "mean", "std", "count", "macs"}}}``.
    settings_ : dict
        Measurement settings recorded with the table.
    n_blocks_ : int
        Distinct blocks measured or loaded.
    calibrator_ : estimator or None
    conformal_scores_ : ndarray or None
        Sorted out-of-fold relative residuals of the calibration (see
        :meth:`predict_interval`); None without a calibration.
    conformal_signed_scores_ : ndarray or None
        The same residuals with their sign, ``(y - pred) / pred``, sorted (see
        :meth:`predict_upper`); None without a calibration.

    Examples
    --------
    >>> from sklearn_ofa.efficiency import LatencyTable
    >>> from sklearn_ofa.spaces import MobileNetSpace
    >>> tiny = MobileNetSpace("mbv3", base_stage_width=[8, 8, 8, 16, 16, 24, 24, 32, 64],
    ...                       depth_list=[1, 2], ks_list=[3], expand_ratio_list=[3],
    ...                       image_sizes=[32], n_classes=10, name="tiny")
    >>> lut = LatencyTable(tiny, repeats=3, warmup=1, isolate=False).fit()
    >>> lut.predict(tiny.sample(2, random_state=0)).shape
    (2,)

    A calibration that reuses the measurements survives ``clone``:

    >>> from sklearn.base import clone
    >>> from sklearn.frozen import FrozenEstimator
    >>> cal = clone(LatencyTable(tiny, table=FrozenEstimator(lut), calibration="linear"))
    >>> archs = tiny.sample(6, random_state=1)
    >>> cal.fit(archs, 1.5 * lut.predict(archs) + 0.1).predict(archs).shape
    (6,)
    """

    _parameter_constraints: dict = {
        "space": [str, SearchSpace, dict],
        "backend": [StrOptions(set(BACKENDS))],
        "device": [str],
        "batch_size": [int_interval(1)],
        "image_sizes": ["array-like", None],
        "num_threads": [int_interval(1)],
        "warmup": [int_interval(0)],
        "repeats": [int_interval(1)],
        "min_run_time": [real_interval(0), None],
        "fold_bn": ["boolean"],
        "isolate": ["boolean"],
        "statistic": [StrOptions(set(STATISTICS))],
        "calibration": [
            StrOptions({"linear", "per_type", "hybrid"}),
            HasMethods(["fit", "predict"]),
            None,
        ],
        "table": [dict, None],  # and LatencyTable, added below the class
        "cache_path": [str, os.PathLike, None],
        "on_missing": [StrOptions({"raise", "profile"})],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        space: Any = "ofa_mbv3_w1.2",
        *,
        backend: str = "torch",
        device: str = "cpu",
        batch_size: int = 1,
        image_sizes: Iterable[int] | None = None,
        num_threads: int = 1,
        warmup: int = 5,
        repeats: int = 20,
        min_run_time: float | None = None,
        fold_bn: bool = False,
        isolate: bool = True,
        statistic: str = "median",
        calibration: Any = None,
        table: Any = None,
        cache_path: str | os.PathLike | None = None,
        on_missing: str = "raise",
        verbose: bool = False,
    ):
        self.space = space
        self.backend = backend
        self.device = device
        self.batch_size = batch_size
        self.image_sizes = image_sizes
        self.num_threads = num_threads
        self.warmup = warmup
        self.repeats = repeats
        self.min_run_time = min_run_time
        self.fold_bn = fold_bn
        self.isolate = isolate
        self.statistic = statistic
        self.calibration = calibration
        self.table = table
        self.cache_path = cache_path
        self.on_missing = on_missing
        self.verbose = verbose

    # ------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        """The checks ``_parameter_constraints`` cannot express (run after them)."""
        if not _DEVICE_RE.fullmatch(self.device):
            raise ValueError(
                f"device = {self.device!r} is not allowed; allowed values: 'cpu', 'cuda', 'cuda:N'"
            )
        if self.backend != "torch" and self.device != "cpu":
            raise ValueError(
                f"device = {self.device!r} is not allowed with backend = {self.backend!r}; allowed "
                "values: 'cpu' (the runtimes run on the CPU here; use backend='torch' for CUDA)"
            )
        if self.image_sizes is not None:
            sizes = list(self.image_sizes)
            bad = [r for r in sizes if is_bool(r) or not isinstance(r, numbers.Integral) or r < 1]
            if not sizes or bad:
                raise ValueError(
                    f"image_sizes = {self.image_sizes!r} is not allowed"
                    f"{f' (bad value {bad[0]!r})' if bad else ''}; allowed values: a non-empty list "
                    "of ints >= 1, or None for the space's"
                )

    def _resolve_space(self) -> SearchSpace:
        space = get_space(self.space)
        if self.image_sizes is not None:
            space = get_space(space, image_sizes=sorted({int(r) for r in self.image_sizes}))
        return space

    def _settings(self) -> dict:
        """The measurement settings recorded with the table (worker settings + isolation)."""
        return {
            **worker_settings(self),
            "isolate": bool(self.isolate),
            "allocator": dict(MALLOC_ENV)
            if self.isolate
            else {k: os.environ.get(k) for k in MALLOC_ENV},
        }

    # ---------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any = None, y: Any = None) -> LatencyTable:
        """Profile (or load) the blocks, build the dense table, calibrate when ``y`` is given.

        Parameters
        ----------
        X : list of arch dicts or code matrix, optional
            Profile only the blocks these archs use (default: every block of
            the space at ``image_sizes``). Required when ``y`` is given; at
            least one arch when given.
        y : array-like of shape (n_archs,), optional
            Measured end-to-end latency (ms, finite and > 0) of ``X``, for the
            calibration; only with ``calibration`` set.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            A bad parameter, an empty ``X``, a ``y`` without ``calibration`` or
            without ``X``, a ``y`` that is not finite and > 0, a degenerate
            calibration (fewer than two distinct archs, constant targets or
            block sums), or a table with a latency that is not a finite
            number of ms >= 0 or with no block of the space.
        """
        self._check_params()
        space = self._resolve_space()
        codes = None
        if X is not None:
            codes = space.as_codes(X)
            if len(codes) == 0:
                raise zero_samples_error(codes, self)
        if y is not None:
            if self.calibration is None:
                raise ValueError(
                    "y is given but calibration=None, so y would be ignored; set calibration to "
                    "'linear', 'per_type' or a regressor to learn a correction from y, or fit without y"
                )
            if codes is None:
                raise ValueError("y (measured latencies) needs X, the archs it was measured on")
            y = self._check_y(y, codes)
        self.space_ = space
        lut, settings = self._initial_lut()
        self.settings_ = settings
        needed = self._needed(space, codes)
        missing = {k: b for k, b in needed.items() if not any(k in lut.get(r, {}) for r in lut)}
        self.lut_ = lut
        profiled = False
        if missing and (self.table is None or self.on_missing == "profile"):
            self._profile(missing)
            profiled = True
        if self.table is not None and not profiled:
            self._check_table_fits(space, lut, "table")
        self._build_dense()
        self.calibrator_ = None
        self.conformal_scores_ = self.conformal_signed_scores_ = None
        if y is not None:
            self.calibrator_ = self._fit_calibrator(codes, y)
        return self

    def _check_y(self, y: Any, codes: np.ndarray) -> np.ndarray:
        """``y`` as float64 of shape (n_archs,): numbers, finite, > 0, varying, over >= 2 distinct archs."""
        arr = np.asarray(y)
        if arr.dtype.kind not in "iuf":
            raise TypeError(
                f"y must be measured latencies in ms (numbers), got dtype {arr.dtype}"
                + (" (bools are not latencies)" if arr.dtype.kind == "b" else "")
            )
        arr = check_array(
            arr,
            ensure_2d=False,
            dtype=np.float64,
            input_name="y",
            estimator=self,
            ensure_min_samples=0,
        )
        if arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != 1):
            raise ValueError(f"y must have shape (n_archs,), got {arr.shape}")
        arr = arr.ravel()
        if len(arr) != len(codes):
            raise ValueError(f"y has {len(arr)} values but X has {len(codes)} archs")
        bad = np.flatnonzero(~(arr > 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"y[{i}] = {float(arr[i])!r} is not allowed; allowed values: measured latencies > 0 ms"
            )
        n_distinct = len(np.unique(codes, axis=0))
        if n_distinct < 2:
            raise ValueError(
                f"calibration needs at least two distinct archs, but X has {len(codes)} sample(s) of "
                f"{n_distinct} distinct arch: a correction fitted on one arch would predict the same "
                "latency for every arch"
            )
        if np.all(arr == arr[0]):
            raise ValueError(
                f"calibration needs targets that vary, but y is constant ({float(arr[0])!r} ms for all "
                f"{len(arr)} archs): the correction would predict that constant for every arch"
            )
        return arr

    def _fit_calibrator(self, codes: np.ndarray, y: np.ndarray):
        calibrator = self._make_calibrator()
        F = self._features(codes)
        used = F[:, _CALIBRATION_COLUMNS.get(self.calibration, slice(None))]
        if np.all(used == used[:1]):
            raise ValueError(
                f"calibration needs block sums that vary, but the {len(codes)} archs of X have the "
                f"same block latencies ({float(F[0, 0])!r} ms in all): there is no slope to learn"
            )
        calibrator.fit(F, y)
        fitted = np.asarray(calibrator.predict(F), dtype=np.float64).ravel()
        if not np.isfinite(fitted).all():
            raise ValueError(
                f"calibration {self.calibration!r} predicts non-finite latencies on the archs it was "
                "fitted on"
            )
        if isinstance(calibrator, HybridCalibration):
            oof = calibrator.oof_predictions_
        else:
            folds = KFold(min(5, len(y)), shuffle=True, random_state=0)
            oof = cross_val_predict(clone(calibrator), F, y, cv=folds)
        oof = np.asarray(oof, dtype=np.float64).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            signed = np.where(oof > 0, (y - oof) / oof, np.inf)
        self.conformal_scores_ = np.sort(np.abs(signed))
        self.conformal_signed_scores_ = np.sort(signed)
        return calibrator

    def _initial_lut(self) -> tuple[dict, dict]:
        src = self.table
        if src is None:
            return {}, self._settings()
        if isinstance(src, FrozenEstimator):
            src = src.estimator
            if not isinstance(src, LatencyTable):
                raise TypeError(
                    "table = FrozenEstimator(...) must wrap a fitted LatencyTable, got "
                    f"FrozenEstimator({type(src).__name__})"
                )
        if isinstance(src, LatencyTable):
            check_is_fitted(src, "lut_")
            lut, settings = src.lut_, dict(src.settings_)
        else:
            lut, settings = src, {"source": "table"}
        return self._checked_table(lut), settings

    def _checked_table(self, src: Mapping) -> dict:
        """A deep copy of a ``table`` with int image sizes, every entry checked."""
        out: dict[int, dict] = {}
        for r, entries in src.items():
            size = _image_size_key(r)
            if not isinstance(entries, Mapping):
                raise ValueError(
                    f"table[{r!r}] must be a mapping {{block key: statistics}}, got {type(entries).__name__}"
                )
            if size in out:
                raise ValueError(f"table has two entries for image size {size} ({r!r})")
            checked = {}
            for key, st in entries.items():
                where = f"table[{r!r}][{key!r}]"
                if not isinstance(key, str):
                    raise ValueError(
                        f"table[{r!r}] key {key!r} is not allowed; allowed values: block keys (str)"
                    )
                check_latency_stats(st, where)
                if self.statistic not in st:
                    raise ValueError(
                        f"{where} has no {self.statistic!r} (it has {sorted(st)}); set statistic to one "
                        "the table has (OFA's tables have 'mean' only)"
                    )
                checked[key] = dict(st)
            out[size] = checked
        return out

    def _keys_by_size(self, space: SearchSpace) -> dict[int, set]:
        """Block keys of the space at each image size."""
        keys: dict[int, set] = {int(r): set() for r in space.image_sizes}
        for _, _, rs, blk in self._entries(space):
            if blk is not None:
                for r in rs:
                    keys[int(r)].add(blk.key)
        return keys

    def _check_table_fits(self, space: SearchSpace, lut: dict, names: Any) -> None:
        """Raise when a table (or one image size of it) has no block of the space.

        ``names`` is ``"table"`` or ``{image_size: file}`` for the messages.
        """
        keys_at = self._keys_by_size(space)
        matched = 0
        for r, entries in lut.items():
            where = names.get(r, f"table[{r}]") if isinstance(names, dict) else f"table[{r}]"
            if r not in keys_at or not entries:
                continue
            hits = len(keys_at[r].intersection(entries))
            if not hits:
                example = min(keys_at[r]) if keys_at[r] else None
                raise ValueError(
                    f"{where}: none of its {len(entries)} entries (e.g. {next(iter(entries))!r}) is a block "
                    f"of space {space.name!r} at image size {r} (whose keys look like {example!r}); "
                    "it is a table for another space or resolution"
                )
            matched += hits
        if not matched:
            sizes = sorted(r for r in lut if lut[r])
            raise ValueError(
                f"the table has no block of space {space.name!r} at image sizes {list(space.image_sizes)} "
                f"(it has entries for image sizes {sizes}); nothing could be predicted"
            )

    def _entries(self, space: SearchSpace) -> list[tuple[int, int, list[int], Block | None]]:
        """(flat index, unit, image sizes it applies to, block) for every table entry."""
        r_col = int(space.key_columns["image_size"][0])
        sizes = list(space.image_sizes)
        out = []
        for flat, u, values, blk in space.unit_entries(with_values=True):
            cols = space.units[u].columns
            rs = [values[cols.index(r_col)]] if r_col in cols else sizes
            out.append((flat, u, rs, blk))
        return out

    def _needed(self, space: SearchSpace, codes: np.ndarray | None) -> dict[str, Block]:
        entries = self._entries(space)
        if codes is not None:
            used = set(np.unique(space.unit_index(codes)).tolist())
            entries = [e for e in entries if e[0] in used]
        return {blk.key: blk for _, _, _, blk in entries if blk is not None}

    # -------------------------------------------------------------- profiling
    def _journal_read(self, path: Path, records: list) -> dict[str, dict]:
        """Measurements of the ``cache_path`` journal, checked (and its settings against ours)."""
        done: dict[str, dict] = {}
        for no, rec in records:
            where = f"{path}: line {no}"
            if not isinstance(rec, dict):
                raise ValueError(f"{where} is not a journal record (a JSON object), got {rec!r}")
            if "settings" in rec:
                want = self.settings_
                for f in _SETTING_FIELDS:
                    if _setting(rec["settings"], f) != _setting(want, f):
                        raise ValueError(
                            f"{path} was measured with {f} = {_setting(rec['settings'], f)!r}, but "
                            f"this table uses {f} = {_setting(want, f)!r}; use another cache_path or "
                            "the same settings"
                        )
                continue
            key = rec.get("key")
            if not isinstance(key, str):
                raise ValueError(
                    f"{where}: key = {key!r} is not allowed; allowed values: a block key (str)"
                )
            stats = {k: v for k, v in rec.items() if k != "key"}
            check_latency_stats(stats, f"{where} ({key!r})")
            done[key] = stats
        return done

    def _check_runtime(self) -> None:
        """A clear ``ImportError`` before any work when the backend's runtime is missing."""
        if self.backend != "torch":
            from .. import profile_onnx

            profile_onnx.runtime_version(self.backend)

    def _profile(self, blocks: dict[str, Block]) -> None:
        self._check_runtime()
        results: dict[str, dict] = {}
        journal = None
        if self.cache_path is not None:
            journal = Journal(self.cache_path)
            records = journal.read()
            results.update(self._journal_read(journal.path, records))
            if not records:  # a new (or empty) journal starts with the settings
                journal.append({"settings": self.settings_})
        todo = [b for k, b in blocks.items() if k not in results]
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=len(blocks),
                initial=len(blocks) - len(todo),
                desc="profiling blocks",
                unit="block",
                file=sys.stderr,
            )
        try:
            for rec in self._run_worker({"blocks": [b.to_dict() for b in todo]}):
                key = rec.pop("key")
                check_latency_stats(rec, f"profiling result of block {key!r}")
                results[key] = rec
                if journal is not None:
                    journal.append({"key": key, **rec})
                if bar is not None:
                    bar.update(1)
        finally:
            if journal is not None:
                journal.close()
            if bar is not None:
                bar.close()
        self._store(blocks, results)

    def _store(self, blocks: dict[str, Block], results: dict[str, dict]) -> None:
        sizes_of: dict[str, list] = {}
        for _, _, rs, blk in self._entries(self.space_):
            if blk is not None and blk.key in blocks:
                sizes_of.setdefault(blk.key, []).extend(rs)
        for key, rs in sizes_of.items():
            if key in results:
                for r in set(rs):
                    self.lut_.setdefault(r, {})[key] = dict(results[key])

    def _run_worker(self, job: dict):
        """Results of a profiling job (see :mod:`._profile_worker`), one dict per item."""
        return run_job(job, worker_settings(self), isolate=bool(self.isolate))

    # ---------------------------------------------------------- dense tables
    def _build_dense(self) -> None:
        space = self.space_
        sizes = list(space.image_sizes)
        n = space.unit_table_size()
        table = np.full((len(sizes), n), np.nan)
        macs = np.zeros(n)
        keys = np.empty(n, dtype=object)
        types = np.zeros(n, dtype=np.intp)
        type_names: list[str] = []
        n_blocks = set()
        for flat, _, rs, blk in self._entries(space):
            if blk is None:
                table[[sizes.index(r) for r in rs], flat] = 0.0
                continue
            keys[flat] = blk.key
            if blk.name not in type_names:
                type_names.append(blk.name)
            types[flat] = type_names.index(blk.name)
            for r in rs:
                st = self.lut_.get(r, {}).get(blk.key)
                if st is None:
                    continue
                n_blocks.add((r, blk.key))
                val = st.get(self.statistic)
                if val is None:
                    raise ValueError(
                        f"latency table entry {blk.key!r} (image size {r}) has no {self.statistic!r} "
                        f"(it has {sorted(st)}); set statistic to one the table has"
                    )
                table[sizes.index(r), flat] = float(val)
                if st.get("macs") is not None:
                    macs[flat] = float(st["macs"])
        self.table_ = table
        self.keys_ = keys
        self.block_types_ = type_names
        self.type_index_ = types
        self.macs_table_ = macs
        self.n_blocks_ = len({k for _, k in n_blocks})
        self._r_col = int(space.key_columns["image_size"][0])

    def _gather(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Block latencies ``(n_archs, n_units)``, their table indices and the per-arch sums.

        A block missing from the table is NaN in the dense table, so a NaN
        sum (one vectorised test on ``n_archs`` values) finds them.
        """
        idx = self.space_.unit_index(codes)
        rows = codes[:, self._r_col].astype(np.intp)
        vals = self.table_[rows[:, None], idx]
        sums = vals.sum(1)
        if np.isnan(sums).any():
            bad_r, bad_u = np.nonzero(np.isnan(vals))
            missing = sorted({self.keys_[idx[r, u]] for r, u in zip(bad_r, bad_u)})
            if self.on_missing == "profile":
                blocks = {}
                for r, u in zip(bad_r, bad_u):
                    row = codes[r]
                    unit = self.space_.units[u]
                    blk = unit.build(self.space_.decode_row(row, unit.columns))
                    blocks[blk.key] = blk
                self._profile(blocks)
                self._build_dense()
                return self._gather(codes)
            shown = ", ".join(repr(k) for k in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise MissingBlockError(
                f"{len(missing)} block(s) are not in the latency table: {shown}{more}. "
                "Fit on these archs/image sizes, or set on_missing='profile'.",
                missing,
            )
        return vals, idx, sums

    def _codes(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "table_")
        return self.space_.as_codes(X)

    def _features(self, codes: np.ndarray) -> np.ndarray:
        """``[block sum, per-type sums]``; ``"hybrid"`` adds per-type block counts, active
        blocks, MACs and image size."""
        vals, idx, sums = self._gather(codes)
        typ = self.type_index_[idx]
        types = range(len(self.block_types_))
        per_type = np.stack([np.where(typ == t, vals, 0.0).sum(1) for t in types], axis=1)
        if self.calibration != "hybrid":
            return np.column_stack([sums, per_type])
        real = self.keys_[idx] != None  # noqa: E711 - elementwise over an object array
        counts = np.stack([(real & (typ == t)).sum(1) for t in types], axis=1)
        r = np.asarray(self.space_.image_sizes, dtype=np.float64)[codes[:, self._r_col]]
        macs = self.macs_table_[idx].sum(1)
        return np.column_stack([sums, per_type, counts, real.sum(1), macs, r])

    def _make_calibrator(self):
        if self.calibration == "hybrid":
            return HybridCalibration(n_types=len(self.block_types_))
        if isinstance(self.calibration, str):
            columns = ColumnTransformer(
                [("features", "passthrough", _CALIBRATION_COLUMNS[self.calibration])]
            )
            return Pipeline([("columns", columns), ("regressor", LinearRegression(positive=True))])
        return clone(self.calibration)

    # --------------------------------------------------------------- predict
    def predict_raw(self, X: Any) -> np.ndarray:
        """Plain sum of the block latencies (ms), without calibration.

        Parameters
        ----------
        X : list of arch dicts, DataFrame, or code matrix
            Archs of the space.

        Returns
        -------
        ndarray of shape (n_archs,)
            Finite and >= 0 (an empty ``X`` gives an empty array).
        """
        codes = self._codes(X)
        if not len(codes):
            return np.zeros(0, dtype=np.float64)
        return check_predictions(self._gather(codes)[2], "LatencyTable: the block-sum latency (ms)")

    def predict(self, X: Any) -> np.ndarray:
        """Predicted latency in milliseconds per arch (calibrated when fitted with ``y``).

        Parameters
        ----------
        X : list of arch dicts, DataFrame, or code matrix
            Archs of the space.

        Returns
        -------
        ndarray of shape (n_archs,)
            Finite latencies >= 0 (an empty ``X`` gives an empty array).

        Raises
        ------
        MissingBlockError
            A block of ``X`` is not in the table (and ``on_missing="raise"``).
        ValueError
            The calibration extrapolates to a negative or non-finite latency
            for an arch of ``X``.
        """
        if self.calibrator_ is None:
            return self.predict_raw(X)
        codes = self._codes(X)
        if not len(codes):
            return np.zeros(0, dtype=np.float64)
        pred = np.asarray(
            self.calibrator_.predict(self._features(codes)), dtype=np.float64
        ).reshape(-1)
        return check_predictions(
            pred,
            "LatencyTable: the calibrated latency (ms)",
            f"the calibration {self.calibration!r} extrapolates beyond the archs it was fitted on; "
            "refit it on archs like these, or use predict_raw",
        )

    def predict_interval(self, X: Any, alpha: float = 0.05) -> np.ndarray:
        """Prediction intervals of the calibrated latency (split conformal, relative residuals).

        The interval of an arch is ``pred * (1 - q), pred * (1 + q)``, where ``q`` is
        the ``ceil((n + 1) * (1 - alpha))``-th smallest of the ``n`` out-of-fold
        relative residuals ``|y - pred| / pred`` of the calibration archs
        (5 shuffled folds). For new archs like the calibration archs, at least
        ``1 - alpha`` of the measured latencies fall inside, on average.

        Parameters
        ----------
        X : list of arch dicts, DataFrame, or code matrix
            Archs of the space.
        alpha : float, default=0.05
            Miscoverage, in (0, 1).

        Returns
        -------
        ndarray of shape (n_archs, 2)
            Lower and upper latency (ms); the lower bound is at least 0.

        Raises
        ------
        ValueError
            The table has no calibration (fit it with ``y``), or ``alpha`` is too small
            for the number of calibration archs (``n >= 1 / alpha - 1`` are needed).

        Examples
        --------
        >>> from sklearn_ofa.efficiency import LatencyTable
        >>> from sklearn_ofa.spaces import MobileNetSpace
        >>> tiny = MobileNetSpace("mbv3", base_stage_width=[8, 8, 8, 16, 16, 24, 24, 32, 64],
        ...                       depth_list=[1, 2], ks_list=[3], expand_ratio_list=[3],
        ...                       image_sizes=[32], n_classes=10, name="tiny")
        >>> lut = LatencyTable(tiny, repeats=3, warmup=1, isolate=False).fit()
        >>> archs = tiny.sample(40, random_state=0)
        >>> y = 1.2 * lut.predict(archs) + 0.05
        >>> cal = LatencyTable(tiny, table=lut, calibration="linear").fit(archs, y)
        >>> cal.predict_interval(archs[:2], alpha=0.1).shape
        (2, 2)
        """
        q = self._conformal_quantile("conformal_scores_", alpha, "predict_interval")
        pred = self.predict(X)
        return np.column_stack([np.maximum(pred * (1 - q), 0.0), pred * (1 + q)])

    def predict_upper(self, X: Any, alpha: float = 0.05) -> np.ndarray:
        """One-sided upper bound of the calibrated latency (split conformal, signed residuals).

        The bound of an arch is ``pred * (1 + q)``, where ``q`` is the
        ``ceil((n + 1) * (1 - alpha))``-th smallest of the ``n`` out-of-fold
        signed relative residuals ``(y - pred) / pred`` of the calibration archs.
        For new archs like the calibration archs, at least ``1 - alpha`` of the
        measured latencies are at most the bound, on average. It is tighter than
        the upper end of :meth:`predict_interval` at the same ``alpha``, which
        bounds both sides (``alpha / 2`` of each, for symmetric errors): use it
        for a budget, where only running over counts.

        Parameters
        ----------
        X : list of arch dicts, DataFrame, or code matrix
            Archs of the space.
        alpha : float, default=0.05
            Share allowed above the bound, in (0, 1).

        Returns
        -------
        ndarray of shape (n_archs,)
            Upper latency bounds (ms).

        Raises
        ------
        ValueError
            The table has no calibration, or ``alpha`` is too small for the number
            of calibration archs (``n >= 1 / alpha - 1`` are needed).

        Examples
        --------
        >>> from sklearn_ofa.efficiency import LatencyTable
        >>> from sklearn_ofa.spaces import MobileNetSpace
        >>> tiny = MobileNetSpace("mbv3", base_stage_width=[8, 8, 8, 16, 16, 24, 24, 32, 64],
        ...                       depth_list=[1, 2], ks_list=[3], expand_ratio_list=[3],
        ...                       image_sizes=[32], n_classes=10, name="tiny")
        >>> lut = LatencyTable(tiny, repeats=3, warmup=1, isolate=False).fit()
        >>> import numpy as np
        >>> archs = tiny.sample(40, random_state=0)
        >>> rng = np.random.default_rng(0)
        >>> y = lut.predict(archs) * rng.uniform(1.1, 1.3, len(archs))
        >>> cal = LatencyTable(tiny, table=lut, calibration="linear").fit(archs, y)
        >>> bool((cal.predict_upper(archs, alpha=0.1) <= cal.predict_interval(archs, 0.1)[:, 1]).all())
        True
        """
        q = self._conformal_quantile("conformal_signed_scores_", alpha, "predict_upper")
        return self.predict(X) * (1 + q)

    def _conformal_quantile(self, attr: str, alpha: Any, method: str) -> float:
        """The conformal quantile of ``attr`` at miscoverage ``alpha`` (errors name ``method``)."""
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
            raise ValueError(
                f"alpha = {alpha!r} is not allowed; allowed values: a number in (0, 1)"
            )
        check_is_fitted(self, "table_")
        scores = getattr(self, attr, None)
        if self.calibrator_ is None or scores is None:
            raise ValueError(
                f"{method} needs a calibrated table: fit with X, y (measured latencies) and "
                "calibration='linear', 'per_type', 'hybrid' or a regressor"
                + (
                    ""
                    if self.calibrator_ is None
                    else " (this one was calibrated by an older version: refit it)"
                )
            )
        n = len(scores)
        rank = int(np.ceil((n + 1) * (1 - alpha)))
        if rank > n:
            raise ValueError(
                f"alpha = {alpha!r} is too small for {n} calibration archs: a {1 - alpha:.0%} "
                f"bound needs at least {int(np.ceil(1 / alpha)) - 1}; calibrate on more archs "
                "or raise alpha"
            )
        return float(scores[rank - 1])

    def predict_macs(self, X: Any) -> np.ndarray:
        """Summed multiply-accumulates (OFA convention) of the profiled blocks per arch.

        Parameters
        ----------
        X : list of arch dicts, DataFrame, or code matrix
            Archs of the space.

        Returns
        -------
        ndarray of shape (n_archs,)
            MACs recorded with the blocks (blocks without a count add 0).
        """
        codes = self._codes(X)
        if not len(codes):
            return np.zeros(0, dtype=np.float64)
        return self.macs_table_[self.space_.unit_index(codes)].sum(1)

    def get_efficiency(self, arch: dict) -> float:
        """OFA-style facade: the latency (ms) of one arch dict.

        Parameters
        ----------
        arch : dict
            One arch of the space.

        Returns
        -------
        float
            ``predict([arch])[0]``.
        """
        if not isinstance(arch, dict):
            raise TypeError(f"arch must be one arch dict, got {type(arch).__name__}")
        return float(self.predict([arch])[0])

    def measure(self, X: Any, *, rounds: int = 1, allow_other_device: bool = False) -> np.ndarray:
        """Measure the end-to-end latency (ms) of whole subnets, the same way as the blocks.

        Uses the same device, threads, warm-up, repeats, BatchNorm folding and
        (with ``isolate``) the same allocator settings as ``fit``, so the
        result is the right ``y`` for a calibration.

        Parameters
        ----------
        X : list of arch dicts, DataFrame, or code matrix
            Archs of the space.
        rounds : int, default=1
            Passes over all of ``X`` (each in a new shuffled order); the result is
            the median over the passes. Slow drift of the machine (another load,
            clock changes) then spreads over all archs instead of biasing the
            ones measured last; 3 or more make calibration targets steadier.
        allow_other_device : bool, default=False
            Measure on this machine even though the table's latencies were not
            profiled here with these settings (a table loaded from OFA YAML,
            e.g. OFA's Samsung Note10 tables, a ``table=`` dict of unknown
            origin, or settings changed since ``fit``). Without it that is an
            error: the measurements would not describe the table's device.

        Returns
        -------
        ndarray of shape (n_archs,)
            Finite latencies > 0 (ms): per subnet the table's ``statistic`` of
            the timed repeats (the median by default), then the median over
            the ``rounds``.
        """
        return self._measure_stats(X, rounds, allow_other_device)[self.statistic]

    def _measure_stats(self, X: Any, rounds: int, allow_other_device: bool) -> dict:
        """:meth:`measure` for every statistic at once: ``{name: ndarray}`` for each name in ``STATISTICS``."""
        self._validate_params()
        self._check_params()
        check_bool("allow_other_device", allow_other_device)
        if hasattr(self, "settings_") and not allow_other_device:
            self._check_same_device()
        space = self.space_ if hasattr(self, "space_") else self._resolve_space()
        self._check_runtime()
        archs = space.from_codes(space.as_codes(X))
        if not archs:
            return {f: np.zeros(0, dtype=np.float64) for f in STATISTICS}
        if is_bool(rounds) or not isinstance(rounds, numbers.Integral) or rounds < 1:
            raise ValueError(f"rounds = {rounds!r} is not allowed; allowed values: an int >= 1")
        configs = [[space.net_config(a), a["image_size"]] for a in archs]
        passes = np.full((len(STATISTICS), int(rounds), len(archs)), np.nan)
        rng = np.random.default_rng(0)
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=passes[0].size, desc="measuring subnets", unit="net", file=sys.stderr)
        try:
            for k in range(int(rounds)):
                order = np.arange(len(archs)) if k == 0 else rng.permutation(len(archs))
                got = []
                for rec in self._run_worker({"nets": [configs[i] for i in order]}):
                    got.append([rec[f] for f in STATISTICS])
                    if bar is not None:
                        bar.update(1)
                if got:
                    passes[:, k, order[: len(got)]] = np.asarray(got, dtype=np.float64).T
        finally:
            if bar is not None:
                bar.close()
        out = dict(zip(STATISTICS, np.median(passes, axis=1)))
        for field, values in out.items():
            bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
            if bad.size:
                i = int(bad[0])
                shown = "no result" if np.isnan(values[i]) else repr(float(values[i]))
                raise ValueError(f"measuring X[{i}] gave {field} = {shown}, not a latency > 0 ms")
        return out

    def _check_same_device(self) -> None:
        """Raise unless the table was profiled here with the settings ``measure`` would use."""
        st = self.settings_
        source = st.get("source")
        advice = (
            "measure on the device the table describes, or pass allow_other_device=True to time "
            f"this machine's {self.device!r} anyway"
        )
        if source == "ofa_yaml":
            files = ", ".join(st.get("files", [])[:3]) or "OFA YAML files"
            raise ValueError(
                f"this table's latencies come from OFA YAML files ({files}) measured on another device "
                f"({st.get('device', 'unknown')}); measure() would time this machine's "
                f"{self.device!r} instead, which is no ground truth for this table: {advice}"
            )
        if source == "measurements":
            machine = st.get("machine", {}).get("platform", "unknown")
            raise ValueError(
                f"this table's latencies were measured by profile_onnx on another machine "
                f"({machine}, {st.get('backend')} {st.get('runtime_version')}); measure() would "
                f"time this machine instead: {advice}"
            )
        if source is not None:
            raise ValueError(
                f"this table's latencies were passed as table= (source {source!r}, device and settings "
                f"unknown); measure() would time this machine's {self.device!r}, which may not be "
                f"what the table describes: {advice}"
            )
        now = self._settings()
        for f in _SETTING_FIELDS:
            if (f in st or f == "backend") and _setting(st, f) != now.get(f):
                raise ValueError(
                    f"the table was profiled with {f} = {_setting(st, f)!r} but measure() would use "
                    f"{f} = {now.get(f)!r}; set {f} back, or {advice}"
                )

    # ------------------------------------------------- off-host measurements
    @classmethod
    def from_measurements(
        cls, folder: Any, results: Any, *, calibration: Any = None, **params: Any
    ) -> LatencyTable:
        """A fitted table from an export folder and the results ``profile_onnx`` wrote for it.

        The workflow for a device without PyTorch: ``sklearn-ofa lut export``
        (or :func:`~sklearn_ofa.efficiency.onnx_export.export_space`) writes the
        blocks and some whole subnets as ONNX; ``python profile_onnx.py FOLDER
        --out results.jsonl`` measures them on the device; this method builds
        the table and, with ``calibration``, calibrates it on the measured subnets.

        Parameters
        ----------
        folder : path-like
            The export folder (its ``manifest.json`` names the space and the files).
        results : path-like
            The results file of ``profile_onnx`` for that folder.
        calibration : {None, "linear", "per_type", "hybrid"} or regressor, optional
            Fitted on the exported subnets' measured latencies (the export needs
            ``n_subnets >= 2``).
        **params
            Other :class:`LatencyTable` parameters (``statistic``, ``on_missing``...).

        Returns
        -------
        LatencyTable
            Fitted; ``settings_`` records the runtime, its version, the settings
            and the machine of the results, and ``measure`` refuses to time this
            machine in its place unless told so.

        Raises
        ------
        ValueError
            A block of the manifest has no result (the run is not finished), a result
            is not a finite latency, or ``calibration`` is set but fewer than two
            subnets were measured.

        Examples
        --------
        >>> from sklearn_ofa.efficiency import LatencyTable
        >>> LatencyTable.from_measurements("no_such_folder", "results.jsonl")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no_such_folder/manifest.json not found: FOLDER must be written by 'sklearn-ofa lut export'
        """
        from .. import profile_onnx

        manifest = profile_onnx.read_manifest(folder)
        header, done = profile_onnx.read_results(results)
        if header is None:
            raise ValueError(f"{results} has no header line: it is not a profile_onnx results file")
        space = get_space(manifest["space"])
        blocks = [it for it in manifest["items"] if it.get("kind") == "block"]
        subnets = [it for it in manifest["items"] if it.get("kind") == "subnet"]
        missing = [it["id"] for it in blocks if str(it["id"]) not in done]
        if missing:
            raise ValueError(
                f"{results} has results for {len(blocks) - len(missing)} of the {len(blocks)} blocks "
                f"of {folder} (missing e.g. {missing[0]!r}); run profile_onnx again to finish"
            )
        stats = {}
        for it in blocks:
            rec = {k: v for k, v in done[str(it["id"])].items() if k != "id"}
            check_latency_stats(rec, f"{results}: result {it['id']!r}")
            stats[it["key"]] = {**rec, "macs": it.get("macs")}
        if header.get("backend") in BACKENDS:
            params.setdefault("backend", header["backend"])
        est = cls(space, table={}, calibration=calibration, **params)
        est._validate_params()  # a bad parameter is named before the results are read with it
        table: dict[int, dict] = {int(r): {} for r in space.image_sizes}
        for _, _, rs, blk in est._entries(space):
            if blk is not None and blk.key in stats:
                for r in rs:
                    table[int(r)][blk.key] = stats[blk.key]
        est.set_params(table=table)
        X = y = None
        if calibration is not None:
            measured = [it for it in subnets if str(it["id"]) in done]
            if len(measured) < 2:
                raise ValueError(
                    f"calibration = {calibration!r} needs measured subnets, but {results} has "
                    f"{len(measured)} (export with n_subnets >= 2 and let profile_onnx finish)"
                )
            y = []
            for it in measured:
                rec = {k: v for k, v in done[str(it["id"])].items() if k != "id"}
                where = f"{results}: result {it['id']!r}"
                check_latency_stats(rec, where)
                if est.statistic not in rec:
                    raise ValueError(
                        f"{where} has no {est.statistic!r} (it has {sorted(rec)}); set "
                        "statistic to one the results have"
                    )
                y.append(float(rec[est.statistic]))
            X = space.as_codes(np.asarray([it["codes"] for it in measured]))
            y = np.asarray(y)
        est.fit(X, y)
        est.settings_ = {
            "source": "measurements",
            **{k: v for k, v in header.items() if k != "machine"},
            "batch_size": manifest.get("batch_size", 1),
            "machine": header.get("machine", {}),
            "folder": str(folder),
        }
        return est

    # ---------------------------------------------------------- OFA formats
    @classmethod
    def from_ofa_yaml(cls, paths: Any, space: Any = "ofa_mbv3_w1.2", **params: Any) -> LatencyTable:
        """A fitted table from OFA latency YAML files (one per image size).

        Parameters
        ----------
        paths : path or list of paths
            A folder of ``<size>_lookup_table.yaml`` files, one file or several.
        space : str or SearchSpace, default="ofa_mbv3_w1.2"
            The space of the table's blocks.
        **params
            Other parameters (``statistic`` defaults to ``"mean"``, the only
            statistic of OFA's tables; ``image_sizes`` to the files' sizes).

        Returns
        -------
        LatencyTable
            Fitted; ``settings_["source"]`` is ``"ofa_yaml"``, so :meth:`measure`
            refuses to time this machine in place of the table's device.

        Raises
        ------
        ValueError
            A file with a latency that is not a finite number of ms >= 0 (the
            message names the file, key and value), a file without an image
            size, or a file with no block of the space (a table of another space).

        Examples
        --------
        >>> lut = LatencyTable.from_ofa_yaml("note10_lut/", space="ofa_mbv3_w1.2")
        >>> lut.predict([{"ks": [3] * 20, "e": [6] * 20, "d": [4] * 5, "image_size": 224}])
        array([57.08...])
        """
        from .ofa_yaml import _load_files

        files = _load_files(paths)
        unsized = [str(f) for f, size, _ in files if size is None]
        if unsized:
            raise ValueError(
                f"{unsized[0]}: every OFA table file must say its image size (name it "
                "<size>_lookup_table.yaml, or start it with a 'Conv-input:<size>x<size>x3-...' key)"
            )
        lut = {size: entries for _, size, entries in files}
        params.setdefault("statistic", "mean")
        params.setdefault("image_sizes", sorted(lut))
        est = cls(space, table=lut, **params)
        est._validate_params()
        est._check_params()
        est._check_table_fits(est._resolve_space(), lut, {size: str(f) for f, size, _ in files})
        est.fit()
        est.settings_ = {
            "source": "ofa_yaml",
            "device": "the device the OFA tables were measured on",
            "files": [str(f) for f, _, _ in files],
        }
        return est

    def to_ofa_yaml(self, folder: Any) -> list[Path]:
        """Write the table as OFA YAML files ``<size>_lookup_table.yaml`` in ``folder``.

        Parameters
        ----------
        folder : str or path-like
            Created if needed.

        Returns
        -------
        list of Path
            The files written (see :func:`~sklearn_ofa.efficiency.save_ofa_lut`).
        """
        from .ofa_yaml import save_ofa_lut

        check_is_fitted(self, "lut_")
        out = {}
        for r, entries in self.lut_.items():
            out[r] = {
                k: {**v, "mean": v.get("mean", v.get("median")), "std": v.get("std", 0.0)}
                for k, v in entries.items()
            }
        return save_ofa_lut(out, folder)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.target_tags.required = False
        tags.non_deterministic = True
        return tags


LatencyTable._parameter_constraints["table"] = [dict, LatencyTable, FrozenEstimator, None]


def _image_size_key(r: Any) -> int:
    """An image-size key of a ``table`` (an int >= 1, or its decimal string as JSON writes it)."""
    if isinstance(r, str) and r.strip().isdigit():
        r = int(r)
    if is_bool(r) or not isinstance(r, numbers.Integral) or r < 1:
        raise ValueError(
            f"table key {r!r} is not allowed; allowed values: image sizes (ints >= 1), e.g. "
            "{224: {block key: {'median': ms}}}"
        )
    return int(r)
