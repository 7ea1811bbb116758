#!/usr/bin/env bash
# Set up everything the app and its tests need, idempotently:
#  - Debian packages (when apt-get is available and we are root, or have sudo): Orthanc and its
#    DICOMweb plugin, dcmtk, dicom3tools, libjpeg-turbo's tools and the desktop-entry/AppStream
#    validators (used by tests), the shared libraries Qt needs even offscreen, the ones its
#    xcb platform plugin needs to open a window on a real X11 desktop (libxcb-cursor0 and
#    friends: without them `run-app.sh` fails on a minimal Debian with a display), and Xvfb, the
#    X server the test that opens a real window (not offscreen) runs against;
#  - a virtual environment in .venv with the package installed (editable) and its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(orthanc orthanc-dicomweb dcmtk dicom3tools libjpeg-turbo-progs desktop-file-utils appstream
              libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
              libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
              libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0
              libx11-xcb1 libxcb-xfixes0 libxcb-shm0 libxcb-sync1 libxcb-util1
              xvfb xauth)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ -z "$SUDO" ] || command -v sudo >/dev/null 2>&1; }; then
    echo "Installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    # policy-rc.d keeps the Orthanc package from starting a system service: tests start their own.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: cannot install ${missing[*]} (no apt-get/sudo); tests needing them will be skipped" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"
# The OCR models' package, without its declared opencv-python (a second Qt that breaks PySide6):
# pyproject lists its real dependencies with opencv-python-headless. See README "Dependencies".
.venv/bin/python -m pip install -q --no-deps "rapidocr-onnxruntime==1.4.4"
if .venv/bin/python -m pip show -q opencv-python >/dev/null 2>&1; then
  echo "bootstrap: opencv-python is installed; it breaks PySide6 — removing it (the headless build stays)" >&2
  .venv/bin/python -m pip uninstall -q -y opencv-python
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "opencv-python-headless==4.13.0.92"
fi
