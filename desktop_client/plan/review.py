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
  redacted;
* scans with free text (reports, documents, annotations: ``grouping`` "contains-free-text") start
  *excluded* and Reset returns them there; a person includes them deliberately — with their
  text, or (structured content) with it removed — and that decision goes into the receipt.

**Burned-in text** (issue 13). Every image scan ends with a decision (``ScanReviewChoice.text_decision``):
*redacted* (confirmed boxes; each box remembers whether it was drawn, came from a template or was
accepted from detection), *checked, no text*, *accepted as is* (a person chose to send visible
text, with a reason) or *excluded*. ``text_gate`` is the one rule both faces apply: a scan whose
detection found likely-PHI text its boxes do not cover, or whose header says Burned In
Annotation = YES, is not sent until a person decides.

**Private text and overlays** (issue 14 §2). An image scan whose private elements hold one of the
patient's identifying header values, or which carries an overlay plane, is checked against the
destination's scripts (``plan.privatetext``); what they keep holds the scan back too, until a
person decides (``ScanReviewChoice.private_text``: strip it with the built-in step, or send it as
is). ``gate`` applies both rules.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from desktop_client.core.geometry import Rect
from desktop_client.grouping import (FREE_TEXT_EXCLUDED, INCLUDE_TEXT_REMOVED, Grouping, ScanRef,
                                     UnsupportedGroup, ValidGroup, group_scans, include_decision,
                                     text_removable)
from desktop_client.plan.privatetext import (PRIVATE_TEXT_DECISIONS, PrivateTextCheck, ScriptChain,
                                             check_scans, private_text_gate)
from desktop_client.scanning.freetext import FREE_TEXT, Inspection
from desktop_client.scanning.model import Scan, Session, says_burned_in
from desktop_client.templates import Template
from desktop_client.textfind import ScanText, coverage

