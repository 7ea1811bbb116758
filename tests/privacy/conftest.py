"""Fixtures for the privacy tests (issue 14): a private app home per test and the text finder's
results for the suite-wide ``demo_dir``."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_client.core import privacy
from desktop_client.scanning import cache


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


@pytest.fixture(scope="session")
def warm_textfind(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The burned-in text finder's results for the demo (original and redacted pixels), computed
    once: the leak tests copy them into their fresh homes so each upload does not read every
    image again. The finder's cache stores text only encrypted, so it is grepped like the rest."""
    import os
    import shutil

    from desktop_client.cli.main import main

    work = tmp_path_factory.mktemp("warm-textfind")
    before = os.environ.get("XNAT_DESKTOP_HOME")
    os.environ["XNAT_DESKTOP_HOME"] = str(work / "home")
    try:
        # In-process (--workers 0): a pool's forkserver started by an earlier test would still
        # carry that test's home, and the finder's cache would land there.
        assert main(["upload", str(demo_dir), "--to", str(work / "archive"), "--redact-detected",
                     "--workers", "0"]) == 0
    finally:
        if before is None:
            os.environ.pop("XNAT_DESKTOP_HOME", None)
        else:
            os.environ["XNAT_DESKTOP_HOME"] = before
        privacy.forget_key_cache()
        privacy.BOOK.clear()
        cache.forget_identities()
    found = work / "home" / "cache" / "textfind"
    saved = work / "textfind"
    shutil.copytree(found, saved)
    return saved


@pytest.fixture
def textfind_results(warm_textfind: Path, home: Path) -> None:
    """Copy the finder's demo results into this test's home, private as the app makes them."""
    import shutil

    from desktop_client.core.paths import cache_dir

    target = cache_dir() / "textfind"
    shutil.copytree(warm_textfind, target)
    target.chmod(0o700)
