"""Small widgets every screen uses: a page header, an inline message bar, a card frame.

Errors are shown inline, next to what failed (``MessageBar``), instead of in modal dialogs.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_client.core.formatting import human_bytes

__all__ = ["MessageBar", "Card", "header", "hint", "human_bytes", "primary_button"]


class MessageBar(QWidget):
    """An inline message (error, success or information) with an optional action link."""

    actionClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        # Contents margins (not QSS padding) so the size hint always includes the inner space.
        self.label.setContentsMargins(10, 6, 10, 6)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.LinksAccessibleByMouse
                                           | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.label.linkActivated.connect(lambda _link: self.actionClicked.emit())
        layout.addWidget(self.label)
        self.hide()

    def _show(self, kind: str, text: str) -> None:
        self.label.setObjectName(kind)
        self.label.setText(text)
        self.label.style().unpolish(self.label)
        self.label.style().polish(self.label)
        self.show()

    def say(self, kind: str, text: str) -> None:
        """Show ``text`` styled as ``kind`` (``error``, ``ok``, ``info``); no text hides the bar."""
        if text:
            self._show(kind, text)
        else:
            self.clear()

    def error(self, text: str) -> None:
        self._show("error", text)

    def ok(self, text: str) -> None:
        self._show("ok", text)

    def info(self, text: str) -> None:
        self._show("info", text)

    def clear(self) -> None:
        self.label.clear()
        self.hide()

    @property
    def kind(self) -> str:
        return self.label.objectName() if self.isVisibleTo(self.parentWidget() or self) else ""

    @property
    def text(self) -> str:
        return self.label.text()


class Card(QFrame):
    """A bordered panel grouping related controls."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(14, 12, 14, 12)


def header(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("h1")
    label.setAccessibleName(text)
    return label


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


def primary_button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName("primary")
    button.setDefault(False)
    return button
