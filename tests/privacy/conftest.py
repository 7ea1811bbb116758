"""Fixtures for the privacy tests (issue 14): the demo data set and a private app home per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_client.core import privacy
from desktop_client.scanning import cache


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo studies (small scale, PHI in headers, pixels, a PDF and an SR); never modified."""
    from desktop_client.demo.generator import SMALL_SCALE, generate_demo

    folder = tmp_path_factory.mktemp("privacy-demo") / "studies"
    generate_demo(folder, seed=0, **SMALL_SCALE)
    return folder


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh app home; nothing remembered in memory from an earlier test (a new app start)."""
    path = tmp_path / "home"
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(path))
    privacy.forget_key_cache()
    privacy.BOOK.clear()
    privacy.set_remember_source_paths(False)
    cache.forget_identities()
    cache.set_max_age_days(cache.DEFAULT_MAX_AGE_DAYS)
    yield path
    privacy.forget_key_cache()
