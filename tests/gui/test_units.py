"""The GUI's rules without driving whole screens: specs from a draft, errors in words, workers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel

from desktop_client.core.geometry import Rect
from desktop_client.gui.connections import local_connection
from desktop_client.plan.review import ScanReviewChoice
from desktop_client.plan.targets import LocalTarget, ProjectInfo, ProjectSettings, explain_error
from desktop_client.plan.specs import EXCLUDED_ON_CONFIRM, summarize
from desktop_client.plan.specs import draft_specs as build_specs
from desktop_client.gui.workers import TaskRunner
from desktop_client.scanning import scan_paths
from desktop_client.plan.draft import SessionPlan, UploadDraft
from tests.helpers import wait_until


def mr_session(demo_dir: Path):
    result = scan_paths([demo_dir], use_cache=False)
    return next(s for s in result.sessions if "MR" in s.modalities)


def test_specs_carry_review_choices_and_unticked_scans(demo_dir: Path, app_home: Path) -> None:
    session = mr_session(demo_dir)
    uids = [s.series_instance_uid for s in session.sorted_scans()]
    plan = SessionPlan(session=session, subject="S1", label="S1_MR_1", included=set(uids[:2]))
    draft = UploadDraft(target=LocalTarget(local_connection(), app_home / "archive"),
                        project=ProjectInfo("LOCAL"), settings=ProjectSettings("LOCAL"), plans=[plan])
    draft.review = {uids[0]: ScanReviewChoice(rectangles=[Rect(0, 0, 40, 12)], confirmed=True),
                    uids[1]: ScanReviewChoice(excluded=True, exclude_reason="identifiable face")}
    counts = summarize(draft)
    assert (counts.redacted, counts.without, counts.excluded) == (1, 0, 2)
    [spec] = build_specs(draft)
    assert spec.destination.kind.value == "local" and spec.scripts == []
    assert spec.choice(uids[0]).rectangles[0].rect == Rect(0, 0, 40, 12)
    assert spec.choice(uids[1]).excluded and spec.choice(uids[1]).exclude_reason == "identifiable face"
    assert spec.choice(uids[2]).exclude_reason == EXCLUDED_ON_CONFIRM
    draft.review[uids[0]] = ScanReviewChoice(excluded=True)
    with pytest.raises(ValueError, match="S1_MR_1"):
        build_specs(draft)  # every scan excluded: refused before it reaches the queue


def test_errors_are_explained_with_the_action_to_take() -> None:
    from desktop_client.xnat import XnatAuthError, XnatConnectionError

    cert = XnatConnectionError("The server's certificate could not be verified.")
    assert "Allow insecure TLS" in explain_error(cert)
    assert "password" in explain_error(XnatAuthError("The server rejected the user name or password."))
    assert explain_error(RuntimeError("boom")).startswith("Unexpected error (RuntimeError)")


def test_task_runner_coalesces_progress_and_reports_errors(qtbot) -> None:
    runner = TaskRunner()
    seen: list[int] = []
    results: list[object] = []

    def work(report, cancel: threading.Event) -> int:
        for i in range(10_000):
            report(i)
        return 42

    runner.start("count", work, on_progress=seen.append, on_done=results.append)
    wait_until(qtbot, lambda: results, what="the result")
    assert results == [42] and seen[-1] == 9999 and len(seen) < 100
    errors: list[BaseException] = []
    runner.call("fail", lambda: 1 / 0, on_error=errors.append)
    wait_until(qtbot, lambda: errors, what="the error")
    assert isinstance(errors[0], ZeroDivisionError)
    cancelled: list[object] = []
    handle = runner.start("slow", lambda r, c: c.wait(5) and "stopped", on_done=cancelled.append)
    handle.cancel()
    wait_until(qtbot, lambda: cancelled, what="the cancelled task")
    assert cancelled == ["stopped"]
    runner.shutdown()


def test_project_search_and_default_destination(qtbot, window, app_home: Path) -> None:
    from desktop_client.gui.connections import Connection
    from desktop_client.gui.main_window import MainWindow

    win = window
    (app_home / "data" / "local-archive" / "NEURO").mkdir(parents=True)
    win.wizard.next()
    wait_until(qtbot, lambda: win.project_page.list.count() >= 2, what="projects")
    win.project_page.search.setText("neu")
    assert [win.project_page.list.item(i).text() for i in range(win.project_page.list.count())] == \
        ["NEURO", "Create project folder “neu”"]
    conn = Connection(name="Second", url="https://xnat.example.org", username="me")
    win.store.upsert(conn)
    win.nav.setCurrentRow(2)
    page = win.settings_page
    page.destination.setCurrentIndex(page.destination.findData(conn.id))
    again = MainWindow(win.settings, win.queue, win.store)
    qtbot.addWidget(again)
    assert again.connect_page.current().id == conn.id


def test_drop_and_cancel_scan(qtbot, window, demo_dir: Path) -> None:
    win = window
    win.wizard.next()
    wait_until(qtbot, win.project_page.is_complete, what="project")
    win.wizard.next()
    page = win.select_page
    assert page.body.currentWidget() is page.empty  # the drop zone invites the first files
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(demo_dir))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    page.dropEvent(event)
    assert page.paths == [str(demo_dir)]
    page.cancel_scan()
    assert not page.scanning and "cancelled" in page.message.text
    time.sleep(0.1)
    page.start_scan()
    wait_until(qtbot, lambda: page.result is not None and not page.scanning, what="the scan")
    assert len(page._sessions) == 5


def test_review_step_placeholder_when_the_review_module_is_missing(qtbot, monkeypatch) -> None:
    import sys

    from desktop_client.gui.wizard.review_page import ReviewPage

    monkeypatch.setitem(sys.modules, "desktop_client.gui.review", None)  # import fails
    page = ReviewPage()
    qtbot.addWidget(page)
    draft = UploadDraft()
    page.enter(draft)
    assert not page.available and not draft.review_available
    assert page.is_complete()  # the user may go on, and the Summary says no review took place
    texts = " ".join(w.text() for w in page.findChildren(QLabel))
    assert "not available" in texts and "Reason: ModuleNotFoundError" in texts
