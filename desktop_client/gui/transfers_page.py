"""Transfers: every upload with progress, rate, ETA and state; per-scan details and the log.

The list is the transfer queue's persistent database, so transfers from earlier runs of the app
are shown (and resumed by the queue) after a restart. Queue events arrive on worker threads and
are handed to the UI thread through a queued signal; progress events update the row directly,
state events trigger a background re-read of that transfer (reading a status parses the stored
session, which must not happen on the UI thread).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QDesktopServices, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_client.gui.connections import Connection, ConnectionStore
from desktop_client.gui.widgets import MessageBar, header, hint, human_bytes
from desktop_client.gui.workers import TaskRunner

if TYPE_CHECKING:  # the transfer package loads its parts lazily; the page needs only their types
    from desktop_client.transfer import LogEntry, TransferEvent, TransferQueue, TransferStatus

log = logging.getLogger(__name__)

STATE_TEXT = {"queued": "Queued", "running": "Uploading", "paused": "Paused", "done": "Completed",
              "failed": "Failed", "cancelled": "Cancelled"}
# Progress, rate and ETA come right after the session so that long destination paths (elided in
# the middle, full in the tooltip) can never push them off screen.
COLUMNS = ["Session", "Status", "Progress", "Rate", "ETA", "Subject", "Project", "Destination", "Queued at"]
_SESSION, _STATUS, _PROGRESS, _RATE, _ETA, _SUBJECT, _PROJECT, _DESTINATION, _QUEUED = range(len(COLUMNS))


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds <= 0 or seconds != seconds:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def state_value(status: TransferStatus) -> str:
    return getattr(status.state, "value", str(status.state))


def progress_fraction(status: TransferStatus) -> float:
    if status.bytes_total:
        return min(1.0, status.bytes_done / status.bytes_total)
    if status.files_total:
        return min(1.0, status.files_done / status.files_total)
    return 1.0 if state_value(status) == "done" else 0.0


def batch_text(rows: list[TransferStatus]) -> str:
    """``12 of 14 sessions done · 1 failed · 1 uploading`` for the transfers of one batch."""
    states = [state_value(r) for r in rows]
    done = states.count("done")
    noun = "session" if len(rows) == 1 else "sessions"
    parts = [f"{done} of {len(rows)} {noun} done"]
    for state, word in (("failed", "failed"), ("cancelled", "cancelled"), ("paused", "paused"),
                        ("running", "uploading"), ("queued", "waiting")):
        count = states.count(state)
        if count:
            parts.append(f"{count} {word}")
    return " · ".join(parts)


class TransferModel(QAbstractTableModel):
    """Rows are ``TransferStatus`` snapshots, newest first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[TransferStatus] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.UserRole:
            return s
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == _STATUS and s.error:
                return s.error
            if col in (_DESTINATION, _SESSION, _SUBJECT, _PROJECT):
                return self.data(index)
            return None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        state = state_value(s)
        running = state == "running"
        if col == _SESSION:
            return s.session_label
        if col == _SUBJECT:
            return s.subject
        if col == _PROJECT:
            return s.project
        if col == _DESTINATION:
            return s.destination
        if col == _STATUS:
            text = STATE_TEXT.get(state, state)
            if running and progress_fraction(s) >= 1.0:
                text = "Finishing"
            return text + (f": {s.error}" if s.error and state == "failed" else "")
        if col == _PROGRESS:
            return f"{progress_fraction(s) * 100:.0f} %"
        if col == _RATE:
            return f"{human_bytes(s.rate)}/s" if running and s.rate else "—"
        if col == _ETA:
            if not running or not s.rate:
                return "—"
            return format_eta((s.bytes_total - s.bytes_done) / s.rate)
        if col == _QUEUED:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created))
        return None

    def set_rows(self, rows: list[TransferStatus]) -> None:
        self.beginResetModel()
        self.rows = sorted(rows, key=lambda s: s.created, reverse=True)
        self.endResetModel()

    def row_of(self, transfer_id: str) -> int:
        return next((i for i, s in enumerate(self.rows) if s.id == transfer_id), -1)

    def update(self, status: TransferStatus) -> None:
        row = self.row_of(status.id)
        if row < 0:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self.rows.insert(0, status)
            self.endInsertRows()
            return
        self.rows[row] = status
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def remove(self, transfer_id: str) -> None:
        row = self.row_of(transfer_id)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.rows[row]
            self.endRemoveRows()