#: ``ScanReviewChoice.text_decision`` values.
REDACTED, NO_TEXT, ACCEPTED, EXCLUDED = "redacted", "checked, no text", "accepted as is", "excluded"
#: ``ScanReviewChoice.box_sources`` values: where a rectangle came from. A detected box a person
#: moved or resized, before or after accepting it, is "detected (adjusted)" (still from detection,
#: and the receipt says the geometry is a person's).
DRAWN, TEMPLATE, DETECTED = "drawn", "template", "detected"
DETECTED_ADJUSTED = "detected (adjusted)"
#: A detected line at least this much inside the boxes is covered (as the output re-check counts).
COVERED = 0.9
#: Why the gate holds a scan whose text search a person stopped before it finished.
NOT_CHECKED = "its text search was stopped (not checked)"


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
    #: A person's decision to include a free-text scan (recorded in the receipt).
    decision: str = ""
    #: Included with its text content removed (the built-in rule runs before the scripts).
    remove_text: bool = False
    #: Where each rectangle came from, parallel to ``rectangles``: "drawn", "template", "detected",
    #: "detected (adjusted)".
    box_sources: list[str] = field(default_factory=list)
    #: A person looked at the scan and found no burned-in text.
    checked_no_text: bool = False
    #: A person looked and chose to send the visible text as it is; ``accept_reason`` says why.
    accepted_as_is: bool = False
    accept_reason: str = ""
    #: Detected lines a person dismissed as not identifying ("l,t,r,b" of the line as detected).
    dismissed: list[str] = field(default_factory=list)
    #: On identifying private text / overlays the scripts keep: "strip" (the built-in step) or
    #: "send as is" (``plan.privatetext``); "" when none was taken (or needed).
    private_text: str = ""

    @property
    def text_decision(self) -> str:
        """On burned-in text: redacted / checked, no text / accepted as is / excluded, or "" (none yet)."""
        if self.excluded:
            return EXCLUDED
        if self.accepted_as_is:
            return ACCEPTED
        if self.rectangles and self.confirmed:
            return REDACTED
        if self.checked_no_text:
            return NO_TEXT
        return ""

    def sources(self) -> list[str]:
        """``box_sources`` aligned with ``rectangles`` (boxes set without one count as drawn)."""
        if len(self.box_sources) == len(self.rectangles):
            return list(self.box_sources)
        return [DRAWN] * len(self.rectangles)

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
                 reviewed_groups: Iterable[str] = (), chain: ScriptChain | None = None) -> None:
        """``decisions`` (by SeriesInstanceUID) and ``reviewed_groups`` are earlier work to keep:
        the user went back, changed the selection and came here again. ``chain``: the scripts the
        destination will apply, which the private text check runs (None: not known, so whatever
        identifying text a scan carries counts as kept)."""
        self.sessions = list(sessions)
        self.grouping: Grouping = group_scans(self.sessions)
        self.refs: dict[str, ScanRef] = {}
        for session in self.sessions:
            for scan in session.sorted_scans():
                self.refs[scan.series_instance_uid] = ScanRef(session, scan)
        self._unsupported = {m.scan.series_instance_uid for g in self.grouping.unsupported for m in g.members}
        self._free_text = {m.scan.series_instance_uid for g in self.grouping.unsupported
                           if g.reason == FREE_TEXT for m in g.members}
        earlier = decisions or {}
        self.choices: dict[str, ScanReviewChoice] = {
            uid: copy.deepcopy(earlier[uid]) if uid in earlier else self._default(uid)
            for uid in self.refs}
        self.reviewed_groups: set[str] = set(reviewed_groups)
        #: What the text finder saw, per scan (filled in the background as results arrive).
        self.findings: dict[str, ScanText] = {}
        #: Scans whose text search was stopped before it finished and never finished before: nothing
        #: is known of their pixels, so the gate holds them until a search finishes or a person decides.
        self.search_stopped: set[str] = set()
        self.chain = chain if chain is not None else ScriptChain(known=False)
        #: The image scans carrying private text or an overlay (issue 14 §2), and what the
        #: destination's scripts leave of it (``privatetext``; ``inspect_image_text``).
        self.private_checks: dict[str, PrivateTextCheck] = {}

    def inspect_image_text(self) -> "ReviewModel":
        """Fill ``private_checks`` for the Valid scans; returns self."""
        self.apply_image_text_checks(self.image_text_checks())
        return self

    def image_text_checks(self) -> dict[str, PrivateTextCheck]:
        """``{series uid: check}`` of the Valid scans carrying private text or an overlay, with
        what the destination's scripts leave of it (``privatetext.check_scan``). It reads a few
        headers per scan, so the GUI runs it off the UI thread, after a large selection's groups
        are on screen; it changes nothing, so the caller applies the result where it lives."""
        return check_scans((ref.scan for group in self.grouping.valid for ref in group.members), self.chain)

    def apply_image_text_checks(self, checks: Mapping[str, PrivateTextCheck]) -> None:
        self.private_checks.update(checks)

    def decide_private_text(self, uids: Iterable[str], decision: str) -> None:
        """A person's decision on the private text / overlays of these scans: ``privatetext.STRIP``,
        ``privatetext.SEND`` or "" (undecided again); recorded in plan files and receipts."""
        if decision and decision not in PRIVATE_TEXT_DECISIONS:
            raise ValueError(f"unknown decision on private text {decision!r}; use "
                             f"{' or '.join(PRIVATE_TEXT_DECISIONS)}")
        for uid in uids:
            self.choices[uid].private_text = decision

    def private_text_held(self, uid: str) -> str:
        """Why the private text rule holds this scan ("" when it does not)."""
        choice = self.choices[uid]
        return private_text_gate(choice.excluded, choice.private_text, self.private_checks.get(uid))

    # -- queries --------------------------------------------------------------------------------
    def scan(self, uid: str) -> Scan:
        return self.refs[uid].scan

    def _default(self, uid: str) -> ScanReviewChoice:
        if uid in self._free_text:
            return ScanReviewChoice(excluded=True, exclude_reason=FREE_TEXT_EXCLUDED, confirmed=True)
        return ScanReviewChoice()

    def is_free_text(self, uid: str) -> bool:
        """Does the scan hold free text (excluded unless a person includes it)?"""
        return uid in self._free_text

    def can_remove_text(self, uid: str) -> bool:
        return uid in self._free_text and text_removable(self.refs[uid].scan)

    def include_free_text(self, uids: Iterable[str], mode: str,
                          inspections: dict[str, Inspection] | None = None) -> None:
        """Include free-text scans deliberately (``as-is`` or ``text-removed``); ValueError for a
        scan that is not one, or whose text no rule can remove (an encapsulated document)."""
        inspections = inspections or {}
        for uid in uids:
            if uid not in self._free_text:
                raise ValueError("only scans with free text need to be included deliberately")
            if mode == INCLUDE_TEXT_REMOVED and not self.can_remove_text(uid):
                raise ValueError("the text of an encapsulated document cannot be removed by a rule; "
                                 "include it with its text or leave it out")
            self.choices[uid] = ScanReviewChoice(decision=include_decision(mode, inspections.get(uid)),
                                                 remove_text=mode == INCLUDE_TEXT_REMOVED,
                                                 confirmed=True)

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
        old = list(zip(choice.rectangles, choice.sources()))
        known = dict(old)
        if len(rects) == len(old):  # one box moved or resized in place: a detected one stays detected
            choice.box_sources = [known.get(r) or _edited(old[i][1]) for i, r in enumerate(rects)]
        else:
            choice.box_sources = [known.get(r, DRAWN) for r in rects]
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
            rects, sources = list(choice.rectangles), choice.sources()
            for template in fitting:
                for r in template.rectangles:
                    if r not in rects:
                        rects.append(r)
                        sources.append(TEMPLATE)
                if template.id not in choice.templates:
                    choice.templates.append(template.id)
            choice.rectangles, choice.box_sources = rects, sources
            choice.confirmed = True
            applied += 1
        return applied

    def exclude(self, uids: Iterable[str], reason: str = "") -> None:
        for uid in uids:
            self.choices[uid] = ScanReviewChoice(excluded=True, exclude_reason=reason.strip(), confirmed=True)

    def apply_series_import_filter(self, filters: Iterable[Any],
                                   keep: Mapping[str, object] = {}) -> "ReviewModel":
        """Exclude each scan XNAT's series import filter would drop, with the filter's reason
        (the user may still include it; scans in ``keep`` already carry a person's decision and are
        left alone); returns self so it chains after construction."""
        for uid, reason in series_filter_exclusions(self.sessions, filters).items():
            if uid in self.choices and uid not in keep:
                self.exclude([uid], reason)
        return self

    def reset(self, uids: Iterable[str]) -> None:
        """Back to the default: as is, or excluded for a scan with free text."""
        for uid in uids:
            self.choices[uid] = self._default(uid)

    # -- burned-in text -------------------------------------------------------------------------
    def set_findings(self, uid: str, found: ScanText) -> None:
        """What the text finder saw on this scan (``textfind.ScanText``)."""
        self.findings[uid] = found
        self.search_stopped.discard(uid)

    def stop_search(self, uid: str) -> None:
        """A person stopped this scan's text search: unless an earlier search finished, the scan
        is *not checked* and stays held back (``text_gate``) until it is searched or decided on."""
        if uid not in self.findings:
            self.search_stopped.add(uid)

    def accept_detected(self, uid: str, rects: Iterable[Rect] | None = None, *,
                        adjusted: Iterable[Rect] = ()) -> int:
        """Add detected boxes (default: every likely-PHI suggestion) as confirmed boxes; how many.
        Those also in ``adjusted`` were moved or resized by a person first ("detected (adjusted)")."""
        if not self.is_supported(uid):
            raise ValueError("this scan cannot be redacted")
        if rects is None:
            found = self.findings.get(uid)
            rects = found.suggested_boxes() if found is not None else []
        choice = self.choices[uid]
        if choice.excluded:
            choice.excluded, choice.exclude_reason = False, ""
        sources = choice.sources()
        edited = set(adjusted)
        added = 0
        for rect in rects:
            if rect not in choice.rectangles:
                choice.rectangles.append(rect)
                sources.append(DETECTED_ADJUSTED if rect in edited else DETECTED)
                added += 1
        choice.box_sources = sources
        choice.confirmed = True
        return added

    def dismiss(self, uid: str, line: Rect) -> None:
        """A person says this detected line is not identifying: it no longer holds the scan back."""
        choice = self.choices[uid]
        if str(line) not in choice.dismissed:
            choice.dismissed.append(str(line))

    def accept_as_is(self, uids: Iterable[str], reason: str) -> None:
        """A person chose to send the visible text of these scans (the reason goes into the receipt)."""
        if not reason.strip():
            raise ValueError("say why the visible text may be sent (the receipt records it)")
        for uid in uids:
            choice = self.choices[uid]
            choice.accepted_as_is, choice.accept_reason = True, reason.strip()

    def mark_checked_no_text(self, uids: Iterable[str], checked: bool = True) -> None:
        for uid in uids:
            self.choices[uid].checked_no_text = checked

    def burned_in_annotation(self, uid: str) -> bool:
        """Some instance of the scan says Burned In Annotation = YES."""
        return says_burned_in(self.refs[uid].scan.instances)

    def gate(self, uid: str) -> str:
        """Why this scan may not be sent yet ("" when it may): ``text_gate`` on its state."""
        if not self.is_supported(uid):
            return ""  # non-images and undecodable scans: uploaded or excluded by choice, never searched
        return "; ".join(r for r in (self.burned_text_held(uid), self.private_text_held(uid)) if r)

    def burned_text_held(self, uid: str) -> str:
        """Why the burned-in text rule holds this scan ("" when it does not)."""
        if not self.is_supported(uid):
            return ""
        return text_gate(self.choices[uid], self.findings.get(uid), self.burned_in_annotation(uid),
                         search_stopped=uid in self.search_stopped)

    def held_back(self, uids: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """``(series uid, reason)`` of every scan the gate holds back."""
        out = []
        for uid in (self.choices if uids is None else uids):
            reason = self.gate(uid)
            if reason:
                out.append((uid, reason))
        return out

    def text_blocking_message(self) -> str:
        """Why Next/Upload cannot go on because of burned-in text ("" when it can)."""
        held = self.held_back()
        if not held:
            return ""
        private = [uid for uid, _ in held if self.private_text_held(uid)]
        burned = [(uid, self.burned_text_held(uid)) for uid, _ in held]
        stopped = [uid for uid, reason in burned if reason == NOT_CHECKED]
        shows = [uid for uid, reason in burned if reason and reason != NOT_CHECKED]
        parts = []

        def names(uids: list[str]) -> str:
            more = f" and {len(uids) - 3} more" if len(uids) > 3 else ""
            return ", ".join(scan_label(self.refs[uid]) for uid in uids[:3]) + more

        if shows:
            noun = "scan shows" if len(shows) == 1 else "scans show"
            parts.append(f"{len(shows)} {noun} burned-in text that may identify the patient ({names(shows)}). "
                         "Accept the suggested boxes, draw boxes, mark “Checked, no text”, accept the text "
                         "as is with a reason, or exclude the scan.")
        if stopped:
            noun = "scan was" if len(stopped) == 1 else "scans were"
            parts.append(f"{len(stopped)} {noun} not checked for burned-in text: the search was stopped "
                         f"({names(stopped)}). Search again (Find text), mark “Checked, no text”, accept the "
                         "text as is with a reason, or exclude the scan.")
        if private:
            noun = "scan carries" if len(private) == 1 else "scans carry"
            parts.append(f"{len(private)} {noun} header text that may identify the patient, which the "
                         f"anonymization scripts keep ({names(private)}). Choose “Strip private text” "
                         "(removed before the scripts run), “Send as is”, or exclude the scan.")
        return " ".join(parts)


def _edited(source: str) -> str:
    """The source of a box a person moved or resized: a detected box stays "detected (adjusted)";
    any other edited box is the person's own ("drawn")."""
    return DETECTED_ADJUSTED if source in (DETECTED, DETECTED_ADJUSTED) else DRAWN


def uncovered(found: ScanText | None, rects: Iterable[Rect]) -> list[Rect]:
    """The likely-PHI lines found that ``rects`` do not cover (≥ 90 % inside counts as covered)."""
    if found is None:
        return []
    boxes = list(rects)
    return [f.text_rect for f in found.likely_phi if coverage(f.text_rect, boxes) < COVERED]


def text_gate(choice: ScanReviewChoice, found: ScanText | None, burned_in_annotation: bool, *,
              search_stopped: bool = False) -> str:
    """The one hold-back rule for burned-in text: "" when the scan may be sent, else why not.

    Excluded and accepted-as-is scans always may (a person decided). Otherwise likely-PHI text
    that the confirmed boxes do not cover holds the scan back; so does Burned In Annotation = YES,
    or a search a person stopped before it finished (nothing is known of the pixels), without a
    decision (redacted or checked, no text).
    """
    if choice.excluded or choice.accepted_as_is:
        return ""
    boxes = choice.rectangles if choice.confirmed else []
    missing = [r for r in uncovered(found, boxes) if str(r) not in choice.dismissed]
    if missing:
        where = "; ".join(str(r) for r in missing[:3]) + (" …" if len(missing) > 3 else "")
        return f"likely patient data is burned into the pixels at {where} and no box covers it"
    if burned_in_annotation and not choice.text_decision:
        return "the header says Burned In Annotation = YES and nobody has decided on this scan"
    if search_stopped and not choice.text_decision:
        return NOT_CHECKED
    return ""


# -- XNAT's series import filter (issue 17 §3) ---------------------------------------------------
# Kept apart from the review rules above: the filter's semantics live in
# desktop_client.xnat.series_filter; this only reads each scan's representative header and turns
# the filter's verdicts into exclusions with the filter's reason.

def series_filter_exclusions(sessions: Iterable[Session], filters: Iterable[Any]) -> dict[str, str]:
    """``{series uid: reason}`` of every scan XNAT's site/project series import filter drops."""
    from functools import partial

    from desktop_client.xnat.series_filter import series_rejections

    readers = {uid: partial(_representative_values, scan)
               for session in sessions for uid, scan in session.scans.items()}
    return series_rejections(list(filters), readers)


def _representative_values(scan: Scan, tags: list[int]) -> dict[int, str | None]:
    """The filter's attributes from the scan's representative object (header only)."""
    import pydicom

    from desktop_client.scanning.sources import open_location
    from desktop_client.xnat.series_filter import header_values

    dataset: pydicom.Dataset
    try:
        with open_location(scan.representative.location) as handle:
            dataset = pydicom.dcmread(handle, force=True, stop_before_pixels=True,
                                      specific_tags=list(tags))
    except Exception:  # noqa: BLE001 - unreadable now: judge on what the scan recorded
        dataset = pydicom.Dataset()
        dataset.SeriesDescription = scan.series_description
        dataset.Modality = scan.modality
    return header_values(dataset, tags)
