"""Issue 13 in the review: the real text finder on the demo's burned-in images.

Suggestions appear dashed with the read text in their tooltip, likely PHI ticked; accepting turns
them into ordinary boxes (provenance "detected"); Next stays blocked until every scan with found
text has a decision; the bulk group search streams onto the tiles without stalling the UI.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtWidgets import QApplication, QDialog, QToolTip

from desktop_client.core.geometry import Rect
from desktop_client.gui.review import ReviewStep
from desktop_client.gui.viewer.canvas import SUGGESTED_COLOUR
from desktop_client.plan.review import ACCEPTED, DETECTED, REDACTED, TEMPLATE
from desktop_client.templates import MatchKeys

from tests.helpers import wait_until
from tests.stall_meter import STALL_LIMIT, StallMeter

pytestmark = pytest.mark.gui

SEARCH = 240.0  # seconds: OCR on two shared cores, in a worker process


def us_session(sessions):
    return next(s for s in sessions if "US" in s.modalities)


def searched(step, uids) -> bool:
    return all(step.findings.result(u) is not None for u in uids)


def dash_profile(canvas, rect: Rect) -> float:
    """Share of the suggestion's top edge painted in the suggestion colour (1.0 = solid line)."""
    image = canvas.grab().toImage()
    t = canvas.transform
    x0, y0 = t.to_screen(rect.left, rect.top)
    x1, _ = t.to_screen(rect.right, rect.bottom)
    y = int(round(y0))
    hits = total = 0
    for x in range(int(x0) + 3, int(x1) - 3):
        colours = [QColor(image.pixel(x, yy)) for yy in (y - 1, y, y + 1)]
        total += 1
        hits += any(abs(c.red() - SUGGESTED_COLOUR.red()) < 40 and abs(c.green() - SUGGESTED_COLOUR.green()) < 40
                    and abs(c.blue() - SUGGESTED_COLOUR.blue()) < 40 for c in colours)
    return hits / max(1, total)


