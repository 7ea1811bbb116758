"""The hold-back rule and the decisions (plan.review), and the output re-check (textfind.recheck)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from desktop_client.core.geometry import Rect
from desktop_client.plan import planfile
from desktop_client.plan.review import (ACCEPTED, DETECTED, DRAWN, NO_TEXT, REDACTED, TEMPLATE,
                                        ReviewModel)
from desktop_client.scanning import scan_paths
from desktop_client.templates import MatchKeys, Template
from desktop_client.textfind import FoundText, ScanText, TextResult, cut_warnings, recheck
from desktop_client.textfind.recheck import ACCEPTED as RC_ACCEPTED
from desktop_client.textfind.recheck import FAILED, PASSED

from .helpers import dataset, text_mask


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ReviewModel:
    from desktop_client.demo import SMALL_SCALE, generate_demo

    out = tmp_path_factory.mktemp("gate-demo")
    generate_demo(out, seed=3, **SMALL_SCALE)
    return ReviewModel(scan_paths([out]).sessions)


def _fresh(model: ReviewModel) -> ReviewModel:
    return ReviewModel(model.sessions)


def _found(uid: str, *lines: tuple[Rect, bool]) -> ScanText:
    found = [FoundText(Rect(r.left - 2, r.top - 2, r.right + 2, r.bottom + 2), None, "x", 0.9, phi, line=r)
             for r, phi in lines]
    return ScanText(uid, [TextResult("1.2.3", 128, 128, 1, found)], False, 1)


def _image_uid(model: ReviewModel, modality: str) -> str:
    return next(uid for uid, ref in model.refs.items() if ref.scan.modality == modality and model.is_supported(uid))


def test_burned_in_annotation_without_decision_is_held(model: ReviewModel) -> None:
    m = _fresh(model)
    uid = _image_uid(m, "CT")
    assert m.burned_in_annotation(uid)  # the demo marks its burned-in images YES
    assert "Burned In Annotation = YES" in m.gate(uid)
    assert uid in dict(m.held_back()) and "burned-in text" in m.text_blocking_message()
    m.mark_checked_no_text([uid])
    assert m.choices[uid].text_decision == NO_TEXT and m.gate(uid) == ""
    non_image = next(uid for uid in m.refs if not m.is_supported(uid))
    assert m.gate(non_image) == ""  # never searched, uploaded or excluded by choice


def test_uncovered_likely_phi_is_held_until_boxes_cover_it(model: ReviewModel) -> None:
    m = _fresh(model)
    uid = _image_uid(m, "MR")
    name, tech = Rect(5, 5, 60, 15), Rect(5, 100, 60, 110)
    m.set_findings(uid, _found(uid, (name, True), (tech, False)))
    m.mark_checked_no_text([uid])  # "no text" does not override text the finder reads as PHI
    assert "5,5,60,15" in m.gate(uid)
    m.set_rectangles(uid, [Rect(0, 0, 30, 20)])  # drawn, unconfirmed: does not count
    assert m.gate(uid)
    m.confirm(uid)
    assert m.gate(uid)  # the box covers half of the name only
    assert m.accept_detected(uid) == 1  # the likely-PHI suggestion; technical text is not taken
    choice = m.choices[uid]
    assert choice.text_decision == REDACTED and m.gate(uid) == ""
    assert choice.sources() == [DRAWN, DETECTED]
    # templates add their boxes with their provenance
    template = Template("t1", "t", MatchKeys.of(m.scan(uid)), [Rect(1, 1, 9, 9)])
    m.apply_templates([uid], [template])
    assert m.choices[uid].sources() == [DRAWN, DETECTED, TEMPLATE]
    m.set_rectangles(uid, m.choices[uid].rectangles[1:], confirmed=True)  # drop the drawn box
    assert m.choices[uid].sources() == [DETECTED, TEMPLATE]


def test_dismiss_and_accept_as_is(model: ReviewModel) -> None:
    m = _fresh(model)
    uid = _image_uid(m, "CR")
    line = Rect(10, 10, 80, 22)
    m.set_findings(uid, _found(uid, (line, True)))
    m.mark_checked_no_text([uid])
    assert m.gate(uid)
    m.dismiss(uid, line)
    assert m.gate(uid) == ""
    other = _image_uid(m, "US")
    m.set_findings(other, _found(other, (line, True)))
    with pytest.raises(ValueError, match="why"):
        m.accept_as_is([other], "  ")
    m.accept_as_is([other], "teaching file, consented")
    assert m.choices[other].text_decision == ACCEPTED and m.gate(other) == ""
    m.exclude([other], "not needed")
    assert m.gate(other) == "" and m.choices[other].text_decision == "excluded"


def test_decisions_survive_a_saved_plan(model: ReviewModel) -> None:
    m = _fresh(model)
    uid = _image_uid(m, "CT")
    m.set_findings(uid, _found(uid, (Rect(5, 5, 60, 15), True)))
    m.accept_detected(uid)
    m.dismiss(uid, Rect(1, 2, 3, 4))
    back = planfile.decision_from_json(planfile.decision_to_json(m.choices[uid]))
    assert back == m.choices[uid] and back.text_decision == REDACTED and back.sources() == [DETECTED]


def _two_lines() -> tuple[object, Rect, Rect]:
    shape = (160, 320)
    a, box_a = text_mask(shape, "SMITH, JOHN 1960-04-01", 16, (10, 10))
    b, box_b = text_mask(shape, "ID: 99887766", 16, (10, 120))
    return dataset(np.clip(0.1 + a + b, 0, 1) * 255), box_a, box_b


def _pad(r: Rect, p: int = 4) -> Rect:
    return Rect(r.left - p, r.top - p, r.right + p, r.bottom + p)


def test_recheck_fails_closed_on_visible_text() -> None:
    from desktop_client.core.geometry import PixelEdit
    from desktop_client.pixels import redact_dataset
    from desktop_client.textfind import find_text

    ds, box_a, box_b = _two_lines()
    source = find_text(ds, use_cache=False)
    redacted = copy.deepcopy(ds)
    redact_dataset(redacted, [PixelEdit(_pad(box_a))])
    result = recheck(redacted, [_pad(box_a)], source=source)
    assert result.status == FAILED and result.reason.startswith("text still visible at ")
    assert result.to_json()["visible"] and "99887766" not in str(result.to_json())
    accepted = recheck(redacted, [_pad(box_a)], source=source, accepted=True)
    assert accepted.status == RC_ACCEPTED
    both = copy.deepcopy(ds)
    redact_dataset(both, [PixelEdit(_pad(box_a)), PixelEdit(_pad(box_b))])
    assert recheck(both, [_pad(box_a), _pad(box_b)], source=source).status == PASSED
    # unchanged pixels: the source's result is reused, and the visible text fails it
    assert recheck(ds, [], source=source).status == FAILED


def test_box_edge_cutting_text_is_a_warning_only() -> None:
    line = Rect(10, 10, 110, 26)
    found = [FoundText(_pad(line, 2), None, "x", 0.9, True, line=line)]
    assert cut_warnings(found, [Rect(0, 0, 60, 40)]) == ["a box edge cuts detected text at 10,10,110,26"]
    assert cut_warnings(found, [Rect(0, 0, 200, 40)]) == []
    assert cut_warnings(found, [Rect(300, 300, 310, 310)]) == []


def test_transfer_pipeline_fails_an_object_whose_output_still_shows_text(tmp_path) -> None:
    from desktop_client.core.geometry import PixelEdit
    from desktop_client.scanning.model import Location
    from desktop_client.transfer.pipeline import Applicator, ObjectJob

    ds, box_a, box_b = _two_lines()
    path = tmp_path / "two-lines.dcm"
    ds.save_as(path, enforce_file_format=True)

    def job(edits: tuple, accepted: bool = False) -> ObjectJob:
        return ObjectJob("k", (), (), edits, Location(str(path)), ds.SeriesInstanceUID, "1",
                         recheck=True, recheck_frames=(0,), accepted_as_is=accepted)

    partial = Applicator(()).process(job((PixelEdit(_pad(box_a)),)))
    assert partial.status == "failed" and partial.reason.startswith("text still visible at ")
    assert partial.recheck["status"] == FAILED
    accepted = Applicator(()).process(job((PixelEdit(_pad(box_a)),), accepted=True))
    assert accepted.status == "ok" and accepted.recheck["status"] == RC_ACCEPTED
    full = Applicator(()).process(job((PixelEdit(_pad(box_a)), PixelEdit(_pad(box_b)))))
    assert full.status == "ok" and full.recheck["status"] == PASSED and full.data
    untouched = Applicator(()).process(job(()))
    assert untouched.status == "ok" and not untouched.recheck  # no pixel edit: nothing to re-check
