"""The grid of every scan in a group: a model/view list, so hundreds of scans scroll smoothly.

Only tiles being painted ask for their thumbnail (lazy loading), requests for tiles that scrolled
away are dropped, and thumbnails of redacted scans are the engine's real redacted render.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import (
    QAbstractListModel, QItemSelectionModel, QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect, QSize, Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QApplication, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop_client.plan.review import ReviewModel, scan_label
from desktop_client.gui.review.thumbs import ThumbnailCache

UID_ROLE = Qt.ItemDataRole.UserRole + 1
#: Default thumbnail edge in a tile: 160 px made burned-in text unreadable; the slider goes further.
DEFAULT_TILE = 224
TILE_RANGE = (120, 480)
CAPTION_LINES = 4


def tile_size(thumb: int, font: QFont) -> QSize:
    """The tile around a ``thumb``-pixel thumbnail and its caption lines."""
    line = QFontMetrics(font).height() + 1
    return QSize(thumb + 16, thumb + 16 + CAPTION_LINES * line + 6)


def tile_layout(tile: QRect, thumb: int, font: QFont) -> tuple[QRect, QRect, QRect]:
    """Where a tile draws its thumbnail, its tick box and the first caption line.

    The tick box sits in the caption, never over the image: burned-in names are usually in the
    image's top-left corner, exactly where a tick box on the image would hide them.
    """
    fm = QFontMetrics(font)
    thumb_rect = QRect(tile.x() + (tile.width() - thumb) // 2, tile.y() + 5, thumb, thumb)
    top = thumb_rect.bottom() + 5
    box = QRect(tile.x() + 6, top + (fm.height() - 14) // 2, 14, 14)
    name = QRect(box.right() + 6, top, tile.right() - box.right() - 12, fm.height())
    return thumb_rect, box, name


def scan_tooltip(review: ReviewModel, uid: str) -> str:
    """The full caption: subject, session, scan and its state (tiles show it elided)."""
    ref = review.refs[uid]
    scan, session = ref.scan, ref.session
    subject = " ".join(v for v in (session.patient_name.replace("^", " ").strip(),
                                   f"({session.patient_id})" if session.patient_id else "") if v)
    study = " · ".join(v for v in (session.study_description, session.study_date,
                                   f"accession {session.accession_number}" if session.accession_number else "") if v)
    frames = f"{scan.frames} frame{'s' if scan.frames != 1 else ''}"
    return (f"{scan_label(ref)}\nSubject: {subject or 'unknown'}\nSession: {study or 'no description'}"
            f"\n{scan.modality} · {scan.files} file{'s' if scan.files != 1 else ''} · {frames}"
            f"\n{tile_state(review, uid)[0]}")


class ScanGridModel(QAbstractListModel):
    """Rows are scan UIDs; ``hide_excluded`` filters them."""

    def __init__(self, review: ReviewModel, uids: list[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.review = review
        self._all = list(uids)
        self._hide_excluded = False
        self._rows = list(uids)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        uid = self._rows[index.row()]
        if role == UID_ROLE:
            return uid
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return scan_label(self.review.refs[uid])
        if role == Qt.ItemDataRole.ToolTipRole:
            return scan_tooltip(self.review, uid)
        return None

    def uid(self, row: int) -> str:
        return self._rows[row]

    def uids(self) -> list[str]:
        return list(self._rows)

    def row_of(self, uid: str) -> int:
        return self._rows.index(uid)

    def set_hide_excluded(self, hide: bool) -> None:
        self._hide_excluded = hide
        self.refilter()

    def refilter(self) -> None:
        self.beginResetModel()
        choices = self.review.choices
        self._rows = [u for u in self._all if not (self._hide_excluded and choices[u].excluded)]
        self.endResetModel()

    def refresh(self, uids: list[str] | None = None) -> None:
        if not self._rows:
            return
        if uids is None:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))
            return
        for uid in uids:
            if uid in self._rows:
                i = self.index(self._rows.index(uid))
                self.dataChanged.emit(i, i)


class ScanTileDelegate(QStyledItemDelegate):
    """Paints a tile: the thumbnail alone on top (nothing covers its corners, where burned-in
    names usually are), then the tick box with the scan's name, subject and date, and its state."""

    def __init__(self, review: ReviewModel, thumbs: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.review = review
        self.thumbs = thumbs
        self.painted: set = set()
        self.thumb = DEFAULT_TILE
        #: Extra state line per scan (what text detection found), or None; set by the dialog.
        self.note: Callable[[str], tuple[str, str] | None] = lambda _uid: None

    def set_thumb_size(self, pixels: int) -> None:
        self.thumb = pixels
        self.thumbs.set_size(pixels)

    def sizeHint(self, option: QStyleOptionViewItem, _index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return tile_size(self.thumb, option.font)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        uid = index.data(UID_ROLE)
        ref = self.review.refs[uid]
        choice = self.review.choices[uid]
        rect: QRect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        current = bool(option.state & QStyle.StateFlag.State_HasFocus)
        palette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(palette.highlight().color() if selected or current else palette.mid().color(),
                            2 if selected else 1, Qt.PenStyle.DashLine if current and not selected else Qt.PenStyle.SolidLine))
        painter.setBrush(palette.base().color())
        painter.drawRoundedRect(rect, 6, 6)
        if selected:
            tint = QColor(palette.highlight().color())
            tint.setAlpha(55)
            painter.setBrush(tint)
            painter.drawRoundedRect(rect, 6, 6)
        # Thumbnail (the engine's redacted render when boxes apply), with nothing drawn over it.
        rects = choice.rectangles if choice.redacted else []
        thumb_rect, box, text_rect = tile_layout(rect, self.thumb, option.font)
        painter.fillRect(thumb_rect, QColor("#151a1f"))
        pix = self.thumbs.pixmap(ref.scan, rects)
        self.painted.add(self.thumbs.key(ref.scan, rects))
        if pix is not None:
            scaled = pix.size().scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(thumb_rect.x() + (thumb_rect.width() - scaled.width()) // 2,
                           thumb_rect.y() + (thumb_rect.height() - scaled.height()) // 2, scaled.width(), scaled.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(target, pix)
        else:
            error = self.thumbs.error(ref.scan, rects)
            painter.setPen(QColor("#9aa7b2"))
            painter.drawText(thumb_rect.adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             "No image" if error else "Loading…")
        if choice.excluded:
            painter.fillRect(thumb_rect, QColor(0, 0, 0, 150))
            painter.setPen(QColor("#ffffff"))
            bold = QFont(option.font)
            bold.setBold(True)
            painter.setFont(bold)
            painter.drawText(thumb_rect, Qt.AlignmentFlag.AlignCenter, "EXCLUDED")
            painter.setFont(option.font)
        # Caption: tick box beside the name, below the image.
        fm = QFontMetrics(option.font)
        line = fm.height() + 1
        top = text_rect.top()
        painter.setPen(QPen(palette.text().color() if not selected else palette.highlight().color(), 1.2))
        painter.setBrush(palette.highlight().color() if selected else palette.base().color())
        painter.drawRoundedRect(box, 3, 3)
        if selected:
            painter.setPen(QPen(palette.highlightedText().color(), 1.8))
            painter.drawLine(box.x() + 3, box.y() + 7, box.x() + 6, box.y() + 10)
            painter.drawLine(box.x() + 6, box.y() + 10, box.x() + 11, box.y() + 3)
        painter.setPen(palette.text().color())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft,
                         fm.elidedText(scan_label(ref), Qt.TextElideMode.ElideRight, text_rect.width()))
        session = ref.session
        frames = f"{ref.scan.frames} frame{'s' if ref.scan.frames != 1 else ''}"
        sub = " · ".join(v for v in (session.patient_id, session.study_date or "no date", frames) if v)
        text_rect = QRect(rect.x() + 8, top + line, rect.width() - 16, fm.height())
        painter.setPen(palette.placeholderText().color())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft, fm.elidedText(sub, Qt.TextElideMode.ElideRight, text_rect.width()))
        text_rect.translate(0, line)
        state, colour = tile_state(self.review, uid)
        painter.setPen(QColor(colour))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft, fm.elidedText(state, Qt.TextElideMode.ElideRight, text_rect.width()))
        note = self.note(uid)
        if note is not None:
            text_rect.translate(0, line)
            painter.setPen(QColor(note[1]))
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft,
                             fm.elidedText(note[0], Qt.TextElideMode.ElideRight, text_rect.width()))
        painter.restore()


