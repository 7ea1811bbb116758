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
from tests.gui.conftest import app_home, demo_dir, wait_for, window  # noqa: F401 - fixtures
from tests.gui.flow import scan, to_project_step, upload_and_wait
from tests.gui.test_flow_xnat import fill_connection

pytestmark = pytest.mark.gui
BOX = Rect(0, 0, 70, 30)


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
    wait_for(qtbot, lambda: not confirm._loading, what="Confirm")
    confirm.subject_scheme.setCurrentIndex(confirm.subject_scheme.findData("patient_id"))
    confirm.session_scheme.setCurrentIndex(confirm.session_scheme.findData("auto"))
    confirm.apply_schemes()
    assert confirm.is_complete(), confirm.blocking_message()
    win.wizard.next()
    step = win.review_page.inner
    wait_for(qtbot, step.is_ready, what="grouping")
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
    assert step.is_complete()
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
