"""The figures the README and docs print are the recorded benchmark results.

The docs' tables are rendered from ``benchmarks/results/*.json`` at build time
(``benchmarks/tables.py``); the README is plain text, so its rows are checked here
against the same files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import tables  # noqa: E402

README = (REPO / "README.md").read_text()


def _readme_row(label: str) -> str:
    rows = [ln for ln in README.splitlines() if ln.startswith(f"| {label}")]
    assert len(rows) == 1, f"README has {len(rows)} rows starting with {label!r}"
    return rows[0]


def test_readme_real_accuracy_rows_are_the_recorded_ones():
    cells = tables.accuracy_real_cells(tables.load("accuracy_real"))
    row = _readme_row("default accuracy pipeline, 901 real ImageNet subnets")
    for recipe in ("default", "ofa"):
        for key in ("cv5", "nsga2_to_linas", "linas_to_nsga2"):
            assert cells[recipe][key] in row, (recipe, key, cells[recipe][key], row)
    curve = _readme_row("learning curve on the real subnets")
    for recipe in ("default", "ofa"):
        for n in ("250", "500"):
            assert cells[recipe][f"n{n}"] in curve, (recipe, n, curve)


@pytest.mark.parametrize("topic", sorted(tables.RENDERERS))
def test_generated_doc_tables_render_and_are_included(topic, tmp_path):
    (path,) = [p for p in tables.write_all(tmp_path) if p.stem == topic]
    text = path.read_text()
    assert "====" in text and "nan" not in text
    pages = (REPO / "docs").rglob("*.rst")
    assert any(f"_generated/{topic}.rst" in p.read_text() for p in pages)
