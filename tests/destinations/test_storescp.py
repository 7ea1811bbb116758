"""C-STORE against dcmtk's storescp (a receiver without query support)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pydicom
import pytest

from desktop_client.transfer import DestinationSpec, RetryPolicy, State, TransferQueue, TransferSpec
from tests.destinations.orthanc import free_port
from tests.dicomfactory import write_study
from tests.helpers import session_of

pytestmark = pytest.mark.dcmtk


@pytest.fixture
def storescp(tmp_path: Path):
    binary = shutil.which("storescp")
    if binary is None:
        pytest.skip("dcmtk's storescp is not installed")
    out = tmp_path / "received"
    out.mkdir()
    port = free_port()
    proc = subprocess.Popen([binary, "-aet", "STORESCP", "-od", str(out), "+xa", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield port, out
    finally:
        proc.terminate()
        proc.wait(10)


def test_cstore_to_storescp(storescp, tmp_path: Path) -> None:
    port, out = storescp
    session = session_of(write_study(tmp_path / "src", series=2, files=4))
    spec = TransferSpec(session=session, scripts=[],
                        destination=DestinationSpec.parse(f"dicom://STORESCP@127.0.0.1:{port}"))
    q = TransferQueue(tmp_path / "q.sqlite3", workers=1, retry=RetryPolicy(2, 0.01))
    q.start()
    try:
        transfer_id = q.submit(spec)
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        verification = q.status(transfer_id).verification
        assert verification["ok"] and "C-STORE success" in verification["method"]
        # storescp offers neither Storage Commitment nor C-FIND: stored, but not confirmed.
        assert verification["state"] == "not-verifiable"
        assert verification["details"].startswith("stored, not verifiable")
        received = sorted(out.iterdir())
        assert len(received) == 8
        uids = {pydicom.dcmread(p).SOPInstanceUID for p in received}
        assert uids == {i.sop_instance_uid for s in session.scans.values() for i in s.instances}
    finally:
        q.close()


def test_wrong_called_aet_fails_with_reason(tmp_path: Path) -> None:
    """Nobody listens: the transfer fails after its retries with a reason, not a traceback."""
    session = session_of(write_study(tmp_path / "src", series=1, files=1))
    spec = TransferSpec(session=session, scripts=[],
                        destination=DestinationSpec.parse(f"dicom://NOBODY@127.0.0.1:{free_port()}"))
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0, retry=RetryPolicy(2, 0.01))
    q.start()
    try:
        transfer_id = q.submit(spec)
        assert q.wait(transfer_id, timeout=60) is State.FAILED
        assert "127.0.0.1" in q.status(transfer_id).error
    finally:
        q.close()
