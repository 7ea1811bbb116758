"""The DCT-domain redaction's work files (frames of patient pixels) live in one private per-user
runtime folder, one subfolder per process; a killed process's subfolder is swept at the next start."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_client.core import runtime

#: Redacts a JPEG Baseline image in the DCT domain in this very process; with "kill" the process
#: is killed (SIGKILL, no clean-up at all) while a frame sits in its work folder.
CHILD = """
import os, signal, sys
from pydicom import dcmread
from pydicom.data import get_testdata_file
from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import dct, engine
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.regions import clip_edits

real_wipe = dct._wipe
def wipe(workdir, *args):
    print(workdir, flush=True)
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_wipe(workdir, *args)
dct._wipe = wipe
ds = dcmread(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
model = ImageModel.from_dataset(ds)
boxes, _ = clip_edits([PixelEdit(Rect(4, 6, 37, 29))], model.columns, model.rows)
outcome = engine._pixels(ds, ds.file_meta.TransferSyntaxUID, model, boxes)
assert outcome.method == "dct", outcome.method
"""


def _run(mode: str, ram: Path, home: Path) -> tuple[int, Path, int]:
    env = {**os.environ, runtime.RAM_ENV: str(ram), "XNAT_DESKTOP_HOME": str(home)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    out, err = child.communicate(timeout=120)
    workdir = Path(out.splitlines()[0]) if out.strip() else Path()
    assert out.strip(), err
    return child.returncode, workdir, child.pid


def test_a_killed_process_leaves_its_folder_and_the_next_one_sweeps_it(tmp_path: Path, home: Path) -> None:
    pytest.importorskip("jpeglib")
    ram = tmp_path / "ram"
    ram.mkdir()
    code, workdir, pid = _run("kill", ram, home)
    assert code == -signal.SIGKILL
    root = ram / f"xnat-desktop-uploader-{os.getuid()}"
    assert workdir.parent == root / str(pid)  # the killed process's own folder …
    assert workdir.exists()  # … left behind by the kill
    for folder in (root, root / str(pid), workdir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    # The next start of the app or of a command sweeps it (before any redaction runs).
    env = {**os.environ, runtime.RAM_ENV: str(ram), "XNAT_DESKTOP_HOME": str(home)}
    start = "from desktop_client.core.processes import use_private_runtime_dir; use_private_runtime_dir()"
    subprocess.run([sys.executable, "-c", start], env=env, check=True, timeout=120)
    assert not (root / str(pid)).exists()
    # A process that ends normally removes its own folder.
    code, other, second = _run("clean", ram, home)
    assert code == 0
    assert other.parent == root / str(second) and not (root / str(second)).exists()


def test_a_live_process_folder_is_kept_and_a_planted_symlink_is_never_used(tmp_path: Path, home: Path,
                                                                             monkeypatch) -> None:
    ram = tmp_path / "ram"
    ram.mkdir()
    monkeypatch.setenv(runtime.RAM_ENV, str(ram))
    monkeypatch.setattr(runtime, "_swept", set())
    root = runtime.runtime_root()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (root / str(sleeper.pid)).mkdir(mode=0o700)
        assert runtime.sweep(root) == []  # alive: kept
    finally:
        sleeper.kill()
        sleeper.wait()
    assert runtime.sweep(root) == [root / str(sleeper.pid)]
    # Someone else's folder (here: a symlink planted at the per-user name) is not followed: the
    # work files go to the app's private temporary folder instead.
    other = tmp_path / "elsewhere"
    other.mkdir()
    planted = tmp_path / "ram2"
    planted.mkdir()
    (planted / f"xnat-desktop-uploader-{os.getuid()}").symlink_to(other)
    monkeypatch.setenv(runtime.RAM_ENV, str(planted))
    fallback = runtime.runtime_root()
    assert fallback.parent.parent == home / "cache" and fallback.name == "run"
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o700
