"""``anonymize`` / ``check-script`` commands and the alterPixels → pixel engine contract."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from desktop_client.cli.main import main
from desktop_client.dicomedit import apply_chain, compile_script
from tests.dicomedit.helpers import conforms

SITE = '''version "6.6"
describe subject "Subject label"
(0010,0010) := subject
(0010,0020) := session
-(0010,0030)
(0020,000D) := hashUID[(0020,000D)]
(0008,0018) := hashUID[(0008,0018)]
(0010,1000) = "reject me" ? reject[]
'''
PIXELS = '''version "6.6"
alterPixels["rectangle", "l=0, t=0, r=2, b=1", "solid", "v=7"]
'''


def make_ct(path: Path, patient: str = "Doe^John", other_ids: str | None = None) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.3.444.555"
    ds.SeriesInstanceUID = "1.2.3.444.555.666"
    ds.PatientName = patient
    ds.PatientID = "PID"
    ds.PatientBirthDate = "19700101"
    ds.Modality = "CT"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    if other_ids:
        ds.OtherPatientIDs = other_ids
    ds.Rows, ds.Columns = 4, 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = (np.arange(16, dtype="<u2") + 100).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    make_ct(root / "a" / "one.dcm")
    make_ct(root / "b" / "two.dcm", other_ids="reject me")
    (tmp_path / "site.das").write_text(SITE)
    (tmp_path / "pixels.das").write_text(PIXELS)
    return root


@conforms("xnat.chain", "fn.alterPixels")
def test_anonymize_writes_copies_and_reports(inputs: Path, tmp_path: Path, capsys) -> None:
    before = {p: digest(p) for p in inputs.rglob("*.dcm")}
    out = tmp_path / "out"
    rc = main(["anonymize", str(inputs), "--out", str(out), "--script", str(tmp_path / "site.das"),
               "--script", str(tmp_path / "pixels.das"), "--var", "subject=S1", "--var",
               "session=E1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert report["summary"] == {"ok": 1, "rejected": 1, "error": 0, "skipped": 0}
    assert {p: digest(p) for p in inputs.rglob("*.dcm")} == before  # inputs untouched
    written = out / "a" / "one.dcm"
    assert [r["output"] for r in report["files"] if r["status"] == "ok"] == [str(written)]
    assert not (out / "b").exists()
    ds = pydicom.dcmread(written)
    assert (str(ds.PatientName), ds.PatientID) == ("S1", "E1")
    assert "PatientBirthDate" not in ds
    assert ds.StudyInstanceUID == "2.25.151084009948217556417582685022853404996"
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    pixels = ds.pixel_array
    assert pixels[0, 0] == 7 and pixels[0, 1] == 7 and pixels[0, 2] == 102 and pixels[1, 0] == 104


def test_dry_run_prints_the_diff_and_writes_nothing(inputs: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    rc = main(["anonymize", str(inputs / "a"), "--out", str(out), "--script",
               str(tmp_path / "site.das"), "--script", str(tmp_path / "pixels.das"),
               "--var", "subject=S1", "--dry-run"])
    text = capsys.readouterr().out
    assert rc == 0 and not out.exists()
    assert "(0010,0010) PatientName: 'Doe^John' -> 'S1'" in text
    assert "(0010,0030) PatientBirthDate: '19700101' -> (absent)" in text
    assert "alterPixels 0,0,2,1 v=7 (not executed: dry run)" in text


def test_anonymize_reports_script_errors_per_file(inputs: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.das"
    bad.write_text('version "6.6"\n(0010,0010) := lowercase[(0010,2160)]\n')
    rc = main(["anonymize", str(inputs), "--out", str(tmp_path / "o"), "--script", str(bad)])
    text = capsys.readouterr().out
    assert rc == 1 and "Error evaluating lowercase" in text and "0 ok" in text


def test_anonymize_rejects_bad_scripts_and_vars(inputs: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "syntax.das"
    bad.write_text('version "6.6"\n( 0010,0010) := "x"\n')
    assert main(["anonymize", str(inputs), "--out", str(tmp_path / "o"), "--script", str(bad)]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    assert main(["anonymize", str(inputs), "--out", str(tmp_path / "o"), "--script",
                 str(tmp_path / "site.das"), "--var", "novalue"]) == 2


@conforms("de6.syntax")
def test_check_script(tmp_path: Path, capsys) -> None:
    script = tmp_path / "s.das"
    script.write_text(SITE)
    assert main(["check-script", str(script)]) == 0
    text = capsys.readouterr().out
    assert "DicomEdit 6" in text and 'subject "Subject label"' in text and "session" in text
    assert main(["check-script", str(script), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dialect"] == "DE6" and [v["name"] for v in doc["variables"]] == ["subject", "session"]
    script.write_text('version "6.6"\n\n(50XX,XXXX) := "x"\n')
    assert main(["check-script", str(script)]) == 1
    assert f"{script}:3:1: error:" in capsys.readouterr().out


@conforms("fn.alterPixels", "px.monochrome2-16")
def test_pixel_edits_run_through_the_pixel_engine(tmp_path: Path) -> None:
    ds = pydicom.dcmread(make_ct(tmp_path / "x.dcm"))
    outcome = compile_script(PIXELS).apply(ds)
    assert outcome.ok, outcome.error
    assert ds.pixel_array[0, 0] == 7


@conforms("fn.alterPixels")
def test_pixel_edits_only_returned_without_execution(tmp_path: Path) -> None:
    ds = pydicom.dcmread(make_ct(tmp_path / "x.dcm"))
    original = ds.PixelData
    outcome = apply_chain([compile_script(SITE), compile_script(PIXELS)], ds, {"subject": "S"},
                          execute_pixels=False)
    assert outcome.ok and len(outcome.pixel_edits) == 1 and ds.PixelData == original


@conforms("px.no-pixel-data")
def test_objects_without_pixel_data_are_skipped_with_a_message() -> None:
    ds = Dataset()  # e.g. a structured report: the reference handler skips it with a warning
    ds.PatientName = "x"
    outcome = compile_script(PIXELS).apply(ds)
    assert outcome.ok and outcome.messages == ["alterPixels skipped: the object has no pixel data"]


@conforms("fn.alterPixels", "px.bits-12", "err.alter-pixels", "err.position")
def test_pixel_redaction_failure_is_an_error(tmp_path: Path) -> None:
    ds = pydicom.dcmread(make_ct(tmp_path / "x.dcm"))
    ds.BitsAllocated = 12  # not byte-aligned: the pixel engine refuses (§9.7 refusals)
    before = ds.PixelData
    outcome = compile_script(PIXELS).apply(ds)
    assert outcome.status == "error"
    assert outcome.error == ("line 2, column 1: alterPixels: pixel redaction failed: "
                             "BitsAllocated of 12 is not byte-aligned, cannot alter pixels.")
    assert ds.PixelData == before


def test_missing_pixel_engine_fails_closed(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "desktop_client.pixels", None)  # import now raises ImportError
    ds = pydicom.dcmread(make_ct(tmp_path / "x.dcm"))
    outcome = compile_script(PIXELS).apply(ds)
    assert outcome.status == "error" and "pixel redaction is not available" in outcome.error


def test_anonymize_archive_members(tmp_path: Path, capsys) -> None:
    import zipfile

    member = make_ct(tmp_path / "src" / "x.dcm")
    archive = tmp_path / "in" / "study.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(member, "dir/inner/x.dcm")
    (tmp_path / "site.das").write_text(SITE)
    out = tmp_path / "out"
    rc = main(["anonymize", str(archive.parent), "--out", str(out), "--script",
               str(tmp_path / "site.das"), "--var", "subject=Z"])
    assert rc == 0, capsys.readouterr()
    written = out / "study.zip.d" / "dir" / "inner" / "x.dcm"
    assert written.is_file() and str(pydicom.dcmread(written).PatientName) == "Z"


def test_output_paths_never_escape_the_output_folder(tmp_path: Path) -> None:
    from desktop_client.cli.anonymize import output_path
    from desktop_client.scanning.model import Location

    inputs = [tmp_path.resolve()]
    out = tmp_path / "out"
    target = output_path(Location(str(tmp_path / "a.zip"), "../../etc/passwd"), inputs, out)
    assert target == out / "a.zip.d" / "etc" / "passwd"
    target = output_path(Location(str(tmp_path / "sub" / "f.dcm")), inputs, out)
    assert target == out / "sub" / "f.dcm"
