"""ReviewStep: the single-session flow (draw, Save scan) and the bulk flow (groups, templates)."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt

from desktop_client.core.geometry import Rect
from desktop_client.gui.review import ReviewStep
from desktop_client.gui.review.bulk import BulkReviewPage
from desktop_client.gui.review.dialogs import CreateTemplateDialog
from desktop_client.gui.review.single import SessionReviewPage
from desktop_client.gui.viewer.mapping import ViewTransform
from desktop_client.grouping import ValidGroup
from desktop_client.templates import MatchKeys, TemplateStore

from tests.helpers import wait_until

pytestmark = pytest.mark.gui

#: The ``step`` fixture's size (tests/gui_review/conftest.py): room for the single and bulk pages.
STEP_SIZE = (1200, 800)


def draw(qtbot, viewer, x0: float, y0: float, x1: float, y1: float) -> None:
    wait_until(qtbot, lambda: not viewer.is_loading(), what="frame")
    viewer.canvas.set_transform(ViewTransform(2.0, 0.0, 0.0))
    canvas = viewer.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(2 * x0), int(2 * y0)))
    qtbot.mouseMove(canvas, QPoint(int(x0 + x1), int(y0 + y1)))
    qtbot.mouseMove(canvas, QPoint(int(2 * x1), int(2 * y1)))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(2 * x1), int(2 * y1)))


def test_single_session_unsaved_boxes_block_until_save_scan(qtbot, step, sessions) -> None:
    ct_session = next(s for s in sessions if "CT" in s.modalities)
    signals = []
    step.completeChanged.connect(lambda: signals.append(step.is_complete()))
    step.set_sessions([ct_session])
    page = step.page
    assert isinstance(page, SessionReviewPage)
    assert page.strip.count() == len(ct_session.scans)
    panel = page.panel
    ct_uid = next(uid for uid, ref in step.review.refs.items() if ref.scan.modality == "CT")
    page.select_uid(ct_uid)
    draw(qtbot, panel.viewer, 2.2, 3.7, 40.1, 20.0)
    assert not step.is_complete()
    assert "Save scan" in step.blocking_message()
    assert "1 scan with unsaved boxes" in step.status_line.text
    assert panel.save_button.isEnabled()
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    # Saved: the boxes no longer hold the upload (burned-in text may still, see test_find_text).
    assert "not saved" not in step.blocking_message() and step.review.unconfirmed() == []
    assert "unsaved" not in step.status_line.text
    choice = step.choices()[ct_uid]
    assert choice.rectangles == [Rect(2, 3, 40, 20)] and choice.confirmed and not choice.excluded
    assert signals and signals[-1] is False
    # Reset scan discards the boxes; Exclude records the reason.
    qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert step.choices()[ct_uid].rectangles == []
    panel.exclude_scan("scout image")
    assert step.choices()[ct_uid].excluded and step.choices()[ct_uid].exclude_reason == "scout image"
    assert panel.exclude_button.text() == "Include scan"
    # The CT and the session's RT structure set (free text: excluded by default, issue 14).
    assert "2 excluded" in step.status_line.text


def test_unsupported_scan_in_single_session_is_view_only(qtbot, step, sessions) -> None:
    session = next(s for s in sessions if "RTSTRUCT" in s.modalities)
    step.set_sessions([session])
    uid = next(uid for uid, ref in step.review.refs.items() if ref.scan.modality == "RTDOSE")
    step.page.select_uid(uid)
    panel = step.page.panel
    assert not panel.viewer.canvas._editable
    assert not panel.apply_button.isEnabled() and panel.exclude_button.isEnabled()
    assert "cannot be redacted" in panel.state.text
    # The RT structure set names its ROIs: free text, left out until a person decides.
    uid = next(uid for uid, ref in step.review.refs.items() if ref.scan.modality == "RTSTRUCT")
    step.page.select_uid(uid)
    assert "contains free text" in panel.state.text
    assert panel.exclude_button.text() == "Show text / include…"


def _valid_group(page: BulkReviewPage, modality: str) -> ValidGroup:
    return next(g for g in page.review.grouping.valid if g.modality == modality)


def test_bulk_groups_create_apply_exclude_reset(qtbot, step, store, sessions, tmp_path) -> None:
    step.set_sessions(sessions)
    page = step.page
    assert isinstance(page, BulkReviewPage)
    valid, unsupported = page.review.grouping.valid, page.review.grouping.unsupported
    assert len(page.valid_grid.cards) == len(valid) and len(page.unsupported_grid.cards) == len(unsupported)
    assert page.valid_button.text() == f"Valid scans ({sum(len(g.members) for g in valid)})"
    page.unsupported_button.click()
    assert page.stack.currentIndex() == 1
    assert step.unreviewed_groups() == len(valid)
    assert f"{len(valid)} groups not reviewed" in step.status_line.text

    group = _valid_group(page, "CT")
    dialog = page.dialog_for(group)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.model.rowCount() == len(group.members) and not dialog.apply_button.isEnabled()
    dialog.select_all()
    uids = dialog.selected_uids()
    assert len(uids) == len(group.members) and dialog.apply_button.isEnabled()

    # Create a template by drawing on the first selected scan (what "Create template…" opens).
    create = CreateTemplateDialog(store, step.review.scan(uids[0]), len(uids), dialog)
    qtbot.addWidget(create)
    create.show()
    assert not create.save_button.isEnabled()
    draw(qtbot, create.viewer, 0.5, 0.5, 60, 30)  # (QTest treats QPoint(0, 0) as "the centre")
    create.form.name.setText("CT corner")
    create.accept()
    assert create.template is not None and create.template.rectangles == [Rect(0, 0, 60, 30)]
    assert dialog.apply([create.template], uids) == len(uids)
    assert all(step.review.choices[u].rectangles == [Rect(0, 0, 60, 30)] for u in uids)
    assert dialog.matching_templates(uids) == [store.get_by_name("CT corner")]

    # Exclude one with a reason, hide excluded, then reset it.
    dialog.select_uids(uids[:1])
    dialog.exclude(uids[:1], "duplicate series")
    assert step.choices()[uids[0]].exclude_reason == "duplicate series"
    dialog.hide_excluded.setChecked(True)
    assert dialog.model.rowCount() == len(uids) - 1
    dialog.hide_excluded.setChecked(False)
    dialog.reset(uids[:1])
    assert step.choices()[uids[0]].rectangles == [] and not step.choices()[uids[0]].excluded
    dialog.accept()
    assert step.unreviewed_groups() == len(valid) - 1
    card = next(c for c in page.valid_grid.cards if c.group is group)
    assert "Templates: 1 matching" in card.details.text()
    # The 60×30 corner box leaves part of the CT's burned-in text visible: once the background
    # search has read it, the card and the step say those scans still need a decision.
    wait_until(qtbot, lambda: step.searching() == 0, timeout=300, what="the text search")
    card.refresh()
    held = step.review.held_back(uids)
    assert held and card.state.text == f"{len(held)} scan{'s' if len(held) != 1 else ''} held back until you decide"
    assert not step.is_complete() and "burned-in text" in step.blocking_message()
    s = step.summary()
    # Only the scans with free text (SR, PDF, RT structure set) are excluded, by default.
    free_text = sum(step.review.is_free_text(u) for u in step.review.choices)
    assert s.redacted == len(uids) - 1 and s.excluded == free_text == 3


def test_templates_survive_restart(qtbot, tmp_path, sessions) -> None:
    root = tmp_path / "templates"
    first = TemplateStore(root, shipped=False)
    step = ReviewStep(store=first)
    qtbot.addWidget(step)
    step.set_sessions(sessions)
    group = _valid_group(step.page, "MR")
    scan = group.members[0].scan
    create = CreateTemplateDialog(first, scan, 1)
    qtbot.addWidget(create)
    create.show()
    draw(qtbot, create.viewer, 1, 1, 30, 12)
    create.form.name.setText("MR banner")
    create.accept()
    again = TemplateStore(root, shipped=False)            # a new app start
    template = again.get_by_name("mr banner")
    assert template.rectangles == [Rect(1, 1, 30, 12)]
    assert again.matching(scan) == [template]
    other = ReviewStep(store=again)
    qtbot.addWidget(other)
    other.set_sessions(sessions)
    card = next(c for c in other.page.valid_grid.cards if c.group.modality == "MR")
    assert "Templates: 1 matching" in card.details.text()


def test_create_template_can_narrow_to_the_scanner(qtbot, store, sessions) -> None:
    from desktop_client.plan.review import ReviewModel

    review = ReviewModel(sessions)
    group = next(g for g in review.grouping.valid if g.modality == "US")
    scan = group.members[0].scan
    rep = scan.representative
    assert rep.manufacturer and rep.station_name
    create = CreateTemplateDialog(store, scan, 1)
    qtbot.addWidget(create)
    create.show()
    boxes = create.form.constraints
    assert set(boxes) >= {"manufacturer", "station_name"} and not any(b.isChecked() for b in boxes.values())
    boxes["manufacturer"].setChecked(True)
    draw(qtbot, create.viewer, 1, 1, 40, 20)
    create.accept()
    template = create.template
    assert template is not None and template.match.manufacturer == rep.manufacturer
    assert template.match.station_name is None and template.matches(scan)


def _answer_modal(handler) -> None:
    """Run ``handler(dialog)`` on the next modal dialog (what the user would do in it)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, poll)
        else:
            handler(dialog)

    QTimer.singleShot(20, poll)


