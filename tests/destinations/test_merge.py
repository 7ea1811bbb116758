"""Deliberately adding scans to a session that already exists (``overwrite="append"``), and
refusing to do it by accident — against the XNAT emulator and the local archive folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_client.cli.main import main
from desktop_client.transfer import (DestinationSpec, RetryPolicy, ScanChoice, ScriptSource,
                                     State, TransferQueue, TransferSpec)
from desktop_client.transfer.spec import MERGE
from tests.dicomfactory import write_study
from tests.helpers import session_of


@pytest.fixture(autouse=True)
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))


def _queue(tmp_path: Path) -> TransferQueue:
    q = TransferQueue(tmp_path / "q.sqlite3", workers=1, credentials=lambda d: "admin",
                      retry=RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2))
    q.start()
    return q


def _half(src: Path, dest: str, series: int, subject: str = "SUBJ01", **kw) -> TransferSpec:
    """Only series number ``series`` of the two-series study in ``src`` (the other excluded)."""
    session = session_of(src)
    choices = {s.series_instance_uid: ScanChoice(s.series_instance_uid, excluded=True)
               for s in session.sorted_scans() if s.series_number != series}
    return TransferSpec(session=session, destination=DestinationSpec.parse(dest, username="admin"),
                        project="DEMO", subject=subject, session_label="SUBJ01_CT1", choices=choices,
                        receipt_dir=str(src.parent / "receipts"), **{"scripts": [], **kw})


def _run(q: TransferQueue, spec: TransferSpec) -> str:
    transfer_id = q.submit(spec)
    q.wait(transfer_id, timeout=120)
    return transfer_id


def _imports(emulator) -> int:
    return sum(1 for _, path, _ in emulator.request_log if "/services/import" in path)


def test_xnat_merge_adds_scans_only_when_asked(xnat_emulator, tmp_path: Path) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    src = write_study(tmp_path / "src", series=2, files=3)
    q = _queue(tmp_path)
    try:
        first = _run(q, _half(src, xnat_emulator.url, 1))
        assert q.status(first).state is State.DONE, q.status(first).error
        assert not json.loads(q.receipt_paths(first)[0].read_text())["merged_into_existing_session"]

        imports = _imports(xnat_emulator)
        refused = _run(q, _half(src, xnat_emulator.url, 2))
        assert q.status(refused).state is State.FAILED
        error = q.status(refused).error
        assert "SUBJ01_CT1 already exists in the archive of project DEMO" in error and "merge" in error
        assert _imports(xnat_emulator) == imports  # nothing was sent
        assert [s.id for s in xnat_emulator.experiment("DEMO", "SUBJ01_CT1").scans] == ["1"]

        merged = _run(q, _half(src, xnat_emulator.url, 2, overwrite=MERGE))
        status = q.status(merged)
        assert status.state is State.DONE, status.error
        assert status.verification["ok"]
        scans = xnat_emulator.experiment("DEMO", "SUBJ01_CT1").scans
        assert sorted((s.id, len(s.files)) for s in scans) == [("1", 3), ("2", 3)]
        receipt = json.loads(q.receipt_paths(merged)[0].read_text())
        assert receipt["merged_into_existing_session"] is True
        assert [s["scan_id"] for s in receipt["scans"] if s["status"] == "sent"] == ["2"]
    finally:
        q.close()


def test_xnat_merge_into_another_subjects_session_is_refused_before_sending(xnat_emulator,
                                                                           tmp_path: Path) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    src = write_study(tmp_path / "src", series=2, files=2)
    q = _queue(tmp_path)
    try:
        assert q.status(_run(q, _half(src, xnat_emulator.url, 1))).state is State.DONE
        imports = _imports(xnat_emulator)
        other = _run(q, _half(src, xnat_emulator.url, 2, subject="SUBJ02", overwrite=MERGE))
        assert q.status(other).state is State.FAILED
        assert "belongs to subject SUBJ01, not SUBJ02" in q.status(other).error
        # ...and without merge, the label is recognised under the other subject too.
        plain = _run(q, _half(src, xnat_emulator.url, 2, subject="SUBJ02"))
        assert "already exists in the archive" in q.status(plain).error
        assert _imports(xnat_emulator) == imports
    finally:
        q.close()


def test_xnat_merge_into_a_prearchive_session_is_refused(xnat_emulator, tmp_path: Path) -> None:
    src = write_study(tmp_path / "src", series=2, files=2)  # DEMO keeps uploads in the prearchive
    q = _queue(tmp_path)
    try:
        assert q.status(_run(q, _half(src, xnat_emulator.url, 1))).state is State.DONE
        merged = _run(q, _half(src, xnat_emulator.url, 2, overwrite=MERGE))
        assert "waiting in the prearchive" in q.status(merged).error
        assert len(xnat_emulator.prearchive_entries("DEMO")) == 1
    finally:
        q.close()


@pytest.mark.parametrize("fault", ["500-import", "504-commit"])
def test_xnat_merge_survives_faults_and_retries(xnat_emulator, tmp_path: Path, fault: str) -> None:
    """Retried imports and an unclear commit: the "sending" state keeps the transfer from taking
    its own prearchive entry for someone else's session, and the merge ends verified, once."""
    xnat_emulator.set_prearchive_code("DEMO", 4)
    src = write_study(tmp_path / "src", series=2, files=3)
    q = _queue(tmp_path)
    try:
        assert q.status(_run(q, _half(src, xnat_emulator.url, 1))).state is State.DONE
        if fault == "500-import":
            xnat_emulator.faults.fail_nth_request(1, status=500, path="/services/import")
        else:
            xnat_emulator.faults.gateway_timeout_after_body("/data/prearchive")
        merged = _run(q, _half(src, xnat_emulator.url, 2, overwrite=MERGE, max_chunk_files=2))
        status = q.status(merged)
        assert status.state is State.DONE, status.error
        assert [status for _, _, status in xnat_emulator.request_log].count(
            500 if fault == "500-import" else 504) == 1
        scans = xnat_emulator.experiment("DEMO", "SUBJ01_CT1").scans
        assert sorted((s.id, len(s.files)) for s in scans) == [("1", 3), ("2", 3)]
        assert not xnat_emulator.prearchive_entries("DEMO")
    finally:
        q.close()


