"""A small drawing of a template: the image outline at its aspect ratio and the boxes in it."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_client.core.geometry import Rect


def paint_layout(painter: QPainter, area: QRectF, columns: int, rows: int, rects: list[Rect],
                 background: QPixmap | None = None) -> None:
    """Draw the image frame fitted into ``area`` and the rectangles filled black with an outline."""
    columns = columns or max((r.right for r in rects), default=1)
    rows = rows or max((r.bottom for r in rects), default=1)
    scale = min(area.width() / columns, area.height() / rows)
    w, h = columns * scale, rows * scale
    x0, y0 = area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2
    frame = QRectF(x0, y0, w, h)
    if background is not None:
        painter.drawPixmap(frame.toRect(), background)
    else:
        painter.fillRect(frame, QColor("#5b6770"))
    for r in rects:
        box = QRectF(x0 + r.left * scale, y0 + r.top * scale, r.width * scale, r.height * scale)
        painter.fillRect(box, QColor("#000000"))
        painter.setPen(QPen(QColor("#ffb000"), 1))
        painter.drawRect(box)
    painter.setPen(QPen(QColor("#2b343c"), 1))
    painter.drawRect(frame)


def layout_pixmap(columns: int, rows: int, rects: list[Rect], size: int = 96) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    paint_layout(painter, QRectF(2, 2, size - 4, size - 4), columns, rows, rects)
    painter.end()
    return pix


class TemplatePreview(QWidget):
    """Live preview used by the template manager and the apply dialog."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns = self._rows = 0
        self._rects: list[Rect] = []
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_layout(self, columns: int | None, rows: int | None, rects: list[Rect]) -> None:
        self._columns, self._rows, self._rects = columns or 0, rows or 0, list(rects)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 180)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        if self._rects or self._columns:
            paint_layout(painter, QRectF(self.rect()).adjusted(4, 4, -4, -4), self._columns, self._rows, self._rects)
        painter.end()
