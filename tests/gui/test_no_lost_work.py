"""No lost work, no dead ends: each trap a user fell into, driven through the real window."""

from __future__ import annotations

from pathlib import Path

from desktop_client.core.geometry import Rect
from tests.gui.conftest import wait_for
from tests.gui.flow import scan, to_project_step


def _to_review(qtbot, win) -> None:
    win.wizard.next()
    wait_for(qtbot, lambda: not win.confirm_page._loading, what="Confirm")
    wait_for(qtbot, win.confirm_page.is_complete, what=f"Confirm: {win.confirm_page.blocking_message()}")
    win.wizard.next()
    assert win.wizard.index == 4
    wait_for(qtbot, lambda: win.review_page.inner.review is not None, what="the review model")


def test_decisions_survive_going_back_and_unticking_a_session(qtbot, window, demo_dir: Path) -> None:
    win = window
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    win.select_page._check_all(True)
    _to_review(qtbot, win)
    review = win.review_page.inner.review
    second, third = review.sessions[1], review.sessions[2]
    boxed = next(uid for uid in (s.series_instance_uid for s in second.sorted_scans())
                 if review.is_supported(uid))
    dropped = third.sorted_scans()[0].series_instance_uid
    review.set_rectangles(boxed, [Rect(0, 0, 64, 20)], confirmed=True)
    review.exclude([dropped], "scout")

    # Back to Select data (a step label, not Next), untick the first session, and come back.
    win.wizard.jump(2)
    first_uid = review.sessions[0].study_instance_uid
    rows = [i for i, s in enumerate(win.select_page._sessions) if s.study_instance_uid != first_uid]
    win.select_page.set_checked(rows)
    win.wizard.next()
    # A step label cannot skip past Review to an upload built on the old choices.
    win.wizard.jump(5)
    assert win.wizard.index == 3
    wait_for(qtbot, lambda: not win.confirm_page._loading, what="Confirm")
    wait_for(qtbot, win.confirm_page.is_complete, what=f"Confirm: {win.confirm_page.blocking_message()}")
    win.wizard.next()
    wait_for(qtbot, lambda: win.review_page.inner.review is not None, what="the review model")
    again = win.review_page.inner.review
    assert first_uid not in {s.study_instance_uid for s in again.sessions}
    assert again.choices[boxed].rectangles == [Rect(0, 0, 64, 20)] and again.choices[boxed].confirmed
    assert again.choices[dropped].excluded and again.choices[dropped].exclude_reason == "scout"
    win.wizard.next()
    assert win.wizard.index == 5
    assert win.summary_page.counts.redacted >= 1
    from desktop_client.plan.specs import draft_specs

    specs = {s.session.study_instance_uid: s for s in draft_specs(win.draft)}
    assert specs[second.study_instance_uid].choice(boxed).rectangles
    assert specs[third.study_instance_uid].choice(dropped).excluded
