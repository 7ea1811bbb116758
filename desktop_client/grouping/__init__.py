"""Grouping scans for bulk pixel review: Valid groups by key, Unsupported scans with a reason.

A scan is *Valid* when every instance has pixel data, all share Rows×Columns and the SOP Class,
the class is an image storage class and the transfer syntax can be decoded here; its group key is
the official client's ``Modality|Rows x Columns|SOP Class UID`` (e.g.
``MR|256x256|1.2.840.10008.5.1.4.1.1.4``), so one redaction template fits a whole group.
Everything else is *Unsupported* with one reason, checked in this order:

``contains-free-text`` → ``mixed-sop-classes`` → ``non-image-sop-class`` → ``no-pixel-data`` →
``mixed-sizes`` → ``undecodable-transfer-syntax``.

``contains-free-text`` comes first (issue 14): a scan with any object that carries text no header
script reaches (encapsulated PDF/CDA/STL/OBJ, SR of every kind, key object notes, presentation
states, RT structure sets; ``scanning.freetext``) joins ONE group whatever its SOP class, with its
own reason (:func:`free_text_reason`), is excluded by default and
is only sent when a person includes it; :func:`inspect_scan` shows what text is inside and which
header values of the patient it matches.

Unlike the official client, RT Dose (which has Rows/Columns) is a non-image class here: a dose
grid has no burned-in text to redact and must not be offered for redaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from desktop_client.core.sop_classes import is_image_storage, sop_class_name
from desktop_client.core.transfer_syntaxes import is_decodable
from desktop_client.scanning.freetext import FREE_TEXT, FREE_TEXT_TEXT, Inspection, free_text_kind
from desktop_client.scanning.model import Scan, Session

MIXED_SOP_CLASSES = "mixed-sop-classes"
NON_IMAGE_SOP_CLASS = "non-image-sop-class"
NO_PIXEL_DATA = "no-pixel-data"
MIXED_SIZES = "mixed-sizes"
UNDECODABLE_TRANSFER_SYNTAX = "undecodable-transfer-syntax"

REASON_TEXT = {
    FREE_TEXT: FREE_TEXT_TEXT,
    MIXED_SOP_CLASSES: "the series mixes several kinds of DICOM object (SOP classes)",
    NON_IMAGE_SOP_CLASS: "not an image (e.g. RT dose/structure/plan, report, document, waveform, segmentation)",
    NO_PIXEL_DATA: "some objects have no pixel data",
    MIXED_SIZES: "images of different sizes in one series (e.g. a whole-slide pyramid)",
    UNDECODABLE_TRANSFER_SYNTAX: "pixel data in a compression this program cannot decode",
}


@dataclass(frozen=True, slots=True)
class Classification:
    """``key`` for a Valid scan, ``reason`` for an Unsupported one (exactly one is set)."""

    key: str | None
    reason: str | None

    @property
    def valid(self) -> bool:
        return self.key is not None


@dataclass(frozen=True, slots=True)
class ScanRef:
    """A scan together with the session it belongs to (groups mix sessions)."""

    session: Session
    scan: Scan


@dataclass(slots=True)
class ValidGroup:
    key: str
    modality: str
    rows: int
    columns: int
    sop_class_uid: str
    members: list[ScanRef] = field(default_factory=list)

    @property
    def sop_class_name(self) -> str:
        return sop_class_name(self.sop_class_uid)

    @property
    def photometric_interpretations(self) -> list[str]:
        return sorted({i.photometric_interpretation for m in self.members for i in m.scan.instances
                       if i.photometric_interpretation})

    @property
    def sessions(self) -> int:
        return len({m.session.study_instance_uid for m in self.members})


@dataclass(slots=True)
class UnsupportedGroup:
    reason: str
    sop_class_uid: str
    members: list[ScanRef] = field(default_factory=list)

    @property
    def sop_class_name(self) -> str:
        if self.sop_class_uid:
            return sop_class_name(self.sop_class_uid)
        if self.reason == FREE_TEXT:  # one group for every kind (issue 14 §2): name the kinds
            return ", ".join(sorted({sop_class_name(uid) for m in self.members
                                     for uid in m.scan.sop_class_uids if free_text_kind(uid)}))
        return "(several SOP classes)"

    @property
    def reason_text(self) -> str:
        return REASON_TEXT[self.reason]


@dataclass(slots=True)
class Grouping:
    valid: list[ValidGroup] = field(default_factory=list)
    unsupported: list[UnsupportedGroup] = field(default_factory=list)

    def classification_of(self, series_instance_uid: str) -> Classification | None:
        for group in self.valid:
            if any(m.scan.series_instance_uid == series_instance_uid for m in group.members):
                return Classification(group.key, None)
        for ugroup in self.unsupported:
            if any(m.scan.series_instance_uid == series_instance_uid for m in ugroup.members):
                return Classification(None, ugroup.reason)
        return None


def group_key(modality: str, rows: int | None, columns: int | None, sop_class_uid: str) -> str:
    """The official client's group key, ``Modality|Rows x Columns|SOP Class UID``."""
    return f"{modality}|{rows}x{columns}|{sop_class_uid}"


