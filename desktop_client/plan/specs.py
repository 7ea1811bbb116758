"""Turn a plan into transfer specifications and into the numbers the Summary shows (no Qt).

The one place that decides which scans a spec carries and how: the GUI's Summary step and the
CLI's ``upload`` both call ``build_specs``, so a scan left out, redacted or sent as is means the
same thing whichever face planned it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.privatetext import STRIP, PrivateTextCheck, record, strip_prelude
from desktop_client.plan.review import ScanReviewChoice
from desktop_client.transfer.spec import (MERGE, DestinationKind, DestinationSpec, LookupTable,
                                          ScanChoice, ScriptSource, TransferSpec)

EXCLUDED_ON_CONFIRM = "left out on the Confirm step"
EXCLUDED_IN_REVIEW = "excluded in review"


@dataclass
class SpecOptions:
    """What every session of one upload shares: where, as whom, with which scripts."""

    destination: DestinationSpec
    project: str = ""
    user: str = ""
    #: None: the destination applies its own scripts (an XNAT server's site and project scripts,
    #: fetched again when the transfer runs, as the official client does).
    scripts: list[ScriptSource] | None = None
    lookup_table: LookupTable | None = None
    receipt_dir: str | None = None
    receipt_pdf: bool = True
    max_chunk_files: int = 1000


@dataclass
class SummaryCounts:
    sessions: int = 0
    redacted: int = 0
    without: int = 0
    excluded: int = 0
    unsupported: int = 0
    files: int = 0
    bytes: int = 0
    #: Sessions with every scan left out: they are not sent at all.
    sessions_left_out: int = 0


def scan_choice(plan: SessionPlan, decisions: Mapping[str, ScanReviewChoice],
                uid: str, checks: Mapping[str, PrivateTextCheck] = {}) -> ScanChoice | None:
    """What the spec does with one scan: left out (with why), redacted or included by a person's
    decision; None when it is sent as it is. The one rule the specs, the Summary's counts and
    every "what is sent" question share. ``checks``: what the private text check found
    (``plan.privatetext``), recorded with the scan for the receipt."""
    from desktop_client.grouping import FREE_TEXT_EXCLUDED, classify_scan
    from desktop_client.scanning.freetext import FREE_TEXT

    decision = decisions.get(uid)
    if uid not in plan.included:
        return ScanChoice(uid, excluded=True, exclude_reason=EXCLUDED_ON_CONFIRM)
    if decision is None and classify_scan(plan.session.scans[uid]).reason == FREE_TEXT:
        # Nobody decided: a scan with free text stays out (issue 14).
        return ScanChoice(uid, excluded=True, exclude_reason=FREE_TEXT_EXCLUDED)
    if decision is not None and decision.excluded:
        return ScanChoice(uid, excluded=True,
                          exclude_reason=decision.exclude_reason or EXCLUDED_IN_REVIEW,
                          text_decision=decision.text_decision)
    private = record(checks.get(uid), decision.private_text if decision is not None else "")
    if decision is not None and (decision.rectangles or decision.decision or decision.text_decision):
        return ScanChoice(uid, tuple(_edit(r) for r in decision.rectangles),
                          decision=decision.decision, text_decision=decision.text_decision,
                          box_sources=tuple(decision.sources()),
                          accept_reason=decision.accept_reason, private_text=private)
    return None if private is None else ScanChoice(uid, private_text=private)


def is_left_out(plan: SessionPlan, decisions: Mapping[str, ScanReviewChoice], uid: str) -> bool:
    """Is this scan of ``plan`` not sent (unticked on Confirm, excluded in Review, free text
    nobody included)?"""
    choice = scan_choice(plan, decisions, uid)
    return choice is not None and choice.excluded


def summarize(draft: UploadDraft) -> SummaryCounts:
    """Scans with redaction, without, excluded (unticked or in review), unsupported; files, bytes.

    Files and bytes count only what is sent; a session whose scans are all left out is not
    counted among the sessions sent.
    """
    from desktop_client.grouping import classify_scan

    counts = SummaryCounts()
    for plan in draft.plans:
        sent = 0
        for uid, scan in plan.session.scans.items():
            choice = draft.review.get(uid)
            if is_left_out(plan, draft.review, uid):
                counts.excluded += 1
                continue
            sent += 1
            counts.files += scan.files
            counts.bytes += scan.bytes
            if choice is not None and choice.rectangles:
                counts.redacted += 1
            elif not classify_scan(scan).valid:
                counts.unsupported += 1
            else:
                counts.without += 1
        counts.sessions += bool(sent)
        counts.sessions_left_out += not sent
    return counts


def _edit(value: Any) -> PixelEdit:
    if isinstance(value, PixelEdit):
        return value
    if isinstance(value, Rect):
        return PixelEdit(value)
    left, top, right, bottom = value
    return PixelEdit(Rect(int(left), int(top), int(right), int(bottom)))


def choices_for(plan: SessionPlan, decisions: Mapping[str, ScanReviewChoice],
                checks: Mapping[str, PrivateTextCheck] = {}) -> dict[str, ScanChoice]:
    """The per-scan choices of one session's spec (``scan_choice``); scans not named go as is."""
    return {uid: choice for uid in plan.session.scans
            if (choice := scan_choice(plan, decisions, uid, checks)) is not None}


