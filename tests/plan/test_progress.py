"""The "what is left" line of the Review screen, counted by the planning core."""

from __future__ import annotations

from pathlib import Path

from desktop_client.core.geometry import Rect
from desktop_client.plan.progress import ReviewProgress, review_progress
from desktop_client.plan.review import ReviewModel
from desktop_client.textfind.model import FoundText, ScanText, TextResult
from tests.dicomfactory import write_study
from tests.helpers import session_of


def _found(uid: str) -> ScanText:
    line = FoundText(Rect(0, 0, 16, 8), None, "DOE^JANE", 0.9, likely_phi=True)
    return ScanText(uid, [TextResult(found=[line])], instances=1)


def test_groups_and_scans_with_text_left_to_decide(tmp_path: Path) -> None:
    one = session_of(write_study(tmp_path / "a", series=2, files=1, rows=32, seed=1))
    two = session_of(write_study(tmp_path / "b", series=1, files=1, rows=64, seed=2))
    model = ReviewModel([one, two])
    assert len(model.grouping.valid) == 2
    a, b = (s.series_instance_uid for s in one.sorted_scans())
    c = two.sorted_scans()[0].series_instance_uid
    model.set_findings(a, _found(a))
    model.set_findings(c, _found(c))
    progress = review_progress(model)
    assert progress == ReviewProgress(2, 2)
    assert progress.text() == "2 groups not reviewed · 2 scans held back until you decide"
    # Boxes over the text, and leaving a scan out, are decisions: nothing is left.
    model.set_rectangles(a, [Rect(0, 0, 16, 8)], confirmed=True)
    model.exclude([c], "secondary capture")
    assert review_progress(model) == ReviewProgress(0, 0)
    assert review_progress(model).done and review_progress(model).text() == ""
    # Reset: the text is there again without a decision; an opened group counts as reviewed.
    model.reset([c])
    model.reviewed_groups.add(model.group_id(next(g for g in model.grouping.valid
                                                  if c in model.group_members(g))))
    assert review_progress(model).text() == "1 scan held back until you decide"
    assert b not in {uid for uid, _ in model.held_back()}
