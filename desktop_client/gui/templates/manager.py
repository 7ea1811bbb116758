"""Template manager: list with previews, rename, describe, duplicate, delete, export and import.

Everything writes straight through ``TemplateStore`` (one JSON file per template), so what is
shown here is what the CLI's ``--template NAME`` and the next app start will see.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QMessageBox, QPlainTextEdit, QPushButton, QSplitter, QVBoxLayout, QWidget,
)

from desktop_client.core.sop_classes import sop_class_name
from desktop_client.gui.templates.preview import TemplatePreview, layout_pixmap
from desktop_client.gui.widgets import MessageBar
from desktop_client.templates import MatchKeys, Template, TemplateError, TemplateStore


def template_summary(t: Template) -> str:
    """One line: modality, size, boxes (and equipment constraints)."""
    parts = [t.match.modality or "any modality", t.match.size_text,
             f"{len(t.rectangles)} box{'es' if len(t.rectangles) != 1 else ''}"]
    extra = [v for v in (t.match.manufacturer, t.match.model_name, t.match.station_name) if v]
    if extra:
        parts.append(" / ".join(extra))
    return " · ".join(parts)


class TemplateManager(QWidget):
    """The manager panel (embed it, or use ``TemplateManagerDialog``)."""

    templatesChanged = Signal()

    def __init__(self, store: TemplateStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name, modality or size")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._refill)
        self.list = QListWidget()
        self.list.setIconSize(QSize(72, 72))
        self.list.setSpacing(2)
        self.list.setAccessibleName("Templates")
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add templates from an exported file or a CTP DicomPixelAnonymizer.script")
        self.import_button.clicked.connect(self._ask_import)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._ask_export)
        left = QVBoxLayout()
        left.addWidget(self.filter)
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.import_button)
        row.addWidget(self.export_button)
        left.addLayout(row)
        left_w = QWidget()
        left_w.setLayout(left)

        self.name = QLineEdit()
        self.name.setAccessibleName("Template name")
        self.description = QPlainTextEdit()
        self.description.setAccessibleName("Description")
        self.description.setMaximumHeight(90)
        self.manufacturer = QLineEdit()
        self.model_name = QLineEdit()
        self.station = QLineEdit()
        for edit, what in ((self.manufacturer, "Manufacturer"), (self.model_name, "Model name"),
                           (self.station, "Station name")):
            edit.setPlaceholderText(f"any {what.lower()} (optional: text it must contain)")
            edit.setAccessibleName(what)
        self.keys = QLabel()
        self.keys.setWordWrap(True)
        self.keys.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel()
        self.meta.setObjectName("hint")
        self.boxes = QLabel()
        self.boxes.setWordWrap(True)
        self.boxes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview = TemplatePreview()
        self.readonly_note = QLabel("Shipped example: read-only. Duplicate it to make an editable copy.")
        self.readonly_note.setObjectName("info")
        self.readonly_note.setWordWrap(True)
        self.message = MessageBar()
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("Fits images", self.keys)
        form.addRow("Manufacturer", self.manufacturer)
        form.addRow("Model", self.model_name)
        form.addRow("Station", self.station)
        form.addRow("Boxes", self.boxes)
        self.save_button = QPushButton("Save changes")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save_current)
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.clicked.connect(self.duplicate_current)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._ask_delete)
        actions = QHBoxLayout()
        actions.addWidget(self.save_button)
        actions.addWidget(self.duplicate_button)
        actions.addStretch(1)
        actions.addWidget(self.delete_button)
        right = QVBoxLayout()
        right.addWidget(self.readonly_note)
        right.addLayout(form)
        right.addWidget(self.meta)
        right.addWidget(self.preview, 1)
        right.addWidget(self.message)
        right.addLayout(actions)
        self.details = QWidget()
        self.details.setLayout(right)

        splitter = QSplitter()
        splitter.addWidget(left_w)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([320, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.reload()

    # -- list -----------------------------------------------------------------------------------
    def reload(self, select_id: str | None = None) -> None:
        self.store.reload()
        if self.store.problems:
            self.message.error("Some template files could not be read: " + "; ".join(self.store.problems))
        self._refill(select_id=select_id)

    def _refill(self, _text: str = "", select_id: str | None = None) -> None:
        current = select_id or self.current_id()
        needle = self.filter.text().strip().lower()
        self.list.blockSignals(True)
        self.list.clear()
        chosen = None
        for t in self.store.all():
            summary = template_summary(t)
            if needle and needle not in f"{t.name} {summary}".lower():
                continue
            label = f"{t.name}{'  (example)' if t.read_only else ''}\n{summary}"
            item = QListWidgetItem(QIcon(layout_pixmap(t.match.columns or 0, t.match.rows or 0, t.rectangles, 72)),
                                   label)
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            item.setToolTip(t.description or t.name)
            self.list.addItem(item)
            if t.id == current:
                chosen = item
        self.list.blockSignals(False)
        if chosen is None and self.list.count():
            chosen = self.list.item(0)
        if chosen is not None:
            self.list.setCurrentItem(chosen)
        self._show_current()

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, template_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == template_id:
                self.list.setCurrentRow(i)
                return

    def _show_current(self) -> None:
        ident = self.current_id()
        template = self.store.get(ident) if ident else None
        self.details.setEnabled(template is not None)
        self.export_button.setEnabled(template is not None)
        if template is None:
            for edit in (self.name, self.manufacturer, self.model_name, self.station):
                edit.clear()
            self.description.clear()
            self.keys.setText("No templates yet: draw boxes on a scan and choose “Save as template”.")
            self.boxes.clear()
            self.meta.clear()
            self.preview.set_layout(0, 0, [])
            self.readonly_note.hide()
            return
        m = template.match
        self.name.setText(template.name)
        self.description.setPlainText(template.description)
        self.manufacturer.setText(m.manufacturer or "")
        self.model_name.setText(m.model_name or "")
        self.station.setText(m.station_name or "")
        sop = sop_class_name(m.sop_class_uid) if m.sop_class_uid else "any SOP class"
        self.keys.setText(f"{m.modality or 'any modality'} · {m.size_text} (rows×columns) · {sop}")
        self.boxes.setText("; ".join(f"l={r.left}, t={r.top}, r={r.right}, b={r.bottom}" for r in template.rectangles))
        self.meta.setText(f"Created {template.created[:10]} by {template.author or 'unknown'}"
                          f" · modified {template.modified[:16].replace('T', ' ')}")
        self.preview.set_layout(m.columns, m.rows, template.rectangles)
        read_only = template.read_only
        self.readonly_note.setVisible(read_only)
        for edit in (self.name, self.manufacturer, self.model_name, self.station):
            edit.setReadOnly(read_only)
        self.description.setReadOnly(read_only)
        self.save_button.setEnabled(not read_only)
        self.delete_button.setEnabled(not read_only)

    # -- actions (callable from tests without dialogs) -------------------------------------------
    def save_current(self) -> Template | None:
        ident = self.current_id()
        if ident is None:
            return None
        old = self.store.get(ident)
        match = MatchKeys(modality=old.match.modality, rows=old.match.rows, columns=old.match.columns,
                          sop_class_uid=old.match.sop_class_uid,
                          manufacturer=self.manufacturer.text().strip() or None,
                          model_name=self.model_name.text().strip() or None,
                          station_name=self.station.text().strip() or None)
        try:
            saved = self.store.update(ident, name=self.name.text(), description=self.description.toPlainText(),
                                      match=match)
        except TemplateError as exc:
            self.message.error(str(exc))
            return None
        self.message.ok(f"Saved “{saved.name}”.")
        self._refill(select_id=saved.id)
        self.templatesChanged.emit()
        return saved

    def duplicate_current(self) -> Template | None:
        ident = self.current_id()
        if ident is None:
            return None
        copy = self.store.duplicate(ident)
        self.message.ok(f"Created “{copy.name}”; you can rename and edit it.")
        self._refill(select_id=copy.id)
        self.templatesChanged.emit()
        return copy

    def delete_current(self) -> None:
        ident = self.current_id()
        if ident is None:
            return
        try:
            name = self.store.get(ident).name
            self.store.delete(ident)
        except TemplateError as exc:
            self.message.error(str(exc))
            return
        self.message.ok(f"Deleted “{name}”. Scans it was applied to keep their boxes.")
        self._refill()
        self.templatesChanged.emit()

    def export_to(self, path: Path | str) -> Path | None:
        ident = self.current_id()
        if ident is None:
            return None
        try:
            target = self.store.export([ident], path)
        except (TemplateError, OSError) as exc:
            self.message.error(f"Could not export: {exc}")
            return None
        self.message.ok(f"Exported to {target}.")
        return target

    def import_from(self, path: Path | str) -> list[Template]:
        source = Path(path)
        try:
            if source.suffix.lower() == ".script":
                result = self.store.import_ctp(source.read_text(encoding="utf-8"), source_name=source.name)
                added, skipped = result.templates, result.skipped
            else:
                added, skipped = self.store.import_file(source), []
        except (TemplateError, OSError, UnicodeDecodeError) as exc:
            self.message.error(f"Could not import {source.name}: {exc}")
            return []
        text = f"Imported {len(added)} template{'s' if len(added) != 1 else ''} from {source.name}."
        if skipped:
            text += f" {len(skipped)} could not be imported: " + "; ".join(skipped[:5])
        self.message.say("ok" if added else "error", text)
        self._refill(select_id=added[0].id if added else None)
        self.templatesChanged.emit()
        return added

    # -- dialogs --------------------------------------------------------------------------------
    def _ask_delete(self) -> None:
        ident = self.current_id()
        if ident is None:
            return
        name = self.store.get(ident).name
        answer = QMessageBox.question(self, "Delete template", f"Delete the template “{name}”?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_current()

    def _ask_export(self) -> None:
        ident = self.current_id()
        if ident is None:
            return
        default = self.store.get(ident).name.replace("/", "_") + ".json"
        path, _ = QFileDialog.getSaveFileName(self, "Export template", str(Path.home() / default),
                                              "Template (*.json)")
        if path:
            self.export_to(path)

    def _ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import templates", str(Path.home()),
                                              "Templates (*.json);;CTP pixel anonymizer script (*.script);;All files (*)")
        if path:
            self.import_from(path)


class TemplateManagerDialog(QDialog):
    """The manager in its own window (from the review step's "Manage templates…")."""

    def __init__(self, store: TemplateStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Redaction templates")
        self.resize(900, 600)
        self.manager = TemplateManager(store, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.manager)
        layout.addWidget(buttons)
