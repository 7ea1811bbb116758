"""Labels and variables as Confirm plans them (no Qt): scheme names for the pickers, the label
rules applied to what the user ticked (only the included scans decide the modality), the
subject shown first, the label a script's ``makeSessionLabel`` gives, the script variables a
person fills, and each scan's Valid/Unsupported status.
"""

from __future__ import annotations

from typing import Any

from desktop_client.labels import (
    SessionScheme,
    SubjectScheme,
    assign_session_labels,
    assign_subject_labels,
    default_session_label as _default_session_label,
    is_valid_label,
    label_problem,
    sanitize_label,
)
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.targets import SubjectInfo
from desktop_client.scanning.model import Session

__all__ = ["BUILTIN_VARIABLES", "DEFAULT_TRACERS", "SUBJECT_SCHEMES", "SESSION_SCHEMES",
           "default_session_label", "initial_subject", "is_valid_label", "label_problem", "sanitize",
           "scan_status", "script_session_label", "subjects_by_scheme", "sessions_by_scheme",
           "subject_scheme_of", "session_scheme_of", "user_variables"]

#: Variables the uploader fills itself (never asked): the official client's Properties keys.
BUILTIN_VARIABLES = frozenset({"project", "subject", "session", "experiment_label", "tracer",
                               "pet_tracer", "custom_pet_tracer"})
DEFAULT_TRACERS = ["FDG", "PIB", "AV45", "AV1451", "FBB", "NAV4694", "FLORBETAPIR", "OTHER"]

SUBJECT_SCHEMES = {SubjectScheme.MANUAL.value: "Type them",
                   SubjectScheme.AUTO.value: "Automatic (AB123)",
                   SubjectScheme.PATIENT_NAME.value: "DICOM Patient Name",
                   SubjectScheme.PATIENT_ID.value: "DICOM Patient ID"}
SESSION_SCHEMES = {SessionScheme.MANUAL.value: "Type them",
                   SessionScheme.AUTO.value: "Automatic (SUBJECT_MOD_n)",
                   SessionScheme.ACCESSION.value: "DICOM Accession Number",
                   SessionScheme.PATIENT_ID.value: "DICOM Patient ID"}


def sanitize(text: str) -> str:
    return sanitize_label(text).strip("_")


def subject_scheme_of(config_value: str) -> str:
    """A project's configured default (any spelling XNAT uses), or ``manual``."""
    try:
        return SubjectScheme.parse(config_value).value
    except ValueError:
        return SubjectScheme.MANUAL.value


def session_scheme_of(config_value: str) -> str:
    try:
        return SessionScheme.parse(config_value).value
    except ValueError:
        return SessionScheme.AUTO.value


def _modalities(session: Session, included: set[str] | None) -> list[str]:
    return [s.modality for uid, s in session.scans.items()
            if (included is None or uid in included) and s.modality]


def default_session_label(subject: str, session: Session, used: set[str],
                          included: set[str] | None = None, tracer: str = "") -> str:
    """``<subject>_<MOD>_<n>`` for the ticked scans, or "" while there is no subject."""
    if not sanitize(subject):
        return ""
    return _default_session_label(subject, _modalities(session, included), used, tracer=tracer or None)


def subjects_by_scheme(scheme: str, sessions: list[Session], existing: set[str],
                       split: set[str] | None = None) -> list[str]:
    labels = assign_subject_labels(sessions, scheme, existing, split=split or ())
    return [labels[s.study_instance_uid] for s in sessions]


def sessions_by_scheme(scheme: str, sessions: list[Session], subjects: list[str],
                       used: set[str]) -> list[str]:
    by_uid = {s.study_instance_uid: subject for s, subject in zip(sessions, subjects)}
    labels = assign_session_labels(sessions, scheme, by_uid, used)
    return [labels[s.study_instance_uid] for s in sessions]


def user_variables(scripts: list[Any]) -> list[Any]:
    """The variables the user fills: described or host-supplied, not hidden, not set by us."""
    from desktop_client.dicomedit import variables_of

    return [v for v in variables_of(scripts)
            if v.name.lower() not in BUILTIN_VARIABLES and not v.hidden
            and (v.external or v.description)]


def script_session_label(settings_scripts: list[str], session: Session, project: str, subject: str,
                         used: set[str]) -> str:
    """The label a script's ``makeSessionLabel`` gives this session ("" when none is set).

    The scripts are compiled afresh with the project's existing labels and run on the header of
    the session's first object, exactly as they will run at upload; only the ``session``
    variable's value is kept.
    """
    texts = [t for t in settings_scripts if "makeSessionLabel" in t]
    if not texts:
        return ""
    from desktop_client.dicomedit import apply_chain, compile_script
    from desktop_client.scanning import read_dataset

    first = next(session.iter_instances(), None)
    if first is None:
        return ""
    scripts = [compile_script(t, existing_session_labels=used) for t in settings_scripts]
    dataset = read_dataset(first.location, stop_before_pixels=True)
    outcome = apply_chain(scripts, dataset, {"project": project, "subject": subject},
                          execute_pixels=False)
    values = {k.lower(): v for k, v in outcome.variables.items()}
    value = values.get("session")
    return sanitize(str(value)) if value else ""


def initial_subject(plan: SessionPlan, subjects: list[SubjectInfo], allow_create: bool) -> str:
    """The subject shown first: the plan's, else an automatic label (when new subjects are
    allowed), else the project's first subject. Never the patient's name (issue 14): that is a
    label only when the user chooses it."""
    from desktop_client.labels.schemes import stable_subject_label

    if plan.subject:
        return plan.subject
    if allow_create:
        return stable_subject_label(plan.session.study_instance_uid, {s.label for s in subjects})
    return subjects[0].label if subjects else ""


def scan_status(scan: Any) -> str:
    from desktop_client.grouping import REASON_TEXT, classify_scan

    result = classify_scan(scan)
    return "Valid" if result.valid else f"Unsupported: {REASON_TEXT.get(result.reason or '', result.reason)}"
