"""Is a line of burned-in text likely patient data? Header values, patterns, technical overlay.

A line is **likely PHI** when, after normalising (upper case, letters and digits only), it

* fuzzy-matches one of the instance's own header values: patient name parts, IDs, birth and
  study/series/acquisition dates in every common written form, accession number, institution,
  referring/performing physician and operator names (a recogniser misreads a letter or two, so a
  similarity of 0.8 over a window of the value's length counts); or
* contains a date, a time, a labelled identifier ("ID", "MRN", "DOB", "Acc", "Name", ...) or an
  identifier-like token (six digits or more, or letters with a run of four digits or more); or
* is free text: a word of three letters or more that is not overlay vocabulary (a name that is not
  in this header, a hospital, a comment).

Technical overlay (MI, TIS, Hz, cm, kV, mAs, probe names, L/R markers, series/image numbers,
sequence and anatomy words) is real text and is reported, but not as likely PHI; the re-check
treats it like allowlisted text. The user extends what is harmless with an
allowlist: ``text-allowlist.json`` in the app's data folder, ``{"allow": ["LOGO TEXT", ...]}``;
a line equal to an entry (normalised), or a line whose every word is an entry, is allowlisted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from pydicom.dataset import Dataset

from desktop_client.core import paths

ALLOWLIST_NAME = "text-allowlist.json"

_PERSON_TAGS = ("PatientName", "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName",
                "NameOfPhysiciansReadingStudy", "PhysiciansOfRecord", "OtherPatientNames",
                "PatientMotherBirthName", "RequestingPhysician")
_ID_TAGS = ("PatientID", "OtherPatientIDs", "AccessionNumber", "StudyID", "IssuerOfPatientID",
            "AdmissionID", "RequestedProcedureID")
_TEXT_TAGS = ("InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "PatientAddress",
              "PatientTelephoneNumbers")
_DATE_TAGS = ("PatientBirthDate", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")

#: Words of technical overlay: never PHI on their own.
TECHNICAL_WORDS = frozenset("""
MI TIS TIB TIC HZ KHZ MHZ CM MM DB FPS FR GN GAIN DR DYN PRF WF CF PW CW SV ANGLE DEPTH FOCUS
KV KVP MA MAS MS SEC S SE IM IMG SER SERIES IMAGE SL SLICE W L WW WL C TR TE TI FA ET FOV MATRIX
NEX BW THK SP TILT PITCH DFOV ROT KERNEL STND STANDARD SOFT BONE LUNG AXIAL SAG COR CORONAL SAGITTAL
R L A P H F RT LT LEFT RIGHT AP PA LAT LATERAL OBL SUPINE PRONE ERECT HFS FFS HFP FFP LL RL RAO LAO
RPO LPO CRAN CAUD PORT PORTABLE UPRIGHT DECUB
ABD OB GYN CARD VASC SMP MSK THY BR PRE POST CONTRAST DOSE MGY CTDI DLP ECG HR BPM GEN RES THI
HEAD NECK BRAIN CHEST THORAX ABDOMEN PELVIS SPINE KNEE HIP SHOULDER LIVER KIDNEY HEART ANT POS SUP INF
SCOUT LOCALIZER LOCALISER TOPOGRAM SURVIEW PLAN T1 T2 FLAIR DWI ADC SWI TOF MPRAGE SPGR FSE TSE GRE EPI
STIR PD BOLD MIP MPR VR HELICAL SPIRAL ARTERIAL VENOUS DELAYED PORTAL NON LAT ZOOM FREEZE FRZ ROI
MODE PWR POWER COLOR COLOUR DOPPLER HARM FREQ PEN GEN STO AO LA LV RA RV VEL TAMAX PS ED RI PI AVG
DYN MED LOW HIGH MID MAP DTCE DTCEM ADV BREAST RENAL GENERAL ABDOMINAL PELVIC OBSTETRIC VASCULAR
CARDIAC SMALL PARTS MSK NERVE THYROID TESTIS PROSTATE BLADDER AORTA CAROTID VENOUS HD FPS MS BPM
SIEMENS GE PHILIPS TOSHIBA CANON HITACHI ALOKA ESAOTE SAMSUNG MINDRAY TERASON SONOSITE FUJI FUJIFILM
AGFA CARESTREAM KODAK HOLOGIC KONICA SHIMADZU ZEISS OLYMPUS PENTAX STORZ VOLUSON LOGIQ ACUSON EPIQ IU
""".split())
#: Letter runs longer than this are segmented into technical words ("ABDMI" = ABD + MI): OCR
#: often drops the spaces between overlay words.
_SEGMENT_WORDS = frozenset(w for w in TECHNICAL_WORDS if len(w) >= 2)
_PROBE = re.compile(r"^[A-Z]{0,3}\d{1,2}-\d{1,2}[A-Z]{0,3}$")  # C5-1, L12-5, EC9-4
_LABELS = re.compile(r"\b(NAME|PATIENT|PAT|DOB|BIRTH|BORN|MRN|PID|ID|ACC|ACCESSION|ADDR|PHONE|TEL|DR|PHYS)\b")
_DATE = re.compile(
    r"(?<!\d)(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|"
    r"\d{1,2}[-/ ]?(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*[-/ ]?\d{2,4})(?!\d)")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(:\d{2})?(?!\d)")
_LONG_NUMBER = re.compile(r"\d{6,}")
_ID_DIGITS = re.compile(r"\d{4,}")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def normalise(text: str) -> str:
    """Upper case, letters and digits only (spacing and punctuation are what OCR gets wrong most)."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9A-Za-z]+", text.upper()) if w]


