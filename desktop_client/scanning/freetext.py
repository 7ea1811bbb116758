"""Objects that carry free text no header script can reach (issue 14 §2).

An Encapsulated PDF report has the patient's name inside the PDF; a Structured Report has it in a
TEXT or PNAME content item; a Presentation State can annotate an image with text; an RT Structure
Set names its ROIs; a Key Object Selection carries a note. These are recognised by SOP class
(:func:`free_text_kind`, no I/O: the scanner's header read already has the class) and then, for
Review, looked into (:func:`inspect_object`): the text found is listed, and any header value of the
patient (name and its parts, ID, birth date, accession number) that appears in it is reported as a
*match*. Private elements with text and overlays are reported too, as findings of any object.

The policy that follows — such scans are excluded unless a person includes them, and a PDF whose
text matches a header value is never sent without that decision — lives with the review
decisions (``plan``) and the CLI; this module only says what is there.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pydicom is loaded by the caller that reads the objects
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset

#: SOP Class UID (or prefix ending in ".") → what kind of free text it carries.
_CLASSES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.5.1.4.1.1.104.1", "encapsulated PDF document"),
    ("1.2.840.10008.5.1.4.1.1.104.2", "encapsulated CDA document"),
    ("1.2.840.10008.5.1.4.1.1.104.3", "encapsulated STL model"),
    ("1.2.840.10008.5.1.4.1.1.104.4", "encapsulated OBJ model"),
    ("1.2.840.10008.5.1.4.1.1.104.5", "encapsulated MTL material"),
    ("1.2.840.10008.5.1.4.1.1.88.59", "key object selection (may hold a note)"),
    ("1.2.840.10008.5.1.4.1.1.88.", "structured report (text content items)"),
    ("1.2.840.10008.5.1.4.1.1.11.", "presentation state (may hold text annotations)"),
    ("1.2.840.10008.5.1.4.1.1.481.3", "RT structure set (ROI names and descriptions)"),
)

#: The Unsupported reason of a scan with such objects (``grouping``).
FREE_TEXT = "contains-free-text"
FREE_TEXT_TEXT = "contains free text that header scripts cannot reach (reports, documents, annotations)"

_MAX_SHOWN = 4000  # characters of extracted text kept for display


def free_text_kind(sop_class_uid: str) -> str | None:
    """What free text objects of this class carry, or None for classes without any."""
    for uid, kind in _CLASSES:
        if sop_class_uid == uid or (uid.endswith(".") and sop_class_uid.startswith(uid)):
            return kind
    return None


@dataclass(slots=True)
class TextFinding:
    """One place with free text: ``where`` (e.g. "PDF text", "TEXT item", "private (0019,10xx)")."""

    where: str
    text: str


@dataclass(slots=True)
class Inspection:
    """What one object holds: its findings, the header values found in them, and why."""

    kind: str | None
    findings: list[TextFinding] = field(default_factory=list)
    #: header attribute name → the value found in the free text ("PatientName": "SMITH^JOHN")
    matches: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def reasons(self) -> list[str]:
        out = [self.kind] if self.kind else []
        out += sorted({f.where for f in self.findings if f.where.startswith(("private", "overlay"))})
        return out

    def summary(self, *, values: bool = False) -> str:
        """One line: the kind and which header attributes the text matches — with their values
        only when ``values`` (on screen, for the person deciding; never in a file)."""
        parts = list(self.reasons) or ["no free text found"]
        if self.matches:
            if values:
                parts.append("matches " + ", ".join(f"{k} {v!r}" for k, v in sorted(self.matches.items())))
            else:
                names = sorted({k.split(" ")[0] for k in self.matches})
                parts.append("its text contains the patient's " + ", ".join(names))
        if self.error:
            parts.append(self.error)
        return "; ".join(parts)


def pdf_text(data: bytes) -> str:
    """The text of a PDF (pages and document information), via pypdf; "" when it has none."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    parts = [page.extract_text() or "" for page in reader.pages]
    if reader.metadata is not None:
        parts.extend(str(v) for v in reader.metadata.values() if v)
    return "\n".join(p for p in parts if p)


