"""Fixtures for the review/viewer/template GUI tests: the suite's small demo scanned once, a
private template store and a shown review step."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from desktop_client.scanning import ScanResult, scan_paths
from desktop_client.templates import TemplateStore

#: The review step's size inside a 1280×720 window; a module sets ``STEP_SIZE`` for another.
STEP_AT_1280x720 = (1054, 560)


@pytest.fixture(scope="session")
def scanned(demo_dir: Path) -> ScanResult:
    return scan_paths([demo_dir])


@pytest.fixture
def sessions(scanned: ScanResult):
    """Fresh session objects are not needed (review never mutates them); the scan result's list."""
    return scanned.sessions


def find_scan(sessions, modality: str, transfer_syntax: str | None = None):
    """The first scan of a modality (optionally with a given transfer syntax)."""
    for session in sessions:
        for scan in session.sorted_scans():
            if scan.modality == modality and (transfer_syntax is None
                                              or scan.instances[0].transfer_syntax_uid == transfer_syntax):
                return session, scan
    raise LookupError(modality)


@pytest.fixture
def store(tmp_path: Path) -> TemplateStore:
    """The user's templates in this test's folder, without the shipped examples."""
    return TemplateStore(tmp_path / "templates", shipped=False)


@pytest.fixture
def step(qtbot: Any, store: TemplateStore, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A shown ``ReviewStep`` at the test module's ``STEP_SIZE`` (default: inside 1280×720); its
    findings window is closed afterwards."""
    from desktop_client.gui.review import ReviewStep

    widget = ReviewStep(store=store)
    qtbot.addWidget(widget)
    widget.resize(*getattr(request.module, "STEP_SIZE", STEP_AT_1280x720))
    widget.show()
    yield widget
    widget.findings.close()


@pytest.fixture
def viewer(qtbot: Any, sessions: Any) -> Any:
    """A shown ``ScanViewer`` on the demo's first CT, loaded, with a fixed transform: image
    (x, y) is at screen (10+2x, 10+2y)."""
    from desktop_client.gui.viewer import ScanViewer
    from desktop_client.gui.viewer.mapping import ViewTransform
    from tests.helpers import wait_until

    v = ScanViewer()
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    _, ct = find_scan(sessions, "CT")
    v.set_scan(ct)
    wait_until(qtbot, lambda: not v.is_loading(), what="first frame")
    v.canvas.set_transform(ViewTransform(2.0, 10.0, 10.0))
    return v
