"""Small widgets every screen uses: a page header, the inline message bar, a card frame.

Errors are shown inline, next to what failed (``MessageBar``), instead of in modal dialogs.
"""

from __future__ import annotations

from typing import Literal

from PySide6 import QtGui
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QResizeEvent, QTextDocumentFragment
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_client.core.formatting import human_bytes

__all__ = ["Card", "Level", "MessageBar", "clear_layout", "header", "hint", "human_bytes", "primary_button",
           "restyle", "table_item"]

#: How a message is styled (style.qss: ``QLabel#error`` …): something failed or blocks, something
#: worked, neutral information, or a quiet remark.
Level = Literal["error", "ok", "info", "hint"]


def restyle(widget: QWidget, name: str) -> None:
    """Give ``widget`` the style-sheet name ``name`` and apply it now (Qt does not re-polish by itself)."""
    if widget.objectName() != name:
        widget.setObjectName(name)
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)


class _ElidedLabel(QLabel):
    """A label that shows as much of its text as fits on one line, ending with "…".

    The label's own text is the elided one (what is on screen, what accessibility reads as its
    value); the bar keeps the full text and puts it in the tooltip and accessible description.
    """

    def __init__(self) -> None:
        super().__init__()
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(width, 0)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(120, super().sizeHint().height())


class MessageBar(QWidget):
    """The one inline message: a level, a text, optional detail and an optional action link.

    Two shapes, one policy. By default the bar wraps its text, can be selected and copied, and
    takes no space while it has nothing to say (forms and pages, where a message appears after an
    action). With ``one_line=True`` it is always present and exactly one line high, eliding a long
    text (the full text is in the tooltip): the review screens use it, where a banner that came
    and went, or grew to two lines, would move the image under the cursor between two drags.

    Either way the full text and the detail are the accessible description (a screen reader gets
    what an elided line hides), and a new message is announced to assistive technology: errors
    interrupt, the other levels wait their turn. Messages stay until replaced or cleared — a
    message that vanishes on a timer is missed by whoever looked away.
    """

    #: A link in the text (``<a href=…>``, wrapping bars only) was activated.
    actionClicked = Signal()
    #: The message was replaced or cleared: what its owner showed beside it (an offer) goes with it.
    messageChanged = Signal()

    def __init__(self, parent: QWidget | None = None, *, one_line: bool = False) -> None:
        super().__init__(parent)
        self._one_line = one_line
        self._text = ""
        self._more = ""
        self._level: Level = "hint"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label: QLabel
        if one_line:
            self._line = _ElidedLabel()
            self.label = self._line
            self.label.setContentsMargins(6, 0, 6, 0)
            self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.setFixedHeight(self.label.fontMetrics().height() + 10)
        else:
            self.label = QLabel()
            self.label.setWordWrap(True)
            # Contents margins (not QSS padding) so the size hint always includes the inner space.
            self.label.setContentsMargins(10, 6, 10, 6)
            self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                               | Qt.TextInteractionFlag.LinksAccessibleByMouse
                                               | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
            self.label.linkActivated.connect(lambda _link: self.actionClicked.emit())
            self.hide()
        restyle(self.label, self._level)
        layout.addWidget(self.label)

    def say(self, level: Level, text: str, more: str = "") -> None:
        """Show ``text`` styled as ``level``; ``more`` (how to act on it) goes to the tooltip.

        No text clears the bar (a wrapping bar hides, a one-line bar stays, empty).
        """
        if not text:
            self.clear()
            return
        if (level, text, more) == (self._level, self._text, self._more) \
                and (self._one_line or not self.isHidden()):
            return  # nothing changed: no restyle (a bulk search refreshes hundreds of cards' lines)
        new = (level, text) != (self._level, self._text)
        self._level, self._text, self._more = level, text, more
        restyle(self.label, level)
        full = f"{text}\n{more}" if more else text
        self.label.setToolTip(full)
        self.label.setAccessibleDescription(self._spoken(full))
        if self._one_line:
            self._line.set_full_text(text)
        else:
            self.label.setText(text)
            self.show()
        if new:
            self._announce(level, text)
        self.messageChanged.emit()

    def error(self, text: str, more: str = "") -> None:
        self.say("error", text, more)

    def ok(self, text: str, more: str = "") -> None:
        self.say("ok", text, more)

    def info(self, text: str, more: str = "") -> None:
        self.say("info", text, more)

    def clear(self) -> None:
        self._text, self._more, self._level = "", "", "hint"
        restyle(self.label, self._level)
        self.label.setToolTip("")
        self.label.setAccessibleDescription("")
        if self._one_line:
            self._line.set_full_text("")
        else:
            self.label.clear()
            self.hide()
        self.messageChanged.emit()

    @property
    def kind(self) -> Level | Literal[""]:
        """The level of the message shown; empty when there is none."""
        return self._level if self._text else ""

    @property
    def text(self) -> str:
        """The full text shown, however narrow the bar (elided on screen)."""
        return self._text

    def _spoken(self, text: str) -> str:
        """``text`` as a screen reader should say it: what the label shows (a link's words, not
        its markup, where the wrapping label renders rich text; the one-line label shows it plain)."""
        if self._one_line or not QtGui.Qt.mightBeRichText(text):
            return text
        return QTextDocumentFragment.fromHtml(text).toPlainText()

    def _announce(self, level: Level, text: str) -> None:
        """Tell a screen reader about the new message (a label's silent change goes unheard).

        Hints are not announced (quiet remarks, read when the user goes to them), nor messages on a
        page that is not on screen.
        """
        if level == "hint" or not QAccessible.isActive() or not self.isVisible():
            return
        event = QAccessibleAnnouncementEvent(self.label, self._spoken(text))
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive if level == "error"
                            else QAccessible.AnnouncementPoliteness.Polite)
        QAccessible.updateAccessibility(event)


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


def table_item(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item of a cell the page filled itself; an empty one is a bug, reported as such here
    rather than as an ``AttributeError`` on None further on."""
    item = table.item(row, column)
    if item is None:
        raise LookupError(f"no item in row {row}, column {column} of {table.objectName() or 'the table'}")
    return item


def clear_layout(layout: QLayout) -> None:
    """Take every item out of ``layout`` and delete its widget (rows rebuilt from new data)."""
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.deleteLater()


def primary_button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName("primary")
    button.setDefault(False)
    return button
