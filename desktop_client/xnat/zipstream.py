"""A zip body produced entry by entry, readable by XNAT's ``ZipInputStream``.

XNAT reads DICOM-zip uploads front to back with Java's ``ZipInputStream``. That reader refuses a
STORED entry whose sizes come after the data ("only DEFLATED entries can have EXT descriptor"),
which is exactly what Python's ``zipfile`` writes to a non-seekable stream. Here each entry is
complete in memory (one DICOM file at a time), so the CRC and sizes go into the local header and
STORED works; already-compressed DICOM is best sent STORED (level 0) to save CPU.

Only one entry is held at a time: memory is bounded by the largest file, and nothing touches the
disk. A central directory (with ZIP64 records past 4 GiB) is written at the end so the same bytes
are also a valid zip for any other reader.
"""

from __future__ import annotations

import struct
import time
import zlib
from typing import Iterable, Iterator

_LIMIT32 = 0xFFFFFFFF
_LIMIT16 = 0xFFFF
_ZIP64_FROM = _LIMIT32  # offsets/sizes from here on need ZIP64 records (a knob only for tests)


def _dos_time(now: float) -> tuple[int, int]:
    t = time.localtime(now)
    return ((t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2),
            ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday)


def zip_stream(entries: Iterable[tuple[str, bytes]], *, level: int = 0) -> Iterator[bytes]:
    """Yield the bytes of a zip holding ``entries`` (``(name, data)``), in order.

    ``level`` 0 stores entries; 1–9 deflates them (kept only when it actually saves space).
    A single entry must be smaller than 4 GiB.
    """
    dos_time, dos_date = _dos_time(time.time())
    central: list[bytes] = []
    offset = 0
    count = 0
    for name, data in entries:
        if len(data) >= _LIMIT32:
            raise ValueError(f"zip entry {name!r} is larger than 4 GiB")
        crc = zlib.crc32(data) & _LIMIT32
        method, payload = 0, data
        if level > 0:
            packer = zlib.compressobj(level, zlib.DEFLATED, -15)
            packed = packer.compress(data) + packer.flush()
            if len(packed) < len(data):
                method, payload = 8, packed
        raw_name = name.encode("utf-8")
        flags = 0x800  # names are UTF-8
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, dos_time, dos_date,
                            crc, len(payload), len(data), len(raw_name), 0) + raw_name
        yield local
        yield payload
        extra = b""
        header_offset = offset
        if offset >= _ZIP64_FROM:
            extra = struct.pack("<HHQ", 1, 8, offset)
            header_offset = _LIMIT32
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45 if extra else 20,
                                   45 if extra else 20, flags, method, dos_time, dos_date, crc,
                                   len(payload), len(data), len(raw_name), len(extra), 0, 0, 0, 0,
                                   header_offset) + raw_name + extra)
        offset += len(local) + len(payload)
        count += 1
    directory = b"".join(central)
    start = offset
    yield directory
    end_offset = start + len(directory)
    if count >= _LIMIT16 or start >= _ZIP64_FROM or len(directory) >= _ZIP64_FROM:
        yield struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                          len(directory), start)
        yield struct.pack("<4sIQI", b"PK\x06\x07", 0, end_offset, 1)
        yield struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, min(count, _LIMIT16),
                          min(count, _LIMIT16), min(len(directory), _LIMIT32), min(start, _LIMIT32), 0)
    else:
        yield struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0)
