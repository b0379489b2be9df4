"""Accuracy datasets in OFA's folder layout, with a crash-safe, resumable, parallel build.

Layout of a dataset folder (the one MIT's OFA code reads and writes)::

    net_id.dict          JSON list of arch settings, each a JSON string (no image size)
    src/<size>.dict      JSON object: arch-with-image_size JSON string -> top-1 in percent
    acc.dict             all of src/*.dict merged (what training reads)

Keys are ``json.dumps`` of the arch dict with Python's default separators, the
space's key order (``ks, e, d`` or ``d, e, w``) and ``image_size`` last.

While a build runs, every finished evaluation is appended to ``src/<size>.journal``
(one JSON line, flushed and fsync'ed); the ``.dict`` files are only ever replaced
atomically (temporary file + ``os.replace``). A killed build therefore loses at
most the evaluations in flight, and a rerun folds the journals into the
``.dict`` files and carries on.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout
from sklearn.utils._param_validation import (
    HasMethods,
    StrOptions,
    validate_parameter_constraints,
)

from .._checks import check_int_list
from .._constraints import StrictInterval
from .._io import TMP_PREFIX, Journal, fsync_dir
from ..exceptions import ArchTypeError, ArchValueError, DatasetFormatError
from ..spaces import SearchSpace, get_space
from ._ofa_format import (
    check_stored_top1,
    merge_records,
    parse_key,
    read_acc_file,
    read_net_ids,
    record_key,
    setting_key,
    size_of,
    write_json,
)
from ._top1 import TOP1_UNITS, check_top1
from .evaluators import evaluate_archs

__all__ = ["AccuracyDataset", "record_key", "setting_key"]

_JOURNAL_SUFFIX = ".journal"


def _read_journal(path: Path, image_size: int) -> dict[str, float]:
    """Records ``[key, top-1]`` of a build journal; a torn last line (a kill) is skipped."""
    out: dict[str, float] = {}
    try:
        lines = Journal(path).read()
    except ValueError as exc:
        raise DatasetFormatError(str(exc), path) from None
    for no, rec in lines:
        if not (isinstance(rec, list) and len(rec) == 2 and isinstance(rec[0], str)):
            raise DatasetFormatError(
                f"{path}, line {no}: not a journal record [key, top-1]: {json.dumps(rec)[:80]!r}",
                path,
            )
        key, value = rec
        arch = parse_key(key, f"{path}, line {no}", path)
        if arch.get("image_size") != image_size:
            raise DatasetFormatError(
                f"{path}, line {no}: image_size = {arch.get('image_size')!r} does not match "
                f"the file name (expected {image_size})",
                path,
            )
        merge_records(out, {key: check_stored_top1(value, f"{path}, line {no}", path)}, path)
    return out


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """Refuse two concurrent builds in one folder (an OS file lock on ``.build.lock``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / ".build.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RuntimeError(
            f"another build is running in {folder} (lock file {folder / '.build.lock'})"
        ) from None
    try:
        yield
    finally:
        lock.release()


