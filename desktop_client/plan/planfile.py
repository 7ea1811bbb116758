"""Plans saved to and loaded from a JSON file, so a reviewed upload can be re-run headless (no Qt).

A plan file names the paths that were scanned, the destination and project, each session's
labels and variables (by Study Instance UID), which scans were ticked, and every review decision
(by Series Instance UID): rectangles, exclusions with their reason, template provenance and
whatever else ``ScanReviewChoice`` records. A decision is taken per scan but holds for the
instances that were looked at, so the plan also records the SOP Instance UIDs of every decided
scan. ``xnat-upload upload --plan FILE`` (and the GUI's *Load plan…*) rescans the paths and
refuses the plan when the data changed since it was made (a series or a file more or less, or a
decided scan whose instances are not the same ones), because decisions taken for other pixels
would be applied blindly.

It holds identifiers (UIDs, source paths, labels, a lookup table's entries): it is written
private (0600), atomically, and the GUI says so when saving.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_client.core.geometry import Rect
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.review import ScanReviewChoice
from desktop_client.plan.specs import draft_options
from desktop_client.scanning.model import Scan, Session
from desktop_client.transfer.spec import DestinationKind, DestinationSpec, LookupTable, ScriptSource

FORMAT = "xnat-desktop-uploader/plan"
VERSION = 1


@dataclass
class SessionEntry:
    """One session of a saved plan, and what its data looked like when it was planned."""

    study_instance_uid: str
    subject: str = ""
    subject_group: str = ""
    create_subject: bool = False
    label: str = ""
    tracer: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    included: list[str] = field(default_factory=list)
    merge: bool = False
    #: Files per series when planned: the fingerprint checked before a re-run.
    series_files: dict[str, int] = field(default_factory=dict)
    #: SOP Instance UIDs (sorted) of each scan with a review decision: the decision holds for these.
    decided_instances: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PlanFile:
    sources: list[str]
    destination: DestinationSpec
    project: str = ""
    user: str = ""
    #: None: the destination's own scripts (XNAT); otherwise these, in order.
    scripts: list[ScriptSource] | None = None
    lookup_table: LookupTable | None = None
    sessions: list[SessionEntry] = field(default_factory=list)
    decisions: dict[str, ScanReviewChoice] = field(default_factory=dict)


def plan_file(sources: list[str], destination: DestinationSpec, plans: list[SessionPlan],
              decisions: dict[str, ScanReviewChoice], *, project: str = "", user: str = "",
              scripts: list[ScriptSource] | None = None,
              lookup_table: LookupTable | None = None) -> PlanFile:
    """A plan file for these sessions; only the decisions about their scans are kept."""
    entries, kept = [], {}
    for plan in plans:
        scans = plan.session.scans
        entries.append(SessionEntry(
            plan.session.study_instance_uid, plan.subject, plan.subject_group, plan.create_subject,
            plan.label, plan.tracer, dict(plan.variables), sorted(plan.included), plan.merge,
            {uid: scan.files for uid, scan in sorted(scans.items())},
            {uid: _sop_uids(scan) for uid, scan in sorted(scans.items()) if uid in decisions}))
        kept.update({uid: decisions[uid] for uid in scans if uid in decisions})
    return PlanFile([str(Path(p).resolve()) for p in sources], destination, project, user,
                    scripts, lookup_table, entries, kept)


def _sop_uids(scan: Scan) -> list[str]:
    return sorted({i.sop_instance_uid for i in scan.instances})


# ---- JSON ----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Rect):
        return [value.left, value.top, value.right, value.bottom]
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def decision_to_json(choice: ScanReviewChoice) -> dict[str, Any]:
    """Every field of the decision, whatever the review model records."""
    return {f.name: _plain(getattr(choice, f.name)) for f in dataclasses.fields(choice)}


def decision_from_json(data: dict[str, Any]) -> ScanReviewChoice:
    """Fields this build does not know are ignored; missing ones take their default."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(ScanReviewChoice):
        if f.name not in data:
            continue
        raw = data[f.name]
        if f.name == "rectangles":
            values[f.name] = [Rect(*(int(v) for v in r)) for r in raw]
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        values[f.name] = type(default)(raw) if isinstance(default, enum.Enum) else raw
    return ScanReviewChoice(**values)


def to_json(plan: PlanFile) -> dict[str, Any]:
    d = plan.destination
    return {
        "format": FORMAT, "version": VERSION,
        "sources": list(plan.sources),
        "destination": {"kind": d.kind.value, "url": d.url, "username": d.username,
                        "calling_aet": d.calling_aet, "verify_tls": d.verify_tls,
                        "allow_http": d.allow_http},
        "project": plan.project, "user": plan.user,
        "scripts": None if plan.scripts is None else [s.to_json() for s in plan.scripts],
        "lookup_table": None if plan.lookup_table is None else {
            "name": plan.lookup_table.name, "text": plan.lookup_table.text},
        "sessions": [dataclasses.asdict(s) for s in plan.sessions],
        "decisions": {uid: decision_to_json(c) for uid, c in sorted(plan.decisions.items())},
    }


