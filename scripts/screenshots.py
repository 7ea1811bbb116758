#!/usr/bin/env python3
"""Screenshots of every screen of the desktop app into ``docs/screenshots/``.

Runs the real application offscreen through the whole flow — against the XNAT emulator on
127.0.0.1 and the demo studies, in a private temporary app home — and saves one PNG per screen.
Then runs ``scripts/screenshots_review.py`` (GUI part 2's review, viewer and template screens)
when it exists, so one command produces every picture::

    python scripts/screenshots.py [--out DIR] [--theme light|dark] [--size WxH] [--no-review]

``--size`` sets the window size (default 1280x800); a non-default size prefixes the file names
(``1280x720-08-summary.png``), so the small-laptop and full-HD pictures sit beside the others.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROJECT_SCRIPT = """version "6.1"
describe visit "Visit number (e.g. V1)"
(0010,0010) := subject
(0010,0020) := session
(0008,1030) := visit
"""


def settle(app: Any, condition: Callable[[], object] = lambda: True, timeout: float = 60.0,
           idle: float = 0.4) -> None:
    """Process events until ``condition()`` holds, then a little longer so everything repaints."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not reach the expected state")
        app.processEvents()
        time.sleep(0.01)
    end = time.monotonic() + idle
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def capture(out: Path, theme: str = "light", size: tuple[int, int] = (1280, 800)) -> list[Path]:
    """Drive the app through every screen, saving ``<out>/<nn>-<screen>.png``; returns the paths."""
    home = Path(tempfile.mkdtemp(prefix="xnat-desktop-shots-"))
    os.environ["XNAT_DESKTOP_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    from PySide6.QtWidgets import QApplication

    from desktop_client.demo.generator import SMALL_SCALE, generate_demo
    from desktop_client.gui.connections import ConnectionStore
    from desktop_client.gui.main_window import MainWindow
    from desktop_client.gui.settings_store import load_settings, save_settings
    from desktop_client.gui.theme import apply_theme
    from desktop_client.gui.wizard.confirm.bulk import BULK_FIXED
    from desktop_client.transfer import TransferQueue
    from tests.xnat_emulator.emulator import XnatEmulator

    app = QApplication.instance() or QApplication([])
    settings = load_settings()
    settings.theme = theme
    save_settings(settings)
    apply_theme(app, theme)
    demo = home / "demo-studies"
    generate_demo(demo, seed=0, **SMALL_SCALE)
    emulator = XnatEmulator(home / "xnat")
    emulator.seed_default()
    emulator.start()
    emulator.set_project_script("DEMO", PROJECT_SCRIPT)
    emulator.set_tracers("DEMO", ["FDG", "PIB", "AV45"])
    emulator.add_project("BRAIN", "Brain imaging study", owner="admin")
    emulator.add_project("CHEST", "Chest CT follow-up", owner="admin")
    emulator.add_subject("DEMO", "DOE_JANE")

    store = ConnectionStore()
    queue = TransferQueue(concurrency=2, workers=0,
                          credentials=lambda dest: "admin")
    win = MainWindow(settings, queue, store)
    win.resize(*size)
    win.show()
    queue.start()
    shots: list[Path] = []
    prefix = ("" if theme == "light" else f"{theme}-") + \
        ("" if size == (1280, 800) else f"{size[0]}x{size[1]}-")

    def shot(name: str) -> None:
        settle(app)
        path = out / f"{prefix}{len(shots) + 1:02d}-{name}.png"
        win.grab().save(str(path))
        shots.append(path)
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    try:
        w = win.wizard
        shot("connect-local-archive")
        page = win.connect_page
        page.add_button.click()
        page.name_edit.setText("Hospital XNAT (emulator)")
        page.url_edit.setText(emulator.url)
        page.user_edit.setText("admin")
        page.password_edit.setText("wrong-password")
        page.verify()
        settle(app, lambda: page.message.kind == "error")
        shot("connect-bad-password")
        page.password_edit.setText("admin")
        page.verify()
        settle(app, lambda: page.message.kind == "ok")
        shot("connect-server-verified")

        w.next()
        settle(app, lambda: w.index == 1 and win.project_page.list.count() > 0)
        win.project_page._select_id("DEMO")
        settle(app, win.project_page.is_complete)
        win.project_page.project_button.click()
        shot("project-settings")

        w.next()
        shot("select-data-empty")
        win.select_page.add_paths([str(demo)])
        settle(app, lambda: win.select_page.result is not None and not win.select_page.scanning)
        mr = next(i for i, s in enumerate(win.select_page._sessions) if "MR" in s.modalities)
        win.select_page.set_checked([mr])
        win.select_page._toggle_skipped()
        shot("select-data")

        w.next()
        settle(app, lambda: not win.confirm_page._loading)
        win.confirm_page._var_edits["visit"].setText("V1")
        shot("confirm-single-session")

        w.next()
        settle(app, lambda: w.index == 4)
        shot("review-step")
        # The demo's burned-in text holds the upload until someone decides (issue 13): send it as is.
        review = win.review_page.inner
        settle(app, lambda: review.is_ready() and review.searching() == 0, timeout=600)
        held = [uid for uid, _ in review.review.held_back()]
        if held:
            review.review.accept_as_is(held, "demo screenshots: burned-in text sent on purpose")
            review.page.changed.emit()
        w.next()
        settle(app, lambda: w.index == 5 and win.summary_page.values["rejected"].text() != "…")
        shot("summary")
        w.next()
        settle(app, lambda: win.pages.currentIndex() == 1)
        settle(app, lambda: win.transfers.model.rows and all(
            r.state.finished for r in win.transfers.model.rows), timeout=120)
        win.transfers.tabs.setCurrentIndex(0)
        shot("transfers-done")
        win.transfers.tabs.setCurrentIndex(1)
        shot("transfers-log")

        # Bulk: every demo study, labels from DICOM Patient ID, a column for the script variable.
        win.nav.setCurrentRow(0)
        win.select_page._check_all(True)
        w.next()
        settle(app, lambda: not win.confirm_page._loading)
        confirm = win.confirm_page
        confirm.subject_scheme.setCurrentIndex(confirm.subject_scheme.findData("patient_id"))
        confirm.apply_schemes()
        for row in range(confirm.bulk_table.rowCount()):
            confirm.bulk_table.item(row, len(BULK_FIXED)).setText(f"V{row + 1}")
        shot("confirm-bulk")

        # Bulk review → Summary: one session has every scan excluded (offered "Leave this
        # session out"); the MR study was sent before (the receipts say so: Send again / Skip).
        w.next()
        settle(app, lambda: w.index == 4 and win.review_page.inner.review is not None)
        step = win.review_page.inner
        review = step.review
        gone = next(s for s in review.sessions if "MR" not in s.modalities)
        review.exclude(list(gone.scans), "not part of this project")
        settle(app, lambda: step.is_ready() and step.searching() == 0, timeout=600)
        held = [uid for uid, _ in review.held_back()]
        if held:
            review.accept_as_is(held, "demo screenshots: burned-in text sent on purpose")
        step.page.changed.emit()
        w.next()
        summary = win.summary_page
        settle(app, lambda: w.index == 5 and not summary._checking_history
               and summary.values["rejected"].text() != "…")
        shot("summary-bulk")
        summary.leave_out_button.click()
        for uid in list(summary.duplicates):
            summary.send_again(uid)
        settle(app, summary.is_complete)
        shot("summary-bulk-ready")
        w.next()
        settle(app, lambda: win.pages.currentIndex() == 1)
        settle(app, lambda: win.transfers.model.rows and all(
            r.state.finished for r in win.transfers.model.rows), timeout=180)
        win.transfers.tabs.setCurrentIndex(0)
        shot("transfers-bulk-done")
        win.nav.setCurrentRow(2)
        shot("settings")
    finally:
        win.close()
        queue.close()
        emulator.stop()
        shutil.rmtree(home, ignore_errors=True)
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--size", default="1280x800", metavar="WxH", help="window size")
    parser.add_argument("--no-review", action="store_true",
                        help="skip scripts/screenshots_review.py (GUI part 2's screens)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    width, _, height = args.size.partition("x")
    capture(args.out, args.theme, (int(width), int(height)))
    review = ROOT / "scripts" / "screenshots_review.py"
    if review.exists() and not args.no_review:
        subprocess.run([sys.executable, str(review), "--out", str(args.out), "--theme", args.theme],
                       check=True, cwd=ROOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
