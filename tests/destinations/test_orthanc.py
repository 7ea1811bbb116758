"""C-STORE and STOW-RS against a real Orthanc, checked through Orthanc's own REST API."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.transfer import (DestinationSpec, RetryPolicy, ScanChoice, ScriptSource,
                                     State, TransferQueue, TransferSpec)
from tests.destinations.orthanc import AET, PASSWORD, USER, Orthanc, free_port, start_orthanc
from tests.dicomfactory import BURN, BURN_VALUE, write_study
from tests.helpers import session_of

pytestmark = pytest.mark.orthanc

SCRIPT = ScriptSource("project", '(0010,0010) := "ANON"\n(0010,0020) := "ANON01"\n-(0010,0030)\n')


def _run(tmp_path: Path, dest: DestinationSpec, *, password: str | None = None,
         project: str = "") -> tuple[TransferQueue, str, list[str]]:
    src = write_study(tmp_path / "src", series=2, files=3, seed=7)
    session = session_of(src)
    redacted = session.sorted_scans()[0].series_instance_uid
    l, t, r, b = BURN
    spec = TransferSpec(session=session, destination=dest, project=project,
                        subject="SUBJ" if project else "", session_label="SESS" if project else "",
                        scripts=[SCRIPT],
                        choices={redacted: ScanChoice(redacted, (PixelEdit(Rect(l, t, r, b)),))})
    q = TransferQueue(tmp_path / "q.sqlite3", workers=1, credentials=lambda d: password,
                      retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    q.start()
    transfer_id = q.submit(spec)
    return q, transfer_id, [redacted]


def _check_orthanc(orthanc: Orthanc, redacted_source_series: str, expect_comment: str = "") -> None:
    ids = orthanc.instances()
    assert len(ids) == 6
    bright_boxes = 0
    for instance_id in ids:
        tags = orthanc.tags(instance_id)
        assert tags["PatientName"] == "ANON" and tags["PatientID"] == "ANON01"
        assert "PatientBirthDate" not in tags
        if expect_comment:
            assert tags["PatientComments"] == expect_comment
        ds = pydicom.dcmread(io.BytesIO(orthanc.file(instance_id)))
        l, t, r, b = BURN
        box = ds.pixel_array[t:b, l:r]
        if np.all(box == BURN_VALUE):
            bright_boxes += 1
        else:
            assert ds.SeriesInstanceUID == redacted_source_series
            assert np.all(box == 0)
    assert bright_boxes == 3  # the scan without a rectangle keeps its block


def test_cstore_to_orthanc(orthanc: Orthanc, tmp_path: Path) -> None:
    orthanc.reset()
    dest = DestinationSpec.parse(f"dicom://{AET}@127.0.0.1:{orthanc.dicom_port}", calling_aet="TESTSCU")
    q, transfer_id, redacted = _run(tmp_path, dest, project="DEMO")
    try:
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        status = q.status(transfer_id)
        assert status.verification["ok"] and "C-FIND" in status.verification["method"]
        _check_orthanc(orthanc, redacted[0], "Project:DEMO Subject:SUBJ Session:SESS")
    finally:
        q.close()


def test_stowrs_to_orthanc_with_auth(orthanc: Orthanc, tmp_path: Path) -> None:
    orthanc.reset()
    dest = DestinationSpec.parse(f"dicomweb+{orthanc.dicomweb}", username=USER)
    q, transfer_id, redacted = _run(tmp_path, dest, password=PASSWORD)
    try:
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        status = q.status(transfer_id)
        assert status.verification["ok"] and "QIDO" in status.verification["method"]
        _check_orthanc(orthanc, redacted[0])
    finally:
        q.close()


def test_stowrs_wrong_password_fails_with_reason(orthanc: Orthanc, tmp_path: Path) -> None:
    dest = DestinationSpec.parse(f"dicomweb+{orthanc.dicomweb}", username=USER)
    q, transfer_id, _ = _run(tmp_path, dest, password="wrong")
    try:
        assert q.wait(transfer_id, timeout=120) is State.FAILED
        assert "credentials" in q.status(transfer_id).error
    finally:
        q.close()


# ---- verification degrades to a clear outcome (issue 15) -----------------------------------------


def _cstore_upload(tmp_path: Path, port: int, calling_aet: str = "TESTSCU"):
    dest = DestinationSpec.parse(f"dicom://{AET}@127.0.0.1:{port}", calling_aet=calling_aet)
    q, transfer_id, _ = _run(tmp_path, dest)
    try:
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        return q.status(transfer_id).verification
    finally:
        q.close()


def test_unknown_ae_storage_commitment_refused_then_verified_by_cfind(orthanc: Orthanc, tmp_path: Path) -> None:
    """Orthanc aborts an N-ACTION from an AE it does not know; C-FIND (always allowed here) decides."""
    orthanc.reset()
    verification = _cstore_upload(tmp_path, orthanc.dicom_port)
    assert verification["state"] == "verified" and verification["ok"]
    assert verification["method"].startswith("C-FIND at image level")
    assert "Storage Commitment refused by the node" in verification["method"]


def test_node_refusing_queries_ends_stored_not_verifiable(tmp_path: Path) -> None:
    """A PACS that stores from anyone but answers queries (and commitment) only for known AEs."""
    gen = start_orthanc(tmp_path / "strict", {"DicomAlwaysAllowFind": False})
    strict = next(gen)
    try:
        verification = _cstore_upload(tmp_path / "t", strict.dicom_port)
        assert verification["state"] == "not-verifiable"
        assert verification["ok"]  # the transfer is done: every object was accepted by C-STORE
        assert verification["details"].startswith("stored, not verifiable: the node refused queries")
        assert "C-FIND refused by the node" in verification["method"]
        assert len(strict.instances()) == 6
        # The command line says so with its own exit code, and without a traceback.
        src = write_study(tmp_path / "cli-src", series=1, files=2, seed=9)
        proc = subprocess.run([sys.executable, "-m", "desktop_client", "upload", str(src), "--to",
                               f"dicom://{AET}@127.0.0.1:{strict.dicom_port}", "--calling-aet", "TESTSCU"],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "XNAT_DESKTOP_HOME": str(tmp_path / "home")})
        assert proc.returncode == 4, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        assert json.loads(proc.stdout.splitlines()[-1])["transfers"][0]["verification"]["state"] == "not-verifiable"
    finally:
        next(gen, None)


def test_registered_ae_storage_commitment_is_requested_and_accepted(tmp_path: Path) -> None:
    """Orthanc accepts the N-ACTION from a registered AE but reports on a new association (to a port
    the app never opens): noted in the receipt, and C-FIND verifies."""
    modality_port = free_port()  # nobody listens there: the app opens no socket
    gen = start_orthanc(tmp_path / "sc", {"DicomModalities": {"uploader": ["TESTSCU", "127.0.0.1", modality_port]}})
    node = next(gen)
    try:
        verification = _cstore_upload(tmp_path / "t", node.dicom_port)
        assert verification["state"] == "verified"
        assert "Storage Commitment accepted, but the node reports on a separate association" in verification["method"]
        assert "Rejected N-ACTION" not in node.log_path.read_text(errors="replace")
    finally:
        next(gen, None)
