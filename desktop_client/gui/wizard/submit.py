"""Turn a finished draft into numbers for the Summary and into transfer specifications.

Kept free of widgets so the rules (what counts as redacted, excluded, unsupported; which scans a
spec carries) are tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.gui.connections import Connection, local_archive_folder
from desktop_client.gui.wizard.state import SessionPlan, UploadDraft
from desktop_client.transfer.spec import (MERGE, DestinationKind, DestinationSpec, ScanChoice,
                                          ScriptSource, TransferSpec)

EXCLUDED_ON_CONFIRM = "left out on the Confirm step"


@dataclass
class SummaryCounts:
    sessions: int = 0
    redacted: int = 0
    without: int = 0
    excluded: int = 0
    unsupported: int = 0
    files: int = 0
    bytes: int = 0


def _review_choice(draft: UploadDraft, uid: str) -> Any:
    return draft.review.get(uid)


def summarize(draft: UploadDraft) -> SummaryCounts:
    """Scans with redaction, without, excluded (unticked or in review), unsupported; files, bytes."""
    from desktop_client.grouping import classify_scan

    counts = SummaryCounts(sessions=len(draft.plans))
    for plan in draft.plans:
        for uid, scan in plan.session.scans.items():
            choice = _review_choice(draft, uid)
            if uid not in plan.included or (choice is not None and choice.excluded):
                counts.excluded += 1
                continue
            counts.files += scan.files
            counts.bytes += scan.bytes
            if choice is not None and choice.rectangles:
                counts.redacted += 1
            elif not classify_scan(scan).valid:
                counts.unsupported += 1
            else:
                counts.without += 1
    return counts


def destination_for(connection: Connection) -> DestinationSpec:
    if connection.is_local:
        return DestinationSpec(DestinationKind.LOCAL, str(local_archive_folder().resolve()))
    return DestinationSpec(DestinationKind.XNAT, connection.url.rstrip("/"), connection.username,
                           verify_tls=not connection.insecure_tls)


def _rect(value: Any) -> PixelEdit:
    if isinstance(value, PixelEdit):
        return value
    if isinstance(value, Rect):
        return PixelEdit(value)
    left, top, right, bottom = value
    return PixelEdit(Rect(int(left), int(top), int(right), int(bottom)))


def choices_for(draft: UploadDraft, plan: SessionPlan) -> dict[str, ScanChoice]:
    from desktop_client.grouping import FREE_TEXT_EXCLUDED, classify_scan
    from desktop_client.scanning.freetext import FREE_TEXT

    choices: dict[str, ScanChoice] = {}
    for uid in plan.session.scans:
        review = _review_choice(draft, uid)
        if uid not in plan.included:
            choices[uid] = ScanChoice(uid, excluded=True, exclude_reason=EXCLUDED_ON_CONFIRM)
        elif review is None and classify_scan(plan.session.scans[uid]).reason == FREE_TEXT:
            # Never reviewed: a scan with free text stays out unless a person included it.
            choices[uid] = ScanChoice(uid, excluded=True, exclude_reason=FREE_TEXT_EXCLUDED)
        elif review is not None and review.excluded:
            choices[uid] = ScanChoice(uid, excluded=True,
                                      exclude_reason=getattr(review, "exclude_reason", "") or "excluded in review")
        elif review is not None and (review.rectangles or getattr(review, "decision", "")):
            choices[uid] = ScanChoice(uid, tuple(_rect(r) for r in review.rectangles),
                                      decision=getattr(review, "decision", ""))
    return choices


def text_removal_prelude(draft: UploadDraft, plan: SessionPlan) -> list[ScriptSource]:
    """The built-in "send without the text" script for the plan's scans included that way."""
    uids = [uid for uid in plan.session.scans if uid in plan.included
            and getattr(_review_choice(draft, uid), "remove_text", False)
            and not _review_choice(draft, uid).excluded]
    if not uids:
        return []
    from desktop_client.scripts import TEXT_REMOVAL_NAME, text_removal_script

    return [ScriptSource(TEXT_REMOVAL_NAME, text_removal_script(uids))]


def build_specs(draft: UploadDraft, *, receipt_dir: str | None = None, receipt_pdf: bool = True
                ) -> list[TransferSpec]:
    """One validated spec per session; raises ValueError naming the session that cannot go."""
    assert draft.target is not None and draft.project is not None
    connection = draft.target.connection
    destination = destination_for(connection)
    specs = []
    for plan in draft.plans:
        variables = dict(plan.variables)
        if plan.tracer:
            variables["tracer"] = plan.tracer
        spec = TransferSpec(
            session=plan.session,
            destination=destination,
            project=draft.project.id,
            subject=plan.subject,
            session_label=plan.label,
            variables=variables,
            choices=choices_for(draft, plan),
            # XNAT: the engine fetches the site and project scripts again when it runs, as the
            # official client does; the local folder: its Settings slots, as shown on Project.
            scripts=None if destination.kind is DestinationKind.XNAT else
            [ScriptSource(name, text) for name, text in draft.settings.named_scripts],
            prelude=text_removal_prelude(draft, plan),
            user=connection.username,
            receipt_dir=receipt_dir,
            receipt_pdf=receipt_pdf,
            lookup_table=draft.lookup_table,
            overwrite=MERGE if plan.merge else None,
        )
        try:
            spec.validate()
        except ValueError as exc:
            raise ValueError(f"Session {plan.label or plan.session.study_instance_uid}: {exc}") from None
        specs.append(spec)
    return specs


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
            review = _review_choice(draft, uid)
            if uid not in plan.included or (review is not None and review.excluded):
                continue
            for instance in scan.instances:
                if cancel is not None and cancel.is_set():
                    return rejected
                dataset = read_dataset(instance.location, stop_before_pixels=True)
                outcome = apply_chain(scripts, dataset, variables, execute_pixels=False)
                rejected += outcome.status == "rejected"
    return rejected
