#!/usr/bin/env python
"""Build the bundled ``ofa_mbv3_imagenet`` dataset from DyNAS-T's measured OFA subnets.

Reads the two CSV files of real OFA MobileNetV3 w1.0 subnets with measured
ImageNet top-1 (IntelLabs/DyNAS-T, Apache-2.0) and writes what the package ships:
a compact CSV in the package's arch format (top-1 as a fraction) and its
datasheet, with the attribution the license asks for. Every row is checked on
the way: the arch must be valid in ``ofa_mbv3_w1.0``, the top-1 a percentage,
and the MACs recorded by DyNAS-T must equal the package's own count.

Usage::

    python scripts/make_ofa_mbv3_imagenet.py                      # from ../shared/real_data
    python scripts/make_ofa_mbv3_imagenet.py --src DIR --out DIR  # elsewhere
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sklearn_ofa._io import atomic_output  # noqa: E402
from sklearn_ofa.efficiency import FLOPsModel  # noqa: E402
from sklearn_ofa.spaces import get_space  # noqa: E402

SPACE = "ofa_mbv3_w1.0"
SOURCES = {  # file -> short name of the search that chose its subnets
    "mbnv3w10_evonsga2_acc_macs.csv": "nsga2",
    "mbnv3w10_linasga_acc.csv": "linas",
}
DEFAULT_SRC = REPO.parent / "shared" / "real_data" / "dynast_ofa_mbv3_w1.0"
DEFAULT_OUT = REPO / "sklearn_ofa" / "datasets"
HEADER = ["ks", "e", "d", "image_size", "top1", "macs", "params", "source"]


def read_source(path: Path, space) -> list[dict]:
    """Rows of one DyNAS-T CSV as validated records (top-1 as a fraction)."""
    rows = []
    with path.open(newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            # OFA's form ({"r": [224], "wid": None, ...}) is accepted and checked
            arch = space.validate(ast.literal_eval(row["Sub-network"]), where=f"{path.name}:{i}")
            top1 = float(row["Top-1 Acc (%)"])
            if not 0.0 < top1 <= 100.0:
                raise ValueError(f"{path.name}:{i}: Top-1 Acc (%) = {top1!r} is not a percentage")
            rows.append(
                {
                    **arch,
                    "top1": top1 / 100.0,
                    "macs": int(row["MACs"]),
                    "params": int(row["Model Parameters"]),
                    "source": SOURCES[path.name],
                }
            )
    return rows


def datasheet(rows: list[dict]) -> str:
    """The ``DESCR`` text, with statistics computed from ``rows``."""
    top1 = 100.0 * np.array([r["top1"] for r in rows])
    macs = np.array([r["macs"] for r in rows]) / 1e6
    distinct = len({tuple(effective(r)) for r in rows})
    counts = {s: sum(r["source"] == s for r in rows) for s in SOURCES.values()}
    return f"""\
.. _ofa_mbv3_imagenet_dataset:

Measured ImageNet top-1 of OFA MobileNetV3 w1.0 subnets
-------------------------------------------------------

**Data Set Characteristics:**

:Number of Instances: {len(rows)} ({distinct} distinct networks: the others differ only in
    the genes of skipped blocks)
:Features: an architecture of the ``ofa_mbv3_w1.0`` search space: ``ks`` (20 kernel sizes),
    ``e`` (20 expand ratios), ``d`` (5 stage depths) and ``image_size`` (224 for all)
:Target: top-1 accuracy on the ImageNet validation set (50,000 images), as a fraction
:Top-1 (percent): min {top1.min():.2f}, median {np.median(top1):.2f}, max {top1.max():.2f},
    mean {top1.mean():.2f}, std {top1.std():.2f}
:MACs (millions): min {macs.min():.1f}, median {np.median(macs):.1f}, max {macs.max():.1f}
:Sources: ``nsga2`` {counts["nsga2"]} subnets (NSGA-II search on top-1 and MACs),
    ``linas`` {counts["linas"]} subnets (LINAS, a predictor-guided genetic search on top-1)
:Built by: ``scripts/make_ofa_mbv3_imagenet.py``

Every record is a subnet of OFA's released supernet ``ofa_mbv3_d234_e346_k357_w1.0``,
taken with its shared weights (no fine-tuning) and evaluated at resolution 224.
The subnets were chosen by searches, so they crowd the accurate part of the
space; a predictor trained on them extrapolates poorly to small or random
subnets. The recorded MACs equal the package's own count
(:class:`sklearn_ofa.efficiency.FLOPsModel`) for every record, and the
recorded parameter counts equal those of the static subnets the package builds.

Source and license
~~~~~~~~~~~~~~~~~~

Measured by IntelLabs/DyNAS-T and published in its repository
(``notebooks/data/mbnv3w10_evonsga2_acc_macs.csv`` and
``notebooks/data/mbnv3w10_linasga_acc.csv``), licensed under the Apache License,
Version 2.0. Copyright (c) 2022 Intel Corporation. This package redistributes
the measurements converted to its own format (top-1 as a fraction, one column
per arch key, the date and latency columns dropped), keeping this attribution.
"""


def effective(r: dict) -> list:
    """The genes that matter: those of the blocks a subnet runs (plus depths)."""
    out, slot = list(r["d"]), 0
    for depth in r["d"]:
        out += r["ks"][slot : slot + depth] + r["e"][slot : slot + depth]
        slot += 4
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC, help="DyNAS-T CSV folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="sklearn_ofa/datasets")
    args = parser.parse_args(argv)
    space = get_space(SPACE)
    rows = [r for name in SOURCES for r in read_source(args.src / name, space)]
    macs = FLOPsModel(space).fit().predict_macs([{k: r[k] for k in HEADER[:4]} for r in rows])
    recorded = np.array([r["macs"] for r in rows])
    if not np.array_equal(macs, recorded):
        bad = int(np.flatnonzero(macs != recorded)[0])
        raise ValueError(f"row {bad}: recorded MACs {recorded[bad]} != counted {int(macs[bad])}")
    target = args.out / "data" / "ofa_mbv3_imagenet.csv"
    with atomic_output(target) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for r in rows:
            writer.writerow(
                ["-".join(map(str, r[k])) for k in ("ks", "e", "d")]
                + [r["image_size"], f"{r['top1']:.5f}", r["macs"], r["params"], r["source"]]
            )
    descr = args.out / "descr" / "ofa_mbv3_imagenet.rst"
    with atomic_output(descr) as tmp:
        tmp.write_text(datasheet(rows), encoding="utf-8")
    print(f"wrote {len(rows)} subnets to {target} and the datasheet {descr}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
