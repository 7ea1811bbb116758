"""Drive the upload wizard the way a user does (shared by the flow tests and the screenshots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import wait_until


def fill_connection(win: Any, url: str, user: str = "admin", password: str = "admin",
                    name: str = "Emulator") -> None:
    """Type a new server connection into the Connect page, as a user does (not yet verified)."""
    page = win.connect_page
    page.add_button.click()
    page.name_edit.setText(name)
    page.url_edit.setText(url)
    page.user_edit.setText(user)
    page.password_edit.setText(password)


def to_project_step(qtbot: Any, win: Any, project: str) -> None:
    win.wizard.next()
    wait_until(qtbot, lambda: win.wizard.index == 1, what="the Project step")
    wait_until(qtbot, lambda: win.project_page.list.count() > 0, what="the project list")
    win.project_page._select_id(project)
    wait_until(qtbot, win.project_page.is_complete, what="the project settings")


def scan(qtbot: Any, win: Any, paths: list[Path]) -> None:
    win.wizard.next()
    assert win.wizard.index == 2
    win.select_page.add_paths([str(p) for p in paths])
    wait_until(qtbot, lambda: win.select_page.result is not None and not win.select_page.scanning,
             timeout=120, what="the scan")


def row_of(win: Any, modality: str) -> int:
    sessions = win.select_page._sessions
    return next(i for i, s in enumerate(sessions) if modality in s.modalities)


def to_confirm(qtbot: Any, win: Any, modality: str) -> Any:
    """Tick the scanned session of ``modality`` and open Confirm; returns the loaded page."""
    win.select_page.set_checked([row_of(win, modality)])
    win.wizard.next()
    confirm = win.confirm_page
    wait_until(qtbot, lambda: not confirm._loading, what="Confirm")
    return confirm


def to_summary(qtbot: Any, win: Any) -> None:
    """Confirm → Review → Summary (the review step is passed through as the user would)."""
    wait_until(qtbot, win.confirm_page.is_complete, what=f"Confirm: {win.confirm_page.blocking_message()}")
    win.wizard.next()
    assert win.wizard.index == 4
    send_found_text_as_is(qtbot, win)
    wait_until(qtbot, win.review_page.is_complete, what="the review step")
    win.wizard.next()
    assert win.wizard.index == 5
    # The Summary reads the receipts for earlier uploads of these studies in the background.
    wait_until(qtbot, lambda: not win.summary_page._checking_history, what="the receipts check")


def send_found_text_as_is(qtbot: Any, win: Any) -> None:
    """Review holds back every scan with burned-in text nobody decided on (issue 13). These flows
    test the rest of the upload, so they decide as a user may: send the text as is, with a reason
    (pixels unchanged; the receipt records the decision)."""
    step = win.review_page.inner
    wait_until(qtbot, lambda: step.is_ready() and step.searching() == 0, timeout=300, what="the text search")
    held = [uid for uid, _ in step.review.held_back()]
    if held:
        step.review.accept_as_is(held, "test flow: burned-in text sent on purpose")
        step.page.changed.emit()


def upload_and_wait(qtbot: Any, win: Any, timeout: float = 120) -> list[Any]:
    wait_until(qtbot, win.summary_page.is_complete, what=f"Summary: {win.summary_page.blocking_message()}")
    win.wizard.next()
    wait_until(qtbot, lambda: win.pages.currentIndex() == 1, what="the Transfers page")
    wait_until(qtbot, lambda: win.transfers.model.rows and all(
        r.state.finished for r in win.transfers.model.rows), timeout=timeout, what="the transfers")
    return list(win.transfers.model.rows)
