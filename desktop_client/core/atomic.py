"""The one way an output file is written: private temp file beside the target, fsync, rename.

Why: a full disk, a crash or a kill in the middle of a write must never leave a truncated file
under the final name (a reader would take it for a finished object), and writing must never go
*through* something already at the target path. Opening ``target`` for writing follows a
symbolic link and writes into the other name of a hard link — with ``--out`` pointing into the
inputs that overwrote a user's source file. ``rename`` replaces the directory entry instead: the
linked file keeps its bytes, and a reader sees either the old file or the complete new one.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterator


@contextmanager
def atomic_output(target: str | os.PathLike[str], *, mode: int = 0o600) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on success it replaces ``target`` in one rename.

    The temp file is created (0600, ``O_EXCL``) in the target's own folder, so the rename never
    crosses file systems. On any failure — ``ENOSPC``, ``EFBIG``, an exception of the writer —
    the temp file is removed and ``target`` is left as it was. ``mode`` is applied before the
    rename, so the file never exists under its final name with looser permissions.
    """
    target = Path(target)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)


def atomic_write(target: str | os.PathLike[str], write: Callable[[BinaryIO], object], *,
                 mode: int = 0o600) -> None:
    """Call ``write(fh)`` inside :func:`atomic_output` (for writers such as ``Dataset.save_as``)."""
    with atomic_output(target, mode=mode) as fh:
        write(fh)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_output(target, mode=mode) as fh:
        fh.write(data)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
