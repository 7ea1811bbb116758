"""``xnat-upload upload`` and ``xnat-upload transfers`` end to end (no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.cli.main import main
from desktop_client.dicomedit.functions import hash_uid
from desktop_client.scripts import DEFAULT_SITE_NAME
from desktop_client.transfer import State, TransferQueue
from desktop_client.core.geometry import Rect
from tests.dicomfactory import BURN, BURN_VALUE, write_study
from tests.helpers import session_of


@pytest.fixture(autouse=True)
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_upload_local_with_rect_exclude_and_script(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=3, files=2)
    scans = session_of(src).sorted_scans()
    redact, exclude = scans[0].series_instance_uid, scans[2].series_instance_uid
    script = tmp_path / "anon.das"
    script.write_text('(0010,0010) := "ANON^{subject}"\n-(0010,0030)\n'.replace("{subject}", "X"))
    l, t, r, b = BURN
    code = main(["upload", str(src), "--to", str(tmp_path / "archive"), "--project", "P1",
                 "--subject", "S1", "--session", "S1_CT", "--script", str(script),
                 "--rect", f"{redact}:{l},{t},{r},{b}", "--exclude", exclude, "--workers", "1"])
    lines = _lines(capsys.readouterr().out)
    assert code == 0, lines[-1]
    result = lines[-1]
    assert result["event"] == "result"
    transfer = result["transfers"][0]
    assert transfer["state"] == "done" and transfer["files_sent"] == 4
    assert any(line["event"] == "progress" for line in lines)
    files = sorted((tmp_path / "archive" / "P1" / "S1" / "S1_CT" / "SCANS").glob("*/DICOM/*.dcm"))
    assert {f.parent.parent.name for f in files} == {"1", "2"}
    for f in files:
        ds = pydicom.dcmread(f)
        assert str(ds.PatientName) == "ANON^X" and "PatientBirthDate" not in ds
        box = ds.pixel_array[t:b, l:r]
        if ds.SeriesInstanceUID == hash_uid(redact):  # the default site script hashes UIDs
            assert np.all(box == 0)
        else:
            assert np.all(box == BURN_VALUE)
    receipt = json.loads(Path(transfer["receipt_json"]).read_text())
    # The default site script first (issue 14), then the given file in the project slot.
    assert [s["name"] for s in receipt["scripts"]] == [DEFAULT_SITE_NAME, "project: anon.das"]
    assert len(receipt["scripts"][1]["sha256"]) == 64
    assert {s["status"] for s in receipt["scans"]} == {"sent", "excluded"}

    assert main(["transfers", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["state"] == "done"
    assert main(["transfers", "receipt", transfer["id"][:8]]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith(".pdf")


def test_dry_run_sends_nothing(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=1, files=2)
    assert main(["upload", str(src), "--to", str(tmp_path / "archive"), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] and plan["sessions"][0]["scans"][0]["files"] == 2
    assert not (tmp_path / "archive").exists()


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=1, files=1)
    assert main(["upload", str(src), "--to", "ftp://x", "--dry-run"]) == 2
    assert "unsupported destination" in capsys.readouterr().err
    assert main(["upload", str(src), "--to", str(tmp_path / "a"), "--rect", "1.2.3:0,0,5,5"]) == 2
    assert "not in the scanned paths" in capsys.readouterr().err
    assert main(["upload", str(src), "--to", "http://127.0.0.1:9", "--project", "P"]) == 2
    assert "needs --user" in capsys.readouterr().err


def test_failed_redaction_is_never_sent_then_excluded_and_resumed(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=2, files=2)
    broken = sorted(src.glob("s2_*.dcm"))[0]
    ds = pydicom.dcmread(broken)
    ds.PixelData = ds.PixelData[:100]  # cannot be decoded, so cannot be redacted or verified
    ds.save_as(broken, enforce_file_format=True)
    uid = ds.SeriesInstanceUID
    code = main(["upload", str(src), "--to", str(tmp_path / "archive"), "--project", "P1",
                 "--subject", "S1", "--session", "S1_CT", "--rect", f"{uid}:0,0,4,4",
                 "--workers", "0"])
    transfer = _lines(capsys.readouterr().out)[-1]["transfers"][0]
    assert code == 1 and transfer["state"] == "failed"
    assert "redaction" in transfer["error"] and "scan 2" in transfer["error"]
    # Nothing of the failed session became final in the archive.
    assert not list((tmp_path / "archive").glob("P1/S1/S1_CT/SCANS/*/DICOM/*.dcm"))
    queue = TransferQueue(workers=0)
    queue.exclude_scan(transfer["id"], uid, "cannot be redacted")
    queue.close()
    assert main(["transfers", "resume", transfer["id"][:8]]) == 0
    files = list((tmp_path / "archive").glob("P1/S1/S1_CT/SCANS/*/DICOM/*.dcm"))
    assert len(files) == 2 and {f.parent.parent.name for f in files} == {"1"}


def test_upload_to_xnat_emulator(xnat_emulator, tmp_path: Path, capsys,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_PASSWORD", "admin")
    src = write_study(tmp_path / "src", series=2, files=2)
    code = main(["upload", str(src), "--to", xnat_emulator.url, "--user", "admin",
                 "--project", "DEMO", "--subject-scheme", "patient-id", "--workers", "1"])
    transfer = _lines(capsys.readouterr().out)[-1]["transfers"][0]
    assert code == 0, transfer
    assert transfer["session"] == "PID123_CT_1"
    assert transfer["verification"]["ok"]
    assert main(["transfers", "show", transfer["id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == State.DONE.value and shown["log"]


def test_template_by_name_redacts_matching_scans(tmp_path: Path, capsys) -> None:
    from desktop_client.templates import MatchKeys, TemplateStore

    src = write_study(tmp_path / "src", series=2, files=1)
    scan = session_of(src).sorted_scans()[0]
    l, t, r, b = BURN
    TemplateStore().create("CT corner", MatchKeys.of(scan), [Rect(l, t, r, b)])
    code = main(["upload", str(src), "--to", str(tmp_path / "archive"), "--template", "ct corner",
                 "--workers", "0"])
    assert code == 0, capsys.readouterr()
    files = list((tmp_path / "archive").glob("LOCAL/*/*/SCANS/*/DICOM/*.dcm"))
    assert len(files) == 2
    for f in files:  # both scans have the template's size/modality/class: both redacted
        assert np.all(pydicom.dcmread(f).pixel_array[t:b, l:r] == 0)
    assert main(["upload", str(src), "--to", str(tmp_path / "x"), "--template", "nope"]) == 2
    assert "no template named" in capsys.readouterr().err


def test_zip_source_is_read_in_place_and_left_untouched(tmp_path: Path, capsys) -> None:
    import hashlib
    import zipfile

    src = write_study(tmp_path / "src", series=1, files=3)
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(src.glob("*.dcm")):
            zf.write(p, f"dicom/{p.name}")
    before = hashlib.sha256(archive.read_bytes()).hexdigest()
    code = main(["upload", str(archive), "--to", str(tmp_path / "out"), "--subject", "Z1",
                 "--workers", "0"])
    assert code == 0, capsys.readouterr()
    assert len(list((tmp_path / "out").glob("LOCAL/Z1/*/SCANS/1/DICOM/*.dcm"))) == 3
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == before


def test_labels_csv_picks_sessions_and_labels(tmp_path: Path, capsys) -> None:
    first = write_study(tmp_path / "src" / "a", series=1, files=1, seed=1)
    write_study(tmp_path / "src" / "b", series=1, files=1, seed=2)
    study_uid = session_of(first).study_instance_uid
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("Study UID,XNAT Subject ID,Session Label\n"
                        f"{study_uid},Subj_7,Visit-1\n")
    code = main(["upload", str(tmp_path / "src"), "--to", str(tmp_path / "out"),
                 "--labels", str(csv_path), "--workers", "0"])
    result = _lines(capsys.readouterr().out)[-1]
    assert code == 0 and len(result["transfers"]) == 1
    assert (result["transfers"][0]["subject"], result["transfers"][0]["session"]) == ("Subj_7", "Visit-1")
    csv_path.write_text(f"Study UID,XNAT Subject ID,Session Label\n{study_uid},Subj 7,V1\n")
    assert main(["upload", str(tmp_path / "src"), "--to", str(tmp_path / "out"),
                 "--labels", str(csv_path), "--dry-run"]) == 2
    assert "letters, digits" in capsys.readouterr().err


def test_transfers_resume_after_a_crash_and_cancel(tmp_path: Path, capsys) -> None:
    from desktop_client.transfer import DestinationSpec, TransferSpec

    session = session_of(write_study(tmp_path / "src", series=1, files=2))
    queue = TransferQueue(workers=0)  # the default queue the CLI uses (in XNAT_DESKTOP_HOME)
    spec = TransferSpec(session=session, destination=DestinationSpec.parse(str(tmp_path / "out")),
                        project="P", subject="S", session_label="E")
    crashed = queue.submit(spec)
    queue.store.update(crashed, state=State.RUNNING)  # as a killed process leaves it
    other = queue.submit(spec)
    queue.close()
    assert main(["transfers", "list"]) == 0
    assert "running" in capsys.readouterr().out
    assert main(["transfers", "cancel", other[:6]]) == 0
    assert main(["transfers", "resume", crashed[:6], "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):].splitlines()[-1])["transfers"][0]["state"] == "done"
    queue = TransferQueue(workers=0)
    assert queue.status(other).state is State.CANCELLED
    queue.close()
    assert main(["transfers", "show", "nope"]) == 2
