"""Grouping scans for bulk pixel review: Valid groups by key, Unsupported scans with a reason.

A scan is *Valid* when every instance has pixel data, all share Rows×Columns and the SOP Class,
the class is an image storage class and the transfer syntax can be decoded here; its group key is
the official client's ``Modality|Rows x Columns|SOP Class UID`` (e.g.
``MR|256x256|1.2.840.10008.5.1.4.1.1.4``), so one redaction template fits a whole group.
Everything else is *Unsupported* with one reason, checked in this order:

``mixed-sop-classes`` → ``non-image-sop-class`` → ``no-pixel-data`` → ``mixed-sizes`` →
``undecodable-transfer-syntax``.

Unlike the official client, RT Dose (which has Rows/Columns) is a non-image class here: a dose
grid has no burned-in text to redact and must not be offered for redaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from desktop_client.core.sop_classes import is_image_storage, sop_class_name
from desktop_client.core.transfer_syntaxes import is_decodable
from desktop_client.scanning.model import Scan, Session

MIXED_SOP_CLASSES = "mixed-sop-classes"
NON_IMAGE_SOP_CLASS = "non-image-sop-class"
NO_PIXEL_DATA = "no-pixel-data"
MIXED_SIZES = "mixed-sizes"
UNDECODABLE_TRANSFER_SYNTAX = "undecodable-transfer-syntax"

REASON_TEXT = {
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
        return sop_class_name(self.sop_class_uid) if self.sop_class_uid else "(several SOP classes)"

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
                sop = scan.sop_class_uids[0] if len(scan.sop_class_uids) == 1 else ""
                ukey = (result.reason, sop)
                ugroup = unsupported.get(ukey)
                if ugroup is None:
                    ugroup = unsupported[ukey] = UnsupportedGroup(result.reason, sop)
                ugroup.members.append(ref)
    return Grouping(
        valid=sorted(valid.values(), key=lambda g: (-len(g.members), g.key)),
        unsupported=sorted(unsupported.values(), key=lambda g: (g.reason, g.sop_class_uid)),
    )
