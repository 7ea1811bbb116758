"""Settings, stored connections, window memory, shortcuts, date verification, the demo start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSplitter

from tests.gui.flow import fill_connection, row_of, scan, to_project_step
from tests.helpers import wait_until


def test_settings_are_saved_at_once_and_clamped(qtbot, window, app_home: Path) -> None:
    from desktop_client.plan.settings import load_settings

    page = window.settings_page
    page.concurrency.setValue(9)
    page.theme.setCurrentIndex(page.theme.findData("dark"))
    page.log_level.setCurrentIndex(page.log_level.findData("DEBUG"))
    page.receipts_pdf.setChecked(False)
    saved = json.loads((app_home / "config" / "settings.json").read_text())
    assert saved["concurrency"] == 9 and saved["theme"] == "dark" and not saved["receipts_pdf"]
    assert window.queue.concurrency == 9
    assert "#1d2329" in QApplication.instance().styleSheet()  # the dark palette is applied
    (app_home / "config" / "settings.json").write_text('{"concurrency": 99, "theme": "neon"}')
    settings = load_settings()
    assert settings.concurrency == 12 and settings.theme == "system"
    (app_home / "config" / "settings.json").write_text("{not json")
    assert load_settings().concurrency == 4  # defaults; the bad file is set aside
    assert (app_home / "config" / "settings.json.bad").exists()


def test_connections_never_store_passwords(app_home: Path) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    from desktop_client.gui.connections import Connection, ConnectionStore

    store = ConnectionStore()
    assert store.connections[0].is_local
    conn = Connection(name="Site", url="xnat.example.org/", username="me", remember_password=True)
    store.upsert(conn)
    assert conn.url == "https://xnat.example.org"
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        warning = store.set_password(conn, "s3cret")
    finally:
        keyring.set_keyring(previous)
    assert warning and "keyring" in warning
    assert store.typed_password(conn) == "s3cret"
    text = store.path.read_text()
    assert "s3cret" not in text and "xnat.example.org" in text
    reloaded = ConnectionStore()
    assert [c.name for c in reloaded.connections] == ["Local archive folder", "Site"]
    assert reloaded.typed_password(reloaded.connections[1]) is None
    reloaded.remove(reloaded.connections[0].id)  # the local folder cannot be removed
    reloaded.remove(conn.id)
    assert [c.is_local for c in ConnectionStore().connections] == [True]


def test_window_size_and_splitters_are_remembered(qtbot, window) -> None:
    from desktop_client.gui.main_window import MainWindow, window_state

    window.resize(1000, 700)
    qtbot.wait(50)
    splitter = window.project_page.findChild(QSplitter, "projectSplitter")
    splitter.setSizes([150, 700])
    sizes = splitter.sizes()
    window.save_layout()
    again = MainWindow(window.settings, window.queue, window.store)
    qtbot.addWidget(again)
    again.show()
    qtbot.wait(50)
    restored = again.project_page.findChild(QSplitter, "projectSplitter")
    assert restored.sizes()[0] == sizes[0]
    # The geometry is stored (the offscreen screen clamps what a restore may apply).
    assert window_state().value("window/geometry") == window.saveGeometry()


def test_keyboard_shortcuts_move_through_the_wizard(qtbot, window) -> None:
    win = window
    win.activateWindow()
    qtbot.keyClick(win.wizard, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_until(qtbot, lambda: win.wizard.index == 1, what="Ctrl+Enter → Project")
    qtbot.keyClick(win.wizard, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert win.wizard.index == 0
    assert win.wizard.step_labels[1].isEnabled() and not win.wizard.step_labels[2].isEnabled()
    win.wizard.step_labels[1].click()  # a visited step is one click away
    wait_until(qtbot, lambda: win.wizard.index == 1, what="the step bar")
    win.wizard.back()
    qtbot.keyClick(win, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert win.pages.currentIndex() == 1


def test_date_verification_when_the_project_requires_it(qtbot, window, xnat_emulator,
                                                       demo_dir: Path) -> None:
    win = window
    xnat_emulator.set_applet("DEMO", "require-date", "true")
    fill_connection(win, xnat_emulator.url)
    to_project_step(qtbot, win, "DEMO")
    assert win.project_page.values["date"].text().startswith("✔")
    scan(qtbot, win, [demo_dir])
    select = win.select_page
    row = row_of(win, "MR")  # study date 2021-03-15
    select.set_checked([row])
    assert not win.wizard.next_button.isEnabled()
    assert "study day" in win.wizard.reason.text()
    select.type_day(row, "14")
    assert not win.wizard.next_button.isEnabled()
    select.type_day(row, "15")
    assert win.wizard.next_button.isEnabled()
    select.type_day(row, "")
    select.unknown_dates.setChecked(True)
    assert win.wizard.next_button.isEnabled()


def test_demo_start_opens_select_data_with_the_demo_study(qtbot, app_home: Path) -> None:
    from desktop_client.gui.app import create_window

    win = create_window(demo=True)
    qtbot.addWidget(win)
    try:
        wait_until(qtbot, lambda: win.select_page.result is not None and not win.select_page.scanning,
                 timeout=180, what="the demo study")
        assert win.wizard.index == 2
        assert win.draft.target.connection.is_local
        assert len(win.select_page._sessions) == 5
        assert win.select_page.checked_sessions()  # the demo study is pre-selected
        assert win.wizard.next_button.isEnabled()
    finally:
        win.close()
        win.queue.close()
    # Later launches open on the Connect step with the default destination, not the demo.
    later = create_window()
    qtbot.addWidget(later)
    try:
        qtbot.wait(100)
        assert later.wizard.index == 0 and later.connect_page.current().is_local
    finally:
        later.close()
        later.queue.close()


def test_cli_gui_command_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    from desktop_client.cli.main import main

    with pytest.raises(SystemExit):
        main(["gui", "--help"])
    assert "--demo" in capsys.readouterr().out


def test_start_opens_no_socket_and_touches_no_network(qtbot, app_home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the window and starting the queue must not listen, connect or resolve names."""
    import socket

    from desktop_client.gui.app import create_window
    from desktop_client.gui.main_window import window_state

    window_state().setValue("app/launched", True)  # a normal start, not the first-run demo
    calls: list[str] = []

    def refuse(name: str):
        def call(*args, **kwargs):
            calls.append(name)
            raise OSError(f"{name} is not allowed at start")
        return call

    for name in ("bind", "listen", "connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse(name))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    win = create_window()
    qtbot.addWidget(win)
    try:
        qtbot.wait(300)
        assert calls == []
    finally:
        win.close()
        win.queue.close()


def test_project_without_bulk_upload_takes_one_session(qtbot, window, xnat_emulator,
                                                      demo_dir: Path) -> None:
    win = window
    xnat_emulator.set_applet("DEMO", "allow-bulk-upload", "false")
    fill_connection(win, xnat_emulator.url)
    to_project_step(qtbot, win, "DEMO")
    assert "one session at a time" in win.project_page.values["bulk"].text()
    scan(qtbot, win, [demo_dir])
    select = win.select_page
    select.table.item(0, 0).setCheckState(Qt.CheckState.Checked)
    select.table.item(1, 0).setCheckState(Qt.CheckState.Checked)
    assert len(select.checked_sessions()) == 1 and select.checked_sessions()[0] is select._sessions[1]
    select._check_all(True)
    assert len(select.checked_sessions()) == 1
    assert "one session at a time" in select.message.text


def test_queue_run_by_another_process_does_not_stop_the_window(qtbot, app_home: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A command-line upload holds the queue: the window opens, says so, and takes over later."""
    from desktop_client.gui import app as gui_app
    from desktop_client.transfer import TransferQueue

    monkeypatch.setattr(gui_app, "RETRY_QUEUE_MS", 100)
    other = TransferQueue()  # the default queue file, like `xnat-upload upload` would use
    other.start()
    win = gui_app.create_window()
    qtbot.addWidget(win)
    try:
        assert "not run by this window" in win.statusBar().currentMessage()
        other.close()
        wait_until(qtbot, lambda: "now runs the transfers" in win.statusBar().currentMessage(), timeout=10,
                 what="the window taking the queue over")
        assert not win.queue.is_busy_elsewhere()
    finally:
        other.close()
        win.close()
        win.queue.close()


def test_temporary_folder_setting_moves_the_transfer_spool(qtbot, window, app_home: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_client.core import paths
    from desktop_client.transfer.spool import spool_dir

    monkeypatch.setattr(paths, "_temp_root", None)
    page = window.settings_page
    page.temp_folder.setText(str(tmp_path / "fast-disk"))
    page.temp_folder.editingFinished.emit()
    saved = json.loads((app_home / "config" / "settings.json").read_text())
    assert saved["temp_folder"] == str(tmp_path / "fast-disk")
    assert spool_dir() == tmp_path / "fast-disk" / "transfer-spool"
    page.temp_folder.setText("")
    page.temp_folder.editingFinished.emit()
    assert paths.temp_dir() == paths.default_temp_dir()
