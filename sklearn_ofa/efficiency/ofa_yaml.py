"""Latency lookup tables in OFA's YAML format (one file per input resolution)."""

from __future__ import annotations

import math
import numbers
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .._checks import is_real
from .._io import atomic_output

__all__ = ["load_ofa_lut", "save_ofa_lut", "image_size_of_file", "check_latency_stats"]

_SIZE_RE = re.compile(r"(\d+)_lookup_table\.ya?ml$")
_CONV_RE = re.compile(r"^Conv-input:(\d+)x(\d+)x3-")

#: Statistics of a table entry that are latencies in milliseconds (finite, >= 0).
LATENCY_FIELDS = ("median", "mean", "std", "min", "iqr")


def image_size_of_file(path: str | os.PathLike, entries: Mapping | None = None) -> int | None:
    """The input resolution of one OFA LUT file: from its name (``224_lookup_table.yaml``),
    else from its first-conv key (``Conv-input:224x224x3-...``); None when neither says.

    Parameters
    ----------
    path : str or path-like
        The file (only its name is read).
    entries : mapping, optional
        The file's entries, keyed by block key.

    Returns
    -------
    int or None
        The image size.

    Examples
    --------
    >>> from sklearn_ofa.efficiency.ofa_yaml import image_size_of_file
    >>> image_size_of_file("note10_lut/192_lookup_table.yaml")
    192
    >>> image_size_of_file("table.yaml", {"Conv-input:160x160x3-output:80x80x24": {}})
    160
    >>> image_size_of_file("table.yaml") is None
    True
    """
    m = _SIZE_RE.search(Path(path).name)
    if m:
        return int(m.group(1))
    for key in entries or {}:
        c = _CONV_RE.match(key)
        if c:
            return int(c.group(1))
    return None


def _check_number(
    value: Any, where: str, allowed: str, *, integral: bool = False, low: float = 0.0
) -> None:
    ok = is_real(value) and math.isfinite(value) and value >= low
    if ok and integral:
        ok = float(value).is_integer()
    if not ok:
        raise ValueError(f"{where} = {value!r} is not allowed; allowed values: {allowed}")


def check_latency_stats(stats: Any, where: str) -> None:
    """Check one latency-table entry: its latencies are finite numbers of milliseconds >= 0.

    Every table enters :class:`~sklearn_ofa.efficiency.LatencyTable` through
    this check (OFA YAML files, the ``table=`` parameter, the profiling
    journal and fresh profiling results), so that no NaN, infinite, negative
    or non-numeric latency can reach a prediction.

    Parameters
    ----------
    stats : mapping
        ``{"median"/"mean": ms, "std": ms, "min": ms, "iqr": ms, "count": n, "macs": n}``;
        ``median`` or ``mean`` is required, the others are optional.
    where : str
        Names the entry in the error message (file and key, ``table[224]['Conv-...']``...).

    Raises
    ------
    ValueError
        Naming the entry, the field, the value and what is allowed.

    Examples
    --------
    >>> check_latency_stats({"mean": 0.5, "std": 0.01, "count": 10}, "entry")
    >>> check_latency_stats({"mean": float("nan")}, "table[224]['Conv']")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: table[224]['Conv']['mean'] = nan is not allowed; allowed values: a finite number of ...
    """
    if not isinstance(stats, Mapping):
        raise ValueError(
            f"{where} = {stats!r} is not allowed; allowed values: a mapping of statistics "
            "with 'median' or 'mean' (ms)"
        )
    if "median" not in stats and "mean" not in stats:
        raise ValueError(
            f"{where} has neither 'median' nor 'mean' (got keys {sorted(map(str, stats))})"
        )
    for field in LATENCY_FIELDS:
        if field in stats:
            _check_number(
                stats[field], f"{where}[{field!r}]", "a finite number of milliseconds >= 0"
            )
    if stats.get("count") is not None:
        _check_number(stats["count"], f"{where}['count']", "an int >= 1", integral=True, low=1)
    if stats.get("macs") is not None:
        _check_number(
            stats["macs"], f"{where}['macs']", "a finite whole number >= 0", integral=True
        )


def _entry(key: str, value: object, path: Path) -> dict:
    where = f"{path}: entry {key!r}"
    if not isinstance(value, Mapping) or "mean" not in value:
        raise ValueError(f"{where} must be a mapping with 'mean', got {value!r}")
    check_latency_stats(value, where)
    out = {"mean": float(value["mean"])}
    if "std" in value:
        out["std"] = float(value["std"])
    elif "var" in value:
        _check_number(value["var"], f"{where}['var']", "a finite variance (ms^2) >= 0")
        out["std"] = math.sqrt(float(value["var"]))
    if value.get("count") is not None:
        out["count"] = int(value["count"])
    for extra in ("median", "macs"):
        if value.get(extra) is not None:
            out[extra] = value[extra]
    return out


