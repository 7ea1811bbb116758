"""Helpers every test area shares: waiting for a condition, the session of a written study, and an
in-memory keyring.

One copy each, so a fix (a longer poll under load, a better failure message) reaches every
test. The synthetic DICOM itself comes from ``tests.dicomfactory``; the shared fixtures (the small
demo data set, the XNAT emulator) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from keyring.backend import KeyringBackend

from desktop_client.scanning import scan_paths
from desktop_client.scanning.model import Session


def wait_until(qtbot: Any, condition: Callable[[], object], timeout: float = 30.0, what: str = "",
               poll: float = 0.01) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout`` seconds.

    With a ``qtbot`` Qt events are processed between polls (the GUI's background results
    arrive through the event loop); with ``None`` the thread just sleeps (servers, worker
    processes, log files). The timeout is only a ceiling for a broken run, never a measure:
    the suite has no timed tests.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        if qtbot is None:
            time.sleep(poll)
        else:
            qtbot.wait(max(1, int(poll * 1000)))


def wait_for_log(log: Path, text: str, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    """Wait until the application started as ``proc`` writes ``text`` to ``log``; fails at once
    with its stderr if it exits first (a crash must not look like a slow start)."""
    def logged() -> bool:
        assert proc.poll() is None, proc.communicate()[1]
        return log.is_file() and text in log.read_text(encoding="utf-8", errors="replace")
    wait_until(None, logged, timeout, f"the app to log {text!r}", poll=0.1)


def session_of(folder: Path) -> Session:
    """Scan ``folder`` with the real scanner and return its only session."""
    result = scan_paths([folder], use_cache=False)
    assert len(result.sessions) == 1, result.skipped
    return result.sessions[0]


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in this process only: remembering a password is tested
    end to end without touching a desktop secret store (the ``memory_keyring`` fixture)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call, unused-ignore]  # untyped in keyring
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)
