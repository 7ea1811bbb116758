"""Stop of the open scan's text search (issue 13): progress, a Stop that really stops the worker,
and a stopped scan held back as *not checked* until it is searched again or decided on.

The finder is the real one (a worker process running the OCR), over a synthetic ultrasound series
of multi-frame cines long enough that a search takes many seconds; the finder only records the
futures it hands out, so the test can see what the worker really did.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop_client.gui.review import findings as findings_module
from desktop_client.gui.review.findings import RUNNING, STOPPED
from desktop_client.plan.review import NO_TEXT
from desktop_client.scanning import scan_paths
from desktop_client.textfind import TextFinder
from desktop_client.textfind.find import STOPPED as SEARCH_STOPPED

from tests.helpers import wait_until
from tests.textfind.helpers import long_cine_series

pytestmark = pytest.mark.gui

SEARCH = 240.0  # seconds: bounds for a loaded 2-core machine, never a timing assertion
INSTANCES, FRAMES = 8, 12


class RecordingFinder(TextFinder):
    """The real finder; remembers every search it hands to its worker."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.futures: list = []

    def submit(self, *args, **kwargs):
        future = super().submit(*args, **kwargs)
        self.futures.append(future)
        return future


@pytest.fixture
def finder(monkeypatch):
    recording = RecordingFinder()
    monkeypatch.setattr(findings_module, "_FINDER", recording)  # the review's shared finder
    yield recording
    recording.close()


#: The step fills a whole 1280×720 window here (the shared ``step`` fixture reads this).
STEP_SIZE = (1280, 720)


@pytest.fixture
def step(finder, step):
    """The shared review step (conftest), created once the recording finder is in place."""
    return step


def stopped_or_cancelled(future) -> bool:
    return future.cancelled() or future.result().error == SEARCH_STOPPED


def test_stop_really_stops_the_worker_and_the_scan_stays_held(qtbot, step, finder, tmp_path: Path) -> None:
    sessions = scan_paths([long_cine_series(tmp_path / "cines", INSTANCES, FRAMES)]).sessions
    step.set_sessions(sessions)
    panel = step.page.panel
    uid = panel.uid
    picks = len(step.findings._jobs[uid].picks)
    assert picks == INSTANCES
    # Opening the scan started its search: progress and Stop are shown, Next waits.
    wait_until(qtbot, lambda: step.findings.state(uid) == RUNNING, what="the search to start")
    wait_until(qtbot, lambda: step.findings.scan_progress(uid)[0] >= 1, timeout=SEARCH, what="a first image")
    assert panel.stop_button.isVisible() and panel.search_progress.isVisible()
    assert panel.search_progress.maximum() == INSTANCES
    wait_until(qtbot, lambda: "of 8 images" in panel.offer.text, what="the progress line")
    assert not step.is_complete()
    updates: list[str] = []
    step.findings.updated.connect(updates.append)

    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)

    # The UI is told at once; nothing of the search is kept.
    assert step.findings.state(uid) == STOPPED and step.findings.result(uid) is None
    assert not panel.stop_button.isVisible() and panel.find_button.isEnabled()
    # The worker really stops: every search handed out ends soon, cancelled or stopped mid-way,
    # instead of running through the rest of the cines.
    wait_until(qtbot, lambda: all(f.done() for f in finder.futures), timeout=SEARCH, what="the worker to stop")
    handed = len(finder.futures)
    finished = [f for f in finder.futures if not stopped_or_cancelled(f)]
    assert len(finished) < picks, "the worker searched every image although Stop was pressed"
    assert any(stopped_or_cancelled(f) for f in finder.futures)
    # No further results arrive: nothing more is handed out, nothing is credited to the scan.
    qtbot.wait(1500)
    assert len(finder.futures) == handed and step.findings.result(uid) is None
    assert updates == [uid]  # the one update that said "stopped"
    # Not checked: the gate holds the scan, and says why; Next stays blocked.
    wait_until(qtbot, lambda: not step.searching(), what="the step to count the stop")
    assert "text search was stopped" in step.review.gate(uid)
    assert not step.is_complete() and "not checked for burned-in text" in step.blocking_message()
    assert "Not sent until you decide" in panel.offer.text and "stopped" in panel.offer.text
    assert panel.no_text_button.isVisible() and panel.as_is_button.isVisible()
    # A person's decision releases it (as for any held scan).
    qtbot.mouseClick(panel.no_text_button, Qt.MouseButton.LeftButton)
    assert step.review.choices[uid].text_decision == NO_TEXT and step.review.gate(uid) == ""


