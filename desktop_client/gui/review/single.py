"""Single-session review: a thumbnail strip of the session's scans beside the viewer."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSplitter, QVBoxLayout, QWidget

from desktop_client.gui.review.findings import TextFindings, tile_note
from desktop_client.gui.review.grid import tile_state
from desktop_client.gui.review.scan_panel import ScanPanel
from desktop_client.plan.review import ReviewModel, scan_label
from desktop_client.gui.review.thumbs import ThumbnailCache, placeholder
from desktop_client.templates import TemplateStore

STRIP_ICON = 72
_MARK = {"#2e8b57": "✓", "#c77800": "!", "#c0392b": "✕"}


def _badge(pix: QPixmap, colour: str) -> QPixmap:
    """The thumbnail with a coloured corner mark: saved (green), unsaved (amber), excluded (red)."""
    if colour not in _MARK:
        return pix
    out = QPixmap(pix)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(QColor("#ffffff"))
    painter.drawEllipse(out.width() - 24, 4, 20, 20)
    painter.drawText(out.width() - 24, 4, 20, 20, Qt.AlignmentFlag.AlignCenter, _MARK[colour])
    painter.end()
    return out


class SessionReviewPage(QWidget):
    """Every scan of one session in a strip; the selected one in the viewer with its actions."""

    changed = Signal()
    manageTemplates = Signal()

    def __init__(self, review: ReviewModel, store: TemplateStore, parent: QWidget | None = None,
                 findings: TextFindings | None = None) -> None:
        super().__init__(parent)
        self.review, self.store = review, store
        self.thumbs = ThumbnailCache(self, capacity=300)
        self.thumbs.ready.connect(self._on_thumb)
        self.strip = QListWidget()
        self.strip.setIconSize(QSize(STRIP_ICON, STRIP_ICON))
        self.strip.setAccessibleName("Scans of this session")
        self.strip.setMinimumWidth(190)
        self.strip.setSpacing(2)
        self.strip.setWordWrap(True)
        self.findings = findings
        self.panel = ScanPanel(review, store, self, findings)
        self.panel.changed.connect(self._on_changed)
        self.panel.templatesChanged.connect(self.changed.emit)
        session = review.sessions[0]
        heading = QLabel(f"{session.study_description or 'Session'} · {session.study_date or 'no date'} · "
                         f"{len(review.refs)} scans")
        heading.setObjectName("hint")
        manage = QPushButton("Manage templates…")
        manage.clicked.connect(self.manageTemplates.emit)
        top = QHBoxLayout()
        top.addWidget(heading, 1)
        top.addWidget(manage)
        self._uids = list(review.refs)
        for uid in self._uids:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, uid)
            self.strip.addItem(item)
            self._refresh_item(item)
        self.strip.currentRowChanged.connect(self._on_row)
        splitter = QSplitter()
        splitter.addWidget(self.strip)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        if self._uids:
            self.strip.setCurrentRow(0)

    def select_uid(self, uid: str) -> None:
        self.strip.setCurrentRow(self._uids.index(uid))

    def reveal(self, uid: str) -> None:
        """Show a scan that needs the user (the step's "Show" button)."""
        self.select_uid(uid)

    def found(self, uids: set[str]) -> None:
        """The text search finished (or started) for these scans: their strip entries say so."""
        for uid in uids & set(self._uids):
            self._refresh_item(self._item(uid))

    def _on_row(self, row: int) -> None:
        self.panel.show_scan(self._uids[row] if 0 <= row < len(self._uids) else None)

    def _item(self, uid: str) -> QListWidgetItem:
        return self.strip.item(self._uids.index(uid))

    def _refresh_item(self, item: QListWidgetItem) -> None:
        uid = item.data(Qt.ItemDataRole.UserRole)
        ref = self.review.refs[uid]
        choice = self.review.choices[uid]
        rects = choice.rectangles if choice.redacted and choice.confirmed else []
        pix = self.thumbs.pixmap(ref.scan, rects)
        if pix is None:
            pix = placeholder(STRIP_ICON, "no image" if self.thumbs.error(ref.scan, rects) else "")
        else:
            pix = pix.scaled(STRIP_ICON, STRIP_ICON, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        state, colour = tile_state(self.review, uid)
        note = tile_note(self.findings, self.review, uid) if self.findings is not None else None
        if note is not None and self.review.gate(uid):
            colour = "#c0392b"  # held back: the red mark, whatever the boxes say
        item.setIcon(QIcon(_badge(pix, colour)))
        frames = f"{ref.scan.modality} · {ref.scan.frames} frame{'s' if ref.scan.frames != 1 else ''}"
        held = note[0] if note is not None and self.review.gate(uid) else ""
        # Four short lines at most (the strip is narrow): a held scan shows why instead of its state.
        lines = [scan_label(ref), frames,
                 held.replace(" lines of likely PHI found", " PHI lines found") if held
                 else state.replace(" (cannot be redacted)", ", no redaction")]
        if note is not None and not held:
            lines.append(note[0])
        item.setText("\n".join(lines))
        item.setForeground(QColor("#c0392b") if self.review.gate(uid) else self.strip.palette().text().color())
        item.setToolTip("\n".join(lines[2:]))

    def _on_thumb(self, key: object) -> None:
        for i in range(self.strip.count()):
            item = self.strip.item(i)
            uid = item.data(Qt.ItemDataRole.UserRole)
            choice = self.review.choices[uid]
            rects = choice.rectangles if choice.redacted and choice.confirmed else []
            if self.thumbs.key(self.review.refs[uid].scan, rects) == key:
                self._refresh_item(item)

    def _on_changed(self, uid: str) -> None:
        self._refresh_item(self._item(uid))
        self.changed.emit()
