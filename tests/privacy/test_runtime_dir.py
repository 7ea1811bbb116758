"""Process pools keep their sockets in a private folder that a crash does not leave behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

CHILD = """
import concurrent.futures, multiprocessing, os, sys
from multiprocessing import process
from desktop_client.core.processes import use_private_runtime_dir
use_private_runtime_dir()
with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
    assert pool.submit(abs, -1).result() == 1
print(process.current_process()._config["tempdir"], flush=True)
if sys.argv[1] == "crash":
    os._exit(9)  # no clean-up runs, as after kill -9
"""


def _run(mode: str, home: Path) -> str:
    env = {**os.environ, "XNAT_DESKTOP_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == (9 if mode == "crash" else 0), done.stderr
    return done.stdout.strip()


def test_runtime_folder_is_private_and_removed_after_a_crash(home: Path) -> None:
    crashed = Path(_run("crash", home))
    assert crashed.parent == home / "cache" / "tmp" and crashed.name.startswith("mp-")
    assert crashed.is_dir() and stat.S_IMODE(crashed.stat().st_mode) == 0o700  # left by the crash
    clean = Path(_run("clean", home))
    assert not crashed.exists()  # the next start removed the dead process's folder
    assert not clean.exists()    # and a normal exit removes its own
