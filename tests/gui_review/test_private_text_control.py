"""Review's control for header text the scripts keep (issue 14 §2): the scan is held, the panel
offers strip / send as is, the choice lifts the hold and travels with the decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_client.gui.review import ReviewStep
from desktop_client.gui.review.single import SessionReviewPage
from desktop_client.plan import planfile
from desktop_client.plan.privatetext import STRIP, ScriptChain
from desktop_client.scanning import scan_paths
from desktop_client.scripts import ScriptSource, default_site_script
from desktop_client.templates import TemplateStore
from tests.privacy.private_study import COPIED, KEEPS_PRIVATE, VENDOR, write_study

from tests.helpers import wait_until

pytestmark = pytest.mark.gui


@pytest.fixture
def step(qtbot, tmp_path: Path) -> ReviewStep:
    widget = ReviewStep(store=TemplateStore(tmp_path / "templates", shipped=False))
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


def _show(qtbot, step: ReviewStep, tmp_path: Path, chain: ScriptChain) -> None:
    sessions = scan_paths([write_study(tmp_path)], use_cache=False).sessions
    step.set_sessions(sessions, chain=chain)
    assert isinstance(step.page, SessionReviewPage)
    wait_until(qtbot, lambda: not step.searching() and not step.checking(), timeout=180,
               what="the burned-in text search and the header text check")


def test_strip_or_send_lifts_the_hold_and_is_kept_with_the_decisions(qtbot, step, tmp_path) -> None:
    _show(qtbot, step, tmp_path, ScriptChain((ScriptSource("site", KEEPS_PRIVATE),)))
    assert not step.is_complete()
    message = step.blocking_message()
    assert "header text that may identify the patient" in message and "Strip private text" in message
    assert [uid for uid, _ in step.held_back()] == [COPIED]
    panel = step.page.panel
    step.page.select_uid(VENDOR)
    assert not panel.private_text.isVisible()  # vendor strings: named, never a decision to take
    step.page.select_uid(COPIED)
    control = panel.private_text
    assert control.isVisible() and control.combo.currentText() == "Decide…"
    assert "private (0019,1010)" in control.toolTip() and "DOE" not in control.toolTip()
    assert "Not sent until you decide" in panel.offer.text
    from desktop_client.gui.review.findings import tile_note
    assert tile_note(step.findings, step.review, COPIED)[0] == "Header text kept by the scripts: decide"
    control.combo.setCurrentIndex(1)
    control.combo.activated.emit(1)
    assert step.choices()[COPIED].private_text == STRIP
    assert step.is_complete(), step.blocking_message()
    assert control.isVisible() and control.combo.currentText() == "Strip private text"
    # Persisted like the other decisions: through a plan file and back.
    saved = planfile.decision_from_json(planfile.decision_to_json(step.choices()[COPIED]))
    assert saved.private_text == STRIP
    # Undecided again: held again.
    control.combo.setCurrentIndex(0)
    control.combo.activated.emit(0)
    assert not step.is_complete()


def test_scripts_that_remove_it_hold_nothing(qtbot, step, tmp_path) -> None:
    _show(qtbot, step, tmp_path, ScriptChain((ScriptSource("site", default_site_script()),)))
    assert step.is_complete(), step.blocking_message()
    step.page.select_uid(COPIED)
    assert not step.page.panel.private_text.isVisible()
    assert step.review.private_checks[COPIED].all_removed
