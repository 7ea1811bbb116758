"""Burn text into pixels the way a modality does, and remember exactly where it went.

Text is rendered with Pillow's bundled default font (no system fonts, no network) into an alpha
mask, then blended into the image with an "ink" value chosen per modality (bright for
MONOCHROME2, *low* stored values for MONOCHROME1, white/yellow for colour). Each text item's box
is the bounding box of its rendered ink plus a small margin, in the DicomEdit convention
``l <= x < r, t <= y < b``, so a redactor that blacks out the recorded boxes removes every inked
pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from desktop_client.core.geometry import Rect

#: Pixels added around the ink so anti-aliasing fringes are inside the box.
BOX_MARGIN = 2


@dataclass(frozen=True, slots=True)
class TextItem:
    """One line of text a modality prints in an image corner."""

    field: str  # which header value it shows ("PatientName", "StudyDate", "technique", ...)
    text: str
    corner: str  # "tl", "tr", "bl" or "br"
    phi: bool = True


@dataclass(frozen=True, slots=True)
class BurnedText:
    """Where a text item ended up."""

    field: str
    text: str
    phi: bool
    rect: Rect


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _spacing(font_px: int) -> tuple[int, int]:
    """(line height, margin from the image edge) for a font size."""
    return font_px + max(3, font_px // 3), max(6, font_px // 2)


def top_band_height(lines: int, font_px: int) -> int:
    """Rows taken by ``lines`` lines of top-corner text (where an ultrasound sector may start)."""
    line_h, margin = _spacing(font_px)
    return margin + lines * line_h


def text_mask(rows: int, columns: int, items: list[TextItem],
              font_px: int) -> tuple[np.ndarray, list[BurnedText]]:
    """Alpha mask (float32 in [0, 1]) with all items drawn, and each item's ink box.

    Lines stack from the corner inwards in the order given (top corners downwards, bottom
    corners upwards from the last line).
    """
    font = _font(font_px)
    line_h, margin = _spacing(font_px)
    per_corner: dict[str, int] = {}
    combined = np.zeros((rows, columns), dtype=np.float32)
    burned: list[BurnedText] = []
    bottom_counts = {c: sum(1 for i in items if i.corner == c) for c in ("bl", "br")}
    for item in items:
        index = per_corner.get(item.corner, 0)
        per_corner[item.corner] = index + 1
        width = int(np.ceil(font.getlength(item.text)))
        x = margin if item.corner in ("tl", "bl") else columns - margin - width
        if item.corner in ("tl", "tr"):
            y = margin + index * line_h
        else:
            y = rows - margin - (bottom_counts[item.corner] - index) * line_h
        layer = Image.new("L", (columns, rows), 0)
        ImageDraw.Draw(layer).text((x, y), item.text, fill=255, font=font)
        bbox = layer.getbbox()
        if bbox is None:
            raise ValueError(f"text {item.text!r} does not fit in a {columns}x{rows} image")
        l, t, r, b = bbox
        rect = Rect(l - BOX_MARGIN, t - BOX_MARGIN, r + BOX_MARGIN, b + BOX_MARGIN).clipped(columns, rows)
        assert rect is not None
        np.maximum(combined, np.asarray(layer, dtype=np.float32) / 255.0, out=combined)
        burned.append(BurnedText(item.field, item.text, item.phi, rect))
    return combined, burned


def blend(image: np.ndarray, alpha: np.ndarray, ink: float | tuple[int, int, int]) -> np.ndarray:
    """``image`` with ``ink`` blended in where ``alpha`` > 0 (float result; caller casts).

    Works for grey ``(rows, cols)`` and colour ``(rows, cols, 3)`` images.
    """
    img = image.astype(np.float32)
    if img.ndim == 3:
        a = alpha[..., None]
        ink_arr = np.asarray(ink, dtype=np.float32).reshape(1, 1, -1)
        return img * (1.0 - a) + ink_arr * a
    assert not isinstance(ink, tuple), "a grey image takes a grey ink"
    return img * (1.0 - alpha) + np.float32(ink) * alpha