def _load_files(paths: Any) -> list[tuple[Path, int | None, dict]]:
    """``(file, image size, entries)`` of every OFA YAML table in ``paths`` (checked)."""
    if isinstance(paths, (str, os.PathLike)):
        p = Path(paths)
        if p.is_dir():
            files = sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))
            if not files:
                raise FileNotFoundError(f"no *.yaml latency tables in folder {p}")
        else:
            files = [p]
    elif isinstance(paths, Iterable) and not isinstance(paths, (bytes, Mapping)):
        files = list(paths)
        bad = [x for x in files if not isinstance(x, (str, os.PathLike))]
        if bad:
            raise TypeError(
                f"paths contains {bad[0]!r} ({type(bad[0]).__name__}); allowed values: "
                "a folder, a file, or a list of files (str or path-like)"
            )
        if not files:
            raise ValueError(
                "paths = [] is not allowed; allowed values: a folder, a file, or a non-empty list of files"
            )
        files = [Path(x) for x in files]
    else:
        raise TypeError(
            f"paths must be a folder, a file, or a list of files (str or path-like), got {type(paths).__name__}"
        )
    out: list[tuple[Path, int | None, dict]] = []
    seen: dict[int | None, Path] = {}
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"latency table {f} does not exist")
        try:
            raw = yaml.safe_load(f.read_text())
        except yaml.YAMLError as exc:
            raise ValueError(f"{f}: not valid YAML ({exc})") from None
        if not isinstance(raw, Mapping):
            raise ValueError(f"{f}: expected a mapping of layer keys, got {type(raw).__name__}")
        if not raw:
            raise ValueError(f"{f}: the latency table is empty")
        entries = {str(k): _entry(str(k), v, f) for k, v in raw.items()}
        size = image_size_of_file(f, entries)
        if size in seen:
            raise ValueError(
                f"{f}: a second table for image size {size} (the first is {seen[size]})"
            )
        seen[size] = f
        out.append((f, size, entries))
    return out


def load_ofa_lut(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> dict[int | None, dict]:
    """Read OFA latency-table YAML files.

    Parameters
    ----------
    paths : path or list of paths
        A folder (every ``*.yaml`` in it), one file, or several files.

    Returns
    -------
    dict
        ``{image_size: {key: {"mean": ms, "std": ms, "count": n}}}``. ``var``
        (ProxylessNAS's ``mobile_trim.yaml``) is turned into ``std``. The image
        size comes from the file name or its first-conv key (None if unknown).

    Raises
    ------
    ValueError
        A file that is not YAML, is empty, has an entry without ``mean``, or a
        latency that is not a finite number of milliseconds >= 0 (NaN, ``.inf``,
        negative, a string...); the message names the file, the key and the value.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "32_lookup_table.yaml").write_text(
    ...     "Conv-input:32x32x3-output:16x16x8:\\n  mean: 0.5\\n  std: 0.01\\n  count: 10\\n")
    >>> load_ofa_lut(folder)[32]["Conv-input:32x32x3-output:16x16x8"]["mean"]
    0.5
    """
    return {size: entries for _, size, entries in _load_files(paths)}


def save_ofa_lut(lut: Mapping[int, Mapping[str, Mapping]], folder: str | os.PathLike) -> list[Path]:
    """Write ``{image_size: {key: stats}}`` as OFA YAML files ``<size>_lookup_table.yaml``.

    Each file is written to a temporary file and renamed, so a reader never
    sees a half-written table. Only ``mean``, ``std`` and ``count`` (and
    ``median``/``macs`` when present) are written. Every entry is checked
    first (:func:`check_latency_stats`): nothing is written when one latency
    is NaN, infinite or negative.

    Parameters
    ----------
    lut : mapping
        ``{image_size: {block key: {"mean": ms, "std": ms, "count": n, ...}}}``;
        an image size of None writes ``lookup_table.yaml``.
    folder : str or path-like
        Created if needed.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> from sklearn_ofa.efficiency.ofa_yaml import save_ofa_lut
    >>> key = "Conv-input:160x160x3-output:80x80x24"
    >>> [p.name for p in save_ofa_lut({160: {key: {"mean": 1.5, "std": 0.1, "count": 10}}}, "lut")]
    ['160_lookup_table.yaml']
    """
    if not isinstance(lut, Mapping):
        raise TypeError(
            f"lut must be a mapping {{image_size: {{key: stats}}}}, got {type(lut).__name__}"
        )
    for size, entries in lut.items():
        if size is not None and (
            not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1
        ):
            raise ValueError(
                f"lut key {size!r} is not allowed; allowed values: an image size (int >= 1) or None"
            )
        if not isinstance(entries, Mapping):
            raise ValueError(
                f"lut[{size!r}] must be a mapping {{key: stats}}, got {type(entries).__name__}"
            )
        for key, st in entries.items():
            check_latency_stats(st, f"lut[{size!r}][{key!r}]")
            if "mean" not in st:
                raise ValueError(
                    f"lut[{size!r}][{key!r}] has no 'mean' (OFA's YAML tables need it)"
                )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for size, entries in sorted(lut.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        name = f"{size}_lookup_table.yaml" if size is not None else "lookup_table.yaml"
        data = {}
        for key in sorted(entries):
            st = entries[key]
            count = st.get("count")
            row = {"count": int(count) if count is not None else 1, "mean": float(st["mean"])}
            row["std"] = float(st.get("std", 0.0))
            for extra in ("median", "macs"):
                if st.get(extra) is not None:
                    row[extra] = float(st[extra]) if extra == "median" else int(st[extra])
            data[key] = row
        with atomic_output(folder / name, durable=True) as tmp, open(tmp, "w") as fh:
            yaml.safe_dump(data, fh, sort_keys=True)
        written.append(folder / name)
    return written
