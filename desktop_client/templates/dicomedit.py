"""Rectangles ⇄ DicomEdit ``alterPixels`` statements.

The official client turns a scan's rectangles into a separate DicomEdit 6 script appended after the
site and project scripts: ``version "6.1"`` and one ``alterPixels["rectangle", "l=…, t=…, r=…,
b=…", "solid", "v=…"]`` per rectangle (xnat-desktop-client.md §4.6, dicomedit.md §9.7). We write
the same form, with whole-number coordinates, so the text can be pasted into an XNAT project's
anonymization script and the server blacks out exactly what the preview showed.

Fill: black is written ``v=0`` — the value XNAT's PixelMed handler always writes and the value the
newer streaming handler writes for ``v=0`` (colour images get (0,0,0), YBR images Y=0, Cb=Cr=128).
"""

from __future__ import annotations

import re
from typing import Iterable

from desktop_client.core.geometry import BLACK, Fill, Rect

DE6_VERSION_LINE = 'version "6.1"'

_ALTER = re.compile(
    r'alterPixels\s*\[\s*"(?P<shape>[^"]*)"\s*,\s*"(?P<shape_params>[^"]*)"\s*,\s*'
    r'"(?P<fill>[^"]*)"\s*,\s*"(?P<fill_params>[^"]*)"\s*\]', re.IGNORECASE)


def _fill_params(fill: Fill) -> str:
    if fill.black:
        return "v=0"
    if fill.rgb is not None:
        r, g, b = fill.rgb
        return f"r={r}, g={g}, b={b}"
    if fill.value is not None:
        return f"v={fill.value}"
    raise ValueError("a fill must be black, a grey value or an RGB colour")


def alter_pixels_statement(rect: Rect, fill: Fill = BLACK) -> str:
    """One ``alterPixels`` statement for one rectangle."""
    if rect.is_empty:
        raise ValueError(f"rectangle {rect} is empty")
    return (f'alterPixels["rectangle", "l={rect.left}, t={rect.top}, r={rect.right}, '
            f'b={rect.bottom}", "solid", "{_fill_params(fill)}"]')


def to_dicomedit(rectangles: Iterable[Rect], fill: Fill = BLACK, *, version: bool = True) -> str:
    """A DicomEdit 6 script blacking out ``rectangles`` on every frame; "" when there are none.

    ``version=True`` starts it with ``version "6.1"`` so it is a script of its own, the way the
    official client appends it after the site and project scripts. Duplicate rectangles (the same
    box from two applied templates) are written once, in first-seen order.
    """
    unique = list(dict.fromkeys(r for r in rectangles if not r.is_empty))
    if not unique:
        return ""
    lines = [DE6_VERSION_LINE] if version else []
    lines += [alter_pixels_statement(r, fill) for r in unique]
    return "\n".join(lines) + "\n"


def _properties(text: str) -> dict[str, str]:
    """DicomEdit's reading of a parameter string: strip whitespace, commas separate key=value."""
    out: dict[str, str] = {}
    for part in re.sub(r"\s+", "", text).split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.lower()] = value
    return out


def rectangles_from_dicomedit(script: str) -> list[tuple[Rect, Fill]]:
    """The rectangles of every ``alterPixels["rectangle", …, "solid", …]`` in a script.

    Raises ValueError naming the statement when a rectangle lacks one of l/t/r/b or is not whole
    numbers; other shapes or fills are refused the same way DicomEdit refuses them.
    """
    found: list[tuple[Rect, Fill]] = []
    for m in _ALTER.finditer(script):
        statement = m.group(0)
        if m.group("shape").strip().lower() != "rectangle" or m.group("fill").strip().lower() != "solid":
            raise ValueError(f"only rectangle/solid alterPixels can be imported: {statement}")
        props = _properties(m.group("shape_params"))
        coords = []
        for short, long in (("l", "left"), ("t", "top"), ("r", "right"), ("b", "bottom")):
            value = props.get(short, props.get(long))
            if value is None or not re.fullmatch(r"-?\d+", value):
                raise ValueError(f"rectangle needs whole-number {short}/{long}: {statement}")
            coords.append(int(value))
        l, t, r, b = coords
        rect = Rect(min(l, r), min(t, b), max(l, r), max(t, b))
        fp = _properties(m.group("fill_params"))
        fill = BLACK
        try:
            if any(k in fp for k in ("r", "red", "g", "green")):
                fill = Fill.colour(int(fp.get("r", fp.get("red", 0))), int(fp.get("g", fp.get("green", 0))),
                                   int(fp.get("b", fp.get("blue", 0))))
            elif "v" in fp or "value" in fp:
                level = int(fp.get("v", fp.get("value", 0)))
                fill = BLACK if level == 0 else Fill.grey(level)
        except ValueError:
            fill = BLACK  # DicomEdit: an unparseable fill is black
        found.append((rect, fill))
    return found
