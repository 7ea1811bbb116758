"""The scan index: what each file was the last time we read it, so unchanged files are not re-read.

Re-scanning an unchanged tree then costs a directory walk plus one indexed query per few hundred
files, instead of opening every file. A file whose size or modification time changed is simply a
miss and is read again. Records are stored as JSON (never pickle: a cache file must not be able to
run code). The cache is disposable: a damaged or outdated database is recreated.

The index holds no patient data (issue 14): folder and file names under a selection usually carry
patient IDs and accession numbers, so entries are keyed by a keyed hash of (path, member)
(:mod:`desktop_client.core.privacy`), and the patient's name, ID and accession number are blanked
in every stored record. Those values are kept in memory for the running process (per study); for
a study this process has not read yet, the scanner re-reads one file of the study
(:func:`missing_identity`), which costs one header per study instead of one per file. Entries not
seen for ``max_age_days`` (default 30, the Settings screen's "Keep the scan index") are deleted
when the index is opened; :func:`clear_cached_data` removes it all.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
import threading
import time
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Iterable

from desktop_client.core import paths
from desktop_client.core.privacy import keyed_hash, make_private
from desktop_client.scanning.model import Instance, Location, Skipped

SCHEMA_VERSION = 4
_BATCH = 500
DEFAULT_MAX_AGE_DAYS = 30
_DAY = 86400

#: Row fields of :class:`Instance` that identify the patient: never written to the index.
IDENTITY_FIELDS = ("patient_name", "patient_id", "accession_number")
_ROW_NAMES = [f.name for f in fields(Instance) if f.name != "location"]
_IDENTITY_INDEXES = tuple(_ROW_NAMES.index(n) for n in IDENTITY_FIELDS)

_identity_lock = threading.Lock()
#: Study Instance UID → (patient name, patient ID, accession number), this process only.
_identities: dict[str, tuple[str, str, str]] = {}
_max_age_days = DEFAULT_MAX_AGE_DAYS


def default_path() -> Path:
    return paths.cache_dir() / "scan-index.sqlite"


def set_max_age_days(days: int) -> None:
    """How long an entry not seen again is kept (the user's setting; at least one day)."""
    global _max_age_days
    _max_age_days = max(1, int(days))


def max_age_days() -> int:
    """The expiry of everything cached about scanned files: the scan index and the thumbnails."""
    return _max_age_days


def remember_identity(instance: Instance) -> None:
    """Keep a study's identifying values in memory (never on disk) for later cache hits."""
    if instance.patient_name or instance.patient_id or instance.accession_number:
        with _identity_lock:
            _identities.setdefault(instance.study_instance_uid, (
                instance.patient_name, instance.patient_id, instance.accession_number))


def restore_identity(instance: Instance) -> bool:
    """Fill a cached instance's identifying values from memory; False when they are unknown."""
    with _identity_lock:
        known = _identities.get(instance.study_instance_uid)
    if known is None:
        return False
    instance.patient_name, instance.patient_id, instance.accession_number = known
    return True


def missing_identity(results: Iterable[Instance | Skipped]) -> dict[str, Instance]:
    """One cached instance per study whose identifying values this process does not know."""
    wanted: dict[str, Instance] = {}
    for result in results:
        if isinstance(result, Instance) and result.study_instance_uid not in wanted \
                and not restore_identity(result):
            wanted[result.study_instance_uid] = result
    return wanted


def forget_identities() -> None:
    with _identity_lock:
        _identities.clear()


def clear_cached_data() -> list[Path]:
    """Delete the scan index (and its journal files) and forget identities held in memory.

    Returns what was removed. Thumbnail or preview caches written under the cache folder by the
    viewer go too: the whole cache folder is disposable by definition.
    """
    forget_identities()
    removed = []
    root = paths.cache_dir()
    for item in sorted(root.iterdir()):
        if item.name == "tmp":  # the transfer spool: in use by queued transfers
            continue
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)
        removed.append(item)
    return removed


