"""DICOM date/time shifting exactly as the reference does it (dicomedit.md §11, §9.4, §9.5).

A value of any precision is completed at the *midpoint* of the interval it stands for, shifted by
an exact number of seconds, and written back with the precision it had; the fraction and UTC
offset texts are copied unchanged. That is why a year-only value only changes when the shift
crosses a year relative to 1 July.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from desktop_client.dicomedit.errors import ScriptRuntimeError

_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")
UNITS = {"years": 365 * 86400, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


class ParsedDT:
    __slots__ = ("fields", "fraction", "offset", "moment")

    def __init__(self, fields: int, fraction: str, offset: str, moment: datetime) -> None:
        self.fields = fields  # how many of year/month/day/hour/minute/second were given
        self.fraction = fraction
        self.offset = offset
        self.moment = moment


def parse(text: str) -> ParsedDT:
    m = _DT.match(text)
    if m is None:
        raise ScriptRuntimeError(f"Failed to parse DICOM time string '{text}'")
    parts = m.groups()
    fields = sum(1 for p in parts[:6] if p is not None)
    try:
        year = int(parts[0])
        if fields == 1:
            moment = datetime(year, 7, 1)
        else:
            month = int(parts[1])
            days_in_month = calendar.monthrange(year, month)[1]
            if fields == 2:
                moment = datetime(year, month, days_in_month // 2 + 1,
                                  12 if days_in_month % 2 else 0)
            else:
                day = int(parts[2])
                if fields == 3:
                    moment = datetime(year, month, day, 12)
                elif fields == 4:
                    moment = datetime(year, month, day, int(parts[3]), 30)
                elif fields == 5:
                    moment = datetime(year, month, day, int(parts[3]), int(parts[4]), 30)
                else:
                    moment = datetime(year, month, day, int(parts[3]), int(parts[4]),
                                      int(parts[5]))
    except ValueError:
        raise ScriptRuntimeError(f"Failed to parse DICOM time string '{text}'") from None
    return ParsedDT(fields, parts[6] or "", parts[7] or "", moment)


def format_like(parsed: ParsedDT, moment: datetime) -> str:
    text = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}{moment.hour:02d}" \
           f"{moment.minute:02d}{moment.second:02d}"[:4 + 2 * (parsed.fields - 1)]
    if parsed.fields == 6:
        text += parsed.fraction
    return text + parsed.offset


def shift(text: str, seconds: int) -> str:
    """``text`` shifted by ``seconds`` at its own precision."""
    parsed = parse(text)
    try:
        moment = parsed.moment + timedelta(seconds=seconds)
    except OverflowError:
        raise ScriptRuntimeError(f"Shifting '{text}' leaves the supported calendar range") from None
    return format_like(parsed, moment)


def increment_seconds(amount: object, unit: str | None, default_unit: str) -> int:
    """An increment and unit (case-insensitive, default per function) as seconds (§9.4)."""
    unit_name = (unit or default_unit).strip().lower()
    if unit_name not in UNITS:
        raise ScriptRuntimeError(f"Unknown time unit '{unit}'; use years, days, hours, minutes or "
                                 "seconds")
    try:
        n = int(str(amount).strip())
    except ValueError:
        raise ScriptRuntimeError(f'For input string: "{amount}"') from None
    return n * UNITS[unit_name]


def days_between(first: str, second: str) -> int:
    """Whole days from ``first`` to ``second`` (each taken at its midpoint)."""
    delta = parse(second).moment - parse(first).moment
    return delta.days if delta.days >= 0 else -((-delta).days)


_AGE = re.compile(r"^(\d{1,3})([DWMY])$")


def age_in_years(text: str) -> float:
    m = _AGE.match(text.strip())
    if m is None:
        raise ScriptRuntimeError("Error parsing age")
    n, unit = int(m.group(1)), m.group(2)
    return {"D": n / 365.24, "W": n * 7 / 365.24, "M": n / 12, "Y": float(n)}[unit]
