"""Rectangles against one image: clip, report what lies outside, widen to what is really painted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from desktop_client.core.geometry import Fill, PixelEdit, Rect
from desktop_client.pixels.errors import RedactionError


@dataclass(frozen=True, slots=True)
class Box:
    """A clipped rectangle with its fill, in script order."""

    rect: Rect
    fill: Fill


def clip_edits(edits: Sequence[PixelEdit], columns: int, rows: int) -> tuple[list[Box], list[Rect]]:
    """Clip every edit to the image; return (boxes to paint, rectangles entirely outside)."""
    boxes: list[Box] = []
    outside: list[Rect] = []
    for edit in edits:
        if (edit.shape or "rectangle").strip().lower() != "rectangle":
            raise RedactionError(f"only rectangles can be redacted, not {edit.shape!r}")
        clipped = edit.rect.clipped(columns, rows)
        if clipped is None:
            outside.append(edit.rect)
        else:
            boxes.append(Box(clipped, edit.fill))
    return boxes, outside


def widen_to_pairs(rect: Rect, columns: int) -> Rect:
    """YBR_*_422 shares chroma between horizontal pixel pairs: paint whole pairs."""
    left = rect.left - rect.left % 2
    right = min(columns, rect.right + rect.right % 2)
    return Rect(left, rect.top, right, rect.bottom)


def align(rect: Rect, block_w: int, block_h: int, columns: int, rows: int) -> Rect:
    """Smallest block-grid-aligned superset of ``rect`` (JPEG MCUs), clipped to the image."""
    left = rect.left - rect.left % block_w
    top = rect.top - rect.top % block_h
    right = -(-rect.right // block_w) * block_w
    bottom = -(-rect.bottom // block_h) * block_h
    return Rect(left, top, min(right, columns), min(bottom, rows))
