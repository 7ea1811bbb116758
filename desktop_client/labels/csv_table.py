"""CSV round trip of the bulk labeling table (the official client's "Download/Upload CSV").

Columns, in order: ``Study UID`` (the key), read-only ``Study Date``, ``Modality``,
``Study Description``, ``Patient Name``, ``Patient ID``, ``Scans``, then the editable
``XNAT Subject ID``, ``Session Label`` and ``PET Tracer``, then one column per anonymization
script variable (named as the script names it). On import only the editable columns are taken,
and every further column is read as a script variable; rows of the table missing from the file
are reported as unchecked (not uploaded), rows of the file unknown to the table are reported and
ignored. The GUI's bulk table and the CLI's ``--labels`` read and write this one format.

The file holds patient names and IDs: the GUI must warn before writing it. Cells that a
spreadsheet would run as a formula (leading ``= + - @``) are written with a leading ``'``, which
import removes again.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence, TextIO

from desktop_client.labels.sanitize import label_problem

KEY = "Study UID"
READ_ONLY = ("Study Date", "Modality", "Study Description", "Patient Name", "Patient ID", "Scans")
EDITABLE = ("XNAT Subject ID", "Session Label", "PET Tracer")
COLUMNS = (KEY, *READ_ONLY, *EDITABLE)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class LabelRow:
    """One study in the bulk table."""

    study_uid: str
    study_date: str = ""
    modality: str = ""
    study_description: str = ""
    patient_name: str = ""
    patient_id: str = ""
    scans: int = 0
    subject: str = ""
    session: str = ""
    tracer: str = ""
    #: Script variable values by variable name (the columns after ``PET Tracer``).
    variables: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_session(cls, session: Any, subject: str = "", session_label: str = "",
                     tracer: str = "", variables: dict[str, str] | None = None) -> "LabelRow":
        """A row for a scanned study (``desktop_client.scanning.model.Session``)."""
        modalities = sorted({getattr(s, "modality", "") for s in session.scans.values()} - {""})
        return cls(study_uid=session.study_instance_uid, study_date=session.study_date,
                   modality=" ".join(modalities), study_description=session.study_description,
                   patient_name=session.patient_name, patient_id=session.patient_id,
                   scans=len(session.scans), subject=subject, session=session_label, tracer=tracer,
                   variables=dict(variables or {}))

    @property
    def needs_tracer(self) -> bool:
        return "PT" in self.modality.replace(",", " ").replace("/", " ").split()


@dataclass(slots=True)
class CsvImport:
    """Result of reading a CSV back: updated rows plus everything the user should be told."""

    rows: list[LabelRow]
    unchecked: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _protect(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _unprotect(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:2] in _FORMULA_START else value


def export_csv(rows: Iterable[LabelRow], target: Path | TextIO, variables: Sequence[str] = ()) -> None:
    """Write the table (UTF-8 with BOM so spreadsheet programs read accents correctly).

    ``variables`` names the script variable columns, in order (those of the rows otherwise).
    """
    rows = list(rows)
    names = list(variables) or list(dict.fromkeys(n for r in rows for n in r.variables))
    clash = [n for n in names if n in COLUMNS]
    if clash:
        raise ValueError(f"a script variable cannot be named like a column: {', '.join(clash)}")

    def write(handle: TextIO) -> None:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([*COLUMNS, *names])
        for r in rows:
            writer.writerow([_protect(str(v)) for v in (
                r.study_uid, r.study_date, r.modality, r.study_description, r.patient_name,
                r.patient_id, r.scans, r.subject, r.session, r.tracer,
                *(r.variables.get(n, "") for n in names))])
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8-sig", newline="") as handle:
            write(handle)
    else:
        write(target)


def import_csv(source: Path | TextIO | str, table: Sequence[LabelRow]) -> CsvImport:
    """Read edited labels back into ``table`` (matched by Study UID)."""
    if isinstance(source, Path):
        text = source.read_text(encoding="utf-8-sig")
    elif isinstance(source, str):
        text = source
    else:
        text = source.read()
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in (KEY, "XNAT Subject ID", "Session Label") if c not in header]
    if missing:
        return CsvImport(rows=list(table), errors=[
            f"The CSV file has no column {', '.join(repr(m) for m in missing)}; export the table "
            f"first and edit that file."])
    variable_columns = [h for h in header if h and h not in COLUMNS]
    by_uid = {row.study_uid: row for row in table}
    edits: dict[str, LabelRow] = {}
    result = CsvImport(rows=[])
    for line_no, record in enumerate(reader, start=2):
        uid = _unprotect((record.get(KEY) or "").strip())
        if not uid:
            continue
        if uid not in by_uid:
            result.unknown.append(uid)
            continue
        if uid in edits:
            result.errors.append(f"Line {line_no}: study {uid} appears twice.")
            continue
        row = by_uid[uid]
        subject = _unprotect((record.get("XNAT Subject ID") or "").strip())
        session = _unprotect((record.get("Session Label") or "").strip())
        tracer = _unprotect((record.get("PET Tracer") or "").strip()) if "PET Tracer" in header else row.tracer
        for what, value in (("subject", subject), ("session label", session)):
            problem = label_problem(value)
            if problem:
                result.errors.append(f"Line {line_no}: {what} {value!r}: {problem}")
        if row.needs_tracer and not tracer:
            result.errors.append(f"Line {line_no}: study {uid} is a PET study and needs a tracer.")
        values = {name: _unprotect((record.get(name) or "").strip()) for name in variable_columns}
        edits[uid] = replace(row, subject=subject, session=session, tracer=tracer,
                             variables={**row.variables, **values})
    seen: dict[str, str] = {}
    for uid, row in edits.items():
        key = row.session.lower()
        if key and key in seen:
            result.errors.append(f"Session label {row.session!r} is used by two studies "
                                 f"({seen[key]} and {uid}).")
        seen[key] = uid
    result.rows = [edits.get(row.study_uid, row) for row in table]
    result.unchecked = [row.study_uid for row in table if row.study_uid not in edits]
    return result
