"""Sphinx configuration of the sklearn-ofa documentation."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_ofa  # noqa: E402
import sklearn_ofa._versioning  # noqa: E402

project = "sklearn-ofa"
author = "sklearn-ofa developers"
copyright = "2026, sklearn-ofa developers"
release = version = sklearn_ofa.__version__
# Estimators' HTML reprs link to DOCS_URL + "generated/<name>.html" (sklearn_ofa._versioning).
html_baseurl = sklearn_ofa._versioning.DOCS_URL

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
nitpicky = False

html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = "sklearn-ofa"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

intersphinx_mapping = {}


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document this package's own methods only (not scikit-learn's generated
    ``set_*_request`` helpers or inherited mixin methods)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and callable(obj) and not module.startswith("sklearn_ofa"):
        return True
    return None


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import figures  # noqa: E402
import tables  # noqa: E402

# Every figure quoted in the docs is a |name| substitution from benchmarks/results,
# read once for the substitutions and the generated tables.
_FIGURES = figures.figures()
rst_epilog = figures.rst_substitutions(_FIGURES)


def _write_benchmark_tables(app):
    """docs/_generated/<topic>.rst from benchmarks/results (the recorded figures)."""
    tables.write_all(Path(__file__).resolve().parent / "_generated", _FIGURES)


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("builder-inited", _write_benchmark_tables)


sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}
