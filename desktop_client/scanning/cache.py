"""The scan index: what each file was the last time we read it, keyed by (path, member, size, mtime).

Re-scanning an unchanged tree then costs a directory walk plus one indexed query per few hundred
files, instead of opening every file. A file whose size or modification time changed is simply a
miss and is read again. Records are stored as JSON (never pickle: a cache file must not be able to
run code). The cache is disposable: a damaged or outdated database is recreated.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterable

from desktop_client.core import paths
from desktop_client.scanning.model import Instance, Location, Skipped

SCHEMA_VERSION = 3
_BATCH = 500


def default_path() -> Path:
    return paths.cache_dir() / "scan-index.sqlite"


class ScanCache:
    """SQLite-backed index of header reads. Use from one thread at a time."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._open()

    def _open(self, retry: bool = True) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS entries")
                db.execute(
                    "CREATE TABLE entries (path TEXT NOT NULL, member TEXT NOT NULL, size INTEGER NOT NULL,"
                    " mtime_ns INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (path, member))"
                )
                db.execute("DROP TABLE IF EXISTS archives")
                db.execute("CREATE TABLE archives (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                           " mtime_ns INTEGER NOT NULL)")
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.commit()
            return db
        except sqlite3.DatabaseError:
            if not retry:  # not a damaged file but a failing disk (full, I/O error): the caller decides
                raise
            self.path.unlink(missing_ok=True)
            return self._open(retry=False)

    def close(self) -> None:
        self._db.close()

    def lookup(self, keys: list[tuple[Location, int, int]]) -> dict[Location, Instance | Skipped]:
        """Return cached results for the keys whose size and mtime still match."""
        found: dict[Location, Instance | Skipped] = {}
        by_path: dict[str, list[tuple[Location, int, int]]] = {}
        for key in keys:
            by_path.setdefault(key[0].path, []).append(key)
        unique_paths = list(by_path)
        for i in range(0, len(unique_paths), _BATCH):
            chunk = unique_paths[i:i + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT path, member, size, mtime_ns, record FROM entries WHERE path IN ({marks})", chunk)
            wanted = {(k[0].path, k[0].member or ""): k for p in chunk for k in by_path[p]}
            for path, member, size, mtime_ns, record in rows:
                key = wanted.get((path, member))
                if key is None or key[1] != size or key[2] != mtime_ns:
                    continue
                found[key[0]] = _decode(key[0], record)
        return found

    def store(self, items: Iterable[tuple[Location, int, int, Instance | Skipped]]) -> None:
        rows = [(loc.path, loc.member or "", size, mtime, _encode(result)) for loc, size, mtime, result in items]
        if rows:
            self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
            self._db.commit()


    def archive_members(self, path: str, size: int, mtime_ns: int) -> list[Instance | Skipped] | None:
        """Every member result of an archive indexed with this size and mtime, else None."""
        row = self._db.execute("SELECT size, mtime_ns FROM archives WHERE path = ?", (path,)).fetchone()
        if row is None or tuple(row) != (size, mtime_ns):
            return None
        rows = self._db.execute("SELECT member, record FROM entries WHERE path = ? AND member != ''", (path,))
        return [_decode(Location(path, member), record) for member, record in rows]

    def store_archive(self, path: str, size: int, mtime_ns: int,
                      members: Iterable[tuple[Location, int, Instance | Skipped]]) -> None:
        """Replace an archive's member results and mark it indexed at this size and mtime."""
        self._db.execute("DELETE FROM entries WHERE path = ? AND member != ''", (path,))
        self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)",
                             [(path, loc.member or "", sz, mtime_ns, _encode(res)) for loc, sz, res in members])
        self._db.execute("INSERT OR REPLACE INTO archives VALUES (?, ?, ?)", (path, size, mtime_ns))
        self._db.commit()


def _encode(result: Instance | Skipped) -> str:
    if isinstance(result, Skipped):
        return json.dumps(["skip", result.reason])
    return json.dumps(["inst", result.to_row()])


def _decode(location: Location, record: str) -> Instance | Skipped:
    kind, payload = json.loads(record)
    if kind == "skip":
        return Skipped(str(location), payload)
    return Instance.from_row(location, payload)
