"""The emulator's server-side logic: permissions, configs, DICOM routing, prearchive, archive.

Everything here follows ``xnat-rest-api.md`` §2–§5 (section numbers are cited where the rule is
not obvious). The HTTP layer (``server.py``) turns ``HttpError`` into XNAT-style HTML status pages.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.xnat_emulator.model import (
    AliasToken, Config, Experiment, FileRec, PrearcSession, Project, ScanRec, State, Subject,
    User, from_json, to_json,
)

UNASSIGNED = "Unassigned"
# XnatImagesessiondata.cleanValue: these characters become "_" at archive time (§4.7).
_CLEAN_RE = re.compile(r"[ `~@#$%^&*()+=\[\]{}|\\/?:;\"',.<>]")
_COMMENT_RE = re.compile(r"(?i)\b(project|subject|session|aa)\s*:\s*([A-Za-z0-9_-]+)")
_XSI_TYPES = {
    "MR": "xnat:mrSessionData", "CT": "xnat:ctSessionData", "PT": "xnat:petSessionData",
    "US": "xnat:usSessionData", "CR": "xnat:crSessionData", "DX": "xnat:dxSessionData",
    "MG": "xnat:mgSessionData", "NM": "xnat:nmSessionData", "XA": "xnat:xaSessionData",
    "RF": "xnat:rfSessionData", "OP": "xnat:opSessionData", "SM": "xnat:smSessionData",
}


class HttpError(Exception):
    """An XNAT error response: status code plus the message XNAT puts in the page's ``<h3>``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ArchiveFailure(Exception):
    """Archiving a prearchive session failed; ``conflict`` tells a conflict from other errors."""

    def __init__(self, message: str, conflict: bool = True) -> None:
        super().__init__(message)
        self.conflict = conflict


def clean_label(value: str) -> str:
    """XNAT's archive-time label cleaning (``A.B 1`` → ``A_B_1``)."""
    return _CLEAN_RE.sub("_", value.strip())


def now_text() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class DicomInfo:
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    series_number: str
    instance_number: str
    modality: str
    series_description: str
    study_date: str
    study_time: str
    patient_name: str
    patient_id: str
    study_description: str
    accession: str
    comments: list[str]
    dataset: Any = None  # the parsed header, for the series import filter's attributes


