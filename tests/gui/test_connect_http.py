"""Connect page: what people type as a server address, and plain http (issue 14 §4, 17 §2)."""

from __future__ import annotations

from tests.gui.flow import fill_connection
from tests.helpers import wait_until


def test_plain_http_to_another_machine_needs_the_box_and_says_why(qtbot, window) -> None:
    page = window.connect_page
    fill_connection(window, "http://xnat.example.org")
    page.verify()
    wait_until(qtbot, lambda: not page._busy, what="the login attempt")
    shown = page.message.label.text()
    assert "unencrypted" in shown and "Allow unencrypted connection" in shown
    page.http_check.setChecked(True)
    shown = page.message.label.text()
    assert "readable by anyone" in shown
    assert page._form_connection().allow_http


def test_a_pasted_login_page_address_is_reduced_and_logs_in(qtbot, window, xnat_emulator) -> None:
    page = window.connect_page
    fill_connection(window, xnat_emulator.url + "/app/template/Login.vm")
    page.verify()
    wait_until(qtbot, lambda: not page._busy, what="the login")
    assert page.current().url == xnat_emulator.url
    assert page.url_edit.text() == xnat_emulator.url
    assert page._verified
