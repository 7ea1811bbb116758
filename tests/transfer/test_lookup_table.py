"""DicomEdit lookup tables at transfer time: given to every script, checked before queueing,
recorded in receipts by checksum only (no mocks: real files, the real queue and pipeline)."""

from __future__ import annotations

import hashlib
import json
from io import BytesIO
from pathlib import Path

import pydicom
import pytest

from desktop_client.cli.main import main
from desktop_client.transfer import (DestinationSpec, ScriptSource, State, TransferQueue,
                                     TransferSpec)
from desktop_client.transfer.pipeline import ObjectJob, process_in_worker
from desktop_client.transfer.spec import LookupTable
from tests.dicomfactory import write_study
from tests.helpers import session_of

SCRIPT = 'version "6.6"\n(0010,0010) := lookup["pn", (0010,0010)]\n'
# The second key has a space inside it (significant, §9.6); the comment and blank lines are ignored.
TABLE = "// pseudonyms\npn/DOE^JANE = SUBJ^ONE\n\npn/ROE^RICHARD X = SUBJ^TWO\n"


def _pdf_text(data: bytes) -> bytes:
    """The text of a PDF receipt as a reader sees it (pypdf; whitespace removed so that a wrapped
    line does not hide a value)."""
    from pypdf import PdfReader

    text = "".join(page.extract_text() or "" for page in PdfReader(BytesIO(data)).pages)
    return "".join(text.split()).encode()


@pytest.fixture(autouse=True)
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))


def _spec(src: Path, archive: Path, table: LookupTable | None, label: str = "S1_CT") -> TransferSpec:
    return TransferSpec(session=session_of(src), destination=DestinationSpec.parse(str(archive)),
                        project="P", subject="S1", session_label=label,
                        scripts=[ScriptSource("project", SCRIPT)], lookup_table=table,
                        receipt_dir=str(archive.parent / "receipts"))


def test_lookup_rewrites_names_and_receipts_hold_no_values(tmp_path: Path) -> None:
    jane = write_study(tmp_path / "jane", series=2, files=3)
    richard = write_study(tmp_path / "richard", series=1, files=2, patient_name="ROE^RICHARD X", seed=1)
    table = LookupTable("pseudonyms.txt", TABLE)
    q = TransferQueue(tmp_path / "q.sqlite3", workers=2)
    q.start()
    try:
        ids = [q.submit(_spec(jane, tmp_path / "archive", table)),
               q.submit(_spec(richard, tmp_path / "archive", table, label="S1_CT2"))]
        for transfer_id in ids:
            assert q.wait(transfer_id, timeout=60) is State.DONE, q.status(transfer_id).error
        receipt_paths = [q.receipt_paths(i) for i in ids]
    finally:
        q.close()
    names = {label: {str(pydicom.dcmread(f).PatientName)
                     for f in (tmp_path / "archive" / "P" / "S1" / label).glob("SCANS/*/DICOM/*.dcm")}
             for label in ("S1_CT", "S1_CT2")}
    assert names == {"S1_CT": {"SUBJ^ONE"}, "S1_CT2": {"SUBJ^TWO"}}

    receipt = json.loads(receipt_paths[0][0].read_text())
    assert receipt["lookup_table"] == {"name": "pseudonyms.txt", "entries": 2,
                                       "sha256": hashlib.sha256(TABLE.encode()).hexdigest()}
    manifest = json.loads((tmp_path / "archive/P/S1/S1_CT/manifest.json").read_text())
    assert manifest["lookup_table"] == receipt["lookup_table"]
    pdf = _pdf_text(receipt_paths[0][1].read_bytes())
    assert b"Lookuptablepseudonyms.txt(2entries)" in pdf and receipt["lookup_table"]["sha256"].encode() in pdf
    for secret in (b"DOE", b"JANE", b"SUBJ^ONE", b"ROE", b"SUBJ^TWO"):
        for text in (receipt_paths[0][0].read_bytes(), pdf, receipt_paths[1][0].read_bytes(),
                     (tmp_path / "archive/P/S1/S1_CT/manifest.json").read_bytes()):
            assert secret not in text, secret


def test_worker_applicators_get_their_own_copy_of_the_table(tmp_path: Path) -> None:
    """The process-pool entry point compiles the scripts with the job's table."""
    src = write_study(tmp_path / "src", series=1, files=1)
    instance = next(session_of(src).iter_instances())
    job = ObjectJob("t1", (ScriptSource("project", SCRIPT),), (), (), instance.location, "1.2", "1",
                    lookup_table=TABLE)
    outcome = process_in_worker(job)
    assert outcome.status == "ok", outcome.reason
    assert str(pydicom.dcmread(BytesIO(outcome.data)).PatientName) == "SUBJ^ONE"


def test_spec_with_a_lookup_table_round_trips_through_json(tmp_path: Path) -> None:
    table = LookupTable("t.txt", "pn/SOMEONE^ELSE = X\n")
    spec = _spec(write_study(tmp_path / "src", series=1, files=1), tmp_path / "archive", table)
    again = TransferSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again.lookup_table == table
    assert TransferSpec.from_json({**spec.to_json(), "lookup_table": None}).lookup_table is None


def test_malformed_table_is_refused_before_anything_is_queued(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("pn/DOE^JANE = SUBJ^ONE\nDOE^JANE SUBJ^ONE\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        LookupTable.read(bad)
    assert "bad.txt: line 2" in str(err.value) and "DOE" not in str(err.value)
    empty = tmp_path / "empty.txt"
    empty.write_text("// nothing yet\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no entries"):
        LookupTable.read(empty)

    q = TransferQueue(tmp_path / "q.sqlite3", workers=0)
    try:
        spec = _spec(write_study(tmp_path / "src", series=1, files=1), tmp_path / "archive",
                     LookupTable("bad.txt", bad.read_text()))
        with pytest.raises(ValueError, match="line 2"):
            q.submit(spec)
        assert q.list() == []
    finally:
        q.close()
    assert not (tmp_path / "archive").exists()


def test_cli_upload_with_lookup_table(tmp_path: Path, capsys) -> None:
    src = write_study(tmp_path / "src", series=1, files=2)
    script, table = tmp_path / "anon.das", tmp_path / "names.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    table.write_text("pn/DOE^JANE  =  SUBJ^ONE\n", encoding="utf-8")
    archive = tmp_path / "archive"
    common = ["upload", str(src), "--to", str(archive), "--project", "P", "--subject", "S1",
              "--session", "S1_CT", "--site-script", str(script), "--workers", "1"]
    # In the site slot: the default site script would empty the name the lookup is keyed on.

    bad = tmp_path / "bad.txt"
    bad.write_text("pn/A = B\n\nnot a table line\n", encoding="utf-8")
    assert main([*common, "--lookup-table", str(bad)]) == 2
    assert "bad.txt: line 3" in capsys.readouterr().err
    assert not archive.exists()

    assert main([*common, "--lookup-table", str(table), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["sessions"][0]["lookup_table"]["entries"] == 1

    assert main([*common, "--lookup-table", str(table)]) == 0
    result = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()][-1]
    transfer = result["transfers"][0]
    assert transfer["state"] == "done"
    files = list(archive.glob("P/S1/S1_CT/SCANS/*/DICOM/*.dcm"))
    assert len(files) == 2 and {str(pydicom.dcmread(f).PatientName) for f in files} == {"SUBJ^ONE"}
    receipt = json.loads(Path(transfer["receipt_json"]).read_text())
    assert receipt["lookup_table"]["name"] == "names.txt" and receipt["lookup_table"]["entries"] == 1