def tile_state(review: ReviewModel, uid: str) -> tuple[str, str]:
    """Short state text and its colour for a scan."""
    choice = review.choices[uid]
    if choice.excluded:
        return (f"Excluded: {choice.exclude_reason}" if choice.exclude_reason else "Excluded", "#c0392b")
    if choice.rectangles:
        n = len(choice.rectangles)
        text = f"{n} box{'es' if n != 1 else ''}"
        return (text + (" · not saved" if not choice.confirmed else " · redacted"),
                "#c77800" if not choice.confirmed else "#2e8b57")
    if not review.is_supported(uid):
        return ("Upload as is (cannot be redacted)", "#66737f")
    return ("Upload as is", "#66737f")


class ScanGridView(QListView):
    """Icon grid with ticks (multi-selection); drops queued thumbnail loads for tiles out of view.

    Keyboard: arrows move the focus without ticking, Space ticks, Enter opens (``activated``).
    A double-click opens the scan and leaves its tick as it was.
    """

    inspect = Signal(int)  # row to open

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setSpacing(0)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setAccessibleName("Scans in this group")
        #: The last press that could start a double-click: row, was it ticked before, timestamp.
        self._press: tuple[int, bool, int] | None = None

    def set_tile(self, size: QSize) -> None:
        self.setGridSize(size + QSize(6, 6))
        self.doItemsLayout()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt override
        # The first click of the double-click toggled the tick; a double-click means "open".
        index = self.indexAt(event.position().toPoint())
        if not index.isValid() or event.button() != Qt.MouseButton.LeftButton:
            super().mouseDoubleClickEvent(event)
            return
        # Platforms send the second click's press before the double-click event (Qt does, and so
        # do test drivers, in different numbers): restore the tick as it was before the first one.
        if self._press is not None and self._press[0] == index.row():
            flag = QItemSelectionModel.SelectionFlag.Select if self._press[1] else QItemSelectionModel.SelectionFlag.Deselect
            self.selectionModel().select(index, flag)
        self._press = None
        event.accept()
        self.inspect.emit(index.row())

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        index = self.indexAt(event.position().toPoint())
        now = event.timestamp()
        interval = QApplication.styleHints().mouseDoubleClickInterval()
        if index.isValid() and not (self._press is not None and self._press[0] == index.row()
                                    and now - self._press[2] <= interval):
            self._press = (index.row(), self.selectionModel().isSelected(index), now)
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.inspect.emit(self.currentIndex().row())
            event.accept()
            return
        super().keyPressEvent(event)

    def visible_rows(self) -> list[int]:
        """Rows whose tiles are (at least partly) on screen, sampled on the tile grid."""
        grid, area = self.gridSize(), self.viewport().rect()
        rows: set[int] = set()
        for y in range(area.top() + 4, area.bottom(), max(1, grid.height() // 2)):
            for x in range(area.left() + 4, area.right(), max(1, grid.width() // 2)):
                index = self.indexAt(QPoint(x, y))
                if index.isValid():
                    rows.add(index.row())
        return sorted(rows)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        delegate = self.itemDelegate()
        if not isinstance(delegate, ScanTileDelegate):
            super().paintEvent(event)
            return
        delegate.painted.clear()
        super().paintEvent(event)
        # Only a full repaint says which tiles are on screen; after a partial one (a hovered or
        # re-selected tile) the other visible tiles' loads must stay queued.
        if event.rect().contains(self.viewport().rect()):
            delegate.thumbs.forget_pending(set(delegate.painted))
