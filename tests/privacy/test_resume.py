"""The queue keeps no source paths (issue 14 §3): a restarted app finds its files again by scanning
the same folder (``transfers resume ID --from``), or from the queue when the user opted in."""

from __future__ import annotations

from pathlib import Path

from desktop_client.cli.main import main
from desktop_client.core import privacy
from desktop_client.scanning import cache, scan_paths
from desktop_client.transfer import DestinationSpec, State, TransferQueue, TransferSpec


def _queue_one(demo_dir: Path, archive: Path) -> tuple[str, Path]:
    session = next(s for s in scan_paths([demo_dir]).sessions if "MR" in s.modalities)
    queue = TransferQueue(workers=0)
    try:
        transfer_id = queue.submit(TransferSpec(session=session,
                                                destination=DestinationSpec.parse(str(archive)),
                                                project="P", subject="S", session_label="E"))
        return transfer_id, queue.store.path
    finally:
        queue.close()


def _restart() -> None:
    """What a new process of the app forgets."""
    privacy.BOOK.clear()
    cache.forget_identities()


def _queue_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_resume_after_a_restart_needs_the_folder_again(demo_dir: Path, tmp_path: Path, capsys) -> None:
    transfer_id, db = _queue_one(demo_dir, tmp_path / "archive")
    assert str(demo_dir).encode() not in _queue_bytes(db) and b"IM0001" not in _queue_bytes(db)
    _restart()
    assert main(["transfers", "resume", transfer_id[:8]]) == 1
    capsys.readouterr()
    assert main(["transfers", "show", transfer_id[:8], "--json"]) == 0
    shown = capsys.readouterr().out
    assert "select the same folder again" in shown and str(demo_dir) not in shown
    _restart()
    assert main(["transfers", "resume", transfer_id[:8], "--from", str(demo_dir)]) == 0
    queue = TransferQueue(workers=0)
    try:
        assert queue.status(transfer_id).state is State.DONE
    finally:
        queue.close()
    assert len(list((tmp_path / "archive").glob("P/S/E/SCANS/*/DICOM/*.dcm"))) == 6


def test_remembering_paths_is_an_explicit_opt_in(demo_dir: Path, tmp_path: Path) -> None:
    privacy.set_remember_source_paths(True)
    transfer_id, db = _queue_one(demo_dir, tmp_path / "archive")
    assert str(demo_dir).encode() in _queue_bytes(db)  # what the user agreed to
    _restart()
    assert main(["transfers", "resume", transfer_id[:8]]) == 0


def test_a_queue_written_with_source_paths_is_rewritten_without_them(demo_dir: Path, tmp_path: Path) -> None:
    """A queue file of the previous layout (paths in instance rows and object rows) is migrated
    when opened: keyed references instead, the file vacuumed, the transfer still runs."""
    import json
    import sqlite3

    transfer_id, db = _queue_one(demo_dir, tmp_path / "archive")
    with sqlite3.connect(db) as conn:  # what the previous version wrote
        for series_uid, idx, text in conn.execute(
                "SELECT series_uid, idx, data FROM instances").fetchall():
            data = json.loads(text)
            location = privacy.BOOK.location(data.pop("source"))
            assert location is not None
            data["path"], data["member"] = location
            conn.execute("UPDATE instances SET data = ? WHERE series_uid = ? AND idx = ?",
                         (json.dumps(data), series_uid, idx))
        conn.execute("INSERT INTO objects (transfer_id, unit_idx, series_uid, source, status)"
                     " VALUES (?, 99, 'x', ?, 'failed')", (transfer_id, str(demo_dir / "DEMO1" / "a.dcm")))
        conn.execute("PRAGMA user_version = 1")
    assert str(demo_dir).encode() in _queue_bytes(db)
    queue = TransferQueue(workers=0)
    try:
        assert queue.store._db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert str(demo_dir).encode() not in _queue_bytes(db)
        queue.start()
        assert queue.wait(transfer_id, timeout=120) is State.DONE, queue.status(transfer_id).error
    finally:
        queue.close()
