"""The target catalogue: what planning needs from a destination (an XNAT server or a local folder).

A plan talks to an ``UploadTarget``; ``XnatTarget`` wraps ``desktop_client.xnat`` and
``LocalTarget`` the built-in archive folder. Each target also names the transfer ``destination``
its sessions go to, so there is one destination abstraction (``transfer.DestinationSpec``) and
the GUI and the CLI build the same specs. Every method may block (network, disk): the GUI calls
them from a worker. Errors are turned into one plain sentence plus the action to take by
``explain_error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from desktop_client.core.errors import UploaderError
from desktop_client.core.label_rule import LABEL
from desktop_client.scripts import ScriptSlots, ScriptSource
from desktop_client.transfer.spec import DestinationKind, DestinationSpec

if TYPE_CHECKING:  # the XNAT client is imported only when the user logs in
    from desktop_client.xnat import XnatClient



@dataclass(frozen=True)
class ProjectInfo:
    id: str
    name: str = ""
    secondary_id: str = ""

    def title(self) -> str:
        return f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id


@dataclass(frozen=True)
class SubjectInfo:
    label: str
    group: str = ""


@dataclass
class ProjectSettings:
    """The project facts the official client shows in its "Project Settings" table."""

    project_id: str
    site_script: str | None = None
    project_script: str | None = None
    destination: str = "Prearchive"
    allow_create_subject: bool = True
    require_date: bool = False
    allow_bulk: bool = True
    series_filter: str = ""
    #: The parsed site/project series import filters, applied in Review (issue 17 §3).
    series_filters: list[Any] = field(default_factory=list)
    subject_scheme: str = "manual"
    session_scheme: str = "auto"
    tracers: list[str] = field(default_factory=list)
    #: How receipts name the two scripts (the local folder's slots say which file or default).
    site_script_name: str = "site"
    project_script_name: str = "project"

    @property
    def named_scripts(self) -> list[ScriptSource]:
        """The scripts present, site first, under the names receipts give them."""
        return [ScriptSource(n, t) for n, t in ((self.site_script_name, self.site_script),
                                                (self.project_script_name, self.project_script)) if t]

    @property
    def scripts(self) -> list[str]:
        """Site script then project script, each only when present (the server's order)."""
        return [s for s in (self.site_script, self.project_script) if s]


class Connection(Protocol):
    """What a target needs of a stored connection (the GUI's ``gui.connections.Connection``)."""

    id: str
    url: str
    username: str
    insecure_tls: bool
    allow_http: bool


class UploadTarget(Protocol):
    connection: Connection

    @property
    def destination(self) -> DestinationSpec: ...

    def describe(self) -> str: ...
    def projects(self) -> list[ProjectInfo]: ...
    def project_settings(self, project_id: str) -> ProjectSettings: ...
    def subjects(self, project_id: str) -> list[SubjectInfo]: ...
    def create_subject(self, project_id: str, label: str, group: str) -> None: ...
    def session_labels(self, project_id: str) -> set[str]: ...
    def close(self) -> None: ...
    @property
    def can_create_projects(self) -> bool: ...


class LocalTarget:
    """The local archive folder: ``<root>/<project>/<subject>/<session>/``.

    It has no server rules, so it is the destination that always works (first launch, demo, no
    network). Its anonymization scripts are the Settings' slots, applied on this computer.
    """

    can_create_projects = True

    def __init__(self, connection: Connection, root: Path,
                 slots: Callable[[], ScriptSlots] = ScriptSlots) -> None:
        self.connection = connection
        self.root = root
        #: The folder's script slots as they are now (the GUI reads its Settings each time).
        self.slots = slots

    def describe(self) -> str:
        return f"Local archive folder ({self.root})"

    @property
    def destination(self) -> DestinationSpec:
        return DestinationSpec(DestinationKind.LOCAL, str(self.root.resolve()))

    def _dirs(self, path: Path) -> list[str]:
        if not path.is_dir():
            return []
        return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))

    def projects(self) -> list[ProjectInfo]:
        names = set(self._dirs(self.root)) | {"LOCAL"}
        return [ProjectInfo(id=n, name=n) for n in sorted(names)]

    def project_settings(self, project_id: str) -> ProjectSettings:
        """The folder's script slots from Settings (the shipped default site script unless the
        user chose otherwise), shown and applied like a server's site and project scripts."""
        chain = self.slots().chain()  # ScriptChoiceError: a sentence naming the file and the fix
        site = next((s for s in chain if s.name.startswith("site")), None)
        project = next((s for s in chain if s.name.startswith("project")), None)
        return ProjectSettings(project_id=project_id, destination="Local folder",
                               site_script=site.text if site else None,
                               project_script=project.text if project else None,
                               site_script_name=site.name if site else "site",
                               project_script_name=project.name if project else "project")

    def subjects(self, project_id: str) -> list[SubjectInfo]:
        return [SubjectInfo(label=n) for n in self._dirs(self.root / project_id)]

    def create_subject(self, project_id: str, label: str, group: str) -> None:
        if not LABEL.match(label):
            raise ValueError("A subject label may only use letters, digits, '-' and '_'.")
        (self.root / project_id / label).mkdir(parents=True, exist_ok=True, mode=0o700)

    def session_labels(self, project_id: str) -> set[str]:
        labels: set[str] = set()
        for subject in self._dirs(self.root / project_id):
            labels.update(self._dirs(self.root / project_id / subject))
        return labels

    def close(self) -> None:
        """Nothing to release: a folder."""


