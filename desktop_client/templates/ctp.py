"""Import of CTP ``DicomPixelAnonymizer.script`` regions as templates.

A CTP script is a list of ``{ signature }`` blocks, each followed by regions ``(x,y,w,h)``; a
signature is a boolean expression over header elements (``*`` AND, ``+`` OR, ``!`` NOT). We turn
each signature written as a plain conjunction of tests we can express into a template:

* ``Modality``/[0008,0060] ``equals`` → exact modality; ``Rows``/[0028,0010] and
  ``Columns``/[0028,0011] ``equals`` or ``containsIgnoreCase`` of a number → exact size;
* ``Manufacturer``/[0008,0070], ``ManufacturerModelName``/[0008,1090], ``StationName``/[0008,1010]
  ``contains``/``containsIgnoreCase``/``equals`` → case-insensitive substring constraints.

Other tests (series description, image type, …) cannot be expressed; they are dropped, which
makes the template match *more* images than CTP would, and are listed in the description so the
user sees what was lost. Signatures with ``+`` or ``!`` are skipped and reported. CTP blanks
``w+1 × h+1`` pixels (inclusive right/bottom edges, pixel-redaction.md §3d), so a region becomes
``Rect(x, y, x+w+1, y+h+1)`` (clipped to the image when the signature fixes its size); negative
x/y count from the right/bottom edge and need a known size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from desktop_client.core.geometry import Rect
from desktop_client.templates.model import MatchKeys

_TAG_NAMES = {
    "00080060": "Modality", "00280010": "Rows", "00280011": "Columns",
    "00080070": "Manufacturer", "00081090": "ManufacturerModelName", "00081010": "StationName",
}
_TEST = re.compile(
    r'^\s*(?P<elem>\[\s*[0-9a-fA-F]{4}\s*,\s*[0-9a-fA-F]{4}\s*\]|[A-Za-z][A-Za-z0-9]*)\s*\.\s*'
    r'(?P<op>equals|equalsIgnoreCase|contains|containsIgnoreCase|startsWith|startsWithIgnoreCase)'
    r'\s*\(\s*"(?P<arg>[^"]*)"\s*\)\s*$')
_REGION = re.compile(r"\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)")


@dataclass(slots=True)
class CtpRegionSet:
    """One importable signature: what it matches, its rectangles and what could not be kept."""

    title: str
    signature: str
    match: MatchKeys
    rectangles: list[Rect]
    dropped_conditions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CtpImport:
    imported: list[CtpRegionSet] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _element_name(elem: str) -> str:
    if elem.startswith("["):
        digits = re.sub(r"[^0-9a-fA-F]", "", elem).upper()
        return _TAG_NAMES.get(digits, elem.replace(" ", ""))
    return elem


def _parse_signature(signature: str) -> tuple[dict[str, str], list[str]] | str:
    """Keys we can express and dropped tests; or the reason the signature cannot be imported."""
    body = " ".join(signature.split())
    if "+" in body or "!" in body:
        return "uses OR (+) or NOT (!), which a template cannot express"
    keys: dict[str, str] = {}
    dropped: list[str] = []
    for raw in body.split("*"):
        test = raw.strip()
        if not test:
            continue
        m = _TEST.match(test)
        if m is None:
            return f"cannot read the test {test!r}"
        name, op, arg = _element_name(m.group("elem")), m.group("op"), m.group("arg").strip()
        if name in ("Rows", "Columns") and arg.isdigit() and op in ("equals", "containsIgnoreCase", "contains"):
            keys[name] = arg
        elif name == "Modality" and op in ("equals", "equalsIgnoreCase"):
            keys[name] = arg.upper()
        elif name in ("Manufacturer", "ManufacturerModelName", "StationName") and op != "startsWith":
            keys[name] = arg
        else:
            dropped.append(test)
    return keys, dropped


def parse_ctp_script(text: str) -> CtpImport:
    """All signatures of a DicomPixelAnonymizer script, imported or skipped with a reason."""
    result = CtpImport()
    pos = 0
    last_title = ""
    while True:
        start = text.find("{", pos)
        if start < 0:
            break
        end = text.find("}", start)
        if end < 0:
            result.skipped.append("unterminated signature at the end of the file")
            break
        heading = [ln.strip() for ln in text[pos:start].splitlines()
                   if ln.strip() and not ln.strip().startswith("*") and not _REGION.search(ln)]
        if heading:
            last_title = heading[-1]
        signature = text[start + 1:end].strip()
        nxt = text.find("{", end)
        regions_text = text[end + 1: nxt if nxt >= 0 else len(text)]
        # Regions are the contiguous run of (x,y,w,h) groups right after the signature.
        regions_block = []
        for line in regions_text.splitlines():
            if _REGION.search(line):
                regions_block.append(line)
            elif regions_block and line.strip():
                break
        regions = _REGION.findall("\n".join(regions_block))
        pos = end + 1
        label = last_title or signature[:40]
        parsed = _parse_signature(signature)
        if isinstance(parsed, str):
            result.skipped.append(f"{label}: {parsed}")
            continue
        keys, dropped = parsed
        rows = int(keys["Rows"]) if "Rows" in keys else None
        cols = int(keys["Columns"]) if "Columns" in keys else None
        rects: list[Rect] = []
        for x, y, w, h in ((int(a), int(b), int(c), int(d)) for a, b, c, d in regions):
            if (x < 0 and cols is None) or (y < 0 and rows is None):
                result.skipped.append(f"{label}: region ({x},{y},{w},{h}) counts from the image edge "
                                      "but the signature does not fix the image size")
                continue
            left = x + cols if x < 0 and cols is not None else x
            top = y + rows if y < 0 and rows is not None else y
            right, bottom = left + w + 1, top + h + 1
            rect = Rect(max(0, left), max(0, top), min(right, cols) if cols else right,
                        min(bottom, rows) if rows else bottom)
            if not rect.is_empty:
                rects.append(rect)
        if not rects:
            result.skipped.append(f"{label}: no usable regions")
            continue
        match = MatchKeys(modality=keys.get("Modality"), rows=rows, columns=cols,
                          manufacturer=keys.get("Manufacturer"),
                          model_name=keys.get("ManufacturerModelName"),
                          station_name=keys.get("StationName"))
        result.imported.append(CtpRegionSet(title=label, signature=" ".join(signature.split()),
                                            match=match, rectangles=rects, dropped_conditions=dropped))
    return result
