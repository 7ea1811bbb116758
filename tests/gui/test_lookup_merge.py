"""Confirm step: an existing session label needs an explicit merge, and a lookup table can be
chosen for the scripts' ``lookup[...]`` (driven as a user would, against real destinations)."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom

from tests.gui.flow import fill_connection, scan, to_confirm, to_project_step, to_summary, upload_and_wait
from tests.helpers import wait_until


def test_existing_label_is_merged_only_when_the_user_says_so(qtbot, window, demo_dir: Path,
                                                             app_home: Path) -> None:
    win = window
    existing = app_home / "data" / "local-archive" / "LOCAL" / "DOE_JANE" / "DOE_JANE_MR_1"
    (existing / "SCANS" / "99" / "DICOM").mkdir(parents=True)
    kept = existing / "SCANS" / "99" / "DICOM" / "earlier.dcm"
    kept.write_bytes(b"an earlier upload")
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    confirm = to_confirm(qtbot, win, "MR")
    confirm.subject_combo.setCurrentText("DOE_JANE")  # the user picks the existing subject
    # The suggestion avoids the existing label; the choice appears only for an existing one.
    assert confirm.label_edit.text() == "DOE_JANE_MR_2"
    assert not confirm.exists_box.isVisible()
    assert confirm.lookup_row.isVisible()  # the folder's default site script is a script
    confirm.label_edit.setText("DOE_JANE_MR_1")
    assert confirm.exists_box.isVisible()
    assert "“DOE_JANE_MR_1” already exists in project LOCAL" in confirm.exists_text.text()
    assert not win.wizard.next_button.isEnabled()
    assert "Add these scans to it" in win.wizard.reason.text()

    confirm.other_label_button.click()
    assert confirm.label_edit.text() == "DOE_JANE_MR_2" and confirm.is_complete()
    confirm.label_edit.setText("DOE_JANE_MR_1")
    confirm.merge_check.setChecked(True)
    assert confirm.is_complete()
    assert "will be added to the existing session DOE_JANE_MR_1" in confirm.problem.text
    confirm.label_edit.setText("DOE_JANE_MR_1 ")  # any edit asks again
    assert not confirm.merge_check.isChecked() and not confirm.is_complete()
    confirm.label_edit.setText("DOE_JANE_MR_1")
    confirm.merge_check.setChecked(True)

    to_summary(qtbot, win)
    assert win.draft.plans[0].merge
    rows = upload_and_wait(qtbot, win)
    assert rows[0].state.value == "done", rows[0].error
    assert kept.read_bytes() == b"an earlier upload"
    scans = {p.name for p in (existing / "SCANS").iterdir()}
    assert "99" in scans and len(scans) > 1
    receipt = json.loads(win.queue.receipt_paths(rows[0].id)[0].read_text())
    assert receipt["merged_into_existing_session"] is True


LOOKUP_SCRIPT = 'version "6.6"\n(0010,0010) := lookup["pn", (0010,0010)]\n'


def test_lookup_table_is_chosen_shown_and_used(qtbot, window, xnat_emulator, demo_dir: Path,
                                               tmp_path: Path) -> None:
    win = window
    xnat_emulator.set_project_script("DEMO", LOOKUP_SCRIPT)
    fill_connection(win, xnat_emulator.url, "admin", "admin")
    to_project_step(qtbot, win, "DEMO")
    scan(qtbot, win, [demo_dir])
    confirm = to_confirm(qtbot, win, "MR")
    assert confirm.lookup_row.isVisible() and confirm.lookup_label.text() == "Lookup table: none"
    assert not confirm.lookup_clear.isVisible()
    assert "uses lookup[…] but no lookup table is chosen" in confirm.problem.text
    assert confirm.is_complete()  # a warning, not a block

    bad = tmp_path / "bad.txt"
    bad.write_text("pn/A = B\nno equals sign here\n", encoding="utf-8")
    confirm.load_lookup_table(str(bad))
    wait_until(qtbot, lambda: confirm.message.kind == "error", what="the refusal")
    assert "bad.txt: line 2" in confirm.message.text and win.draft.lookup_table is None

    patient = win.draft.plans[0].session.patient_name
    table = tmp_path / "names.txt"
    table.write_text(f"// study pseudonyms\npn/{patient} = PSEUDO^ONE\n", encoding="utf-8")
    confirm.load_lookup_table(str(table))
    wait_until(qtbot, lambda: win.draft.lookup_table is not None, what="the table")
    assert confirm.lookup_label.text() == "Lookup table: names.txt · 1 entry"
    assert confirm.message.kind == "" and "lookup[" not in confirm.problem.text
    assert patient not in confirm.lookup_label.text()
    confirm.lookup_clear.click()
    assert win.draft.lookup_table is None and "lookup[" in confirm.problem.text
    confirm.load_lookup_table(str(table))
    wait_until(qtbot, lambda: win.draft.lookup_table is not None, what="the table again")

    to_summary(qtbot, win)
    rows = upload_and_wait(qtbot, win)
    assert rows[0].state.value == "done", rows[0].error
    label = confirm.label_edit.text()
    entry = next(e for e in xnat_emulator.prearchive_entries("DEMO") if e.name == label)
    files = xnat_emulator.prearchive_files(entry)
    assert files and {str(pydicom.dcmread(f, stop_before_pixels=True).PatientName)
                      for f in files} == {"PSEUDO^ONE"}
    receipt = json.loads(win.queue.receipt_paths(rows[0].id)[0].read_text())
    assert receipt["lookup_table"]["name"] == "names.txt" and receipt["lookup_table"]["entries"] == 1
