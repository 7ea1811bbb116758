"""Private per-process work folders that a crash does not leave behind.

Some native libraries only read and write files (jpeglib in ``pixels.dct``), so the pixels of a
frame being redacted pass through a file. Those files hold patient pixels: they go into one
private (0700) per-user runtime folder — in RAM when the OS has one (``/dev/shm``), else under
the app's private temporary folder — with one subfolder per process named by its pid. A normal
exit removes the process's subfolder; the first use in any later process removes the
subfolders of processes that are gone (a crash, kill -9, a power cut for the disk variant).
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
from pathlib import Path

from desktop_client import APP_SLUG

#: Where the RAM runtime folder lives (a test points it elsewhere; "" turns RAM off).
RAM_ENV = "XNAT_DESKTOP_RAM_DIR"
_RAM = "/dev/shm"

_swept: set[Path] = set()
_registered: set[int] = set()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _private_root(parent: Path, name: str) -> Path | None:
    """``parent/name`` as a 0700 folder owned by this user; None when it cannot be (another
    user's folder or a symlink planted there: never followed)."""
    root = parent / name
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(root, 0o700)
    return root


def runtime_root() -> Path:
    """The per-user runtime folder: in RAM when possible, else ``<private temp>/run``."""
    where = os.environ.get(RAM_ENV, _RAM)
    ram = Path(where)
    if where and hasattr(os, "getuid") and ram.is_dir() and os.access(ram, os.W_OK | os.X_OK):
        root = _private_root(ram, f"{APP_SLUG}-{os.getuid()}")
        if root is not None:
            return root
    from desktop_client.core.paths import temp_dir

    path = temp_dir() / "run"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def sweep(root: Path) -> list[Path]:
    """Remove the subfolders of ``root`` whose process is gone; returns what was removed."""
    removed = []
    for entry in root.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and not pid_alive(int(entry.name)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def sweep_dead() -> None:
    """At the start of the app or a command: remove what dead processes left in the runtime
    folder (the first ``process_folder`` call of a process does the same)."""
    root = runtime_root()
    sweep(root)
    _swept.add(root)


def process_folder() -> Path:
    """This process's private work folder (created 0700, removed at a normal exit); the first
    call in a process sweeps the folders dead processes left behind."""
    root = runtime_root()
    if root not in _swept:
        sweep(root)
        _swept.add(root)
    pid = os.getpid()
    own = root / str(pid)
    own.mkdir(mode=0o700, exist_ok=True)
    if pid not in _registered:  # a forked child has its own pid, and its own folder
        _registered.add(pid)
        atexit.register(_remove, own, pid)
    return own


def _remove(folder: Path, pid: int) -> None:
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)