def from_json(data: Any) -> PlanFile:
    """Raises ValueError (one sentence) for anything that is not a plan this build can read."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("this is not a plan saved by the uploader")
    if data.get("version") != VERSION:
        raise ValueError(f"plan version {data.get('version')} is not supported (this build "
                         f"reads version {VERSION})")
    try:
        d = data["destination"]
        destination = DestinationSpec(DestinationKind(d["kind"]), d["url"], d.get("username", ""),
                                      d.get("calling_aet", "XNATUPLOAD"), bool(d.get("verify_tls", True)),
                                      bool(d.get("allow_http", False)))
        scripts = data.get("scripts")
        table = data.get("lookup_table")
        known = {f.name for f in dataclasses.fields(SessionEntry)}
        return PlanFile(
            sources=[str(p) for p in data["sources"]],
            destination=destination,
            project=str(data.get("project", "")), user=str(data.get("user", "")),
            scripts=None if scripts is None else [ScriptSource.from_json(s) for s in scripts],
            lookup_table=None if table is None else LookupTable(table["name"], table["text"]),
            sessions=[SessionEntry(**{k: v for k, v in s.items() if k in known})
                      for s in data["sessions"]],
            decisions={uid: decision_from_json(c) for uid, c in data.get("decisions", {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the plan is damaged ({type(exc).__name__}: {exc})") from None


def save(plan: PlanFile, path: str | Path) -> Path:
    """Write the plan atomically, private to the user (0600)."""
    path = Path(path)
    text = json.dumps(to_json(plan), indent=2, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=".plan-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | Path) -> PlanFile:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ValueError(f"{path} is not a JSON plan file") from None
    return from_json(data)


# ---- re-running ----------------------------------------------------------------------------------


def resolve(plan: PlanFile, sessions: list[Session]) -> tuple[list[SessionPlan], dict[str, ScanReviewChoice]]:
    """The plan's sessions matched to freshly scanned ones, checked unchanged.

    Raises ValueError when a planned study is missing, when a study's series or file counts
    differ from when it was planned, or when a scan with a decision holds other instances (SOP
    Instance UIDs) than the ones it was decided for: its decisions were taken for other data.
    """
    scanned = {s.study_instance_uid: s for s in sessions}
    plans = []
    for entry in plan.sessions:
        session = scanned.get(entry.study_instance_uid)
        name = entry.label or entry.study_instance_uid
        if session is None:
            raise ValueError(f"session {name} of the plan is not in the scanned paths")
        now = {uid: scan.files for uid, scan in session.scans.items()}
        if now != entry.series_files:
            added = sorted(set(now) - set(entry.series_files))
            what = (f"{len(added)} series were added" if added else
                    "its series or file counts changed")
            raise ValueError(f"session {name} changed since the plan was made ({what}); review it "
                             "again and save a new plan")
        _check_instances(plan, entry, session, name)
        plans.append(SessionPlan(session=session, subject=entry.subject,
                                 subject_group=entry.subject_group,
                                 create_subject=entry.create_subject, label=entry.label,
                                 tracer=entry.tracer, variables=dict(entry.variables),
                                 included=set(entry.included), merge=entry.merge))
    return plans, dict(plan.decisions)


def _check_instances(plan: PlanFile, entry: SessionEntry, session: Session, name: str) -> None:
    """Every decided scan of ``session`` holds exactly the instances its decision was taken for."""
    for uid, scan in sorted(session.scans.items()):
        if uid not in plan.decisions:
            continue
        what = f"Series #{scan.series_number}" if scan.series_number is not None else "a scan"
        recorded = entry.decided_instances.get(uid)
        if recorded is None:
            raise ValueError(f"the plan does not record which instances its decision on {what} of "
                             f"session {name} was taken for; review it again and save a new plan")
        now, then = set(_sop_uids(scan)), set(recorded)
        if now != then:
            raise ValueError(f"{what} of session {name} changed since the plan was made "
                             f"({len(now - then)} instance(s) added, {len(then - now)} gone); "
                             "review it again and save a new plan")


def from_draft(draft: UploadDraft) -> PlanFile:
    """The plan of a GUI draft (Summary: *Save plan…*)."""
    if not draft.sources:
        raise ValueError("the plan has no source folders to scan again")
    options = draft_options(draft)
    return plan_file(draft.sources, options.destination, draft.plans, draft.review,
                     project=options.project, user=options.user, scripts=options.scripts,
                     lookup_table=options.lookup_table)