def parse_dicom(name: str, data: bytes) -> DicomInfo:
    """Read the header like the gradual importer; missing SOP UIDs fail the request (§4.9)."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
        sop_class = str(ds.get("SOPClassUID", "") or "")
        sop_instance = str(ds.get("SOPInstanceUID", "") or "")
    except Exception:  # noqa: BLE001 - any parse failure of uploaded bytes is "unreadable"
        raise HttpError(400, f"unable to read DICOM object {name}") from None
    if len(ds) == 0 or (data[128:132] != b"DICM" and not sop_class and not sop_instance):
        raise HttpError(400, f"unable to read DICOM object {name}")
    if not sop_class:
        raise HttpError(400, f"object {name} contains no SOP Class UID")
    if not sop_instance:
        raise HttpError(400, f"object {name} contains no SOP Instance UID")

    def text(keyword: str) -> str:
        try:
            value = ds.get(keyword, "")
        except Exception:  # noqa: BLE001 - a malformed optional attribute reads as absent
            return ""
        return "" if value is None else str(value).strip()

    return DicomInfo(
        sop_class_uid=sop_class, sop_instance_uid=sop_instance,
        study_uid=text("StudyInstanceUID"), series_uid=text("SeriesInstanceUID"),
        series_number=text("SeriesNumber"), instance_number=text("InstanceNumber"),
        modality=text("Modality").upper(), series_description=text("SeriesDescription"),
        study_date=text("StudyDate"), study_time=text("StudyTime"),
        patient_name=text("PatientName"), patient_id=text("PatientID"),
        study_description=text("StudyDescription"), accession=text("AccessionNumber"),
        comments=[text("PatientComments"), text("StudyComments"),
                  text("AdditionalPatientHistory")],
        dataset=ds,
    )


def comment_assignments(comments: list[str]) -> dict[str, str]:
    """``Project: X Subject: Y Session: Z AA: true`` from the first comment field that has them."""
    for comment in comments:
        found = {key.lower(): value for key, value in _COMMENT_RE.findall(comment or "")}
        if found:
            return found
    return {}


def add_code_item(data: bytes, code_value: str, meaning: str) -> bytes:
    """Append a (0012,0064) Deidentification Method Code Sequence item, as XNAT does (§3.5)."""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    item = Dataset()
    item.CodeValue = code_value
    item.CodingSchemeDesignator = "XNAT"
    item.CodingSchemeVersion = "1.0"
    item.CodeMeaning = meaning
    seq = ds.get("DeidentificationMethodCodeSequence")
    if seq is None:
        ds.DeidentificationMethodCodeSequence = Sequence([item])
    else:
        seq.append(item)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


class Store:
    """Thread-safe state plus the files, persisted under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._inflight: dict[object, set[str]] = {}  # running imports → objects they hold
        self._state_path = self.data_dir / "state.json"
        if self._state_path.exists():
            self.state = from_json(json.loads(self._state_path.read_text("utf-8")))
        else:
            self.state = State()
        self.version = "1.8.10"

    # -- persistence -------------------------------------------------------------------------
    def save(self) -> None:
        with self.lock:
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(to_json(self.state), indent=1), "utf-8")
            os.replace(tmp, self._state_path)

    def _next(self, counter: str) -> int:
        value = self.state.counters.get(counter, 0) + 1
        self.state.counters[counter] = value
        return value

    # -- users and permissions ---------------------------------------------------------------
    def add_user(self, username: str, password: str, admin: bool = False) -> User:
        with self.lock:
            user = User(username, password, admin)
            self.state.users[username] = user
            self.save()
            return user

    def issue_token(self, username: str, lifetime: float = 2 * 86400) -> AliasToken:
        with self.lock:
            now = int(time.time() * 1000)
            token = AliasToken(alias=str(uuid.uuid4()), secret=secrets.token_urlsafe(48)[:64],
                               username=username, created=now, expires=now + int(lifetime * 1000),
                               id=self._next("token"))
            self.state.tokens.append(token)
            self.save()
            return token

    def authenticate(self, name: str, secret: str) -> User | None:
        """Password or alias-token check (``alias:secret`` works wherever Basic does, §1.5)."""
        with self.lock:
            user = self.state.users.get(name)
            if user is not None:
                return user if user.enabled and secrets.compare_digest(user.password, secret) else None
            now = int(time.time() * 1000)
            for token in self.state.tokens:
                if token.alias == name and token.valid and token.expires > now \
                        and secrets.compare_digest(token.secret, secret):
                    if token.single_use:
                        token.valid = False
                        self.save()
                    owner = self.state.users.get(token.username)
                    return owner if owner is not None and owner.enabled else None
            return None

    def role(self, username: str, project: Project) -> str | None:
        return project.roles.get(username)

    def can_read(self, user: User, project: Project) -> bool:
        return user.admin or project.roles.get(user.username) is not None

    def can_edit(self, user: User, project: Project) -> bool:
        return user.admin or project.roles.get(user.username) in ("owner", "member")

    def can_delete(self, user: User, project: Project) -> bool:
        return user.admin or project.roles.get(user.username) == "owner"

    # -- projects ----------------------------------------------------------------------------
    def add_project(self, project_id: str, name: str | None = None, *, owner: str | None = None,
                    prearchive_code: int = 0, secondary_id: str | None = None,
                    aliases: Iterable[str] = ()) -> Project:
        with self.lock:
            project = Project(id=project_id, name=name or project_id,
                              secondary_id=secondary_id or project_id,
                              prearchive_code=prearchive_code, aliases=list(aliases))
            if owner:
                project.roles[owner] = "owner"
            self.state.projects[project_id] = project
            self.save()
            return project

    def find_project(self, user: User, key: str) -> Project | None:
        """A project by ID or alias among those ``user`` may upload into.

        ``GradualDicomImporter.getProject`` asks the user-project cache, which only answers
        projects where the user has create permission ("does not exist or user does not have
        create perms"); anything else is ignored silently, so a collaborator's upload is routed
        by DICOM and usually ends in ``Unassigned``.
        """
        if not key:
            return None
        with self.lock:
            for project in self.state.projects.values():
                if (project.id == key or key in project.aliases) and self.can_edit(user, project):
                    return project
        return None

    # -- configs -----------------------------------------------------------------------------
    def set_config(self, project_id: str | None, tool: str, path: str, contents: str,
                   enabled: bool = True, user: str = "admin") -> Config:
        with self.lock:
            configs = (self.state.site_configs if project_id is None
                       else self.state.projects[project_id].configs)
            key = f"{tool}/{path}"
            old = configs.get(key)
            config = Config(contents=contents, status="enabled" if enabled else "disabled",
                            version=(old.version + 1) if old else 1, user=user,
                            create_date=now_text(), id=self._next("config"))
            configs[key] = config
            self.save()
            return config

    def set_config_status(self, project_id: str | None, tool: str, path: str, enabled: bool) -> None:
        with self.lock:
            configs = (self.state.site_configs if project_id is None
                       else self.state.projects[project_id].configs)
            configs[f"{tool}/{path}"].status = "enabled" if enabled else "disabled"
            self.save()

    def configs_of(self, project_id: str | None, tool: str) -> list[tuple[str, Config]]:
        """Every ``(tool/path, config)`` of one tool at site or project level."""
        with self.lock:
            configs = (self.state.site_configs if project_id is None
                       else self.state.projects[project_id].configs)
            return sorted((k, c) for k, c in configs.items() if k.split("/", 1)[0] == tool)

    def get_config(self, project_id: str | None, tool: str, path: str) -> Config | None:
        with self.lock:
            configs = (self.state.site_configs if project_id is None
                       else self.state.projects[project_id].configs)
            return configs.get(f"{tool}/{path}")

    def site_script(self) -> Config | None:
        return self.get_config(None, "anon", "script")

    def project_script(self, project_id: str) -> Config | None:
        return self.get_config(project_id, "anon", f"/projects/{project_id}")

    # -- subjects ----------------------------------------------------------------------------
    def get_or_create_subject(self, project: Project, label: str, username: str,
                              group: str = "") -> tuple[Subject, bool]:
        """Existing subjects match case-insensitively by label or ID (XNAT-2865)."""
        with self.lock:
            for subject in project.subjects:
                if subject.label.lower() == label.lower() or subject.id.lower() == label.lower():
                    return subject, False
            subject = Subject(id=f"XNAT_S{self._next('subject'):05d}", label=label, group=group,
                              insert_date=now_text(), insert_user=username)
            project.subjects.append(subject)
            self.save()
            return subject, True

    def create_experiment(self, project: Project, subject: Subject, label: str, xsi: str,
                          username: str) -> tuple[Experiment, bool]:
        """``PUT .../experiments/E?xsiType=...``: an empty session (no scans yet)."""
        with self.lock:
            found = self.experiment(project, label)
            if found is not None:
                return found, False
            experiment = Experiment(id=f"XNAT_E{self._next('experiment'):05d}", label=label,
                                    subject_label=subject.label, xsi_type=xsi,
                                    insert_date=now_text(), insert_user=username)
            project.experiments.append(experiment)
            self.save()
            return experiment, True

    def experiment(self, project: Project, label: str) -> Experiment | None:
        for experiment in project.experiments:
            if experiment.label == label or experiment.id == label:
                return experiment
        return None

    def experiment_by_id(self, experiment_id: str) -> tuple[Project, Experiment] | None:
        with self.lock:
            for project in self.state.projects.values():
                for experiment in project.experiments:
                    if experiment.id == experiment_id:
                        return project, experiment
        return None

    # -- paths -------------------------------------------------------------------------------
    def prearc_dir(self, session: PrearcSession) -> Path:
        return self.data_dir / "prearchive" / session.project / session.timestamp / session.folder

    def archive_dir(self, project_id: str, label: str) -> Path:
        return self.data_dir / "archive" / project_id / "arc001" / label

    # -- import (DICOM-zip / gradual-DICOM) --------------------------------------------------
    def receive(self, user: User, params: dict[str, str], entries: Iterator[tuple[str, bytes]],
                handler: str, file_delay: float = 0.0) -> list[PrearcSession]:
        """Store every entry in its prearchive session, in order; return the sessions touched.

        An error on entry *k* propagates after entries 0..k-1 have been stored, exactly like the
        real importer (the partial session stays ``RECEIVING``).
        """
        get = params.get
        lower_ok = handler == "DICOM-zip"
        project_key = get("PROJECT_ID") or (get("project", "") if lower_ok else "")
        subject_param = get("SUBJECT_ID") or (get("subject", "") if lower_ok else "")
        label_param = get("EXPT_LABEL") or (get("session", "") if lower_ok else "")
        dest_project, dest_subject, dest_label = _dest_parts(get("dest", ""))
        project_key = project_key or dest_project
        subject_param = subject_param or dest_subject
        label_param = label_param or dest_label
        rename = get("rename", "false").lower() == "true"
        prevent_anon = get("prevent_anon", "false").lower() == "true"
        source = get("SOURCE", "")
        prevent_auto_commit = (get("prevent_auto_commit", "false").lower() == "true"
                               or source.lower() == "uploader")
        ignore_unparsable = _flag(get("Ignore-Unparsable"),
                                  default=get("action") == "commit")
        aa_param = get("AA") or get("auto-archive")
        param_project = self.find_project(user, project_key)  # unknown/not writable → ignored
        touched: dict[int, PrearcSession] = {}
        site_filter = self._series_filter(None)  # DicomFilterService: site and project both apply
        token = object()
        self._inflight[token] = set()
        try:
            self._receive_entries(user, params, _paced(entries, file_delay, token, self),
                                  param_project, site_filter, touched,
                                  subject_param, label_param, rename, prevent_anon,
                                  prevent_auto_commit, source, ignore_unparsable, aa_param)
        finally:
            with self.lock:
                del self._inflight[token]
            self.save()  # once per request: files already stored stay recorded on any error
        return list(touched.values())

    def _receive_entries(self, user: User, params: dict[str, str],
                         entries: Iterator[tuple[str, bytes]], param_project: Project | None,
                         site_filter: "Callable[[Any], bool] | None",
                         touched: dict[int, PrearcSession], subject_param: str, label_param: str,
                         rename: bool, prevent_anon: bool, prevent_auto_commit: bool, source: str,
                         ignore_unparsable: bool, aa_param: str | None) -> None:
        get = params.get
        for name, data in entries:
            try:
                info = parse_dicom(name, data)
            except HttpError:
                if ignore_unparsable:
                    continue
                raise
            routed = comment_assignments(info.comments)
            project = param_project
            if project is None:
                for key in (routed.get("project", ""), info.study_description, info.accession):
                    project = self.find_project(user, key)
                    if project is not None:
                        break
            project_id = project.id if project is not None else UNASSIGNED
            project_filter = self._series_filter(project.id) if project is not None else None
            if any(f is not None and not f(info.dataset) for f in (site_filter, project_filter)):
                continue  # dropped silently, as XNAT's DICOM filter service does
            subject = subject_param or routed.get("subject", "") or info.patient_name
            label = label_param or routed.get("session", "") or info.patient_id or "dicom_upload"
            with self.lock:
                session = self._receiving_session(project_id, info, subject, label)
                session.prevent_anon = session.prevent_anon or prevent_anon
                session.prevent_auto_commit = session.prevent_auto_commit or prevent_auto_commit
                session.source = source or session.source
                session.visit = get("VISIT", session.visit)
                session.protocol = get("SUBTYPE", session.protocol)
                session.timezone = get("TIMEZONE", session.timezone)
                if _flag(aa_param) or routed.get("aa", "").lower() == "true":
                    session.autoarchive = True
                self._store_file(session, info, name, data, rename)
                touched[id(session)] = session

    def _series_filter(self, project_id: str | None) -> "Callable[[Any], bool] | None":
        """Series import filter at ``seriesImportFilter/config`` (site and project alike), as
        dicomtools' ``RegExBasedSeriesImportFilter``: JSON ``mode``/``list``/``enabled``;
        ``[Attribute]`` sections (SeriesDescription before any); case-insensitive ``find``;
        ``EXISTS``/``!EXISTS``; whitelist accepts on any match, blacklist on none;
        ``modalityMap`` never drops."""
        config = self.get_config(project_id, "seriesImportFilter", "config")
        if config is None or config.status != "enabled" or not config.contents.strip():
            return None
        spec = json.loads(config.contents)
        if str(spec.get("enabled", "true")).lower() == "false":
            return None
        mode = str(spec.get("mode", "blacklist")).lower()
        if mode not in ("whitelist", "blacklist"):
            return None
        sections: dict[int, list[re.Pattern[str]]] = {0x0008103E: []}
        current = 0x0008103E
        for line in str(spec.get("list", "")).splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            item = line.strip()
            if item.startswith("[") and item.endswith("]"):
                name = item[1:-1].strip()
                hexa = re.sub(r"[(),\s]", "", name)
                current = int(hexa, 16) if re.fullmatch(r"[0-9A-Fa-f]{8}", hexa) else \
                    int(pydicom.datadict.tag_for_keyword(name) or 0)
                sections.setdefault(current, [])
            else:
                sections[current].append(re.compile(item, re.IGNORECASE))

        def value_of(ds: Any, tag: int) -> str | None:
            element = ds.get(tag) if ds is not None else None
            if element is None:
                return None
            value = element.value
            if value is None:
                return ""
            if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
                return "\\".join(str(v) for v in value)
            return str(value).strip()

        def accept(ds: Any) -> bool:
            for tag, patterns in sections.items():
                value = value_of(ds, tag)
                for pattern in patterns:
                    if pattern.pattern == "EXISTS":
                        hit = value is not None
                    elif pattern.pattern == "!EXISTS":
                        hit = value is None
                    else:
                        hit = value is not None and pattern.search(value) is not None
                    if hit:
                        return mode == "whitelist"
            return mode == "blacklist"
        return accept

    def _receiving_session(self, project_id: str, info: DicomInfo, subject: str,
                           label: str) -> PrearcSession:
        for session in self.state.prearchive:
            if (session.project == project_id and session.tag == info.study_uid
                    and session.name == label and session.status == "RECEIVING"):
                return session
        stamp = datetime.now().strftime("%Y%m%d_%H%M%S%f")[:-3]
        folder = clean_label(label) or "dicom_upload"
        taken = {(s.timestamp, s.folder) for s in self.state.prearchive if s.project == project_id}
        base, n = folder, 0
        while (stamp, folder) in taken:
            n += 1
            folder = f"{base}_{n}"
        session = PrearcSession(project=project_id, timestamp=stamp, folder=folder, name=label,
                                subject=subject, tag=info.study_uid, uploaded=now_text(),
                                scan_date=info.study_date, scan_time=info.study_time)
        self.state.prearchive.append(session)
        return session

    def _store_file(self, session: PrearcSession, info: DicomInfo, entry_name: str, data: bytes,
                    rename: bool) -> None:
        scan = self._scan_for(session, info)
        scan_dir = self.prearc_dir(session) / "SCANS" / scan.id / "DICOM"
        scan_dir.mkdir(parents=True, exist_ok=True)
        template = _template_name(info)
        if rename:
            file_name = template
        else:
            file_name = Path(entry_name.replace("\\", "/")).name or template
            existing = next((f for f in scan.files if f.name == file_name), None)
            if existing is not None and existing.sop_instance_uid != info.sop_instance_uid:
                file_name = template  # GradualDicomImporter.getSafeFile
        site = self.site_script()
        if site is not None and site.status == "enabled" and not session.prevent_anon:
            data = add_code_item(data, str(site.id), "XNAT site anonymization script")
        path = scan_dir / file_name
        path.write_bytes(data)
        scan.files = [f for f in scan.files if f.name != file_name]
        scan.files.append(FileRec(file_name, len(data), hashlib.md5(data).hexdigest(),
                                  info.sop_class_uid, info.sop_instance_uid))
        session.lastmod = now_text()
        session.lastmod_epoch = time.time()
        if info.modality and info.modality not in session.modality.split():
            session.modality = " ".join(filter(None, [session.modality, info.modality]))

    def _scan_for(self, session: PrearcSession, info: DicomInfo) -> ScanRec:
        for scan in session.scans:
            if scan.series_uid == info.series_uid:
                return scan
        number = info.series_number.lstrip("+") or str(
            int(hashlib.md5(info.series_uid.encode()).hexdigest()[:6], 16))
        scan_id, k = number, 0
        used = {s.id for s in session.scans}
        while scan_id in used:  # PrearcSessionArchiver.correctScanID: "1-MR1"
            k += 1
            scan_id = f"{number}-{info.modality or 'OT'}{k}"
        scan = ScanRec(id=scan_id, series_uid=info.series_uid,
                       series_description=info.series_description, modality=info.modality,
                       type=info.series_description)
        session.scans.append(scan)
        return scan

    # -- prearchive --------------------------------------------------------------------------
    def find_prearc(self, project_id: str, timestamp: str, folder: str) -> PrearcSession | None:
        with self.lock:
            for session in self.state.prearchive:
                if (session.project, session.timestamp, session.folder) == (project_id, timestamp, folder):
                    return session
        return None

    def delete_prearc(self, session: PrearcSession) -> None:
        with self.lock:
            shutil.rmtree(self.prearc_dir(session), ignore_errors=True)
            self.state.prearchive = [s for s in self.state.prearchive if s is not session]
            self.save()

    def build(self, session: PrearcSession) -> None:
        with self.lock:
            if session.status in ("RECEIVING", "READY", "ERROR", "CONFLICT", "BUILDING"):
                session.status = "READY"
                self.save()

    def separates_pet_mr(self, project_id: str) -> bool:
        """XNAT's PET/MR handling setting (``HandlePetMr.getSeparatePetMr``): the project's
        ``separatePETMR/config`` when it has one, else the site-wide setting (kept here as the
        site-level row of the same config); ``separate`` splits PET/MR sessions."""
        config = self.get_config(project_id, "separatePETMR", "config")
        if config is None or not config.contents.strip():
            config = self.get_config(None, "separatePETMR", "config")
        return (config is not None and
                "".join(config.contents.split()).lower() == "separate")

    def separate_pet_mr(self, session: PrearcSession) -> list[PrearcSession] | None:
        """Split a built PET/MR prearchive session in two, as ``PrearcDatabase.
        _separatePetMrSession`` does when the setting says ``separate``; None when nothing is
        split. The PET scans go to one new session, every other scan (``getScanModality``
        defaults to MR) to the other; each gets a new timestamp folder named by its label
        (``getUniqueSessionLabel``: "PETMR"/"petmr" in the label becomes "PET"/"MR", otherwise
        "_PET"/"_MR" is appended, then 1, 2, ... while an archived session has that label);
        the new rows are READY and the original row and folder are gone."""
        with self.lock:
            project = self.state.projects.get(session.project)
            modalities = {s.modality for s in session.scans}
            if (project is None or "PT" not in modalities or not modalities - {"PT"}
                    or not self.separates_pet_mr(project.id)):
                return None
            parts: list[PrearcSession] = []
            taken = {(s.timestamp, s.folder) for s in self.state.prearchive
                     if s.project == session.project}
            for replacement, scans in (
                    ("MR", [s for s in session.scans if s.modality != "PT"]),
                    ("PET", [s for s in session.scans if s.modality == "PT"])):
                label = _split_label(session.name, replacement)
                base, index = label, 0
                while self.experiment(project, label) is not None:
                    index += 1
                    label = f"{base}{index}"
                stamp = datetime.now().strftime("%Y%m%d_%H%M%S%f")[:-3]
                while any(ts == stamp for ts, _ in taken):
                    time.sleep(0.002)  # PrearcUtils.makeTimestamp until the two differ
                    stamp = datetime.now().strftime("%Y%m%d_%H%M%S%f")[:-3]
                taken.add((stamp, label))
                part = PrearcSession(
                    project=session.project, timestamp=stamp, folder=label, name=label,
                    subject=session.subject, tag=session.tag, status="READY",
                    uploaded=session.uploaded, lastmod=now_text(), lastmod_epoch=time.time(),
                    scan_date=session.scan_date, scan_time=session.scan_time,
                    modality=" ".join(dict.fromkeys(s.modality for s in scans if s.modality)),
                    autoarchive=session.autoarchive, prevent_anon=session.prevent_anon,
                    prevent_auto_commit=session.prevent_auto_commit, source=session.source,
                    visit=session.visit, protocol=session.protocol, timezone=session.timezone,
                    scans=scans)
                for scan in scans:
                    target = self.prearc_dir(part) / "SCANS" / scan.id
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(self.prearc_dir(session) / "SCANS" / scan.id), target)
                parts.append(part)
            shutil.rmtree(self.prearc_dir(session), ignore_errors=True)
            self.state.prearchive = [s for s in self.state.prearchive if s is not session]
            self.state.prearchive.extend(parts)
            self.save()
            return parts

    def wants_archive(self, session: PrearcSession) -> bool:
        project = self.state.projects.get(session.project)
        return session.autoarchive or (project is not None and project.prearchive_code in (4, 5))

    def archive(self, user: User, session: PrearcSession, *, allow_merge: bool, override: bool,
                overwrite_files: bool = False, fields: dict[str, str] | None = None) -> str:
        """Move a prearchive session into the archive; return its archive URI (§4.6, §8.4)."""
        with self.lock:
            project = self.state.projects.get(session.project)
            if project is None:
                raise HttpError(400, "Cannot archive sessions in the Unassigned prearchive.")
            if not self.can_edit(user, project):
                raise HttpError(403, f"User {user.username} cannot archive into {project.id}")
            try:
                uri = self._archive(user, project, session, allow_merge, override,
                                    overwrite_files, fields or {})
            except ArchiveFailure as exc:
                session.status = "CONFLICT" if exc.conflict else "ERROR"
                self.save()
                raise
            self.save()
            return uri

    def _archive(self, user: User, project: Project, session: PrearcSession, allow_merge: bool,
                 override: bool, overwrite_files: bool, fields: dict[str, str]) -> str:
        subject_label = clean_label(session.subject)
        label = clean_label(session.name)
        if not subject_label:
            raise ArchiveFailure("Unable to identify the subject for this session", conflict=False)
        existing = self.experiment(project, label)
        if existing is not None:
            if not allow_merge:
                raise ArchiveFailure("Session already exists, retry with overwrite enabled")
            if not override:
                if existing.subject_label.lower() != subject_label.lower():
                    raise ArchiveFailure("Invalid modification of session subject via archive process")
                if existing.uid and session.tag and existing.uid != session.tag:
                    raise ArchiveFailure("Invalid modification of session UID via archive process")
        merged: dict[str, ScanRec] = {s.id: s for s in existing.scans} if existing else {}
        replaced: set[str] = set()
        for scan in session.scans:
            old = merged.get(scan.id)
            if old is None or override:
                merged[scan.id] = ScanRec(scan.id, scan.series_uid, scan.series_description,
                                          scan.modality, scan.type, list(scan.files))
                replaced.add(scan.id)
                continue
            clash = {f.name for f in old.files} & {f.name for f in scan.files}
            if clash and not overwrite_files:
                raise ArchiveFailure(f"Scan {scan.id} already contains file(s) "
                                     f"{', '.join(sorted(clash)[:3])}; use overwrite_files=true")
            keep = [f for f in old.files if f.name not in clash]
            merged[scan.id] = ScanRec(old.id, old.series_uid, old.series_description,
                                      old.modality, old.type, keep + list(scan.files))
        if not override:
            for scan in merged.values():
                uids = [f.sop_instance_uid for f in scan.files]
                dupes = sorted({u for u in uids if uids.count(u) > 1})
                if dupes:
                    raise ArchiveFailure(f"Scan {scan.id} DICOM catalog contains duplicated SOP "
                                         f"instance UIDs: {', '.join(dupes[:3])}")
        # Only now touch the disk: a failed archive leaves both sides as they were.
        subject, _ = self.get_or_create_subject(project, subject_label, user.username)
        target = self.archive_dir(project.id, label)
        source_dir = self.prearc_dir(session)
        script = self.project_script(project.id)
        apply_script = script is not None and script.status == "enabled" and not session.prevent_anon
        for scan in session.scans:
            dest = target / "SCANS" / scan.id / "DICOM"
            if scan.id in replaced and dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True, exist_ok=True)
            for rec in scan.files:
                data = (source_dir / "SCANS" / scan.id / "DICOM" / rec.name).read_bytes()
                if apply_script and script is not None:
                    data = add_code_item(data, str(script.id), "XNAT project anonymization script")
                    rec.size, rec.digest = len(data), hashlib.md5(data).hexdigest()
                (dest / rec.name).write_bytes(data)
        if existing is None:
            modalities = session.modality.split()
            existing = Experiment(
                id=f"XNAT_E{self._next('experiment'):05d}", label=label,
                subject_label=subject.label, uid=session.tag, date=session.scan_date,
                time=session.scan_time, modality=modalities[0] if modalities else "",
                xsi_type=xsi_type(modalities), insert_date=now_text(), insert_user=user.username,
                visit=session.visit, protocol=session.protocol)
            project.experiments.append(existing)
        existing.scans = sorted(merged.values(), key=lambda s: _scan_sort_key(s.id))
        existing.fields.update(fields)
        shutil.rmtree(source_dir, ignore_errors=True)
        self.state.prearchive = [s for s in self.state.prearchive if s is not session]
        return f"/data/archive/projects/{project.id}/subjects/{subject.label}/experiments/{label}"

    def auto_commit(self, idle_seconds: float) -> None:
        """The session XML rebuilder: build (and maybe archive) idle RECEIVING sessions (§4.6)."""
        with self.lock:
            due = [s for s in self.state.prearchive
                   if s.status == "RECEIVING" and not s.prevent_auto_commit
                   and time.time() - s.lastmod_epoch >= idle_seconds]
            for built in due:
                self.build(built)
                for session in self.separate_pet_mr(built) or [built]:
                    self._auto_archive(session)

    def _auto_archive(self, session: PrearcSession) -> None:
        if not self.wants_archive(session) or session.project == UNASSIGNED:
            return
        owner = self.state.users.get(next(iter(
            u for u, r in self.state.projects[session.project].roles.items() if r == "owner"), ""))
        admin = owner or next((u for u in self.state.users.values() if u.admin), None)
        if admin is not None:
            try:
                self.archive(admin, session, allow_merge=True,
                             override=self.state.projects[session.project].prearchive_code == 5)
            except (ArchiveFailure, HttpError):
                pass  # status already CONFLICT/ERROR, as on the server

