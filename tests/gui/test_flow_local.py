"""The whole flow into the built-in local archive folder (no server), single and bulk."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QUrl

from desktop_client.dicomedit.functions import hash_uid

from tests.gui.flow import row_of, scan, to_project_step, to_summary, upload_and_wait
from tests.helpers import wait_until


def test_single_session_to_local_archive(qtbot, window, demo_dir: Path, app_home: Path) -> None:
    win = window
    assert win.connect_page.current().is_local
    assert win.wizard.next_button.text() == "Use this folder"
    to_project_step(qtbot, win, "LOCAL")
    assert win.project_page.values["destination"].text() == "Local folder"
    scan(qtbot, win, [demo_dir])
    assert len(win.select_page._sessions) == 5
    assert not win.wizard.next_button.isEnabled()
    assert "Tick" in win.wizard.reason.text()
    win.select_page.set_checked([row_of(win, "MR")])
    assert win.wizard.next_button.isEnabled()
    win.wizard.next()
    confirm = win.confirm_page
    wait_until(qtbot, confirm.is_complete, what="the Confirm step")
    # The subject is an automatic label, never the patient's name (issue 14).
    subject = confirm.subject_combo.currentText()
    assert re.fullmatch(r"[A-Z]{2}[0-9]{3}", subject)
    assert confirm.label_edit.text() == f"{subject}_MR_1"
    assert "visible in the archive" in confirm.labels_warning.text()
    assert confirm.subject_note.text().startswith("New subject")
    confirm.label_edit.setText("bad label!")
    assert not win.wizard.next_button.isEnabled()
    assert "letters, digits" in win.wizard.reason.text()
    confirm.label_edit.setText("MR_VISIT_1")
    to_summary(qtbot, win)
    counts = win.summary_page.counts
    assert counts.sessions == 1 and counts.excluded == 0
    assert counts.files == win.draft.plans[0].session.files
    rows = upload_and_wait(qtbot, win)
    assert [r.state.value for r in rows] == ["done"], rows[0].error
    session_dir = app_home / "data" / "local-archive" / "LOCAL" / subject / "MR_VISIT_1"
    assert session_dir.is_dir()
    assert sum(1 for p in session_dir.rglob("*") if p.is_file()) >= counts.files
    opened: list[QUrl] = []
    win.transfers.open_url = lambda url: opened.append(url) or True
    win.transfers.select(rows[0].id)
    assert win.transfers.buttons["receipt"].isEnabled()
    win.transfers.act("receipt")
    assert opened and Path(opened[0].toLocalFile()).is_file()
    # The wizard is back at Select data, ready for the next session of the same folder.
    assert win.wizard.index == 2
    assert not win.select_page.checked_sessions() and "Queued 1 upload" in win.select_page.message.text


def test_bulk_sessions_with_schemes_and_csv(qtbot, window, demo_dir: Path, app_home: Path) -> None:
    win = window
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    win.select_page._check_all(True)
    win.wizard.next()
    confirm = win.confirm_page
    wait_until(qtbot, lambda: not confirm._loading, what="subjects")
    assert confirm.stack.currentIndex() == 1
    confirm.subject_scheme.setCurrentIndex(confirm.subject_scheme.findData("patient_id"))
    confirm.session_scheme.setCurrentIndex(confirm.session_scheme.findData("auto"))
    confirm.apply_schemes()
    assert confirm.is_complete(), confirm.blocking_message()
    labels = [confirm._cell(r, 4) for r in range(confirm.bulk_table.rowCount())]
    assert len(set(labels)) == len(labels)
    # A duplicate label is refused with the row named.
    confirm.bulk_table.item(1, 4).setText(labels[0])
    assert not confirm.is_complete()
    assert "also used in row 1" in confirm.blocking_message()
    # CSV round trip restores the labels and can change them.
    text = confirm.csv_text().replace(labels[0], "RENAMED_1", 1)
    confirm.bulk_table.item(1, 4).setText(labels[1])
    assert confirm.load_csv_text(text) == 5
    assert confirm._cell(0, 4) == "RENAMED_1"
    assert confirm.is_complete(), confirm.blocking_message()
    to_summary(qtbot, win)
    assert win.summary_page.counts.sessions == 5
    assert win.summary_page.counts.unsupported > 0  # RT dose/structure, SR, PDF are not images
    rows = upload_and_wait(qtbot, win, timeout=180)
    assert sorted(r.state.value for r in rows) == ["done"] * 5, [r.error for r in rows]
    assert (app_home / "data" / "local-archive" / "LOCAL").is_dir()


def write_pet_study(folder: Path) -> None:
    """Three tiny PET images of one study (the demo has no PT)."""
    import numpy as np
    from pydicom.uid import generate_uid

    from tests.dicomfactory import image, write

    study, series = generate_uid(), generate_uid()
    folder.mkdir(parents=True)
    for i in range(3):
        ds = image(modality="PT", study_uid=study, series_uid=series, sop_uid=generate_uid(), series_number=1,
                   instance_number=i + 1, patient_name="PET^PATIENT", patient_id="PET1", study_date="20240301",
                   rows=4, columns=4, bits_stored=16, pixels=np.zeros((4, 4)))
        write(folder / f"pt{i}.dcm", ds)


def test_pet_session_asks_for_the_tracer(qtbot, window, tmp_path: Path) -> None:
    win = window
    write_pet_study(tmp_path / "pet")
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [tmp_path / "pet"])
    win.wizard.next()
    confirm = win.confirm_page
    wait_until(qtbot, lambda: not confirm._loading, what="Confirm")
    assert confirm.tracer_combo.isVisibleTo(confirm)
    assert not confirm.is_complete() and "tracer" in confirm.blocking_message()
    subject = confirm.subject_combo.currentText()  # automatic (issue 14)
    assert confirm.label_edit.text() == f"{subject}_PT_1"
    confirm.tracer_combo.setCurrentText("FDG")
    assert confirm.is_complete(), confirm.blocking_message()
    assert confirm.label_edit.text() == f"{subject}_FDG_1"  # the tracer names the session
    confirm.subject_combo.setCurrentText("P7")
    assert confirm.label_edit.text() == "P7_FDG_1"
    confirm.label_edit.setText("MY_LABEL")
    confirm.subject_combo.setCurrentText("P8")
    assert confirm.label_edit.text() == "MY_LABEL"  # a typed label is never overwritten
    to_summary(qtbot, win)
    plan = win.draft.plans[0]
    assert plan.tracer == "FDG"
    from desktop_client.plan.specs import draft_specs as build_specs

    assert build_specs(win.draft)[0].variables["tracer"] == "FDG"


def test_review_rectangles_are_blacked_out_in_the_archive(qtbot, window, demo_dir: Path,
                                                         app_home: Path) -> None:
    import numpy as np
    import pydicom

    from desktop_client.core.geometry import Rect
    from desktop_client.plan.review import ScanReviewChoice

    win = window
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    win.select_page.set_checked([row_of(win, "MR")])
    win.wizard.next()
    to_summary(qtbot, win)
    session = win.draft.plans[0].session
    first = session.sorted_scans()[0]
    original = pydicom.dcmread(first.instances[0].location.path).pixel_array
    assert np.any(original[..., :30, :128])  # burned-in text is there before the upload
    # What the review step hands over when the user boxes every burned-in PHI line of one scan
    # (the demo manifest says where they are; the output re-check fails a box that misses one).
    from desktop_client.demo.manifest import DemoManifest

    manifest = DemoManifest.load(demo_dir)
    boxes: list[Rect] = []
    for f in manifest.files:
        if f.series_instance_uid == first.series_instance_uid:
            boxes += [Rect(*b.box) for b in f.burned_in if b.phi and Rect(*b.box) not in boxes]
    assert boxes
    # (the other scans keep the decision taken at Review)
    win.draft.review = {**win.draft.review,
                        first.series_instance_uid: ScanReviewChoice(rectangles=boxes, confirmed=True)}
    win.summary_page.enter(win.draft)
    assert win.summary_page.counts.redacted == 1
    rows = upload_and_wait(qtbot, win)
    assert rows[0].state.value == "done", rows[0].error
    archived = [p for p in (app_home / "data" / "local-archive").rglob("*") if p.is_file()
                and p.suffix.lower() != ".json"]
    redacted = 0
    for path in archived:
        try:
            ds = pydicom.dcmread(path)
        except Exception:  # manifests and other non-DICOM files of the archive
            continue
        if ds.SeriesInstanceUID == hash_uid(first.series_instance_uid):  # default site script
            pixels = ds.pixel_array
            for box in boxes:  # one solid fill inside every box: nothing readable is left
                region = pixels[..., box.top:box.bottom, box.left:box.right]
                assert region.min() == region.max(), (path, box)
            redacted += 1
    assert redacted == first.files
