"""The app's own files never hold patient data: keyed source references and private writes.

Folder and file names under a user's selection usually carry the patient's ID, name or accession
number (``DEMO861391/20190617_ACC2183524/…``), so no file the app keeps (scan index, transfer
queue, receipts, logs) may store a source path. A source is named instead by a *source
reference*: an HMAC-SHA256 of its path, archive member, size and modification time under a
per-installation secret (``source-key`` in the config folder, 0600). Without the secret the
reference cannot be tested against guessed paths; with it, the app can recognise a file again.

Readable paths live only in memory (:class:`SourceBook`), filled by every scan of the running
process. After a restart a transfer's remaining sources are found again by scanning the same
folder (the references match), or — when the user opted in to "remember source paths" — from
the queue itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from desktop_client.core import paths

_KEY_NAME = "source-key"
_key: bytes | None = None
_key_lock = threading.Lock()


def private_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_private(path: Path) -> None:
    """Create (if missing) an empty file that only the owner can read, before anything opens it.

    SQLite creates its database with the process umask; creating the file first at 0600 makes
    the database private from its first byte (its -wal/-shm companions copy this mode).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def secret_key() -> bytes:
    """This installation's 32-byte secret for source references (created on first use)."""
    global _key
    with _key_lock:
        if _key is not None:
            return _key
        path = paths.config_dir() / _KEY_NAME
        try:
            key = bytes.fromhex(path.read_text(encoding="ascii").strip())
            if len(key) != 32:
                raise ValueError
        except (OSError, ValueError):
            key = secrets.token_bytes(32)
            private_write(path, key.hex().encode("ascii"))
        _key = key
        return key


def forget_key_cache() -> None:
    """Drop the in-memory secret (tests relocate the app's home between cases)."""
    global _key
    with _key_lock:
        _key = None


def keyed_hash(*parts: str) -> str:
    """HMAC-SHA256 (first 32 hex digits) of the parts, joined with NUL bytes."""
    message = "\0".join(parts).encode("utf-8", "surrogateescape")
    return hmac.new(secret_key(), message, hashlib.sha256).hexdigest()[:32]


def source_ref(path: str, member: str | None, size: int, mtime_ns: int) -> str:
    """The reference of one source object (a file, or a member of an archive file)."""
    return "src-" + keyed_hash("source", path, member or "", str(size), str(mtime_ns))


class SourceBook:
    """In-memory map between source references and readable locations (never written to disk)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_ref: dict[str, tuple[str, str | None]] = {}
        self._by_location: dict[tuple[str, str | None], str] = {}

    def add(self, path: str, member: str | None, size: int, mtime_ns: int) -> str:
        ref = source_ref(path, member, size, mtime_ns)
        with self._lock:
            self._by_ref[ref] = (path, member)
            self._by_location[(path, member)] = ref
        return ref

    def location(self, ref: str) -> tuple[str, str | None] | None:
        with self._lock:
            return self._by_ref.get(ref)

    def ref(self, path: str, member: str | None, size: int) -> str:
        """The reference of a location; stats the file when this process has not seen it yet."""
        with self._lock:
            known = self._by_location.get((path, member))
        if known is not None:
            return known
        try:
            mtime_ns = os.stat(path).st_mtime_ns
        except OSError:
            mtime_ns = 0
        return self.add(path, member, size, mtime_ns)

    def clear(self) -> None:
        with self._lock:
            self._by_ref.clear()
            self._by_location.clear()


#: The process-wide book: the scanner fills it, the queue and receipts read it.
BOOK = SourceBook()


#: Path of a stored source whose readable location this process does not know (see spec).
UNLOCATED = "\0unlocated:"

_remember_paths = False


def remember_source_paths() -> bool:
    """True when the user opted in to keeping readable source paths in the transfer queue."""
    return _remember_paths


def set_remember_source_paths(on: bool) -> None:
    global _remember_paths
    _remember_paths = bool(on)


def is_unlocated(path: str) -> bool:
    return path.startswith(UNLOCATED)


def scrub(text: str, paths: dict[str, str]) -> str:
    """``text`` with every readable path of ``paths`` (path → reference) replaced by its reference,
    for reasons and messages that quote an OS error naming the file."""
    for path, ref in paths.items():
        if path and path in text:
            text = text.replace(path, ref)
    return text
