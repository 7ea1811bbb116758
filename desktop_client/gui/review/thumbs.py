"""Thumbnails for cards and grids: loaded in the background, kept in a bounded memory cache.

The pixel engine's ``thumbnail`` does the decoding and keeps a disk cache; here we only hold a
limited number of small pixmaps (LRU), so reviewing 2,000 scans costs a few tens of MB, never
the full images. A thumbnail with rectangles is the engine's real redacted render, so the grid
shows exactly what will be uploaded.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Hashable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap

from desktop_client.core.geometry import Rect
from desktop_client.gui.viewer.engine import thumbnail
from desktop_client.gui.viewer.jobs import ThumbnailQueue
from desktop_client.gui.viewer.qimage import to_pixmap
from desktop_client.scanning.model import Scan

THUMB = (160, 160)
#: Sizes thumbnails are decoded at; a tile shows the smallest one at least as large as itself, so
#: dragging the tile-size slider re-decodes a few times, not at every pixel.
SIZES = (160, 320, 480)
ThumbKey = tuple[str, tuple[Rect, ...], int]


class ThumbnailCache(QObject):
    """``pixmap(scan, rects)`` returns a cached pixmap or None and queues the load; ``ready`` follows."""

    ready = Signal(object)  # ThumbKey

    def __init__(self, parent: QObject | None = None, capacity: int = 600) -> None:
        super().__init__(parent)
        self.size = THUMB[0]
        self._pixmaps: OrderedDict[Hashable, QPixmap] = OrderedDict()
        self._errors: dict[Hashable, str] = {}
        self._capacity = capacity
        self._queue = ThumbnailQueue(self)
        self._queue.done.connect(self._on_done)

    def set_size(self, pixels: int) -> None:
        """Decode new thumbnails at the smallest standard size covering ``pixels``."""
        self.size = next((s for s in SIZES if s >= pixels), SIZES[-1])

    def key(self, scan: Scan, rects: Sequence[Rect] = ()) -> ThumbKey:
        return (scan.representative.sop_instance_uid, tuple(rects), self.size)

    def pixmap(self, scan: Scan, rects: Sequence[Rect] = (), *, load: bool = True) -> QPixmap | None:
        key = self.key(scan, rects)
        pix = self._pixmaps.get(key)
        if pix is not None:
            self._pixmaps.move_to_end(key)
            return pix
        if load and key not in self._errors:
            instance, boxes = scan.representative, list(rects)
            size = (self.size, self.size)
            self._queue.request(key, lambda: thumbnail(instance, size, boxes or None))
        return None

    def error(self, scan: Scan, rects: Sequence[Rect] = ()) -> str | None:
        return self._errors.get(self.key(scan, rects))

    def forget_pending(self, keep: set[Hashable]) -> None:
        """Drop queued loads not in ``keep`` (cards that scrolled out of view)."""
        self._queue.retain(keep)

    @property
    def idle(self) -> bool:
        return self._queue.idle

    def __len__(self) -> int:
        return len(self._pixmaps)

    def _on_done(self, payload: tuple[Hashable, np.ndarray | None, BaseException | None]) -> None:
        key, result, error = payload  # only ``thumbnail`` jobs are queued here: an array or an error
        if error is not None or result is None:
            self._errors[key] = str(error or "no image")
        else:
            self._pixmaps[key] = to_pixmap(result)
            while len(self._pixmaps) > self._capacity:
                self._pixmaps.popitem(last=False)
        self.ready.emit(key)


def placeholder(size: int, text: str = "", dark: bool = True) -> QPixmap:
    """Grey tile shown while a thumbnail loads, or with a reason when there is no image."""
    pix = QPixmap(size, size)
    pix.fill(QColor("#1c232a" if dark else "#dde3e8"))
    if text:
        painter = QPainter(pix)
        painter.setPen(QColor("#9aa7b2"))
        painter.drawText(pix.rect().adjusted(6, 6, -6, -6),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
        painter.end()
    return pix
