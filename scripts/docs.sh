#!/usr/bin/env bash
# Install sklearn-ofa with the docs extras into .venv, build the HTML docs (warnings as errors)
# and check the rendered pages (scripts/check_docs_html.py).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_SETUP:-0}" != 1 ]; then
    bash scripts/setup.sh docs
fi
rm -rf docs/_build docs/generated docs/auto_examples
.venv/bin/python -m sphinx -W --keep-going -b html -q docs docs/_build/html
# no empty table header or output block, no unresolved figure on any page
.venv/bin/python scripts/check_docs_html.py docs/_build/html
echo "docs: docs/_build/html/index.html"
