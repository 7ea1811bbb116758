"""Objects with free text (issue 14 §2): flagged, shown with the matched values, left out by default."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from desktop_client.cli.main import main
from desktop_client.grouping import (FREE_TEXT_EXCLUDED, free_text_reason, free_text_scans, group_scans,
                                     inspect_scan)
from desktop_client.scanning import scan_paths
from desktop_client.scanning.freetext import FREE_TEXT, free_text_kind, inspect_dataset


def _scans(demo_dir: Path) -> dict[str, object]:
    return {scan.modality: scan for s in scan_paths([demo_dir]).sessions for scan in s.scans.values()}


def test_reports_documents_and_structure_sets_form_the_free_text_group(demo_dir: Path) -> None:
    sessions = scan_paths([demo_dir]).sessions
    grouping = group_scans(sessions)
    groups = [g for g in grouping.unsupported if g.reason == FREE_TEXT]
    (group,) = groups  # ONE group, whatever the SOP classes (issue 14 §2)
    modalities = sorted(ref.scan.modality for ref in group.members)
    assert modalities == ["DOC", "RTSTRUCT", "SR"]
    assert sorted(r.scan.modality for r in free_text_scans(sessions)) == modalities
    assert "free text" in group.reason_text
    reasons = {ref.scan.modality: free_text_reason(ref.scan) for ref in group.members}
    assert reasons == {"DOC": "encapsulated PDF document", "SR": "structured report (text content items)",
                       "RTSTRUCT": "RT structure set (ROI names and descriptions)"}
    for kind in ("Encapsulated PDF", "Structure Set"):
        assert kind in group.sop_class_name


@pytest.mark.parametrize("uid, kind", [
    ("1.2.840.10008.5.1.4.1.1.104.1", "PDF"), ("1.2.840.10008.5.1.4.1.1.104.2", "CDA"),
    ("1.2.840.10008.5.1.4.1.1.104.3", "STL"), ("1.2.840.10008.5.1.4.1.1.104.4", "OBJ"),
    ("1.2.840.10008.5.1.4.1.1.88.22", "structured report"),
    ("1.2.840.10008.5.1.4.1.1.88.33", "structured report"),
    ("1.2.840.10008.5.1.4.1.1.88.59", "key object"),
    ("1.2.840.10008.5.1.4.1.1.11.1", "presentation state"),
    ("1.2.840.10008.5.1.4.1.1.481.3", "RT structure set"),
])
def test_classes_with_free_text(uid: str, kind: str) -> None:
    assert kind in (free_text_kind(uid) or "")


def test_image_and_dose_classes_have_none() -> None:
    for uid in ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.481.2", "1.2.840.10008.5.1.4.1.1.4"):
        assert free_text_kind(uid) is None


def test_the_pdf_text_is_extracted_and_matched_against_the_headers(demo_dir: Path) -> None:
    pdf = _scans(demo_dir)["DOC"]
    found = inspect_scan(pdf)
    ds = pydicom.dcmread(pdf.instances[0].location.path)
    assert [f.where for f in found.findings] == ["PDF text"]
    assert ds.PatientID in found.findings[0].text
    assert {"PatientID", "AccessionNumber", "PatientBirthDate (ISO)"} <= set(found.matches)
    assert found.matches["PatientID"] == ds.PatientID
    # On screen the person sees the values; anything written (a receipt) names attributes only.
    assert ds.PatientID in found.summary(values=True)
    assert ds.PatientID not in found.summary() and "PatientID" in found.summary()


def test_structured_report_text_items_are_found(demo_dir: Path) -> None:
    sr = _scans(demo_dir)["SR"]
    found = inspect_scan(sr)
    ds = pydicom.dcmread(sr.instances[0].location.path)
    assert any(f.where == "TEXT item" for f in found.findings)
    assert found.matches["PatientID"] == ds.PatientID
    family = str(ds.PatientName).split("^")[0]
    assert family in found.matches.values()


def test_private_text_overlays_and_an_unreadable_pdf_are_reported() -> None:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
    ds.PatientName = "ROE^RICHARD"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4 not really a pdf"
    block = ds.private_block(0x0019, "ACME 1.0", create=True)
    block.add_new(0x10, "LO", "seen by ROE")
    ds.add_new(0x60003000, "OW", b"\x00" * 8)
    found = inspect_dataset(ds)
    assert "could not be read" in found.error
    wheres = {f.where for f in found.findings}
    assert "private (0019,1010)" in wheres and "overlay (6000,3000)" in wheres
    assert found.matches == {"PatientName part 1": "ROE"}
    assert "could not be read" in found.summary()


def _dry_run(demo_dir: Path, capsys, *extra: str) -> dict:
    # The burned-in text gate is issue 13's: accepting it here keeps this about free text.
    code = main(["upload", str(demo_dir), "--to", "unused-folder", "--dry-run", "--json",
                 "--accept-visible-text", "all", "--workers", "0", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_cli_leaves_free_text_out_unless_included(demo_dir: Path, capsys, tmp_path: Path,
                                                  monkeypatch, textfind_results: None) -> None:
    monkeypatch.chdir(tmp_path)
    plan = _dry_run(demo_dir, capsys)
    scans = {s["description"]: s for p in plan["sessions"] for s in p["scans"]}
    for name in ("Radiology report", "Ultrasound report", "Structure Set"):
        assert scans[name]["excluded"] and scans[name]["exclude_reason"] == FREE_TEXT_EXCLUDED
    assert not scans["AX T1 SE"]["excluded"]
    sr = scans["Ultrasound report"]["series_instance_uid"]
    pdf = scans["Radiology report"]["series_instance_uid"]
    plan = _dry_run(demo_dir, capsys, "--include-free-text", f"{sr}:text-removed",
                    "--include-free-text", pdf)
    chosen = {s["description"]: s for p in plan["sessions"] for s in p["scans"]}
    assert not chosen["Ultrasound report"]["excluded"]
    assert chosen["Ultrasound report"]["decision"].startswith("included with its text content removed")
    assert chosen["Radiology report"]["decision"].startswith("included deliberately with its text")
    us = next(p for p in plan["sessions"] if "SR" in p["modalities"])
    assert us["scripts"][0] == "built-in: text content removed (chosen scans)"
    assert main(["upload", str(demo_dir), "--to", "x", "--dry-run", "--include-free-text",
                 f"{pdf}:text-removed"]) == 2
    assert "cannot be removed by a rule" in capsys.readouterr().err
    assert main(["upload", str(demo_dir), "--to", "x", "--dry-run", "--include-free-text", "1.2.3"]) == 2
    assert "not a scan with free text" in capsys.readouterr().err


def test_groups_shows_what_each_free_text_scan_holds(demo_dir: Path, capsys) -> None:
    assert main(["groups", str(demo_dir), "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["unsupported"]
    found = {s["modality"]: s["free_text"] for g in groups if g["reason"] == FREE_TEXT
             for s in g["scans"]}
    assert set(found) == {"DOC", "SR", "RTSTRUCT"}
    assert found["DOC"]["findings"] == ["PDF text"] and "PatientID" in found["DOC"]["matches"]
    assert "PatientID" in found["SR"]["matches"]
    assert main(["groups", str(demo_dir)]) == 0
    assert "--include-free-text" in capsys.readouterr().out
