"""End to end through the queue into the local archive (no server)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pydicom

from desktop_client.transfer import (DestinationSpec, RetryPolicy, ScanChoice, State, TransferQueue,
                                     TransferSpec)
from tests.helpers import session_of


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _spec(session, root: Path, **kw) -> TransferSpec:
    return TransferSpec(session=session, destination=DestinationSpec.parse(str(root)),
                        project="DEMO", subject="SUBJ01", session_label="SUBJ01_CT1", scripts=[],
                        **kw)


def test_session_lands_once_with_manifest_and_receipts(queue: TransferQueue, study: Path,
                                                       tmp_path: Path) -> None:
    before = _tree_digest(study)
    session = session_of(study)
    root = tmp_path / "archive"
    transfer_id = queue.submit(_spec(session, root, max_chunk_files=2))
    assert queue.wait(transfer_id, timeout=60) is State.DONE, queue.status(transfer_id).error
    status = queue.status(transfer_id)
    assert status.files_done == status.files_total == 6
    assert status.verification and status.verification["ok"]
    session_dir = root / "DEMO" / "SUBJ01" / "SUBJ01_CT1"
    files = sorted(session_dir.glob("SCANS/*/DICOM/*.dcm"))
    assert len(files) == 6
    assert {p.parent.parent.name for p in files} == {"1", "2"}
    manifest = json.loads((session_dir / "manifest.json").read_text())
    assert sum(len(s["files"]) for s in manifest["scans"].values()) == 6
    for scan in manifest["scans"].values():
        for f in scan["files"]:
            assert hashlib.md5((session_dir / f["name"]).read_bytes()).hexdigest() == f["md5"]
    assert not (root / ".staging" / transfer_id).exists()
    # The source files were opened read-only and are byte-identical afterwards.
    assert _tree_digest(study) == before
    json_path, pdf_path = queue.receipt_paths(transfer_id)
    receipt = json.loads(json_path.read_text())
    assert receipt["state"] == "done" and receipt["totals"]["files_sent"] == 6
    assert receipt["verification"]["ok"] is True
    assert all(len(o["md5"]) == 32 for s in receipt["scans"] for o in s["sent"])
    assert pdf_path.read_bytes().startswith(b"%PDF")


def test_excluded_scan_is_not_sent_and_listed(queue: TransferQueue, study: Path,
                                              tmp_path: Path) -> None:
    session = session_of(study)
    excluded = session.sorted_scans()[1].series_instance_uid
    spec = _spec(session, tmp_path / "archive",
                 choices={excluded: ScanChoice(excluded, excluded=True, exclude_reason="scout")})
    transfer_id = queue.submit(spec)
    assert queue.wait(transfer_id, timeout=60) is State.DONE
    files = list((tmp_path / "archive").glob("DEMO/SUBJ01/SUBJ01_CT1/SCANS/*/DICOM/*.dcm"))
    assert len(files) == 3
    receipt = json.loads(queue.receipt_paths(transfer_id)[0].read_text())
    statuses = {s["series_instance_uid"]: s["status"] for s in receipt["scans"]}
    assert statuses[excluded] == "excluded"
    assert receipt["totals"]["files_excluded"] == 3


def test_pause_resume_and_cancel_are_persistent(tmp_path: Path, study: Path) -> None:
    session = session_of(study)
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0)
    transfer_id = q.submit(_spec(session, tmp_path / "archive"))
    q.pause(transfer_id)
    assert q.status(transfer_id).state is State.PAUSED
    q.close()
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0)
    q.start()
    assert q.status(transfer_id).state is State.PAUSED
    q.resume(transfer_id)
    assert q.wait(transfer_id, timeout=60) is State.DONE
    q.close()
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0)  # not started: nothing runs yet
    other = q.submit(_spec(session, tmp_path / "archive2"))
    third = q.submit(_spec(session, tmp_path / "archive3"))
    q.pause_all()
    assert {q.status(i).state for i in (other, third)} == {State.PAUSED}
    q.resume_all()
    q.cancel(other)
    assert q.status(other).state is State.CANCELLED
    assert q.receipt_paths(other) is None or q.receipt_paths(other)[0].exists()
    q.cancel_all()
    assert q.status(third).state is State.CANCELLED
    q.restart_all()
    assert {q.status(i).state for i in (other, third)} == {State.QUEUED}
    q.start()
    assert q.wait(other, timeout=60) is State.DONE
    assert q.wait(third, timeout=60) is State.DONE
    q.close()


def test_concurrency_limit_is_respected(tmp_path: Path, study: Path) -> None:
    session = session_of(study)
    q = TransferQueue(tmp_path / "q.sqlite3", concurrency=1, workers=0)
    running: set[str] = set()
    peak = [0]

    def on_event(event) -> None:
        if event.kind == "state":
            if event.state is State.RUNNING:
                running.add(event.transfer_id)
            else:
                running.discard(event.transfer_id)
            peak[0] = max(peak[0], len(running))
    q.subscribe(on_event)
    ids = [q.submit(_spec(session, tmp_path / f"archive{i}")) for i in range(3)]
    q.start()
    try:
        assert [q.wait(i, timeout=60) for i in ids] == [State.DONE] * 3
        assert peak[0] == 1
        started = [q.status(i).started for i in ids]
        assert started == sorted(started)  # submission order
    finally:
        q.close()


def test_pdf_receipt_can_be_turned_off_and_spool_follows_the_temp_folder(
        queue: TransferQueue, study: Path, tmp_path: Path, monkeypatch) -> None:
    from desktop_client.core import paths
    from desktop_client.transfer import spool

    monkeypatch.setattr(paths, "_temp_root", None)
    paths.set_temp_dir(tmp_path / "my-temp")
    assert spool.spool_dir() == tmp_path / "my-temp" / "transfer-spool"
    assert (tmp_path / "my-temp").stat().st_mode & 0o777 == 0o700
    transfer_id = queue.submit(_spec(session_of(study), tmp_path / "archive", receipt_pdf=False))
    assert queue.wait(transfer_id, timeout=60) is State.DONE, queue.status(transfer_id).error
    json_path, pdf_path = queue.receipt_paths(transfer_id)
    assert pdf_path is None and json.loads(json_path.read_text())["state"] == "done"
    assert not (json_path.parent / f"transfer-{transfer_id}.pdf").exists()
    assert not list((tmp_path / "my-temp" / "transfer-spool").iterdir())  # nothing left behind


def test_a_killed_worker_is_replaced_and_every_file_lands_once(study: Path, tmp_path: Path) -> None:
    """A worker process dying (out of memory, a codec crash) costs a restart with new workers,
    not the transfer: it resumes like after an app crash and every file lands exactly once."""
    import os
    import signal

    from desktop_client.destinations import open_destination

    killed: list[int] = []

    def factory(spec, password):  # type: ignore[no-untyped-def]
        dest = open_destination(spec, password)
        send = dest.send_unit

        def send_and_kill_workers(ctx, unit, objects):  # type: ignore[no-untyped-def]
            send(ctx, unit, objects)
            if not killed:  # once, while the next unit is being prepared in the pool
                for pid in list(q._pool._processes):  # noqa: SLF001
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        dest.send_unit = send_and_kill_workers
        return dest

    q = TransferQueue(tmp_path / "queue.sqlite3", workers=1, destination_factory=factory,
                      retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05))
    q.start()
    try:
        root = tmp_path / "archive"
        transfer_id = q.submit(_spec(session_of(study), root, max_chunk_files=2))
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        assert killed
        files = sorted((root / "DEMO" / "SUBJ01" / "SUBJ01_CT1").glob("SCANS/*/DICOM/*.dcm"))
        uids = [pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID for f in files]
        assert len(uids) == len(set(uids)) == 6
        assert any(e.event == "workers" for e in q.store.logs(transfer_id))
    finally:
        q.close()
