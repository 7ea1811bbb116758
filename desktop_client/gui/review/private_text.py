"""The scan panel's control for header text the anonymization scripts keep (issue 14 §2).

A scan whose private elements hold one of the patient's identifying header values, or which
carries an overlay, and which the destination's scripts keep (``plan.privatetext``, checked in
the background as Review opens) is held back until a person chooses here: strip it (the built-in
step runs before the scripts and is recorded with the transfer) or send it as it is. The choice is
a review decision like the others (``ReviewModel.decide_private_text``): kept in the draft, in
plan files and in the receipt. The control sits in the panel's bottom row and shows only for such
scans, so the viewer never moves.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from desktop_client.plan.privatetext import SEND, STRIP
from desktop_client.plan.review import ReviewModel

#: (decision, what the combo box says)
CHOICES = (("", "Decide…"), (STRIP, "Strip private text"), (SEND, "Send as is"))


class PrivateTextControl(QWidget):
    """"Header text: [Decide… | Strip private text | Send as is]" for the scan on screen."""

    decided = Signal(str)  # uid

    def __init__(self, review: ReviewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.review = review
        self.uid: str | None = None
        self.label = QLabel("Header text:")
        self.combo = QComboBox()
        self.combo.setAccessibleName("Header text the scripts keep")
        for _, text in CHOICES:
            self.combo.addItem(text)
        self.combo.activated.connect(self._on_activated)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.combo)
        self.show_scan(None)

    def show_scan(self, uid: str | None) -> None:
        """Show the control for ``uid`` when its header text needs (or has) a decision."""
        self.uid = uid
        check = self.review.private_checks.get(uid) if uid is not None else None
        choice = self.review.choices.get(uid) if uid is not None else None
        relevant = check is not None and bool(check.kept) and choice is not None and not choice.excluded
        self.setVisible(relevant)
        if not relevant:
            return
        assert check is not None and choice is not None
        self.combo.setCurrentIndex(next(i for i, (d, _) in enumerate(CHOICES) if d == choice.private_text))
        lines = [c.describe() for c in check.kept]
        self.setToolTip("The anonymization scripts keep header text that may identify the patient "
                        f"(checked on this machine{'; ' + check.error if check.error else ''}):\n"
                        + "\n".join(lines)
                        + "\n\n“Strip private text” removes the private elements holding text and the "
                          "overlays before the scripts run; “Send as is” sends them. The receipt records it.")

    def decide(self, decision: str) -> None:
        if self.uid is None:
            return
        self.review.decide_private_text([self.uid], decision)
        self.show_scan(self.uid)
        self.decided.emit(self.uid)

    def _on_activated(self, index: int) -> None:
        self.decide(CHOICES[index][0])
