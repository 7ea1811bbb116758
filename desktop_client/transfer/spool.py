"""A unit's prepared objects, held until the whole unit is known to be sendable.

Why not stream straight from the pipeline into the destination: a scan with one object that
cannot be anonymized or redacted must not reach the destination *at all* — otherwise excluding
that scan later would leave its other objects behind in an XNAT prearchive session, a DICOM
node or a DICOMweb store. So each unit is prepared completely first (in the process pool, while
the previous unit is being sent), and only sent when every object is ready. Worker processes
write each prepared object into a private folder of the unit's spool themselves
(:meth:`Spool.object_path`) rather than sending its bytes back through the pool.

Memory stays bounded: the first ``memory_limit`` bytes of a unit stay in memory, the rest goes
to a private temporary file (0600, in a 0700 folder under the temporary folder) that is deleted as soon
as the unit is sent — and, after a crash, when the queue next starts (:func:`clean_spool_dir`).
At most two units exist at a time (one being sent, the next being prepared), so the disk never
holds an anonymized copy of the whole session. Units are large on purpose (an XNAT upload costs
the server one request per unit). A retry re-sends the very same bytes, so even scripts with random ``newUID`` values stay
consistent between attempts of a unit.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from desktop_client.core.paths import temp_dir
from desktop_client.transfer.pipeline import ObjectOutcome


def spool_dir() -> Path:
    folder = temp_dir() / "transfer-spool"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    return folder


def clean_spool_dir() -> None:
    """Remove spool files left by a process that died (call only while holding the queue)."""
    shutil.rmtree(temp_dir() / "transfer-spool", ignore_errors=True)


class Spool:
    """Ready objects of one unit, in order (see module doc)."""

    def __init__(self, memory_limit: int = 48 * 1024 * 1024) -> None:
        self.memory_limit = memory_limit
        #: (object without its bytes, bytes kept in memory, offset in the spill file, length,
        #: file written by a worker process)
        self._items: list[tuple[ObjectOutcome, bytes | None, int, int, str]] = []
        self._in_memory = 0
        self._file: tuple[int, str] | None = None
        self._offset = 0
        self._folder: str | None = None
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def object_path(self, index: int) -> str:
        """A path for a worker process to write object ``index`` to (in a private 0700 folder)."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="unit-", dir=spool_dir())
        return os.path.join(self._folder, f"{index:07d}.dcm")

    def add(self, outcome: ObjectOutcome) -> None:
        header = dataclasses.replace(outcome, data=b"", data_path="")
        if outcome.data_path:
            self.bytes += outcome.size
            self._items.append((header, None, 0, outcome.size, outcome.data_path))
            return
        data = outcome.data
        self.bytes += len(data)
        if self._in_memory + len(data) <= self.memory_limit:
            self._in_memory += len(data)
            self._items.append((header, data, 0, len(data), ""))
            return
        if self._file is None:
            fd, path = tempfile.mkstemp(prefix="unit-", dir=spool_dir())  # mode 0600
            self._file = (fd, path)
        fd = self._file[0]
        view = memoryview(data)
        written = 0
        while written < len(data):
            written += os.pwrite(fd, view[written:], self._offset + written)
        self._items.append((header, None, self._offset, len(data), ""))
        self._offset += len(data)

    def outcomes(self) -> Iterator[ObjectOutcome]:
        """The objects with their bytes, in order (may be iterated again for a retry)."""
        for header, data, offset, length, path in self._items:
            if path:
                with open(path, "rb") as fh:
                    data = fh.read()
            elif data is None:
                assert self._file is not None
                data = os.pread(self._file[0], length, offset)
            if len(data) != length:
                raise OSError(f"spooled object {header.sop_instance_uid or header.source} is truncated")
            yield dataclasses.replace(header, data=data)

    def close(self) -> None:
        if self._file is not None:
            fd, path = self._file
            self._file = None
            os.close(fd)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self._items.clear()
