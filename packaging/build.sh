#!/usr/bin/env bash
# Build the one-folder desktop application with PyInstaller and prove it works:
#   dist/xnat-desktop-uploader/xnat-desktop-uploader   (run it; --self-test checks the bundle)
#
# Usage: bash packaging/build.sh [--no-self-test]
# Uses the project's .venv (created by scripts/bootstrap.sh) unless PYTHON names another
# interpreter; PyInstaller is installed into that environment when missing. The build output
# (build/, dist/) is ignored by git. Takes a few minutes; the bundle is about 0.64 GB unpacked (0.25 GB as tar.gz).
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
# PyInstaller refuses to run next to the obsolete ``pathlib`` backport from PyPI. Only the test
# extras bring it (pyxnat declares it); on Python 3 the standard library's pathlib shadows it, so
# removing it changes nothing for the app or the tests (scripts/bootstrap.sh puts it back).
if "$PYTHON" -m pip show -q pathlib >/dev/null 2>&1; then
  echo "Removing the obsolete 'pathlib' backport (from pyxnat, a test dependency) that PyInstaller refuses"
  "$PYTHON" -m pip uninstall -q -y pathlib
fi

# Qt's X11 platform plugin links libraries that are not in the PySide6 wheel. PyInstaller bundles
# them only if the build machine has them; without them the app cannot open a window on a target
# that lacks them too (the bundle's --self-test checks the plugin loads). Debian/Ubuntu names:
QT_XCB_DEBS=(libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-cursor0
             libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 libxcb-xkb1
             libxkbcommon-x11-0 libx11-xcb1)
if [ "$(uname -s)" = Linux ]; then
  plugin=$("$PYTHON" -c 'import pathlib, PySide6; print(pathlib.Path(PySide6.__file__).parent / "Qt/plugins/platforms/libqxcb.so")')
  if [ -f "$plugin" ] && ldd "$plugin" | grep -q "not found"; then
    missing=$(ldd "$plugin" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
      echo "Installing the X11 libraries Qt's xcb plugin needs (missing: $missing)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${QT_XCB_DEBS[@]}" >/dev/null
    else
      echo "build.sh: Qt's X11 plugin needs $missing on the build machine so they are bundled;" \
           "install: ${QT_XCB_DEBS[*]}" >&2
      exit 2
    fi
  fi
fi

"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/xnat-desktop-uploader.spec

APP=dist/xnat-desktop-uploader/xnat-desktop-uploader
echo "Built $APP ($(du -sh dist/xnat-desktop-uploader | cut -f1))"
if [ "${1:-}" != "--no-self-test" ]; then
  # No display on purpose: the self-test must pass headless.
  env -u DISPLAY -u WAYLAND_DISPLAY "$APP" --self-test
fi
