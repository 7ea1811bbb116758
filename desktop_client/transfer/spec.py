"""What a transfer is: one session, one destination, and every choice the user made about it.

A :class:`TransferSpec` is persisted (as JSON) in the queue database the moment it is submitted,
so everything the engine needs must survive a round trip through :meth:`TransferSpec.to_json` /
:meth:`TransferSpec.from_json`. Two things are deliberately left out: passwords (credentials are
asked for when a transfer runs: keyring, environment, prompt) and the patient's name, ID and
accession number (only needed to choose labels, which happens before submission). A DicomEdit
lookup table the user chose is kept whole (its keys may be patient names): the scripts need it on
every attempt, and the queue is a private file (mode 0600); receipts record only its checksum.

The queue keeps the instances (one per file, the bulk of a large session) as rows of their own
and the rest as one small JSON document, hence the separate per-instance form
(:func:`instance_to_json` / :func:`instance_from_json`) and ``to_json(instances=False)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from desktop_client.core import privacy
from desktop_client.core.geometry import Fill, PixelEdit, Rect
# The value types the destinations share with the engine live below both (see destinations.model);
# they are re-exported here, where a transfer's other values are.
from desktop_client.destinations.model import (  # noqa: F401
    MERGE,
    DestinationKind,
    DestinationSpec,
)
from desktop_client.scanning.model import SHARED_TEXT_FIELDS, Instance, Location, Scan, Session
from desktop_client.scripts import ScriptSource  # noqa: F401 - the one script record, re-exported


class State(StrEnum):
    """Life cycle of a transfer and of each of its units (scan or chunk of a scan)."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (State.DONE, State.FAILED, State.CANCELLED)


class EventKind(StrEnum):
    """What a ``TransferEvent`` reports."""

    STATE = "state"          # the transfer's state changed
    PROGRESS = "progress"    # files/bytes/rate (throttled)
    UNIT = "unit"            # a scan or chunk started
    LOG = "log"              # a line was added to the transfer's log


class StopReason(StrEnum):
    """Why a running transfer is asked to stop (``engine.Controls``); also its log event name."""

    PAUSE = "pause"
    CANCEL = "cancel"
    SHUTDOWN = "shutdown"


class LogLevel(StrEnum):
    """Severity of a line of a transfer's log (kept in the queue, shown by the monitor)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class RecordStatus(StrEnum):
    """What the queue records for one source object (the pipeline's ``ObjectStatus.OK`` becomes
    ``SENT`` once its unit is confirmed sent)."""

    SENT = "sent"
    REJECTED = "rejected"
    FAILED = "failed"
    HELD_BACK = "held back"  # fine itself, but another object of its scan failed


@dataclass(frozen=True, slots=True)
class PrivateTextRecord:
    """What an image scan carried in private elements and overlays, and what became of it
    (``plan.privatetext`` decides; the receipt records it; no header values, only names)."""

    #: "private text", "an overlay" (what the scan carries at all, identifying or not)
    carried: tuple[str, ...] = ()
    #: the carriers likely to identify the patient ("private (0019,1010) holds the patient's PatientName")
    identifying: tuple[str, ...] = ()
    #: one sentence: removed by the scripts (checked), removed by the built-in step, sent by decision…
    outcome: str = ""
    #: SHA-256 of each script the check ran (site/project chain, without the built-in step)
    checked_scripts: tuple[str, ...] = ()
    #: every object's output is searched again before it is sent (the pipeline fails it closed
    #: when identifying private text or an overlay is still there)
    verify: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"carried": list(self.carried), "identifying": list(self.identifying),
                "outcome": self.outcome, "checked_scripts": list(self.checked_scripts),
                "verify": self.verify}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "PrivateTextRecord | None":
        if not data:
            return None
        return cls(tuple(data.get("carried", ())), tuple(data.get("identifying", ())),
                   str(data.get("outcome", "")), tuple(data.get("checked_scripts", ())),
                   bool(data.get("verify", False)))


@dataclass(frozen=True, slots=True)
class ScanChoice:
    """What the user decided for one scan: rectangles to black out, or leave it out."""

    series_instance_uid: str
    rectangles: tuple[PixelEdit, ...] = ()
    excluded: bool = False
    exclude_reason: str = ""
    #: A person's decision about a scan flagged by a privacy check (e.g. "included deliberately:
    #: contains free text …"), recorded in the receipt.
    decision: str = ""
    #: The person's decision on burned-in text (``plan.review`` values: "redacted",
    #: "checked, no text", "accepted as is", "excluded"; "" when none was needed), for the receipt.
    text_decision: str = ""
    #: Where each rectangle came from ("drawn", "template", "detected", "detected (adjusted)"),
    #: parallel to ``rectangles``.
    box_sources: tuple[str, ...] = ()
    #: Why the visible text was accepted as is (the receipt records it).
    accept_reason: str = ""
    #: Private text and overlays the scan carried and what became of them (issue 14 §2).
    private_text: PrivateTextRecord | None = None

    @property
    def accepted_as_is(self) -> bool:
        """The output re-check records visible text instead of failing the object."""
        return self.text_decision == "accepted as is"


@dataclass(frozen=True, slots=True)
class LookupTable:
    """A DicomEdit lookup table (``keyType/key = value`` lines, dicomedit.md §9.6) for ``lookup[...]``.

    Kept as the file's text so that every applicator parses its own copy, as the reference does.
    Its values are often real patient names, so only ``name``, ``sha256`` and ``entries`` are
    ever shown or recorded.
    """

    name: str
    text: str

    @classmethod
    def read(cls, path: str | Path) -> "LookupTable":
        """Read and check a table file; ValueError names the file and the first bad line."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read lookup table {path}: {exc}") from None
        table = cls(path.name, text)
        table.validate()
        return table

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def entries(self) -> int:
        """How many keys the table defines (ValueError when a line is malformed)."""
        from desktop_client.dicomedit.runtime import parse_lookup_table

        return len(parse_lookup_table(self.text))

    def validate(self) -> None:
        """Raise ValueError for a malformed or empty table, naming the line (never quoting it)."""
        try:
            entries = self.entries
        except ValueError as exc:
            raise ValueError(f"lookup table {self.name}: {exc}") from None
        if not entries:
            raise ValueError(f"lookup table {self.name} has no entries")


