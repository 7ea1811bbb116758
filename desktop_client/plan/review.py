"""Review decisions for every scan, independent of any widget (no Qt here).

One ``ScanReviewChoice`` per scan (keyed by SeriesInstanceUID) says what the upload will do with
it: send it as is, send it with these rectangles blacked out on every frame, or leave it out. The
rules follow the official client (xnat-desktop-client.md §4.3–4.4) where it is sound:

* applying templates sets a scan's rectangles to the union of every applied template's boxes;
  excluded scans receive no templates until they are reset;
* Exclude clears rectangles and templates, Reset clears everything (the scan goes as is);
* rectangles drawn by hand are *unconfirmed* until "Save scan" — unconfirmed boxes block the
  upload, so nothing half-edited is ever sent (or silently dropped);
* unsupported scans (non-images, mixed sizes, undecodable) can be uploaded or excluded, never
  redacted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from desktop_client.core.geometry import Rect
from desktop_client.grouping import Grouping, ScanRef, UnsupportedGroup, ValidGroup, group_scans
from desktop_client.scanning.model import Scan, Session
from desktop_client.templates import Template


@dataclass(slots=True)
class ScanReviewChoice:
    """What the upload does with one scan."""

    rectangles: list[Rect] = field(default_factory=list)
    excluded: bool = False
    exclude_reason: str = ""
    #: The rectangles were approved ("Save scan", or applied from templates in a group review).
    confirmed: bool = False
    #: Ids of the templates whose union the rectangles are (empty when drawn by hand).
    templates: list[str] = field(default_factory=list)

    @property
    def redacted(self) -> bool:
        return not self.excluded and bool(self.rectangles)

    @property
    def unconfirmed(self) -> bool:
        return not self.excluded and bool(self.rectangles) and not self.confirmed


def scan_label(ref: ScanRef) -> str:
    """A short, human name for a scan in messages: series number and description."""
    scan = ref.scan
    number = f"#{scan.series_number}" if scan.series_number is not None else "(no number)"
    desc = scan.series_description or scan.modality or "scan"
    return f"Series {number} {desc}"


@dataclass(slots=True)
class Summary:
    """The "Upload overview" counts."""

    redacted: int = 0
    as_is: int = 0
    excluded: int = 0
    unconfirmed: int = 0

    @property
    def uploaded(self) -> int:
        return self.redacted + self.as_is


class ReviewModel:
    """All scans of the selected sessions, their groups, and the decisions taken so far."""

    def __init__(self, sessions: list[Session], decisions: Mapping[str, ScanReviewChoice] | None = None,
                 reviewed_groups: Iterable[str] = ()) -> None:
        """``decisions`` (by SeriesInstanceUID) and ``reviewed_groups`` are earlier work to keep:
        the user went back, changed the selection and came here again."""
        self.sessions = list(sessions)
        self.grouping: Grouping = group_scans(self.sessions)
        self.refs: dict[str, ScanRef] = {}
        for session in self.sessions:
            for scan in session.sorted_scans():
                self.refs[scan.series_instance_uid] = ScanRef(session, scan)
        earlier = decisions or {}
        self.choices: dict[str, ScanReviewChoice] = {
            uid: copy.deepcopy(earlier[uid]) if uid in earlier else ScanReviewChoice()
            for uid in self.refs}
        self._unsupported = {m.scan.series_instance_uid for g in self.grouping.unsupported for m in g.members}
        self.reviewed_groups: set[str] = set(reviewed_groups)

    # -- queries --------------------------------------------------------------------------------
    def scan(self, uid: str) -> Scan:
        return self.refs[uid].scan

    def is_supported(self, uid: str) -> bool:
        """Can this scan be redacted (a member of a Valid group)?"""
        return uid not in self._unsupported

    def group_id(self, group: ValidGroup | UnsupportedGroup) -> str:
        if isinstance(group, ValidGroup):
            return group.key
        return f"_UNSUPPORTED_|{group.reason}|{group.sop_class_uid}"

    def group_members(self, group: ValidGroup | UnsupportedGroup) -> list[str]:
        return [m.scan.series_instance_uid for m in group.members]

    def summary(self, uids: Iterable[str] | None = None) -> Summary:
        out = Summary()
        for uid in (self.choices if uids is None else uids):
            choice = self.choices[uid]
            if choice.excluded:
                out.excluded += 1
            elif choice.rectangles:
                out.redacted += 1
                out.unconfirmed += int(not choice.confirmed)
            else:
                out.as_is += 1
        return out

    def unconfirmed(self) -> list[str]:
        return [uid for uid, c in self.choices.items() if c.unconfirmed]

    def blocking_message(self) -> str:
        """Why the upload cannot start yet ("" when it can)."""
        pending = self.unconfirmed()
        if not pending:
            return ""
        names = ", ".join(scan_label(self.refs[uid]) for uid in pending[:3])
        more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
        noun = "scan has" if len(pending) == 1 else "scans have"
        return (f"{len(pending)} {noun} redaction boxes that are not saved ({names}{more}). "
                "Click “Save scan” to confirm them, or “Reset scan” to discard them.")

    # -- decisions ------------------------------------------------------------------------------
    def set_rectangles(self, uid: str, rects: list[Rect], *, confirmed: bool = False) -> None:
        """Hand-drawn boxes (from the viewer): unconfirmed until ``confirm``."""
        if not self.is_supported(uid):
            raise ValueError("this scan cannot be redacted")
        choice = self.choices[uid]
        if choice.excluded and rects:
            choice.excluded, choice.exclude_reason = False, ""
        if rects != choice.rectangles:
            choice.templates = []
        choice.rectangles = list(rects)
        choice.confirmed = confirmed

    def confirm(self, uid: str) -> None:
        self.choices[uid].confirmed = True

    def apply_templates(self, uids: Iterable[str], templates: list[Template]) -> int:
        """Add the templates' boxes to each scan (union); returns how many scans received them.

        Excluded and unsupported scans are skipped, and so is a template that does not fit a
        scan (its boxes were drawn for another image size or kind).
        """
        applied = 0
        for uid in uids:
            choice = self.choices[uid]
            if choice.excluded or not self.is_supported(uid):
                continue
            fitting = [t for t in templates if t.matches(self.refs[uid].scan)]
            if not fitting:
                continue
            rects = list(choice.rectangles)
            for template in fitting:
                rects.extend(r for r in template.rectangles if r not in rects)
                if template.id not in choice.templates:
                    choice.templates.append(template.id)
            choice.rectangles = rects
            choice.confirmed = True
            applied += 1
        return applied

    def exclude(self, uids: Iterable[str], reason: str = "") -> None:
        for uid in uids:
            self.choices[uid] = ScanReviewChoice(excluded=True, exclude_reason=reason.strip(), confirmed=True)

    def reset(self, uids: Iterable[str]) -> None:
        for uid in uids:
            self.choices[uid] = ScanReviewChoice()