def explain_error(exc: BaseException) -> str:
    """One sentence saying what went wrong and what to do, for any failure of a target call."""
    from desktop_client.xnat.errors import XnatError  # here: the xnat package loads the HTTP client

    name = type(exc).__name__
    text = (exc.user_message if isinstance(exc, UploaderError) else str(exc)).strip() or name
    if isinstance(exc, XnatError) and any(
            word in text.lower() for word in ("certificate", "ssl", "tls")):
        return (f"{text} If you trust this server, tick “Allow insecure TLS” for this connection.")
    if isinstance(exc, (UploaderError, OSError, ValueError)):
        return text
    return f"Unexpected error ({name}): {text}"


class XnatTarget:
    """An XNAT server reached through ``desktop_client.xnat.XnatClient`` (already logged in)."""

    can_create_projects = False

    def __init__(self, connection: Connection, client: "XnatClient", version: str) -> None:
        self.connection = connection
        self.client = client
        self.version = version

    def describe(self) -> str:
        return f"{self.connection.url} (XNAT {self.version}) as {self.connection.username}"

    @property
    def destination(self) -> DestinationSpec:
        return DestinationSpec(DestinationKind.XNAT, self.connection.url.rstrip("/"),
                               self.connection.username, verify_tls=not self.connection.insecure_tls,
                               allow_http=self.connection.allow_http)

    def projects(self) -> list[ProjectInfo]:
        return [ProjectInfo(id=p.id, name=p.name or "", secondary_id=p.secondary_id or "")
                for p in self.client.upload_projects()]

    def project_settings(self, project_id: str) -> ProjectSettings:
        return project_settings_from_xnat(self.client, project_id)

    def subjects(self, project_id: str) -> list[SubjectInfo]:
        return [SubjectInfo(label=s.label, group=s.group or "") for s in self.client.subjects(project_id)]

    def create_subject(self, project_id: str, label: str, group: str) -> None:
        self.client.create_subject(project_id, label, group=group or None)

    def session_labels(self, project_id: str) -> set[str]:
        return set(self.client.session_labels(project_id))

    def close(self) -> None:
        self.client.close()


_DESTINATIONS = {0: "Prearchive", 4: "Archive (reject duplicates)", 5: "Archive (overwrite duplicates)"}


def _series_filter(raw: object) -> str:
    """The site and project series import filters as one readable line (shown, not applied)."""
    parts = []
    site = getattr(raw, "site_series_import_filter", None)
    if site:
        parts.append(f"site: {' '.join(str(site).split())}")
    project = getattr(raw, "project_series_import_filter", None)
    if project:
        mode = project.get("mode", "") if isinstance(project, dict) else ""
        values = project.get("list", project) if isinstance(project, dict) else project
        parts.append(f"project{f' ({mode})' if mode else ''}: {' '.join(str(values).split())}")
    return "; ".join(parts)


def project_settings_from_xnat(client: "XnatClient", project_id: str) -> ProjectSettings:
    """Map the client's project settings and scripts onto what the Project screen shows."""
    raw = client.project_settings(project_id)
    site, project = client.anonymization_scripts(project_id)
    code = int(getattr(raw, "prearchive_code", 0))
    from desktop_client.xnat.series_filter import SeriesFilterError

    described = _series_filter(raw)
    try:
        filters = raw.series_import_filters()
    except SeriesFilterError as exc:
        filters = []
        described += f" — cannot be checked here ({exc}); XNAT may drop series silently"
    return ProjectSettings(
        project_id=project_id,
        site_script=site or None,
        project_script=project or None,
        destination=_DESTINATIONS.get(code, f"Archive (code {code})"),
        allow_create_subject=bool(raw.allow_create_subject),
        require_date=bool(raw.require_date),
        allow_bulk=bool(raw.allow_bulk_upload),
        series_filter=described,
        series_filters=filters,
        subject_scheme=str(raw.default_subject_scheme or "manual"),
        session_scheme=str(raw.default_session_scheme or "auto"),
        tracers=list(raw.pet_tracers or ()),
    )


def open_xnat_target(connection: Connection, password: str) -> tuple[XnatTarget, str]:
    """Log in (blocking; run it in a worker) and return the target and the server version."""
    from desktop_client.xnat import XnatClient

    client = XnatClient(connection.url, connection.username, password,
                        allow_insecure=connection.insecure_tls, allow_http=connection.allow_http)
    client.login()
    # The address that answered (https chosen for a bare host name, or an http→https redirect
    # followed): saved, so the queue and later logins go there directly.
    connection.url = client.base_url
    version = str(client.server_version() or "unknown version")
    return XnatTarget(connection, client, version), version


@dataclass
class Endpoint:
    """A destination named without a stored connection: the CLI's ``--to``, a saved plan."""

    url: str
    username: str = ""
    insecure_tls: bool = False
    allow_http: bool = False
    id: str = ""


def target_for(destination: DestinationSpec, password: str | None) -> UploadTarget | None:
    """The catalogue entry behind a transfer destination (blocking: an XNAT login).

    None for DICOM and DICOMweb nodes, which have no projects, subjects or session labels.
    """
    endpoint = Endpoint(destination.url, destination.username, not destination.verify_tls,
                        destination.allow_http)
    if destination.kind is DestinationKind.XNAT:
        return open_xnat_target(endpoint, password or "")[0]
    if destination.kind is DestinationKind.LOCAL:
        return LocalTarget(endpoint, Path(destination.url))
    return None


def existing_session_labels(target: UploadTarget, project: str) -> set[str]:
    """The project's session labels; raises ValueError when the user cannot upload into it."""
    if not target.can_create_projects and project not in {p.id for p in target.projects()}:
        raise ValueError(f"project {project} does not exist at {target.connection.url}, or you "
                         "may not upload into it")
    return target.session_labels(project)
