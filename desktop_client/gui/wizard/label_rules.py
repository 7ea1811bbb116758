"""The labeling rules the Confirm step applies, in one place.

These follow the official client (xnat-desktop-client.md §5.2): labels use only letters, digits,
``-`` and ``_``; the default session label is ``<subject>_<MOD>_<n>`` with the smallest unused n;
MOD is the PET tracer when there is PT, the only modality, or the most frequent primary one.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter

from desktop_client.scanning.model import Session

PRIMARY_MODALITIES = ("CR CT MR PT DX ECG EPS ES GM HD IO MG NM OP OPT RF SM US XA XC OT").split()
SUBJECT_SCHEMES = {"manual": "Type them", "auto": "Automatic (AA999)",
                   "dicom_patient_name": "DICOM Patient Name", "dicom_patient_id": "DICOM Patient ID"}
SESSION_SCHEMES = {"manual": "Type them", "auto": "Automatic (SUBJECT_MOD_n)",
                   "dicom_accession_number": "DICOM Accession Number",
                   "dicom_patient_id": "DICOM Patient ID"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def sanitize(text: str) -> str:
    """Replace every run of characters outside ``[A-Za-z0-9_-]`` by one ``_``."""
    return _UNSAFE.sub("_", text.strip()).strip("_") if text.strip() else ""


def is_valid_label(text: str) -> bool:
    return bool(_SAFE.match(text))


def session_modality(session: Session, included: set[str] | None = None, tracer: str = "") -> str:
    scans = [s for uid, s in session.scans.items() if included is None or uid in included]
    modalities = [s.modality for s in scans if s.modality]
    if "PT" in modalities and tracer:
        return sanitize(tracer)
    unique = sorted(set(modalities))
    if len(unique) == 1:
        return unique[0]
    counts = Counter(m for m in modalities if m in PRIMARY_MODALITIES and m != "OT")
    if counts:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return unique[0] if unique else "OT"


def default_session_label(subject: str, session: Session, used: set[str],
                          included: set[str] | None = None, tracer: str = "") -> str:
    """``<subject>_<MOD>_<n>`` with the smallest n (1..99999) not in ``used``."""
    base = f"{sanitize(subject) or 'SUBJECT'}_{session_modality(session, included, tracer)}"
    for n in range(1, 100000):
        label = f"{base}_{n}"
        if label not in used:
            return label
    raise ValueError(f"no free session label for {base}")


def unique_label(label: str, used: set[str]) -> str:
    """``label`` or ``label_1``, ``label_2``… — the first one not in ``used``."""
    if label not in used:
        return label
    n = 1
    while f"{label}_{n}" in used:
        n += 1
    return f"{label}_{n}"


def auto_subject(existing: set[str], rng: random.Random | None = None) -> str:
    """Two random letters and three digits, unique against ``existing``."""
    rng = rng or random.Random()
    while True:
        label = "".join(rng.choices(string.ascii_uppercase, k=2)) + "".join(rng.choices(string.digits, k=3))
        if label not in existing:
            return label


def subjects_by_scheme(scheme: str, sessions: list[Session], existing: set[str]) -> list[str]:
    """Subject labels for ``sessions``; ``auto`` gives one label per distinct patient name."""
    if scheme == "dicom_patient_name":
        return [sanitize(s.patient_name) for s in sessions]
    if scheme == "dicom_patient_id":
        return [sanitize(s.patient_id) for s in sessions]
    if scheme == "auto":
        taken = set(existing)
        per_patient: dict[str, str] = {}
        out = []
        for s in sessions:
            if s.patient_name not in per_patient:
                per_patient[s.patient_name] = auto_subject(taken)
                taken.add(per_patient[s.patient_name])
            out.append(per_patient[s.patient_name])
        return out
    return ["" for _ in sessions]


def sessions_by_scheme(scheme: str, sessions: list[Session], subjects: list[str],
                       used: set[str]) -> list[str]:
    """Session labels for ``sessions``, each unique against ``used`` and the others."""
    taken = set(used)
    out = []
    for session, subject in zip(sessions, subjects):
        if scheme == "auto":
            label = default_session_label(subject, session, taken)
        elif scheme == "dicom_accession_number":
            label = unique_label(sanitize(session.accession_number), taken) if session.accession_number else ""
        elif scheme == "dicom_patient_id":
            label = unique_label(sanitize(session.patient_id), taken) if session.patient_id else ""
        else:
            label = ""
        if label:
            taken.add(label)
        out.append(label)
    return out
