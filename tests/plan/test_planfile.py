"""Saved plans: a reviewed upload re-run headless with ``xnat-upload upload --plan FILE`` (no mocks)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.cli.main import main
from desktop_client.core.geometry import Rect
from desktop_client.dicomedit.functions import hash_uid
from desktop_client.plan import planfile
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.review import ScanReviewChoice
from desktop_client.transfer.spec import DestinationKind, DestinationSpec
from tests.dicomfactory import BURN, BURN_VALUE, write_study
from tests.helpers import session_of


@pytest.fixture(autouse=True)
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))


def _archive_files(root: Path) -> list[Path]:
    return sorted(root.glob("P1/S1/S1_CT/SCANS/*/DICOM/*.dcm"))


def test_cli_saved_plan_is_re_run_with_the_same_decisions(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=3, files=2)
    scans = session_of(src).sorted_scans()
    redact, exclude = scans[0].series_instance_uid, scans[2].series_instance_uid
    archive, saved = tmp_path / "archive", tmp_path / "plan.json"
    l, t, r, b = BURN
    assert main(["upload", str(src), "--to", str(archive), "--project", "P1", "--subject", "S1",
                 "--session", "S1_CT", "--rect", f"{redact}:{l},{t},{r},{b}", "--exclude", exclude,
                 "--dry-run", "--json", "--save-plan", str(saved)]) == 0
    capsys.readouterr()
    assert not archive.exists() and stat.S_IMODE(saved.stat().st_mode) == 0o600
    data = json.loads(saved.read_text())
    assert data["decisions"][exclude]["excluded"] and data["decisions"][redact]["rectangles"] == [[l, t, r, b]]

    # The re-run takes everything from the plan: paths, destination, labels, decisions.
    code = main(["upload", "--plan", str(saved), "--workers", "1", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    files = _archive_files(archive)
    assert {f.parent.parent.name for f in files} == {"1", "2"} and len(files) == 4
    for f in files:
        ds = pydicom.dcmread(f)
        box = ds.pixel_array[t:b, l:r]
        assert np.all(box == 0) if ds.SeriesInstanceUID == hash_uid(redact) else np.all(box == BURN_VALUE)


def test_plan_refused_when_the_data_changed_or_options_conflict(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=2, files=2)
    saved = tmp_path / "plan.json"
    assert main(["upload", str(src), "--to", str(tmp_path / "archive"), "--subject", "S1",
                 "--session", "S1_CT", "--dry-run", "--save-plan", str(saved)]) == 0
    capsys.readouterr()
    assert main(["upload", "--plan", str(saved), "--subject", "OTHER"]) == 2
    assert "the plan already decides --subject" in capsys.readouterr().err
    write_study(src, series=3, files=2)  # a series appears that nobody reviewed
    assert main(["upload", "--plan", str(saved), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "changed since the plan was made (1 series were added)" in err and "Traceback" not in err
    saved.write_text("{not json")
    assert main(["upload", "--plan", str(saved)]) == 2
    assert "is not a JSON plan file" in capsys.readouterr().err


def test_plan_json_keeps_every_decision_field(tmp_path: Path) -> None:
    src = write_study(tmp_path / "src", series=2, files=1)
    session = session_of(src)
    a, b = (s.series_instance_uid for s in session.sorted_scans())
    decisions = {a: ScanReviewChoice(rectangles=[Rect(0, 0, 16, 8)], confirmed=True, templates=["t1"]),
                 b: ScanReviewChoice(excluded=True, exclude_reason="scout", confirmed=True)}
    plan = SessionPlan(session=session, subject="S1", label="S1_CT", variables={"visit": "V1"},
                       included={a, b})
    dest = DestinationSpec(DestinationKind.LOCAL, str(tmp_path / "archive"))
    path = planfile.save(planfile.plan_file([str(src)], dest, [plan], decisions, project="P1"),
                         tmp_path / "p.json")
    loaded = planfile.load(path)
    assert loaded.decisions == decisions and loaded.destination == dest and loaded.project == "P1"
    [again], kept = planfile.resolve(loaded, [session_of(src)])
    assert (again.subject, again.label, again.variables, again.included) == ("S1", "S1_CT",
                                                                             {"visit": "V1"}, {a, b})
    assert kept == decisions


def test_cli_warns_about_a_study_already_sent_and_can_skip_it(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=1, files=1)
    archive = tmp_path / "archive"
    args = ["upload", str(src), "--to", str(archive), "--subject", "S1", "--workers", "1", "--json"]
    assert main([*args, "--session", "S1_CT"]) == 0
    assert "already sent" not in capsys.readouterr().err
    assert main([*args, "--session", "S1_CT_2"]) == 0
    err = capsys.readouterr().err
    assert f"this study was sent to {archive.resolve()}" in err and "sending it again" in err
    assert main([*args, "--session", "S1_CT_3", "--skip-sent"]) == 2
    assert "every study was already sent" in capsys.readouterr().err


def test_cli_asks_the_target_catalogue_for_project_and_labels(xnat_emulator, tmp_path: Path, capsys,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads projects and existing labels through plan.targets, as the GUI does."""
    monkeypatch.setenv("XNAT_PASSWORD", "admin")
    src = write_study(tmp_path / "src", series=1, files=1)
    base = ["upload", str(src), "--to", xnat_emulator.url, "--user", "admin", "--subject", "S1"]
    assert main([*base, "--project", "NOPE", "--session", "S1_CT"]) == 2
    assert "project NOPE does not exist" in capsys.readouterr().err
    assert main([*base, "--project", "DEMO", "--session", "S1_CT", "--workers", "1", "--json"]) == 0
    capsys.readouterr()
    assert main([*base, "--project", "DEMO", "--session", "S1_CT"]) == 2
    assert "session S1_CT already exists in project DEMO" in capsys.readouterr().err


