"""The private text rule in the planning core, as the GUI's draft uses it: the chain the draft
will apply is what is checked, the decision turns into the recorded strip step, and a saved plan
carries the decision to a headless re-run (issue 14 §2)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest

from desktop_client.cli.main import main
from desktop_client.plan import planfile
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.privatetext import (NOT_IDENTIFYING, REMOVED_BY_STEP, SEND, SENT_BY_DECISION, STRIP,
                                             STRIP_NAME, draft_chain)
from desktop_client.plan.review import ReviewModel
from desktop_client.plan.specs import draft_specs
from desktop_client.plan.targets import LocalTarget, ProjectInfo, ProjectSettings
from desktop_client.scanning import scan_paths
from desktop_client.scripts import DEFAULT_SITE_NAME, ScriptSource
from tests.privacy.private_study import COPIED, KEEPS_PRIVATE, PLAIN, VENDOR, write_study


@pytest.fixture(autouse=True)
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))


@dataclass
class _Connection:
    id: str = "local"
    url: str = ""
    username: str = ""
    insecure_tls: bool = False
    allow_http: bool = False


def _draft(tmp_path: Path, settings: ProjectSettings | None) -> UploadDraft:
    source = write_study(tmp_path)
    sessions = scan_paths([source], use_cache=False).sessions
    return UploadDraft(target=LocalTarget(_Connection(), tmp_path / "archive"), project=ProjectInfo("P"),
                       settings=settings, plans=[SessionPlan(sessions[0], subject="S1", label="S1_CT")],
                       sources=[str(source)])


def _review(draft: UploadDraft) -> ReviewModel:
    """What the Review step does: check against the draft's chain, then keep the checks."""
    review = ReviewModel([p.session for p in draft.plans], chain=draft_chain(draft)).inspect_image_text()
    draft.private_checks.update(review.private_checks)
    return review


def test_the_draft_chain_is_the_one_the_upload_applies(tmp_path: Path) -> None:
    keeps = ProjectSettings("P", site_script=KEEPS_PRIVATE)
    chain = draft_chain(_draft(tmp_path / "a", keeps))
    assert chain.known and chain.scripts == (ScriptSource("site", KEEPS_PRIVATE),)
    assert chain.for_session(next(iter(chain.variables)))["subject"] == "S1"
    default = draft_chain(_draft(tmp_path / "b", None))  # no settings read: the folder's default slots
    assert default.known and default.scripts[0].name == DEFAULT_SITE_NAME


def test_a_decision_becomes_the_recorded_step_and_the_receipt_record(tmp_path: Path) -> None:
    draft = _draft(tmp_path, ProjectSettings("P", site_script=KEEPS_PRIVATE))
    review = _review(draft)
    assert review.gate(COPIED) and not review.gate(VENDOR) and not review.gate(PLAIN)
    review.decide_private_text([COPIED], STRIP)
    assert not review.gate(COPIED)
    draft.review.update(review.choices)
    (spec,) = draft_specs(draft)
    assert [s.name for s in spec.prelude] == [STRIP_NAME]
    assert f'if ((0020,000E) = "{COPIED}")' in spec.prelude[0].text
    copied = spec.choice(COPIED).private_text
    assert copied is not None and copied.outcome == REMOVED_BY_STEP and copied.verify
    vendor = spec.choice(VENDOR).private_text
    assert vendor is not None and vendor.outcome == NOT_IDENTIFYING and not vendor.verify
    assert spec.choice(PLAIN).private_text is None
    review.decide_private_text([COPIED], SEND)
    draft.review.update(review.choices)
    (spec,) = draft_specs(draft)
    assert spec.prelude == [] and spec.choice(COPIED).private_text.outcome == SENT_BY_DECISION
    with pytest.raises(ValueError):
        review.decide_private_text([COPIED], "maybe")


def test_a_saved_plan_carries_the_decision_to_a_headless_run(tmp_path: Path, capsys) -> None:
    draft = _draft(tmp_path, ProjectSettings("P", site_script=KEEPS_PRIVATE))
    review = _review(draft)
    review.decide_private_text([COPIED], STRIP)
    draft.review.update(review.choices)
    saved = planfile.save(planfile.from_draft(draft), tmp_path / "plan.json")
    assert json.loads(saved.read_text())["decisions"][COPIED]["private_text"] == STRIP
    code = main(["upload", "--plan", str(saved), "--workers", "0", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    copied = [pydicom.dcmread(p) for p in (tmp_path / "archive").rglob("*.dcm")]
    copied = [ds for ds in copied if ds.SeriesDescription == "copied"]
    assert len(copied) == 3 and all((0x0019, 0x1010) not in ds for ds in copied)
