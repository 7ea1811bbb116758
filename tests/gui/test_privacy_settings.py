"""Issue 14 in the desktop app: the local folder's script slots, cached data, what is written."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pydicom
from PySide6.QtWidgets import QMessageBox

from desktop_client.gui.settings_page import ScriptDialog
from desktop_client.scripts import DEFAULT_SITE_NAME, default_site_script
from tests.gui.flow import row_of, scan, to_project_step, to_summary, upload_and_wait
from tests.helpers import wait_until
from tests.leakcheck import demo_identifiers, find_leaks


def test_site_script_is_on_by_default_and_turned_off_only_after_a_confirmation(
        qtbot, window, app_home: Path, monkeypatch) -> None:
    page = window.settings_page
    assert page.site_mode.currentData() == "default"
    window.connect_page.refresh_local_scripts()
    assert "default (DICOM PS3.15 Basic Profile)" in window.connect_page.local_scripts.text()
    asked: list[str] = []

    def answer(choice):  # type: ignore[no-untyped-def]
        def warning(_parent, _title, text, *_args):  # type: ignore[no-untyped-def]
            asked.append(text)
            return choice
        return warning

    monkeypatch.setattr(QMessageBox, "warning", answer(QMessageBox.StandardButton.Cancel))
    page.site_mode.setCurrentIndex(page.site_mode.findData("off"))
    assert asked and "patient name" in asked[0]
    assert page.site_mode.currentData() == "default" and page.settings.local_site_script == "default"
    monkeypatch.setattr(QMessageBox, "warning", answer(QMessageBox.StandardButton.Yes))
    page.site_mode.setCurrentIndex(page.site_mode.findData("off"))
    saved = json.loads((app_home / "config" / "settings.json").read_text())
    assert saved["local_site_script"] == "off"
    window.connect_page.refresh_local_scripts()
    assert "Headers are written unchanged" in window.connect_page.local_scripts.text()


def test_edit_a_copy_of_the_default_uses_a_private_copy(qtbot, window, app_home: Path,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(ScriptDialog, "exec", lambda self: 0)
    page = window.settings_page
    page.edit_default_copy()
    copy = Path(page.site_file.text())
    assert copy.parent == app_home / "config" / "scripts"
    assert copy.read_text(encoding="utf-8") == default_site_script()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert page.settings.local_site_script == "file"
    assert page.settings.local_script_slots().chain()[0].name == f"site: {copy.name}"
    # A broken script is refused with a sentence, and the settings keep the working choice.
    copy.write_text("(0010,0010) := \n", encoding="utf-8")
    page.project_file.setText(str(copy))
    page._save()
    assert "error" in page.message.text


def test_clear_cached_data_removes_the_scan_index(qtbot, window, app_home: Path,
                                                  demo_dir: Path) -> None:
    to_project_step(qtbot, window, "LOCAL")
    scan(qtbot, window, [demo_dir])
    index = app_home / "cache" / "scan-index.sqlite"
    assert index.exists() and stat.S_IMODE(index.stat().st_mode) == 0o600
    window.settings_page.clear_cache()
    assert not index.exists()
    assert "cleared" in window.settings_page.message.text


def test_local_upload_with_the_defaults_leaves_no_identifiers(qtbot, window, app_home: Path,
                                                               demo_dir: Path) -> None:
    """The GUI's defaults (issue 14 §5): the local folder anonymizes, the report with free text is
    left out, and nothing the app wrote names the patient. Pixel text is not part of this grep
    (see tests/leakcheck.py)."""
    to_project_step(qtbot, window, "LOCAL")
    assert DEFAULT_SITE_NAME.split(": ")[0] == "site"
    scan(qtbot, window, [demo_dir])
    window.select_page.set_checked([row_of(window, "DOC")])  # CR study with a PDF report
    window.wizard.next()
    wait_until(qtbot, window.confirm_page.is_complete, what="Confirm")
    to_summary(qtbot, window)
    assert window.summary_page.counts.excluded == 1  # the PDF report
    rows = upload_and_wait(qtbot, window)
    assert rows[0].state.value == "done", rows[0].error
    archived = [p for p in (app_home / "data" / "local-archive").rglob("*.dcm")]
    assert archived
    for path in archived:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert ds.PatientIdentityRemoved == "YES" and str(ds.PatientName) == ""
    receipt = json.loads(window.queue.receipt_paths(rows[0].id)[0].read_text())
    assert receipt["scripts"][0]["name"] == DEFAULT_SITE_NAME
    assert find_leaks([app_home], demo_identifiers(demo_dir)) == []
