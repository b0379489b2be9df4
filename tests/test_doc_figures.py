"""The figures the README and docs print are the recorded benchmark results.

Every figure comes from ``benchmarks/figures.py`` (read from
``benchmarks/results/*.json``): the docs use them as substitutions and generated
tables at build time; the README is plain text, so its measured table must be the
one ``benchmarks/tables.py`` renders and its prose must quote the same figures.
"""

from __future__ import annotations

import re
import string
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import figures  # noqa: E402
import tables  # noqa: E402

README = (REPO / "README.md").read_text()
DOCS = {p: p.read_text() for p in (REPO / "docs").rglob("*.rst") if "_generated" not in p.parts}


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def recorded():
    return figures.figures()


def test_every_figure_is_a_formatted_result(recorded):
    assert len(recorded) > 100
    for name, value in recorded.items():
        assert value and "nan" not in value and "None" not in value, (name, value)


def test_readme_table_is_the_rendered_one(recorded):
    assert tables.readme_block(README) == tables.readme_table(recorded), (
        "README's measured table differs from the results: run python benchmarks/tables.py --readme"
    )


@pytest.mark.parametrize("phrase", tables.README_PHRASES, ids=lambda p: p[:40])
def test_readme_prose_quotes_the_recorded_figures(recorded, phrase):
    assert _flat(phrase.format(**recorded)) in _flat(README)


def test_templates_name_only_recorded_figures(recorded):
    templates = [t for row in tables.README_ROWS for t in row] + list(tables.README_PHRASES)
    names = {f for t in templates for _, f, _, _ in string.Formatter().parse(t) if f}
    assert names <= set(recorded), names - set(recorded)


def test_docs_substitutions_are_recorded_figures(recorded):
    used = {m for text in DOCS.values() for m in re.findall(r"\|([a-z][a-z0-9_]*)\|", text)}
    assert used, "no figure substitutions in the docs"
    assert used <= set(recorded), used - set(recorded)


@pytest.mark.parametrize("topic", sorted(tables.RENDERERS))
def test_generated_doc_tables_render_and_are_included(topic, tmp_path, recorded):
    (path,) = [p for p in tables.write_all(tmp_path) if p.stem == topic]
    text = path.read_text()
    assert "====" in text and "nan" not in text
    assert any(f"_generated/{topic}.rst" in t for t in DOCS.values())


def test_a_changed_result_changes_the_readme_table(recorded):
    changed = dict(recorded, sver_confident_over="0 of 20")
    assert tables.readme_table(changed) != tables.readme_table(recorded)