# ---------------------------------------------------------------------- dataset
class AccuracyDataset:
    """(architecture, top-1) records in OFA's folder layout.

    Parameters
    ----------
    path : str or path-like
        The dataset folder (created by :meth:`build` when missing).
    space : str, SearchSpace or None, default=None
        The search space of the archs. Needed by :meth:`build`; when given,
        :meth:`load` also validates every arch against it.

    Notes
    -----
    Top-1 is stored **in percent** on disk (as OFA does) and returned by
    :meth:`load` as a **fraction** (divided by 100, as OFA's predictor training
    does). Evaluators return percent.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_ofa.accuracy import AccuracyDataset
    >>> def fake_top1(arch):  # an evaluator: arch dict -> top-1 in percent
    ...     return 50.0 + sum(arch["d"]) + arch["image_size"] / 10
    >>> folder = tempfile.mkdtemp()
    >>> ds = AccuracyDataset(folder, space="digits_mbv3")
    >>> X, y = ds.build(fake_top1, n_arch=3, image_sizes=[16, 32], random_state=0).load()
    >>> len(X), sorted(X[0]), float(y.max()) < 1.0
    (6, ['d', 'e', 'image_size', 'ks'], True)
    """

    def __init__(self, path: Any, space: Any = None):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"path must be a str or path-like (the dataset folder), got "
                f"{type(path).__name__} {path!r}"
            )
        if space is not None and not isinstance(space, (str, SearchSpace)):
            raise TypeError(
                f"space must be a space name, a SearchSpace or None, got "
                f"{type(space).__name__} {space!r}"
            )
        self.path = Path(path)
        self.space = space

    def __repr__(self) -> str:
        return f"AccuracyDataset({str(self.path)!r}, space={self.space!r})"

    # -------------------------------------------------------------- locations
    @property
    def net_id_path(self) -> Path:
        """``<path>/net_id.dict``."""
        return self.path / "net_id.dict"

    @property
    def src_folder(self) -> Path:
        """``<path>/src``: one ``<image_size>.dict`` per resolution."""
        return self.path / "src"

    @property
    def acc_dict_path(self) -> Path:
        """``<path>/acc.dict``: the merged records."""
        return self.path / "acc.dict"

    def _space(self) -> SearchSpace | None:
        return None if self.space is None else get_space(self.space)

    # ----------------------------------------------------------------- reading
    def read_net_ids(self) -> list[str]:
        """The arch settings of ``net_id.dict`` (JSON strings), ``[]`` when absent.

        Returns
        -------
        list of str
            One setting key per arch.
        """
        return read_net_ids(self.net_id_path)

    def read_src(self, image_sizes: Iterable[int] | None = None) -> dict[int, dict[str, float]]:
        """Records per image size from ``src/`` (``.dict`` files plus unfinished journals).

        Parameters
        ----------
        image_sizes : iterable of int, optional
            Read only these sizes (all by default).

        Returns
        -------
        dict
            Image size -> {record key -> top-1 in percent}.
        """
        wanted = None if image_sizes is None else set(check_int_list("image_sizes", image_sizes))
        out: dict[int, dict[str, float]] = {}
        if not self.src_folder.is_dir():
            return out
        for path in sorted(self.src_folder.iterdir()):
            name = path.name
            if name.startswith(TMP_PREFIX) or name.startswith("."):
                continue
            if name.endswith(".dict"):
                size = size_of(path, ".dict")
                records = read_acc_file(path, size)
            elif name.endswith(_JOURNAL_SUFFIX):
                size = size_of(path, _JOURNAL_SUFFIX)
                records = _read_journal(path, size)
            else:
                continue
            if wanted is not None and size not in wanted:
                continue
            merge_records(out.setdefault(size, {}), records, path)
        return out

    def records(self) -> dict[str, float]:
        """All records, key -> top-1 in percent: ``src/`` merged with ``acc.dict``.

        Returns
        -------
        dict
            Record key -> top-1 in percent.
        """
        merged: dict[str, float] = {}
        for part in self.read_src().values():
            merged.update(part)
        if self.acc_dict_path.is_file():
            merge_records(merged, read_acc_file(self.acc_dict_path), self.acc_dict_path)
        return merged

    def load(self, as_frame: bool = False) -> tuple[Any, Any]:
        """Return ``(X, y)``: arch dicts (with ``image_size``) and top-1 as fractions.

        Records come from ``src/*.dict`` (and the journals of an unfinished build)
        and from ``acc.dict``, so an OFA folder with either loads. They are
        sorted by key, so the order does not depend on how the data was built.

        Parameters
        ----------
        as_frame : bool, default=False
            Return a pandas DataFrame (one column per arch key) and a Series
            ``"top1"`` instead of a list of dicts and a NumPy array.

        Returns
        -------
        X : list of dict or DataFrame
        y : ndarray of shape (n_records,) or Series
            Top-1 accuracy divided by 100.

        Raises
        ------
        DatasetFormatError
            A file is corrupt, two files disagree on a record, or (with a space)
            an arch is outside the space; the message names the file.
        FileNotFoundError
            The folder holds no records.
        """
        validate_parameter_constraints(
            {"as_frame": ["boolean"]}, {"as_frame": as_frame}, "AccuracyDataset.load"
        )
        recs = self.records()
        if not recs and not (self.acc_dict_path.is_file() or self.src_folder.is_dir()):
            raise FileNotFoundError(
                f"no accuracy dataset in {self.path}: expected acc.dict or src/<image_size>.dict"
            )
        keys = sorted(recs)
        X = [json.loads(k) for k in keys]
        space = self._space()
        if space is not None and X:
            self._check_in_space(space, X, keys)
        y = np.array([recs[k] for k in keys], dtype=np.float64) / 100.0
        if as_frame:
            import pandas as pd

            columns = list(space.arch_keys) if space is not None else list(X[0]) if X else []
            return pd.DataFrame(X, columns=columns or None), pd.Series(y, name="top1")
        return X, y

    def _check_in_space(self, space: SearchSpace, X: list[dict], keys: list[str]) -> None:
        try:
            space.to_codes(X)
        except (ArchValueError, ArchTypeError):
            for key, arch in zip(keys, X):
                try:
                    space.validate(arch)
                except (ArchValueError, ArchTypeError) as exc:
                    raise DatasetFormatError(
                        f"{self.path}: record {key} is not an arch of space {space.name!r}: {exc}",
                        self.path,
                    ) from None
            raise

    def merge(self, image_sizes: Iterable[int] | None = None) -> dict[str, float]:
        """Merge ``src/<size>.dict`` (optionally only some sizes) into ``acc.dict``.

        As OFA's merge, ``acc.dict`` is rewritten from ``src/`` (atomically).

        Parameters
        ----------
        image_sizes : iterable of int, optional
            Merge only these sizes (all of ``src/`` by default).

        Returns
        -------
        dict
            key -> top-1 in percent.
        """
        if image_sizes is not None:
            image_sizes = check_int_list("image_sizes", image_sizes)
        merged: dict[str, float] = {}
        for size, part in sorted(self.read_src(image_sizes).items()):
            merge_records(merged, part, self.src_folder / f"{size}.dict")
        write_json(self.acc_dict_path, dict(sorted(merged.items())))
        return merged

    # ---------------------------------------------------------------- building
    def _compact(self) -> dict[int, dict[str, float]]:
        """Fold the journals into ``src/<size>.dict`` (atomically) and drop them."""
        src = self.read_src()
        for path in self.src_folder.glob(f"*{_JOURNAL_SUFFIX}"):
            size = size_of(path, _JOURNAL_SUFFIX)
            write_json(self.src_folder / f"{size}.dict", dict(sorted(src[size].items())))
            path.unlink()
        if self.src_folder.is_dir():
            fsync_dir(self.src_folder)
        return src

    def _adopt_acc_dict(self) -> None:
        """Copy records found only in ``acc.dict`` into ``src/`` so that merging keeps them."""
        if not self.acc_dict_path.is_file():
            return
        src = self.read_src()
        extra: dict[int, dict[str, float]] = {}
        for key, value in read_acc_file(self.acc_dict_path).items():
            size = json.loads(key)["image_size"]
            if not isinstance(size, int):
                raise DatasetFormatError(
                    f"{self.acc_dict_path} [{key}]: image_size must be an int", self.acc_dict_path
                )
            part = src.get(size, {})
            if key not in part:
                extra.setdefault(size, {})[key] = value
            elif part[key] != value:
                raise DatasetFormatError(
                    f"{self.acc_dict_path}: record {key} has top-1 {value!r} but "
                    f"{part[key]!r} in src/{size}.dict",
                    self.acc_dict_path,
                )
        for size, records in extra.items():
            path = self.src_folder / f"{size}.dict"
            base = read_acc_file(path, size) if path.is_file() else {}
            write_json(path, dict(sorted({**base, **records}.items())))

    def _remove_stale_temps(self) -> None:
        for folder in (self.path, self.src_folder):
            if folder.is_dir():
                for p in folder.glob(f"{TMP_PREFIX}*"):
                    with contextlib.suppress(OSError):
                        p.unlink()

    def build(
        self,
        evaluator: Callable[[dict], float] | Any,
        archs: Any = None,
        *,
        n_arch: int = 1000,
        image_sizes: Sequence[int] | None = None,
        random_state: Any = None,
        n_jobs: int | None = None,
        backend: str | None = None,
        batch_size: int = 1,
        verbose: bool = False,
        top1_unit: str | None = None,
        progress: bool | None = None,
    ) -> AccuracyDataset:
        """Evaluate the missing (arch, image size) pairs and store them; resumable.

        Parameters
        ----------
        evaluator : callable or object with ``evaluate_batch``
            ``evaluator(arch) -> top-1 in percent`` or
            ``evaluator.evaluate_batch(archs) -> sequence of top-1 in percent``
            (e.g. :class:`~sklearn_ofa.accuracy.SupernetEvaluator`). ``arch`` is
            an arch dict of the space including ``image_size``. Must be
            picklable for process-based joblib backends.
        archs : list of dict, DataFrame or None
            The archs to evaluate. ``None``: the archs of ``net_id.dict``, topped
            up to ``n_arch`` distinct archs sampled from the space.
        n_arch : int, default=1000
            Number of distinct archs to sample when ``archs`` is None.
        image_sizes : sequence of int or None
            Evaluate every arch at each of these sizes. ``None``: the image size
            each given arch carries, or all sizes of the space for sampled archs.
        random_state : int, Generator or None
            Seed of the sampling.
        n_jobs : int or None
            joblib ``n_jobs`` (``None``: the active ``joblib.parallel_config``,
            else 1).
        backend : str or None
            joblib backend (``None``: the active ``joblib.parallel_config``, e.g.
            ``"dask"`` inside ``parallel_config(backend="dask")``).
        batch_size : int, default=1
            Pairs per joblib task (and per ``evaluate_batch`` call). A kill loses
            at most the tasks in flight: those running and those dispatched ahead
            (joblib's ``pre_dispatch``, ``2 * n_jobs`` tasks).
        verbose : bool, default=False
            Show a tqdm progress bar on stderr with ETA and the running mean top-1.
        top1_unit : {"percent", "fraction"} or None, default=None
            The unit of the evaluator's results. ``None``: the unit the evaluator
            declares in a ``top1_unit`` attribute (:class:`SupernetEvaluator`
            declares ``"percent"``), else percent with a guard: a result in
            ``(0, 1]`` looks like a fraction (0.75 for 75 %) and raises
            :class:`~sklearn_ofa.exceptions.EvaluatorError` instead of being
            stored as 0.75 %. ``"percent"``: every result in ``[0, 100]`` is
            stored as is (accuracies below 1 % are real). ``"fraction"``: results
            are in ``[0, 1]`` and stored multiplied by 100.
        progress : bool or None, default=None
            Deprecated since 0.2, removed in 0.4: use ``verbose``. When not None
            it emits a ``FutureWarning`` and its value is used as ``verbose``.

        Returns
        -------
        self

        Raises
        ------
        EvaluatorError
            The evaluator returned something else than a finite real number in
            the unit's range (``bool``, a string, NaN/inf, 150, 0.75 unguarded):
            the build stops; the results stored before it are kept.
        """
        validate_parameter_constraints(
            {
                "evaluator": [callable, HasMethods(["evaluate_batch"])],
                "n_arch": [StrictInterval(numbers.Integral, 1, None, closed="left")],
                "image_sizes": ["array-like", None],
                "random_state": [
                    StrictInterval(numbers.Integral, 0, None, closed="left"),
                    np.random.Generator,
                    np.random.SeedSequence,
                    None,
                ],
                "n_jobs": [StrictInterval(numbers.Integral, None, None, closed="neither"), None],
                "backend": [str, None],
                "batch_size": [StrictInterval(numbers.Integral, 1, None, closed="left")],
                "verbose": ["boolean"],
                "top1_unit": [StrOptions(set(TOP1_UNITS)), None],
                "progress": ["boolean", None],
            },
            {
                "evaluator": evaluator,
                "n_arch": n_arch,
                "image_sizes": image_sizes,
                "random_state": random_state,
                "n_jobs": n_jobs,
                "backend": backend,
                "batch_size": batch_size,
                "verbose": verbose,
                "top1_unit": top1_unit,
                "progress": progress,
            },
            "AccuracyDataset.build",
        )
        if progress is not None:
            warnings.warn(
                "AccuracyDataset.build(progress=...) is deprecated since 0.2 and will be removed "
                "in 0.4; use verbose=...",
                FutureWarning,
                stacklevel=2,
            )
            verbose = bool(progress)
        if top1_unit is None:
            top1_unit = _declared_unit(evaluator)
        space = self._space()
        if space is None:
            raise ValueError(
                "AccuracyDataset.build needs a search space: AccuracyDataset(path, space=...)"
            )
        if image_sizes is not None:
            image_sizes = check_int_list("image_sizes", image_sizes)
            bad = [s for s in image_sizes if s not in space.image_sizes]
            if bad:
                raise ArchValueError(
                    f"image_sizes contains {bad[0]!r}, which is not an image size of space "
                    f"{space.name!r}; allowed values: {list(space.image_sizes)}"
                )
        setting_keys = [k for k in space.arch_keys if k != "image_size"]
        with _build_lock(self.path):
            self._remove_stale_temps()
            existing_ids = self.read_net_ids()
            if archs is None:
                settings = self._sampled_settings(space, existing_ids, n_arch, random_state)
                sizes = list(space.image_sizes) if image_sizes is None else image_sizes
                pairs = [(s, size) for size in sizes for s in settings]
            else:
                pairs = self._given_pairs(space, archs, image_sizes, setting_keys)
                settings = [s for s, _ in pairs]
            ids = sorted(set(existing_ids) | {setting_key(s) for s in settings})
            if ids != existing_ids:
                write_json(self.net_id_path, ids)
            self.src_folder.mkdir(parents=True, exist_ok=True)
            self._adopt_acc_dict()
            done = self._compact()
            todo, n_done = self._missing(space, pairs, done)
            self._evaluate(evaluator, todo, n_done, n_jobs, backend, batch_size, verbose, top1_unit)
            self._compact()
            self.merge()
        return self

    def _sampled_settings(
        self, space: SearchSpace, existing_ids: list[str], n_arch: int, random_state: Any
    ) -> list[dict]:
        if not (isinstance(n_arch, numbers.Integral) and n_arch >= 1):
            raise ValueError(f"n_arch = {n_arch!r} is not allowed; use an int >= 1")
        img_col = space.key_columns["image_size"][0]
        settings = [json.loads(s) for s in existing_ids]
        seen = set()
        if settings:
            probe = [{**s, "image_size": space.image_sizes[0]} for s in settings]
            try:
                codes = space.to_codes(probe)
            except (ArchValueError, ArchTypeError) as exc:
                raise DatasetFormatError(
                    f"{self.net_id_path}: an arch is outside space {space.name!r}: {exc}",
                    self.net_id_path,
                ) from None
            codes[:, img_col] = 0
            seen = {row.tobytes() for row in codes}
        rng = np.random.default_rng(random_state)
        attempts = 0
        while len(settings) < n_arch:
            codes = space.sample_codes(max(2 * (n_arch - len(settings)), 16), random_state=rng)
            codes[:, img_col] = 0
            fresh = []
            for row in codes:
                b = row.tobytes()
                if b not in seen:
                    seen.add(b)
                    fresh.append(row)
                    if len(settings) + len(fresh) == n_arch:
                        break
            for arch in space.from_codes(np.array(fresh)) if fresh else []:
                settings.append({k: arch[k] for k in arch if k != "image_size"})
            attempts = attempts + 1 if not fresh else 0
            if attempts > 50:
                raise ValueError(
                    f"n_arch = {n_arch} is larger than the number of distinct archs found in "
                    f"space {space.name!r} ({len(settings)})"
                )
        return settings

    def _given_pairs(
        self, space: SearchSpace, archs: Any, image_sizes: list[int] | None, setting_keys: list
    ) -> list[tuple[dict, int]]:
        arch_list = space.as_arch_list(archs)
        pairs = []
        for i, arch in enumerate(arch_list):
            if not isinstance(arch, dict):
                raise ArchTypeError(f"archs[{i}] must be a dict, got {type(arch).__name__}")
            size = arch.get("image_size")
            if image_sizes is None and size is None:
                raise ArchValueError(
                    f"archs[{i}] has no 'image_size'; pass image_sizes=[...] to evaluate it"
                )
            probe = {**arch, "image_size": space.image_sizes[0] if size is None else size}
            checked = space.validate(probe, where=f"archs[{i}]")
            setting = {k: checked[k] for k in setting_keys}
            for s in [checked["image_size"]] if image_sizes is None else image_sizes:
                pairs.append((setting, int(s)))
        return pairs

    def _missing(
        self, space: SearchSpace, pairs: list[tuple[dict, int]], done: dict[int, dict]
    ) -> tuple[list[tuple[str, dict]], int]:
        """Pairs not on disk yet (compared on codes, so inactive slots do not matter)."""
        done_keys = [k for part in done.values() for k in part]
        done_codes: set = set()
        if done_keys:
            done_archs = [json.loads(k) for k in done_keys]
            try:
                codes = space.to_codes(done_archs)
            except (ArchValueError, ArchTypeError) as exc:
                raise DatasetFormatError(
                    f"{self.src_folder}: a record is outside space {space.name!r}: {exc}",
                    self.src_folder,
                ) from None
            done_codes = {row.tobytes() for row in codes}
        full = [{**s, "image_size": size} for s, size in pairs]
        codes = space.to_codes(full) if full else np.zeros((0, space.n_genes), np.int16)
        todo, queued, n_done = [], set(), 0
        for arch, row in zip(full, codes):
            b = row.tobytes()
            if b in queued:
                continue
            queued.add(b)
            if b in done_codes:
                n_done += 1
            else:
                todo.append((record_key(arch, arch["image_size"]), arch))
        return todo, n_done

    def _evaluate(
        self, evaluator, todo, n_done, n_jobs, backend, batch_size, verbose, top1_unit=None
    ) -> None:
        from joblib import Parallel, delayed
        from tqdm.auto import tqdm

        chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        journals: dict[int, Journal] = {}
        bar = tqdm(
            total=n_done + len(todo),
            initial=n_done,
            desc="accuracy dataset",
            unit="eval",
            disable=not verbose,
            dynamic_ncols=True,
            file=sys.stderr,
        )
        total, count = 0.0, 0
        try:
            if not chunks:
                return
            # one task per chunk (no auto-batching), at most 2 * n_jobs tasks dispatched ahead
            runner = Parallel(
                n_jobs=n_jobs, backend=backend, batch_size=1, return_as="generator_unordered"
            )
            tasks = (delayed(_run_chunk)(evaluator, chunk) for chunk in chunks)
            for results in runner(tasks):
                for key, arch, value in results:
                    value = check_top1(value, arch, top1_unit)
                    size = int(arch["image_size"])
                    if size not in journals:
                        journals[size] = Journal(self.src_folder / f"{size}{_JOURNAL_SUFFIX}")
                    journals[size].append([key, value])
                    total, count = total + value, count + 1
                    bar.set_postfix(top1=f"{value:.2f}", mean_top1=f"{total / count:.2f}")
                    bar.update()
        finally:
            bar.close()
            for j in journals.values():
                j.close()


def _declared_unit(evaluator: Any) -> str | None:
    """The ``top1_unit`` an evaluator declares (an attribute), or None; checked."""
    unit = getattr(evaluator, "top1_unit", None)
    if unit is not None and unit not in TOP1_UNITS:
        raise ValueError(
            f"the evaluator's top1_unit attribute is {unit!r}; allowed values: {list(TOP1_UNITS)}"
        )
    return unit


def _run_chunk(evaluator: Any, chunk: list[tuple[str, dict]]) -> list[tuple[str, dict, Any]]:
    values = evaluate_archs(evaluator, [arch for _, arch in chunk])
    return [(key, arch, value) for (key, arch), value in zip(chunk, values)]
