"""The UI thread's share of a bulk text search is bounded per tick (issue 13: no stall over 100 ms).

Results are taken from the finder's queue on a UI timer, for at most ``DRAIN_BUDGET`` per look;
the rest waits for the next look. Checked without timing: with a budget of zero, each look
takes exactly one result, and every result still arrives.
"""

from __future__ import annotations

from concurrent.futures import Future

from desktop_client.gui.review import findings as findings_module
from desktop_client.gui.review.findings import TextFindings
from desktop_client.textfind import TextResult

from tests.helpers import wait_until


class _DoneFinder:
    """Answers every search at once, as the finder's cache does for a re-opened selection."""

    def submit(self, instance, **_options) -> Future:
        future: Future = Future()
        future.set_result(TextResult(sop_instance_uid=instance.sop_instance_uid))
        return future


def test_each_look_takes_what_the_budget_allows_and_the_rest_later(qtbot, sessions, monkeypatch) -> None:
    scans = [scan for session in sessions for scan in session.sorted_scans()][:8]
    findings = TextFindings(finder=_DoneFinder(), in_flight=len(scans))
    monkeypatch.setattr(findings_module, "DRAIN_BUDGET", 0.0)
    findings._poll.setInterval(60_000)  # this test takes the looks itself
    findings.request(scans)
    inbox = findings._submitter.inbox
    wanted = findings._running  # searches handed to the finder (at most in_flight at a time)
    wait_until(qtbot, lambda: inbox.qsize() == wanted, what="every search answered")
    assert wanted > 1
    findings._take_finished()
    assert inbox.qsize() == wanted - 1  # one result per look with no time to spare
    for _ in range(1000):  # the rest: one per look, the next searches handed out as results come
        if not inbox.empty():
            findings._take_finished()
        elif all(findings.result(s.series_instance_uid) is not None for s in scans):
            break
        else:
            qtbot.wait(5)
    assert all(findings.result(s.series_instance_uid) is not None for s in scans)
    findings.close()


class _HeldFinder:
    """Searches that stay running until the test ends them (a slow OCR, deterministically)."""

    def __init__(self) -> None:
        self.futures: list[Future] = []

    def submit(self, instance, **_options) -> Future:
        future: Future = Future()
        self.futures.append(future)
        return future


def test_a_group_search_shows_progress_and_can_be_stopped(qtbot, sessions, tmp_path) -> None:
    """Stop ends the group's search (its progress goes); the scans it had not searched end
    stopped ("not checked"), which the gate holds back, so none can pass it unsearched."""
    from PySide6.QtCore import Qt

    from desktop_client.gui.review.findings import STOPPED
    from desktop_client.gui.review.group_dialog import GroupReviewDialog
    from desktop_client.plan.review import ReviewModel
    from desktop_client.templates import TemplateStore

    review = ReviewModel(sessions)
    group = max(review.grouping.valid, key=lambda g: len(g.members))
    members = review.group_members(group)
    assert len(members) >= 2
    others = [ref.scan for uid, ref in review.refs.items() if uid not in members][:2]
    finder = _HeldFinder()
    findings = TextFindings(finder=finder, in_flight=1)
    findings.request(others)  # the selection's background search, already under way
    dialog = GroupReviewDialog(review, group, TemplateStore(tmp_path / "templates", shipped=False), None, findings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    assert dialog.progress.isVisible() and dialog.stop_button.isVisible()
    assert findings.pending(members) == len(members)
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    assert not dialog.progress.isVisible() and not dialog.stop_button.isVisible()
    assert "Search stopped" in dialog.message.text and "held back" in dialog.message.text
    assert all(findings.state(u) == STOPPED for u in members)
    assert findings.pending(members) == 0  # the worker is free for the selection's search
    findings.close()
