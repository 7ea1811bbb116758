#!/usr/bin/env python3
"""Screenshots of the review step, the viewer and the template manager into ``docs/screenshots/``.

Runs offscreen on the demo studies in a private temporary app home (nothing touches the user's
templates or caches). ``scripts/screenshots.py`` calls ``capture(out_dir)``; run it alone with
``python scripts/screenshots_review.py [--out DIR] [--theme light|dark]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _settle(app, condition=lambda: True, timeout: float = 20.0, idle: float = 0.3) -> None:
    """Process events until ``condition()`` holds, then a little longer for repaints."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    end = time.monotonic() + idle
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def capture(out_dir: Path | str | None = None, theme: str = "light") -> list[Path]:
    """Write every review-related screenshot; returns the PNG paths."""
    out = Path(out_dir) if out_dir is not None else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="xnat-review-shots-")
    previous = os.environ.get("XNAT_DESKTOP_HOME")
    os.environ["XNAT_DESKTOP_HOME"] = home
    try:
        return _capture(out, theme, home)
    finally:
        if previous is None:
            os.environ.pop("XNAT_DESKTOP_HOME", None)
        else:
            os.environ["XNAT_DESKTOP_HOME"] = previous
        shutil.rmtree(home, ignore_errors=True)


def _capture(out: Path, theme: str, home: str) -> list[Path]:

    from PySide6.QtWidgets import QApplication

    from desktop_client.core.geometry import Rect
    from desktop_client.demo import generate_demo
    from desktop_client.gui.review import ReviewStep
    from desktop_client.gui.review.bulk import BulkReviewPage
    from desktop_client.gui.review.dialogs import ApplyTemplatesDialog, CreateTemplateDialog, ExcludeDialog
    from desktop_client.gui.templates import TemplateManagerDialog
    from desktop_client.scanning import scan_paths
    from desktop_client.templates import MatchKeys, TemplateStore

    app = QApplication.instance() or QApplication(sys.argv)
    try:
        from desktop_client.gui.theme import apply_theme

        apply_theme(app, theme)
    except ImportError:
        pass
    studies = Path(home) / "demo"
    generate_demo(studies, seed=0)
    sessions = scan_paths([studies]).sessions
    store = TemplateStore()
    written: list[Path] = []

    def shot(widget, name: str) -> None:
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        written.append(path)

    # Single session: CT with boxes drawn but not saved (the blocking message), then After.
    step = ReviewStep(store=store)
    step.resize(1280, 860)
    step.show()
    ct_session = next(s for s in sessions if "CT" in s.modalities and "RTSTRUCT" in s.modalities)
    step.set_sessions([ct_session])
    page = step.page
    viewer = page.panel.viewer
    _settle(app, lambda: not viewer.is_loading() and page.thumbs.idle)
    viewer.set_rectangles([Rect(0, 0, 150, 64), Rect(330, 0, 512, 64)])
    page.panel._on_rects()
    step._on_changed()
    _settle(app, lambda: page.thumbs.idle)
    shot(step, "review-single-unsaved")
    page.panel.save_scan()
    step._on_changed()
    viewer.set_preview(True)
    _settle(app, lambda: not viewer.is_loading() and page.thumbs.idle)
    shot(step, "review-single-after")

    # Bulk: every demo session.
    step.set_sessions(sessions)
    bulk = step.page
    assert isinstance(bulk, BulkReviewPage)
    _settle(app, lambda: bulk.thumbs.idle, idle=0.6)
    shot(step, "review-bulk-valid")
    bulk.show_view(1)
    _settle(app, lambda: bulk.thumbs.idle, idle=0.6)
    shot(step, "review-bulk-unsupported")
    bulk.show_view(0)

    # Create a template on the US group, apply it, exclude one scan, show the grid.
    us_group = next(g for g in step.review.grouping.valid if g.modality == "US")
    dialog = bulk.dialog_for(us_group)
    dialog.show()
    dialog.select_all()
    uids = dialog.selected_uids()
    create = CreateTemplateDialog(store, step.review.scan(uids[0]), len(uids), dialog)
    create.show()
    _settle(app, lambda: not create.viewer.is_loading())
    create.viewer.set_rectangles([Rect(0, 0, 170, 76), Rect(450, 0, 640, 76)])
    create.form.name.setText("US banner (demo)")
    create.form.description.setPlainText("Patient name/ID/birth date top-left; institution, date, accession top-right")
    create._update()
    _settle(app)
    shot(create, "review-create-template")
    create.accept()
    dialog.apply([create.template], uids)
    ct_group = next(g for g in step.review.grouping.valid if g.modality == "CT")
    store.create("CT corners (demo)", MatchKeys.of(ct_group.members[0].scan),
                 [Rect(0, 0, 150, 64), Rect(330, 0, 512, 64)], description="Demo CT: banner corners")
    dialog.exclude(uids[-1:], "cine loop not needed")
    dialog.select_uids(uids[:1])
    _settle(app, lambda: dialog.thumbs.idle, idle=0.6)
    shot(dialog, "review-group-grid")
    apply = ApplyTemplatesDialog(dialog.matching_templates(uids), len(uids), dialog)
    apply.set_checked(["Demo US banner corners"])
    apply.show()
    _settle(app)
    shot(apply, "review-apply-templates")
    exclude = ExcludeDialog(2, dialog)
    exclude.reason.setText("secondary capture with a photo")
    exclude.show()
    _settle(app)
    shot(exclude, "review-exclude")
    dialog.accept()
    bulk.refresh()
    _settle(app, lambda: bulk.thumbs.idle, idle=0.6)
    shot(step, "review-bulk-reviewed")

    manager = TemplateManagerDialog(store)
    manager.show()
    manager.manager.reload()
    _settle(app)
    shot(manager, "templates-manager")
    for w in (manager, apply, exclude, create, dialog, step):
        w.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--theme", choices=("light", "dark", "system"), default="light")
    args = parser.parse_args(argv)
    for path in capture(args.out, args.theme):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
