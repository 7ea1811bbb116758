"""The app opens a window on a real X server: Xvfb with Qt's xcb platform, not offscreen.

Offscreen needs almost no system libraries; the xcb plugin needs libxcb-cursor0 and friends
(``scripts/bootstrap.sh`` installs them). This test starts the app through its real entry point
on its own Xvfb display, waits for the window, takes a screenshot of the X screen from a second
process (what a user would see), and closes the app with SIGTERM as a logout would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import wait_for_log

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None,
                                reason="Xvfb is not installed (scripts/bootstrap.sh installs it)")

GRAB = """
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
assert app.platformName() == "xcb", app.platformName()
image = app.primaryScreen().grabWindow(0).toImage()
image.save(sys.argv[1])
print(image.width(), image.height())
"""


def _start_xvfb(size: str) -> tuple[subprocess.Popen, str]:
    """Xvfb on the first free display (it picks and reports it: no guessing, no race)."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as handle:
        number = handle.readline().strip()
    assert number, "Xvfb did not start"
    return proc, f":{number}"


def test_the_app_opens_a_window_under_xvfb_with_xcb(tmp_path: Path) -> None:
    xvfb, display = _start_xvfb("1280x720")
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text('{"log_level": "INFO"}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", XNAT_DESKTOP_HOME=str(home))
    app = subprocess.Popen([sys.executable, "-m", "desktop_client.gui.app", "--demo"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_log(home / "logs" / "xnat-desktop.log", "main window shown", app)
        shot = tmp_path / "xcb-window.png"
        # The demo study is being scanned into Select data: wait until the window has painted
        # more than a blank frame, then keep the screenshot.
        deadline = time.monotonic() + 60
        while True:
            grab = subprocess.run([sys.executable, "-c", GRAB, str(shot)], env=env,
                                  capture_output=True, text=True, timeout=60)
            assert grab.returncode == 0, grab.stderr
            from PySide6.QtGui import QImage

            image = QImage(str(shot))
            colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
                       for y in range(0, image.height(), 7)}
            if len(colours) > 40 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert grab.stdout.split() == ["1280", "720"]
        assert len(colours) > 40, "the X screen shows no window"
        app.send_signal(signal.SIGTERM)
        _out, err = app.communicate(timeout=90)
        assert app.returncode == 0, err
        assert "qt.qpa.plugin" not in err and "Traceback" not in err, err
        if os.environ.get("XCB_SCREENSHOT_DIR"):  # keep it for a person to look at
            shutil.copy(shot, Path(os.environ["XCB_SCREENSHOT_DIR"]) / shot.name)
    finally:
        for proc in (app, xvfb):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