def text_removal_prelude(plan: SessionPlan, decisions: Mapping[str, ScanReviewChoice]
                         ) -> list[ScriptSource]:
    """The built-in "send without the text" script for the session's scans included that way."""
    uids = [uid for uid in plan.session.scans if uid in plan.included
            and (d := decisions.get(uid)) is not None and d.remove_text and not d.excluded]
    if not uids:
        return []
    from desktop_client.scripts import TEXT_REMOVAL_NAME, text_removal_script

    return [ScriptSource(TEXT_REMOVAL_NAME, text_removal_script(uids))]


def private_text_prelude(plan: SessionPlan, decisions: Mapping[str, ScanReviewChoice],
                         checks: Mapping[str, PrivateTextCheck]) -> list[ScriptSource]:
    """The built-in "strip private text and overlays" step for the session's scans a person chose
    to send that way (only where the scripts keep something identifying)."""
    uids = [uid for uid in plan.session.scans if uid in plan.included
            and (d := decisions.get(uid)) is not None and d.private_text == STRIP and not d.excluded
            and uid in checks and checks[uid].kept]
    return strip_prelude(uids, checks)


def session_spec(plan: SessionPlan, decisions: Mapping[str, ScanReviewChoice],
                 options: SpecOptions, checks: Mapping[str, PrivateTextCheck] = {}) -> TransferSpec:
    """One validated spec; raises ValueError naming the session when it cannot go."""
    variables = dict(plan.variables)
    if plan.tracer:
        variables["tracer"] = plan.tracer
    # DICOM and DICOMweb nodes have no projects: labels matter only where there is a hierarchy
    # (XNAT, the local archive) or where the user routes by project.
    labelled = options.destination.kind in (DestinationKind.XNAT, DestinationKind.LOCAL) \
        or bool(options.project)
    spec = TransferSpec(
        session=plan.session,
        destination=options.destination,
        project=options.project,
        subject=plan.subject if labelled else "",
        session_label=plan.label if labelled else "",
        variables=variables,
        choices=choices_for(plan, decisions, checks),
        scripts=options.scripts,
        user=options.user,
        max_chunk_files=max(1, options.max_chunk_files),
        receipt_dir=options.receipt_dir,
        receipt_pdf=options.receipt_pdf,
        lookup_table=options.lookup_table,
        overwrite=MERGE if plan.merge else None,
        prelude=text_removal_prelude(plan, decisions) + private_text_prelude(plan, decisions, checks),
    )
    try:
        spec.validate()
    except ValueError as exc:
        raise ValueError(f"Session {plan.label or plan.session.study_instance_uid}: {exc}") from None
    return spec


def build_specs(plans: Iterable[SessionPlan], decisions: Mapping[str, ScanReviewChoice],
                options: SpecOptions, checks: Mapping[str, PrivateTextCheck] = {}) -> list[TransferSpec]:
    """One validated spec per session; raises ValueError naming the first session that cannot go."""
    return [session_spec(plan, decisions, options, checks) for plan in plans]


def draft_options(draft: UploadDraft, *, receipt_dir: str | None = None,
                  receipt_pdf: bool = True) -> SpecOptions:
    """The shared options of a draft planned in the GUI (a chosen target and project)."""
    assert draft.target is not None and draft.project is not None
    destination = draft.target.destination
    return SpecOptions(
        destination=destination,
        project=draft.project.id,
        user=draft.target.connection.username,
        # XNAT: the engine fetches the site and project scripts again when it runs, as the
        # official client does; the local folder: its Settings slots, as the Project step shows.
        # Without settings the folder's own default slots apply (``ScriptedDestination``).
        scripts=None if destination.kind is DestinationKind.XNAT or draft.settings is None else
        draft.settings.named_scripts,
        lookup_table=draft.lookup_table,
        receipt_dir=receipt_dir,
        receipt_pdf=receipt_pdf,
    )


def draft_specs(draft: UploadDraft, *, receipt_dir: str | None = None, receipt_pdf: bool = True
                ) -> list[TransferSpec]:
    """``build_specs`` for a GUI draft."""
    return build_specs(draft.plans, draft.review,
                       draft_options(draft, receipt_dir=receipt_dir, receipt_pdf=receipt_pdf),
                       draft.private_checks)


def count_rejected(draft: UploadDraft, cancel: Any = None) -> int:
    """How many files the anonymization scripts will reject (``reject`` statements).

    Scripts are compiled afresh and run on each file's header exactly as at upload, without
    pixel edits; a script error on a file is not a rejection (the upload reports it). Blocking:
    run it in a worker. Stops early (returning the count so far) when ``cancel`` is set.
    """
    settings = draft.settings
    if settings is None or not settings.scripts or draft.project is None:
        return 0
    from desktop_client.dicomedit import apply_chain, compile_script
    from desktop_client.scanning import read_dataset

    rejected = 0
    table = draft.lookup_table.text if draft.lookup_table is not None else None
    for plan in draft.plans:
        scripts = [compile_script(text, lookup_table=table) for text in settings.scripts]
        variables = {"project": draft.project.id, "subject": plan.subject, "session": plan.label,
                     "experiment_label": plan.label, **plan.variables}
        if plan.tracer:
            variables["tracer"] = plan.tracer
        for uid, scan in plan.session.scans.items():
            if is_left_out(plan, draft.review, uid):
                continue
            for instance in scan.instances:
                if cancel is not None and cancel.is_set():
                    return rejected
                dataset = read_dataset(instance.location, stop_before_pixels=True)
                outcome = apply_chain(scripts, dataset, variables, execute_pixels=False)
                rejected += outcome.status == "rejected"
    return rejected
