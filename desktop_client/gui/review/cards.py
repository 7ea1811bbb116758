"""Group cards of the bulk view: a 2×2 mosaic, the grouping parameters, templates and review state."""

from __future__ import annotations

import html
from typing import Callable, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from desktop_client.grouping import UnsupportedGroup, ValidGroup, free_text_reason, image_text_line
from desktop_client.plan.privatetext import describe
from desktop_client.plan.progress import ReviewProgress
from desktop_client.scanning.freetext import FREE_TEXT
from desktop_client.plan.review import ReviewModel
from desktop_client.gui.review.thumbs import ThumbnailCache, placeholder
from desktop_client.gui.widgets import Level, MessageBar
from desktop_client.templates import Template, TemplateStore

_REASON_LINES = 6  # per-scan reasons listed on the free-text card (the group dialog lists all)

MOSAIC = 76


class GroupCard(QFrame):
    """One Valid or Unsupported group; "Review…" asks the page to open the group's grid."""

    reviewRequested = Signal(object)  # the group
    applyRequested = Signal(object, object)  # the group, the saved template offered for it

    def __init__(self, index: int, group: ValidGroup | UnsupportedGroup, review: ReviewModel,
                 store: TemplateStore, thumbs: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setFixedWidth(360)
        policy = QSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)  # wrapped labels need their real height, not the hint's
        self.setSizePolicy(policy)
        self.group, self.review, self.store, self.thumbs = group, review, store, thumbs
        #: The hold-back verdicts the card counts (the review step's cache once the page sets it).
        self.held_back: Callable[[Iterable[str]], list[tuple[str, str]]] = review.held_back
        self.index = index
        self.valid = isinstance(group, ValidGroup)
        self._tiles: list[QLabel] = []
        mosaic = QGridLayout()
        mosaic.setSpacing(2)
        for i in range(4):
            tile = QLabel()
            tile.setFixedSize(MOSAIC, MOSAIC)
            tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
            mosaic.addWidget(tile, i // 2, i % 2)
            self._tiles.append(tile)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600;")
        self.title.setWordWrap(True)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.state = MessageBar(self)
        self.review_button = QPushButton("Review…")
        self.review_button.setAccessibleName(f"Review group {index}")
        self.review_button.clicked.connect(lambda: self.reviewRequested.emit(self.group))
        # A saved template that fits the group is offered on the card at once.
        self.offer_button = QPushButton()
        self.offer_button.setToolTip("Apply this saved template to every scan of the group")
        self.offer_button.clicked.connect(self._apply_offer)
        self._offered: Template | None = None
        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.details)
        text.addStretch(1)
        top = QHBoxLayout()
        mosaic_box = QVBoxLayout()
        mosaic_box.addLayout(mosaic)
        mosaic_box.addStretch(1)
        top.addLayout(mosaic_box)
        top.addLayout(text, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.state, 1)
        bottom.addWidget(self.offer_button, 0, Qt.AlignmentFlag.AlignBottom)
        bottom.addWidget(self.review_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addLayout(top)
        layout.addLayout(bottom)
        thumbs.ready.connect(self._on_thumb)
        self.refresh()

    def _apply_offer(self) -> None:
        if self._offered is not None:
            self.applyRequested.emit(self.group, self._offered)

    def _mosaic_members(self) -> list[tuple]:
        out = []
        for ref in self.group.members[:4]:
            choice = self.review.choices[ref.scan.series_instance_uid]
            rects = choice.rectangles if choice.redacted else []
            out.append((ref.scan, rects))
        return out

    def _fill_tiles(self) -> None:
        members = self._mosaic_members()
        for i, tile in enumerate(self._tiles):
            if i >= len(members):
                tile.setPixmap(QPixmap())
                tile.setStyleSheet("")
                continue
            scan, rects = members[i]
            pix = self.thumbs.pixmap(scan, rects)
            if pix is None:
                error = self.thumbs.error(scan, rects)
                pix = placeholder(MOSAIC, "no image" if error else "")
            else:
                pix = pix.scaled(MOSAIC, MOSAIC, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
            tile.setPixmap(pix)
            tile.setStyleSheet("background: #151a1f;")

    def _on_thumb(self, key: object) -> None:
        if any(self.thumbs.key(scan, rects) == key for scan, rects in self._mosaic_members()):
            self._fill_tiles()

    def refresh(self) -> None:
        group, review = self.group, self.review
        uids = review.group_members(group)
        n = len(uids)
        sessions = len({m.session.study_instance_uid for m in group.members})
        noun = f"{n} scan{'s' if n != 1 else ''} in {sessions} session{'s' if sessions != 1 else ''}"
        if isinstance(group, ValidGroup):
            self.title.setText(f"Group {self.index} · {noun}")
            colours = ", ".join(group.photometric_interpretations) or "unknown"
            self.details.setToolTip("The grouping parameters: modality, rows×columns and SOP class. "
                                    "Templates match the same three.")
            matching = {t.id: t for ref in group.members for t in self.store.matching(ref.scan)}
            templates = set(matching)
            has_boxes = any(review.choices[u].rectangles or review.choices[u].excluded for u in uids)
            self._offered = next(iter(matching.values())) if matching and not has_boxes else None
            carrying = [(u, review.private_checks[u]) for u in uids if u in review.private_checks]
            # What the destination's scripts leave of it, as checked (``plan.privatetext``).
            lines = sorted({describe(check, review.choices[u].private_text) or image_text_line(list(check.notes))
                            for u, check in carrying})
            self.details.setText(
                f"<b>{group.modality}</b> · <b>{group.rows}×{group.columns}</b><br>"
                f"{group.sop_class_name}<br>Colour: {colours}<br>"
                f"Templates: {len(templates)} matching"
                + (f"<br>In {len(carrying)} scan{'s' if len(carrying) != 1 else ''}: "
                   + "; ".join(html.escape(line) for line in lines) if carrying else ""))
        else:
            if group.reason == FREE_TEXT:  # one group for every kind, each scan with its reason
                self.title.setText(f"Contains free text · {noun}")
                lines = [f"{html.escape(m.scan.series_description or m.scan.modality or '?')}: "
                         f"{html.escape(free_text_reason(m.scan))}" for m in group.members[:_REASON_LINES]]
                more = len(group.members) - _REASON_LINES
                self.details.setText(f"{html.escape(group.reason_text)}<br>" + "<br>".join(lines)
                                     + (f"<br>… and {more} more" if more > 0 else ""))
            else:
                self.title.setText(f"{group.sop_class_name} · {noun}")
                self.details.setText(f"Cannot be redacted: {group.reason_text}")
            self._offered = None
        self.offer_button.setVisible(self._offered is not None)
        if self._offered is not None:
            name = self._offered.name if len(self._offered.name) <= 18 else self._offered.name[:17] + "…"
            self.offer_button.setText(f"Apply “{name}”")
            self.offer_button.setToolTip(f"Apply the saved template “{self._offered.name}” to every scan of the "
                                         f"group{': ' + self._offered.description if self._offered.description else ''}")
        self.refresh_state()
        self._fill_tiles()

    def refresh_state(self) -> None:
        """The state line alone: all that a text search result can change on the card. Called for
        each batch of results of a bulk search; restyled only when the line really changes."""
        group, review = self.group, self.review
        uids = review.group_members(group)
        s = review.summary(uids)
        reviewed = review.group_id(group) in review.reviewed_groups
        free_text = not self.valid and all(review.is_free_text(uid) for uid in uids)
        held = len(self.held_back(uids))
        kind: Level
        if held:
            text, kind = ReviewProgress(0, held).text(), "error"
        elif s.unconfirmed:
            text, kind = f"{s.unconfirmed} scan{'s' if s.unconfirmed != 1 else ''} with unsaved boxes", "error"
        elif free_text:  # issue 14: left out unless a person includes them
            text, kind = ((f"{s.as_is} included by your decision · {s.excluded} left out", "ok")
                          if s.as_is else ("Free text: left out unless you include them", "info"))
        elif reviewed or s.redacted or s.excluded:
            parts = [f"{s.redacted} redacted"] if self.valid else []
            parts += [f"{s.as_is} as is", f"{s.excluded} excluded"]
            text, kind = "Reviewed: " + " · ".join(parts), "ok"
        else:
            text, kind = ("Scans need review" if self.valid else "Uploaded as is unless excluded"), "info"
        self.state.say(kind, text)
