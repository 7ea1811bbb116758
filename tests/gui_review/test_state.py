"""ReviewModel rules: template union, exclude/reset, unconfirmed boxes block, unsupported scans."""

from __future__ import annotations

import pytest

from desktop_client.core.geometry import Rect
from desktop_client.plan.review import ReviewModel
from desktop_client.templates import MatchKeys, Template

from .conftest import find_scan


def template(scan, rects, ident="t1", **match) -> Template:
    keys = MatchKeys.of(scan) if not match else MatchKeys(**match)
    return Template(id=ident, name=ident, match=keys, rectangles=rects)


def test_every_scan_has_a_choice_and_groups_split(sessions) -> None:
    review = ReviewModel(sessions)
    assert set(review.choices) == {s.series_instance_uid for ses in sessions for s in ses.scans.values()}
    assert review.grouping.valid and review.grouping.unsupported
    _, rtstruct = find_scan(sessions, "RTSTRUCT")
    assert not review.is_supported(rtstruct.series_instance_uid)
    # Scans with free text (RT structure set, SR, PDF) start excluded (issue 14); the rest as is.
    free_text = {uid for uid in review.choices if review.is_free_text(uid)}
    assert rtstruct.series_instance_uid in free_text
    assert all(review.choices[uid].excluded for uid in free_text)
    assert review.summary().as_is == len(review.choices) - len(free_text)
    assert review.summary().excluded == len(free_text)


def test_free_text_scans_are_included_only_deliberately(sessions) -> None:
    review = ReviewModel(sessions)
    _, sr = find_scan(sessions, "SR")
    _, pdf = find_scan(sessions, "DOC")
    _, ct = find_scan(sessions, "CT")
    uid = sr.series_instance_uid
    review.include_free_text([uid], "text-removed")
    choice = review.choices[uid]
    assert not choice.excluded and choice.remove_text and "text content removed" in choice.decision
    review.reset([uid])                                   # Reset goes back to excluded, not "as is"
    assert review.choices[uid].excluded
    with pytest.raises(ValueError, match="encapsulated document"):
        review.include_free_text([pdf.series_instance_uid], "text-removed")
    review.include_free_text([pdf.series_instance_uid], "as-is")
    assert "included deliberately" in review.choices[pdf.series_instance_uid].decision
    with pytest.raises(ValueError):
        review.include_free_text([ct.series_instance_uid], "as-is")


def test_apply_templates_is_a_union_and_skips_excluded_and_unfitting(sessions) -> None:
    review = ReviewModel(sessions)
    _, ct = find_scan(sessions, "CT")
    _, mr = find_scan(sessions, "MR")
    a = template(ct, [Rect(0, 0, 10, 10)], "a")
    b = template(ct, [Rect(0, 0, 10, 10), Rect(20, 20, 30, 30)], "b")
    ct_uid, mr_uid = ct.series_instance_uid, mr.series_instance_uid
    assert review.apply_templates([ct_uid, mr_uid], [a]) == 1      # a does not fit the MR
    assert review.apply_templates([ct_uid], [b]) == 1
    choice = review.choices[ct_uid]
    assert choice.rectangles == [Rect(0, 0, 10, 10), Rect(20, 20, 30, 30)]
    assert choice.templates == ["a", "b"] and choice.confirmed
    assert review.choices[mr_uid].rectangles == []
    review.exclude([ct_uid], "photo of patient")
    assert review.apply_templates([ct_uid], [a]) == 0
    assert review.choices[ct_uid].excluded and review.choices[ct_uid].exclude_reason == "photo of patient"
    assert review.summary().excluded == 1 + sum(review.is_free_text(u) for u in review.choices)
    review.reset([ct_uid])
    assert review.choices[ct_uid].rectangles == [] and not review.choices[ct_uid].excluded


def test_hand_drawn_boxes_block_until_saved(sessions) -> None:
    review = ReviewModel(sessions)
    _, ct = find_scan(sessions, "CT")
    uid = ct.series_instance_uid
    review.set_rectangles(uid, [Rect(1, 1, 5, 5)])
    message = review.blocking_message()
    assert "not saved" in message and "Save scan" in message and "Series #" in message
    review.confirm(uid)
    assert review.blocking_message() == ""
    review.set_rectangles(uid, [Rect(1, 1, 6, 6)])     # editing again un-confirms
    assert review.unconfirmed() == [uid]
    review.exclude([uid])                                # excluding discards the boxes: nothing blocks
    assert review.blocking_message() == ""


def test_unsupported_scans_cannot_be_redacted(sessions) -> None:
    review = ReviewModel(sessions)
    _, dose = find_scan(sessions, "RTDOSE")
    uid = dose.series_instance_uid
    t = template(dose, [Rect(0, 0, 5, 5)], modality="RTDOSE")
    assert review.apply_templates([uid], [t]) == 0
    try:
        review.set_rectangles(uid, [Rect(0, 0, 5, 5)])
    except ValueError as exc:
        assert "cannot be redacted" in str(exc)
    else:
        raise AssertionError("unsupported scan accepted rectangles")
    review.exclude([uid], "dose grid not needed")
    assert review.summary([uid]).excluded == 1
