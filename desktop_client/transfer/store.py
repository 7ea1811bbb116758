"""The persistent queue: SQLite under the user data folder.

Why SQLite: every state change is one atomic transaction, so a process killed at any instant
leaves either the old or the new state, never half of each. The engine relies on exactly one
rule for crash safety: *a unit (a scan, or a chunk of one) becomes ``done`` in the same
transaction that records the objects it sent*. Anything not ``done`` is re-sent whole on the next
start, and destinations store objects under keys derived from the (anonymized) object itself, so
a re-sent unit replaces, never duplicates, what an interrupted attempt left behind.

The database holds no password and no patient name, ID or accession number (see ``spec``): only
labels and variables the user chose, the study's scan structure (UIDs, series descriptions,
dates, sizes) and the source file paths needed to resume.

Memory does not grow with the session: a transfer's instances (one per file) are rows of the
``instances`` table, read a unit at a time when the unit runs, and the spec document kept in
``transfers.spec`` has scans without instances. Object rows are likewise read back a unit at a
time (receipts, verification) or as SQL aggregates (progress, status). Queue files written before
this layout (the whole session in the spec document) are migrated when opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from desktop_client.core.privacy import make_private
from desktop_client.scanning.model import Instance
from desktop_client.transfer.spec import State, TransferSpec, instance_from_json, instance_to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    created REAL NOT NULL,
    spec TEXT NOT NULL,
    spec_rev INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    session_uri TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    dest_state TEXT NOT NULL DEFAULT '{}',
    scripts TEXT,
    started REAL,
    finished REAL,
    files_total INTEGER NOT NULL,
    bytes_total INTEGER NOT NULL,
    verification TEXT,
    receipt_json TEXT NOT NULL DEFAULT '',
    receipt_pdf TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS units (
    transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    series_uid TEXT NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    files TEXT NOT NULL,
    file_count INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (transfer_id, idx)
);
CREATE TABLE IF NOT EXISTS objects (
    transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
    unit_idx INTEGER NOT NULL,
    series_uid TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL DEFAULT '',
    scan_id TEXT NOT NULL DEFAULT '',
    md5 TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS objects_by_transfer ON objects(transfer_id, unit_idx);
CREATE TABLE IF NOT EXISTS instances (
    transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
    series_uid TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (transfer_id, series_uid, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
    transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
    ts REAL NOT NULL,
    level TEXT NOT NULL,
    event TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS log_by_transfer ON log(transfer_id, ts);
"""


#: ``PRAGMA user_version`` of the current layout: 2 = sources named by keyed reference (issue 14),
#: 1 = instances as rows with source paths, 0 = instances inside the spec.
_LAYOUT = 2


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One resumable piece of a transfer: ``files`` are indices into the scan's instance list."""

    transfer_id: str
    idx: int
    series_uid: str
    part: int
    parts: int
    files: tuple[int, ...]
    bytes: int
    state: State
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class ObjectRow:
    """What happened to one source object: ``sent``, ``rejected`` (by a script) or ``failed``."""

    unit_idx: int
    series_uid: str
    source: str
    status: str
    sop_instance_uid: str = ""
    scan_id: str = ""
    md5: str = ""
    size: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TransferRow:
    """A transfer's columns. ``spec.session``'s scans have no instances: the store keeps those
    as rows (read them with :meth:`QueueStore.instances`, count them with
    :meth:`QueueStore.scan_files`)."""

    id: str
    position: int
    created: float
    spec: TransferSpec
    state: State
    error: str
    attempts: int
    session_uri: str
    link: str
    dest_state: dict[str, Any]
    scripts: list[dict[str, str]] | None
    started: float | None
    finished: float | None
    files_total: int
    bytes_total: int
    verification: dict[str, Any] | None
    receipt_json: str
    receipt_pdf: str


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts: float
    level: str
    event: str
    message: str
    details: dict[str, Any]


