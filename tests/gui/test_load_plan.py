"""*Load plan…* on Select data: a saved plan's sources are scanned again and its labels and review
decisions come back — or the plan is refused in words when the data or the destination changed."""

from __future__ import annotations

import json
from pathlib import Path

from desktop_client.core.geometry import Rect
from desktop_client.plan import planfile
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.review import ScanReviewChoice
from desktop_client.plan.specs import draft_options
from desktop_client.scanning import scan_paths
from tests.gui.flow import to_project_step
from tests.helpers import wait_until


def _saved_plan(win, demo_dir: Path, path: Path) -> tuple[list, dict[str, ScanReviewChoice]]:
    """A plan for two of the demo's sessions, as Summary's *Save plan…* writes it."""
    first, second = sorted(scan_paths([str(demo_dir)]).sessions, key=lambda s: s.study_instance_uid)[:2]
    boxed = first.sorted_scans()[0].series_instance_uid
    dropped = second.sorted_scans()[0].series_instance_uid
    decisions = {boxed: ScanReviewChoice(rectangles=[Rect(0, 0, 64, 20)], confirmed=True,
                                         box_sources=["drawn"]),
                 dropped: ScanReviewChoice(excluded=True, exclude_reason="scout", confirmed=True)}
    plans = [SessionPlan(session=first, subject="SUBJ1", label="SUBJ1_A"),
             SessionPlan(session=second, subject="SUBJ2", label="SUBJ2_B")]
    options = draft_options(win.draft)
    planfile.save(planfile.plan_file([str(demo_dir)], options.destination, plans, decisions,
                                     project=options.project, scripts=options.scripts), path)
    return [first, second], decisions


def _load(qtbot, win, path: Path) -> None:
    win.select_page.load_plan(str(path))
    wait_until(qtbot, lambda: not win.select_page.scanning and win.select_page.result is not None,
             timeout=120, what="the plan's scan")


def test_a_saved_plan_restores_labels_and_every_decision(qtbot, window, demo_dir: Path,
                                                         tmp_path: Path) -> None:
    win = window
    to_project_step(qtbot, win, "LOCAL")
    win.wizard.next()
    assert win.wizard.index == 2
    path = tmp_path / "plan.json"
    sessions, decisions = _saved_plan(win, demo_dir, path)
    _load(qtbot, win, path)
    select = win.select_page
    assert "Plan loaded: 2 session(s)" in select.message.text
    assert {s.study_instance_uid for s in select.checked_sessions()} == {s.study_instance_uid
                                                                       for s in sessions}
    win.wizard.next()
    confirm = win.confirm_page
    wait_until(qtbot, lambda: not confirm._loading, what="Confirm")
    rows = {(confirm._cell(r, 3), confirm._cell(r, 4)) for r in range(confirm.bulk_table.rowCount())}
    assert rows == {("SUBJ1", "SUBJ1_A"), ("SUBJ2", "SUBJ2_B")}
    wait_until(qtbot, confirm.is_complete, what=f"Confirm: {confirm.blocking_message()}")
    win.wizard.next()
    wait_until(qtbot, lambda: win.review_page.inner.review is not None, what="the review model")
    review = win.review_page.inner.review
    for uid, choice in decisions.items():
        assert review.choices[uid].rectangles == choice.rectangles
        assert review.choices[uid].excluded == choice.excluded
        assert review.choices[uid].exclude_reason == choice.exclude_reason


def test_a_plan_is_refused_when_its_data_or_project_changed(qtbot, window, demo_dir: Path,
                                                            tmp_path: Path) -> None:
    win = window
    to_project_step(qtbot, win, "LOCAL")
    win.wizard.next()
    path = tmp_path / "plan.json"
    sessions, _ = _saved_plan(win, demo_dir, path)
    select = win.select_page

    data = json.loads(path.read_text())
    data["sessions"][0]["series_files"] = {uid: n + 1 for uid, n in
                                           data["sessions"][0]["series_files"].items()}
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    _load(qtbot, win, changed)
    assert "The plan cannot be used" in select.message.text
    assert "changed since the plan was made" in select.message.text
    assert not select.checked_sessions() and select._loaded is None and not select.is_complete()

    data = json.loads(path.read_text())
    data["project"] = "ELSEWHERE"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    _load(qtbot, win, other)
    assert "This plan is for project ELSEWHERE" in select.message.text

    data = json.loads(path.read_text())
    data["scripts"] = [{"name": "project.das", "text": "(0010,0010) := \"OTHER\""}]
    scripted = tmp_path / "scripted.json"
    scripted.write_text(json.dumps(data))
    _load(qtbot, win, scripted)
    assert "The anonymization scripts changed since this plan was made" in select.message.text

    (tmp_path / "junk.json").write_text("{")
    select.load_plan(str(tmp_path / "junk.json"))
    assert "The plan cannot be loaded" in select.message.text and "not a JSON plan" in select.message.text
