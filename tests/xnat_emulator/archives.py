"""Reading uploaded archives the way XNAT's importer does: entry by entry, while they arrive.

XNAT unpacks a DICOM-zip upload with Java's ``ZipInputStream``, which walks local file headers
from the front of the stream and never looks at the central directory. Two consequences the
emulator reproduces on purpose:

* entries are processed as they arrive, so a dropped connection or a bad entry leaves every
  earlier entry stored in the prearchive;
* a STORED entry whose sizes are deferred to a data descriptor (what Python's ``zipfile`` writes
  to a non-seekable stream) cannot be read: Java fails with "only DEFLATED entries can have EXT
  descriptor". A client must stream zips with sizes in the local headers (or deflate them).
"""

from __future__ import annotations

import struct
import tarfile
import zlib
from typing import BinaryIO, Iterator

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
END_SIG = b"PK\x05\x06"
DESCRIPTOR_SIG = b"PK\x07\x08"


class ArchiveFormatError(Exception):
    """The upload is not a readable archive (the message is what the server reports)."""


class BodyIncomplete(Exception):
    """The request body ended (or the connection dropped) before the archive was complete."""


class PushbackReader:
    """A byte reader with ``unread`` so inflated entries can hand back their over-read bytes."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._buffer = b""

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            data = self._buffer + self._raw.read()
            self._buffer = b""
            return data
        if self._buffer:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
            return data
        return self._raw.read(n)

    def unread(self, data: bytes) -> None:
        self._buffer = data + self._buffer

    def read_exact(self, n: int) -> bytes:
        parts: list[bytes] = []
        remaining = n
        while remaining > 0:
            chunk = self.read(min(remaining, 1 << 16))
            if not chunk:
                raise BodyIncomplete(f"archive truncated: expected {n} more bytes")
            parts.append(chunk)
            remaining -= len(chunk)
        return b"".join(parts)


def iter_zip_entries(raw: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, data)`` for each file entry, in stream order, like ``ZipInputStream``."""
    reader = PushbackReader(raw)
    while True:
        sig = reader.read(4)
        if len(sig) < 4:
            if sig:
                raise BodyIncomplete("archive truncated inside an entry signature")
            return  # an empty body is an empty archive (XNAT answers 200 with no URI)
        if sig in (CENTRAL_SIG, END_SIG):
            return
        if sig != LOCAL_SIG:
            raise ArchiveFormatError("invalid zip entry signature")
        (_version, flags, method, _time, _date, crc, csize, _usize, name_len,
         extra_len) = struct.unpack("<HHHHHIIIHH", reader.read_exact(26))
        raw_name = reader.read_exact(name_len)
        reader.read_exact(extra_len)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        if flags & 0x1:
            raise ArchiveFormatError(f"encrypted zip entry {name} is not supported")
        if method == 8:
            data = _inflate(reader)
        elif method == 0:
            if flags & 0x8:
                raise ArchiveFormatError("only DEFLATED entries can have EXT descriptor")
            data = reader.read_exact(csize)
        else:
            raise ArchiveFormatError(f"invalid compression method {method} for entry {name}")
        if flags & 0x8:
            head = reader.read_exact(4)
            if head == DESCRIPTOR_SIG:
                crc = struct.unpack("<I", reader.read_exact(4))[0]
            else:
                crc = struct.unpack("<I", head)[0]
            reader.read_exact(8)
        if zlib.crc32(data) & 0xFFFFFFFF != crc:
            raise ArchiveFormatError(f"invalid entry CRC for {name}")
        if name.endswith("/"):
            continue
        yield name, data


def _inflate(reader: PushbackReader) -> bytes:
    inflater = zlib.decompressobj(-15)
    out: list[bytes] = []
    while not inflater.eof:
        chunk = reader.read(1 << 16)
        if not chunk:
            raise BodyIncomplete("archive truncated inside a compressed entry")
        try:
            out.append(inflater.decompress(chunk))
        except zlib.error as exc:
            raise ArchiveFormatError(f"invalid compressed data: {exc}") from None
    if inflater.unused_data:
        reader.unread(inflater.unused_data)
    return b"".join(out)


def iter_tar_entries(raw: BinaryIO, compressed: bool) -> Iterator[tuple[str, bytes]]:
    """Yield regular files of a (gzipped) tar stream in order."""
    try:
        with tarfile.open(fileobj=raw, mode="r|gz" if compressed else "r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                handle = tar.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read()
    except BodyIncomplete:
        raise
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveFormatError(f"unable to read archive: {exc}") from None