def date_forms(value: str) -> set[str]:
    """A DICOM DA value (YYYYMMDD) written in every common way, normalised."""
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", value.strip())
    if not m:
        return set()
    y, mo, d = m.groups()
    try:
        date(int(y), int(mo), int(d))
    except ValueError:
        return set()
    mon = _MONTHS[int(mo) - 1]
    forms = {y + mo + d, d + mo + y, mo + d + y, d + mon + y, d.lstrip("0") + mon + y,
             mo + d + y[2:], d + mo + y[2:], y[2:] + mo + d, d + mon + y[2:]}
    unpadded_m, unpadded_d = str(int(mo)), str(int(d))
    forms |= {unpadded_m + unpadded_d + y, unpadded_d + unpadded_m + y, y + unpadded_m + unpadded_d}
    return {f for f in forms if len(f) >= 6}


def _values(ds: Dataset, keyword: str) -> list[str]:
    elem = ds.get(keyword)
    if elem in (None, ""):
        return []
    items = elem if isinstance(elem, (list, tuple)) or type(elem).__name__ == "MultiValue" else [elem]
    return [str(v) for v in items if str(v).strip()]


@dataclass(frozen=True, slots=True)
class HeaderValues:
    """The instance's identifying header values, normalised, ready for fuzzy matching."""

    values: frozenset[str]

    @classmethod
    def from_dataset(cls, ds: Dataset) -> "HeaderValues":
        out: set[str] = set()
        for kw in _PERSON_TAGS:
            for value in _values(ds, kw):
                out.add(normalise(value))
                out.update(normalise(part) for part in re.split(r"[\^ ,]+", value))
        for kw in _ID_TAGS + _TEXT_TAGS:
            for value in _values(ds, kw):
                out.add(normalise(value))
        for kw in _DATE_TAGS:
            for value in _values(ds, kw):
                out.update(date_forms(value))
        return cls(frozenset(v for v in out if len(v) >= 3))


def _fuzzy_in(value: str, text: str, threshold: float = 0.8) -> bool:
    if value in text:
        return True
    n = len(value)
    if n < 4 or len(text) < n - 1:
        return n >= 4 and len(text) >= 4 and SequenceMatcher(None, value, text).ratio() >= threshold
    for size in (n - 1, n, n + 1):
        for start in range(0, max(1, len(text) - size + 1)):
            window = text[start:start + size]
            if SequenceMatcher(None, value, window).ratio() >= threshold:
                return True
    return False


def matches_header(text: str, header: HeaderValues) -> bool:
    norm = normalise(text)
    if len(norm) < 2:
        return False
    return any(_fuzzy_in(value, norm) for value in header.values)