@dataclass(slots=True)
class TransferSpec:
    """One session to one destination with its labels, variables, scripts and per-scan choices.

    ``scripts`` None means "ask the destination" (an XNAT server's site and project scripts);
    otherwise the given scripts are applied in order (local folder, DICOM and DICOMweb targets
    have no server-side scripts, so the user names them). Scans missing from ``choices`` are sent
    as they are, without rectangles. ``lookup_table`` is given to every script of the chain.
    ``overwrite`` None refuses a session label that already exists at the destination;
    ``"append"`` adds these scans to it (XNAT's ``overwrite=append``, chosen explicitly by the user).
    """

    session: Session
    destination: DestinationSpec
    project: str = ""
    subject: str = ""
    session_label: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    choices: dict[str, ScanChoice] = field(default_factory=dict)
    scripts: list[ScriptSource] | None = None
    user: str = ""
    overwrite: str | None = None
    max_chunk_files: int = 1000
    max_chunk_bytes: int = 512 * 1024 * 1024
    receipt_dir: str | None = None
    #: The JSON receipt is always written; the PDF one only when asked for (the default).
    receipt_pdf: bool = True
    lookup_table: LookupTable | None = None
    #: Scripts applied before ``scripts`` (or the server's): the built-in "send without the
    #: text" rule for scans a person chose to include that way (issue 14; ``desktop_client.scripts``).
    prelude: list[ScriptSource] = field(default_factory=list)

    def choice(self, series_instance_uid: str) -> ScanChoice:
        return self.choices.get(series_instance_uid) or ScanChoice(series_instance_uid)

    def validate(self) -> None:
        """Raise ValueError for a spec that cannot run (caught before it enters the queue)."""
        if not self.session.scans:
            raise ValueError("the session has no scans")
        if self.destination.kind in (DestinationKind.XNAT, DestinationKind.LOCAL):
            for name, value in (("project", self.project), ("subject", self.subject),
                                ("session label", self.session_label)):
                if not value:
                    where = "an XNAT upload" if self.destination.kind is DestinationKind.XNAT \
                        else "the local archive"
                    raise ValueError(f"{where} needs a {name}")
        unknown = set(self.choices) - set(self.session.scans)
        if unknown:
            raise ValueError(f"choices name series not in the session: {', '.join(sorted(unknown))}")
        if all(self.choice(uid).excluded for uid in self.session.scans):
            raise ValueError("every scan of the session is excluded: nothing to send")
        if self.max_chunk_files < 1 or self.max_chunk_bytes < 1:
            raise ValueError("chunk limits must be positive")
        if self.overwrite not in (None, MERGE):
            raise ValueError(f"overwrite must be {MERGE!r} (add to an existing session) or unset")
        if self.lookup_table is not None:
            self.lookup_table.validate()

    # ---- persistence -------------------------------------------------------------------------

    def to_json(self, *, instances: bool = True) -> dict[str, Any]:
        """The spec as JSON; ``instances=False`` leaves every scan's instance list empty."""
        return {
            "session": _session_to_json(self.session, instances),
            "destination": {"kind": self.destination.kind.value, "url": self.destination.url,
                            "username": self.destination.username,
                            "calling_aet": self.destination.calling_aet,
                            "verify_tls": self.destination.verify_tls,
                            "allow_http": self.destination.allow_http},
            "project": self.project,
            "subject": self.subject,
            "session_label": self.session_label,
            "variables": dict(self.variables),
            "choices": [_choice_to_json(c) for c in self.choices.values()],
            "scripts": None if self.scripts is None else [s.to_json() for s in self.scripts],
            "user": self.user,
            "overwrite": self.overwrite,
            "max_chunk_files": self.max_chunk_files,
            "max_chunk_bytes": self.max_chunk_bytes,
            "receipt_dir": self.receipt_dir,
            "receipt_pdf": self.receipt_pdf,
            "lookup_table": None if self.lookup_table is None else {
                "name": self.lookup_table.name, "text": self.lookup_table.text},
            "prelude": [s.to_json() for s in self.prelude],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TransferSpec":
        d = data["destination"]
        scripts = data.get("scripts")
        table = data.get("lookup_table")
        return cls(
            session=_session_from_json(data["session"]),
            destination=DestinationSpec(DestinationKind(d["kind"]), d["url"], d.get("username", ""),
                                        d.get("calling_aet", "XNATUPLOAD"), d.get("verify_tls", True),
                                        bool(d.get("allow_http", False))),
            project=data.get("project", ""),
            subject=data.get("subject", ""),
            session_label=data.get("session_label", ""),
            variables=dict(data.get("variables", {})),
            choices={c["series_instance_uid"]: _choice_from_json(c) for c in data.get("choices", [])},
            scripts=None if scripts is None else [ScriptSource.from_json(s) for s in scripts],
            user=data.get("user", ""),
            overwrite=data.get("overwrite"),
            max_chunk_files=int(data.get("max_chunk_files", 1000)),
            max_chunk_bytes=int(data.get("max_chunk_bytes", 512 * 1024 * 1024)),
            receipt_dir=data.get("receipt_dir"),
            receipt_pdf=bool(data.get("receipt_pdf", True)),
            lookup_table=None if table is None else LookupTable(table["name"], table["text"]),
            prelude=[ScriptSource.from_json(s) for s in data.get("prelude", [])],
        )


def scan_ids(spec: TransferSpec) -> dict[str, str]:
    """Scan id of each series: its Series Number, made unique the way XNAT does (``1-CT1``)."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for position, scan in enumerate(spec.session.sorted_scans(), start=1):
        base = str(scan.series_number) if scan.series_number is not None else f"S{position}"
        candidate, n = base, 1
        while candidate in used:
            candidate = f"{base}-{scan.modality or 'X'}{n}"
            n += 1
        used.add(candidate)
        ids[scan.series_instance_uid] = candidate
    return ids


def script_variables(spec: TransferSpec) -> dict[str, str]:
    """The properties every script sees, as the official client sets them, plus user variables."""
    return {"project": spec.project, "subject": spec.subject, "session": spec.session_label,
            "experiment_label": spec.session_label, **spec.variables}


def _edit_to_json(edit: PixelEdit) -> dict[str, Any]:
    return {"rect": [edit.rect.left, edit.rect.top, edit.rect.right, edit.rect.bottom],
            "black": edit.fill.black, "value": edit.fill.value,
            "rgb": list(edit.fill.rgb) if edit.fill.rgb else None, "shape": edit.shape}


def _edit_from_json(data: dict[str, Any]) -> PixelEdit:
    rgb = data.get("rgb")
    fill = Fill(black=bool(data.get("black", True)), value=data.get("value"),
                rgb=tuple(rgb) if rgb else None)
    return PixelEdit(Rect(*data["rect"]), fill, data.get("shape", "rectangle"))


def _choice_to_json(choice: ScanChoice) -> dict[str, Any]:
    return {"series_instance_uid": choice.series_instance_uid,
            "rectangles": [_edit_to_json(e) for e in choice.rectangles],
            "excluded": choice.excluded, "exclude_reason": choice.exclude_reason,
            "decision": choice.decision, "text_decision": choice.text_decision,
            "box_sources": list(choice.box_sources), "accept_reason": choice.accept_reason,
            "private_text": None if choice.private_text is None else choice.private_text.to_json()}


def _choice_from_json(data: dict[str, Any]) -> ScanChoice:
    return ScanChoice(data["series_instance_uid"],
                      tuple(_edit_from_json(e) for e in data.get("rectangles", [])),
                      bool(data.get("excluded", False)), data.get("exclude_reason", ""),
                      data.get("decision", ""), data.get("text_decision", ""),
                      tuple(data.get("box_sources", ())), data.get("accept_reason", ""),
                      PrivateTextRecord.from_json(data.get("private_text")))


# Identifying attributes are never written to the queue: once the labels are chosen, nothing after
# submission needs them, and the queue file then holds no patient names or IDs.
_NOT_STORED = {"patient_name", "patient_id", "accession_number"}
_SESSION_FIELDS = [f.name for f in dataclasses.fields(Session)
                   if f.name != "scans" and f.name not in _NOT_STORED]
_SCAN_FIELDS = [f.name for f in dataclasses.fields(Scan) if f.name != "instances"]
_INSTANCE_FIELDS = [f.name for f in dataclasses.fields(Instance)
                    if f.name != "location" and f.name not in _NOT_STORED]


def instance_to_json(instance: Instance) -> dict[str, Any]:
    """One instance without its identifying attributes (see ``_NOT_STORED``) nor, unless the user
    opted in to remembering source paths, its path: a keyed source reference stands for it
    (folder names carry patient IDs and accession numbers; see ``core.privacy``)."""
    loc = instance.location
    ref = privacy.BOOK.ref(loc.path, loc.member, instance.size)
    where = {"path": loc.path, "member": loc.member} if privacy.remember_source_paths() else {}
    return {"source": ref, **where, **{name: getattr(instance, name) for name in _INSTANCE_FIELDS}}


def instance_location(data: dict[str, Any]) -> Location:
    """Where a stored instance's bytes are: its remembered path, else this process's source book,
    else an unlocated placeholder (the engine then asks for the folder to be selected again)."""
    if data.get("path"):
        return Location(data["path"], data.get("member"))
    ref = data.get("source", "")
    found = privacy.BOOK.location(ref)
    return Location(*found) if found else Location(privacy.UNLOCATED + ref)


def instance_from_json(data: dict[str, Any]) -> Instance:
    values: dict[str, Any] = {
        name: sys.intern(data[name]) if name in SHARED_TEXT_FIELDS and isinstance(data[name], str)
        else data[name] for name in _INSTANCE_FIELDS if name in data}
    return Instance(location=instance_location(data), **values)


def _session_to_json(session: Session, instances: bool = True) -> dict[str, Any]:
    return {
        **{name: getattr(session, name) for name in _SESSION_FIELDS},
        "scans": [{
            **{name: getattr(scan, name) for name in _SCAN_FIELDS},
            "instances": [instance_to_json(i) for i in scan.instances] if instances else [],
        } for scan in session.scans.values()],
    }


def _session_from_json(data: dict[str, Any]) -> Session:
    session = Session(**{name: data[name] for name in _SESSION_FIELDS if name in data})
    for scan_data in data["scans"]:
        scan = Scan(**{name: scan_data[name] for name in _SCAN_FIELDS if name in scan_data})
        scan.instances.extend(instance_from_json(inst) for inst in scan_data.get("instances", ()))
        session.scans[scan.series_instance_uid] = scan
    return session


def default_local_destination() -> DestinationSpec:
    """The embedded archive used when no server is configured (``<data dir>/local-archive``, as the GUI names it)."""
    from desktop_client.core.paths import data_dir

    return DestinationSpec(DestinationKind.LOCAL, str((data_dir() / "local-archive").resolve()))
