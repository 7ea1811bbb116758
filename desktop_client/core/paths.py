"""Where the application keeps its caches, data and settings.

Everything goes through these functions so that tests (and portable installs) can relocate the
whole state with one environment variable, ``XNAT_DESKTOP_HOME``; otherwise the platform's
conventional per-user folders are used (via platformdirs).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from desktop_client import APP_SLUG

HOME_ENV = "XNAT_DESKTOP_HOME"


def _base(kind: str) -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        Path(override).mkdir(parents=True, exist_ok=True, mode=0o700)
        path = Path(override) / kind
    elif kind == "cache":
        path = Path(platformdirs.user_cache_dir(APP_SLUG, appauthor=False))
    elif kind == "data":
        path = Path(platformdirs.user_data_dir(APP_SLUG, appauthor=False))
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP_SLUG, appauthor=False))
    else:
        path = Path(platformdirs.user_log_dir(APP_SLUG, appauthor=False))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def cache_dir() -> Path:
    """Disposable data: scan index, thumbnails."""
    return _base("cache")


def data_dir() -> Path:
    """Data the user would miss: transfer queue, templates, receipts."""
    return _base("data")


def config_dir() -> Path:
    """Settings and stored connections (never passwords: those live in the OS keyring)."""
    return _base("config")


_temp_root: Path | None = None


def set_temp_dir(folder: str | os.PathLike[str] | None) -> None:
    """Use ``folder`` for private temporary files (the user's "temporary folder" setting), or the
    default under the cache dir when None/empty. Applies to this process from now on."""
    global _temp_root
    _temp_root = Path(folder) if folder else None


def default_temp_dir() -> Path:
    return _base("cache") / "tmp"


def temp_dir() -> Path:
    """Private (0700) folder for temporary files such as the transfer spool."""
    path = _temp_root if _temp_root is not None else default_temp_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def log_dir() -> Path:
    """Application logs (no patient data is ever written there)."""
    return _base("logs")