@lru_cache(maxsize=4096)
def _segments(run: str) -> bool:
    """Can a run of letters be cut entirely into technical words of two letters or more?

    One leading single-letter marker is allowed ("HGEN" = H + GEN, "PLOW" = P + LOW).
    """
    if len(run) > 2 and run[0] in TECHNICAL_WORDS and _joined(run[1:]):
        return True
    return _joined(run)


@lru_cache(maxsize=4096)
def _joined(run: str) -> bool:
    if not run:
        return True
    return any(run.startswith(w) and _joined(run[len(w):]) for w in _SEGMENT_WORDS)


def _technical_token(word: str) -> bool:
    if word in TECHNICAL_WORDS or _PROBE.match(word):
        return True
    # numbers with an attached unit or short measurement values: 120KV, 1.1, 30HZ, B30F kernels
    if re.fullmatch(r"\d{1,5}|[A-Z]{0,3}\d{1,5}[A-Z]{0,3}", word):
        return True
    runs = re.findall(r"[A-Z]+|\d+", word)
    return all((r.isdigit() and len(r) <= 5) or (r.isalpha() and len(r) == 1) or r in TECHNICAL_WORDS
               or _segments(r) or _segments(r.translate(_MISREAD)) for r in runs)


#: Letters the recogniser reads for others in small overlay text ("Im" read as "Tm").
_MISREAD = str.maketrans({"T": "I"})


def pattern_phi(text: str) -> bool:
    """Dates, times, labelled or identifier-like tokens."""
    upper = text.upper()
    if _DATE.search(upper) or _TIME.search(upper) or _LABELS.search(upper):
        return True
    for word in _words(text):
        if _technical_token(word):
            continue
        if _LONG_NUMBER.search(word) or (_ID_DIGITS.search(word) and any(c.isalpha() for c in word)):
            return True
    return False


def technical(text: str) -> bool:
    """Every word is technical overlay vocabulary, a number, a measurement or a probe name."""
    words = _words(text)
    return bool(words) and all(_technical_token(w) for w in words)


def likely_phi(text: str, header: HeaderValues) -> bool:
    """The module's rule for one line of text."""
    if matches_header(text, header):
        return True
    upper = text.upper()
    if _DATE.search(upper) or _TIME.search(upper):
        return True
    if technical(text):
        return False
    if pattern_phi(text):
        return True
    # Free text that is neither overlay vocabulary nor a number: names, places, comments.
    return any(len(run) >= 3 and run not in TECHNICAL_WORDS and not _segments(run)
               for run in re.findall(r"[A-Z]+", upper))


# ---- the user's allowlist -------------------------------------------------------------------

def allowlist_path() -> Path:
    return paths.data_dir() / ALLOWLIST_NAME


@dataclass(frozen=True, slots=True)
class Allowlist:
    """Text the user declared harmless (normalised entries)."""

    entries: frozenset[str] = frozenset()

    @classmethod
    def of(cls, items: Iterable[str]) -> "Allowlist":
        return cls(frozenset(n for n in (normalise(i) for i in items) if n))

    @classmethod
    def load(cls, path: Path | None = None) -> "Allowlist":
        """The user's allowlist; a missing file is an empty list, a broken one raises ValueError."""
        target = path or allowlist_path()
        return _load_cached(str(target), _stamp(target))

    def allows(self, text: str) -> bool:
        if not self.entries:
            return False
        norm = normalise(text)
        if norm in self.entries:
            return True
        words = [normalise(w) for w in _words(text)]
        return bool(words) and all(w in self.entries for w in words)

    def save(self, path: Path | None = None) -> None:
        import os
        import tempfile

        target = path or allowlist_path()
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"allow": sorted(self.entries)}, fh, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)


def _stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@lru_cache(maxsize=4)
def _load_cached(path: str, stamp: float) -> Allowlist:
    if not stamp:
        return Allowlist()
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"the text allowlist {path} is not valid JSON ({exc}); fix or delete it") from None
    items = raw.get("allow") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"the text allowlist {path} must be {{\"allow\": [\"text\", ...]}}; fix or delete it")
    return Allowlist.of(items)
