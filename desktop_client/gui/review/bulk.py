"""Bulk review (several sessions): Valid groups and Unsupported scans as cards."""

from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QStackedWidget,
    QVBoxLayout, QWidget,
)

from desktop_client.grouping import UnsupportedGroup, ValidGroup
from desktop_client.gui.review.cards import GroupCard
from desktop_client.gui.review.dialogs import run_modal
from desktop_client.gui.review.findings import TextFindings
from desktop_client.gui.review.group_dialog import GroupReviewDialog
from desktop_client.plan.review import ReviewModel
from desktop_client.gui.review.thumbs import ThumbnailCache
from desktop_client.gui.viewer.widget import CHECKED_STYLE
from desktop_client.templates import Template, TemplateStore


class _CardGrid(QWidget):
    """Cards in as many columns as fit, re-flowed on resize."""

    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards: list[GroupCard] = []
        self._grid = QGridLayout(self)
        self._grid.setSpacing(12)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._columns = 0
        self._empty = QLabel(empty_text)
        self._empty.setObjectName("hint")
        self._empty.setWordWrap(True)

    def set_cards(self, cards: list[GroupCard]) -> None:
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = cards
        self._columns = 0
        self._relayout()

    def _relayout(self) -> None:
        columns = max(1, (self.width() - 12) // 372)
        if columns == self._columns and self._grid.count() == max(1, len(self.cards)):
            return
        self._columns = columns
        while self._grid.count():
            self._grid.takeAt(0)
        if not self.cards:
            self._grid.addWidget(self._empty, 0, 0)
            self._empty.show()
            return
        self._empty.hide()
        for i, card in enumerate(self.cards):
            self._grid.addWidget(card, i // columns, i % columns, Qt.AlignmentFlag.AlignTop)
        last = (len(self.cards) - 1) // columns + 1
        for row in range(last + 1):
            self._grid.setRowStretch(row, 1 if row == last else 0)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._relayout()


class BulkReviewPage(QWidget):
    """Toggle between Valid groups and Unsupported scans; "Review…" opens a group's grid."""

    changed = Signal()
    manageTemplates = Signal()

    def __init__(self, review: ReviewModel, store: TemplateStore, parent: QWidget | None = None,
                 findings: TextFindings | None = None) -> None:
        super().__init__(parent)
        self.review, self.store, self.findings = review, store, findings
        self.held_back: Callable[[Iterable[str]], list[tuple[str, str]]] = review.held_back
        self.thumbs = ThumbnailCache(self, capacity=400)
        grouping = review.grouping
        n_valid = sum(len(g.members) for g in grouping.valid)
        n_unsup = sum(len(g.members) for g in grouping.unsupported)
        self.valid_button = QPushButton(f"Valid scans ({n_valid})")
        self.unsupported_button = QPushButton(f"Unsupported scans ({n_unsup})")
        toggle = QButtonGroup(self)
        for i, b in enumerate((self.valid_button, self.unsupported_button)):
            b.setCheckable(True)
            toggle.addButton(b, i)
        for b in (self.valid_button, self.unsupported_button):
            b.setStyleSheet(CHECKED_STYLE)
        self.valid_button.setChecked(True)
        toggle.idClicked.connect(self.show_view)
        self.manage_button = QPushButton("Manage templates…")
        self.manage_button.clicked.connect(self.manageTemplates.emit)
        top = QHBoxLayout()
        top.addWidget(self.valid_button)
        top.addWidget(self.unsupported_button)
        top.addStretch(1)
        top.addWidget(self.manage_button)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.setObjectName("hint")

        self.valid_grid = _CardGrid("No scan can be redacted in this selection.")
        self.unsupported_grid = _CardGrid("Every scan is an image that can be reviewed and redacted.")
        self.stack = QStackedWidget()
        for grid in (self.valid_grid, self.unsupported_grid):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(grid)
            self.stack.addWidget(scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.intro)
        layout.addWidget(self.stack, 1)
        self.valid_grid.set_cards([self._card(i + 1, g) for i, g in enumerate(grouping.valid)])
        self.unsupported_grid.set_cards([self._card(i + 1, g) for i, g in enumerate(grouping.unsupported)])
        #: each scan's card (the groups are fixed for the page's life): search results find theirs
        self._card_of = {uid: card for card in self.cards() for uid in review.group_members(card.group)}
        self.show_view(0)

    def set_verdicts(self, held_back: Callable[[Iterable[str]], list[tuple[str, str]]]) -> None:
        """Count held-back scans through the review step's cached verdicts (2,000 scans)."""
        self.held_back = held_back
        for card in self.cards():
            card.held_back = held_back
            card.refresh()

    def _card(self, index: int, group: ValidGroup | UnsupportedGroup) -> GroupCard:
        card = GroupCard(index, group, self.review, self.store, self.thumbs)
        card.held_back = self.held_back
        card.reviewRequested.connect(self.open_group)
        card.applyRequested.connect(self.apply_template)
        return card

    def cards(self) -> list[GroupCard]:
        return self.valid_grid.cards + self.unsupported_grid.cards

    def show_view(self, which: int) -> None:
        self.stack.setCurrentIndex(which)
        (self.valid_button if which == 0 else self.unsupported_button).setChecked(True)
        if which == 0:
            self.intro.setText("Scans are grouped by modality, image size and SOP class, so one template fits "
                               "a whole group. Open each group, look at every scan for burned-in text, and apply "
                               "or create templates; the thumbnails show the real redacted pixels. Every image scan is searched for "
                               "burned-in text in the background; the search helps but cannot certify an image clean.")
        else:
            self.intro.setText("These scans cannot be redacted (not images, several image sizes, or an "
                               "undecodable compression). They can still be uploaded as they are or excluded.")

    def dialog_for(self, group: ValidGroup | UnsupportedGroup) -> GroupReviewDialog:
        dialog = GroupReviewDialog(self.review, group, self.store, self, self.findings)
        dialog.changed.connect(self.refresh)
        return dialog

    def open_group(self, group: ValidGroup | UnsupportedGroup, select: list[str] | None = None) -> None:
        dialog = self.dialog_for(group)
        if select:
            dialog.select_uids(select)
            dialog.view.scrollTo(dialog.model.index(dialog.model.row_of(select[0])))
        run_modal(dialog)  # freed afterwards with its thumbnails
        self.refresh()

    def apply_template(self, group: ValidGroup | UnsupportedGroup, template: Template) -> int:
        """Apply a saved template to every scan of a group (the card's offer); how many took it."""
        applied = self.review.apply_templates(self.review.group_members(group), [template])
        self.review.reviewed_groups.add(self.review.group_id(group))
        self.refresh()
        return applied

    def group_of(self, uid: str) -> ValidGroup | UnsupportedGroup | None:
        return next((card.group for card in self.cards() if uid in self.review.group_members(card.group)), None)

    def reveal(self, uid: str) -> None:
        """Open the group of a scan that needs the user, with every such scan of it ticked."""
        group = self.group_of(uid)
        if group is None:
            return
        members = set(self.review.group_members(group))
        held = [u for u, _ in self.held_back(members)] or [u for u in self.review.unconfirmed() if u in members]
        self.open_group(group, held or [uid])

    def found(self, uids: set[str]) -> None:
        """The text search finished for these scans: their groups' cards recount their state line
        (a bulk search calls this for every batch of results: only what the results change)."""
        for card in {self._card_of[u] for u in uids if u in self._card_of}:
            card.refresh_state()

    def refresh(self) -> None:
        self.changed.emit()  # first: the step recounts its verdicts, which the cards then show
        for card in self.cards():
            card.refresh()