class ProgressDelegate(QStyledItemDelegate):
    """Draws the Progress column as a progress bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        status = index.data(Qt.ItemDataRole.UserRole)
        if status is None:
            return super().paint(painter, option, index)
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(4, 5, -4, -5))
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(progress_fraction(status) * 1000)
        bar.text = index.data()
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Enabled
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return QSize(160, 28)


class _EventBridge(QObject):
    """Queue callbacks come from worker threads; this signal carries them to the UI thread."""

    arrived = Signal(object)  # not ``event``: that would hide QObject.event(), which Qt calls


class TransfersPage(QWidget):
    """The transfer monitor over a ``TransferQueue``."""

    finished = Signal(str, str)  # transfer id, final state
    notify = Signal(str)

    def __init__(self, queue: TransferQueue, runner: TaskRunner, store: ConnectionStore | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.queue = queue
        self.store = store
        self.runner = runner
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self.model = TransferModel(self)
        self._seen_final: dict[str, str] = {}
        self._bridge = _EventBridge()
        self._bridge.arrived.connect(self._on_event)
        self._unsubscribe = queue.subscribe(self._bridge.arrived.emit)
        self._pending: set[str] = set()
        self._ticks = 0

        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 12, 18, 12)
        top = QHBoxLayout()
        top.addWidget(header("Transfers"))
        top.addStretch(1)
        self.pause_all_button = QPushButton("Pause all")
        self.pause_all_button.setToolTip("Pause every queued and running transfer (Ctrl+Shift+P)")
        self.pause_all_button.clicked.connect(self.pause_all)
        self.resume_all_button = QPushButton("Resume all")
        self.resume_all_button.clicked.connect(self.resume_all)
        top.addWidget(self.pause_all_button)
        top.addWidget(self.resume_all_button)
        outer.addLayout(top)
        outer.addWidget(hint("Transfers continue in the background and resume after the app is "
                             "restarted. Select one to see its scans and log."))
        self.batch_line = QLabel()
        self.batch_line.setObjectName("h2")
        self.batch_line.setAccessibleName("Progress of the last upload")
        self.batch_line.setContentsMargins(0, 6, 0, 2)
        outer.addWidget(self.batch_line)
        self.message = MessageBar()
        self.message.actionClicked.connect(self._export_log_link)
        outer.addWidget(self.message)
        # Where no application opens files (a bare desktop, a remote session), Open receipt
        # shows the receipt's path with a button to copy it instead of silently doing nothing.
        self.receipt_row = QWidget()
        rr = QHBoxLayout(self.receipt_row)
        rr.setContentsMargins(0, 0, 0, 0)
        self.receipt_path = MessageBar()
        self.copy_path_button = QPushButton("Copy path")
        self.copy_path_button.clicked.connect(self.copy_receipt_path)
        rr.addWidget(self.receipt_path, 1)
        rr.addWidget(self.copy_path_button)
        self.receipt_row.hide()
        outer.addWidget(self.receipt_row)
        self._receipt_file = ""
        #: the transfers queued together last (``set_batch``), for the batch line
        self.batch: list[str] = []

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("transfersSplitter")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Transfers")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setItemDelegateForColumn(_PROGRESS, ProgressDelegate(self.table))
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Fixed widths for what may be long (a failure reason, an archive path): elided, with
        # the whole text in the tooltip; the destination takes whatever width is left.
        for col, width in ((_STATUS, 150), (_PROGRESS, 170)):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            head.resizeSection(col, width)
        head.setSectionResizeMode(_DESTINATION, QHeaderView.ResizeMode.Stretch)
        head.setMinimumSectionSize(60)
        self.table.selectionModel().currentRowChanged.connect(self._on_select)
        self.splitter.addWidget(self.table)

        details = QWidget()
        dv = QVBoxLayout(details)
        dv.setContentsMargins(0, 6, 0, 0)
        actions = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip in (("pause", "&Pause", "Pause this transfer"),
                               ("resume", "&Resume", "Resume this transfer"),
                               ("cancel", "&Cancel", "Cancel this transfer"),
                               ("restart", "Re&start", "Queue a failed or cancelled transfer again"),
                               ("remove", "Re&move", "Remove a finished transfer from the list"),
                               ("receipt", "Open r&eceipt", "Open the upload receipt"),
                               ("link", "Open in &browser", "Open the session on the server"),
                               ("export", "Export &log…", "Save this transfer's log as CSV")):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, k=key: self.act(k))
            self.buttons[key] = button
            actions.addWidget(button)
        actions.addStretch(1)
        dv.addLayout(actions)
        # Shown for a server transfer that could not start for want of a password (after a
        # restart of the app, when the password was not remembered): type it here and restart.
        self.password_row = QWidget()
        pr = QHBoxLayout(self.password_row)
        pr.setContentsMargins(0, 0, 0, 0)
        self.password_label = QLabel()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName("Password for this transfer's server")
        self.password_edit.returnPressed.connect(self.restart_with_password)
        self.password_button = QPushButton("Restart with this password")
        self.password_button.clicked.connect(self.restart_with_password)
        pr.addWidget(self.password_label)
        pr.addWidget(self.password_edit, 1)
        pr.addWidget(self.password_button)
        self.password_row.hide()
        dv.addWidget(self.password_row)
        self.tabs = QTabWidget()
        self.scan_table = QTableWidget(0, 6)
        self.scan_table.setHorizontalHeaderLabels(["Scan", "Description", "Modality", "Files", "Sent",
                                                   "State"])
        self.scan_table.verticalHeader().hide()
        self.scan_table.setAccessibleName("Scans of the transfer")
        self.scan_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.scan_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.scan_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tabs.addTab(self.scan_table, "Scans")
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setAccessibleName("Transfer log")
        self.tabs.addTab(self.log_view, "Log")
        dv.addWidget(self.tabs, 1)
        self.splitter.addWidget(details)
        self.splitter.setSizes([320, 260])
        outer.addWidget(self.splitter, 1)
        QShortcut(QKeySequence("Ctrl+Shift+P"), self, self.pause_all)
        QShortcut(QKeySequence.StandardKey.Delete, self.table, lambda: self.act("remove"))

        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._flush)
        self._timer.start()
        self._update_buttons()
        self.reload()

    # Data --------------------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        """Re-read every transfer in the background (at start, after queuing new ones)."""
        def done(rows: list[TransferStatus]) -> None:
            for s in rows:
                if s.state.finished:
                    self._seen_final.setdefault(s.id, state_value(s))
            self.model.set_rows(rows)
            if select is not None:
                self.select(select)
            self._select_first()
            self._show_batch()

        self.runner.call("transfers", self.queue.list, on_done=done,
                         on_error=lambda exc: self.message.error(f"The transfer list could not be read: {exc}"))

    def _select_first(self) -> None:
        if self.model.rows and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)

    def _on_event(self, event: TransferEvent) -> None:
        if event.kind == "progress":
            row = self.model.row_of(event.transfer_id)
            if row >= 0:
                old = self.model.rows[row]
                self.model.update(dataclasses.replace(
                    old, state=event.state, files_done=event.files_done,
                    files_total=event.files_total or old.files_total, bytes_done=event.bytes_done,
                    bytes_total=event.bytes_total or old.bytes_total, rate=event.rate))
                return
        self._pending.add(event.transfer_id)

    def _flush(self) -> None:
        """Re-read transfers whose state changed (batched, in the background)."""
        self._ticks += 1
        if not self._pending:
            # The selected running transfer's per-scan table is re-read once a second: reading a
            # status parses the stored session, which is not free for 10,000-file sessions.
            selected = self.selected()
            if selected is not None and state_value(selected) == "running" and self._ticks % 4 == 0:
                self._pending.add(selected.id)
            else:
                return
        ids, self._pending = list(self._pending), set()

        def fetch() -> list[tuple[str, TransferStatus | None]]:
            out: list[tuple[str, TransferStatus | None]] = []
            for transfer_id in ids:
                try:
                    out.append((transfer_id, self.queue.status(transfer_id)))
                except KeyError:
                    out.append((transfer_id, None))
            return out

        self.runner.call("transfer-status", fetch, on_done=self._apply_statuses,
                         on_error=lambda exc: log.warning("transfer status failed: %s", exc))

    def _apply_statuses(self, results: list[tuple[str, TransferStatus | None]]) -> None:
        for transfer_id, status in results:
            if status is None:
                self.model.remove(transfer_id)
                continue
            self.model.update(status)
            state = state_value(status)
            if status.state.finished and self._seen_final.get(transfer_id) != state:
                self._seen_final[transfer_id] = state
                self.finished.emit(transfer_id, state)
                label = status.session_label or transfer_id
                if state == "done":
                    self.notify.emit(f"Upload finished: session {label}.")
                elif state == "failed":
                    self.notify.emit(f"Upload failed: session {label}. {status.error}")
            elif not status.state.finished:
                self._seen_final.pop(transfer_id, None)
        self._select_first()
        self._show_details()
        self._show_batch()

    # Selection and details -----------------------------------------------------------------------

    def selected(self) -> TransferStatus | None:
        index = self.table.currentIndex()
        return self.model.rows[index.row()] if index.isValid() and index.row() < len(self.model.rows) else None

    def select(self, transfer_id: str) -> None:
        row = self.model.row_of(transfer_id)
        if row >= 0:
            self.table.selectRow(row)

    def _on_select(self, *_args: Any) -> None:
        self._show_details()

    def _show_details(self) -> None:
        self._update_buttons()
        status = self.selected()
        if status is None:
            self.scan_table.setRowCount(0)
            self.log_view.clear()
            return
        self.scan_table.setRowCount(len(status.scans))
        for row, scan in enumerate(status.scans):
            state = "Excluded" if scan.state is None else STATE_TEXT.get(scan.state.value, scan.state.value)
            values = [scan.scan_id, scan.description or "—", scan.modality or "—", f"{scan.files:,}",
                      f"{scan.files_sent:,}", state + (f": {scan.error}" if scan.error else "")]
            for col, value in enumerate(values):
                self.scan_table.setItem(row, col, QTableWidgetItem(value))
        transfer_id = status.id

        def done(entries: list[LogEntry]) -> None:
            current = self.selected()
            if current is None or current.id != transfer_id:
                return
            lines = [f"{time.strftime('%H:%M:%S', time.localtime(e.ts))}  {e.level.upper():7} {e.message}"
                     for e in entries]
            text = "\n".join(lines)
            if text != self.log_view.toPlainText():
                self.log_view.setPlainText(text)
                self.log_view.verticalScrollBar().setValue(self.log_view.verticalScrollBar().maximum())

        self.runner.call("transfer-log", lambda: self.queue.log(transfer_id), on_done=done)

    def _connection_for(self, status: TransferStatus) -> Connection | None:
        if self.store is None or not status.destination.startswith(("http://", "https://")):
            return None
        url = status.destination.rstrip("/")
        return next((c for c in self.store.connections if c.url.rstrip("/") == url), None)

    def _needs_password(self, status: TransferStatus) -> bool:
        return (state_value(status) == "failed" and "password" in (status.error or "").lower()
                and self._connection_for(status) is not None)

    def restart_with_password(self) -> None:
        status = self.selected()
        password = self.password_edit.text()
        conn = self._connection_for(status) if status is not None else None
        if conn is None or not password or self.store is None:
            return
        self.store.keep_password(conn, password)
        self.password_edit.clear()
        self.password_row.hide()
        self.act("restart")

    def _update_buttons(self) -> None:
        s = self.selected()
        conn = self._connection_for(s) if s is not None and self._needs_password(s) else None
        if conn is not None:
            self.password_label.setText(f"Password for {conn.username} on {conn.url}:")
        self.password_row.setVisible(conn is not None)
        state = state_value(s) if s is not None else ""
        enabled = {
            "pause": state in ("queued", "running"),
            "resume": state == "paused",
            "cancel": state in ("queued", "running", "paused"),
            "restart": state in ("failed", "cancelled"),
            "remove": state in ("done", "failed", "cancelled"),
            "receipt": state in ("done", "failed", "cancelled"),
            "link": bool(s is not None and s.link),
            "export": s is not None,
        }
        for key, button in self.buttons.items():
            button.setEnabled(enabled[key])
        states = [state_value(r) for r in self.model.rows]
        self.pause_all_button.setEnabled(any(x in ("queued", "running") for x in states))
        self.resume_all_button.setEnabled("paused" in states)

    # Actions -----------------------------------------------------------------------------------

    def act(self, action: str) -> None:
        status = self.selected()
        if status is None or not self.buttons[action].isEnabled():
            return
        transfer_id = status.id
        try:
            if action == "receipt":
                self.open_receipt(transfer_id)
                return
            if action == "export":
                self._confirm_export()
                return
            if action == "link":
                self.open_url(QUrl.fromUserInput(status.link))
                return
            getattr(self.queue, action)(transfer_id)
        except (ValueError, KeyError, OSError) as exc:
            self.message.error(f"Could not {action} this transfer: {exc}")
            return
        self.message.clear()
        if action == "remove":
            self.model.remove(transfer_id)
            self._show_details()
        else:
            self._pending.add(transfer_id)

    def _confirm_export(self) -> None:
        """Warn inline before writing a file that may name the session (the official client does)."""
        self.message.info("The log names the session and may contain patient information: keep the "
                          "file private. <a href='export'>Export anyway</a>")

    def _export_log_link(self) -> None:
        status = self.selected()
        if status is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the transfer log",
                                              f"transfer-{status.session_label or status.id}.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_log(status.id, Path(path))

    def export_log(self, transfer_id: str, path: Path) -> None:
        """Write the transfer's log as CSV (time, level, event, message)."""
        entries = self.queue.log(transfer_id)
        try:
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["time", "level", "event", "message"])
                for e in entries:
                    writer.writerow([time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.ts)),
                                     e.level, e.event, e.message])
        except OSError as exc:
            self.message.error(f"The log could not be saved: {exc.strerror or exc}.")
            return
        self.message.ok(f"Saved the log ({len(entries)} entries) to {path}.")

    def open_receipt(self, transfer_id: str) -> Path | None:
        """Open the PDF receipt (the JSON one when the transfer wrote no PDF); returns the path opened."""
        paths = self.queue.receipt_paths(transfer_id)
        if paths is None:
            self.message.error("This transfer has no receipt yet; it is written when the transfer ends.")
            return None
        json_path, pdf_path = paths
        path = pdf_path if pdf_path is not None and Path(pdf_path).exists() else json_path
        if not Path(path).exists():
            self.message.error(f"The receipt {path} is missing (moved or deleted).")
            return None
        self.receipt_row.hide()
        if not self.open_url(QUrl.fromLocalFile(str(path))):
            self.receipt_path.info(f"No application here opens the receipt. It is at: {path}")
            self._receipt_file = str(path)
            self.receipt_row.show()
        return Path(path)

    def copy_receipt_path(self) -> None:
        QApplication.clipboard().setText(self._receipt_file)
        self.copy_path_button.setText("Copied")
        # The button as context: the timer is dropped with it (a page closed within 1.5 s).
        button = self.copy_path_button
        QTimer.singleShot(1500, button, lambda: button.setText("Copy path"))

    # Batch ----------------------------------------------------------------------------------------

    def set_batch(self, ids: list[str]) -> None:
        """The transfers just queued together: the batch line counts them until the next batch."""
        self.batch = list(ids)
        self._show_batch()

    def _show_batch(self) -> None:
        rows = [r for r in self.model.rows if r.id in set(self.batch)] if self.batch else []
        self.batch_line.setVisible(bool(rows))
        if rows:
            self.batch_line.setText(batch_text(rows))

    def pause_all(self) -> None:
        self.queue.pause_all()
        self.reload()

    def resume_all(self) -> None:
        self.queue.resume_all()
        self.reload()

    def shutdown(self) -> None:
        self._timer.stop()
        self._unsubscribe()
