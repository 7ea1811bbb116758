#!/usr/bin/env bash
# Build the one-folder desktop application with PyInstaller and prove it works:
#   dist/xnat-desktop-uploader/xnat-desktop-uploader   (run it; --self-test checks the bundle)
#
# Usage: bash packaging/build.sh [--no-self-test]
# Uses the project's .venv (created by scripts/bootstrap.sh) unless PYTHON names another
# interpreter; PyInstaller is installed into that environment when missing. The build output
# (build/, dist/) is ignored by git. Takes a few minutes; the bundle is about 0.5 GB unpacked.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
if [ ! -x "$PYTHON" ] && ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "build.sh: no Python at $PYTHON; run scripts/bootstrap.sh first or set PYTHON" >&2
  exit 2
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
  echo "Installing PyInstaller into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
  "$PYTHON" -m pip install -q "pyinstaller>=6.10"
fi

"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/xnat-desktop-uploader.spec

APP=dist/xnat-desktop-uploader/xnat-desktop-uploader
echo "Built $APP ($(du -sh dist/xnat-desktop-uploader | cut -f1))"
if [ "${1:-}" != "--no-self-test" ]; then
  # No display on purpose: the self-test must pass headless.
  env -u DISPLAY -u WAYLAND_DISPLAY "$APP" --self-test
fi
