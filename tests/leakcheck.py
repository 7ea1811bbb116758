"""Grep everything the app wrote for a data set's patient identifiers (issue 14 §5).

Reusable by any test: build the identifiers of a demo data set with :func:`demo_identifiers` (or
your own :class:`Identifier` list) and call :func:`find_leaks` on the folders to check — outputs,
the app's home (receipts, queue, scan index, logs, cache), the temporary folders. It returns one
:class:`Leak` per occurrence; a test asserts the list is empty (or that every hit is in a place
the user chose to keep, filtered by the caller).

What is searched, per file: the file's path below the searched root (folder names leak too), its
raw bytes (ASCII/UTF-8 and UTF-16 forms of each identifier, case-insensitive — SQLite pages,
JSON, logs and DICOM headers store text this way), the text of every PDF (receipts), and the text
of a PDF encapsulated in a DICOM object (its streams are compressed, so the bytes alone would miss
a name inside).

Not searched: text burned into pixel data. It is pixels, not characters; the redaction templates
and the burned-in text detection (issue 13) own that channel, and their tests check it by
comparing pixels in the manifest's boxes. A caller that wants the pixel channel covered gives the
demo's boxes to the redaction step (the demo manifest lists them) before uploading.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pydicom

from desktop_client.demo.manifest import DemoManifest


@dataclass(frozen=True, slots=True)
class Identifier:
    """A value that must not appear: ``kind`` is name, patient-id, birth-date or accession."""

    kind: str
    value: str

    def forms(self) -> list[str]:
        """The spellings to look for (a DICOM PN also as "FAMILY, GIVEN", "GIVEN FAMILY" and the
        label form "FAMILY_GIVEN";
        a DA also as ISO and the usual day-first forms)."""
        value = self.value.strip()
        if self.kind == "name":
            family, _, given = value.partition("^")
            given = given.split("^")[0]
            forms = {value}
            if given:
                forms |= {f"{family}, {given}", f"{given} {family}", f"{family} {given}",
                          f"{family},{given}", f"{family}_{given}"}  # the last: as a label
            return sorted(forms)
        if self.kind == "birth-date" and len(value) == 8 and value.isdigit():
            day = _dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
            return sorted({value, day.isoformat(), day.strftime("%d.%m.%Y"), day.strftime("%d/%m/%Y"),
                           day.strftime("%m/%d/%Y")})
        return [value]


@dataclass(frozen=True, slots=True)
class Leak:
    path: str
    identifier: Identifier
    form: str
    where: str  # "path", "bytes", "pdf text", "encapsulated pdf text"

    def __str__(self) -> str:
        return f"{self.path}: {self.identifier.kind} {self.form!r} in {self.where}"


def demo_identifiers(folder: Path) -> list[Identifier]:
    """Every patient name, patient ID, birth date and accession number of a demo data set.

    Names and IDs come from the manifest; birth dates and accession numbers from the headers of
    one file per study (the manifest does not list them).
    """
    manifest = DemoManifest.load(folder)
    found: set[Identifier] = set()
    studies: set[str] = set()
    for entry in manifest.files:
        found.add(Identifier("name", entry.patient_name))
        found.add(Identifier("patient-id", entry.patient_id))
        if entry.study_instance_uid in studies:
            continue
        studies.add(entry.study_instance_uid)
        ds = pydicom.dcmread(folder / entry.path, stop_before_pixels=True)
        if ds.get("PatientBirthDate"):
            found.add(Identifier("birth-date", str(ds.PatientBirthDate)))
        if ds.get("AccessionNumber"):
            found.add(Identifier("accession", str(ds.AccessionNumber)))
    return sorted(found, key=lambda i: (i.kind, i.value))


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        parts = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata or {}
        parts.extend(str(v) for v in meta.values())
        return "\n".join(parts)
    except Exception as exc:  # a damaged PDF is reported, not skipped silently
        return f"<unreadable PDF: {exc}>"


def _encapsulated_pdf(data: bytes) -> bytes | None:
    if b"DICM" not in data[128:132] or b"%PDF" not in data:
        return None
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except Exception:
        return None
    document = ds.get("EncapsulatedDocument")
    return bytes(document) if document else None


def _contains(haystack: bytes, form: str) -> bool:
    lowered = haystack.lower()
    return (form.lower().encode("utf-8") in lowered
            or form.lower().encode("utf-16-le") in lowered)


def find_leaks(roots: Iterable[Path], identifiers: Iterable[Identifier], *,
               skip: Iterable[Path] = ()) -> list[Leak]:
    """Every occurrence of an identifier under ``roots`` (see module doc); ``skip`` excludes
    paths (e.g. the source data set itself)."""
    identifiers = list(identifiers)
    skipped = [Path(p).resolve() for p in skip]
    leaks: list[Leak] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            if any(here.resolve().is_relative_to(s) for s in skipped):
                dirnames[:] = []
                continue
            for name in dirnames + filenames:
                relative = str((here / name).relative_to(root))
                for ident in identifiers:
                    for form in ident.forms():
                        if form.lower() in relative.lower():
                            leaks.append(Leak(str(here / name), ident, form, "path"))
            for name in filenames:
                path = here / name
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                texts = [("bytes", data)]
                if data.startswith(b"%PDF"):
                    texts.append(("pdf text", _pdf_text(data).encode("utf-8")))
                document = _encapsulated_pdf(data)
                if document is not None:
                    texts.append(("encapsulated pdf text", _pdf_text(document).encode("utf-8")))
                for where, text in texts:
                    for ident in identifiers:
                        for form in ident.forms():
                            if _contains(text, form):
                                leaks.append(Leak(str(path), ident, form, where))
    return leaks
