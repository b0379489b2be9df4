"""scripts/check_docs_html.py finds what a reader of the built docs must never see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_docs_html.py"

GOOD = """<html><head><style>th {}</style><script>var a = "|x_y|";</script></head><body>
<table><thead><tr><th>what</th><th><p>result</p></th></tr></thead></table>
<pre><span>print(1)</span></pre>
<pre>print(f"OFA reference data not found at <span>{root}</span>")</pre><p>a | b | c, tau 0.95</p></body></html>"""


def _check(tmp_path, html: str) -> subprocess.CompletedProcess:
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True
    )


def test_a_clean_page_passes(tmp_path):
    res = _check(tmp_path, GOOD)
    assert res.returncode == 0, res.stderr
    assert "checked 1 pages: 0 problems" in res.stdout


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("<table><tr><th> </th><th>x</th></tr></table>", "an empty <th> (table header)"),
        ("<pre><span></span>\n</pre>", "an empty <pre> (code or output block)"),
        ("<p>took |search_ms| ms</p>", "unresolved substitution |search_ms|"),
        ("<table><tr><th>cut off", "ends inside an open <th> (a truncated page?)"),
        (
            "<pre>OFA reference data not found at ofa_reference; nothing to import.</pre>",
            "shows 'OFA reference data not found at '",
        ),
    ],
)
def test_each_problem_is_named_with_its_page(tmp_path, bad, message):
    res = _check(tmp_path, GOOD.replace("</body>", bad + "</body>"))
    assert res.returncode == 1
    assert f"page.html: {message}" in res.stderr


def test_no_pages_is_an_error(tmp_path):
    res = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True
    )
    assert res.returncode == 1 and "no HTML pages" in res.stderr
