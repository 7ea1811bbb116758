"""Bulk labeling schemes: subject and session labels for many studies at once.

Subject schemes: ``manual`` (left empty for the user), ``auto`` (two random capital letters and
three digits, one per distinct Patient Name, unique in the project — TOOLS-568), ``patient_name``
and ``patient_id`` (the DICOM value made label-safe). Session schemes: ``manual``, ``auto``
(``<subject>_<MOD>_<n>``), ``accession`` and ``patient_id``; collisions get ``_1``, ``_2``…
When a DICOM field is empty the label falls back to ``auto`` so no row is left unlabeled by
accident (the user can still edit it).

Studies are anything with ``study_instance_uid``, ``patient_name``, ``patient_id``,
``accession_number`` and ``scans`` (a mapping of series with ``modality``) — the scanner's
``Session`` fits.
"""

from __future__ import annotations

import random
import string
from enum import Enum
from typing import Any, Iterable, Mapping, Protocol, Sequence

from desktop_client.labels.sanitize import sanitize_label
from desktop_client.labels.session import LabelPool


class SubjectScheme(str, Enum):
    MANUAL = "manual"
    AUTO = "auto"
    PATIENT_NAME = "patient_name"
    PATIENT_ID = "patient_id"

    @classmethod
    def parse(cls, text: str) -> "SubjectScheme":
        """Accepts our names and the spellings used in project config (``dicom_patient_name``,
        ``PatientName``…); unknown values raise ValueError naming the choices."""
        key = _squash(text)
        for scheme, aliases in _SUBJECT_ALIASES.items():
            if key in aliases:
                return scheme
        raise ValueError(f"Unknown subject labeling scheme {text!r}; use one of "
                         f"{', '.join(s.value for s in cls)}.")


class SessionScheme(str, Enum):
    MANUAL = "manual"
    AUTO = "auto"
    ACCESSION = "accession"
    PATIENT_ID = "patient_id"

    @classmethod
    def parse(cls, text: str) -> "SessionScheme":
        key = _squash(text)
        for scheme, aliases in _SESSION_ALIASES.items():
            if key in aliases:
                return scheme
        raise ValueError(f"Unknown session labeling scheme {text!r}; use one of "
                         f"{', '.join(s.value for s in cls)}.")


def _squash(text: str) -> str:
    return "".join(ch for ch in (text or "").lower() if ch.isalnum())


_SUBJECT_ALIASES = {
    SubjectScheme.MANUAL: {"manual", ""},
    SubjectScheme.AUTO: {"auto", "automatic", "autogenerate"},
    SubjectScheme.PATIENT_NAME: {"patientname", "dicompatientname", "name"},
    SubjectScheme.PATIENT_ID: {"patientid", "dicompatientid"},
}
_SESSION_ALIASES = {
    SessionScheme.MANUAL: {"manual"},
    SessionScheme.AUTO: {"auto", "automatic", "autofromsubject", "", "default"},
    SessionScheme.ACCESSION: {"accession", "accessionnumber", "dicomaccession",
                              "dicomaccessionnumber"},
    SessionScheme.PATIENT_ID: {"patientid", "dicompatientid"},
}


