"""Plain records the XNAT client returns (no Qt, picklable, easy to show in a table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop_client.xnat.series_filter import SeriesImportFilter


@dataclass(frozen=True, slots=True)
class Project:
    """A project the user can upload into, with the user's role there.

    ``role`` is ``"owner"``, ``"member"`` or ``"collaborator"`` from ``/xapi/access/projects``, or
    ``None`` when access is implicit (site administrators are not listed there).
    """

    id: str
    name: str = ""
    secondary_id: str = ""
    description: str = ""
    role: str | None = None

    @property
    def can_upload(self) -> bool:
        return self.role != "collaborator"


@dataclass(frozen=True, slots=True)
class ScriptConfig:
    """One anonymization-script config row: ``exists`` False means 404 (never set)."""

    exists: bool
    enabled: bool = False
    contents: str = ""
    version: str = ""
    id: str = ""

    @property
    def active_script(self) -> str | None:
        return self.contents if self.exists and self.enabled else None


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """Everything the official client reads when a project is selected (reference §6.2)."""

    project_id: str
    prearchive_code: int = 0
    allow_create_subject: bool = True
    require_date: bool = False
    allow_bulk_upload: bool = True
    default_subject_scheme: str = "manual"
    default_session_scheme: str = "auto"
    pet_tracers: tuple[str, ...] = ()
    site_series_import_filter: str | None = None
    project_series_import_filter: dict[str, Any] | None = None

    @property
    def destination(self) -> str:
        """``"prearchive"`` (code 0) or ``"archive"`` (4 = reject duplicates, 5 = overwrite)."""
        return "prearchive" if self.prearchive_code == 0 else "archive"

    @property
    def overwrite(self) -> bool:
        """True when the project archives with "overwrite duplicates" (code 5)."""
        return self.prearchive_code == 5

    def series_import_filters(self) -> list["SeriesImportFilter"]:
        """The enabled site and project filters, parsed (site first; both apply at import).

        Raises ``SeriesFilterError`` when a stored filter cannot be understood: then nobody can
        say which series XNAT keeps, and the caller must tell the user rather than guess.
        """
        from desktop_client.xnat.series_filter import parse_filter

        found = [parse_filter(self.site_series_import_filter or "", "site series import filter"),
                 parse_filter(self.project_series_import_filter or "",
                              f"series import filter of project {self.project_id}")]
        return [f for f in found if f is not None]


@dataclass(frozen=True, slots=True)
class Subject:
    id: str
    label: str
    project: str = ""
    group: str = ""
    insert_date: str = ""


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    label: str
    subject_label: str = ""
    xsi_type: str = ""
    uid: str = ""
    date: str = ""
    uri: str = ""


@dataclass(frozen=True, slots=True)
class PrearchiveEntry:
    """A row of ``/data/prearchive/projects/P``."""

    project: str
    timestamp: str
    folder: str
    name: str
    subject: str = ""
    status: str = ""
    tag: str = ""
    uploaded: str = ""
    #: last time a file arrived (changes while a request is still writing into the session)
    lastmod: str = ""

    @property
    def uri(self) -> str:
        return f"/data/prearchive/projects/{self.project}/{self.timestamp}/{self.folder}"


@dataclass(frozen=True, slots=True)
class CommitResult:
    """``archived`` True ⇔ the server answered 301 with an archive URI."""

    archived: bool
    uri: str


@dataclass(slots=True)
class Verification:
    """What the server holds compared with what was sent.

    ``found`` maps scan ID → file count on the server; ``details`` lists every mismatch in words
    (empty when ``ok``); ``uri`` is where the session was found (archive or prearchive).
    """

    ok: bool
    details: list[str] = field(default_factory=list)
    found: dict[str, int] = field(default_factory=dict)
    found_bytes: dict[str, int] = field(default_factory=dict)
    uri: str = ""
    #: every session checked, when XNAT split the upload (separated PET/MR) into several
    sessions: list[str] = field(default_factory=list)