def header_values(ds: Dataset) -> dict[str, str]:
    """The patient's identifying header values, with the name's components on their own."""
    out: dict[str, str] = {}
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
                    "OtherPatientIDs", "OtherPatientNames"):
        value = str(ds.get(keyword, "") or "").strip()
        if value:
            out[keyword] = value
    name = out.get("PatientName", "")
    for i, part in enumerate(p for p in name.replace("^", " ").split() if len(p) >= 3):
        out[f"PatientName part {i + 1}"] = part
    birth = out.get("PatientBirthDate", "")
    if len(birth) == 8 and birth.isdigit():
        out["PatientBirthDate (ISO)"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
        out["PatientBirthDate (d.m.y)"] = f"{birth[6:]}.{birth[4:6]}.{birth[:4]}"
        out["PatientBirthDate (d/m/y)"] = f"{birth[6:]}/{birth[4:6]}/{birth[:4]}"
    return out


def match_values(text: str, values: dict[str, str]) -> dict[str, str]:
    """Header values (case-insensitive) that occur in ``text``."""
    lowered = text.lower()
    return {k: v for k, v in values.items() if v.lower() in lowered}


def inspect_dataset(ds: Dataset) -> Inspection:
    """Look into one object read in full (see module doc)."""
    kind = free_text_kind(str(ds.get("SOPClassUID", "")))
    result = Inspection(kind)
    document = ds.get("EncapsulatedDocument")
    if document:
        mime = str(ds.get("MIMETypeOfEncapsulatedDocument", ""))
        if mime == "application/pdf" or bytes(document[:5]) == b"%PDF-":
            try:
                text = pdf_text(bytes(document))
            except Exception as exc:  # a PDF we cannot read is flagged, never waved through
                result.error = f"the PDF could not be read ({type(exc).__name__}); its text is unknown"
                text = ""
            result.findings.append(TextFinding("PDF text", text[:_MAX_SHOWN]))
        else:
            result.findings.append(TextFinding(f"document ({mime or 'unknown type'})",
                                               bytes(document[:_MAX_SHOWN]).decode("utf-8", "replace")))
    _walk(ds, result.findings, top=True)
    values = header_values(ds)
    for finding in result.findings:
        result.matches.update(match_values(finding.text, values))
    return result


_TEXT_TAGS = {
    0x0040A160: "TEXT item", 0x0040A123: "PNAME item", 0x00700006: "text annotation",
    0x30060026: "ROI name", 0x30060028: "ROI description", 0x00404000: "note",
    0x00204000: "image comments",
}


def _walk(ds: Dataset, findings: list[TextFinding], top: bool) -> None:
    for elem in ds:
        tag = int(elem.tag)
        if elem.VR == "SQ":
            for item in elem.value or ():
                _walk(item, findings, top=False)
            continue
        if tag in _TEXT_TAGS and elem.value:
            findings.append(TextFinding(_TEXT_TAGS[tag], str(elem.value)[:_MAX_SHOWN]))
        elif private_text(elem):
            findings.append(TextFinding(f"private ({elem.tag.group:04X},{elem.tag.element:04X})",
                                        str(elem.value)[:200]))
        elif top and 0x6000 <= elem.tag.group <= 0x601E and elem.tag.group % 2 == 0 \
                and elem.tag.element == 0x3000:
            findings.append(TextFinding(f"overlay ({elem.tag.group:04X},3000)", ""))


_TEXT_VRS = ("LO", "LT", "SH", "ST", "UT", "PN", "UC")
#: A word: three letters in a row. Numbers, UIDs, dates, codes like "1.2.840..." or "12\\34" are not.
_WORD = re.compile(r"[^\W\d_]{3,}")


def looks_like_words(value: str) -> bool:
    """Whether a value reads as words (a name, a comment) rather than numbers or UIDs."""
    return bool(_WORD.search(value))


def private_text(elem: DataElement) -> bool:
    """A private element (not its creator) with a text VR whose value looks like words."""
    return (elem.tag.is_private and not elem.tag.is_private_creator and elem.VR in _TEXT_VRS
            and looks_like_words(str(elem.value or "")))


#: What an ordinary image scan carries (issue 14 §2): it stays an image scan, but the person is told.
PRIVATE_TEXT = "carries private text"
OVERLAY = "carries an overlay"


def image_text_notes(ds: Dataset) -> list[str]:
    """``PRIVATE_TEXT`` and/or ``OVERLAY`` for one image object read without its pixels: private
    elements holding words (at any depth) and overlay planes (60xx,3000), which can hold burned text."""
    notes: list[str] = []
    if any(private_text(elem) for elem in ds.iterall()):
        notes.append(PRIVATE_TEXT)
    if any(0x6000 <= elem.tag.group <= 0x601E and elem.tag.group % 2 == 0 and elem.tag.element == 0x3000
           for elem in ds):
        notes.append(OVERLAY)
    return notes


def inspect_objects(datasets: Iterable[Dataset]) -> Inspection:
    """Merge the inspections of several objects of one scan."""
    merged: Inspection | None = None
    for ds in datasets:
        one = inspect_dataset(ds)
        if merged is None:
            merged = one
            continue
        merged.findings.extend(one.findings)
        merged.matches.update(one.matches)
        merged.error = merged.error or one.error
    return merged or Inspection(None)
