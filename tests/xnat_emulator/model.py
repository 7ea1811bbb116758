"""The emulator's records: users, projects, configs, subjects, experiments, prearchive sessions.

Plain dataclasses so the state can be written to ``state.json`` in the data directory after every
change (the emulator is "backed by a directory on disk": stop it, start it on the same folder and
everything is still there). Files themselves live under ``archive/`` and ``prearchive/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

ROLES = ("owner", "member", "collaborator")
ROLE_DISPLAY = {"owner": "Owners", "member": "Members", "collaborator": "Collaborators"}


@dataclass
class User:
    username: str
    password: str
    admin: bool = False
    enabled: bool = True
    failed_logins: int = 0


@dataclass
class AliasToken:
    alias: str
    secret: str
    username: str
    created: int
    expires: int
    single_use: bool = False
    valid: bool = True
    id: int = 0


@dataclass
class Config:
    """One config-service row (tool + path, site or project scope)."""

    contents: str
    status: str = "enabled"
    version: int = 1
    user: str = "admin"
    create_date: str = ""
    reason: str = ""
    id: int = 0


@dataclass
class FileRec:
    name: str
    size: int
    digest: str
    sop_class_uid: str = ""
    sop_instance_uid: str = ""


@dataclass
class ScanRec:
    id: str
    series_uid: str = ""
    series_description: str = ""
    modality: str = ""
    type: str = ""
    files: list[FileRec] = field(default_factory=list)


@dataclass
class Subject:
    id: str
    label: str
    group: str = ""
    insert_date: str = ""
    insert_user: str = ""


@dataclass
class Experiment:
    id: str
    label: str
    subject_label: str
    uid: str = ""
    date: str = ""
    time: str = ""
    modality: str = ""
    xsi_type: str = "xnat:otherDicomSessionData"
    insert_date: str = ""
    insert_user: str = ""
    visit: str = ""
    protocol: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    scans: list[ScanRec] = field(default_factory=list)


@dataclass
class PrearcSession:
    project: str
    timestamp: str
    folder: str
    name: str
    subject: str = ""
    tag: str = ""
    status: str = "RECEIVING"
    uploaded: str = ""
    lastmod: str = ""
    lastmod_epoch: float = 0.0
    scan_date: str = ""
    scan_time: str = ""
    modality: str = ""
    autoarchive: bool = False
    prevent_anon: bool = False
    prevent_auto_commit: bool = False
    source: str = ""
    visit: str = ""
    protocol: str = ""
    timezone: str = ""
    scans: list[ScanRec] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"/data/prearchive/projects/{self.project}/{self.timestamp}/{self.folder}"


@dataclass
class Project:
    id: str
    name: str
    secondary_id: str = ""
    description: str = ""
    pi_firstname: str = ""
    pi_lastname: str = ""
    prearchive_code: int = 0
    aliases: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    configs: dict[str, Config] = field(default_factory=dict)
    subjects: list[Subject] = field(default_factory=list)
    experiments: list[Experiment] = field(default_factory=list)


@dataclass
class State:
    users: dict[str, User] = field(default_factory=dict)
    tokens: list[AliasToken] = field(default_factory=list)
    projects: dict[str, Project] = field(default_factory=dict)
    site_configs: dict[str, Config] = field(default_factory=dict)
    prearchive: list[PrearcSession] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


def to_json(state: State) -> dict[str, Any]:
    return dataclasses.asdict(state)


def _scan(d: dict[str, Any]) -> ScanRec:
    return ScanRec(**{**d, "files": [FileRec(**f) for f in d.get("files", [])]})


def from_json(d: dict[str, Any]) -> State:
    projects = {}
    for pid, p in d.get("projects", {}).items():
        projects[pid] = Project(**{
            **p,
            "configs": {k: Config(**c) for k, c in p.get("configs", {}).items()},
            "subjects": [Subject(**s) for s in p.get("subjects", [])],
            "experiments": [Experiment(**{**e, "scans": [_scan(s) for s in e.get("scans", [])]})
                            for e in p.get("experiments", [])],
        })
    return State(
        users={k: User(**u) for k, u in d.get("users", {}).items()},
        tokens=[AliasToken(**t) for t in d.get("tokens", [])],
        projects=projects,
        site_configs={k: Config(**c) for k, c in d.get("site_configs", {}).items()},
        prearchive=[PrearcSession(**{**s, "scans": [_scan(x) for x in s.get("scans", [])]})
                    for s in d.get("prearchive", [])],
        counters=dict(d.get("counters", {})),
    )
