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
from desktop_client.transfer.spec import DestinationKind, DestinationSpec, ScanChoice, TransferSpec

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
    choices: dict[str, ScanChoice] = {}
    for uid in plan.session.scans:
        review = _review_choice(draft, uid)
        if uid not in plan.included:
            choices[uid] = ScanChoice(uid, excluded=True, exclude_reason=EXCLUDED_ON_CONFIRM)
        elif review is not None and review.excluded:
            choices[uid] = ScanChoice(uid, excluded=True,
                                      exclude_reason=getattr(review, "exclude_reason", "") or "excluded in review")
        elif review is not None and review.rectangles:
            choices[uid] = ScanChoice(uid, tuple(_rect(r) for r in review.rectangles))
    return choices


def build_specs(draft: UploadDraft, *, receipt_dir: str | None = None) -> list[TransferSpec]:
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
            # official client does; the local folder has no scripts.
            scripts=None if destination.kind is DestinationKind.XNAT else [],
            user=connection.username,
            receipt_dir=receipt_dir,
        )
        try:
            spec.validate()
        except ValueError as exc:
            raise ValueError(f"Session {plan.label or plan.session.study_instance_uid}: {exc}") from None
        specs.append(spec)
    return specs
