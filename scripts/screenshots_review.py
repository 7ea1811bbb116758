#!/usr/bin/env python3
"""Screenshots of the review step in the app window, at 1280×720 and 1920×1080, into ``docs/screenshots/``.

Runs offscreen on the (small) demo studies in a private temporary app home (nothing touches the
user's templates or caches), with the real text finder. Each size runs in a process of its own
whose offscreen screen has exactly that size, so dialogs are sized as on such a screen; the two
runs share the app home, so the second one reads the finder's cache. ``scripts/screenshots.py``
calls ``capture(out_dir)``; run it alone with
``python scripts/screenshots_review.py [--out DIR] [--theme light|dark]``.

Shots (``<name>-<W>x<H>.png``): the single-session review with suggested boxes, a suggestion
being resized before it is accepted, the same after "Accept ticked", the open scan's text search
in progress with its Stop and the scan held back once stopped (a synthetic series of long
ultrasound cines, so the search takes a while), the bulk review with found text, a group's tiles with found text, Create template;
at 1280×720 also Apply templates, Exclude, Send as is and the template manager.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = ((1280, 720), (1920, 1080))
#: OCR of the whole small demo on two shared cores (the second size reads the cache).
SEARCH_TIMEOUT = 900.0


def _settle(app, condition=lambda: True, timeout: float = 30.0, idle: float = 0.4) -> None:
    """Process events until ``condition()`` holds, then a little longer for repaints."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if not condition():
        raise TimeoutError("the screen did not reach the expected state")
    end = time.monotonic() + idle
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def capture(out_dir: Path | str | None = None, theme: str = "light") -> list[Path]:
    """Write every review screenshot at both sizes; returns the PNG paths."""
    out = Path(out_dir) if out_dir is not None else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="xnat-review-shots-"))
    written: list[Path] = []
    try:
        from desktop_client.demo import SMALL_SCALE, generate_demo

        generate_demo(home / "demo", seed=0, **SMALL_SCALE)
        for width, height in SIZES:
            screen = home / f"screen-{width}x{height}.json"
            screen.write_text(json.dumps({"screens": [{"name": "shot", "x": 0, "y": 0, "width": width,
                                                       "height": height, "logicalDpi": 96,
                                                       "logicalBaseDpi": 96, "dpr": 1}]}))
            env = dict(os.environ, XNAT_DESKTOP_HOME=str(home / "app"),
                       QT_QPA_PLATFORM=f"offscreen:configfile={screen}",
                       PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
            run = subprocess.run([sys.executable, __file__, "--one", f"{width}x{height}", "--out", str(out),
                                  "--theme", theme, "--demo", str(home / "demo")],
                                 env=env, capture_output=True, text=True, check=False)
            if run.returncode != 0:
                raise RuntimeError(f"screenshots at {width}×{height} failed:\n{run.stderr[-3000:]}")
            written += [Path(line) for line in run.stdout.splitlines() if line.endswith(".png")]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return written


def _long_cines(folder: Path, instances: int = 8, frames: int = 12) -> Path:
    """One ultrasound series of long cines with a burned-in name (fresh UIDs: never in the cache)."""
    from tests.textfind.helpers import long_cine_series

    return long_cine_series(folder, instances, frames, "US cine loops")


def _one(size: str, out: Path, theme: str, demo: Path) -> list[Path]:
    """One window size, in this process (its offscreen screen has that size)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop_client.core.geometry import Rect
    from desktop_client.gui.connections import ConnectionStore
    from desktop_client.gui.main_window import MainWindow
    from desktop_client.gui.review.bulk import BulkReviewPage
    from desktop_client.gui.review.dialogs import (
        AcceptAsIsDialog, ApplyTemplatesDialog, CreateTemplateDialog, ExcludeDialog,
    )
    from desktop_client.plan.settings import load_settings, save_settings
    from desktop_client.gui.templates import TemplateManagerDialog
    from desktop_client.gui.theme import apply_theme
    from desktop_client.scanning import scan_paths
    from desktop_client.templates import MatchKeys
    from desktop_client.transfer import TransferQueue

    width, height = (int(v) for v in size.split("x"))
    app = QApplication.instance() or QApplication(sys.argv)
    settings = load_settings()
    settings.theme = theme
    save_settings(settings)
    apply_theme(app, theme)
    sessions = scan_paths([demo]).sessions
    queue = TransferQueue(concurrency=1, workers=0, credentials=lambda _dest: "")
    win = MainWindow(settings, queue, ConnectionStore())
    win.resize(width, height)
    win.show()
    written: list[Path] = []

    def shot(widget, name: str) -> None:
        _settle(app)
        path = out / f"{name}-{size}.png"
        widget.grab().save(str(path))
        written.append(path)
        print(path, flush=True)

    wizard = win.wizard
    wizard.visited = 4
    wizard.go(4)
    step = win.review_page.inner
    store = step.store

    # Single session: the ultrasound, searched as soon as it opens; suggestions dashed.
    us = next(s for s in sessions if "US" in s.modalities)
    step.set_sessions([us])
    wizard._refresh()
    panel = step.page.panel
    _settle(app, lambda: step.findings.result(panel.uid) is not None and not panel.viewer.is_loading()
            and step.page.thumbs.idle, timeout=SEARCH_TIMEOUT)
    shot(win, "review-single-suggestions")
    # A suggestion adjusted before it is accepted: the name's box, its corner dragged (mid-drag).
    canvas = panel.viewer.canvas
    name = next(s for s in panel.viewer.suggestions() if s.likely_phi)
    canvas.select_suggestion(panel.viewer.suggestions().index(name))
    t = canvas.transform
    corner = QPoint(*(round(v) for v in t.to_screen(name.rect.right, name.rect.bottom)))
    target = QPoint(*(round(v) for v in t.to_screen(name.rect.right + 14, name.rect.bottom + 5)))
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, corner)
    QTest.mouseMove(canvas, (corner + target) / 2)
    QTest.mouseMove(canvas, target)
    shot(win, "review-single-suggestion-resize")
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    panel.accept_suggestions(all_of_them=False)
    wizard._refresh()
    shot(win, "review-single-accepted")

    # The open scan's search: progress and Stop while it runs; stopped, the scan is held back.
    cines = scan_paths([_long_cines(demo.parent / f"cines-{size}")]).sessions
    step.set_sessions(cines)
    wizard._refresh()
    panel = step.page.panel
    _settle(app, lambda: step.findings.scan_progress(panel.uid)[0] >= 2 and not panel.viewer.is_loading()
            and step.page.thumbs.idle, timeout=SEARCH_TIMEOUT, idle=0.2)
    shot(win, "review-single-search-progress")
    panel.stop_button.click()
    _settle(app, lambda: step.searching() == 0)
    wizard._refresh()
    shot(win, "review-single-search-stopped")

    # Bulk: every demo session, every image scan searched in the background.
    step.set_sessions(sessions)
    bulk = step.page
    assert isinstance(bulk, BulkReviewPage)
    _settle(app, lambda: step.findings.idle and bulk.thumbs.idle, timeout=SEARCH_TIMEOUT, idle=0.8)
    wizard._refresh()
    shot(win, "review-bulk-found-text")

    group = next(g for g in step.review.grouping.valid if g.modality == "CR")
    dialog = bulk.dialog_for(group)
    dialog.show()
    dialog.find_text()
    _settle(app, lambda: dialog.thumbs.idle and step.findings.idle, timeout=SEARCH_TIMEOUT, idle=0.6)
    dialog.select_uids(step.review.group_members(group)[:1])
    shot(dialog, "review-group-found-text")

    uids = step.review.group_members(group)
    scan = step.review.scan(uids[0])
    create = CreateTemplateDialog(store, scan, len(uids), dialog,
                                  rects=step.findings.result(uids[0]).suggested_boxes())
    create.show()
    _settle(app, lambda: not create.viewer.is_loading())
    shot(create, "review-create-template")
    create.reject()

    if (width, height) == SIZES[0]:
        dialog.select_all()
        dialog.accept_suggestions(dialog.selected_uids())
        _settle(app, lambda: dialog.thumbs.idle, idle=0.6)
        shot(dialog, "review-group-accepted")
        template = store.create("CR 256×200 · top-left, top-right (demo)", MatchKeys.of(scan),
                                [Rect(0, 0, 90, 44), Rect(100, 0, 200, 44)],
                                description="Demo CR: name, ID, birth date; hospital, date")
        apply = ApplyTemplatesDialog(dialog.matching_templates(uids), len(uids), dialog)
        apply.set_checked([template.name])
        apply.show()
        shot(apply, "review-apply-templates")
        exclude = ExcludeDialog(2, dialog)
        exclude.reason.setText("secondary capture with a photo")
        exclude.show()
        shot(exclude, "review-exclude")
        as_is = AcceptAsIsDialog(1, dialog)
        as_is.reason.setText("device label only, no patient data")
        as_is.show()
        shot(as_is, "review-send-as-is")
        manager = TemplateManagerDialog(store)
        manager.show()
        manager.manager.reload()
        shot(manager, "templates-manager")
        for w in (manager, apply, exclude, as_is):
            w.close()
    dialog.accept()
    win.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--theme", choices=("light", "dark", "system"), default="light")
    parser.add_argument("--one", help=argparse.SUPPRESS)    # WxH: one size, in this process
    parser.add_argument("--demo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _one(args.one, args.out, args.theme, args.demo)
        return 0
    for path in capture(args.out, args.theme):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
