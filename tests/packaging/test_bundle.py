"""Build the PyInstaller bundle and run it: only when ``XNAT_BUILD_BUNDLE=1`` (takes minutes).

    XNAT_BUILD_BUNDLE=1 .venv/bin/pytest tests/packaging/test_bundle.py

Builds ``dist/xnat-desktop-uploader/`` with ``packaging/build.sh``, runs ``--self-test`` with no
display, starts the real GUI offscreen and checks it holds no internet socket, and checks the
bundle's licence inventory (nothing GPL-only inside, every distribution named in LICENSES.md).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_client.selftest import internet_sockets

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "xnat-desktop-uploader"
APP = DIST / ("xnat-desktop-uploader.exe" if sys.platform == "win32" else "xnat-desktop-uploader")

#: Debian packages of GPL-only libraries that must never be copied into the bundle.
GPL_ONLY_SYSTEM_PACKAGES = {"libreadline8", "libreadline7", "libgdbm6", "libgdbm-compat4"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("XNAT_BUILD_BUNDLE") != "1",
                       reason="set XNAT_BUILD_BUNDLE=1 to build the bundle (takes minutes)"),
    pytest.mark.timeout(3600),
]


def _headless_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, XNAT_DESKTOP_HOME=str(tmp_path / "home"))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "PYTHONPATH"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def bundle() -> Path:
    proc = subprocess.run(["bash", "packaging/build.sh", "--no-self-test"], cwd=ROOT, capture_output=True,
                          text=True, timeout=3000, env=dict(os.environ, PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert APP.is_file()
    return APP


def test_bundle_self_test_passes_without_display(bundle: Path, tmp_path: Path) -> None:
    proc = subprocess.run([str(bundle), "--self-test"], capture_output=True, text=True, timeout=600,
                          env=_headless_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test passed" in proc.stdout
    assert not re.search(r"^FAIL", proc.stdout, re.M)
    # The burned-in text finder ran on the embedded sample with the models inside the bundle.
    assert re.search(r"^PASS  burned-in text finder \(OCR models\): read '.*2000", proc.stdout, re.M), proc.stdout
    models = sorted(p.name for p in (DIST / "_internal" / "rapidocr_onnxruntime" / "models").glob("*.onnx"))
    assert "ch_PP-OCRv4_det_infer.onnx" in models and "ch_PP-OCRv4_rec_infer.onnx" in models


def test_bundle_gui_starts_and_listens_on_nothing(bundle: Path, tmp_path: Path) -> None:
    env = dict(_headless_env(tmp_path), QT_QPA_PLATFORM="offscreen")
    app = subprocess.Popen([str(bundle)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    try:
        time.sleep(8)
        assert app.poll() is None, f"the app exited at start: {app.communicate()[1][-3000:]}"
        held = internet_sockets(app.pid)
        if held is not None:
            assert held == [], f"the app holds internet sockets at start: {held}"
    finally:
        os.killpg(app.pid, signal.SIGTERM)  # the app and its worker processes (own session)
        try:
            app.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)
            app.communicate()


def test_bundle_licences(bundle: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("packaging_licenses", ROOT / "packaging" / "licenses.py")
    assert spec and spec.loader
    licenses = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = licenses
    spec.loader.exec_module(licenses)

    dists, orphans = licenses.bundled()
    assert "pydicom" in dists and "python-gdcm" in dists
    assert "pylibjpeg-libjpeg" not in dists
    assert not (DIST / "_internal" / "libjpeg").exists()
    gpl = [name for name, d in dists.items() if licenses.is_gpl_only(licenses.licence_of(d))]
    assert not gpl, f"GPL-only distributions in the bundle: {gpl}"
    listed = (ROOT / "packaging" / "LICENSES.md").read_text().lower()
    unlisted = [d.metadata["Name"] for d in dists.values() if f"| {d.metadata['Name'].lower()} |" not in listed]
    assert not unlisted, f"bundled but not in LICENSES.md (run packaging/licenses.py): {unlisted}"
    system = licenses.system_libraries(orphans)
    assert not [lib for lib, package in system if package in GPL_ONLY_SYSTEM_PACKAGES]
