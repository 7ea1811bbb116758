"""Issue 16 §3: the review traps a researcher met, each reproduced and held shut.

1280×720 is the smallest window the app must fit: the sidebar (190 px) and the wizard's margins
leave the review step about 1054×560 px; the app's default 1180×760 window leaves 954 px.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel

from desktop_client.core.geometry import Rect
from desktop_client.gui.review.dialogs import ApplyTemplatesDialog, CreateTemplateDialog, default_template_name
from desktop_client.gui.review.grid import DEFAULT_TILE, tile_layout
from desktop_client.gui.review.scan_panel import ScanEditDialog
from desktop_client.templates import MatchKeys

from tests.helpers import wait_until
from .conftest import STEP_AT_1280x720
from .test_review_step import draw

pytestmark = pytest.mark.gui

STEP_AT_DEFAULT = (954, 600)


def ct_session(sessions):
    return next(s for s in sessions if "CT" in s.modalities)


def us_group(step):
    return next(g for g in step.review.grouping.valid if g.modality == "US")


def visible_texts(widget) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel) if label.isVisible()]


def test_first_box_moves_nothing_and_says_not_saved_once(qtbot, step, sessions) -> None:
    step.set_sessions([ct_session(sessions)])
    panel = step.page.panel
    canvas = panel.viewer.canvas
    wait_until(qtbot, lambda: not panel.viewer.is_loading(), what="frame")
    qtbot.wait(50)
    before = QRect(canvas.mapTo(step, QPoint(0, 0)), canvas.size())
    draw(qtbot, panel.viewer, 2, 3, 40, 20)
    qtbot.wait(50)
    assert not step.is_complete()
    after = QRect(canvas.mapTo(step, QPoint(0, 0)), canvas.size())
    assert after == before, "the viewer moved or shrank after the first box"
    # The long "not saved … Save scan" explanation appears once (the wizard's line); the step
    # and the panel each say it in a few words, never as another copy of that sentence.
    message = step.blocking_message()
    assert "not saved" in message
    assert sum(message in text for text in visible_texts(step)) == 0
    assert sum("not saved" in text for text in visible_texts(step)) <= 1
    # Saving changes texts, not the layout either.
    panel.save_scan()
    qtbot.wait(50)
    assert QRect(canvas.mapTo(step, QPoint(0, 0)), canvas.size()) == before


@pytest.mark.parametrize("size", [STEP_AT_1280x720, STEP_AT_DEFAULT])
def test_viewer_toolbar_labels_are_not_cut(qtbot, step, sessions, size) -> None:
    step.resize(*size)
    step.set_sessions([ct_session(sessions)])
    qtbot.wait(50)
    assert step.minimumSizeHint().width() <= size[0]
    assert step.width() == size[0]
    cut = [b.text() for b in step.findChildren(QAbstractButton)
           if b.isVisible() and b.text() and b.width() < b.sizeHint().width()]
    assert cut == []


def test_create_template_dialog_fits_a_768_px_screen(qtbot, step, sessions, store) -> None:
    step.set_sessions([ct_session(sessions)])
    scan = step.review.scan(step.page.panel.uid)
    dialog = CreateTemplateDialog(store, scan, 3, step)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.wait(20)
    assert dialog.height() <= 768 - 60 and dialog.width() <= 1280
    assert dialog.minimumSizeHint().height() <= 600
    cut = [b.text() for b in dialog.findChildren(QAbstractButton)
           if b.isVisible() and b.text() and b.width() < b.sizeHint().width()]
    assert cut == []


def test_tile_tick_box_is_beside_the_name_not_over_the_image(qtbot, step) -> None:
    font = step.font()
    for size in (120, DEFAULT_TILE, 480):
        thumb, box, name = tile_layout(QRect(0, 0, size + 16, size + 120), size, font)
        assert not box.intersects(thumb)
        assert box.top() > thumb.bottom() and name.left() > box.right()


def test_bulk_tiles_slider_tooltips_keyboard_and_double_click(qtbot, step, sessions, monkeypatch) -> None:
    step.set_sessions(sessions)
    dialog = step.page.dialog_for(us_group(step))
    qtbot.addWidget(dialog)
    dialog.show()
    view = dialog.view
    # Tiles start large enough to read burned-in text, and the slider changes them.
    assert dialog.delegate.thumb >= 200
    small = view.gridSize()
    dialog.tile_slider.setValue(400)
    assert view.gridSize().width() > small.width() and dialog.thumbs.size >= 400
    dialog.tile_slider.setValue(DEFAULT_TILE)
    # Full caption with subject and session in the tooltip.
    first = dialog.model.index(0)
    session = step.review.refs[dialog.model.uid(0)].session
    tip = dialog.model.data(first, Qt.ItemDataRole.ToolTipRole)
    assert session.patient_id in tip and session.study_description in tip and "Subject" in tip
    # Double-click opens the scan and leaves the tick alone.
    opened: list[str] = []
    monkeypatch.setattr(dialog, "open_scan", opened.append)
    centre = view.visualRect(first).center()
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert opened == [dialog.model.uid(0)]
    assert dialog.selected_uids() == []
    dialog.select_uids([dialog.model.uid(0)])
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert dialog.selected_uids() == [dialog.model.uid(0)] and len(opened) == 2
    dialog.select_none()
    qtbot.wait(QApplication.styleHints().mouseDoubleClickInterval() + 20)
    # A single click still ticks.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert dialog.selected_uids() == [dialog.model.uid(0)]
    dialog.select_none()
    # Keyboard: arrows move without ticking, Space ticks, Enter opens.
    view.setFocus()
    view.setCurrentIndex(first)
    dialog.select_none()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.currentIndex().row() == 1 and dialog.selected_uids() == []
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert dialog.selected_uids() == [dialog.model.uid(1)]
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert opened[-1] == dialog.model.uid(1)


def test_inspect_dialog_walks_the_group_with_previous_next(qtbot, step, sessions, store) -> None:
    step.set_sessions(sessions)
    uids = step.review.group_members(us_group(step))
    dialog = ScanEditDialog(step.review, uids[0], store, step, uids=uids)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.previous_button.isEnabled() and dialog.next_button.isEnabled()
    qtbot.mouseClick(dialog.next_button, Qt.MouseButton.LeftButton)
    assert dialog.current() == uids[1]
    assert "2 of" in dialog.position.text()
    dialog.step(-1)
    assert dialog.current() == uids[0]


def test_single_session_offers_a_matching_template_and_applies_to_all_matching(qtbot, step, sessions, store) -> None:
    us_session = next(s for s in sessions if "US" in s.modalities)
    us_scans = [s for s in us_session.sorted_scans() if s.modality == "US"]
    assert len(us_scans) >= 2
    template = store.create("US banner", MatchKeys.of(us_scans[0]), [Rect(0, 0, 100, 30)],
                            description="name and ID top-left")
    step.set_sessions([us_session])
    page = step.page
    page.select_uid(us_scans[0].series_instance_uid)
    panel = page.panel
    # Offered at once, with its description, without asking.
    assert panel.offer_apply.isVisible() and "US banner" in panel.offer.text
    assert "name and ID top-left" in panel.offer.text
    assert panel.offer_apply_all.isVisible()
    changed = panel.apply_offer(all_matching=True)
    assert sorted(changed) == sorted(s.series_instance_uid for s in us_scans)
    for scan in us_scans:
        choice = step.review.choices[scan.series_instance_uid]
        assert choice.rectangles == [Rect(0, 0, 100, 30)] and choice.templates == [template.id] and choice.confirmed
    assert not panel.offer_apply.isVisible()  # nothing more to offer for a scan that has boxes


def test_template_names_are_distinguishable_and_descriptions_shown(qtbot, step, sessions, store) -> None:
    session, = [s for s in sessions if "CT" in s.modalities][:1]
    scan = session.sorted_scans()[0]
    rep = scan.representative
    top_left = default_template_name(store, scan, [Rect(0, 0, 40, 20)])
    bottom = default_template_name(store, scan, [Rect(0, rep.rows - 20, rep.columns, rep.rows)])
    assert top_left != bottom and "top-left" in top_left and "bottom band" in bottom
    t = store.create(top_left, MatchKeys.of(scan), [Rect(0, 0, 40, 20)], description="operator initials")
    dialog = ApplyTemplatesDialog([t], 1, step, matching_scans=3)
    qtbot.addWidget(dialog)
    assert "operator initials" in dialog.list.item(0).text()
    assert dialog.all_matching.text() == "Apply to all 3 matching scans of this session"


def test_what_is_left_is_always_visible_in_one_line(qtbot, step, sessions) -> None:
    step.set_sessions(sessions)
    line = step.status_line
    assert line.isVisible()
    groups = len(step.review.grouping.valid)
    assert f"{groups} groups not reviewed" in line.text
    height = line.height()
    step.resize(700, 500)
    qtbot.wait(20)
    assert line.isVisible() and line.height() == height
