"""Fixtures for the GUI tests: a private app home per test, the demo data, a ready main window."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

pytest.importorskip("PySide6")


@pytest.fixture(autouse=True)
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own settings, connections, queue and local archive."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo studies (small scale), generated once for the whole session; never modified."""
    from desktop_client.demo.generator import SMALL_SCALE, generate_demo

    folder = tmp_path_factory.mktemp("demo") / "studies"
    generate_demo(folder, seed=0, **SMALL_SCALE)
    return folder


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


def wait_for(qtbot, condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Process events until ``condition()`` is true (fails with ``what`` after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        qtbot.wait(20)
