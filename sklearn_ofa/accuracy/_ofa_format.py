"""Readers and writers of OFA's accuracy-dataset files (``net_id.dict``, ``src/<size>.dict``, ``acc.dict``).

Every reader checks what it reads and raises
:class:`~sklearn_ofa.exceptions.DatasetFormatError` naming the file (and key)
of the first problem. Keys are ``json.dumps`` of the arch dict with Python's
default separators, the space's key order and ``image_size`` last.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any

from .._io import atomic_output
from ..exceptions import DatasetFormatError

__all__ = [
    "check_stored_top1",
    "merge_records",
    "parse_key",
    "read_acc_file",
    "read_json",
    "read_net_ids",
    "record_key",
    "setting_key",
    "size_of",
    "write_json",
]


def setting_key(setting: dict) -> str:
    """OFA's key of an arch setting: ``json.dumps`` with default separators, order kept.

    Parameters
    ----------
    setting : dict
        The arch without its image size.

    Returns
    -------
    str
        The key, as OFA's ``net_id.dict`` holds it.

    Examples
    --------
    >>> setting_key({"ks": [3], "e": [4], "d": [2]})
    '{"ks": [3], "e": [4], "d": [2]}'
    """
    return json.dumps(setting)


def record_key(setting: dict, image_size: int) -> str:
    """OFA's key of one accuracy record: the setting with ``image_size`` appended last.

    Parameters
    ----------
    setting : dict
        The arch without its image size (``ks``, ``e``, ``d``...).
    image_size : int
        The resolution.

    Returns
    -------
    str
        The key, as OFA's ``src/<size>.dict`` files hold it.

    Examples
    --------
    >>> record_key({"ks": [3], "e": [4], "d": [2]}, 128)
    '{"ks": [3], "e": [4], "d": [2], "image_size": 128}'
    """
    setting = {k: v for k, v in setting.items() if k != "image_size"}
    return json.dumps({**setting, "image_size": int(image_size)})


def write_json(path: Path, obj: Any) -> None:
    """Write JSON durably and atomically (see :func:`sklearn_ofa._io.atomic_output`)."""
    with atomic_output(path, durable=True) as tmp:
        tmp.write_text(json.dumps(obj, indent=4) + "\n")


def check_stored_top1(value: Any, where: str, path: Any = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DatasetFormatError(
            f"{where}: top-1 must be a number in percent (0..100), got {value!r}", path
        )
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise DatasetFormatError(
            f"{where}: top-1 = {value!r} is outside 0..100 (values are stored in percent)", path
        )
    return value


def read_json(path: Path) -> Any:
    def unique_pairs(pairs: list) -> dict:
        out: dict = {}
        for k, v in pairs:
            if k in out and out[k] != v:
                raise DatasetFormatError(
                    f"{path}: key {k} appears twice with different values ({out[k]!r} and {v!r})",
                    path,
                )
            out[k] = v
        return out

    try:
        text = path.read_text()
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"{path}: not a UTF-8 text file ({exc})", path) from None
    try:
        return json.loads(text, object_pairs_hook=unique_pairs)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f"{path}: not valid JSON ({exc})", path) from None


def parse_key(key: str, where: str, path: Path) -> dict:
    try:
        arch = json.loads(key)
    except json.JSONDecodeError:
        arch = None
    if not isinstance(arch, dict):
        raise DatasetFormatError(f"{where}: key {key!r} is not a JSON object of an arch", path)
    return arch


def read_acc_file(path: Path, image_size: int | None = None) -> dict[str, float]:
    """Read ``src/<size>.dict`` or ``acc.dict``: key -> top-1 (percent), checked."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DatasetFormatError(
            f"{path}: expected a JSON object (arch key -> top-1), got {type(data).__name__}", path
        )
    out = {}
    for key, value in data.items():
        where = f"{path} [{key}]"
        arch = parse_key(key, str(path), path)
        if image_size is not None and arch.get("image_size") != image_size:
            raise DatasetFormatError(
                f"{where}: image_size = {arch.get('image_size')!r} does not match the file "
                f"name (expected {image_size})",
                path,
            )
        if "image_size" not in arch:
            raise DatasetFormatError(f"{where}: the arch has no 'image_size'", path)
        out[key] = check_stored_top1(value, where, path)
    return out


def merge_records(target: dict, new: dict, path: Any) -> None:
    for key, value in new.items():
        old = target.get(key)
        if old is not None and old != value:
            raise DatasetFormatError(
                f"{path}: record {key} has top-1 {value!r} but {old!r} elsewhere in the dataset",
                path,
            )
        target[key] = value


def size_of(path: Path, suffix: str) -> int:
    stem = path.name[: -len(suffix)]
    try:
        return int(stem)
    except ValueError:
        raise DatasetFormatError(
            f"{path}: file name must be <image_size>{suffix}, e.g. 224{suffix}", path
        ) from None


def read_net_ids(path: Path) -> list[str]:
    """The arch settings of a ``net_id.dict`` (JSON strings), ``[]`` when absent."""
    if not path.is_file():
        return []
    data = read_json(path)
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise DatasetFormatError(f"{path}: expected a JSON list of arch-setting JSON strings", path)
    for s in data:
        parse_key(s, str(path), path)
    return data
