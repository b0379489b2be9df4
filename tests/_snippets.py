"""Extract the code blocks of README.md and the docs pages (used by test_doc_snippets.py).

A block is one of

- ``python``: a Python snippet (a ```python fence, ``.. code-block:: python``, or an
  RST ``::`` literal block that compiles as Python);
- ``doctest``: an RST ``::`` literal block of ``>>>`` examples;
- ``shell``: a ```bash/```sh/```console fence, ``.. code-block:: bash``/``console``/
  ``sh``, or a ``::`` literal block whose every command starts with ``sklearn-ofa``
  or ``python``;
- ``text``: displayed data, not code (```text fences, ``.. code-block:: text``,
  ``json``, ``yaml``, ``none``).

A block that cannot run here carries a visible marker just before it, with a reason:
``.. snippet-skip: <reason>`` (RST comment) or ``<!-- snippet-skip: <reason> -->``
(README). Anything else (an unknown language, a literal block that is neither Python
nor commands, a marker without a reason or without a block after it) is an error.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PYTHON_LANGS = {"python", "py", "python3"}
SHELL_LANGS = {"bash", "sh", "console", "shell"}
TEXT_LANGS = {"text", "none", "json", "yaml"}
SHELL_COMMANDS = ("sklearn-ofa", "python", "sklearn-ofa-profile-onnx")

_RST_MARKER = re.compile(r"^\s*\.\.\s+snippet-skip\s*:(.*)$")
_MD_MARKER = re.compile(r"^\s*<!--\s*snippet-skip\s*:(.*?)-->\s*$")
_ANY_MARKER = re.compile(r"snippet-skip")
_CODE_BLOCK = re.compile(r"^(\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)\s*$")
_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^`\s]*)\s*$")


@dataclass
class Block:
    """One code block: where it is, what it is and its code (dedented)."""

    path: Path
    line: int  # 1-based line of the block's first code line in ``path``
    kind: str  # python, doctest, shell or text
    code: str
    skip: str | None = None  # the marker's reason

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.line}"


@dataclass
class Page:
    path: Path
    blocks: list[Block] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return rel(self.path)


def rel(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def doc_files() -> list[Path]:
    """README.md and every tracked-style docs page (generated pages excluded)."""
    pages = [REPO / "README.md"]
    for pattern in ("docs/*.rst", "docs/user_guide/*.rst"):
        pages += sorted(p for p in REPO.glob(pattern) if p.name != "sg_execution_times.rst")
    return pages


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_shell(code: str) -> bool:
    lines = [ln for ln in code.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    joined, commands = "", []
    for ln in lines:  # join backslash continuations
        joined += ln.rstrip("\\").rstrip() + " "
        if not ln.rstrip().endswith("\\"):
            commands.append(joined.strip())
            joined = ""
    return bool(commands) and all(c.split()[0] in SHELL_COMMANDS for c in commands)


def _classify_literal(code: str) -> str | None:
    if code.lstrip().startswith(">>>"):
        return "doctest"
    if _is_shell(code):
        return "shell"
    try:
        compile(code, "<literal>", "exec")
    except SyntaxError:
        return None
    return "python"


def _language_kind(lang: str) -> str | None:
    """What a fence's or code-block's language runs as; ``None`` when it is unknown."""
    for kind, langs in (("python", PYTHON_LANGS), ("shell", SHELL_LANGS), ("text", TEXT_LANGS)):
        if lang in langs:
            return kind
    return None


def parse_rst(path: Path) -> Page:
    page = Page(path)
    lines = path.read_text().splitlines()
    pending: tuple[int, str] | None = None  # (line, reason) of a skip marker
    i = 0

    def body(start: int, base: int) -> tuple[int, int, str]:
        """Body of a block whose directive/paragraph is indented ``base``: (first, end, code)."""
        j = start
        # directive options, then blank lines
        while j < len(lines) and lines[j].strip().startswith(":") and _indent(lines[j]) > base:
            j += 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        first = j
        while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
            j += 1
        code = textwrap.dedent("\n".join(lines[first:j])).strip("\n") + "\n"
        return first, j, code

    def add(kind: str | None, first: int, code: str, what: str) -> None:
        nonlocal pending
        if kind is None:
            page.errors.append(
                f"{rel(path)}:{first + 1}: cannot classify {what} (mark it "
                "'.. code-block:: text' if it is not code)"
            )
        else:
            skip = pending[1] if pending else None
            page.blocks.append(Block(path, first + 1, kind, code, skip))
        pending = None

    while i < len(lines):
        line = lines[i]
        m = _RST_MARKER.match(line)
        if m:
            if pending:
                page.errors.append(f"{rel(path)}:{pending[0]}: marker without a block")
            reason = m.group(1).strip()
            if not reason:
                page.errors.append(f"{rel(path)}:{i + 1}: snippet-skip marker without a reason")
            pending = (i + 1, reason or "?")
            i += 1
            continue
        if _ANY_MARKER.search(line):
            page.errors.append(f"{rel(path)}:{i + 1}: malformed snippet-skip marker")
        m = _CODE_BLOCK.match(line)
        if m:
            lang = m.group(2).lower()
            first, end, code = body(i + 1, _indent(line))
            kind = _language_kind(lang)
            add(kind, first, code, f"code-block language {lang!r}")
            i = end
            continue
        stripped = line.strip()
        if stripped.endswith("::") and not stripped.startswith(".."):
            first, end, code = body(i + 1, _indent(line))
            if code.strip():
                add(_classify_literal(code), first, code, "literal block")
                i = end
                continue
        if pending and stripped and not stripped.startswith(".."):
            page.errors.append(
                f"{rel(path)}:{pending[0]}: snippet-skip marker not followed by a block"
            )
            pending = None
        i += 1
    if pending:
        page.errors.append(f"{rel(path)}:{pending[0]}: marker without a block")
    return page


def parse_markdown(path: Path) -> Page:
    page = Page(path)
    lines = path.read_text().splitlines()
    pending: tuple[int, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _MD_MARKER.match(line)
        if m:
            reason = m.group(1).strip()
            if not reason:
                page.errors.append(f"{rel(path)}:{i + 1}: snippet-skip marker without a reason")
            pending = (i + 1, reason or "?")
            i += 1
            continue
        if _ANY_MARKER.search(line):
            page.errors.append(f"{rel(path)}:{i + 1}: malformed snippet-skip marker")
        m = _FENCE.match(line)
        if m:
            fence, lang = m.group(2), m.group(3).lower()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                j += 1
            code = textwrap.dedent("\n".join(lines[i + 1 : j])).strip("\n") + "\n"
            kind = _language_kind(lang)
            if kind is None:
                page.errors.append(
                    f"{rel(path)}:{i + 1}: cannot classify a fence of language "
                    f"{lang!r} (use python, bash or text)"
                )
            else:
                page.blocks.append(Block(path, i + 2, kind, code, pending[1] if pending else None))
            pending = None
            i = j + 1
            continue
        if pending and line.strip():
            page.errors.append(
                f"{rel(path)}:{pending[0]}: snippet-skip marker not followed by a block"
            )
            pending = None
        i += 1
    if pending:
        page.errors.append(f"{rel(path)}:{pending[0]}: marker without a block")
    return page


def parse(path: Path) -> Page:
    return parse_markdown(path) if path.suffix == ".md" else parse_rst(path)
