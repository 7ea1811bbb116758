"""Leaving the app cleanly: Quit / Ctrl+Q in the window, SIGTERM to the process, receipts where
no application opens files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from tests.gui.flow import scan, to_confirm, to_project_step, to_summary, upload_and_wait
from tests.helpers import wait_for_log, wait_until


def test_ctrl_q_quits(qtbot, window) -> None:
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    wait_until(qtbot, lambda: not window.isVisible(), what="the window to close")


def test_sigterm_closes_the_app_cleanly(tmp_path: Path) -> None:
    """A logout or ``kill`` quits like Quit does: exit code 0, no leaked worker semaphores."""
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text('{"log_level": "INFO"}', encoding="utf-8")
    env = {**os.environ, "XNAT_DESKTOP_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-m", "desktop_client.gui.app", "--demo"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_log(home / "logs" / "xnat-desktop.log", "main window shown", proc)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "leaked semaphore" not in err and "Traceback" not in err, err


def test_open_receipt_without_a_launcher_shows_the_path(qtbot, window, demo_dir: Path) -> None:
    win = window
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    to_confirm(qtbot, win, "CT")
    to_summary(qtbot, win)
    [row] = upload_and_wait(qtbot, win)
    monitor = win.transfers
    assert monitor.batch_line.text() == "1 of 1 session done"
    monitor.open_url = lambda url: False  # no xdg-open, no desktop: nothing opens the file
    monitor.select(row.id)
    path = monitor.open_receipt(row.id)
    assert path is not None and path.is_file()
    assert monitor.receipt_row.isVisible() and str(path) in monitor.receipt_path.text
    monitor.copy_path_button.click()
    assert QApplication.clipboard().text() == str(path)
    monitor.open_url = lambda url: True
    monitor.open_receipt(row.id)
    assert not monitor.receipt_row.isVisible()


def test_transfers_keep_progress_first_and_elide_long_paths(qtbot, window) -> None:
    from desktop_client.gui.transfers_page import COLUMNS, batch_text

    assert COLUMNS[:5] == ["Session", "Status", "Progress", "Rate", "ETA"]
    assert window.transfers.table.textElideMode() == Qt.TextElideMode.ElideMiddle

    class Row:
        def __init__(self, state: str) -> None:
            self.state = type("S", (), {"value": state})()

    rows = [Row("done")] * 12 + [Row("failed"), Row("running")]
    assert batch_text(rows) == "12 of 14 sessions done · 1 failed · 1 uploading"