class StudyLike(Protocol):
    """What labelling reads of a study (a scanning ``Session``); read-only, so any mapping of
    scans fits."""

    @property
    def study_instance_uid(self) -> str: ...
    @property
    def patient_name(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def accession_number(self) -> str: ...
    @property
    def scans(self) -> Mapping[str, Any]: ...


def series_modalities(study: StudyLike) -> list[str]:
    """One modality per series, in series-number order (input of ``session_modality``)."""
    scans = list(study.scans.values())
    scans.sort(key=lambda s: (getattr(s, "series_number", None) is None,
                              getattr(s, "series_number", None) or 0))
    return [getattr(s, "modality", "") or "" for s in scans]


def random_subject_label(taken: Iterable[str] | LabelPool, rng: random.Random | None = None) -> str:
    """``AB123``: two capital letters and three digits, not in ``taken``."""
    pool = taken if isinstance(taken, LabelPool) else LabelPool(taken)
    rng = rng or random.SystemRandom()
    for _ in range(100000):
        label = ("".join(rng.choice(string.ascii_uppercase) for _ in range(2))
                 + "".join(rng.choice(string.digits) for _ in range(3)))
        if label not in pool:
            return label
    raise ValueError("No free random subject label is left.")


def stable_subject_label(study_instance_uid: str, taken: Iterable[str] | LabelPool) -> str:
    """An automatic ``AB123`` subject label for one study that stays the same while the user
    moves back and forth in the app (seeded by a keyed hash of the study, so it reveals nothing
    about the patient), skipping labels already in ``taken``.

    This is the default subject of a single session (issue 14): the patient's name is a label
    only when the user types or picks it.
    """
    from desktop_client.core.privacy import keyed_hash

    seed = int(keyed_hash("subject-label", study_instance_uid), 16)
    return random_subject_label(taken, random.Random(seed))


def _name_key(study: StudyLike) -> str:
    return (study.patient_name or "").strip().upper()


def shared_names(studies: Sequence[StudyLike]) -> dict[str, list[str]]:
    """Patient names carried by more than one Patient ID (name → sorted IDs).

    The automatic scheme gives one subject per name, so these patients would be merged into
    one subject unless the user splits them (``assign_subject_labels(split=...)``).
    """
    ids: dict[str, set[str]] = {}
    for study in studies:
        ids.setdefault(_name_key(study), set()).add((study.patient_id or "").strip())
    return {name: sorted(found) for name, found in ids.items() if len(found) > 1}


def assign_subject_labels(studies: Sequence[StudyLike], scheme: SubjectScheme | str,
                          existing_subjects: Iterable[str] = (), *,
                          rng: random.Random | None = None,
                          split: Iterable[str] = ()) -> dict[str, str]:
    """Study Instance UID → subject label ("" means the user must type one).

    ``split``: patient names (as ``shared_names`` gives them) whose studies get one automatic
    subject per Patient ID instead of one per name.
    """
    scheme = scheme if isinstance(scheme, SubjectScheme) else SubjectScheme.parse(scheme)
    pool = LabelPool(existing_subjects)
    split = set(split)
    by_name: dict[tuple[str, str], str] = {}
    result: dict[str, str] = {}
    for study in studies:
        uid = study.study_instance_uid
        if scheme is SubjectScheme.MANUAL:
            result[uid] = ""
        elif scheme is SubjectScheme.AUTO:
            name = _name_key(study)
            key = (name, (study.patient_id or "").strip() if name in split else "")
            if key not in by_name:
                by_name[key] = random_subject_label(pool, rng)
                pool.add(by_name[key])
            result[uid] = by_name[key]
        elif scheme is SubjectScheme.PATIENT_NAME:
            result[uid] = sanitize_label(study.patient_name)
        else:
            result[uid] = sanitize_label(study.patient_id)
    return result


def assign_session_labels(studies: Sequence[StudyLike], scheme: SessionScheme | str,
                          subject_labels: Mapping[str, str], existing: Iterable[str] | LabelPool = (),
                          *, tracers: Mapping[str, str] | None = None) -> dict[str, str]:
    """Study Instance UID → session label, unique among ``existing`` and each other.

    ``existing`` should hold the project's archive and prearchive labels plus labels queued
    locally; a ``LabelPool`` passed in is updated with the labels handed out.
    """
    scheme = scheme if isinstance(scheme, SessionScheme) else SessionScheme.parse(scheme)
    pool = existing if isinstance(existing, LabelPool) else LabelPool(existing)
    tracers = tracers or {}
    result: dict[str, str] = {}
    for study in studies:
        uid = study.study_instance_uid
        if scheme is SessionScheme.MANUAL:
            result[uid] = ""
            continue
        source = ""
        if scheme is SessionScheme.ACCESSION:
            source = sanitize_label(study.accession_number)
        elif scheme is SessionScheme.PATIENT_ID:
            source = sanitize_label(study.patient_id)
        if source:
            result[uid] = pool.unique(source)
            continue
        subject = subject_labels.get(uid, "")
        if not subject:
            result[uid] = ""  # auto needs a subject first
            continue
        result[uid] = pool.default_session_label(subject, series_modalities(study),
                                                 tracers.get(uid))
    return result


def tracer_choices(server_tracers: Sequence[str], user_defaults: Sequence[str] = ()) -> list[str]:
    """PET tracer menu: the project's (else site's) list, else the user's defaults, plus OTHER."""
    base = [t for t in server_tracers if t] or [t for t in user_defaults if t]
    seen: list[str] = []
    for tracer in base:
        if tracer not in seen and tracer.upper() != "OTHER":
            seen.append(tracer)
    return seen + ["OTHER"]
