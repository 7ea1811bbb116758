"""Settings: upload concurrency, receipts, default destination, theme, log level, and privacy:
the local archive folder's anonymization scripts and what the app keeps about scanned files.

Every change is saved at once (no Save button to forget) and announced with ``changed`` so the
window can re-theme and the transfer queue can pick up the new concurrency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_client.core.paths import config_dir, default_temp_dir, log_dir, set_temp_dir
from desktop_client.gui.connections import ConnectionStore
from desktop_client.plan.settings import (
    LOG_LEVELS,
    MAX_CONCURRENCY,
    THEMES,
    AppSettings,
    apply_privacy_settings,
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
        outer.addWidget(self._build_anonymization())
        outer.addWidget(self._build_privacy())
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
        self.site_mode.currentIndexChanged.connect(self._site_mode_changed)
        self.site_file.editingFinished.connect(self._save)
        self.project_file.editingFinished.connect(self._save)
        self.cache_days.valueChanged.connect(self._save)
        self.remember_paths.toggled.connect(self._save)

    # -- anonymization for the local archive folder (issue 14) ------------------------------------

    def _build_anonymization(self) -> Card:
        from desktop_client.scripts import LABELS_VISIBLE_WARNING

        card = Card()
        card.setMaximumWidth(760)
        card.body.addWidget(QLabel("<b>Anonymization for the local archive folder</b>"))
        card.body.addWidget(hint(
            "Like an XNAT server, the folder has a site script and a project script, applied on this "
            "computer before anything is written. The default site script follows the DICOM PS3.15 "
            "Basic Application Level Confidentiality Profile (names, IDs, dates, institutions "
            "removed; UIDs replaced consistently)."))
        form = QFormLayout()
        self.site_mode = QComboBox()
        for value, text in (("default", "Default (DICOM PS3.15 Basic Profile)"),
                            ("file", "My script file"), ("off", "Off: headers unchanged")):
            self.site_mode.addItem(text, value)
        form.addRow("&Site script", self.site_mode)
        self.site_file = QLineEdit()
        self.site_file.setPlaceholderText("a DicomEdit script file (.das)")
        form.addRow("Site script &file", self._with_file_browse(self.site_file))
        row = QHBoxLayout()
        self.view_default_button = QPushButton("View the default…")
        self.view_default_button.clicked.connect(self.view_default_script)
        self.copy_default_button = QPushButton("Edit a copy…")
        self.copy_default_button.setToolTip("Copy the default site script into your settings folder, "
                                            "open it for editing and use the copy")
        self.copy_default_button.clicked.connect(self.edit_default_copy)
        row.addWidget(self.view_default_button)
        row.addWidget(self.copy_default_button)
        row.addStretch(1)
        form.addRow("", self._wrap(row))
        self.project_file = QLineEdit()
        self.project_file.setPlaceholderText("none")
        form.addRow("&Project script", self._with_file_browse(self.project_file))
        card.body.addLayout(form)
        card.body.addWidget(hint(LABELS_VISIBLE_WARNING))
        return card

    def _build_privacy(self) -> Card:
        card = Card()
        card.setMaximumWidth(760)
        card.body.addWidget(QLabel("<b>What the app keeps about your files</b>"))
        card.body.addWidget(hint(
            "The scan index makes re-scanning fast. It holds no names, IDs or paths (only keyed "
            "hashes); the queue and receipts name files by a keyed hash too."))
        form = QFormLayout()
        self.cache_days = QSpinBox()
        self.cache_days.setRange(1, 3650)
        self.cache_days.setSuffix(" days")
        self.cache_days.setMaximumWidth(140)
        form.addRow("Keep the scan &index", self.cache_days)
        self.remember_paths = QCheckBox("Remember source paths in the transfer queue")
        self.remember_paths.setToolTip(
            "Lets a transfer resume after a restart without selecting its folder again. Folder "
            "names often carry patient IDs and accession numbers: they are then stored on disk.")
        form.addRow("Resuming", self.remember_paths)
        card.body.addLayout(form)
        row = QHBoxLayout()
        self.clear_cache_button = QPushButton("Clear cached data")
        self.clear_cache_button.clicked.connect(self.clear_cache)
        row.addWidget(self.clear_cache_button)
        row.addStretch(1)
        card.body.addLayout(row)
        return card

    @staticmethod
    def _wrap(layout: QHBoxLayout) -> QWidget:
        box = QWidget()
        layout.setContentsMargins(0, 0, 0, 0)
        box.setLayout(layout)
        return box

    def _with_file_browse(self, edit: QLineEdit) -> QWidget:
        def chosen() -> None:  # a site script file chosen means "use that file"
            if edit is self.site_file:
                self.site_mode.setCurrentIndex(self.site_mode.findData("file"))

        return self._with_browse(edit, lambda: QFileDialog.getOpenFileName(
            self, "Choose a DicomEdit script", edit.text(),
            "DicomEdit scripts (*.das *.txt);;All files (*)")[0], chosen)

    def _site_mode_changed(self) -> None:
        if self.site_mode.currentData() == "off" and self.settings.local_site_script != "off":
            answer = QMessageBox.warning(
                self, "Turn the site script off?",
                "Without a site script, sessions are written to the local archive folder with their "
                "headers unchanged: patient name, ID, birth date, accession number, institution. "
                "Turn it off?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                self.site_mode.blockSignals(True)
                self.site_mode.setCurrentIndex(self.site_mode.findData(self.settings.local_site_script))
                self.site_mode.blockSignals(False)
                return
        self._save()

    def view_default_script(self) -> None:
        from desktop_client.scripts import default_site_script

        ScriptDialog("Default site script", default_site_script(), None, self).exec()

    def edit_default_copy(self) -> None:
        """Copy the default into the config folder, edit it here, and use the copy."""
        from desktop_client.scripts import copy_default_site_script

        try:
            path = copy_default_site_script(config_dir() / "scripts")
        except OSError as exc:
            self.message.error(f"The copy could not be written: {exc.strerror or exc}.")
            return
        dialog = ScriptDialog(f"Site script: {path.name}", path.read_text(encoding="utf-8"), path, self)
        dialog.exec()
        self.site_file.setText(str(path))
        self.site_mode.blockSignals(True)
        self.site_mode.setCurrentIndex(self.site_mode.findData("file"))
        self.site_mode.blockSignals(False)
        self._save()

    def clear_cache(self) -> None:
        from desktop_client.scanning.cache import clear_cached_data

        try:
            removed = clear_cached_data()
        except OSError as exc:
            self.message.error(f"Cached data could not be removed: {exc.strerror or exc}.")
            return
        self.message.info(f"Cached data cleared ({len(removed)} item(s) removed). The next scan "
                          "reads every file again.")

    def _with_browse(self, edit: QLineEdit, pick: Callable[[], str] | None = None,
                     chosen: Callable[[], None] | None = None) -> QWidget:
        """``edit`` with a Browse… button: ``pick`` asks for the path (a folder by default);
        a chosen path is put in ``edit``, then ``chosen`` runs and the settings are saved."""
        box = QWidget()
        h = QHBoxLayout(box)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.setAccessibleName(f"Browse for {edit.placeholderText()}")
        ask = pick or (lambda: QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text()))

        def browse() -> None:
            path = ask()
            if path:
                edit.setText(path)
                if chosen is not None:
                    chosen()
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
        self.site_mode.setCurrentIndex(max(0, self.site_mode.findData(s.local_site_script)))
        self.site_file.setText(s.local_site_script_file)
        self.project_file.setText(s.local_project_script_file)
        self.cache_days.setValue(s.cache_days)
        self.remember_paths.setChecked(s.remember_source_paths)

    def reload_destinations(self) -> None:
        """Refill the default-destination list from the stored connections."""
        self.destination.blockSignals(True)
        self.destination.clear()
        for conn in self.store.connections:
            self.destination.addItem(conn.title(), conn.id)
        self.destination.setCurrentIndex(max(0, self.destination.findData(self.settings.default_destination)))
        self.destination.blockSignals(False)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        self.reload_destinations()
        super().showEvent(event)

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
        s.local_site_script = self.site_mode.currentData()
        s.local_site_script_file = self.site_file.text().strip()
        s.local_project_script_file = self.project_file.text().strip()
        s.cache_days = self.cache_days.value()
        s.remember_source_paths = self.remember_paths.isChecked()
        try:
            s.local_script_slots().chain()
        except ValueError as exc:  # ScriptChoiceError: a sentence naming the file and the fix
            self.message.error(f"{exc}.")
            return
        apply_privacy_settings(s)
        try:
            save_settings(s)
        except OSError as exc:
            self.message.error(f"The settings could not be saved: {exc.strerror or exc}.")
            return
        self.message.clear()
        self.changed.emit(s)


class ScriptDialog(QDialog):
    """Read a script; with ``path``, edit it and save it (checked by the DicomEdit engine first)."""

    def __init__(self, title: str, text: str, path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle(title)
        self.resize(760, 620)
        self.editor = QPlainTextEdit(text)
        self.editor.setReadOnly(path is None)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.error = QLabel()
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        if path is not None:
            buttons.addButton(QDialogButtonBox.StandardButton.Save)
            buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def save(self) -> None:
        from desktop_client.core.privacy import private_write
        from desktop_client.dicomedit import ScriptSyntaxError, compile_script

        text = self.editor.toPlainText()
        try:
            compile_script(text)
        except ScriptSyntaxError as exc:
            self.error.setText(f"Not saved: the script has an error at {exc}.")
            return
        assert self.path is not None
        try:
            private_write(self.path, text.encode("utf-8"))
        except OSError as exc:
            self.error.setText(f"Not saved: {exc.strerror or exc}.")
            return
        self.accept()
