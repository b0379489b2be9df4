#!/usr/bin/env bash
# Install sklearn-ofa with its test and docs extras into .venv, lint and format-check with ruff,
# run the whole test suite
# (tests/ plus the package's doctests, numpydoc validation in tests/test_docstrings.py),
# then build the documentation with warnings as errors (this also runs the examples gallery).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,docs
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# two workers: the 2-core CI machine runs two single-threaded tests at a time
.venv/bin/python -m pytest -n 2 "$@"
SKIP_SETUP=1 bash scripts/docs.sh