class ScanCache:
    """SQLite-backed index of header reads. Use from one thread at a time."""

    expired: int = 0

    def __init__(self, path: Path | None = None, *, max_age_days: int | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.max_age_days = max_age_days or _max_age_days
        make_private(self.path)
        self._db = self._open()
        self._expire()

    def _open(self, retry: bool = True) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS entries")
                db.execute(
                    "CREATE TABLE entries (key TEXT PRIMARY KEY, archive TEXT NOT NULL,"
                    " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, seen INTEGER NOT NULL,"
                    " record TEXT NOT NULL)")
                db.execute("CREATE INDEX entries_by_archive ON entries(archive)")
                db.execute("DROP TABLE IF EXISTS archives")
                db.execute("CREATE TABLE archives (key TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                           " mtime_ns INTEGER NOT NULL, seen INTEGER NOT NULL)")
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.execute("VACUUM")  # an older index held names and paths: leave no free pages
                db.commit()
            return db
        except sqlite3.DatabaseError:
            if not retry:  # not a damaged file but a failing disk (full, I/O error): the caller decides
                raise
            self.path.unlink(missing_ok=True)
            make_private(self.path)
            return self._open(retry=False)

    def _expire(self) -> None:
        cutoff = int(time.time()) - self.max_age_days * _DAY
        with self._db:
            gone = self._db.execute("DELETE FROM entries WHERE seen < ?", (cutoff,)).rowcount
            gone += self._db.execute("DELETE FROM archives WHERE seen < ?", (cutoff,)).rowcount
        if gone:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        #: How many entries (files and archives) opening the index expired.
        self.expired = gone

    def close(self) -> None:
        self._db.close()

    def lookup(self, keys: list[tuple[Location, int, int]]) -> dict[Location, Instance | Skipped]:
        """Return cached results for the keys whose size and mtime still match."""
        found: dict[Location, Instance | Skipped] = {}
        by_key = {_entry_key(k[0].path, k[0].member): k for k in keys}
        wanted = list(by_key)
        hits: list[str] = []
        for i in range(0, len(wanted), _BATCH):
            chunk = wanted[i:i + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, size, mtime_ns, record FROM entries WHERE key IN ({marks})", chunk)
            for key, size, mtime_ns, record in rows:
                loc, want_size, want_mtime = by_key[key]
                if want_size != size or want_mtime != mtime_ns:
                    continue
                found[loc] = _decode(loc, record)
                hits.append(key)
        self._touch(hits)
        return found

    def store(self, items: Iterable[tuple[Location, int, int, Instance | Skipped]]) -> None:
        now = int(time.time())
        rows = [(_entry_key(loc.path, loc.member), "", size, mtime, now, _encode(result))
                for loc, size, mtime, result in items]
        if rows:
            self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.commit()

    def archive_members(self, path: str, size: int, mtime_ns: int) -> list[Instance | Skipped] | None:
        """Every member result of an archive indexed with this size and mtime, else None.

        Member names are not stored (they can carry patient data): they are listed from the
        archive again and matched by their keyed hash.
        """
        archive = _entry_key(path, None)
        row = self._db.execute("SELECT size, mtime_ns FROM archives WHERE key = ?", (archive,)).fetchone()
        if row is None or tuple(row) != (size, mtime_ns):
            return None
        records = dict(self._db.execute("SELECT key, record FROM entries WHERE archive = ?", (archive,)))
        names = _member_names(path)
        if names is None:
            return None
        results = []
        for name in names:
            record = records.get(_entry_key(path, name))
            if record is None:
                return None  # listed differently than indexed: read the archive again
            results.append(_decode(Location(path, name), record))
        self._touch(list(records) + [archive], table="both")
        return results

    def store_archive(self, path: str, size: int, mtime_ns: int,
                      members: Iterable[tuple[Location, int, Instance | Skipped]]) -> None:
        """Replace an archive's member results and mark it indexed at this size and mtime."""
        archive, now = _entry_key(path, None), int(time.time())
        self._db.execute("DELETE FROM entries WHERE archive = ?", (archive,))
        self._db.executemany(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
            [(_entry_key(path, loc.member), archive, sz, mtime_ns, now, _encode(res))
             for loc, sz, res in members if loc.member is not None])
        self._db.execute("INSERT OR REPLACE INTO archives VALUES (?, ?, ?, ?)",
                         (archive, size, mtime_ns, now))
        self._db.commit()

    def _touch(self, keys: list[str], table: str = "entries") -> None:
        """Mark entries as seen now (expiry counts from the last scan that used them)."""
        if not keys:
            return
        now = int(time.time())
        for i in range(0, len(keys), _BATCH):
            chunk = keys[i:i + _BATCH]
            marks = ",".join("?" * len(chunk))
            self._db.execute(f"UPDATE entries SET seen = ? WHERE key IN ({marks})", (now, *chunk))
            if table == "both":
                self._db.execute(f"UPDATE archives SET seen = ? WHERE key IN ({marks})", (now, *chunk))
        self._db.commit()


def _entry_key(path: str, member: str | None) -> str:
    return keyed_hash("scan-index", path, member if member is not None else "\0file")


def _member_names(path: str) -> list[str] | None:
    """Names of an archive's regular-file members in archive order (None when unreadable)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return [i.filename for i in zf.infolist() if not i.is_dir()]
        with tarfile.open(path, "r|*") as tf:
            return [m.name for m in tf if not m.isdir()]
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None


def _encode(result: Instance | Skipped) -> str:
    if isinstance(result, Skipped):
        return json.dumps(["skip", result.reason])
    remember_identity(result)
    row = list(result.to_row())
    for i in _IDENTITY_INDEXES:
        row[i] = ""
    return json.dumps(["inst", row])


def _decode(location: Location, record: str) -> Instance | Skipped:
    kind, payload = json.loads(record)
    if kind == "skip":
        return Skipped(str(location), payload)
    instance = Instance.from_row(location, payload)
    restore_identity(instance)
    return instance