def classify_scan(scan: Scan) -> Classification:
    """Decide whether a scan can be reviewed and redacted as a group member, and if not, why."""
    instances = scan.instances
    sop_classes = {i.sop_class_uid for i in instances}
    if any(free_text_kind(uid) for uid in sop_classes):
        return Classification(None, FREE_TEXT)
    if len(sop_classes) > 1:
        return Classification(None, MIXED_SOP_CLASSES)
    sop_class = next(iter(sop_classes), "")
    if not is_image_storage(sop_class):
        return Classification(None, NON_IMAGE_SOP_CLASS)
    if not instances or not all(i.has_pixel_data and i.rows and i.columns for i in instances):
        return Classification(None, NO_PIXEL_DATA)
    if len({(i.rows, i.columns) for i in instances}) > 1:
        return Classification(None, MIXED_SIZES)
    if not all(is_decodable(i.transfer_syntax_uid) for i in instances):
        return Classification(None, UNDECODABLE_TRANSFER_SYNTAX)
    rep = scan.representative
    return Classification(group_key(scan.modality or rep.modality, rep.rows, rep.columns, sop_class), None)


def group_scans(sessions: Iterable[Session]) -> Grouping:
    """Group every scan of the sessions; groups and members come in a stable order."""
    valid: dict[str, ValidGroup] = {}
    unsupported: dict[tuple[str, str], UnsupportedGroup] = {}
    for session in sessions:
        for scan in session.sorted_scans():
            ref = ScanRef(session, scan)
            result = classify_scan(scan)
            if result.key is not None:
                group = valid.get(result.key)
                if group is None:
                    rep = scan.representative
                    group = valid[result.key] = ValidGroup(result.key, scan.modality or rep.modality,
                                                           rep.rows or 0, rep.columns or 0, rep.sop_class_uid)
                group.members.append(ref)
            else:
                assert result.reason is not None
                # Free text is ONE group whatever the SOP class (issue 14 §2); each scan's own
                # reason is ``free_text_reason``.
                sop = (scan.sop_class_uids[0] if len(scan.sop_class_uids) == 1
                       and result.reason != FREE_TEXT else "")
                ukey = (result.reason, sop)
                ugroup = unsupported.get(ukey)
                if ugroup is None:
                    ugroup = unsupported[ukey] = UnsupportedGroup(result.reason, sop)
                ugroup.members.append(ref)
    return Grouping(
        valid=sorted(valid.values(), key=lambda g: (-len(g.members), g.key)),
        unsupported=sorted(unsupported.values(), key=lambda g: (g.reason, g.sop_class_uid)),
    )


def free_text_scans(sessions: Iterable[Session]) -> list[ScanRef]:
    """Every scan classified ``contains-free-text`` (excluded unless a person includes it)."""
    return [ScanRef(session, scan) for session in sessions for scan in session.sorted_scans()
            if classify_scan(scan).reason == FREE_TEXT]


