"""kill -9 at arbitrary points, then restart: every instance ends up at the destination once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

from tests.dicomfactory import write_study
from tests.helpers import session_of, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _child(db: Path, dest: str, src: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "XNAT_PASSWORD": "admin"}
    return subprocess.Popen([sys.executable, "-m", "tests.transfer.crash_child", str(db), dest,
                             str(src)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _done_units(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM units WHERE state = 'done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _kill_when(proc: subprocess.Popen[bytes], db: Path, done_units: int, extra_delay: float) -> None:
    deadline = time.monotonic() + 60
    while _done_units(db) < done_units and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(extra_delay)
    left = _descendants(proc.pid)  # the worker pool and its forkserver
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Killing the application must not leave its workers behind holding memory.
    wait_until(None, lambda: not {pid for pid in left if Path(f"/proc/{pid}").exists() and not _zombie(pid)},
               15, f"the processes {sorted(left)} to end after kill -9", poll=0.1)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _run_with_kills(db: Path, dest: str, src: Path, kill_points: list[tuple[int, float]]) -> None:
    for done_units, delay in kill_points:
        _kill_when(_child(db, dest, src), db, done_units, delay)
    final = _child(db, dest, src)
    _, err = final.communicate(timeout=180)
    assert final.returncode == 0, err.decode(errors="replace")[-2000:]
    with sqlite3.connect(db) as conn:
        recovered = conn.execute("SELECT COUNT(*) FROM log WHERE event = 'recovered'").fetchone()[0]
        attempts = conn.execute("SELECT attempts FROM transfers").fetchone()[0]
    # At least one kill hit a running transfer, which the next start resumed.
    assert recovered >= 1 and attempts >= 2


@pytest.mark.parametrize("kills", [
    [(0, 1.5), (3, 0.05)],          # during start-up/first unit, then mid-transfer
    [(2, 0.0), (5, 0.15), (8, 0.3)],  # several times, the last one around the commit
])
def test_kill9_xnat_verified_once(xnat_emulator, tmp_path: Path, kills) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.slow(0.1, path="/services/import")
    src = write_study(tmp_path / "src", series=2, files=4)
    _run_with_kills(tmp_path / "q.sqlite3", xnat_emulator.url, src, kills)
    files = [f for f in xnat_emulator.archived_files("DEMO", "SUBJ01", "SUBJ01_CT1")
             if str(f).endswith(".dcm")]
    uids = [pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID for f in files]
    expected = {i.sop_instance_uid for s in session_of(src).scans.values() for i in s.instances}
    assert sorted(uids) == sorted(expected)  # every instance exactly once
    assert len(xnat_emulator.experiments("DEMO")) == 1  # one session, no duplicates
    assert not [e for e in xnat_emulator.prearchive_entries("DEMO")]  # nothing left behind


def test_kill9_local_archive_exactly_once(tmp_path: Path) -> None:
    src = write_study(tmp_path / "src", series=2, files=4)
    root = tmp_path / "archive"
    _run_with_kills(tmp_path / "q.sqlite3", str(root), src, [(1, 0.05), (4, 0.1)])
    files = list(root.glob("DEMO/SUBJ01/SUBJ01_CT1/SCANS/*/DICOM/*.dcm"))
    assert len(files) == 8
    assert not (root / ".staging").exists() or not any((root / ".staging").iterdir())
