"""The UI thread never blocks: the event loop keeps ticking while slow work runs.

A 10 ms timer records the longest gap between its ticks while the window scans 10,000 files,
reads a server's projects and settings, and uploads; any gap above 250 ms fails the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from pydicom.uid import generate_uid

from tests.dicomfactory import encode, image
from tests.gui.flow import fill_connection, scan, to_project_step, to_summary, upload_and_wait
from tests.helpers import wait_until
from tests.stall_meter import STALL_LIMIT as LIMIT
from tests.stall_meter import StallMeter


def write_many(folder: Path, count: int) -> None:
    """``count`` tiny MR images in 10 series of one study (about 1 KB each).

    One file per series is encoded with pydicom; the others are byte copies with a different
    SOP Instance UID of the same length, which keeps set-up to a second.
    """
    study = generate_uid()
    placeholder = f"2.25.{10**12}"
    templates = []
    for k in range(10):
        ds = image(modality="MR", study_uid=study, series_uid=f"2.25.{7 * 10**12 + k}", sop_uid=placeholder,
                   series_number=k + 1, patient_name="LOAD^TEST", patient_id="LOAD1", bits_allocated=8,
                   bits_stored=8, pixels=np.zeros((8, 8)))
        templates.append(encode(ds))
        (folder / f"s{k}").mkdir()
    for i in range(count):
        uid = f"2.25.{10**12 + i + 1}".encode()
        data = templates[i % 10].replace(placeholder.encode(), uid)
        (folder / f"s{i % 10}" / f"{i:05d}.dcm").write_bytes(data)


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("many") / "study"
    folder.mkdir()
    write_many(folder, 10_000)
    return folder


def test_scanning_10000_files_keeps_the_window_responsive(qtbot, window, big_folder: Path) -> None:
    win = window
    to_project_step(qtbot, win, "LOCAL")
    with StallMeter() as meter:
        scan(qtbot, win, [big_folder])
    assert win.select_page.result is not None
    assert sum(s.files for s in win.select_page.result.sessions) == 10_000
    assert meter.worst < LIMIT, meter.report()


EMULATOR_PROCESS = """
import sys, time
from tests.xnat_emulator.emulator import XnatEmulator
emulator = XnatEmulator(sys.argv[1])
emulator.seed_default()
emulator.start()
emulator.faults.slow(0.5, path="/data/projects")  # slow project, settings and subject reads
print(emulator.url, flush=True)
sys.stdin.read()  # runs until the test closes our stdin
emulator.stop()
"""


@pytest.fixture
def remote_emulator(tmp_path: Path) -> Iterator[str]:
    """The XNAT emulator in its own process, as a real server is: its work never competes with
    the UI thread for this interpreter, so the stalls measured are the app's own."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", EMULATOR_PROCESS, str(tmp_path / "xnat")],
                            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_server_calls_and_upload_keep_the_window_responsive(qtbot, window, remote_emulator: str,
                                                           demo_dir: Path) -> None:
    """Log in, read projects/settings/subjects from a slow server, review, upload five sessions."""
    win = window
    fill_connection(win, remote_emulator)
    with StallMeter() as meter:
        to_project_step(qtbot, win, "DEMO")
        scan(qtbot, win, [demo_dir])
        win.select_page._check_all(True)
        win.wizard.next()
        wait_until(qtbot, lambda: not win.confirm_page._loading, timeout=60, what="Confirm")
        win.confirm_page.subject_scheme.setCurrentIndex(
            win.confirm_page.subject_scheme.findData("patient_id"))
        win.confirm_page.apply_schemes()
        to_summary(qtbot, win)
        rows = upload_and_wait(qtbot, win, timeout=240)
    assert all(r.state.value == "done" for r in rows), [r.error for r in rows]
    assert meter.worst < LIMIT, meter.report()
