"""The application checks nothing on the network at start and opens no listening socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_client import selftest

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("gui_start_probe.py")


@pytest.mark.gui
def test_gui_start_uses_no_network(tmp_path: Path) -> None:
    """The real start path (``gui.app.main``, first launch with the demo) under a socket audit."""
    pytest.importorskip("PySide6")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XNAT_DESKTOP_HOME=str(tmp_path / "home"),
               PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, str(PROBE), "4"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["windows"] >= 1, "the main window did not open"
    assert result["events"] == [], f"network use at start: {result['events']}"
    if result["sockets"] is not None:
        assert result["sockets"] == [], f"internet sockets held at start: {result['sockets']}"


def test_self_test_runs_under_the_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "SAMPLES", selftest.SAMPLES[:1])
    lines: list[str] = []
    assert selftest.run(qt=False, write=lines.append) == 0
    assert "PASS  no network use: no socket used" in lines


def test_sockets_open_before_the_self_test_are_not_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run inside a bigger process (pytest, the GUI), the self-test answers only for its own sockets."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        assert any("LISTEN" in s for s in selftest.internet_sockets())
        monkeypatch.setattr(selftest, "SAMPLES", selftest.SAMPLES[:1])
        lines: list[str] = []
        assert selftest.run(qt=False, write=lines.append) == 0
        assert server.fileno() >= 0
