"""XNAT's series import filter, evaluated here so nothing is uploaded only to vanish.

XNAT drops, at import, every DICOM object its site or project *series import filter* rejects
(``DicomFilterService``; the filter classes are ``RegExBasedSeriesImportFilter`` in XNAT's
dicomtools). The official desktop client only displays the filter; this module applies the same
rules locally so Review and Confirm can show which series XNAT would drop, excluded with that
reason (issue 17 §3).

The rules, as XNAT implements them:

* the stored configuration is JSON: ``mode`` (``whitelist`` | ``blacklist`` | ``modalityMap``),
  ``list`` (the rules, one per line), ``enabled`` (default true);
* ``list`` lines: blank lines and ``#`` comments are ignored; ``[Attribute]`` starts a section
  for that DICOM attribute (keyword, ``(gggg,eeee)`` or ``ggggeeee``); other lines are regular
  expressions, matched case-insensitively *anywhere* in the value (Java ``find``). Lines before
  any section apply to SeriesDescription;
* the pattern ``EXISTS`` matches when the attribute is present, ``!EXISTS`` when it is absent; an
  absent attribute matches nothing else;
* an object is accepted by a whitelist when any pattern matches, by a blacklist when none does;
* the site filter and the project filter must both accept an object; ``modalityMap`` filters
  decide which session a series goes to (PET/MR split), never drop it, so they pass everything.

A series is judged on its representative object; a filter over per-object attributes (ImageType,
InstanceNumber…) may treat objects of one series differently, which the reason then says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from pydicom.datadict import dictionary_description, keyword_for_tag, tag_for_keyword

SERIES_DESCRIPTION = 0x0008103E
_HEX_TAG = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,?\s*([0-9A-Fa-f]{4})\s*\)?$")


class SeriesFilterError(ValueError):
    """The stored filter cannot be understood (bad JSON, bad attribute name, bad pattern)."""


def parse_tag(text: str) -> int:
    """``SeriesDescription``, ``(0008,103E)`` or ``0008103E`` → the tag number."""
    name = text.strip()
    match = _HEX_TAG.match(name)
    if match:
        return int(match.group(1) + match.group(2), 16)
    tag = tag_for_keyword(name)
    if tag is None:
        raise SeriesFilterError(f"the series import filter names an unknown DICOM attribute "
                                f"[{name}]")
    return int(tag)


def tag_name(tag: int) -> str:
    return keyword_for_tag(tag) or (dictionary_description(tag) if tag else "") or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


@dataclass(frozen=True, slots=True)
class SeriesImportFilter:
    """One enabled site or project filter."""

    scope: str  # "site filter" or "project filter of P"
    mode: str  # "whitelist" | "blacklist" | "modalityMap"
    rules: tuple[tuple[int, tuple[re.Pattern[str], ...]], ...]

    @property
    def drops(self) -> bool:
        """Whether this filter can reject objects at all."""
        return self.mode in ("whitelist", "blacklist") and bool(self.rules)

    @property
    def tags(self) -> list[int]:
        return [tag for tag, _ in self.rules]

    def rejection(self, values: Mapping[int, str | None]) -> str | None:
        """None when XNAT would accept an object with these values, else the reason."""
        if not self.drops:
            return None
        for tag, patterns in self.rules:
            value = values.get(tag)
            for pattern in patterns:
                if _matches(pattern, value):
                    if self.mode == "whitelist":
                        return None
                    shown = "present" if value is not None and pattern.pattern == "EXISTS" else (
                        "absent" if value is None else f"{value!r}")
                    return (f"XNAT's {self.scope} drops it: {tag_name(tag)} {shown} matches "
                            f"blacklisted pattern {pattern.pattern!r}")
        if self.mode == "whitelist":
            checked = ", ".join(sorted({tag_name(t) for t in self.tags}))
            return f"XNAT's {self.scope} drops it: {checked} matches none of its whitelisted patterns"
        return None


def _matches(pattern: re.Pattern[str], value: str | None) -> bool:
    if pattern.pattern == "EXISTS":
        return value is not None
    if pattern.pattern == "!EXISTS":
        return value is None
    return value is not None and pattern.search(value) is not None


def parse_filter(config: Any, scope: str) -> SeriesImportFilter | None:
    """The filter from XNAT's stored JSON (string or already-parsed dict); None when disabled."""
    data = config
    if isinstance(config, str):
        text = config.strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            raise SeriesFilterError(f"the {scope} is not valid JSON") from None
    if not isinstance(data, dict):
        raise SeriesFilterError(f"the {scope} is not a JSON object")
    enabled = data.get("enabled", True)
    if str(enabled).strip().lower() == "false":
        return None
    mode = str(data.get("mode", "blacklist")).strip()
    if mode.lower() not in ("whitelist", "blacklist", "modalitymap"):
        raise SeriesFilterError(f"the {scope} has an unknown mode {mode!r}")
    mode = "modalityMap" if mode.lower() == "modalitymap" else mode.lower()
    return SeriesImportFilter(scope, mode, _rules(str(data.get("list") or ""), scope))


def _rules(text: str, scope: str) -> tuple[tuple[int, tuple[re.Pattern[str], ...]], ...]:
    sections: dict[int, list[re.Pattern[str]]] = {SERIES_DESCRIPTION: []}
    current = SERIES_DESCRIPTION
    bad: list[str] = []
    for line in text.replace("\\n", "\n").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        item = line.strip()
        if item.startswith("[") and item.endswith("]"):
            current = parse_tag(item[1:-1])
            sections.setdefault(current, [])
            continue
        try:
            sections[current].append(re.compile(item, re.IGNORECASE))
        except re.error:
            bad.append(item)
    if bad:
        raise SeriesFilterError(f"the {scope} has invalid pattern(s): {', '.join(bad)}")
    return tuple((tag, tuple(patterns)) for tag, patterns in sections.items() if patterns)


def header_values(dataset: Any, tags: Iterable[int]) -> dict[int, str | None]:
    """What XNAT compares: each attribute's value as a string (multiple values joined by
    ``\\``), "" when present but empty, None when absent."""
    values: dict[int, str | None] = {}
    for tag in tags:
        element = dataset.get(tag) if dataset is not None else None
        if element is None:
            values[tag] = None
            continue
        value = element.value
        if value is None:
            values[tag] = ""
        elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            values[tag] = "\\".join(str(v) for v in value)
        elif isinstance(value, bytes):
            values[tag] = value.decode("latin-1", "replace").strip("\0 ")
        else:
            values[tag] = str(value).strip()
    return values


def series_rejections(filters: Iterable[SeriesImportFilter | None],
                      series: Mapping[str, Callable[[list[int]], Mapping[int, str | None]]],
                      ) -> dict[str, str]:
    """``{series uid: reason}`` of every series the filters drop.

    ``series`` maps each Series Instance UID to a function giving its representative object's
    values for the requested tags (so headers are read only when a filter needs them).
    """
    active = [f for f in filters if f is not None and f.drops]
    if not active:
        return {}
    tags = sorted({tag for f in active for tag in f.tags})
    out: dict[str, str] = {}
    for uid, read in series.items():
        values = read(tags)
        for item in active:  # site first, then project: both must accept
            reason = item.rejection(values)
            if reason:
                out[uid] = reason
                break
    return out


__all__ = ["SeriesFilterError", "SeriesImportFilter", "header_values", "parse_filter", "parse_tag",
           "series_rejections", "tag_name"]
