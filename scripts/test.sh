#!/usr/bin/env bash
# Set up (see bootstrap.sh) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The layer contracts first (.importlinter, docs/architecture.md): an import across a wall fails here.
.venv/bin/lint-imports --no-cache
# Types: the packages mypy.ini lists, and core, pixels and scanning strictly.
.venv/bin/mypy
.venv/bin/mypy --strict desktop_client/core desktop_client/pixels desktop_client/scanning
# Dead code: unused imports and names, undefined names (pyflakes' rules) over code and tests.
.venv/bin/ruff check --select F --quiet desktop_client tests bench packaging scripts
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
