#!/usr/bin/env bash
# Set up (see bootstrap.sh) and start the desktop application on its embedded defaults:
# the demo study and the local archive folder destination; no server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/xnat-desktop "$@"
