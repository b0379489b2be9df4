"""Latency lookup tables in OFA's YAML format (one file per input resolution)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

import yaml

from .._atomic import atomic_output

__all__ = ["load_ofa_lut", "save_ofa_lut", "image_size_of_file"]

_SIZE_RE = re.compile(r"(\d+)_lookup_table\.ya?ml$")
_CONV_RE = re.compile(r"^Conv-input:(\d+)x(\d+)x3-")


def image_size_of_file(path: str | os.PathLike, entries: Mapping | None = None) -> int | None:
    """The input resolution of one OFA LUT file: from its name (``224_lookup_table.yaml``),
    else from its first-conv key (``Conv-input:224x224x3-...``); None when neither says."""
    m = _SIZE_RE.search(Path(path).name)
    if m:
        return int(m.group(1))
    for key in entries or {}:
        c = _CONV_RE.match(key)
        if c:
            return int(c.group(1))
    return None


def _entry(key: str, value: object, path: Path) -> dict:
    if not isinstance(value, Mapping) or "mean" not in value:
        raise ValueError(f"{path}: entry {key!r} must be a mapping with 'mean', got {value!r}")
    out = {"mean": float(value["mean"])}
    if "std" in value:
        out["std"] = float(value["std"])
    elif "var" in value:
        out["std"] = math.sqrt(max(float(value["var"]), 0.0))
    if "count" in value:
        out["count"] = int(value["count"])
    for extra in ("median", "macs"):
        if extra in value:
            out[extra] = value[extra]
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

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "32_lookup_table.yaml").write_text(
    ...     "Conv-input:32x32x3-output:16x16x8:\\n  mean: 0.5\\n  std: 0.01\\n  count: 10\\n")
    >>> load_ofa_lut(folder)[32]["Conv-input:32x32x3-output:16x16x8"]["mean"]
    0.5
    """
    if isinstance(paths, (str, os.PathLike)):
        p = Path(paths)
        if p.is_dir():
            files = sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))
            if not files:
                raise FileNotFoundError(f"no *.yaml latency tables in folder {p}")
        else:
            files = [p]
    else:
        files = [Path(x) for x in paths]
    out: dict[int | None, dict] = {}
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"latency table {f} does not exist")
        try:
            raw = yaml.safe_load(f.read_text())
        except yaml.YAMLError as exc:
            raise ValueError(f"{f}: not valid YAML ({exc})") from None
        if not isinstance(raw, Mapping):
            raise ValueError(f"{f}: expected a mapping of layer keys, got {type(raw).__name__}")
        entries = {str(k): _entry(str(k), v, f) for k, v in raw.items()}
        size = image_size_of_file(f, entries)
        if size in out:
            raise ValueError(f"{f}: a second table for image size {size}")
        out[size] = entries
    return out


def save_ofa_lut(lut: Mapping[int, Mapping[str, Mapping]], folder: str | os.PathLike) -> list[Path]:
    """Write ``{image_size: {key: stats}}`` as OFA YAML files ``<size>_lookup_table.yaml``.

    Each file is written to a temporary file and renamed, so a reader never
    sees a half-written table. Only ``mean``, ``std`` and ``count`` (and
    ``median``/``macs`` when present) are written.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for size, entries in sorted(lut.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        name = f"{size}_lookup_table.yaml" if size is not None else "lookup_table.yaml"
        data = {}
        for key in sorted(entries):
            st = entries[key]
            row = {"count": int(st.get("count", 1)), "mean": float(st["mean"])}
            row["std"] = float(st.get("std", 0.0))
            for extra in ("median", "macs"):
                if st.get(extra) is not None:
                    row[extra] = float(st[extra]) if extra == "median" else int(st[extra])
            data[key] = row
        with atomic_output(folder / name, durable=True) as tmp, open(tmp, "w") as fh:
            yaml.safe_dump(data, fh, sort_keys=True)
        written.append(folder / name)
    return written
