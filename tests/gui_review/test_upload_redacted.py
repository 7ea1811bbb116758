"""End to end through the real wizard: a template applied in the bulk review is what reaches XNAT.

The upload goes to the XNAT emulator (tests/xnat_emulator); the stored files are then decoded:
inside the template's box every pixel is black, outside it every pixel equals the original.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.core.geometry import Rect
from desktop_client.gui.review.bulk import BulkReviewPage
from desktop_client.pixels import render
from desktop_client.templates import MatchKeys
from tests.gui.conftest import app_home, window  # noqa: F401 - fixtures
from tests.gui.flow import fill_connection, scan, to_project_step, upload_and_wait
from tests.helpers import wait_until

pytestmark = pytest.mark.gui
BOX = Rect(0, 0, 70, 30)


def accept_the_rest_as_is(qtbot, step) -> None:
    """These tests check the drawn/template boxes only: once the background text search is done,
    every scan it holds back is sent as is, with a reason (the receipt's job to record it)."""
    wait_until(qtbot, lambda: step.searching() == 0, what="the text search", timeout=300)
    held = [uid for uid, _ in step.review.held_back()]
    if held:
        step.review.accept_as_is(held, "test: only the boxes drawn here are checked")
    step.page.changed.emit()


def test_bulk_template_redacts_what_is_uploaded(qtbot, window, xnat_emulator, demo_dir: Path) -> None:  # noqa: F811
    win = window
    fill_connection(win, xnat_emulator.url, "admin", "admin")
    to_project_step(qtbot, win, "DEMO")
    scan(qtbot, win, [demo_dir])
    sessions = win.select_page._sessions
    ct_rows = [i for i, s in enumerate(sessions) if "CT" in s.modalities]
    assert len(ct_rows) == 2
    win.select_page.set_checked(ct_rows)
    win.wizard.next()
    confirm = win.confirm_page
    wait_until(qtbot, lambda: not confirm._loading, what="Confirm")
    confirm.subject_scheme.setCurrentIndex(confirm.subject_scheme.findData("patient_id"))
    confirm.session_scheme.setCurrentIndex(confirm.session_scheme.findData("auto"))
    confirm.apply_schemes()
    assert confirm.is_complete(), confirm.blocking_message()
    win.wizard.next()
    step = win.review_page.inner
    wait_until(qtbot, step.is_ready, what="grouping")
    page = step.page
    assert isinstance(page, BulkReviewPage)

    # Save a template for the CT group and apply it to every CT scan from the group's review.
    group = next(g for g in step.review.grouping.valid if g.modality == "CT")
    template = step.store.create("CT test corner", MatchKeys.of(group.members[0].scan), [BOX])
    dialog = page.dialog_for(group)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.select_all()
    assert dialog.apply([template]) == len(group.members) == 2
    dialog.accept()
    accept_the_rest_as_is(qtbot, step)
    assert step.is_complete(), step.blocking_message()
    originals = {inst.sop_instance_uid: inst for ref in group.members for inst in ref.scan.instances}
    win.wizard.next()
    assert win.wizard.index == 5
    rows = upload_and_wait(qtbot, win, timeout=180)
    assert all(r.state.value == "done" for r in rows), [r.error for r in rows]

    checked = 0
    for entry in xnat_emulator.prearchive_entries("DEMO"):
        for path in xnat_emulator.prearchive_files(entry):
            ds = pydicom.dcmread(path)
            if ds.Modality != "CT":
                continue
            uploaded = render(ds)
            original = render(originals[ds.SOPInstanceUID])
            inside = np.zeros(uploaded.shape[:2], bool)
            inside[BOX.top:BOX.bottom, BOX.left:BOX.right] = True
            assert uploaded[inside].max() == 0, path.name
            assert original[inside].max() > 0               # there was burned-in text to remove
            assert np.array_equal(uploaded[~inside], original[~inside]), path.name
            assert ds.get("BurnedInAnnotation", "NO") == "NO"
            checked += 1
    assert checked == len(originals)


def test_single_session_saved_boxes_reach_xnat_black(qtbot, xnat_emulator, sessions, tmp_path: Path) -> None:
    """Single-session flow through the public contracts only: ReviewStep.choices() → transfer queue.

    The CR is MONOCHROME1 in JPEG 2000: "black" must be the darkest *displayed* value (not stored 0,
    which would show white), and the lossless re-encode must leave every other pixel unchanged.
    """
    from PySide6.QtCore import QPoint, Qt

    from desktop_client.core.geometry import PixelEdit
    from desktop_client.gui.review import ReviewStep
    from desktop_client.gui.viewer.mapping import ViewTransform
    from desktop_client.templates import TemplateStore
    from desktop_client.transfer import DestinationKind, DestinationSpec, ScanChoice, TransferQueue, TransferSpec

    session = next(s for s in sessions if "CR" in s.modalities
                   and any(i.transfer_syntax_uid == "1.2.840.10008.1.2.4.90" for i in s.iter_instances()))
    step = ReviewStep(store=TemplateStore(tmp_path / "templates", shipped=False))
    qtbot.addWidget(step)
    step.resize(1100, 800)
    step.show()
    step.set_sessions([session])
    uid, ref = next((u, r) for u, r in step.review.refs.items()
                    if r.scan.instances[0].transfer_syntax_uid == "1.2.840.10008.1.2.4.90")
    step.page.select_uid(uid)
    viewer = step.page.panel.viewer
    wait_until(qtbot, lambda: not viewer.is_loading(), what="the CR")
    # A press inside a dashed suggestion moves or resizes it: once the search has drawn them over
    # the CR's burned-in text, take them off the canvas (not dismissed: the scan stays held and
    # is accepted as is below) so this press draws the box the test checks.
    wait_until(qtbot, lambda: step.searching() == 0, what="the text search", timeout=300)
    viewer.set_suggestions([])
    viewer.canvas.set_transform(ViewTransform(1.0, 0.0, 0.0))
    qtbot.mousePress(viewer.canvas, Qt.MouseButton.LeftButton, pos=QPoint(1, 1))
    qtbot.mouseMove(viewer.canvas, QPoint(60, 20))
    qtbot.mouseRelease(viewer.canvas, Qt.MouseButton.LeftButton, pos=QPoint(120, 40))
    box = Rect(1, 1, 120, 40)
    assert not step.is_complete()
    step.page.panel.save_scan()
    accept_the_rest_as_is(qtbot, step)
    assert step.is_complete(), step.blocking_message()
    choice = step.choices()[uid]
    assert choice.rectangles == [box] and choice.confirmed

    spec = TransferSpec(session=session, project="DEMO", subject="CR_SUBJ", session_label="CR_SUBJ_CR_1",
                        destination=DestinationSpec(DestinationKind.XNAT, xnat_emulator.url, "admin"),
                        choices={u: ScanChoice(u, tuple(PixelEdit(r) for r in c.rectangles), c.excluded,
                                               c.exclude_reason, c.decision, c.text_decision, tuple(c.sources()),
                                               c.accept_reason)
                                 for u, c in step.choices().items()})
    queue = TransferQueue(tmp_path / "queue.sqlite3", concurrency=1, credentials=lambda _dest: "admin")
    queue.start()
    try:
        transfer = queue.submit(spec)
        assert queue.wait(transfer, timeout=180).value == "done", queue.log(transfer)[-3:]
    finally:
        queue.stop()
    originals = {inst.sop_instance_uid: inst for inst in session.iter_instances()}
    entry = next(e for e in xnat_emulator.prearchive_entries("DEMO") if e.name == "CR_SUBJ_CR_1")
    redacted = untouched = 0
    for path in xnat_emulator.prearchive_files(entry):
        ds = pydicom.dcmread(path)
        if "PixelData" not in ds:
            continue
        uploaded, original = render(ds), render(originals[ds.SOPInstanceUID])
        if ds.SeriesInstanceUID != uid:      # scans without boxes keep every pixel
            assert np.array_equal(uploaded, original)
            untouched += 1
            continue
        inside = np.zeros(uploaded.shape[:2], bool)
        inside[box.top:box.bottom, box.left:box.right] = True
        assert uploaded[inside].max() == 0 and original[inside].max() > 0
        assert np.array_equal(uploaded[~inside], original[~inside])
        redacted += 1
    assert redacted == len(ref.scan.instances) and untouched >= 1
