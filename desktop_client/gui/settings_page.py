"""Settings: upload concurrency, receipts, default destination, theme, log level.

Every change is saved at once (no Save button to forget) and announced with ``changed`` so the
window can re-theme and the transfer queue can pick up the new concurrency.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_client.core.paths import default_temp_dir, log_dir, set_temp_dir
from desktop_client.gui.connections import ConnectionStore
from desktop_client.gui.settings_store import (
    LOG_LEVELS,
    MAX_CONCURRENCY,
    THEMES,
    AppSettings,
    save_settings,
)
from desktop_client.gui.widgets import Card, MessageBar, header, hint


class SettingsPage(QWidget):
    changed = Signal(object)

    def __init__(self, settings: AppSettings, store: ConnectionStore,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.settings = settings
        self.store = store
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 12, 18, 12)
        outer.addWidget(header("Settings"))
        outer.addWidget(hint("Changes are saved immediately."))
        card = Card()
        card.setMaximumWidth(760)
        form = QFormLayout()
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setMaximumWidth(120)
        self.concurrency.setToolTip("How many files are prepared and sent at the same time. "
                                    "Lower it if the computer or the network struggles.")
        form.addRow("Upload &concurrency", self.concurrency)
        self.receipts_pdf = QCheckBox("Write a PDF receipt (the JSON receipt is always written)")
        form.addRow("Receipts", self.receipts_pdf)
        self.receipts_folder = QLineEdit()
        self.receipts_folder.setPlaceholderText(str(AppSettings().receipts_path()))
        form.addRow("Receipts &folder", self._with_browse(self.receipts_folder))
        self.temp_folder = QLineEdit()
        self.temp_folder.setPlaceholderText(str(default_temp_dir()))
        self.temp_folder.setToolTip("Anonymized objects waiting to be sent are kept here briefly "
                                    "(private to you, removed when sent). Choose a fast local disk.")
        form.addRow("&Temporary folder", self._with_browse(self.temp_folder))
        self.destination = QComboBox()
        self.destination.setToolTip("The destination selected when the app opens")
        form.addRow("Default &destination", self.destination)
        self.theme = QComboBox()
        for value, text in zip(THEMES, ("Follow the system", "Light", "Dark")):
            self.theme.addItem(text, value)
        form.addRow("T&heme", self.theme)
        self.log_level = QComboBox()
        for value, text in zip(LOG_LEVELS, ("Warnings only", "Information", "Debug (detailed)")):
            self.log_level.addItem(text, value)
        form.addRow("&Log level", self.log_level)
        card.body.addLayout(form)
        row = QHBoxLayout()
        open_logs = QPushButton("Open logs folder")
        open_logs.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir()))))
        row.addWidget(open_logs)
        row.addStretch(1)
        card.body.addLayout(row)
        card.body.addWidget(hint("Logs never contain patient data. Transfer logs are kept with "
                                 "each transfer (Transfers → Log)."))
        outer.addWidget(card)
        self.message = MessageBar()
        outer.addWidget(self.message)
        outer.addStretch(1)
        self._load()
        self.concurrency.valueChanged.connect(self._save)
        self.receipts_pdf.toggled.connect(self._save)
        self.receipts_folder.editingFinished.connect(self._save)
        self.temp_folder.editingFinished.connect(self._save)
        for combo in (self.destination, self.theme, self.log_level):
            combo.currentIndexChanged.connect(self._save)

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        box = QWidget()
        h = QHBoxLayout(box)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.setAccessibleName(f"Browse for {edit.placeholderText()}")

        def browse() -> None:
            folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
            if folder:
                edit.setText(folder)
                self._save()

        button.clicked.connect(browse)
        h.addWidget(button)
        return box

    def _load(self) -> None:
        s = self.settings
        self.concurrency.setValue(s.concurrency)
        self.receipts_pdf.setChecked(s.receipts_pdf)
        self.receipts_folder.setText(s.receipts_folder)
        self.temp_folder.setText(s.temp_folder)
        self.reload_destinations()
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        self.log_level.setCurrentIndex(max(0, self.log_level.findData(s.log_level)))

    def reload_destinations(self) -> None:
        """Refill the default-destination list from the stored connections."""
        self.destination.blockSignals(True)
        self.destination.clear()
        for conn in self.store.connections:
            self.destination.addItem(conn.title(), conn.id)
        self.destination.setCurrentIndex(max(0, self.destination.findData(self.settings.default_destination)))
        self.destination.blockSignals(False)

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        self.reload_destinations()
        super().showEvent(event)  # type: ignore[arg-type]

    def _save(self) -> None:
        s = self.settings
        s.concurrency = self.concurrency.value()
        s.receipts_pdf = self.receipts_pdf.isChecked()
        s.receipts_folder = self.receipts_folder.text().strip()
        s.temp_folder = self.temp_folder.text().strip()
        set_temp_dir(s.temp_folder or None)
        s.default_destination = self.destination.currentData()
        s.theme = self.theme.currentData()
        s.log_level = self.log_level.currentData()
        try:
            save_settings(s)
        except OSError as exc:
            self.message.error(f"The settings could not be saved: {exc.strerror or exc}.")
            return
        self.message.clear()
        self.changed.emit(s)
