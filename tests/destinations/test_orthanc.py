"""C-STORE and STOW-RS against a real Orthanc, checked through Orthanc's own REST API."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.transfer import (DestinationSpec, RetryPolicy, ScanChoice, ScriptSource,
                                     State, TransferQueue, TransferSpec)
from tests.destinations.orthanc import AET, PASSWORD, USER, Orthanc
from tests.transfer.dicomdata import BURN, BURN_VALUE, session_of, write_study

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