def test_find_text_after_stop_searches_again_and_old_leftovers_are_not_counted(qtbot, step, finder,
                                                                               tmp_path: Path) -> None:
    sessions = scan_paths([long_cine_series(tmp_path / "cines", INSTANCES, FRAMES)]).sessions
    step.set_sessions(sessions)
    panel = step.page.panel
    uid = panel.uid
    wait_until(qtbot, lambda: step.findings.state(uid) == RUNNING, what="the search to start")
    panel.stop_search()
    assert step.findings.state(uid) == STOPPED
    stopped = list(finder.futures)
    # Searching again at once: the stopped search's leftovers (still coming back from the
    # worker) are dropped; the new search alone decides.
    qtbot.mouseClick(panel.find_button, Qt.MouseButton.LeftButton)
    assert step.findings.state(uid) in ("queued", "running") and panel.stop_button.isVisible()
    wait_until(qtbot, lambda: step.findings.result(uid) is not None, timeout=SEARCH, what="the new search")
    assert all(f.done() for f in stopped)
    result = step.findings.result(uid)
    assert len(result.results) == INSTANCES
    assert not result.errors, result.errors  # no "stopped" or "cancelled" result was taken in
    assert uid not in step.review.search_stopped
    assert step.review.gate(uid).startswith("likely patient data")  # the name, found and not covered


def test_the_group_stop_holds_the_scans_it_did_not_search(qtbot, step, finder, sessions) -> None:
    step.set_sessions(sessions)  # several sessions: the bulk review
    group = next(g for g in step.review.grouping.valid if g.modality == "CR")
    dialog = step.page.dialog_for(group)
    qtbot.addWidget(dialog)
    dialog.show()
    uids = step.review.group_members(group)
    dialog.find_text()
    dialog.stop_finding()  # before any result was taken in: none of the group is searched
    assert all(step.findings.state(u) == STOPPED for u in uids)
    assert "held back until searched again" in dialog.message.text
    wait_until(qtbot, lambda: all(step.review.gate(u) for u in uids), what="the step to count the stop")
    assert all(u in step.review.search_stopped for u in uids)  # (the demo's CR also say Burned In Annotation = YES)
    assert {dialog.delegate.note(u)[0] for u in uids} == {"Text search stopped: not checked"}
    wait_until(qtbot, lambda: all(f.done() for f in finder.futures), timeout=SEARCH, what="the worker to stop")
    assert all(step.findings.result(u) is None for u in uids)
    # Searching the group again settles it by what is found.
    dialog.find_text()
    wait_until(qtbot, lambda: all(step.findings.result(u) is not None for u in uids), timeout=SEARCH,
               what="the group search")
    wait_until(qtbot, lambda: not any(u in step.review.search_stopped for u in uids), what="the results counted")


def test_the_selection_search_can_be_stopped_and_what_it_left_is_held(qtbot, step, finder, sessions) -> None:
    """The review's own search of the whole selection has a Stop too: every scan it had not
    searched ends "not checked" and is held back, and the worker is free again."""
    step.set_sessions(sessions)  # several sessions: the bulk review, searched in the background
    wait_until(qtbot, lambda: step.stop_search_button.isVisible(), what="the selection's search to start")
    qtbot.mouseClick(step.stop_search_button, Qt.MouseButton.LeftButton)
    assert not step.stop_search_button.isVisible()
    supported = [uid for uid in step.review.refs if step.review.is_supported(uid)]
    unsearched = [uid for uid in supported if step.findings.state(uid) == STOPPED]
    assert unsearched  # the search had only begun
    assert step.findings.pending(step.review.refs) == 0
    wait_until(qtbot, lambda: all(u in step.review.search_stopped for u in unsearched), what="the stop counted")
    assert all(step.review.gate(u) for u in unsearched)
    assert "held back until you decide" in step.status_line.text
    wait_until(qtbot, lambda: all(f.done() for f in finder.futures), timeout=SEARCH, what="the worker to stop")
    assert all(step.findings.result(u) is None for u in unsearched)
