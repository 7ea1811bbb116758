"""Scan workers end when the application is killed (they would otherwise wait forever)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, signal, sys, threading
if {threaded}:  # a GUI scans from a worker thread: the pool is then started by forkserver
    threading.Thread(target=threading.Event().wait, daemon=True).start()
from desktop_client.scanning.scanner import _pool
pool = _pool(2)
list(pool.map(abs, [1, 2, 3, 4]))
print(" ".join(str(pid) for pid in pool._processes), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("threaded", [False, True], ids=["fork", "forkserver"])
def test_scan_workers_end_with_a_killed_application(threaded: bool) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD.format(threaded=threaded)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60).stdout
    workers = {int(pid) for pid in out.split()}
    assert len(workers) == 2
    wait_until(None, lambda: not {pid for pid in workers if _alive(pid)}, 15,
               f"the scan workers {sorted(workers)} to end", poll=0.1)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
