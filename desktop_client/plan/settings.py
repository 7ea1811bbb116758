"""Application settings the user edits on the Settings screen.

They are kept as a small JSON file in ``config_dir()`` (not QSettings), and here in the planning
core rather than in ``gui``, because the CLI reads the same values without Qt (and one face never
imports the other). Window geometry and splitter positions, which only the GUI cares about, live in
QSettings (see ``gui.main_window.window_state``). A corrupt file is set aside and
defaults are used, so a bad edit never stops the app from starting.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_client.core.paths import config_dir, data_dir

if TYPE_CHECKING:
    from desktop_client.scripts import ScriptSlots

log = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")
LOG_LEVELS = ("WARNING", "INFO", "DEBUG")
MAX_CONCURRENCY = 12


@dataclass
class AppSettings:
    """Every user-editable application default."""

    concurrency: int = 4
    receipts_pdf: bool = True
    receipts_folder: str = ""
    #: Where transfers keep their private temporary files ("" = under the cache folder).
    temp_folder: str = ""
    #: Connection id selected when the app opens (the local archive folder by default).
    default_destination: str = "local-archive"
    theme: str = "system"
    log_level: str = "WARNING"
    recent_projects: int = 5
    notifications: bool = True
    #: Script slots of the local archive folder (``desktop_client.scripts``): the site script is
    #: the shipped default unless the user chose a file or turned it off (with a confirmation).
    local_site_script: str = "default"
    local_site_script_file: str = ""
    local_project_script_file: str = ""
    #: Days a scan index entry not seen again is kept (issue 14: nothing cached forever).
    cache_days: int = 30
    #: Opt-in: keep readable source paths in the transfer queue (they often carry patient IDs).
    remember_source_paths: bool = False

    def local_script_slots(self) -> "ScriptSlots":
        """The local archive folder's script slots as the core applies them."""
        from desktop_client.scripts import ScriptSlots

        project = (self.local_project_script_file,) if self.local_project_script_file else ()
        return ScriptSlots(self.local_site_script, self.local_site_script_file, project)

    def receipts_path(self) -> Path:
        """Folder the PDF receipts go to (a private folder under the data dir by default)."""
        return Path(self.receipts_folder) if self.receipts_folder else data_dir() / "receipts"

    def validated(self) -> "AppSettings":
        """A copy with every value forced into its allowed range."""
        copy = AppSettings(**asdict(self))
        copy.concurrency = min(MAX_CONCURRENCY, max(1, int(copy.concurrency)))
        copy.recent_projects = min(10, max(1, int(copy.recent_projects)))
        if copy.theme not in THEMES:
            copy.theme = "system"
        if copy.log_level not in LOG_LEVELS:
            copy.log_level = "WARNING"
        copy.default_destination = str(copy.default_destination or "local-archive")
        if copy.local_site_script not in ("default", "file", "off"):
            copy.local_site_script = "default"
        copy.cache_days = min(3650, max(1, int(copy.cache_days)))
        return copy


def apply_privacy_settings(settings: AppSettings) -> None:
    """Hand the privacy choices to the core (the desktop app at start and on change; the CLI at
    start): scan index expiry and the opt-in to remembering source paths."""
    from desktop_client.core.privacy import set_remember_source_paths
    from desktop_client.scanning.cache import set_max_age_days

    set_max_age_days(settings.cache_days)
    set_remember_source_paths(settings.remember_source_paths)


def settings_file() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> AppSettings:
    path = path or settings_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AppSettings()
    except (OSError, ValueError):
        log.warning("settings file %s is unreadable; it was renamed and defaults are used", path)
        path.replace(path.with_suffix(".json.bad"))
        return AppSettings()
    known = {f.name for f in fields(AppSettings)}
    values = {k: v for k, v in raw.items() if k in known} if isinstance(raw, dict) else {}
    try:
        return AppSettings(**values).validated()
    except (TypeError, ValueError):
        return AppSettings()


def save_settings(settings: AppSettings, path: Path | None = None) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = path or settings_file()
    from desktop_client.core.privacy import private_write

    private_write(path, json.dumps(asdict(settings.validated()), indent=2).encode("utf-8"))


def recent_projects_file() -> Path:
    return config_dir() / "recent-projects.json"


def load_recent_projects(connection_id: str) -> list[str]:
    try:
        raw = json.loads(recent_projects_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    value = raw.get(connection_id, []) if isinstance(raw, dict) else []
    return [str(v) for v in value if isinstance(v, str)]


def remember_project(connection_id: str, project_id: str, keep: int = 10) -> None:
    """Move ``project_id`` to the front of this connection's recent list."""
    path = recent_projects_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raw = {}
    except (OSError, ValueError):
        raw = {}
    current = [p for p in raw.get(connection_id, []) if p != project_id]
    raw[connection_id] = [project_id, *current][:keep]
    from desktop_client.core.privacy import private_write

    private_write(path, json.dumps(raw, indent=2).encode("utf-8"))
