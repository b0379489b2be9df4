"""Reading the bundled CSV files: arch columns (``3-5-7`` lists) plus typed extra columns."""

from __future__ import annotations

import csv
from importlib import resources
from typing import Callable

import numpy as np

ARCH_COLUMNS = ["ks", "e", "d", "image_size"]


def read_arch_csv(name: str, columns: dict[str, Callable]) -> tuple[list[dict], dict]:
    """Arch dicts and the ``columns`` (name -> type) of a bundled CSV in ``data/``.

    The header must be exactly the arch columns followed by ``columns``; a
    ``top1`` column must hold fractions in [0, 1] (a corrupt file raises).
    """
    path = resources.files(__package__) / "data" / name
    archs: list[dict] = []
    values: dict[str, list] = {c: [] for c in columns}
    with path.open("r", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if header != ARCH_COLUMNS + list(columns):
            raise ValueError(f"{name}: unexpected header {header}")
        for row in reader:
            ks, e, d, r = row[:4]
            archs.append(
                {
                    "ks": [int(v) for v in ks.split("-")],
                    "e": [int(v) for v in e.split("-")],
                    "d": [int(v) for v in d.split("-")],
                    "image_size": int(r),
                }
            )
            for (col, kind), v in zip(columns.items(), row[4:]):
                values[col].append(kind(v))
    out = {
        c: np.asarray(v) if columns[c] is not str else np.asarray(v, dtype=object)
        for c, v in values.items()
    }
    if "top1" in out:
        top1 = out["top1"] = out["top1"].astype(np.float64)
        bad = ~(np.isfinite(top1) & (top1 >= 0.0) & (top1 <= 1.0))
        if bad.any():  # the bundled file is corrupt: never hand out a wrong target
            r = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name}, data row {r + 1}: top1 = {top1[r]!r} is not a fraction in [0, 1]; "
                "the bundled file is corrupt, reinstall the package"
            )
    return archs, out
