"""The XNAT destination against the protocol-faithful emulator, including its fault knobs."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from desktop_client.transfer import (DestinationSpec, RetryPolicy, State, TransferQueue,
                                     TransferSpec)
from tests.dicomfactory import write_study
from tests.helpers import session_of


def _queue(tmp_path: Path, password: str = "admin") -> TransferQueue:
    q = TransferQueue(tmp_path / "q.sqlite3", workers=1, credentials=lambda d: password,
                      retry=RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2))
    q.start()
    return q


def _spec(tmp_path: Path, url: str, **kw) -> TransferSpec:
    session = session_of(write_study(tmp_path / "src", series=2, files=3))
    return TransferSpec(session=session, destination=DestinationSpec.parse(url, username="admin"),
                        project="DEMO", subject="SUBJ01", session_label="SUBJ01_CT1", **kw)


def _check_once(emulator, archived: bool, patient_name: str | None = None) -> None:
    if archived:
        files = emulator.archived_files("DEMO", "SUBJ01", "SUBJ01_CT1")
    else:
        entries = [e for e in emulator.prearchive_entries("DEMO") if e.name == "SUBJ01_CT1"]
        assert len(entries) == 1
        files = emulator.prearchive_files(entries[0])
    files = [f for f in files if str(f).endswith(".dcm")]
    headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    uids = [ds.SOPInstanceUID for ds in headers]
    assert len(uids) == 6 and len(set(uids)) == 6
    if patient_name is not None:
        assert {str(ds.PatientName) for ds in headers} == {patient_name}


def test_upload_commit_verify_prearchive(xnat_emulator, tmp_path: Path) -> None:
    xnat_emulator.set_project_script("DEMO", '(0010,0010) := "ANON"\n')
    q = _queue(tmp_path)
    try:
        transfer_id = q.submit(_spec(tmp_path, xnat_emulator.url, max_chunk_files=2))
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        status = q.status(transfer_id)
        assert status.verification["ok"]
        assert status.session_uri.startswith("/data/prearchive/projects/DEMO/")
        assert "LoadImageData" in status.link
        _check_once(xnat_emulator, archived=False, patient_name="ANON")
        receipt = json.loads(q.receipt_paths(transfer_id)[0].read_text())
        assert [s["name"] for s in receipt["scripts"]] == ["project"]
    finally:
        q.close()


def test_a_script_that_hashes_series_uids_is_verified_by_the_stored_uids(xnat_emulator, tmp_path: Path) -> None:
    """Verification matches scans by Series Instance UID: the one the server stores, after a
    site or project script replaced it with hashUID (the PS3.15 profile does), not the source's."""
    xnat_emulator.set_project_script("DEMO", 'version "6.3"\n(0020,000E) := hashUID[(0020,000E)]\n'
                                             '(0008,0018) := hashUID[(0008,0018)]\n')
    q = _queue(tmp_path)
    try:
        spec = _spec(tmp_path, xnat_emulator.url)
        sources = set(spec.session.scans)
        transfer_id = q.submit(spec)
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        assert q.status(transfer_id).verification["ok"]
        entry = next(e for e in xnat_emulator.prearchive_entries("DEMO") if e.name == "SUBJ01_CT1")
        stored = {str(pydicom.dcmread(f, stop_before_pixels=True).SeriesInstanceUID)
                  for f in xnat_emulator.prearchive_files(entry) if str(f).endswith(".dcm")}
        assert len(stored) == 2 and not stored & sources  # really rewritten by the script
    finally:
        q.close()


def test_auto_archive_project(xnat_emulator, tmp_path: Path) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    q = _queue(tmp_path)
    try:
        transfer_id = q.submit(_spec(tmp_path, xnat_emulator.url, scripts=[]))
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        assert q.status(transfer_id).session_uri.startswith("/data/archive/")
        _check_once(xnat_emulator, archived=True)
    finally:
        q.close()


@pytest.mark.parametrize("fault", ["drop", "500", "504-import", "504-commit", "expire"])
def test_faults_end_verified_once(xnat_emulator, tmp_path: Path, fault: str) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    faults = xnat_emulator.faults
    if fault == "drop":
        faults.drop_connection_after(3000, times=2)
    elif fault == "500":
        faults.fail_nth_request(1, status=500, path="/services/import")
    elif fault == "504-import":
        faults.gateway_timeout_after_body("/services/import")
    elif fault == "504-commit":
        faults.gateway_timeout_after_body("/data/prearchive")
    q = _queue(tmp_path)
    try:
        spec = _spec(tmp_path, xnat_emulator.url, scripts=[], max_chunk_files=2)
        if fault == "expire":
            def expire(event) -> None:
                if event.kind == "unit" and "part 2" in event.message:
                    xnat_emulator.expire_sessions()
            q.subscribe(expire)
        transfer_id = q.submit(spec)
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        assert q.status(transfer_id).verification["ok"]
        _check_once(xnat_emulator, archived=True)
    finally:
        q.close()


def test_wrong_password_fails_with_reason(xnat_emulator, tmp_path: Path) -> None:
    q = _queue(tmp_path, password="wrong")
    try:
        transfer_id = q.submit(_spec(tmp_path, xnat_emulator.url, scripts=[]))
        assert q.wait(transfer_id, timeout=120) is State.FAILED
        assert "password" in q.status(transfer_id).error
    finally:
        q.close()


