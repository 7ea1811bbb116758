"""How the Confirm step uses ``desktop_client.labels``: scheme names for the pickers, and the
label rules applied to what the user ticked (only the included scans decide the modality).
"""

from __future__ import annotations

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
from desktop_client.scanning.model import Session

__all__ = ["SUBJECT_SCHEMES", "SESSION_SCHEMES", "default_session_label", "is_valid_label",
           "label_problem", "sanitize", "subjects_by_scheme", "sessions_by_scheme",
           "subject_scheme_of", "session_scheme_of"]

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
