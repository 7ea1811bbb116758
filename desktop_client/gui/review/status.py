"""One-line status labels whose height never changes.

The review step used to show and hide banners and let word-wrapped labels grow to two or three
lines: after the first box the viewer shrank and the image moved under the cursor, so the next
drag landed somewhere else. These labels are always present, exactly one line high, and elide a
long text (the full text is in the tooltip), so the layout around the viewer stays fixed.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QWidget


class StatusLine(QLabel):
    """A single-line label: fixed height, elided text, full text as tooltip, styled by ``kind``."""

    def __init__(self, parent: QWidget | None = None, kind: str = "hint") -> None:
        super().__init__(parent)
        self._full = ""
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 10)
        self.set_kind(kind)

    def set_status(self, text: str, kind: str | None = None, more: str = "") -> None:
        """Show ``text``; the tooltip holds it in full, followed by ``more`` (how to act on it)."""
        if kind is not None:
            self.set_kind(kind)
        self._full = text
        self.setToolTip(f"{text}\n{more}" if more else text)
        self.update()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:  # the full text, whatever width it is shown at
        return self._full

    def set_kind(self, kind: str) -> None:
        if self.objectName() != kind:
            self.setObjectName(kind)
            self.style().unpolish(self)
            self.style().polish(self)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(120, self.height())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        QFrame.paintEvent(self, _event)  # background and border from the stylesheet
        painter = QPainter(self)
        area = self.contentsRect().adjusted(6, 0, -6, 0)
        text = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, area.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(area, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        painter.end()
