"""Fixtures for the review/viewer/template GUI tests: the suite's small demo, scanned once."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_client.scanning import ScanResult, scan_paths


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
