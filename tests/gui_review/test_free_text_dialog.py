"""The decision about a scan with free text (issue 14 §2): read, shown, then chosen."""

from __future__ import annotations

import pydicom
import pytest

from desktop_client.gui.review.free_text import FreeTextDialog
from desktop_client.plan.review import ReviewModel

from tests.helpers import wait_until

from .conftest import find_scan


def _dialog(qtbot, review, uid):  # type: ignore[no-untyped-def]
    dialog = FreeTextDialog(review, [uid])
    qtbot.addWidget(dialog)
    dialog.show()
    wait_until(qtbot, lambda: dialog.inspections, what="the inspection")
    return dialog


def test_report_text_is_shown_with_the_patient_values_and_sent_only_by_a_decision(qtbot, sessions) -> None:
    review = ReviewModel(sessions)
    _, sr = find_scan(sessions, "SR")
    uid = sr.series_instance_uid
    ds = pydicom.dcmread(sr.instances[0].location.path)
    dialog = _dialog(qtbot, review, uid)
    html = dialog.text.toHtml()
    assert ds.PatientID in html and "#c0392b" in html  # the matched value, highlighted
    assert dialog.without_button.isVisible() and dialog.without_button.isEnabled()
    assert not dialog.with_button.isEnabled()  # only after ticking that the text was read
    dialog.read_confirm.setChecked(True)
    assert dialog.with_button.isEnabled()
    dialog.without_button.click()
    assert dialog.mode == "text-removed"
    review.include_free_text([uid], dialog.mode, dialog.inspections)
    choice = review.choices[uid]
    assert choice.remove_text and not choice.excluded and ds.PatientID not in choice.decision


def test_a_pdf_can_only_be_left_out_or_sent_with_its_text(qtbot, sessions) -> None:
    review = ReviewModel(sessions)
    _, pdf = find_scan(sessions, "DOC")
    dialog = _dialog(qtbot, review, pdf.series_instance_uid)
    assert "PDF text" in dialog.text.toPlainText()
    assert not dialog.without_button.isVisible()
    dialog.leave_button.click()
    assert dialog.mode is None and review.choices[pdf.series_instance_uid].excluded


def test_bulk_cards_say_free_text_is_left_out_until_included(qtbot, sessions, tmp_path) -> None:
    from desktop_client.gui.review import ReviewStep
    from desktop_client.templates import TemplateStore

    step = ReviewStep(store=TemplateStore(tmp_path / "templates", shipped=False))
    qtbot.addWidget(step)
    step.set_sessions(sessions)
    cards = [c for c in step.page.unsupported_grid.cards if step.review.is_free_text(
        c.group.members[0].scan.series_instance_uid)]
    (card,) = cards  # ONE group for every kind of free text, each scan with its reason inside
    assert card.state.text == "Free text: left out unless you include them"
    assert card.title.text().startswith("Contains free text · ")
    details = card.details.text()
    for reason in ("encapsulated PDF document", "structured report (text content items)",
                   "RT structure set (ROI names and descriptions)"):
        assert reason in details
    _, sr = find_scan(sessions, "SR")
    step.review.include_free_text([sr.series_instance_uid], "text-removed")
    step.set_sessions(sessions, dict(step.review.choices))
    card = next(c for c in step.page.unsupported_grid.cards
                if any(m.scan.series_instance_uid == sr.series_instance_uid for m in c.group.members))
    assert card.state.text.startswith("1 included by your decision")


@pytest.mark.parametrize("large", [False, True], ids=["small", "large-selection"])
def test_valid_cards_say_a_scan_carries_private_text_or_an_overlay(qtbot, tmp_path, monkeypatch,
                                                                   large: bool) -> None:
    """Issue 14 §2: such image scans stay in their image group, and the card says so (for a large
    selection once the headers were read in the background, after the groups are on screen)."""
    import desktop_client.gui.review.step as step_module
    from desktop_client.gui.review import ReviewStep
    from desktop_client.scanning import scan_paths
    from desktop_client.templates import TemplateStore
    from tests.privacy.test_image_text import _study

    from tests.dicomfactory import image, write

    root = _study(tmp_path / "in")
    # bulk view: 2 sessions
    write(root / "d" / "1.dcm", image(study_uid="1.2.9.2", series_uid="1.2.9.2.1", sop_uid="1.2.9.2.1.1"))
    sessions = scan_paths([root], use_cache=False).sessions
    step = ReviewStep(store=TemplateStore(tmp_path / "templates", shipped=False))
    qtbot.addWidget(step)
    if large:
        monkeypatch.setattr(step_module, "ASYNC_SCANS", 0)
    step.set_sessions(sessions)
    qtbot.waitUntil(lambda: step.page is not None, timeout=10_000)
    (card,) = step.page.valid_grid.cards
    qtbot.waitUntil(lambda: "In 1 scan: carries private text and an overlay" in card.details.text(),
                    timeout=10_000)
    assert not step.page.unsupported_grid.cards