def test_a_decided_scan_whose_instances_changed_is_refused(tmp_path: Path) -> None:
    """Same series, same file count, but one instance replaced by another: the decision was
    taken for other pixels and is not applied silently."""
    src = write_study(tmp_path / "src", series=2, files=2)
    session = session_of(src)
    decided, other = session.sorted_scans()
    decisions = {decided.series_instance_uid: ScanReviewChoice(rectangles=[Rect(*BURN)], confirmed=True)}
    dest = DestinationSpec(DestinationKind.LOCAL, str(tmp_path / "archive"))
    plan = SessionPlan(session=session, subject="S1", label="S1_CT")
    path = planfile.save(planfile.plan_file([str(src)], dest, [plan], decisions), tmp_path / "p.json")
    saved = json.loads(path.read_text())["sessions"][0]["decided_instances"]
    assert set(saved) == {decided.series_instance_uid}  # only decided scans are fingerprinted
    assert saved[decided.series_instance_uid] == sorted(i.sop_instance_uid for i in decided.instances)

    # An undecided scan changing its instances (same count) does not void the decisions.
    ds = pydicom.dcmread(other.instances[0].location.path)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(other.instances[0].location.path)
    planfile.resolve(planfile.load(path), [session_of(src)])

    victim = decided.instances[0].location.path
    ds = pydicom.dcmread(victim)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(victim)
    assert {s.files for s in session_of(src).scans.values()} == {2}  # counts alone see nothing
    with pytest.raises(ValueError, match=r"Series #1 of session S1_CT changed since the plan was made "
                                         r"\(1 instance\(s\) added, 1 gone\)"):
        planfile.resolve(planfile.load(path), [session_of(src)])

    data = json.loads(path.read_text())
    del data["sessions"][0]["decided_instances"]
    with pytest.raises(ValueError, match="does not record which instances"):
        planfile.resolve(planfile.from_json(data), [session_of(src)])
