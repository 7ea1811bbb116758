"""Private header text the scripts keep (issue 14 §2): checked against the destination's real
script chain, held back until a person decides, stripped by the built-in step or sent by
decision, and every outcome in the receipt — for the local archive and for XNAT alike."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from desktop_client.cli.main import main
from desktop_client.plan.privatetext import (REMOVED_BY_SCRIPTS, REMOVED_BY_STEP, SENT_BY_DECISION, STRIP_NAME,
                                             ScriptChain, check_scan, strip_script)
from desktop_client.scanning import scan_paths
from desktop_client.scanning.freetext import header_values, identifying_carriers
from desktop_client.scripts import ScriptSource, default_site_script
from tests.dicomfactory import image
from tests.privacy.private_study import COPIED, KEEPS_PRIVATE, PLAIN, VENDOR, write_series, write_study


@pytest.fixture
def study(tmp_path: Path) -> Path:
    return write_study(tmp_path)


def _scans(root: Path) -> dict:
    (session,) = scan_paths([root], use_cache=False).sessions
    return dict(session.scans)


def test_the_check_runs_the_chain_instead_of_claiming(study: Path) -> None:
    scans = _scans(study)
    none = check_scan(scans[COPIED], ScriptChain(()))
    assert [c.where for c in none.kept] == ["private (0019,1010)"]
    assert none.kept[0].matches == ("PatientName",) and "PatientName" in none.reason()
    assert "DOE" not in none.reason()  # names of attributes only, never the values
    keeps = check_scan(scans[COPIED], ScriptChain((ScriptSource("site", KEEPS_PRIVATE),)))
    assert keeps.kept and keeps.reason()
    default = check_scan(scans[COPIED], ScriptChain((ScriptSource("site", default_site_script()),)))
    assert not default.kept and default.all_removed and not default.reason()
    unknown = check_scan(scans[COPIED], ScriptChain(known=False))
    assert unknown.kept and "could not be read" in unknown.reason()
    # Vendor strings identify nobody: named, never held.
    vendor = check_scan(scans[VENDOR], ScriptChain(()))
    assert vendor.notes and not vendor.identifying and not vendor.reason()
    assert check_scan(scans[PLAIN], ScriptChain(())).notes == ()


def test_the_strip_step_is_a_dicomedit_script_that_keeps_numbers(study: Path) -> None:
    from desktop_client.dicomedit import apply_chain, compile_script

    check = check_scan(_scans(study)[COPIED], ScriptChain(()))
    text = strip_script({COPIED: check.strippable})
    assert f'if ((0020,000E) = "{COPIED}")' in text and "*/(0019,{ACME 1.0}10)" in text
    ds = pydicom.dcmread(study / "copied" / "1.dcm")
    values = header_values(ds)
    assert apply_chain([compile_script(text)], ds, {}, execute_pixels=False).ok
    assert identifying_carriers(ds, values) == []
    assert str(ds[0x00191011].value) == "2.5"  # numeric private data stays
    other = pydicom.dcmread(study / "vendor" / "1.dcm")
    before = other.to_json_dict()
    apply_chain([compile_script(text)], other, {}, execute_pixels=False)
    assert other.to_json_dict() == before  # other series untouched


def _upload(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["upload", *args, "--workers", "0"])
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines() if line.strip().startswith("{")]
    return code, (lines[-1] if lines else None), out.err


def _receipt(result: dict) -> dict:
    (transfer,) = result["transfers"]
    return json.loads(Path(transfer["receipt_json"]).read_text())


def _written(folder: Path) -> dict[str, list[pydicom.Dataset]]:
    out: dict[str, list[pydicom.Dataset]] = {}
    for path in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        out.setdefault(str(ds.SeriesDescription), []).append(ds)
    return out


def _local(study: Path, tmp_path: Path, capsys, *extra: str) -> tuple[int, dict | None, str, Path]:
    site = tmp_path / "keeps-private.das"
    site.write_text(KEEPS_PRIVATE)
    archive = tmp_path / "archive"
    code, result, err = _upload(capsys, str(study), "--to", str(archive), "--project", "P",
                                "--site-script", str(site), *extra)
    return code, result, err, archive


def test_cli_holds_back_private_text_the_scripts_keep(study: Path, tmp_path: Path, capsys) -> None:
    code, result, err, archive = _local(study, tmp_path, capsys)
    assert code == 1
    assert "held back" in err and "copied" in err and "private (0019,1010)" in err
    assert "--strip-private-text" in err and "DOE" not in err
    written = _written(archive)
    assert "copied" not in written  # nothing of it was sent
    assert len(written["vendor"]) == 3 and len(written["plain"]) == 2  # the rest of the batch went
    scans = {s["series_instance_uid"]: s for s in _receipt(result)["scans"]}
    assert scans[COPIED]["status"] == "excluded" and "held back" in scans[COPIED]["exclude_reason"]
    assert scans[VENDOR]["private_text"]["outcome"].startswith("sent: it contains none")


def test_strip_private_text_sends_it_without_the_tag(study: Path, tmp_path: Path, capsys) -> None:
    code, result, err, archive = _local(study, tmp_path, capsys, "--strip-private-text", COPIED)
    assert code == 0, err
    copied = _written(archive)["copied"]
    assert len(copied) == 3
    for ds in copied:
        assert (0x0019, 0x1010) not in ds and "DOE" not in str(ds)
        assert str(ds[0x00191011].value) == "2.5"
    receipt = _receipt(result)
    assert STRIP_NAME in [s["name"] for s in receipt["scripts"]]
    record = {s["series_instance_uid"]: s for s in receipt["scans"]}[COPIED]["private_text"]
    assert record["outcome"] == REMOVED_BY_STEP and record["verified_per_object"]
    assert record["identifying"] == ["private (0019,1010) holds the patient's PatientName"]
    assert record["same_scripts_applied"] is True
    from pypdf import PdfReader

    pdf = PdfReader(result["transfers"][0]["receipt_pdf"])
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in pdf.pages)
    assert "Carried private text: removed by the built-in step" in text, text
    assert "every object checked again after the scripts" in text and "DOE" not in text


def test_accept_private_text_sends_it_and_the_receipt_says_so(study: Path, tmp_path: Path, capsys) -> None:
    code, result, err, archive = _local(study, tmp_path, capsys, "--accept-private-text", "all")
    assert code == 0, err
    copied = _written(archive)["copied"]
    assert all(str(ds[0x00191010].value) == "DOE^JANE" for ds in copied)  # the person's choice
    record = {s["series_instance_uid"]: s for s in _receipt(result)["scans"]}[COPIED]["private_text"]
    assert record["outcome"] == SENT_BY_DECISION and not record["verified_per_object"]


def test_default_site_script_removes_it_checked(study: Path, tmp_path: Path, capsys) -> None:
    archive = tmp_path / "archive"
    code, result, err = _upload(capsys, str(study), "--to", str(archive), "--project", "P")
    assert code == 0, err
    record = {s["series_instance_uid"]: s for s in _receipt(result)["scans"]}[COPIED]["private_text"]
    assert record["outcome"] == REMOVED_BY_SCRIPTS and record["verified_per_object"]
    assert "removed by the anonymization scripts (checked" in err


def test_an_object_the_check_did_not_see_fails_closed(tmp_path: Path, capsys) -> None:
    """The check reads the first, middle and last objects; the upload checks every one after its
    scripts. An object with the name in another private tag is not sent, and says why."""
    root = tmp_path / "study"
    # Five objects: the picks are 0, 2 and 4; object 3 carries the name in (0019,1012) too.
    write_series(root, COPIED, "copied", 5, {0x10: ("LO", "DOE^JANE")}, extra={3: {0x12: ("LO", "JANE DOE")}})
    site = tmp_path / "keeps-private.das"
    site.write_text(KEEPS_PRIVATE)
    code, result, err = _upload(capsys, str(root), "--to", str(tmp_path / "archive"), "--project", "P",
                                "--site-script", str(site), "--strip-private-text", "all")
    assert code == 1
    scan = _receipt(result)["scans"][0]
    assert scan["status"] == "failed"
    reasons = [f["reason"] for f in scan["failed"]]
    assert any("private (0019,1012) holds the patient's PatientName" in r for r in reasons), reasons
    assert not list((tmp_path / "archive").rglob("*.dcm"))  # the scan fails as a whole


def test_xnat_site_script_that_keeps_private_tags_holds_the_scan(study: Path, capsys, monkeypatch,
                                                                 xnat_emulator) -> None:
    """The XNAT site and project scripts are fetched and run here exactly as the upload applies
    them; the receipt records the outcome for XNAT too."""
    monkeypatch.setenv("XNAT_PASSWORD", "admin")
    xnat_emulator.set_site_script(KEEPS_PRIVATE)
    args = (str(study), "--to", xnat_emulator.url, "--user", "admin", "--project", "DEMO",
            "--allow-http")
    code, result, err = _upload(capsys, *args)
    assert code == 1 and "copied" in err and "private (0019,1010)" in err
    receipt = _receipt(result)
    scans = {s["series_instance_uid"]: s for s in receipt["scans"]}
    assert scans[COPIED]["status"] == "excluded"
    assert scans[VENDOR]["status"] == "sent" and scans[VENDOR]["private_text"]["carried"] == ["private text"]
    # Stripped: sent, and the receipt says how, with the scripts that were checked.
    code, result, err = _upload(capsys, *args, "--strip-private-text", "all", "--session", "S2")
    assert code == 0, err
    receipt = _receipt(result)
    record = {s["series_instance_uid"]: s for s in receipt["scans"]}[COPIED]["private_text"]
    assert record["outcome"] == REMOVED_BY_STEP and record["same_scripts_applied"] is True
    (entry,) = [e for e in xnat_emulator.prearchive_entries("DEMO") if e.name == "S2"]
    stored = [pydicom.dcmread(p) for p in xnat_emulator.prearchive_files(entry)]
    copied = [ds for ds in stored if ds.SeriesDescription == "copied"]
    assert len(copied) == 3 and all((0x0019, 0x1010) not in ds for ds in copied)


def test_a_script_that_fails_or_cannot_compile_fails_closed(study: Path) -> None:
    scan = _scans(study)[COPIED]
    failing = check_scan(scan, ScriptChain((ScriptSource("site", 'version "6.3"\n(0010,0010) := "X"\necho\n'),)))
    assert failing.kept and "the scripts failed on this header" in failing.reason()
    broken = check_scan(scan, ScriptChain((ScriptSource("site", 'version "6.3"\n(50XX,XXXX) := "X"\n'),)))
    assert broken.kept and "cannot be used" in broken.reason()


def test_implicit_vr_private_text_is_found_and_stripped_at_any_depth() -> None:
    """Implicit VR files (most CT archives) give unknown private elements as UN bytes."""
    import io

    from desktop_client.dicomedit import apply_chain, compile_script
    from desktop_client.scanning.freetext import Carrier

    ds = image(study_uid="1.2.77.2", series_uid="1.2.77.2.1", sop_uid="1.2.77.2.1.1",
               transfer_syntax=ImplicitVRLittleEndian)
    ds.private_block(0x0029, "SOME VENDOR 9", create=True).add_new(0x10, "LO", "DOE^JANE")
    item = pydicom.Dataset()
    item.private_block(0x0029, "SOME VENDOR 9", create=True).add_new(0x11, "LT", "JANE DOE, scanned")
    ds.add_new(0x00081140, "SQ", [item])
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    read = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)
    assert read[0x00291010].VR == "UN"
    values = header_values(read)
    carriers = identifying_carriers(read, values)
    assert {c.where for c in carriers} == {"private (0029,1010)", "private (0029,1011)"}
    script = strip_script({"1.2.77.2.1": carriers})
    assert apply_chain([compile_script(script)], read, {}, execute_pixels=False).ok
    assert identifying_carriers(read, values) == []
    # A private element whose creator cannot be named: the series loses all its private elements.
    orphan = strip_script({"1.2.77.2.1": [Carrier("private (0029,1010)", ("PatientName",), "")]})
    assert "removeAllPrivateTags" in orphan
