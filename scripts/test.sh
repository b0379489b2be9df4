#!/usr/bin/env bash
# Install sklearn-ofa with its test extras into .venv (torch pinned to the local CPU build)
# and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
.venv/bin/python -m pytest -q "$@"
