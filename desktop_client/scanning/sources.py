"""Finding candidate objects in the user's selection and opening them again later.

A selection is folders (walked recursively), single files, archives (zip, tar, tar.gz, …) read in
place, and DICOMDIR files. Nothing is ever extracted to disk or written: archives are read member
by member through the standard library. Member paths that would escape an extraction folder
("zip-slip": absolute paths, ``..``) are refused with a reason, because later stages name output
files after them. Every file we do not take is reported with its reason.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, BinaryIO, Iterable, Iterator

from desktop_client.core.errors import UploaderError
from desktop_client.scanning.model import Location, Skipped

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class NotRegularFile(OSError):
    """A FIFO, device or socket: opening it could block forever, reading it never ends."""

    def __init__(self, path: str, mode: int) -> None:
        super().__init__(f"not a regular file ({_kind(mode)}); only regular files are read")
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0])


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` read-only, refusing anything but a regular file without ever blocking.

    ``O_NONBLOCK`` keeps ``open`` of a FIFO from waiting for a writer (which hung every command);
    the type is then checked on the open descriptor, so a file swapped for a FIFO between the
    scan and the read is refused too. ``O_NONBLOCK`` has no effect on reads of regular files.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class ObjectTooLarge(UploaderError):
    """Reading the whole object would break the memory budget (see core/limits.py)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file (or archive member) to read, with the identity the scan cache is keyed by."""

    location: Location
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class ArchiveCandidate:
    """A whole archive; its members are listed and read by a worker."""

    path: str
    kind: str  # "zip" | "tar"
    size: int
    mtime_ns: int


def archive_kind(path: str, head: bytes) -> str | None:
    """``"zip"`` / ``"tar"`` when the file is an archive we read in place, else None."""
    if head[:4] == b"PK\x03\x04" or (head[:4] == b"PK\x05\x06" and path.lower().endswith(".zip")):
        return "zip"
    lower = path.lower()
    if lower.endswith(ARCHIVE_SUFFIXES[1:]) or head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar":
        try:
            return "tar" if tarfile.is_tarfile(path) else None
        except OSError:
            return None
    return None


def unsafe_member_name(name: str) -> bool:
    """True for archive member names that would escape a destination folder (zip-slip)."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        return True
    return ".." in PurePosixPath(normalized).parts


def _is_dicomdir_name(name: str) -> bool:
    return os.path.basename(name).upper() == "DICOMDIR"


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Candidate | ArchiveCandidate | Skipped]:
    """Yield everything in the selection, in a stable (sorted) order."""
    seen_dirs: set[tuple[int, int]] = set()
    for raw in paths:
        path = os.path.abspath(os.fspath(raw))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if os.path.islink(path):
                yield Skipped(path, "broken symbolic link")
            else:
                yield Skipped(path, "does not exist")
            continue
        except OSError as exc:
            yield Skipped(path, f"cannot be read ({exc.strerror or exc})")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, seen_dirs)
        elif stat.S_ISREG(st.st_mode):
            yield from _file(path, st)
        else:
            yield Skipped(path, f"not a regular file ({_kind(st.st_mode)}); only regular files are read")


def _walk(root: str, seen_dirs: set[tuple[int, int]]) -> Iterator[Candidate | ArchiveCandidate | Skipped]:
    try:
        st = os.stat(root)
    except OSError as exc:
        yield Skipped(root, f"cannot be read ({exc.strerror or exc})")
        return
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        yield Skipped(root, "symbolic link loop (folder already scanned)")
        return
    seen_dirs.add(key)
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield Skipped(root, f"folder cannot be listed ({exc.strerror or exc})")
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(entry.path, seen_dirs)
            continue
        try:
            est = entry.stat(follow_symlinks=True)
        except FileNotFoundError:
            yield Skipped(entry.path, "broken symbolic link")
            continue
        except OSError as exc:
            yield Skipped(entry.path, f"cannot be read ({exc.strerror or exc})")
            continue
        if stat.S_ISREG(est.st_mode):
            yield from _file(entry.path, est)
        else:
            yield Skipped(entry.path, f"not a regular file ({_kind(est.st_mode)}); only regular files are read")


def _file(path: str, st: os.stat_result) -> Iterator[Candidate | ArchiveCandidate | Skipped]:
    if _is_dicomdir_name(path):
        yield from _dicomdir(path)
        return
    lower = path.lower()
    if lower.endswith(ARCHIVE_SUFFIXES):
        kind = archive_kind(path, _head(path))
        if kind:
            yield ArchiveCandidate(path, kind, st.st_size, st.st_mtime_ns)
            return
    yield Candidate(Location(path), st.st_size, st.st_mtime_ns)


def _head(path: str, n: int = 512) -> bytes:
    try:
        with open_regular(path) as fh:
            return fh.read(n)
    except OSError:
        return b""


