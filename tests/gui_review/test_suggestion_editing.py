"""Suggested boxes are edited like boxes before they are accepted (issue 13, burned-in-text.md §5).

A suggestion is moved, resized by its edges and corners, nudged with the arrow keys and clamped
to the image, in the project's one convention (``l,t,r,b`` image pixels, ``l ≤ x < r``); the edit
ticks it and marks it adjusted. Accepting then saves exactly the edited geometry, recorded as
"detected (adjusted)" in the decisions, the transfer spec and the receipt.
"""

from __future__ import annotations


import pytest
from PySide6.QtCore import QPoint, Qt

from desktop_client.core.geometry import Rect
from desktop_client.gui.viewer.canvas import Suggestion
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.review import DETECTED, DETECTED_ADJUSTED, REDACTED
from desktop_client.plan.specs import scan_choice
from desktop_client.transfer.receipt import burned_in_text

from tests.helpers import wait_until

from .test_viewer import drag

pytestmark = pytest.mark.gui

SEARCH = 240.0  # seconds: OCR on two shared cores, in a worker process


def at(x: float, y: float) -> QPoint:
    """Screen point of image point (x, y) under the fixture's transform (scale 2, offset 10)."""
    return QPoint(int(10 + 2 * x), int(10 + 2 * y))




def test_a_suggestion_moves_resizes_nudges_and_stays_in_the_image(qtbot, viewer) -> None:
    suggestion = Suggestion(Rect(10, 10, 40, 20), "DOE JANE", likely_phi=False, ticked=False, lines=[Rect(12, 12, 38, 18)])
    viewer.set_suggestions([suggestion])
    canvas = viewer.canvas
    # A click ticks it (and selects it for editing); nothing is drawn, the box does not move.
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(25, 15))
    assert suggestion.ticked and not suggestion.adjusted and suggestion.rect == Rect(10, 10, 40, 20)
    assert canvas.selected_suggestion() == 0 and viewer.rectangles() == []
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(25, 15))
    assert not suggestion.ticked
    # Drag inside: moved by whole pixels; the edit ticks it and marks it adjusted.
    drag(qtbot, canvas, at(25, 15), at(30, 35))
    assert suggestion.rect == Rect(15, 30, 45, 40) and suggestion.adjusted and suggestion.ticked
    # Bottom-right corner, then the left edge: resized, edges on pixel boundaries.
    drag(qtbot, canvas, at(45, 40), at(60, 52))
    assert suggestion.rect == Rect(15, 30, 60, 52)
    drag(qtbot, canvas, at(15, 41), at(5, 41))
    assert suggestion.rect == Rect(5, 30, 60, 52)
    # Dragged past the image (the demo CT is 128 × 128): clamped to it, l ≤ x < r kept.
    drag(qtbot, canvas, at(60, 52), QPoint(890, 690))
    assert suggestion.rect == Rect(5, 30, 128, 128)
    drag(qtbot, canvas, at(60, 40), at(-40, 40))   # moved far left: stops at the image's edge
    assert suggestion.rect == Rect(0, 30, 123, 128)
    # Keys, as for boxes: arrows nudge (Shift: 10 px) and never leave the image.
    qtbot.keyClick(canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert suggestion.rect == Rect(5, 30, 128, 128)
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert suggestion.rect == Rect(5, 29, 128, 127)
    accepted, dismissed = [], []
    viewer.suggestionAccepted.connect(accepted.append)
    viewer.suggestionDismissed.connect(dismissed.append)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert accepted == [suggestion] and dismissed == [suggestion]
    # Esc deselects; then the arrows change frames again instead of moving the suggestion.
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.selected_suggestion() is None
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert suggestion.rect == Rect(5, 29, 128, 127)
    # No box was ever drawn by editing the suggestion.
    assert viewer.rectangles() == []


def test_a_box_over_a_suggestion_is_grabbed_first_and_a_drag_outside_draws(qtbot, viewer) -> None:
    suggestion = Suggestion(Rect(10, 10, 60, 30), "PID77123", likely_phi=True, ticked=True)
    viewer.set_suggestions([suggestion])
    viewer.set_rectangles([Rect(20, 15, 30, 25)])
    drag(qtbot, viewer.canvas, at(25, 20), at(25, 60))   # inside the box: the box moves
    assert viewer.rectangles() == [Rect(20, 55, 30, 65)] and suggestion.rect == Rect(10, 10, 60, 30)
    assert not suggestion.adjusted
    drag(qtbot, viewer.canvas, at(80, 80), at(100, 100))  # on nothing: a new box
    assert viewer.rectangles()[-1] == Rect(80, 80, 100, 100)


#: The step fills a whole 1280×720 window here (the shared ``step`` fixture reads this).
STEP_SIZE = (1280, 720)


def test_resize_then_accept_saves_the_edited_box_as_detected_adjusted(qtbot, step, sessions) -> None:
    session = next(s for s in sessions if "US" in s.modalities)
    step.set_sessions([session])
    panel = step.page.panel
    uid = panel.uid
    wait_until(qtbot, lambda: step.findings.result(uid) is not None, timeout=SEARCH, what="the open scan's search")
    wait_until(qtbot, lambda: not panel.viewer.is_loading(), what="frame")
    suggestions = panel.viewer.suggestions()
    name = next(s for s in suggestions if "SMITH" in s.text.upper().replace(" ", ""))
    others = [s for s in suggestions if s is not name and s.ticked]
    canvas = panel.viewer.canvas
    t = canvas.transform
    original = name.rect
    # Select it, then drag its bottom-right corner 12 image pixels right and 6 down.
    centre = QPoint(*(int(v) for v in t.to_screen((original.left + original.right) / 2,
                                                  (original.top + original.bottom) / 2)))
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=centre)   # ticks it off...
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=centre)   # ...and on again
    assert name.ticked and canvas.selected_suggestion() is not None
    corner = QPoint(*(round(v) for v in t.to_screen(original.right, original.bottom)))
    target = QPoint(*(round(v) for v in t.to_screen(original.right + 12, original.bottom + 6)))
    drag(qtbot, canvas, corner, target)
    edited = name.rect
    assert name.adjusted and edited.left == original.left and edited.top == original.top
    assert abs(edited.right - (original.right + 12)) <= 1 and abs(edited.bottom - (original.bottom + 6)) <= 1
    assert edited.right > original.right and edited.bottom > original.bottom
    assert panel.viewer.rectangles() == []  # still a suggestion: nothing is redacted yet
    # Accept ticked: the edited geometry becomes an ordinary box; the rest keep theirs.
    qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    choice = step.review.choices[uid]
    assert edited in choice.rectangles and original not in choice.rectangles
    sources = dict(zip(choice.rectangles, choice.sources()))
    assert sources[edited] == DETECTED_ADJUSTED
    assert all(sources[s.rect] == DETECTED for s in others)
    assert choice.confirmed and choice.text_decision == REDACTED and step.review.gate(uid) == ""
    assert panel.viewer.rectangles() == choice.rectangles and panel.viewer.suggestions() == []
    # What is sent and what the receipt says: the edited box, "detected (adjusted)".
    spec = scan_choice(SessionPlan(session), step.choices(), uid)
    assert spec is not None and edited in [e.rect for e in spec.rectangles]
    receipt = burned_in_text([], spec)
    assert {"rect": str(edited), "source": DETECTED_ADJUSTED} in receipt["boxes"]
    assert receipt["decision"] == REDACTED
    # A detected box moved after it was accepted stays from detection, adjusted; a drawn one is drawn.
    kept = next(s.rect for s in others)
    canvas.select(panel.viewer.rectangles().index(kept))
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    moved = Rect(kept.left + 1, kept.top, kept.right + 1, kept.bottom)
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    choice = step.review.choices[uid]
    sources = dict(zip(choice.rectangles, choice.sources()))
    assert sources[moved] == DETECTED_ADJUSTED and sources[edited] == DETECTED_ADJUSTED
    assert choice.confirmed and len(choice.rectangles) == len(others) + 1


def test_enter_accepts_one_suggestion_and_delete_dismisses_one(qtbot, step, sessions) -> None:
    session = next(s for s in sessions if "US" in s.modalities)
    step.set_sessions([session])
    panel = step.page.panel
    uid = panel.uid
    wait_until(qtbot, lambda: step.findings.result(uid) is not None, timeout=SEARCH, what="the open scan's search")
    suggestions = panel.viewer.suggestions()
    assert len(suggestions) >= 2, "the demo ultrasound has several lines"
    first, second = suggestions[0], suggestions[1]
    canvas = panel.viewer.canvas
    canvas.select_suggestion(0)
    qtbot.keyClick(canvas, Qt.Key.Key_Down)              # nudged one pixel down, then accepted alone
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    choice = step.review.choices[uid]
    assert choice.rectangles == [first.rect] and choice.sources() == [DETECTED_ADJUSTED]
    assert first not in panel.suggestions() and second in panel.suggestions()
    index = panel.viewer.suggestions().index(second)
    canvas.select_suggestion(index)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)           # dismissed alone: no box, its lines noted
    assert second not in panel.suggestions() and choice.rectangles == [first.rect]
    assert all(str(line) in choice.dismissed for line in second.lines)
