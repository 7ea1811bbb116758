"""The "what is left" line of the Review screen, counted by the planning core."""

from __future__ import annotations

from pathlib import Path

from desktop_client.core.geometry import Rect
from desktop_client.plan.progress import ReviewProgress, review_progress
from desktop_client.plan.review import ReviewModel
from tests.transfer.dicomdata import session_of, write_study


def test_groups_and_scans_with_text_left_to_decide(tmp_path: Path) -> None:
    one = session_of(write_study(tmp_path / "a", series=2, files=1, rows=32, seed=1))
    two = session_of(write_study(tmp_path / "b", series=1, files=1, rows=64, seed=2))
    model = ReviewModel([one, two])
    assert len(model.grouping.valid) == 2
    a, b = (s.series_instance_uid for s in one.sorted_scans())
    c = two.sorted_scans()[0].series_instance_uid
    progress = review_progress(model, text_found=[a, c])
    assert progress == ReviewProgress(2, 2)
    assert progress.text() == "2 groups not reviewed · 2 scans with text found and no decision"
    model.set_rectangles(a, [Rect(0, 0, 8, 8)], confirmed=True)
    model.exclude([c], "secondary capture")
    assert review_progress(model, text_found=[a, c]) == ReviewProgress(0, 0)
    assert review_progress(model).done and review_progress(model).text() == ""
    model.reset([c])
    model.reviewed_groups.add(model.group_id(next(g for g in model.grouping.valid
                                                  if c in model.group_members(g))))
    assert review_progress(model, text_found=[c, a]).text() == "1 scan with text found and no decision"
    assert review_progress(model, text_found=[b]).groups_not_reviewed == 0