def _dicomdir(path: str, *, members: bool = False) -> Iterator[Candidate | Skipped]:
    """Report the DICOMDIR itself and any file it lists that is missing from the medium; with
    ``members``, also yield the listed files as candidates (a DICOMDIR selected on its own).

    In a folder walk the listed files are found by the walk itself: DICOMDIR-guided media often
    have files without extensions, which our content-based detection reads anyway.
    """
    yield Skipped(path, "DICOMDIR index file (its listed files are scanned instead)")
    try:
        from pydicom import dcmread

        records = dcmread(path, force=True).get("DirectoryRecordSequence", [])
    except Exception as exc:  # a damaged DICOMDIR must not stop the scan of the files themselves
        yield Skipped(path, f"DICOMDIR cannot be read ({type(exc).__name__}: {exc})")
        return
    base = os.path.dirname(path)
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [str(p) for p in ([file_id] if isinstance(file_id, str) else file_id)]
        target = _resolve_case_insensitive(base, parts)
        if target is None:
            yield Skipped(os.path.join(base, *parts), "listed in DICOMDIR but missing on disk")
        elif members:
            st = os.stat(target)
            yield Candidate(Location(target), st.st_size, st.st_mtime_ns)


def _resolve_case_insensitive(base: str, parts: list[str]) -> str | None:
    """Find a DICOMDIR file ID on disk; CDs are often mounted with a different letter case."""
    current = base
    for part in parts:
        candidate = os.path.join(current, part)
        if os.path.exists(candidate):
            current = candidate
            continue
        try:
            names = os.listdir(current)
        except OSError:
            return None
        match = next((n for n in names if n.upper() == part.upper()), None)
        if match is None:
            return None
        current = os.path.join(current, match)
    return current if os.path.isfile(current) else None


def expand_selection(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Candidate | ArchiveCandidate | Skipped]:
    """:func:`discover`, plus the files listed by DICOMDIRs that were selected on their own."""
    for raw in paths:
        path = os.path.abspath(os.fspath(raw))
        if os.path.isfile(path) and _is_dicomdir_name(path):
            yield from _dicomdir(path, members=True)
        else:
            yield from discover([path])


def open_location(location: Location) -> BinaryIO:
    """Open an instance's bytes for reading (never for writing: sources are read-only to us)."""
    if location.member is None:
        return open_regular(location.path)
    container = open_regular(location.path)
    try:
        if zipfile.is_zipfile(container):
            container.seek(0)
            zf = zipfile.ZipFile(container)
            info = zf.getinfo(location.member)
            return _ClosingMember(zf.open(info), zf, container, info.file_size)
        container.seek(0)
        tf = tarfile.open(fileobj=container, mode="r:*")
    except BaseException:
        container.close()
        raise
    member = tf.extractfile(location.member)
    if member is None:
        tf.close()
        container.close()
        raise FileNotFoundError(f"{location.member} is not a file in {location.path}")
    return _ClosingMember(member, tf, container, tf.getmember(location.member).size)


class _ClosingMember(io.RawIOBase, BinaryIO):
    """A member stream that also closes its archive when closed (a binary stream like a file's)."""

    def __init__(self, stream: IO[bytes], archive: zipfile.ZipFile | tarfile.TarFile, container: BinaryIO,
                 size: int) -> None:
        super().__init__()
        self.size = size  # the member's uncompressed size, as the archive declares it
        self._stream = stream
        self._archive = archive
        self._container = container

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._stream.seekable()

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._archive.close()
            self._container.close()
            super().close()


def iter_archive_members(archive: ArchiveCandidate) -> Iterator[tuple[Location, int, IO[bytes] | None, str | None]]:
    """Yield ``(location, size, stream, skip_reason)`` for every member of an archive, in order.

    Streams are only valid until the next item is requested (tar archives are read sequentially,
    which keeps .tar.gz scanning linear instead of quadratic).
    """
    if archive.kind == "zip":
        with zipfile.ZipFile(archive.path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                loc = Location(archive.path, info.filename)
                reason = _member_reason(info.filename)
                if reason:
                    yield loc, info.file_size, None, reason
                    continue
                if info.flag_bits & 0x1:
                    yield loc, info.file_size, None, "encrypted archive member (password protected)"
                    continue
                if _inflates_like_a_bomb(info.file_size, info.compress_size):
                    yield loc, info.file_size, None, (
                        f"archive member inflates {info.file_size // max(1, info.compress_size):,}× to "
                        f"{info.file_size // (1024 * 1024):,} MiB (a decompression bomb?); extract it "
                        "yourself if it is genuine")
                    continue
                with zf.open(info) as stream:
                    yield loc, info.file_size, stream, None
    else:
        with tarfile.open(archive.path, "r|*") as tf:
            for member in tf:
                if member.isdir():
                    continue
                loc = Location(archive.path, member.name)
                if not member.isfile():
                    yield loc, member.size, None, "not a regular file in the archive (link or device)"
                    continue
                reason = _member_reason(member.name)
                if reason:
                    yield loc, member.size, None, reason
                    continue
                yield loc, member.size, tf.extractfile(member), None


#: A member larger than this that inflates more than ``BOMB_RATIO`` times is refused unread. Real
#: DICOM deflates a few times (air around a CT, black borders of an ultrasound); only runs of
#: identical bytes — a forged Pixel Data — reach a hundred.
BOMB_MIN_BYTES = 64 * 1024 * 1024
BOMB_RATIO = 100


def _inflates_like_a_bomb(size: int, compressed: int) -> bool:
    return size > BOMB_MIN_BYTES and size > BOMB_RATIO * max(1, compressed)


def _member_reason(name: str) -> str | None:
    if unsafe_member_name(name):
        return "unsafe path in archive (absolute or '..'; refused to prevent zip-slip)"
    if _is_dicomdir_name(name):
        return "DICOMDIR index file (its listed files are scanned instead)"
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        return "archive inside an archive (extract the outer archive first)"
    return None