def test_cancel_removes_partial_upload_and_restart_sends_all(xnat_emulator, tmp_path: Path) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.slow(0.3, path="/services/import")
    q = _queue(tmp_path)
    try:
        transfer_id = q.submit(_spec(tmp_path, xnat_emulator.url, scripts=[], max_chunk_files=1))
        cancelled = []

        def on_event(event) -> None:
            if event.kind == "unit" and "part 2" in event.message and not cancelled:
                cancelled.append(True)
                q.cancel(transfer_id)
        q.subscribe(on_event)
        assert q.wait(transfer_id, timeout=120) is State.CANCELLED
        assert not [e for e in xnat_emulator.prearchive_entries("DEMO") if e.name == "SUBJ01_CT1"]
        assert q.status(transfer_id).files_done == 0
        xnat_emulator.faults.slow(0)
        q.restart(transfer_id)
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        _check_once(xnat_emulator, archived=True)
    finally:
        q.close()


def test_existing_session_label_is_refused_before_sending(xnat_emulator, tmp_path: Path) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    q = _queue(tmp_path)
    try:
        first = q.submit(_spec(tmp_path, xnat_emulator.url, scripts=[]))
        assert q.wait(first, timeout=120) is State.DONE
        second = q.submit(_spec(tmp_path / "again", xnat_emulator.url, scripts=[]))
        assert q.wait(second, timeout=120) is State.FAILED
        assert "already exists" in q.status(second).error
        _check_once(xnat_emulator, archived=True)
    finally:
        q.close()


def test_failed_merge_into_an_archived_session_is_not_a_success(xnat_emulator, tmp_path: Path) -> None:
    """The commit of a merge fails (CONFLICT) while an older session with the label sits in the
    archive with the same file counts: only this upload's own prearchive entry tells the truth."""
    xnat_emulator.set_prearchive_code("DEMO", 4)
    q = _queue(tmp_path)
    try:
        first = q.submit(_spec(tmp_path, xnat_emulator.url, scripts=[]))
        assert q.wait(first, timeout=120) is State.DONE
        again = q.submit(_spec(tmp_path / "again", xnat_emulator.url, scripts=[], overwrite="append"))
        assert q.wait(again, timeout=120) is State.FAILED
        assert "could not archive" in q.status(again).error
        assert [e.status for e in xnat_emulator.prearchive_entries("DEMO")] == ["CONFLICT"]
    finally:
        q.close()


def test_pet_mr_session_separated_by_xnat_verifies(xnat_emulator, tmp_path: Path) -> None:
    """A PET/MR study into a project whose PET/MR setting is "separate": XNAT archives
    SUBJ01_CT1_MR and SUBJ01_CT1_PET instead of SUBJ01_CT1. The upload follows both and
    confirms every series by UID instead of reporting the scans missing."""
    src = write_study(tmp_path / "src", series=2, files=3)
    for path in sorted(src.rglob("*")):
        if path.is_file():
            ds = pydicom.dcmread(path)
            pet = int(ds.SeriesNumber) == 2
            ds.Modality = "PT" if pet else "MR"
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = (
                "1.2.840.10008.5.1.4.1.1.128" if pet else "1.2.840.10008.5.1.4.1.1.4")
            ds.save_as(path)
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.set_separate_pet_mr("DEMO")
    spec = TransferSpec(session=session_of(src),
                        destination=DestinationSpec.parse(xnat_emulator.url, username="admin"),
                        project="DEMO", subject="SUBJ01", session_label="SUBJ01_CT1")
    q = _queue(tmp_path)
    try:
        transfer_id = q.submit(spec)
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        status = q.status(transfer_id)
        verification = status.verification
        assert verification["ok"], verification
        # The receipt and the link name a session that exists, not the vanished original.
        assert status.session_uri.startswith("/data/archive/projects/DEMO/subjects/SUBJ01/"
                                             "experiments/SUBJ01_CT1_")
        assert "/experiments/SUBJ01_CT1_" in status.link
        assert "SUBJ01_CT1_MR" in verification["details"]
        assert "SUBJ01_CT1_PET" in verification["details"]
        assert sorted(verification["found"].values()) == [3, 3]
    finally:
        q.close()
    for label in ("SUBJ01_CT1_MR", "SUBJ01_CT1_PET"):
        files = [f for f in xnat_emulator.archived_files("DEMO", "SUBJ01", label)
                 if str(f).endswith(".dcm")]
        assert len(files) == 3


def test_merge_left_in_the_prearchive_verifies_its_own_scans(xnat_emulator, tmp_path: Path) -> None:
    """Adding scans to an archived session in a project that keeps uploads in the prearchive:
    the upload waits there beside the archived session of the same label, which does not hold
    the new series; verification checks the upload's own prearchive session, by UID."""
    from pydicom.uid import generate_uid

    xnat_emulator.set_prearchive_code("DEMO", 4)
    q = _queue(tmp_path)
    try:
        first = q.submit(_spec(tmp_path, xnat_emulator.url, scripts=[]))
        assert q.wait(first, timeout=120) is State.DONE
        xnat_emulator.set_prearchive_code("DEMO", 0)
        src = write_study(tmp_path / "more" / "src", series=2, files=3)
        new_series = {1: generate_uid(), 2: generate_uid()}  # same study, new series
        for path in sorted(src.rglob("*")):
            if path.is_file():
                ds = pydicom.dcmread(path)
                ds.SeriesInstanceUID = new_series[int(ds.SeriesNumber)]
                ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
                ds.save_as(path)
        spec = TransferSpec(session=session_of(src), scripts=[], overwrite="append",
                            destination=DestinationSpec.parse(xnat_emulator.url, username="admin"),
                            project="DEMO", subject="SUBJ01", session_label="SUBJ01_CT1")
        again = q.submit(spec)
        assert q.wait(again, timeout=120) is State.DONE, q.status(again).error
        status = q.status(again)
        assert status.session_uri.startswith("/data/prearchive/projects/DEMO/")
        assert status.verification["ok"], status.verification
    finally:
        q.close()
