"""Date verification: the user proves they know the session by typing its day of the month.

When a project sets ``require-date``, the official client shows each session's Study Date as
``YYYY-MM-`` and asks for the day; the upload is enabled only when it matches the DICOM Study
Date (a guard against uploading the wrong patient's study). A "dates unknown" checkbox skips it.
"""

from __future__ import annotations

from datetime import date


def parse_study_date(study_date: str) -> date | None:
    """DICOM ``YYYYMMDD`` (also tolerates ``YYYY-MM-DD`` / ``YYYY.MM.DD``) → date, else None."""
    digits = "".join(ch for ch in (study_date or "") if ch.isdigit())
    if len(digits) != 8:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def has_verifiable_date(study_date: str) -> bool:
    return parse_study_date(study_date) is not None


def date_prompt(study_date: str) -> str:
    """What the user sees before the input box: ``2024-05-`` (empty when there is no date)."""
    parsed = parse_study_date(study_date)
    return f"{parsed.year:04d}-{parsed.month:02d}-" if parsed else ""


def verify_study_day(study_date: str, typed_day: str) -> bool:
    """True when ``typed_day`` ("7" or "07") is the day of ``study_date``.

    A session without a valid Study Date can never be verified this way (the user must use the
    "dates unknown" option instead).
    """
    parsed = parse_study_date(study_date)
    text = (typed_day or "").strip()
    if parsed is None or not text.isdigit() or len(text) > 2:
        return False
    return int(text) == parsed.day
