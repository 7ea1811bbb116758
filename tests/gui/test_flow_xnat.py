"""Log in to the XNAT emulator, pick DEMO, scan the demo studies, upload, watch it finish."""

from __future__ import annotations

from pathlib import Path

from tests.gui.flow import fill_connection, row_of, scan, to_confirm, to_project_step, to_summary, upload_and_wait
from tests.helpers import wait_until


def test_verify_shows_version_and_bad_password_is_explained(qtbot, window, xnat_emulator) -> None:
    win = window
    fill_connection(win, xnat_emulator.url, "admin", "wrong")
    win.connect_page.verify()
    wait_until(qtbot, lambda: win.connect_page.message.kind == "error", what="the login error")
    assert "user name or password" in win.connect_page.message.text
    win.connect_page.password_edit.setText("admin")
    win.connect_page.verify()
    wait_until(qtbot, lambda: win.connect_page.message.kind == "ok", what="the login")
    assert "XNAT" in win.connect_page.message.text and "admin" in win.connect_page.message.text
    # The connection (never the password) is stored.
    saved = (Path(win.store.path)).read_text()
    assert xnat_emulator.url in saved and "wrong" not in saved and '"admin"' in saved


def test_unreachable_server_is_explained(qtbot, window) -> None:
    win = window
    fill_connection(win, "http://127.0.0.1:9", "admin", "admin")
    win.wizard.next()
    wait_until(qtbot, lambda: win.connect_page.message.kind == "error", what="the error")
    assert "reach" in win.connect_page.message.text
    assert win.wizard.index == 0


def test_upload_to_xnat_emulator(qtbot, window, xnat_emulator, demo_dir: Path) -> None:
    win = window
    xnat_emulator.set_project_script("DEMO", 'version "6.1"\n(0010,0010) := "ANON"\n')
    fill_connection(win, xnat_emulator.url, "admin", "admin")
    assert win.wizard.next_button.text() == "Log in"
    to_project_step(qtbot, win, "DEMO")
    page = win.project_page
    assert page.values["destination"].text() == "Prearchive"
    assert page.project_button.text().startswith("✔")
    page.project_button.click()
    assert "ANON" in page.script_view.toPlainText()
    scan(qtbot, win, [demo_dir])
    win.select_page.set_checked([row_of(win, "MR")])
    win.wizard.next()
    wait_until(qtbot, win.confirm_page.is_complete, what="Confirm")
    subject = win.confirm_page.subject_combo.currentText()  # automatic, not the patient's name
    assert win.confirm_page.label_edit.text() == f"{subject}_MR_1"
    to_summary(qtbot, win)
    rows = upload_and_wait(qtbot, win)
    assert rows[0].state.value == "done", rows[0].error
    entries = xnat_emulator.prearchive_entries("DEMO")
    entry = next(e for e in entries if e.name == f"{subject}_MR_1")
    assert entry.subject == subject
    # The project script ran on this computer before the upload.
    import pydicom

    files = xnat_emulator.prearchive_files(entry)
    assert files and all(str(pydicom.dcmread(f, stop_before_pixels=True).PatientName) == "ANON"
                         for f in files)


DE4_SCRIPT = '''describe visit "Visit number"
session := makeSessionLabel[format["{0}_V##", subject]]
(0010,0020) := session
(0008,1030) := visit
'''


def test_script_variable_field_and_make_session_label(qtbot, window, xnat_emulator, demo_dir: Path) -> None:
    win = window
    xnat_emulator.set_project_script("DEMO", DE4_SCRIPT)
    fill_connection(win, xnat_emulator.url, "admin", "admin")
    to_project_step(qtbot, win, "DEMO")
    scan(qtbot, win, [demo_dir])
    confirm = to_confirm(qtbot, win, "MR")
    # makeSessionLabel in the project script decides the label, as XNAT would.
    subject = confirm.subject_combo.currentText()
    assert confirm.label_edit.text() == f"{subject}_V00"
    assert list(confirm._var_edits) == ["visit"]
    assert not confirm.is_complete()
    assert "visit" in win.wizard.reason.text()
    confirm._var_edits["visit"].setText("VISIT-3")
    to_summary(qtbot, win)
    rows = upload_and_wait(qtbot, win)
    assert rows[0].state.value == "done", rows[0].error
    entry = next(e for e in xnat_emulator.prearchive_entries("DEMO") if e.name == f"{subject}_V00")
    import pydicom

    files = xnat_emulator.prearchive_files(entry)
    assert files and all(pydicom.dcmread(f, stop_before_pixels=True).StudyDescription == "VISIT-3"
                         for f in files)


def test_alias_token_login(qtbot, window, xnat_emulator) -> None:
    win = window
    alias, secret = xnat_emulator.issue_token("admin")
    fill_connection(win, xnat_emulator.url, alias, secret)
    win.connect_page.alias_check.setChecked(True)
    assert win.connect_page.user_label.text() == "Token &alias"
    to_project_step(qtbot, win, "DEMO")
    assert win.project_page.current_project().id == "DEMO"


def test_remembered_password_comes_back_from_the_keyring(qtbot, window, xnat_emulator, memory_keyring) -> None:
    win = window
    fill_connection(win, xnat_emulator.url, "admin", "admin")
    win.connect_page.remember_check.setChecked(True)
    win.connect_page.verify()
    wait_until(qtbot, lambda: win.connect_page.message.kind == "ok", what="the login")
    wait_until(qtbot, lambda: memory_keyring.store, what="the keyring write")
    from desktop_client.gui.connections import ConnectionStore

    fresh = ConnectionStore()  # a new session of the app: nothing typed yet
    conn = fresh.connections[1]
    assert fresh.typed_password(conn) is None and fresh.password(conn) == "admin"


def test_bad_certificate_is_explained_and_insecure_tls_is_an_explicit_opt_in(
        qtbot, window, tmp_path: Path) -> None:
    import shutil
    import subprocess

    import pytest

    from tests.xnat_emulator.emulator import XnatEmulator

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    emulator = XnatEmulator(tmp_path / "tls-xnat", tls_cert=cert, tls_key=key)
    emulator.seed_default()
    emulator.start()
    try:
        assert emulator.url.startswith("https://")
        win = window
        fill_connection(win, emulator.url, "admin", "admin")
        win.connect_page.verify()
        wait_until(qtbot, lambda: win.connect_page.message.kind == "error", what="the TLS error")
        assert "Allow insecure TLS" in win.connect_page.message.text
        win.connect_page.insecure_check.setChecked(True)
        win.connect_page.verify()
        wait_until(qtbot, lambda: win.connect_page.message.kind == "ok", what="the insecure login")
        assert win.store.connections[1].insecure_tls
    finally:
        emulator.stop()
