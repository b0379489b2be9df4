"""Check the built HTML docs for what a reader must never see.

Run after the build (``scripts/docs.sh`` does)::

    python scripts/check_docs_html.py docs/_build/html

Every page is read; a page fails on an empty table header cell, an empty
code/output block, an unresolved ``|substitution|`` from the figures, or the
"OFA reference data not found at ..." output of an example that ran without
its data, or a page that ends inside an open table header or code block
(truncated). Exits 1 with one line per problem, naming the page.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

SUBSTITUTION = re.compile(r"\|[a-z][a-z0-9_]*\|")
# an example's output when it ran without its data (its source, "... at {root}", is fine)
FALLBACKS = (re.compile(r"OFA reference data not found at (?!\{)"),)


class _Page(HTMLParser):
    """Collects the text of every <th> and <pre>, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str]] = []  # (tag, text)
        self.text: list[str] = []
        self._open: list[list] = []  # [tag, pieces] of open <th>/<pre>
        self._skip = 0  # inside <script>/<style>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("th", "pre"):
            self._open.append([tag, []])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif self._open and tag == self._open[-1][0]:
            tag, pieces = self._open.pop()
            self.cells.append((tag, "".join(pieces)))

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        for _, pieces in self._open:
            pieces.append(data)


def problems(page: Path, root: Path) -> list[str]:
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    name = page.relative_to(root).as_posix()
    out = [f"{name}: ends inside an open <{tag}> (a truncated page?)" for tag, _ in parser._open]
    for tag, text in parser.cells:
        if not text.strip():
            out.append(
                f"{name}: an empty <{tag}> ({'table header' if tag == 'th' else 'code or output block'})"
            )
    text = "".join(parser.text)
    out += [f"{name}: unresolved substitution {m}" for m in sorted(set(SUBSTITUTION.findall(text)))]
    out += [f"{name}: shows {m.group(0)!r}" for rx in FALLBACKS for m in rx.finditer(text)]
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "docs/_build/html")
    pages = sorted(p for p in root.rglob("*.html") if "_modules" not in p.parts)
    if not pages:
        print(f"no HTML pages under {root}", file=sys.stderr)
        return 1
    found = [line for page in pages for line in problems(page, root)]
    for line in found:
        print(line, file=sys.stderr)
    print(f"checked {len(pages)} pages: {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