def free_text_reason(scan: Scan) -> str:
    """Why this scan is in the free-text group, from its SOP classes (no I/O): e.g.
    "encapsulated PDF document" — shown per scan inside the one group."""
    return "; ".join(sorted({k for k in map(free_text_kind, scan.sop_class_uids) if k}))


def inspect_scan(scan: Scan, limit: int = 20) -> Inspection:
    """Read up to ``limit`` objects of a free-text scan in full and say what text they hold and
    which patient header values it matches (an unreadable object is reported, not skipped)."""
    from desktop_client.scanning import read_dataset
    from desktop_client.scanning.freetext import inspect_objects

    datasets = []
    errors = []
    for instance in scan.instances[:limit]:
        try:
            datasets.append(read_dataset(instance.location))
        except Exception as exc:  # reported with the inspection, never a crash of Review
            errors.append(f"an object could not be read ({type(exc).__name__})")
    result = inspect_objects(datasets)
    if errors and not result.error:
        result.error = errors[0]
    if result.kind is None:
        result.kind = next((k for k in map(free_text_kind, scan.sop_class_uids) if k), None)
    return result


def image_text_notes(scan: Scan, limit: int = 3) -> list[str]:
    """What an image scan carries besides pixels that a person should know of (issue 14 §2):
    ``freetext.PRIVATE_TEXT`` and/or ``freetext.OVERLAY``, from the headers of the first, middle
    and last objects (a series is written by one device, so its private elements and overlays
    repeat). The scan stays an image scan; what the destination's scripts leave of both is
    checked before upload (``plan.privatetext``). An object that cannot be read adds nothing
    here: the upload reports it."""
    from desktop_client.scanning import read_dataset
    from desktop_client.scanning import freetext

    instances = scan.instances
    picks = {0, len(instances) // 2, len(instances) - 1} if instances else set()
    found: set[str] = set()
    for index in sorted(picks)[:limit]:
        try:
            ds = read_dataset(instances[index].location, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - the upload reports unreadable objects with a reason
            continue
        found.update(freetext.image_text_notes(ds))
    return [n for n in (freetext.PRIVATE_TEXT, freetext.OVERLAY) if n in found]


def image_text_line(notes: list[str]) -> str:
    """One sentence for Review and ``groups``: what the scan carries and what the upload does
    about it (``plan.privatetext`` checks the destination's scripts; nothing is claimed here)."""
    if not notes:
        return ""
    what = " and ".join(n.removeprefix("carries ") for n in notes)
    return (f"carries {what}: the upload runs the destination's scripts on it and holds the scan "
            "back if they keep text that may identify the patient")


# ---- the decision about free-text scans (one home for the GUI and the CLI) ------------------------

#: Why a free-text scan is left out when nobody decided otherwise.
FREE_TEXT_EXCLUDED = "contains free text (excluded by default; include it deliberately to send it)"
#: How a person may include a free-text scan.
INCLUDE_AS_IS = "as-is"
INCLUDE_TEXT_REMOVED = "text-removed"
INCLUDE_MODES = (INCLUDE_AS_IS, INCLUDE_TEXT_REMOVED)


def include_decision(mode: str, inspection: Inspection | None = None) -> str:
    """The receipt's record of a person including a free-text scan (with what it holds)."""
    what = inspection.summary() if inspection is not None else "free text"
    if mode == INCLUDE_AS_IS:
        return f"included deliberately with its text: {what}"
    if mode == INCLUDE_TEXT_REMOVED:
        return f"included with its text content removed (built-in rule): {what}"
    raise ValueError(f"unknown way to include a free-text scan {mode!r}; use {' or '.join(INCLUDE_MODES)}")


def text_removable(scan: Scan) -> bool:
    """Whether "send without the text" applies: text in DICOM elements (SR, KO, PR, RT structure
    sets), not inside an encapsulated document, which no rule can clean."""
    return all(not uid.startswith("1.2.840.10008.5.1.4.1.1.104.") for uid in scan.sop_class_uids)