def test_buttons_open_modal_dialogs_and_apply_their_answer(qtbot, step, store, sessions) -> None:
    step.set_sessions(sessions)
    page = step.page
    group = _valid_group(page, "MR")
    template = store.create("MR top", MatchKeys.of(group.members[0].scan), [Rect(0, 0, 30, 10)])
    card = next(c for c in page.valid_grid.cards if c.group is group)
    seen = {}

    def review(dialog) -> None:
        seen["grid"] = dialog
        dialog.select_all()
        uids = dialog.selected_uids()

        def choose(apply_dialog) -> None:
            apply_dialog.set_checked(["MR top"])
            apply_dialog.accept()

        _answer_modal(choose)
        dialog.apply_button.click()                     # Apply template(s)… → choose → applied
        assert all(step.review.choices[u].rectangles == template.rectangles for u in uids)

        def exclude(ex) -> None:
            ex.reason.setText("motion")
            ex.accept()

        dialog.select_uids(uids[:1])
        _answer_modal(exclude)
        dialog.exclude_button.click()                   # Exclude… → reason → excluded
        assert step.review.choices[uids[0]].exclude_reason == "motion"
        dialog.accept()

    _answer_modal(review)
    card.review_button.click()                          # Review… opens the group's grid
    assert "grid" in seen
    assert card.state.text.startswith("Reviewed:") and "1 excluded" in card.state.text
    qtbot.wait(50)  # deleteLater has run: the closed grid and its thumbnails are freed
    assert not shiboken6.isValid(seen["grid"])
