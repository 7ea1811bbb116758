"""Fixtures for the GUI tests: a private app home per test and a ready main window (the demo data
is the suite-wide ``demo_dir``)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("PySide6")


@pytest.fixture(autouse=True)
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own settings, connections, queue and local archive."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(home))
    return home


@pytest.fixture
def window(qtbot, app_home: Path) -> Iterator["MainWindow"]:  # type: ignore[name-defined]  # noqa: F821
    """A main window on an isolated home, with its transfer queue running (no demo auto-start)."""
    from desktop_client.gui.connections import ConnectionStore
    from desktop_client.gui.main_window import MainWindow
    from desktop_client.plan.settings import load_settings
    from desktop_client.transfer import TransferQueue

    settings = load_settings()
    store = ConnectionStore()
    queue = TransferQueue(concurrency=2, workers=0, credentials=lambda dest: store.password(
        next(c for c in store.connections if c.url == dest.url)))
    win = MainWindow(settings, queue, store)
    qtbot.addWidget(win)
    win.show()
    queue.start()
    yield win
    win.close()
    queue.close()
