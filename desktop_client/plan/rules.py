"""The upload rules a plan must satisfy before anything is queued (no Qt).

Confirm's problems (labels, subjects, variables, tracers, at least one scan) and the sessions
with nothing left to send are decided here, once, for the GUI (which shows the first problem
under the form and disables Next) and for a plan loaded headless (which refuses to run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from desktop_client.labels import label_problem
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.review import ScanReviewChoice
from desktop_client.plan.specs import is_left_out


@dataclass
class LabelContext:
    """What the project already holds, and what it allows."""

    project: str = ""
    existing_subjects: set[str] = field(default_factory=set)
    used_labels: set[str] = field(default_factory=set)
    allow_new_subjects: bool = True


def has_pet(plan: SessionPlan) -> bool:
    """Does a ticked scan of the session need a PET tracer?"""
    return any(s.modality == "PT" for uid, s in plan.session.scans.items() if uid in plan.included)


def single_problems(plan: SessionPlan, context: LabelContext, variables: Sequence[str],
                    merge: bool) -> list[str]:
    """Everything that stops one session (the single-session form), in words."""
    out: list[str] = []
    subject, label = plan.subject, plan.label
    if not subject:
        out.append("Choose or type a subject.")
    elif label_problem(subject):
        out.append(f"Subject: {label_problem(subject)}")
    elif subject not in context.existing_subjects and not context.allow_new_subjects:
        out.append("This project does not allow new subjects: choose an existing one.")
    if not label:
        out.append("Type a session label.")
    elif label_problem(label):
        out.append(f"Session label: {label_problem(label)}")
    elif label in context.used_labels and not merge:
        out.append(f"Session “{label}” already exists in project {context.project}: tick “Add these "
                   "scans to it” or choose another label.")
    out += [f"Fill in “{name}”." for name in variables if not plan.variables.get(name, "").strip()]
    if has_pet(plan) and not plan.tracer:
        out.append("Choose the PET tracer.")
    if not plan.included:
        out.append("Tick at least one scan.")
    return out


def bulk_problems(plans: Sequence[SessionPlan], context: LabelContext, variables: Sequence[str],
                  merge: bool) -> list[str]:
    """Everything that stops a bulk upload, one sentence per problem, naming the table row."""
    out: list[str] = []
    labels: dict[str, int] = {}
    for row, plan in enumerate(plans):
        who = f"Row {row + 1}"
        subject, label = plan.subject, plan.label
        if label_problem(subject):
            out.append(f"{who}: subject: {label_problem(subject)}")
        elif subject not in context.existing_subjects and not context.allow_new_subjects:
            out.append(f"{who}: subject “{subject}” does not exist and this project does not "
                       "allow new subjects.")
        if label_problem(label):
            out.append(f"{who}: session label: {label_problem(label)}")
        elif label in context.used_labels and not merge:
            out.append(f"{who}: session “{label}” already exists in the project: choose another "
                       "label, or tick “Add the scans to sessions that already exist”.")
        elif label in labels:
            out.append(f"{who}: session label “{label}” is also used in row {labels[label] + 1}.")
        else:
            labels[label] = row
        if has_pet(plan) and not plan.tracer:
            out.append(f"{who}: choose the PET tracer.")
        out += [f"{who}: fill in “{name}”." for name in variables
                if not plan.variables.get(name, "").strip()]
    return out


@dataclass(frozen=True)
class SessionTotals:
    """What one session sends once Confirm's unticked and Review's excluded scans are left out."""

    scans: int
    files: int
    bytes: int
    excluded: int


def session_totals(plan: SessionPlan, decisions: Mapping[str, ScanReviewChoice]) -> SessionTotals:
    sent = [s for uid, s in plan.session.scans.items() if not is_left_out(plan, decisions, uid)]
    return SessionTotals(len(sent), sum(s.files for s in sent), sum(s.bytes for s in sent),
                         len(plan.session.scans) - len(sent))


def empty_sessions(draft: UploadDraft) -> list[SessionPlan]:
    """Sessions with every scan left out: nothing of them can be sent."""
    return [p for p in draft.plans if session_totals(p, draft.review).scans == 0]


def leave_out(draft: UploadDraft, plans: Iterable[SessionPlan]) -> None:
    """Take sessions out of the upload; their review decisions stay, should they come back."""
    gone = {id(p) for p in plans}
    draft.plans = [p for p in draft.plans if id(p) not in gone]


# ---- Confirm's non-blocking remarks --------------------------------------------------------------

_LOOKUP = re.compile(r"\blookup\s*\[")


def lookup_warning(scripts: Sequence[str], table: object | None) -> str:
    """A script asks ``lookup[…]`` but there is no table to answer (non-blocking)."""
    if table is not None or not any(_LOOKUP.search(text) for text in scripts):
        return ""
    return ("The anonymization script uses lookup[…] but no lookup table is chosen: the "
            "values it would look up stay as they are. Choose one with “Lookup table…”.")


def server_filter_notes(filtered: Mapping[str, str], review: Mapping[str, ScanReviewChoice]) -> list[str]:
    """Scans left out because XNAT's series import filter would drop them (issue 17 §3): the
    filter's verdicts, unless a decision taken in Review says otherwise."""
    dropped = {uid: reason for uid, reason in filtered.items()
               if uid not in review or review[uid].excluded}
    dropped.update({uid: c.exclude_reason for uid, c in review.items()
                    if c.excluded and c.exclude_reason.startswith("XNAT's ")})
    if not dropped:
        return []
    reasons = list(dropped.values())
    noun = "scan is" if len(reasons) == 1 else "scans are"
    return [f"{len(reasons)} {noun} left out because XNAT would drop them ({reasons[0]}"
            f"{'; …' if len(reasons) > 1 else ''}); include them in Review to send anyway."]


def merge_note(clashes: Sequence[str], merge: bool) -> str:
    """The existing sessions the scans will be added to (when the user agreed to merge)."""
    if not clashes or not merge:
        return ""
    more = "…" if len(clashes) > 5 else ""
    which = "session" if len(clashes) == 1 else "sessions"
    return f"These scans will be added to the existing {which} {', '.join(clashes[:5])}{more}."
