"""The queue keeps a session's per-file data as rows, so memory does not grow with the session.

Checked here: the spec document holds no instances; a unit's instances come back in order;
reading a transfer, its status and writing its receipts allocate (almost) nothing per file;
the receipt still lists every file with its MD5; a queue file written by the previous layout
(the whole session inside the spec document) is migrated and its transfer still runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Callable

import pytest

from desktop_client.core.privacy import BOOK
from desktop_client.scanning.model import Instance, Location, Scan, Session
from desktop_client.transfer import DestinationSpec, State, TransferQueue, TransferSpec
from desktop_client.transfer.receipt import write_receipts
from desktop_client.transfer.store import ObjectRow, QueueStore, plan_units
from tests.dicomfactory import write_study
from tests.helpers import session_of

CT = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"


def _synthetic_session(series: int, files: int) -> Session:
    """A session of ``series`` × ``files`` instances (no files on disk: only the queue's view)."""
    session = Session("1.2.3")
    for s in range(series):
        uid = f"1.2.3.{s}"
        scan = Scan(uid, series_number=s + 1, series_description=f"series {s}", modality="CT")
        scan.instances.extend(
            Instance(Location(f"/data/study/{s}/{n:06d}.dcm"), 1000 + n, "1.2.3", uid,
                     f"1.2.3.{s}.{n}", CT, EXPLICIT, "CT", instance_number=n + 1,
                     patient_name="DOE^JANE", patient_id="PID-42")
            for n in range(files))
        session.scans[uid] = scan
    return session


def _spec(session: Session, root: Path, **kw: object) -> TransferSpec:
    return TransferSpec(session=session, destination=DestinationSpec.parse(str(root)),
                        project="P", subject="S", session_label="E", scripts=[],
                        receipt_dir=str(root / "receipts"), **kw)  # type: ignore[arg-type]


def _stored(instance: Instance) -> Instance:
    """An instance as the queue keeps it: without the patient's name, ID or accession number."""
    return dataclasses.replace(instance, patient_name="", patient_id="", accession_number="")


def _peak_bytes(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _add(store: QueueStore, spec: TransferSpec) -> str:
    return store.add_transfer(spec, plan_units(spec))


def test_spec_document_has_no_instances_and_units_read_back_in_order(tmp_path: Path) -> None:
    session = _synthetic_session(2, 250)
    store = QueueStore(tmp_path / "q.sqlite3")
    transfer_id = _add(store, _spec(session, tmp_path, max_chunk_files=100))
    document = json.loads(store._db.execute("SELECT spec FROM transfers").fetchone()[0])
    assert [len(s["instances"]) for s in document["session"]["scans"]] == [0, 0]
    assert "/data/study" not in json.dumps(document)
    dump = "\n".join(store._db.iterdump())
    assert "DOE^JANE" not in dump and "PID-42" not in dump
    row = store.get(transfer_id)
    assert row.files_total == 500 and all(not s.instances for s in row.spec.session.scans.values())
    assert store.scan_files(transfer_id) == {"1.2.3.0": 250, "1.2.3.1": 250}
    units = store.units(transfer_id)
    assert [len(u.files) for u in units] == [100, 100, 50, 100, 100, 50]
    for unit in units:
        expected = [_stored(session.scans[unit.series_uid].instances[i]) for i in unit.files]
        assert store.instances(transfer_id, unit.series_uid, unit.files) == expected
    # Any order and any subset, not only the contiguous runs the planner makes.
    scan = session.scans["1.2.3.1"]
    assert store.instances(transfer_id, "1.2.3.1", [7, 3, 200]) == \
        [_stored(scan.instances[i]) for i in (7, 3, 200)]
    store.remove(transfer_id)  # a removed transfer leaves no rows behind
    assert store._db.execute("SELECT COUNT(*) FROM instances").fetchone()[0] == 0
    store.close()


def test_reading_a_large_transfer_and_its_receipt_does_not_grow_with_the_session(
        tmp_path: Path) -> None:
    peaks = {}
    for files in (1000, 8000):
        session = _synthetic_session(4, files // 4)
        store = QueueStore(tmp_path / f"q{files}.sqlite3")
        # Same unit size for both: a unit's rows are read together, which is bounded, not flat.
        spec = _spec(session, tmp_path / str(files), receipt_pdf=False, max_chunk_files=250)
        transfer_id = _add(store, spec)
        for unit in store.units(transfer_id):
            members = store.instances(transfer_id, unit.series_uid, unit.files)
            store.finish_unit(transfer_id, unit.idx, State.DONE, "", [
                ObjectRow(unit.idx, unit.series_uid, m.location.path, "sent", m.sop_instance_uid,
                          "1", hashlib.md5(m.sop_instance_uid.encode()).hexdigest(), m.size)
                for m in members])
        store.close()
        store = QueueStore(tmp_path / f"q{files}.sqlite3")  # nothing cached
        peaks[files] = (_peak_bytes(lambda: store.get(transfer_id)),
                        _peak_bytes(lambda: (store.files_done(transfer_id),
                                             store.object_counts(transfer_id))),
                        _peak_bytes(lambda: write_receipts(store, transfer_id, State.DONE)))
        text = Path(store.get(transfer_id).receipt_json).read_text()
        receipt = json.loads(text)
        assert text == json.dumps(receipt, indent=2)  # streamed, yet laid out as before
        sent = {o["sop_instance_uid"]: o["md5"] for s in receipt["scans"] for o in s["sent"]}
        assert len(sent) == files == receipt["totals"]["files_sent"]
        assert all(md5 == hashlib.md5(uid.encode()).hexdigest() for uid, md5 in sent.items())
        assert receipt["totals"]["bytes_sent"] == sum(i.size for i in session.iter_instances())
        store.close()
    small, large = peaks[1000], peaks[8000]
    # 7,000 more files: the old layout parsed ~3 kB and held ~1 kB per file for each of these
    # (7-20 MB more). The margin (under 150 bytes per extra file) absorbs when the garbage
    # collector happens to run, which moves the peak by ~100 kB after other tests.
    for index in range(3):
        assert large[index] - small[index] < 1_000_000, peaks


def _old_layout_queue(path: Path, spec: TransferSpec) -> str:
    """A queue file as the previous version wrote it: the whole session inside ``spec``."""
    transfer_id = "0123456789ab"
    units = list(plan_units(spec))
    db = sqlite3.connect(str(path))
    db.executescript("""
        CREATE TABLE transfers (id TEXT PRIMARY KEY, position INTEGER NOT NULL, created REAL NOT NULL,
            spec TEXT NOT NULL, spec_rev INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
            error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
            session_uri TEXT NOT NULL DEFAULT '', link TEXT NOT NULL DEFAULT '',
            dest_state TEXT NOT NULL DEFAULT '{}', scripts TEXT, started REAL, finished REAL,
            files_total INTEGER NOT NULL, bytes_total INTEGER NOT NULL, verification TEXT,
            receipt_json TEXT NOT NULL DEFAULT '', receipt_pdf TEXT NOT NULL DEFAULT '');
        CREATE TABLE units (transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL, series_uid TEXT NOT NULL, part INTEGER NOT NULL,
            parts INTEGER NOT NULL, files TEXT NOT NULL, file_count INTEGER NOT NULL,
            bytes INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '', PRIMARY KEY (transfer_id, idx));
        CREATE TABLE objects (transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
            unit_idx INTEGER NOT NULL, series_uid TEXT NOT NULL, source TEXT NOT NULL,
            status TEXT NOT NULL, sop_instance_uid TEXT NOT NULL DEFAULT '',
            scan_id TEXT NOT NULL DEFAULT '', md5 TEXT NOT NULL DEFAULT '',
            size INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '');
        CREATE TABLE log (transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
            ts REAL NOT NULL, level TEXT NOT NULL, event TEXT NOT NULL, message TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}');
    """)
    db.execute("INSERT INTO transfers (id, position, created, spec, state, files_total, bytes_total)"
               " VALUES (?, 1, 0, ?, 'queued', ?, ?)",
               (transfer_id, json.dumps(spec.to_json()), sum(len(u[3]) for u in units),
                sum(u[4] for u in units)))
    db.executemany("INSERT INTO units (transfer_id, idx, series_uid, part, parts, files, file_count,"
                   " bytes, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                   [(transfer_id, i, uid, part, parts, json.dumps(files), len(files), size)
                    for i, (uid, part, parts, files, size) in enumerate(units)])
    db.commit()
    db.close()
    return transfer_id


def test_queue_file_of_the_previous_layout_is_migrated_and_still_runs(tmp_path: Path) -> None:
    study = write_study(tmp_path / "src", series=2, files=3)
    session = session_of(study)
    root = tmp_path / "archive"
    path = tmp_path / "old.sqlite3"
    transfer_id = _old_layout_queue(path, _spec(session, root, max_chunk_files=2))
    store = QueueStore(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == 2  # + keyed sources
    document = json.loads(store._db.execute("SELECT spec FROM transfers").fetchone()[0])
    assert all(not s["instances"] for s in document["session"]["scans"])
    for unit in store.units(transfer_id):
        assert store.instances(transfer_id, unit.series_uid, unit.files) == \
            [_stored(session.scans[unit.series_uid].instances[i]) for i in unit.files]
    store.close()
    QueueStore(path).close()  # opening a migrated file again changes nothing
    queue = TransferQueue(path, workers=1)
    queue.start()
    try:
        assert queue.wait(transfer_id, timeout=60) is State.DONE, queue.status(transfer_id).error
        status = queue.status(transfer_id)
        assert status.files_done == status.files_total == 6
        assert [s.files_sent for s in status.scans] == [3, 3] and [s.files for s in status.scans] == [3, 3]
        receipt = json.loads(queue.receipt_paths(transfer_id)[0].read_text())
    finally:
        queue.close()
    session_dir = root / "P" / "S" / "E"
    stored = {p.stem: hashlib.md5(p.read_bytes()).hexdigest()
              for p in session_dir.glob("SCANS/*/DICOM/*.dcm")}
    listed = {o["sop_instance_uid"]: o["md5"] for s in receipt["scans"] for o in s["sent"]}
    assert len(stored) == 6 and listed == stored
    # Receipts name sources by keyed reference, never by path (issue 14).
    assert sorted(o["source"] for s in receipt["scans"] for o in s["sent"]) == \
        sorted(BOOK.ref(i.location.path, i.location.member, i.size) for i in session.iter_instances())


def test_worker_written_objects_are_private_and_cleaned_up(tmp_path: Path) -> None:
    """Pool workers write prepared objects into the unit's spool folder; the spool reads them back
    in order, a retry reads them again, and closing removes the folder."""
    import stat

    from desktop_client.transfer.pipeline import ObjectOutcome, write_private
    from desktop_client.transfer.spool import Spool

    spool = Spool(memory_limit=0)
    payloads = [bytes([n]) * (1000 + n) for n in range(5)]
    for n, data in enumerate(payloads):
        path = spool.object_path(n)
        write_private(path, data)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        spool.add(ObjectOutcome("ok", f"src{n}", "1.2", "1", size=len(data), data_path=path,
                                sop_instance_uid=f"1.{n}"))
    with pytest.raises(FileExistsError):
        write_private(spool.object_path(0), b"again")  # never over an existing file
    for _ in range(2):  # a retry re-sends the very same bytes
        assert [o.data for o in spool.outcomes()] == payloads
    assert spool.bytes == sum(map(len, payloads))
    folder = os.path.dirname(spool.object_path(0))
    spool.close()
    assert not os.path.exists(folder)
