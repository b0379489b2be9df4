"""Packaging habits: version, py.typed, project URLs, show_versions, changelog, HTML doc links."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import metadata, version

import pytest
import tomllib
from conftest import REPO, subprocess_env

import sklearn_ofa
from sklearn_ofa._versioning import DOCS_URL

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_version_single_sourced():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "sklearn_ofa.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", sklearn_ofa.__version__)
    assert version("sklearn-ofa") == sklearn_ofa.__version__


def test_py_typed_shipped():
    assert (REPO / "sklearn_ofa" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["sklearn_ofa"]


def test_project_urls():
    urls = PYPROJECT["project"]["urls"]
    assert {"Homepage", "Documentation", "Source", "Changelog"} <= set(urls)
    assert urls["Documentation"] == DOCS_URL
    assert all(u.startswith("https://") for u in urls.values())
    assert urls["Changelog"].endswith("CHANGELOG.md")
    listed = metadata("sklearn-ofa").get_all("Project-URL") or []
    # The editable install's metadata predates the URLs until it is reinstalled.
    if listed:
        assert any(DOCS_URL in entry for entry in listed)


def test_import_stays_light():
    code = (
        "import sys, sklearn_ofa; sklearn_ofa.__version__; "
        "assert 'torch' not in sys.modules and 'sklearn' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=subprocess_env())


def test_show_versions(capsys):
    info = sklearn_ofa.show_versions(as_dict=True)
    deps = info["Python dependencies"]
    for name in ("numpy", "scipy", "scikit-learn", "torch", "skorch"):
        assert deps[name] == version(name)
    assert deps["sklearn-ofa"] == sklearn_ofa.__version__
    assert info["System"]["python"].startswith(".".join(map(str, sys.version_info[:2])))
    import torch

    assert info["Torch"]["num_threads"] == torch.get_num_threads()
    assert info["Torch"]["cuda_available"] is torch.cuda.is_available()
    assert sklearn_ofa.show_versions() is None
    out = capsys.readouterr().out
    assert "Python dependencies:" in out and f"torch: {version('torch')}" in out
    assert "show_versions" in sklearn_ofa.__all__


def test_changelog():
    text = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    assert f"## [{sklearn_ofa.__version__}]" in text
    assert "FutureWarning" in text and "Deprecation policy" in text


def _api_pages() -> set[str]:
    """Full dotted names of the pages ``docs/api.rst`` generates."""
    pages, current = set(), "sklearn_ofa"
    for line in (REPO / "docs" / "api.rst").read_text().splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            current = m.group(1)
        elif m := re.fullmatch(r"   ([A-Za-z_][\w.]*)", line):
            pages.add(f"{current}.{m.group(1)}")
    return pages


def _estimators():
    from sklearn_ofa import (
        AccuracyPredictor,
        ArchEncoder,
        EvolutionFinder,
        FLOPsModel,
        LatencyTable,
    )

    return [
        ArchEncoder(),
        LatencyTable(),
        FLOPsModel(),
        AccuracyPredictor(),
        EvolutionFinder(FLOPsModel(), FLOPsModel(), 300.0),
    ]


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_html_repr_links_to_api_page(est):
    pages = _api_pages()
    link = est._get_doc_link()
    m = re.fullmatch(re.escape(DOCS_URL) + r"generated/([\w.]+)\.html", link)
    assert m, link
    assert m.group(1).endswith("." + type(est).__name__)
    assert m.group(1) in pages, f"{m.group(1)} is not an API page of docs/api.rst"
    assert f'href="{link}"' in est._repr_html_()