def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.lower() == "true"


_DEST = re.compile(r"^(?:/data|/REST)?/(?:pre)?archive/projects/(?P<p>[^/]+)"
                   r"(?:/subjects/(?P<s>[^/]+)(?:/experiments/(?P<e>[^/]+))?)?/?$")


def _paced(entries: Iterator[tuple[str, bytes]], delay: float, token: object,
           store: "Store") -> Iterator[tuple[str, bytes]]:
    """The request's entries, each claimed for this request while it runs: an entry another
    running request already holds is XNAT's "Concurrent file sends" (GradualDicomImporter
    refuses two writers of the same object). ``delay`` paces a slow server."""
    for name, data in entries:
        key = hashlib.md5(data).hexdigest()
        with store.lock:
            if any(key in held for other, held in store._inflight.items() if other is not token):
                raise HttpError(400, "Concurrent file sends of the same data is not supported.")
            store._inflight[token].add(key)
        if delay:
            time.sleep(delay)
        yield name, data


def _dest_project(dest: str) -> str:
    return _dest_parts(dest)[0]


def _dest_parts(dest: str) -> tuple[str, str, str]:
    """``/archive/projects/P/subjects/S/experiments/E`` → (P, S, E), as ImporterHandler reads
    ``dest`` (any part may be missing)."""
    match = _DEST.match(dest)
    if not match:
        return "", "", ""
    return match["p"] or "", match["s"] or "", match["e"] or ""