def test_cli_merge_into_xnat_session(xnat_emulator, tmp_path: Path, capsys,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_PASSWORD", "admin")
    xnat_emulator.set_prearchive_code("DEMO", 4)
    first, second = write_study(tmp_path / "a", series=1, files=2), tmp_path / "b"
    write_study(second, series=2, files=2)
    for p in second.glob("s1_*.dcm"):
        p.unlink()  # the same study, series 2 only
    common = ["upload", "--to", xnat_emulator.url, "--user", "admin", "--project", "DEMO",
              "--subject", "SUBJ01", "--session", "SUBJ01_CT1", "--workers", "1"]
    assert main([common[0], str(first), *common[1:]]) == 0
    capsys.readouterr()
    assert main([common[0], str(second), *common[1:]]) == 2
    err = capsys.readouterr().err
    assert "SUBJ01_CT1 already exists in project DEMO" in err and "--merge" in err
    assert main([common[0], str(second), *common[1:], "--merge"]) == 0
    capsys.readouterr()
    scans = xnat_emulator.experiment("DEMO", "SUBJ01_CT1").scans
    assert sorted((s.id, len(s.files)) for s in scans) == [("1", 2), ("2", 2)]


def test_local_archive_refuses_then_merges_and_never_overwrites(tmp_path: Path) -> None:
    src = write_study(tmp_path / "src", series=2, files=3)
    archive = tmp_path / "archive"
    session_dir = archive / "DEMO" / "SUBJ01" / "SUBJ01_CT1"
    q = _queue(tmp_path)
    try:
        first = _run(q, _half(src, str(archive), 1))
        assert q.status(first).state is State.DONE, q.status(first).error
        before = {p: p.read_bytes() for p in session_dir.rglob("*.dcm")}

        refused = _run(q, _half(src, str(archive), 2))
        assert "SUBJ01_CT1 already exists in project DEMO" in q.status(refused).error
        other = _run(q, _half(src, str(archive), 2, subject="SUBJ02", overwrite=MERGE))
        assert "belongs to subject SUBJ01, not SUBJ02" in q.status(other).error
        assert not (archive / "DEMO" / "SUBJ02").exists()

        merged = _run(q, _half(src, str(archive), 2, overwrite=MERGE))
        status = q.status(merged)
        assert status.state is State.DONE and status.verification["ok"], status.error
        assert {p.parent.parent.name for p in session_dir.rglob("*.dcm")} == {"1", "2"}
        assert all(p.read_bytes() == data for p, data in before.items())
        manifest = json.loads((session_dir / "manifest.json").read_text())
        assert sorted(manifest["scans"]) == ["1", "2"] and len(manifest["scans"]["1"]["files"]) == 3
        assert [t["transfer_id"] for t in manifest["earlier_transfers"]] == [first]
        assert json.loads(q.receipt_paths(merged)[0].read_text())["merged_into_existing_session"]

        # Series 1 again through a script that changes the headers but keeps the SOP Instance
        # UIDs: same file names, different content. Refused whole; nothing is replaced.
        clash = _run(q, _half(src, str(archive), 1, overwrite=MERGE,
                              scripts=[ScriptSource("project", '(0010,0010) := "OTHER"\n')]))
        assert q.status(clash).state is State.FAILED
        assert "already exists in session SUBJ01_CT1 with different content" in q.status(clash).error
        assert all(p.read_bytes() == data for p, data in before.items())
        # Identical files again are harmless.
        again = _run(q, _half(src, str(archive), 1, overwrite=MERGE))
        assert q.status(again).state is State.DONE, q.status(again).error
        assert all(p.read_bytes() == data for p, data in before.items())
    finally:
        q.close()
