"""The app's log names no user path: a real unexpected error about a demo file, traceback and
all, is logged with the path replaced by a keyed token (folder names carry patient IDs)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import desktop_client
from desktop_client.core.logscrub import ScrubbingFormatter
from tests.leakcheck import demo_identifiers, find_leaks


def test_paths_outside_the_installation_become_keyed_tokens(home: Path) -> None:
    formatter = ScrubbingFormatter()
    package = str(Path(desktop_client.__file__).resolve().parent / "scanning" / "__init__.py")
    text = (f"[Errno 2] No such file or directory: '/data/SMITH JOHN/DEMO1/1.dcm'; "
            f"copied /data/SMITH JOHN/DEMO1/2.dcm to C:\\Users\\x\\DEMO1\\a.dcm; "
            f'File "{package}", line 3; see https://xnat.example.org/data/projects/P')
    out = formatter.scrub(text)
    assert "SMITH" not in out and "JOHN" not in out and "DEMO1" not in out, out
    assert package in out  # the program's own files still say where it failed
    assert "https://xnat.example.org/data/projects/P" in out  # addresses are not paths
    tokens = [t for t in out.split() if "<path:" in t]
    assert len(tokens) == 3
    # The same path gives the same token: a log still shows two lines concern one file.
    again = formatter.scrub("'/data/SMITH JOHN/DEMO1/1.dcm'")
    assert again.strip("'") in out


def test_a_real_traceback_about_a_demo_file_names_nobody(demo_dir: Path, home: Path) -> None:
    pytest.importorskip("PySide6")
    from desktop_client.core.paths import log_dir
    from desktop_client.gui.app import setup_logging
    from desktop_client.scanning import read_dataset

    patient_folder = next(p for p in sorted(demo_dir.iterdir()) if p.is_dir())
    missing = patient_folder / "gone" / "1.dcm"
    logger = logging.getLogger("desktop_client")
    before = list(logger.handlers), logger.level
    setup_logging("DEBUG")
    try:
        try:
            read_dataset(missing)  # raises inside the package, naming the demo path
        except OSError:
            logging.getLogger("desktop_client.test").exception("unexpected error reading %s", missing)
    finally:
        for handler in logger.handlers[len(before[0]):]:
            handler.close()
            logger.removeHandler(handler)
        logger.setLevel(before[1])
    log = (log_dir() / "xnat-desktop.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "<path:" in log, log
    assert str(Path(desktop_client.__file__).resolve().parent) in log  # where it failed stays
    assert patient_folder.name not in log
    assert find_leaks([log_dir()], demo_identifiers(demo_dir)) == []
    assert oct(os.stat(log_dir() / "xnat-desktop.log").st_mode & 0o777) == "0o600"
