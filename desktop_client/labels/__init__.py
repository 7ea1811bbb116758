"""Subject and session labels for uploads (reference: xnat-desktop-client.md §5.2, §2 step 9).

Public API::

    # characters
    is_valid_label(text) -> bool; sanitize_label(text) -> str; server_clean(text) -> str
    label_problem(text) -> str | None                      # sentence for the user
    # default session label <subject>_<MOD>_<n>
    session_modality(series_modalities, tracer=None) -> str
    default_session_label(subject, series_modalities, existing, tracer=None) -> str
    unique_label(label, existing) -> str                   # collision suffix _1, _2 / n+1
    LabelPool(existing)                                    # archive + prearchive + queued labels
    # bulk schemes
    SubjectScheme / SessionScheme (.parse accepts config spellings)
    assign_subject_labels(studies, scheme, existing_subjects, rng=None, split=()) -> {study_uid: label}
    shared_names(studies) -> {patient name: [patient IDs]}   # names the auto scheme would merge
    assign_session_labels(studies, scheme, subject_labels, existing, tracers=None) -> {uid: label}
    random_subject_label(taken) -> "AB123"; series_modalities(study); tracer_choices(server, user)
    # makeSessionLabel / v##
    make_session_label(fmt, existing) -> str; visit_label(subject, modality, existing)
    existing_session_labels(client, project_id, queued=()) -> set[str]
    # date verification
    verify_study_day(study_date, typed_day) -> bool; date_prompt(study_date) -> "YYYY-MM-"
    has_verifiable_date(study_date); parse_study_date(study_date)
    # CSV round trip
    LabelRow, export_csv(rows, path_or_file, variables=()), import_csv(path_or_file_or_text, table) -> CsvImport
"""

from desktop_client.labels.csv_table import COLUMNS, CsvImport, LabelRow, export_csv, import_csv
from desktop_client.labels.dates import (
    date_prompt, has_verifiable_date, parse_study_date, verify_study_day,
)
from desktop_client.labels.sanitize import is_valid_label, label_problem, sanitize_label, server_clean
from desktop_client.labels.schemes import (
    SessionScheme, SubjectScheme, assign_session_labels, assign_subject_labels,
    random_subject_label, series_modalities, shared_names, tracer_choices,
)
from desktop_client.labels.session import (
    PRIMARY_MODALITIES, LabelPool, default_session_label, session_modality, unique_label,
)
from desktop_client.labels.visits import existing_session_labels, make_session_label, visit_label

__all__ = [
    "COLUMNS", "PRIMARY_MODALITIES", "CsvImport", "LabelPool", "LabelRow", "SessionScheme",
    "SubjectScheme", "assign_session_labels", "assign_subject_labels", "date_prompt",
    "default_session_label", "existing_session_labels", "export_csv", "has_verifiable_date",
    "import_csv", "is_valid_label", "label_problem", "make_session_label", "parse_study_date",
    "random_subject_label", "sanitize_label", "series_modalities", "server_clean", "shared_names",
    "session_modality", "tracer_choices", "unique_label", "verify_study_day", "visit_label",
]
