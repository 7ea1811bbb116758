"""Screen ⇄ image pixel coordinates and rectangle editing maths, free of Qt so it is unit-tested.

Image coordinates follow DICOM and DicomEdit: x is the column, y the row, the origin is the
top-left corner of the top-left pixel, and pixel (c, r) covers ``[c, c+1) × [r, r+1)``. A drag
from screen point A to B becomes the smallest whole-pixel rectangle containing every pixel the
drag touched, clipped to the image — so a box drawn over text always covers that text, never
half a pixel less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from desktop_client.core.geometry import Rect

#: Handle names: corners and edge midpoints, as (x-role, y-role); "l"/"r"/"t"/"b" or "" (none).
HANDLES = ("tl", "t", "tr", "r", "br", "b", "bl", "l")


@dataclass(frozen=True, slots=True)
class ViewTransform:
    """``screen = image * scale + offset`` (the widget shows the image scaled and shifted)."""

    scale: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0

    def to_image(self, sx: float, sy: float) -> tuple[float, float]:
        return (sx - self.offset_x) / self.scale, (sy - self.offset_y) / self.scale

    def to_screen(self, ix: float, iy: float) -> tuple[float, float]:
        return ix * self.scale + self.offset_x, iy * self.scale + self.offset_y

    def zoomed(self, factor: float, anchor_x: float, anchor_y: float,
               min_scale: float = 0.02, max_scale: float = 64.0) -> "ViewTransform":
        """Zoom by ``factor`` keeping the image point under the screen anchor where it is."""
        new_scale = min(max_scale, max(min_scale, self.scale * factor))
        ix, iy = self.to_image(anchor_x, anchor_y)
        return ViewTransform(new_scale, anchor_x - ix * new_scale, anchor_y - iy * new_scale)

    def panned(self, dx: float, dy: float) -> "ViewTransform":
        return ViewTransform(self.scale, self.offset_x + dx, self.offset_y + dy)


def fit_transform(columns: int, rows: int, width: int, height: int, margin: int = 8) -> ViewTransform:
    """Scale that shows the whole image centred in a ``width × height`` widget."""
    if columns <= 0 or rows <= 0 or width <= 2 * margin or height <= 2 * margin:
        return ViewTransform()
    scale = min((width - 2 * margin) / columns, (height - 2 * margin) / rows)
    return ViewTransform(scale, (width - columns * scale) / 2, (height - rows * scale) / 2)


def pixel_at(ix: float, iy: float, columns: int, rows: int) -> tuple[int, int] | None:
    """The (column, row) of the pixel containing an image point, or None outside the image."""
    c, r = math.floor(ix), math.floor(iy)
    return (c, r) if 0 <= c < columns and 0 <= r < rows else None


def rect_from_points(x0: float, y0: float, x1: float, y1: float, columns: int, rows: int) -> Rect | None:
    """Whole-pixel rectangle covering every pixel between two image points; None if empty."""
    left, right = sorted((x0, x1))
    top, bottom = sorted((y0, y1))
    rect = Rect(math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom))
    if rect.right == rect.left:  # a click, or a perfectly vertical drag: take the touched column
        rect = Rect(rect.left, rect.top, rect.left + 1, rect.bottom)
    if rect.bottom == rect.top:
        rect = Rect(rect.left, rect.top, rect.right, rect.top + 1)
    return rect.clipped(columns, rows)


def moved(rect: Rect, dx: int, dy: int, columns: int, rows: int) -> Rect:
    """``rect`` shifted by whole pixels, kept inside the image (it keeps its size)."""
    dx = max(-rect.left, min(columns - rect.right, dx))
    dy = max(-rect.top, min(rows - rect.bottom, dy))
    return Rect(rect.left + dx, rect.top + dy, rect.right + dx, rect.bottom + dy)


def resized(rect: Rect, handle: str, ix: float, iy: float, columns: int, rows: int) -> Rect:
    """``rect`` with the edges named by ``handle`` dragged to image point (ix, iy).

    Edges snap to pixel boundaries, stay inside the image and never cross the opposite edge
    (a rectangle is always at least one pixel wide and high).
    """
    left, top, right, bottom = rect.left, rect.top, rect.right, rect.bottom
    x = max(0, min(columns, round(ix)))
    y = max(0, min(rows, round(iy)))
    if "l" in handle:
        left = min(x, right - 1)
    if "r" in handle:
        right = max(x, left + 1)
    if "t" in handle:
        top = min(y, bottom - 1)
    if "b" in handle:
        bottom = max(y, top + 1)
    return Rect(left, top, right, bottom)


def handle_points(rect: Rect) -> dict[str, tuple[float, float]]:
    """Image-space positions of the eight resize handles."""
    cx, cy = (rect.left + rect.right) / 2, (rect.top + rect.bottom) / 2
    return {"tl": (rect.left, rect.top), "t": (cx, rect.top), "tr": (rect.right, rect.top),
            "r": (rect.right, cy), "br": (rect.right, rect.bottom), "b": (cx, rect.bottom),
            "bl": (rect.left, rect.bottom), "l": (rect.left, cy)}


def hit_test(rects: list[Rect], transform: ViewTransform, sx: float, sy: float,
             handle_radius: float = 6.0, selected: int | None = None) -> tuple[int, str] | None:
    """What is under a screen point: ``(index, handle)`` for a handle, ``(index, "move")`` inside.

    Handles of the selected rectangle win, then the topmost (last drawn) rectangle containing
    the point, so a small box drawn over a large one can still be grabbed.
    """
    order = list(range(len(rects)))[::-1]
    if selected is not None and 0 <= selected < len(rects):
        order.remove(selected)
        order.insert(0, selected)
    for index in order:
        for name, (hx, hy) in handle_points(rects[index]).items():
            px, py = transform.to_screen(hx, hy)
            if abs(px - sx) <= handle_radius and abs(py - sy) <= handle_radius:
                return index, name
    ix, iy = transform.to_image(sx, sy)
    for index in order:
        r = rects[index]
        if r.left <= ix <= r.right and r.top <= iy <= r.bottom:
            return index, "move"
    return None
