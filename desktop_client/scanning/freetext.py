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
    from pydicom.tag import BaseTag

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


def match_values(text: str, values: dict[str, str], *, whole: bool = False) -> dict[str, str]:
    """Header values (case-insensitive) that occur in ``text``.

    ``whole``: only values of three characters or more that stand on their own (not inside a
    longer word or number) — for short header fields such as private tags, where a two-letter
    name part or a bare "1" inside "SIEMENS 1.5T" would hold scans back for nothing.
    """
    lowered = text.lower()
    if not whole:
        return {k: v for k, v in values.items() if v.lower() in lowered}
    return {k: v for k, v in values.items() if len(v) >= 3 and re.search(
        r"(?<![0-9a-z])" + re.escape(v.lower()) + r"(?![0-9a-z])", lowered)}


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
    carriers = identifying_carriers(ds, {}, all_text=True)  # converts only what it looks at
    notes: list[str] = []
    if any(not c.overlay for c in carriers):
        notes.append(PRIVATE_TEXT)
    if any(c.overlay for c in carriers):
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


@dataclass(frozen=True, slots=True)
class Carrier:
    """One place in an image object's header that may hold identifying text a script can miss.

    ``where``: "private (0019,1010)" or "overlay (6000,3000)"; ``matches``: the names of the
    object's own identifying header attributes its value contains (never the values: this goes
    into receipts); ``path``: the element as a DicomEdit deletion target (``*/(0019,{ACME}10)``,
    any depth), "" when it cannot be named so (a private element without its creator)."""

    where: str
    matches: tuple[str, ...] = ()
    path: str = ""

    @property
    def identifying(self) -> bool:
        return self.overlay or bool(self.matches)

    @property
    def overlay(self) -> bool:
        return self.where.startswith("overlay")

    def describe(self) -> str:
        if self.overlay:
            return f"{self.where}: an overlay plane, which can hold burned-in text"
        return f"{self.where} holds the patient's {', '.join(self.matches)}"


def _overlay_data(elem: DataElement) -> bool:
    return 0x6000 <= elem.tag.group <= 0x601E and elem.tag.group % 2 == 0 and elem.tag.element == 0x3000


def _text_value(elem: DataElement) -> str:
    """A private element's value as text: text VRs as they are, UN (implicit VR, unknown
    creator) when its bytes read as printable text; "" otherwise."""
    if elem.VR in _TEXT_VRS:
        return str(elem.value or "")
    if elem.VR == "UN" and isinstance(elem.value, bytes) and elem.value:
        text = elem.value.rstrip(b"\0 ").decode("latin-1")
        return text if text.isprintable() else ""
    return ""


def identifying_carriers(ds: Dataset, values: dict[str, str] | None = None, *,
                         all_text: bool = False) -> list[Carrier]:
    """The private elements (any depth) whose text contains one of the object's own identifying
    header values (``header_values``, matched as whole words of ≥ 3 characters), and the overlay
    planes (top level). ``values`` defaults to ``ds``'s own; pass the values read *before* a script
    ran to judge its output. Vendor strings ("SIEMENS", "ORIGINAL\\PRIMARY") match nothing.
    ``all_text``: every private element holding words as well (with no ``matches``), which is
    what the built-in "strip private text" step removes."""
    values = header_values(ds) if values is None else values
    found: list[Carrier] = []
    seen: set[str] = set()

    def walk(item: Dataset, top: bool) -> None:
        # Only private elements, overlays and sequences are converted: the upload runs this on
        # every object of some scans, and converting a whole header costs more than the check.
        for tag in list(item.keys()):
            if not tag.is_private and not (top and _overlay_group(tag)) \
                    and _raw_vr(item, tag) not in (None, "SQ"):
                continue
            elem = item[tag]
            if elem.VR == "SQ":
                for child in elem.value or ():
                    walk(child, False)
                continue
            if top and _overlay_data(elem):
                found.append(Carrier(f"overlay ({tag.group:04X},3000)", (), f"({tag.group:04X},XXXX)"))
                continue
            if not tag.is_private or tag.is_private_creator:
                continue
            text = _text_value(elem)
            matches = match_values(text, values, whole=True) if text else {}
            if not matches and not (all_text and looks_like_words(text)):
                continue
            where = f"private ({tag.group:04X},{tag.element:04X})"
            if where in seen:
                continue
            seen.add(where)
            names = tuple(sorted({k.split(" ")[0] for k in matches}))
            found.append(Carrier(where, names, _private_path(item, tag)))

    walk(ds, True)
    return found


def _overlay_group(tag: BaseTag) -> bool:
    return 0x6000 <= tag.group <= 0x601E and tag.group % 2 == 0


def _raw_vr(item: Dataset, tag: BaseTag) -> str | None:
    """An element's VR without converting its value: the stored one (explicit VR), else the
    dictionary's (implicit VR; None when unknown, which the caller then converts to learn)."""
    vr = getattr(item.get_item(tag), "VR", None)
    if vr is None:
        from pydicom.datadict import dictionary_VR

        try:
            vr = dictionary_VR(tag)
        except KeyError:
            return None
    return str(vr)


def _private_path(item: Dataset, tag: BaseTag) -> str:
    """``*/(gggg,{creator}ee)`` for a private element, "" when its creator is missing or cannot be
    written in DicomEdit's syntax."""
    block = tag.element >> 8
    creator = item.get((tag.group << 16) | block)
    text = str(creator.value).strip() if creator is not None and creator.value else ""
    if not text or any(c in text for c in '{}"\\'):
        return ""
    return f"*/({tag.group:04X},{{{text}}}{tag.element & 0xFF:02X})"
