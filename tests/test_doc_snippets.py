"""Every code block of README.md and of the docs pages runs as written.

The blocks are extracted by ``tests/_snippets.py`` (see its docstring for what counts as
a block and how a block that cannot run here is marked). Each page is one test: its
Python blocks run in order in one namespace (``__name__ == "__main__"``, as a script),
its ``>>>`` blocks as doctests in that namespace, its shell blocks with ``bash -e``,
the venv's ``sklearn-ofa`` and ``python`` first on ``PATH``. A failure names the file
and line of the block (Python tracebacks point at the line in the page itself).

Where the pages run: a fresh temporary folder ``work/`` that holds OFA's released
files as a user who downloaded them has them in the working folder (every entry of
``../shared/ofa_reference``: ``note10_lut/``, ``predictors/``, ``specialized/``...,
and the predictor checkpoints ``acc_predictor.pth`` and
``ofa_resnet50_acc_predictor.pth`` themselves), with ``../shared`` beside it, a link
to the checkout's ``../shared`` (pages that say "run from the repository root, with
``../shared`` beside it" read it from there). Without ``../shared`` the pages that
need it skip, as the other reference-data tests do.
"""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from _snippets import REPO, doc_files, parse, parse_markdown, parse_rst

SHARED = Path(os.environ.get("SKLEARN_OFA_SHARED", REPO.parent / "shared"))
OFA_REFERENCE = SHARED / "ofa_reference"
# Words that show a page reads OFA's released files or ../shared.
NEEDS_SHARED = ("note10_lut", "acc_predictor.pth", "specialized/", "../shared")
# Pages that take more than a few seconds (all still run in CI).
SLOW = {
    "README.md",
    "docs/getting_started.rst",
    "docs/user_guide/accuracy.rst",
    "docs/user_guide/bundled_data.rst",
    "docs/user_guide/cli.rst",
    "docs/user_guide/dataset.rst",
    "docs/user_guide/latency.rst",
    "docs/user_guide/lut.rst",
    "docs/user_guide/lut_backends.rst",
    "docs/user_guide/search.rst",
    "docs/user_guide/coming_from_ofa.rst",
}
SHELL_TIMEOUT = 600

PAGES = [parse(p) for p in doc_files()]


def test_every_block_is_classified_and_every_skip_has_a_reason():
    errors = [e for page in PAGES for e in page.errors]
    assert not errors, "\n".join(errors)
    assert sum(len(p.blocks) for p in PAGES) > 50  # the extraction found the pages' code


def _work_dir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED.resolve(), target_is_directory=True)
    if OFA_REFERENCE.is_dir():
        for entry in sorted(OFA_REFERENCE.iterdir()):
            if entry.name != "README.md":
                (work / entry.name).symlink_to(entry.resolve())
        for pth in sorted((OFA_REFERENCE / "predictors").glob("*.pth")):
            (work / pth.name).symlink_to(pth.resolve())
    return work


def _run_python(block, ns: dict) -> None:
    # Leading newlines put the code at its own line of the page, for the traceback.
    code = compile("\n" * (block.line - 1) + block.code, str(block.path), "exec")
    try:
        exec(code, ns)
    except Exception as exc:  # noqa: BLE001 - report any failure of a documented block
        frames = [
            f"{f.filename}:{f.lineno}: {f.line}"
            for f in traceback.extract_tb(exc.__traceback__)
            if f.filename == str(block.path)
        ]
        where = frames[-1] if frames else block.where
        message = (
            f"{where}\n(block starting at {block.where}) raised "
            f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()[-3000:]}"
        )
    else:
        return
    pytest.fail(message, pytrace=False)