class QueueStore:
    """Thread-safe access to the queue database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._lock = threading.RLock()
        make_private(path)  # 0600 before SQLite writes a byte (its -wal/-shm files copy the mode)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives any process kill; only a power loss may drop the last commit.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(transfers)")}
        if "spec_rev" not in columns:  # queue files written before the revision counter
            self._db.execute("ALTER TABLE transfers ADD COLUMN spec_rev INTEGER NOT NULL DEFAULT 0")
        layout = self._db.execute("PRAGMA user_version").fetchone()[0]
        if layout < 1:
            self._migrate_instances()
        if layout < 2:
            self._forget_source_paths()
        self._columns = [r[1] for r in self._db.execute("PRAGMA table_info(transfers)")
                         if r[1] != "spec"]
        # Reading and parsing a large session's spec is the expensive part of a status query
        # (the monitor polls): the parsed spec is kept until its revision changes.
        self._specs: dict[str, tuple[int, TransferSpec]] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _migrate_instances(self) -> None:
        """Move the instances of specs written by earlier versions into ``instances`` rows.

        One transaction for the whole file: a crash leaves the old layout, migrated again on the
        next start. Indices keep the old list order, so existing units still name the same files.
        """
        with self._tx() as db:
            for (transfer_id,) in db.execute("SELECT id FROM transfers").fetchall():
                data = json.loads(db.execute("SELECT spec FROM transfers WHERE id = ?",
                                             (transfer_id,)).fetchone()[0])
                scans = data["session"]["scans"]
                db.executemany(
                    "INSERT OR REPLACE INTO instances (transfer_id, series_uid, idx, data)"
                    " VALUES (?, ?, ?, ?)",
                    ((transfer_id, scan["series_instance_uid"], i, json.dumps(inst))
                     for scan in scans for i, inst in enumerate(scan.get("instances", ()))))
                for scan in scans:
                    scan["instances"] = []
                db.execute("UPDATE transfers SET spec = ?, spec_rev = spec_rev + 1 WHERE id = ?",
                           (json.dumps(data), transfer_id))
            db.execute("PRAGMA user_version = 1")

    def _forget_source_paths(self) -> None:
        """Replace the source paths an earlier version stored with keyed references.

        Folder names under a selection usually carry patient IDs and accession numbers. The
        readable paths stay known to this process (so queued transfers still run now); after a
        restart they are found again by scanning the same folder. The file is vacuumed so the
        old pages do not keep the paths either.
        """
        from desktop_client.core.privacy import BOOK, keyed_hash

        with self._tx() as db:
            rows = db.execute("SELECT transfer_id, series_uid, idx, data FROM instances").fetchall()
            for transfer_id, series_uid, idx, text in rows:
                data = json.loads(text)
                if "path" not in data:
                    continue
                path, member = data.pop("path"), data.pop("member", None)
                data["source"] = BOOK.ref(path, member, int(data.get("size", 0)))
                db.execute("UPDATE instances SET data = ? WHERE transfer_id = ? AND series_uid = ?"
                           " AND idx = ?", (json.dumps(data), transfer_id, series_uid, idx))
            for rowid, source in db.execute(
                    "SELECT rowid, source FROM objects WHERE source NOT LIKE 'src-%'").fetchall():
                db.execute("UPDATE objects SET source = ? WHERE rowid = ?",
                           ("src-" + keyed_hash("legacy-source", source), rowid))
            db.execute(f"PRAGMA user_version = {_LAYOUT}")
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _tx(self) -> "_Transaction":
        return _Transaction(self)

    # ---- transfers ---------------------------------------------------------------------------

    def add_transfer(self, spec: TransferSpec, units: Iterable[tuple[str, int, int, list[int], int]]
                     ) -> str:
        """Insert a queued transfer with its units ``(series_uid, part, parts, files, bytes)``.

        Instances and units are streamed into their tables row by row, so submitting a session
        never builds a document (or a list) the size of the whole session.
        """
        transfer_id = uuid.uuid4().hex[:12]
        totals = [0, 0]

        def unit_rows() -> Iterator[tuple[Any, ...]]:
            for i, (uid, part, parts, files, size) in enumerate(units):
                totals[0] += len(files)
                totals[1] += size
                yield (transfer_id, i, uid, part, parts, json.dumps(files), len(files), size,
                       State.QUEUED.value)

        with self._tx() as db:
            position = db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM transfers").fetchone()[0]
            db.execute(
                "INSERT INTO transfers (id, position, created, spec, state, files_total, bytes_total)"
                " VALUES (?, ?, ?, ?, ?, 0, 0)",
                (transfer_id, position, time.time(), json.dumps(spec.to_json(instances=False)),
                 State.QUEUED.value))
            db.executemany(
                "INSERT INTO instances (transfer_id, series_uid, idx, data) VALUES (?, ?, ?, ?)",
                ((transfer_id, uid, i, json.dumps(instance_to_json(inst)))
                 for uid, scan in spec.session.scans.items()
                 for i, inst in enumerate(scan.instances)))
            db.executemany(
                "INSERT INTO units (transfer_id, idx, series_uid, part, parts, files, file_count,"
                " bytes, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", unit_rows())
            db.execute("UPDATE transfers SET files_total = ?, bytes_total = ? WHERE id = ?",
                       (*totals, transfer_id))
        return transfer_id

    def get(self, transfer_id: str) -> TransferRow:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(self._columns)} FROM transfers WHERE id = ?",
                                   (transfer_id,)).fetchone()
            if row is None:
                raise KeyError(transfer_id)
            values = dict(zip(self._columns, row))
            cached = self._specs.get(transfer_id)
            if cached is None or cached[0] != values["spec_rev"]:
                text = self._db.execute("SELECT spec FROM transfers WHERE id = ?",
                                        (transfer_id,)).fetchone()[0]
                cached = self._specs[transfer_id] = (values["spec_rev"],
                                                     TransferSpec.from_json(json.loads(text)))
        return _transfer_row(values, cached[1])

    def ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM transfers ORDER BY position")]

    def find(self, prefix: str) -> str:
        """Resolve a transfer id or an unambiguous prefix of one (the CLI shows short ids)."""
        matches = [i for i in self.ids() if i.startswith(prefix)]
        if len(matches) != 1:
            raise KeyError(prefix)
        return matches[0]

    def states(self) -> dict[str, State]:
        with self._lock:
            return {r[0]: State(r[1]) for r in
                    self._db.execute("SELECT id, state FROM transfers ORDER BY position")}

    def update(self, transfer_id: str, **fields: Any) -> None:
        """Set columns of a transfer (dicts are stored as JSON, states by value)."""
        if not fields:
            return
        values = [json.dumps(v) if isinstance(v, (dict, list)) else
                  v.value if isinstance(v, State) else v for v in fields.values()]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        if "spec" in fields:
            assignments += ", spec_rev = spec_rev + 1"
        with self._tx() as db:
            db.execute(f"UPDATE transfers SET {assignments} WHERE id = ?", (*values, transfer_id))

    def remove(self, transfer_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM transfers WHERE id = ?", (transfer_id,))
        self._specs.pop(transfer_id, None)

    # ---- units and objects -------------------------------------------------------------------

    def units(self, transfer_id: str, with_files: bool = True) -> list[UnitRow]:
        """The transfer's units; ``with_files=False`` leaves ``files`` empty (status and receipts
        need only states, which keeps them from reading an index per file of the session)."""
        files = "files" if with_files else "'[]'"
        with self._lock:
            rows = self._db.execute(
                f"SELECT transfer_id, idx, series_uid, part, parts, {files}, bytes, state, attempts,"
                " error FROM units WHERE transfer_id = ? ORDER BY idx", (transfer_id,)).fetchall()
        return [UnitRow(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), r[6], State(r[7]),
                        r[8], r[9]) for r in rows]

    def set_unit(self, transfer_id: str, idx: int, state: State, error: str = "",
                 add_attempt: bool = False) -> None:
        with self._tx() as db:
            db.execute("UPDATE units SET state = ?, error = ?, attempts = attempts + ?"
                       " WHERE transfer_id = ? AND idx = ?",
                       (state.value, error, int(add_attempt), transfer_id, idx))

    def finish_unit(self, transfer_id: str, idx: int, state: State, error: str,
                    objects: list[ObjectRow]) -> None:
        """Record a unit's outcome and the objects it handled, atomically (see module doc)."""
        with self._tx() as db:
            db.execute("DELETE FROM objects WHERE transfer_id = ? AND unit_idx = ?", (transfer_id, idx))
            db.executemany(
                "INSERT INTO objects (transfer_id, unit_idx, series_uid, source, status,"
                " sop_instance_uid, scan_id, md5, size, reason) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(transfer_id, o.unit_idx, o.series_uid, o.source, o.status, o.sop_instance_uid,
                  o.scan_id, o.md5, o.size, o.reason) for o in objects])
            db.execute("UPDATE units SET state = ?, error = ? WHERE transfer_id = ? AND idx = ?",
                       (state.value, error, transfer_id, idx))

    def reset_units(self, transfer_id: str, states: Iterable[State]) -> None:
        """Put units in the given states back to queued (restart/resume), forgetting attempts."""
        wanted = [s.value for s in states]
        marks = ",".join("?" for _ in wanted)
        with self._tx() as db:
            db.execute(f"UPDATE units SET state = ?, error = '', attempts = 0 WHERE transfer_id = ?"
                       f" AND state IN ({marks})", (State.QUEUED.value, transfer_id, *wanted))

    def reset_transfer(self, transfer_id: str) -> None:
        """Forget everything sent (the destination discarded it): all units queued again."""
        with self._tx() as db:
            db.execute("DELETE FROM objects WHERE transfer_id = ?", (transfer_id,))
            db.execute("UPDATE units SET state = ?, error = '', attempts = 0 WHERE transfer_id = ?",
                       (State.QUEUED.value, transfer_id))
            db.execute("UPDATE transfers SET dest_state = '{}', session_uri = '' WHERE id = ?",
                       (transfer_id,))

    def exclude_series(self, transfer_id: str, series_uid: str) -> None:
        """Drop a scan's unfinished units (the user excluded a failed scan before retrying)."""
        with self._tx() as db:
            db.execute("DELETE FROM objects WHERE transfer_id = ? AND series_uid = ?",
                       (transfer_id, series_uid))
            db.execute("DELETE FROM units WHERE transfer_id = ? AND series_uid = ?",
                       (transfer_id, series_uid))

    def instances(self, transfer_id: str, series_uid: str, indices: Iterable[int]) -> list[Instance]:
        """The instances at ``indices`` of a scan (a unit's files), in the order given."""
        wanted = list(indices)
        if not wanted:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, data FROM instances WHERE transfer_id = ? AND series_uid = ?"
                " AND idx BETWEEN ? AND ?",
                (transfer_id, series_uid, min(wanted), max(wanted))).fetchall()
        found = {idx: data for idx, data in rows}
        return [instance_from_json(json.loads(found[i])) for i in wanted]

    def scan_files(self, transfer_id: str) -> dict[str, int]:
        """Number of files of each scan of the transfer (excluded scans included)."""
        with self._lock:
            return dict(self._db.execute(
                "SELECT series_uid, COUNT(*) FROM instances WHERE transfer_id = ?"
                " GROUP BY series_uid", (transfer_id,)))

    def files_done(self, transfer_id: str) -> int:
        """Objects handled by units that are done (sent or rejected by a script)."""
        with self._lock:
            return int(self._db.execute(
                "SELECT COUNT(*) FROM objects o JOIN units u ON u.transfer_id = o.transfer_id"
                " AND u.idx = o.unit_idx WHERE o.transfer_id = ? AND u.state = ?",
                (transfer_id, State.DONE.value)).fetchone()[0])

    def object_counts(self, transfer_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        """``(series_uid, status)`` → ``(objects, bytes)`` of the transfer's object rows."""
        with self._lock:
            return {(uid, status): (n, size) for uid, status, n, size in self._db.execute(
                "SELECT series_uid, status, COUNT(*), COALESCE(SUM(size), 0) FROM objects"
                " WHERE transfer_id = ? GROUP BY series_uid, status", (transfer_id,))}

    def objects(self, transfer_id: str, series_uid: str | None = None,
                status: str | None = None) -> Iterator[ObjectRow]:
        """Object rows (optionally of one scan / one status) in unit order, read one unit at a
        time so a large session's rows are never all in memory."""
        where = "transfer_id = ?" + (" AND series_uid = ?" if series_uid is not None else "") + \
            (" AND status = ?" if status is not None else "")
        params = tuple(p for p in (transfer_id, series_uid, status) if p is not None)
        with self._lock:
            unit_ids = [r[0] for r in self._db.execute(
                f"SELECT DISTINCT unit_idx FROM objects WHERE {where} ORDER BY unit_idx", params)]
        for unit_idx in unit_ids:
            with self._lock:
                rows = self._db.execute(
                    "SELECT unit_idx, series_uid, source, status, sop_instance_uid, scan_id, md5,"
                    f" size, reason FROM objects WHERE {where} AND unit_idx = ? ORDER BY rowid",
                    (*params, unit_idx)).fetchall()
            yield from (ObjectRow(*r) for r in rows)

    # ---- log ---------------------------------------------------------------------------------

    def log(self, transfer_id: str, level: str, event: str, message: str,
            details: dict[str, Any] | None = None) -> None:
        """Append to the transfer's log, with its subject and session labels replaced by
        placeholders: a label may be the patient's name, and logs carry none (issue 14)."""
        text = json.dumps(details or {})
        try:
            spec = self.get(transfer_id).spec
        except KeyError:
            spec = None
        if spec is not None:
            for value, placeholder in ((spec.session_label, "[session]"), (spec.subject, "[subject]")):
                if len(value) >= 2:
                    message = message.replace(value, placeholder)
                    text = text.replace(json.dumps(value)[1:-1], placeholder)
        with self._tx() as db:
            db.execute("INSERT INTO log (transfer_id, ts, level, event, message, details)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       (transfer_id, time.time(), level, event, message, text))

    def logs(self, transfer_id: str) -> list[LogEntry]:
        with self._lock:
            rows = self._db.execute("SELECT ts, level, event, message, details FROM log"
                                    " WHERE transfer_id = ? ORDER BY rowid", (transfer_id,)).fetchall()
        return [LogEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # ---- start-up ----------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """After a crash: whatever was running is queued again (done units stay done)."""
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM transfers WHERE state = ?",
                                            (State.RUNNING.value,))]
            db.execute("UPDATE transfers SET state = ? WHERE state = ?",
                       (State.QUEUED.value, State.RUNNING.value))
            db.execute("UPDATE units SET state = ? WHERE state = ?",
                       (State.QUEUED.value, State.RUNNING.value))
        return ids


class _Transaction:
    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        self.store._db.execute("BEGIN IMMEDIATE")
        return self.store._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()


def _transfer_row(r: dict[str, Any], spec: TransferSpec) -> TransferRow:
    return TransferRow(
        id=r["id"], position=r["position"], created=r["created"], spec=spec, state=State(r["state"]),
        error=r["error"], attempts=r["attempts"], session_uri=r["session_uri"], link=r["link"],
        dest_state=json.loads(r["dest_state"] or "{}"),
        scripts=json.loads(r["scripts"]) if r["scripts"] else None,
        started=r["started"], finished=r["finished"], files_total=r["files_total"],
        bytes_total=r["bytes_total"],
        verification=json.loads(r["verification"]) if r["verification"] else None,
        receipt_json=r["receipt_json"], receipt_pdf=r["receipt_pdf"])


def plan_units(spec: TransferSpec) -> Iterator[tuple[str, int, int, list[int], int]]:
    """Split the included scans into units of at most ``max_chunk_files`` / ``max_chunk_bytes``.

    Chunks follow the scan's instance order, so a resumed transfer rebuilds exactly the same
    pieces; a single file larger than the byte limit is a chunk of its own.
    """
    for scan in spec.session.sorted_scans():
        if spec.choice(scan.series_instance_uid).excluded:
            continue
        chunks: list[tuple[list[int], int]] = []
        files: list[int] = []
        size = 0
        for i, inst in enumerate(scan.instances):
            if files and (len(files) >= spec.max_chunk_files or size + inst.size > spec.max_chunk_bytes):
                chunks.append((files, size))
                files, size = [], 0
            files.append(i)
            size += inst.size
        if files:
            chunks.append((files, size))
        for part, (chunk_files, chunk_size) in enumerate(chunks):
            yield scan.series_instance_uid, part, len(chunks), chunk_files, chunk_size
