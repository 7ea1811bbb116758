"""Fixtures for the review/viewer/template GUI tests: small demo studies, scanned once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

from desktop_client.demo import SMALL_SCALE, DemoManifest, generate_demo
from desktop_client.scanning import ScanResult, scan_paths


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    folder = tmp_path_factory.mktemp("review-demo") / "studies"
    return folder, generate_demo(folder, seed=0, **SMALL_SCALE)


@pytest.fixture(scope="session")
def scanned(demo: tuple[Path, DemoManifest]) -> ScanResult:
    return scan_paths([demo[0]])


@pytest.fixture
def sessions(scanned: ScanResult):
    """Fresh session objects are not needed (review never mutates them); the scan result's list."""
    return scanned.sessions


def wait_until(qtbot, condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        qtbot.wait(10)


def find_scan(sessions, modality: str, transfer_syntax: str | None = None):
    """The first scan of a modality (optionally with a given transfer syntax)."""
    for session in sessions:
        for scan in session.sorted_scans():
            if scan.modality == modality and (transfer_syntax is None
                                              or scan.instances[0].transfer_syntax_uid == transfer_syntax):
                return session, scan
    raise LookupError(modality)


def burned_boxes(manifest: DemoManifest, series_uid: str) -> list[list[int]]:
    for f in manifest.files:
        if f.series_instance_uid == series_uid and f.burned_in:
            return [b.box for b in f.burned_in if b.phi]
    return []
