#!/usr/bin/env bash
# Install sklearn-ofa into .venv and run the main job on the bundled data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh plots
.venv/bin/sklearn-ofa demo --out "${1:-sklearn-ofa-demo}"