def _run_doctest(block, ns: dict) -> None:
    test = doctest.DocTestParser().get_doctest(
        block.code, ns, block.where, str(block.path), block.line - 1
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    result = runner.run(test, out=out.append, clear_globs=False)
    ns.update(test.globs)  # DocTest runs on a copy of the namespace
    if result.failed:
        pytest.fail(f"{block.where}: doctest failed\n" + "".join(out)[-4000:], pytrace=False)


def _run_shell(block, cwd: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{block.where}: shell block exited {proc.returncode}\n{block.code}\n"
            f"stderr:\n{proc.stderr[-3000:]}\nstdout:\n{proc.stdout[-1500:]}",
            pytrace=False,
        )


def _page_params():
    for page in PAGES:
        runnable = [b for b in page.blocks if b.kind != "text" and b.skip is None]
        if runnable:
            marks = [pytest.mark.slow] if page.name in SLOW else []
            yield pytest.param(page, id=page.name, marks=marks)


@pytest.mark.parametrize("page", list(_page_params()))
def test_page_runs_as_written(page, tmp_path, monkeypatch):
    text = page.path.read_text()
    if any(word in text for word in NEEDS_SHARED) and not OFA_REFERENCE.is_dir():
        pytest.skip(f"OFA reference data not found at {OFA_REFERENCE} (needed by {page.name})")
    work = _work_dir(tmp_path)
    monkeypatch.chdir(work)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ns: dict = {"__name__": "__main__"}
    try:
        for block in page.blocks:
            if block.kind == "text" or block.skip is not None:
                continue
            if block.kind == "python":
                _run_python(block, ns)
            elif block.kind == "doctest":
                _run_doctest(block, ns)
            else:
                _run_shell(block, work)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


# --- the extraction itself --------------------------------------------------------------


def test_rst_blocks_are_extracted_with_their_lines(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(
        "Title\n=====\n\n.. code-block:: python\n\n   x = 1\n   y = x + 1\n\n"
        "Text::\n\n    >>> y\n    2\n\n::\n\n    sklearn-ofa --help\n\n"
        ".. snippet-skip: needs a GPU\n\n.. code-block:: bash\n\n   nvidia-smi\n\n"
        ".. code-block:: text\n\n   | a | b |\n"
    )
    blocks = parse_rst(page).blocks
    assert [(b.line, b.kind, b.skip) for b in blocks] == [
        (6, "python", None),
        (11, "doctest", None),
        (16, "shell", None),
        (22, "shell", "needs a GPU"),
        (26, "text", None),
    ]
    assert blocks[0].code == "x = 1\ny = x + 1\n"
    assert not parse_rst(page).errors


@pytest.mark.parametrize(
    "source, message",
    [
        (".. snippet-skip:\n\n.. code-block:: python\n\n   x = 1\n", "without a reason"),
        (".. snippet-skip: slow\n\nA paragraph.\n", "not followed by a block"),
        (".. code-block:: fortran\n\n   x = 1\n", "cannot classify"),
        ("A tree::\n\n    my_dataset/\n        acc.dict   merged\n", "cannot classify"),
        (".. snippet-skip slow\n\n.. code-block:: python\n\n   x = 1\n", "malformed"),
    ],
)
def test_rst_unclassifiable_blocks_and_bare_skips_are_errors(tmp_path, source, message):
    page = tmp_path / "page.rst"
    page.write_text(source)
    errors = parse_rst(page).errors
    assert errors and message in errors[0]


def test_markdown_fences_and_markers(tmp_path):
    page = tmp_path / "README.md"
    page.write_text(
        "# T\n\n```python\nx = 1\n```\n\n<!-- snippet-skip: installs packages -->\n"
        "```bash\npip install x\n```\n\n```\nsklearn-ofa --help\n```\n\n"
        "<!-- snippet-skip: -->\n```python\ny = 2\n```\n"
    )
    parsed = parse_markdown(page)
    assert [(b.line, b.kind, b.skip) for b in parsed.blocks] == [
        (4, "python", None),
        (9, "shell", "installs packages"),
        (18, "python", "?"),
    ]
    assert any("language ''" in e for e in parsed.errors)
    assert any("without a reason" in e for e in parsed.errors)


def test_a_failing_block_names_its_file_and_line(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(".. code-block:: python\n\n   x = 1\n   undefined_name.fit()\n")
    block = parse_rst(page).blocks[0]
    with pytest.raises(pytest.fail.Exception) as info:
        _run_python(block, {"__name__": "__main__"})
    assert f"{page}:4: undefined_name.fit()" in str(info.value)
    assert "NameError" in str(info.value)