def _split_label(label: str, replacement: str) -> str:
    """``PrearcDatabase.getUniqueSessionLabel``'s stem: "PETMR" (or "petmr") in the label is
    replaced, otherwise ``_MR`` / ``_PET`` is appended."""
    if "PETMR" in label:
        return label.replace("PETMR", replacement.upper())
    if "petmr" in label:
        return label.replace("petmr", replacement.lower())
    return f"{label}_{replacement}"


def _template_name(info: DicomInfo) -> str:
    """``${StudyInstanceUID}-${SeriesNumber}-${InstanceNumber}-${Hash…}.dcm`` (dicomFileNameTemplate)."""
    digest = hashlib.sha1(f"{info.sop_class_uid}{info.sop_instance_uid}".encode()).hexdigest()[:8]
    return f"{info.study_uid}-{info.series_number}-{info.instance_number}-{digest}.dcm"


def xsi_type(modalities: list[str]) -> str:
    if "PT" in modalities and "MR" in modalities:
        return "xnat:petmrSessionData"
    for modality in ("PT", *modalities):
        if modality in modalities and modality in _XSI_TYPES:
            return _XSI_TYPES[modality]
    return "xnat:otherDicomSessionData"


def _scan_sort_key(scan_id: str) -> tuple[int, str]:
    head = re.match(r"\d+", scan_id)
    return (int(head.group()) if head else 1 << 30, scan_id)
