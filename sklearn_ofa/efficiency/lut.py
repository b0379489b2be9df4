"""LatencyTable: a latency lookup-table estimator whose ``fit`` profiles real PyTorch blocks."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted

from ..exceptions import MissingBlockError
from ..spaces import Block, SearchSpace, get_space

__all__ = ["LatencyTable", "MALLOC_ENV"]

#: Allocator settings that stop glibc from returning activation buffers to the OS
#: between forward passes (see the latency user guide).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"}

_CALIBRATIONS = (None, "linear", "per_type")
_SETTING_FIELDS = ("device", "batch_size", "num_threads", "warmup", "repeats", "min_run_time",
                   "fold_bn", "isolate")


class LatencyTable(RegressorMixin, BaseEstimator):
    """Latency lookup table over a search space: ``predict`` sums per-block latencies.

    ``fit`` enumerates every distinct block the space needs at the chosen
    image sizes (or only those used by the archs in ``X``), builds each in
    PyTorch, measures it with :func:`~sklearn_ofa.efficiency.measure_latency`
    and stores the statistics in ``lut_`` plus a dense table, so that
    ``predict`` is one gather and one sum over a batch of architectures.
    When ``y`` (measured end-to-end latencies of the archs in ``X``) is given,
    ``fit`` also learns a correction on top of the block sum.

    Parameters
    ----------
    space : str or SearchSpace, default="ofa_mbv3_w1.2"
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    batch_size : int, default=1
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
        Fold BatchNorm into convolutions before measuring.
    isolate : bool, default=True
        Measure in a child process started with the allocator variables
        :data:`MALLOC_ENV` (they only work when set before a process starts).
    statistic : {"median", "mean"}, default="median"
        Which per-block statistic ``predict`` sums (OFA's tables have ``mean`` only).
    calibration : {None, "linear", "per_type"} or regressor, default=None
        Correction fitted when ``y`` is given: ``"linear"`` is ``a * sum + b``,
        ``"per_type"`` one non-negative weight per block type (first conv,
        MBConv, head layers...) plus an intercept; a scikit-learn regressor is
        fitted on ``[block sum, per-type sums]``.
    table : dict or LatencyTable, optional
        Measurements to reuse instead of profiling: ``{image_size: {key:
        {"median"/"mean": ms, ...}}}``, e.g. the ``lut_`` of a fitted table.
        Cross-validating a calibration then refits only the correction. (Pass
        ``lut_`` rather than the fitted table itself when the estimator will be
        cloned: scikit-learn's ``clone`` unfits estimator parameters.)
    cache_path : str, optional
        Journal (JSON lines) of finished measurements: every measurement is
        appended and fsynced, a killed ``fit`` resumes from it.
    on_missing : {"raise", "profile"}, default="raise"
        What ``predict`` does with blocks not in the table: raise
        :class:`~sklearn_ofa.exceptions.MissingBlockError` naming them, or
        profile them on demand.
    verbose : bool, default=False
        Progress bar with ETA while profiling.

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
    """

    def __init__(
        self,
        space: Any = "ofa_mbv3_w1.2",
        *,
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
        def bad(name, allowed):
            raise ValueError(f"{name} = {getattr(self, name)!r} is not allowed; allowed values: {allowed}")

        if self.statistic not in ("median", "mean"):
            bad("statistic", "['median', 'mean']")
        if self.on_missing not in ("raise", "profile"):
            bad("on_missing", "['raise', 'profile']")
        if not (self.calibration in _CALIBRATIONS or hasattr(self.calibration, "fit")):
            bad("calibration", "None, 'linear', 'per_type' or a regressor")
        for name in ("batch_size", "repeats", "num_threads"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                bad(name, "an int >= 1")
        if not isinstance(self.warmup, (int, np.integer)) or self.warmup < 0:
            bad("warmup", "an int >= 0")
        dev = str(self.device)
        if not (dev == "cpu" or dev == "cuda" or dev.startswith("cuda:")):
            bad("device", "'cpu', 'cuda', 'cuda:N'")

    def _resolve_space(self) -> SearchSpace:
        space = get_space(self.space)
        if self.image_sizes is not None:
            space = get_space(space, image_sizes=sorted(int(r) for r in self.image_sizes))
        return space

    def _settings(self) -> dict:
        """The measurement settings recorded with the table (worker settings + isolation)."""
        return {
            **self._worker_settings(),
            "isolate": bool(self.isolate),
            "allocator": dict(MALLOC_ENV) if self.isolate else {
                k: os.environ.get(k) for k in MALLOC_ENV
            },
        }

    # ---------------------------------------------------------------- fitting
    def fit(self, X: Any = None, y: Any = None) -> "LatencyTable":
        """Profile (or load) the blocks, build the dense table, calibrate when ``y`` is given.

        Parameters
        ----------
        X : list of arch dicts or code matrix, optional
            Profile only the blocks these archs use (default: every block of
            the space at ``image_sizes``). Required when ``y`` is given.
        y : array-like of shape (n_archs,), optional
            Measured end-to-end latency (ms) of ``X``, for the calibration.

        Returns
        -------
        self
        """
        self._check_params()
        space = self._resolve_space()
        self.space_ = space
        lut, settings = self._initial_lut()
        self.settings_ = settings
        codes = space.as_codes(X) if X is not None else None
        needed = self._needed(space, codes)
        missing = {k: b for k, b in needed.items() if not any(k in lut.get(r, {}) for r in lut)}
        self.lut_ = lut
        if missing and (self.table is None or self.on_missing == "profile"):
            self._profile(missing)
        self._build_dense()
        self.calibrator_ = None
        if y is not None:
            if codes is None:
                raise ValueError("y (measured latencies) needs X, the archs it was measured on")
            y = np.asarray(y, dtype=np.float64).ravel()
            if len(y) != len(codes):
                raise ValueError(f"y has {len(y)} values but X has {len(codes)} archs")
            if self.calibration is not None:
                self.calibrator_ = self._make_calibrator().fit(self._features(codes), y)
        return self

    def _initial_lut(self) -> tuple[dict, dict]:
        src = self.table
        if src is None:
            return {}, self._settings()
        if isinstance(src, LatencyTable):
            check_is_fitted(src, "lut_")
            return copy.deepcopy(src.lut_), dict(src.settings_)
        if isinstance(src, dict):
            lut = {(int(r) if r is not None else None): dict(v) for r, v in src.items()}
            return copy.deepcopy(lut), {"source": "table"}
        raise TypeError(f"table must be a fitted LatencyTable or a dict, got {type(src).__name__}")

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
    def _journal_read(self) -> dict[str, dict]:
        path = Path(self.cache_path)
        if not path.exists():
            return {}
        done: dict[str, dict] = {}
        with open(path) as fh:
            lines = fh.read().split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                if i >= len(lines) - 2:  # a torn last line from a kill: drop it
                    continue
                raise ValueError(f"{path}: line {i + 1} is not valid JSON") from None
            if "settings" in rec:
                want = self.settings_
                for f in _SETTING_FIELDS:
                    if rec["settings"].get(f) != want.get(f):
                        raise ValueError(
                            f"{path} was measured with {f} = {rec['settings'].get(f)!r}, but this "
                            f"table uses {f} = {want.get(f)!r}; use another cache_path or the same settings"
                        )
                continue
            done[rec["key"]] = {k: v for k, v in rec.items() if k != "key"}
        return done

    def _journal_append(self, fh, rec: dict) -> None:
        fh.write(json.dumps(rec) + "\n")
        fh.flush()
        os.fsync(fh.fileno())

    def _profile(self, blocks: dict[str, Block]) -> None:
        results: dict[str, dict] = {}
        fh = None
        if self.cache_path is not None:
            results.update(self._journal_read())
            path = Path(self.cache_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size:
                with open(path, "rb+") as raw:  # drop a torn last line before appending
                    data = raw.read()
                    if not data.endswith(b"\n"):
                        raw.truncate(data.rfind(b"\n") + 1)
            fresh = not path.exists() or path.stat().st_size == 0
            fh = open(path, "a")
            if fresh:
                self._journal_append(fh, {"settings": self.settings_})
        todo = [b for k, b in blocks.items() if k not in results]
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(blocks), initial=len(blocks) - len(todo), desc="profiling blocks",
                       unit="block")
        try:
            for rec in self._run_worker({"blocks": [b.to_dict() for b in todo]}):
                key = rec.pop("key")
                results[key] = rec
                if fh is not None:
                    self._journal_append(fh, {"key": key, **rec})
                if bar is not None:
                    bar.update(1)
        finally:
            if fh is not None:
                fh.close()
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

    def _worker_settings(self) -> dict:
        return {
            "device": str(self.device),
            "batch_size": int(self.batch_size),
            "num_threads": int(self.num_threads),
            "warmup": int(self.warmup),
            "repeats": int(self.repeats),
            "min_run_time": self.min_run_time,
            "fold_bn": bool(self.fold_bn),
        }

    def _run_worker(self, job: dict):
        job = {**job, "settings": self._worker_settings()}
        if not job.get("blocks") and not job.get("nets"):
            return
        if not self.isolate:
            from ._profile_worker import profile_items

            yield from profile_items(job)
            return
        env = dict(os.environ, **MALLOC_ENV)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(
            [sys.executable, "-m", "sklearn_ofa.efficiency._profile_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )
        try:
            proc.stdin.write(json.dumps(job))
            proc.stdin.close()
            for line in proc.stdout:
                yield json.loads(line)
            proc.wait()
            if proc.returncode != 0:
                raise RuntimeError(f"profiling worker failed:\n{proc.stderr.read()[-2000:]}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

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
                val = st.get(self.statistic, st.get("mean"))
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

    def _gather(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = self.space_.unit_index(codes)
        rows = codes[:, self._r_col].astype(np.intp)
        vals = self.table_[rows[:, None], idx]
        if np.isnan(vals).any():
            bad_r, bad_u = np.nonzero(np.isnan(vals))
            missing = sorted({self.keys_[idx[r, u]] for r, u in zip(bad_r, bad_u)})
            if self.on_missing == "profile":
                blocks = {}
                for r, u in zip(bad_r, bad_u):
                    row = codes[r]
                    unit = self.space_.units[u]
                    blk = unit.build(self.space_._decode_row(row, unit.columns))
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
        return vals, idx

    def _codes(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "table_")
        return self.space_.as_codes(X)

    def _features(self, codes: np.ndarray) -> np.ndarray:
        vals, idx = self._gather(codes)
        typ = self.type_index_[idx]
        per_type = np.stack(
            [np.where(typ == t, vals, 0.0).sum(1) for t in range(len(self.block_types_))], axis=1
        )
        return np.column_stack([vals.sum(1), per_type])

    def _make_calibrator(self):
        if self.calibration == "linear":
            return _ColumnRegressor([0], LinearRegression(positive=True))
        if self.calibration == "per_type":
            return _ColumnRegressor(slice(1, None), LinearRegression(positive=True))
        return clone(self.calibration)

    # --------------------------------------------------------------- predict
    def predict_raw(self, X: Any) -> np.ndarray:
        """Plain sum of the block latencies (ms), without calibration."""
        vals, _ = self._gather(self._codes(X))
        return vals.sum(1)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted latency in milliseconds per arch (calibrated when fitted with ``y``).

        Parameters
        ----------
        X : list of arch dicts, DataFrame, or code matrix

        Returns
        -------
        ndarray of shape (n_archs,)
        """
        codes = self._codes(X)
        if self.calibrator_ is None:
            return self._gather(codes)[0].sum(1)
        return np.asarray(self.calibrator_.predict(self._features(codes)), dtype=np.float64)

    def predict_macs(self, X: Any) -> np.ndarray:
        """Summed multiply-accumulates (OFA convention) of the profiled blocks per arch."""
        codes = self._codes(X)
        return self.macs_table_[self.space_.unit_index(codes)].sum(1)

    def get_efficiency(self, arch: dict) -> float:
        """OFA-style facade: the latency (ms) of one arch dict."""
        return float(self.predict([arch])[0])

    def measure(self, X: Any) -> np.ndarray:
        """Measure the end-to-end latency (median ms) of whole subnets, the same way as the blocks.

        Uses the same device, threads, warm-up, repeats, BatchNorm folding and
        (with ``isolate``) the same allocator settings as ``fit``, so the
        result is the right ``y`` for a calibration.
        """
        self._check_params()
        space = self.space_ if hasattr(self, "space_") else self._resolve_space()
        archs = space.from_codes(space.as_codes(X))
        job = {"nets": [[space.net_config(a), a["image_size"]] for a in archs]}
        return np.array([rec["median"] for rec in self._run_worker(job)])

    # ---------------------------------------------------------- OFA formats
    @classmethod
    def from_ofa_yaml(cls, paths: Any, space: Any = "ofa_mbv3_w1.2", **params: Any) -> "LatencyTable":
        """A fitted table from OFA latency YAML files (one per image size).

        Examples
        --------
        >>> lut = LatencyTable.from_ofa_yaml("note10_lut/", space="ofa_mbv3_w1.2")  # doctest: +SKIP
        >>> lut.predict(archs)  # doctest: +SKIP
        """
        from .ofa_yaml import load_ofa_lut

        lut = load_ofa_lut(paths)
        if None in lut:
            raise ValueError("every OFA table file must say its image size (name it <size>_lookup_table.yaml)")
        params.setdefault("statistic", "mean")
        params.setdefault("image_sizes", sorted(lut))
        return cls(space, table=lut, **params).fit()

    def to_ofa_yaml(self, folder: Any) -> list[Path]:
        """Write the table as OFA YAML files ``<size>_lookup_table.yaml`` in ``folder``."""
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


class _ColumnRegressor(BaseEstimator, RegressorMixin):
    """A regressor fitted on some columns of the calibration features."""

    def __init__(self, columns: Any, estimator: Any):
        self.columns = columns
        self.estimator = estimator

    def fit(self, F: np.ndarray, y: np.ndarray) -> "_ColumnRegressor":
        self.estimator_ = clone(self.estimator).fit(F[:, self.columns], y)
        return self

    def predict(self, F: np.ndarray) -> np.ndarray:
        return self.estimator_.predict(F[:, self.columns])