def test_suggestions_dashed_accept_into_boxes_and_next_waits_for_decisions(qtbot, step, sessions) -> None:
    session = us_session(sessions)
    step.set_sessions([session])
    page, panel = step.page, step.page.panel
    uid = panel.uid
    image_uids = [u for u in step.review.refs if step.review.is_supported(u)]
    # Opening the scan searched it by itself, in the background.
    assert step.findings.state(uid) in ("queued", "running", "done")
    assert not step.is_complete()
    wait_until(qtbot, lambda: searched(step, [uid]), timeout=SEARCH, what="the text search of the open scan")
    wait_until(qtbot, lambda: not panel.viewer.is_loading(), what="frame")
    suggestions = panel.viewer.suggestions()
    assert suggestions, "the demo ultrasound has its patient's name burned in"
    assert all(s.ticked == s.likely_phi for s in suggestions)
    name = next(s for s in suggestions if "SMITH" in s.text.upper().replace(" ", ""))
    assert name.likely_phi and name.ticked
    # Dashed, not solid.
    share = dash_profile(panel.viewer.canvas, name.rect)
    assert 0.2 < share < 0.85, share
    # The read text is in the tooltip.
    canvas = panel.viewer.canvas
    x0, y0 = canvas.transform.to_screen(name.rect.left, name.rect.top)
    x1, y1 = canvas.transform.to_screen(name.rect.right, name.rect.bottom)
    centre = QPoint(int((x0 + x1) / 2), int((y0 + y1) / 2))
    canvas.event(QHelpEvent(QEvent.Type.ToolTip, centre, canvas.mapToGlobal(centre)))
    assert name.text in QToolTip.text() and "likely patient information" in QToolTip.text()
    # A click (no drag) unticks and ticks again; nothing is drawn.
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=centre)
    assert not name.ticked and panel.viewer.rectangles() == []
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=centre)
    assert name.ticked
    # Next is blocked and says why; the what-is-left line counts it.
    wait_until(qtbot, lambda: step.searching() == 0, timeout=SEARCH, what="the whole session's search")
    assert not step.is_complete()
    assert "burned-in text" in step.blocking_message()
    assert "held back until you decide" in step.status_line.text
    # Accept: the ticked suggestions become ordinary boxes, from "detected", and the scan may go.
    qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    choice = step.review.choices[uid]
    ticked = [s.rect for s in suggestions if s.ticked]
    assert choice.rectangles == ticked and choice.sources() == [DETECTED] * len(ticked)
    assert choice.text_decision == REDACTED and step.review.gate(uid) == ""
    assert panel.viewer.suggestions() == [] and panel.viewer.rectangles() == ticked
    assert panel.cut_warnings() == [] and "Check the boxes" not in panel.offer.text
    assert step.choices()[uid].box_sources == [DETECTED] * len(ticked)
    # A box that cuts a read line is a warning in Review (never a block).
    first = ticked[0]
    panel.viewer.set_rectangles([Rect(first.left, first.top, (first.left + first.right) // 2, first.bottom)]
                                + ticked[1:])
    panel._on_rects()
    panel.save_scan()
    assert panel.cut_warnings() and "no box covers it" in panel.offer.text  # held back first
    panel.dismiss_uncovered()  # "not identifying": the scan may go, the cut stays a warning
    assert step.review.gate(uid) == "" and "a box edge cuts detected text" in panel.offer.text
    step.review.choices[uid].dismissed.clear()
    panel.viewer.set_rectangles(ticked)
    panel._on_rects()
    panel.save_scan()
    assert panel.cut_warnings() == []
    # The other ultrasound still holds the upload back; "Show" goes to it and it is sent as is.
    others = [u for u in image_uids if step.review.gate(u)]
    assert others and not step.is_complete()
    step.show_button.click()
    assert panel.uid == others[0]
    assert panel.suggestions() and panel.accept_all_button.isVisible() and panel.as_is_button.isVisible()
    for other in others:
        page.select_uid(other)
        panel.accept_as_is("teaching file, consent on record")
    assert step.review.choices[others[0]].text_decision == ACCEPTED
    assert step.is_complete(), step.blocking_message()
    assert "Nothing left to review" in step.status_line.text


def test_dismissed_suggestions_leave_no_boxes_and_release_the_scan(qtbot, step, sessions) -> None:
    step.set_sessions([us_session(sessions)])
    panel = step.page.panel
    uid = panel.uid
    wait_until(qtbot, lambda: searched(step, [uid]), timeout=SEARCH, what="the text search")
    assert panel.suggestions() and step.review.gate(uid)
    qtbot.mouseClick(panel.dismiss_button, Qt.MouseButton.LeftButton)
    assert panel.viewer.suggestions() == [] and step.review.choices[uid].rectangles == []
    assert step.review.choices[uid].dismissed
    # The header still says Burned In Annotation = YES: the fix offered is "Checked, no text".
    assert "Burned In Annotation" in step.review.gate(uid)
    assert panel.no_text_button.isVisible() and not panel.not_phi_button.isVisible()
    qtbot.mouseClick(panel.no_text_button, Qt.MouseButton.LeftButton)
    assert step.review.gate(uid) == "" and step.review.choices[uid].text_decision == "checked, no text"
    # Find text again brings them back (a dismissal is not forgotten by the gate, only the view).
    panel.find_text()
    wait_until(qtbot, lambda: searched(step, [uid]), timeout=SEARCH, what="the repeated search")
    assert panel.suggestions() == []  # dismissed lines are not suggested again


def _accept_next_modal(qtbot) -> None:
    def accept() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog):
            dialog.accept()
        else:
            QTimer.singleShot(50, accept)
    QTimer.singleShot(50, accept)


def test_bulk_find_text_in_group_streams_accepts_and_saves_a_template(qtbot, step, sessions, store) -> None:
    step.set_sessions(sessions)
    page = step.page
    group = next(g for g in step.review.grouping.valid if g.modality == "CR")
    dialog = page.dialog_for(group)
    qtbot.addWidget(dialog)
    dialog.show()
    uids = step.review.group_members(group)
    with StallMeter() as meter:
        qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
        assert dialog.progress.isVisible() or searched(step, uids)
        assert {dialog.delegate.note(u)[0] for u in uids} <= {"Text search queued", "Searching for text…"} \
            or searched(step, uids)
        wait_until(qtbot, lambda: searched(step, uids), timeout=SEARCH, what="the group search")
        qtbot.wait(50)
    assert meter.worst < STALL_LIMIT, meter.report()
    assert not dialog.progress.isVisible()
    notes = [dialog.delegate.note(u) for u in uids]
    assert all(n is not None and n[0].endswith("of likely PHI found") for n in notes), notes
    assert "2 with likely PHI not covered" in dialog.message.text
    held_card = next(c for c in page.cards() if c.group is group)
    wait_until(qtbot, lambda: step.searching() == 0, timeout=SEARCH, what="the results counted")
    held_card.refresh()
    assert "held back until you decide" in held_card.state.text
    # Accept suggestions for the selected scans: confirmed boxes from "detected".
    dialog.select_all()
    assert dialog.accept_suggestions(dialog.selected_uids()) == len(uids)
    for u in uids:
        choice = step.review.choices[u]
        assert choice.rectangles and set(choice.sources()) == {DETECTED} and choice.confirmed
        assert step.review.gate(u) == ""
        assert dialog.delegate.note(u)[0] == "Likely PHI covered or dismissed"
    # Save as template from the accepted boxes.
    dialog.select_uids(uids[:1])
    _accept_next_modal(qtbot)
    template = dialog.save_template()
    assert template is not None and template.rectangles == step.review.choices[uids[0]].rectangles
    assert "CR 256×200" in template.name and template.description
    assert store.matching(step.review.scan(uids[1]))


def test_a_matching_template_is_offered_when_a_group_opens(qtbot, step, sessions, store) -> None:
    step.set_sessions(sessions)
    group = next(g for g in step.review.grouping.valid if g.modality == "MR")
    template = store.create("MR banner", MatchKeys.of(group.members[0].scan), [Rect(0, 0, 128, 44)],
                            description="name, ID and birth date")
    page = step.page
    page.refresh()
    card = next(c for c in page.cards() if c.group is group)
    assert "1 matching" in card.details.text()
    # Offered on the card at once, and again when the group opens.
    assert card.offer_button.isVisible() and "MR banner" in card.offer_button.text()
    dialog = page.dialog_for(group)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.offer_button.isVisible() and "MR banner" in dialog.offer_button.text()
    assert "name, ID and birth date" in dialog.message.text
    assert dialog.apply_offer() == len(group.members)
    for uid in step.review.group_members(group):
        choice = step.review.choices[uid]
        assert choice.templates == [template.id] and choice.sources() == [TEMPLATE]
    assert not dialog.offer_button.isVisible()
    page.refresh()
    assert not card.offer_button.isVisible()  # the group has its boxes now


def test_the_card_applies_the_offered_template_to_the_whole_group(qtbot, step, sessions, store) -> None:
    step.set_sessions(sessions)
    group = next(g for g in step.review.grouping.valid if g.modality == "CT")
    template = store.create("CT banner", MatchKeys.of(group.members[0].scan), [Rect(0, 0, 128, 44)])
    page = step.page
    page.refresh()
    card = next(c for c in page.cards() if c.group is group)
    qtbot.mouseClick(card.offer_button, Qt.MouseButton.LeftButton)
    assert all(step.review.choices[u].templates == [template.id] for u in step.review.group_members(group))
    assert not card.offer_button.isVisible() and card.state.text


def test_a_review_destroyed_mid_search_stops_its_thread_and_drops_late_results(qtbot, store, sessions) -> None:
    """Searches still out when the review goes away: the submitting thread is joined with it, and
    results that come back later land in a plain queue, never in a destroyed Qt object."""
    widget = ReviewStep(store=store)
    widget.set_sessions([us_session(sessions)])
    submitter = widget.findings._submitter
    wait_until(qtbot, lambda: submitter.thread is not None, what="a search handed to the finder")
    widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert submitter.stopped and not submitter.thread.is_alive()
    # The shared finder finishes what it was given; the late result waits in the plain queue,
    # and the event loop goes on without touching the destroyed review.
    wait_until(qtbot, lambda: not submitter.inbox.empty(), timeout=SEARCH, what="a late result")
    qtbot.wait(200)
