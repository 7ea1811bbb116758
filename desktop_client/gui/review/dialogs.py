"""Small dialogs of the review step: create a template, choose templates, exclude with a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QPlainTextEdit, QVBoxLayout, QWidget,
)

from desktop_client.core.geometry import Rect
from desktop_client.core.sop_classes import sop_class_name
from desktop_client.gui.templates.manager import template_summary
from desktop_client.gui.templates.preview import layout_pixmap
from desktop_client.gui.viewer.widget import ScanViewer
from desktop_client.gui.widgets import MessageBar
from desktop_client.scanning.model import Scan
from desktop_client.templates import MatchKeys, Template, TemplateError, TemplateStore


def run_modal(dialog: QDialog) -> bool:
    """Show ``dialog`` modally; True when accepted. The dialog is freed afterwards (its viewer
    and thumbnails would otherwise live as long as the parent), but its Python attributes can
    still be read right after this returns."""
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    dialog.deleteLater()
    return accepted


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize to ``width × height`` or to what the screen offers (a 1366×768 laptop has ~700 px
    of height for a dialog once the task bar and title bar are taken)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        width, height = min(width, area.width() - 40), min(height, area.height() - 60)
    widget.resize(width, height)


def box_places(rects: list[Rect], columns: int, rows: int) -> str:
    """Where the boxes are, in words ("top-left, top-right"): what tells two templates apart."""
    places: list[str] = []
    for r in rects:
        cx, cy = (r.left + r.right) / 2, (r.top + r.bottom) / 2
        vertical = "top" if cy < rows / 3 else "bottom" if cy > 2 * rows / 3 else "middle"
        horizontal = "left" if cx < columns / 3 else "right" if cx > 2 * columns / 3 else "centre"
        spans = columns and r.right - r.left > 0.6 * columns
        place = f"{vertical} band" if spans else f"{vertical}-{horizontal}"
        if place not in places:
            places.append(place)
    return ", ".join(places)


def default_template_name(store: TemplateStore, scan: Scan, rects: list[Rect] | None = None) -> str:
    """Modality, size, equipment and where the boxes are: distinguishable at a glance in a list."""
    rep = scan.representative
    parts = [f"{rep.modality or 'Scan'} {rep.rows}×{rep.columns}"]
    equipment = " ".join(v for v in (str(rep.manufacturer or "").strip(),
                                    str(rep.manufacturer_model_name or "").strip()) if v)
    if equipment:
        parts.append(equipment)
    places = box_places(rects or [], rep.columns or 0, rep.rows or 0)
    if places:
        parts.append(places)
    return store.unique_name(" · ".join(parts))


def default_description(scan: Scan, rects: list[Rect]) -> str:
    rep = scan.representative
    label = f"series #{scan.series_number} {scan.series_description or ''}".strip()
    n = len(rects)
    return (f"{n} box{'es' if n != 1 else ''} ({box_places(rects, rep.columns or 0, rep.rows or 0) or 'none'}); "
            f"drawn on {label}, {date.today().isoformat()}.")


class TemplateForm(QWidget):
    """Name + description fields with inline validation against the store.

    Until the user types in them, the name and description follow the boxes (``set_rectangles``),
    so templates made from different layouts of the same kind of scan get different names.
    """

    def __init__(self, store: TemplateStore, scan: Scan, parent: QWidget | None = None,
                 rects: list[Rect] | None = None) -> None:
        super().__init__(parent)
        self.store, self.scan = store, scan
        self.name = QLineEdit()
        self.name.setAccessibleName("Template name")
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("What the boxes cover, e.g. “patient banner top-left, date top-right”")
        self.description.setMaximumHeight(64)
        self._auto_name = self._auto_description = True
        self.name.textEdited.connect(lambda _t: setattr(self, "_auto_name", False))
        self.description.textChanged.connect(self._on_description_edited)
        self._filling = False
        self.error = MessageBar()
        rep = scan.representative
        keys = QLabel(f"Will fit: {rep.modality} · {rep.rows}×{rep.columns} (rows×columns) · "
                      f"{sop_class_name(rep.sop_class_uid)}")
        keys.setObjectName("hint")
        keys.setWordWrap(True)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        form.addRow("Template name", self.name)
        form.addRow("Description", self.description)
        form.addRow(keys)
        # Optional equipment constraints, offered only when the scan names its equipment: two
        # scanners with the same matrix often put their text in different places.
        self.constraints: dict[str, QCheckBox] = {}
        for attr, label in (("manufacturer", "manufacturer"), ("manufacturer_model_name", "model"),
                            ("station_name", "station")):
            value = str(getattr(rep, attr, "") or "").strip()
            if value:
                box = QCheckBox(f"Only for {label} “{value}”")
                box.setProperty("value", value)
                self.constraints[attr] = box
                form.addRow(box)
        form.addRow(self.error)
        self.set_rectangles(rects or [])

    def _on_description_edited(self) -> None:
        if not self._filling:
            self._auto_description = False

    def set_rectangles(self, rects: list[Rect]) -> None:
        """Follow the boxes with the default name and description, unless the user wrote their own."""
        self._filling = True
        if self._auto_name:
            self.name.setText(default_template_name(self.store, self.scan, rects))
            self.name.setCursorPosition(0)  # the start (modality, size) is what tells it apart
        if self._auto_description:
            self.description.setPlainText(default_description(self.scan, rects) if rects else "")
        self._filling = False

    def match_keys(self) -> MatchKeys:
        def chosen(attr: str) -> str | None:
            box = self.constraints.get(attr)
            return str(box.property("value")) if box is not None and box.isChecked() else None
        return replace(MatchKeys.of(self.scan), manufacturer=chosen("manufacturer"),
                       model_name=chosen("manufacturer_model_name"), station_name=chosen("station_name"))

    def save_template(self, rects: list[Rect]) -> Template | None:
        """Save the template; shows the problem inline and returns None when it cannot."""
        try:
            return self.store.create(self.name.text(), self.match_keys(), rects,
                                     description=self.description.toPlainText())
        except TemplateError as exc:
            self.error.error(str(exc))
            return None


class SaveTemplateDialog(QDialog):
    """Save already-drawn rectangles (single-session "Save as template…")."""

    def __init__(self, store: TemplateStore, scan: Scan, rects: list[Rect], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save as template")
        self.rects = list(rects)
        self.template: Template | None = None
        self.form = TemplateForm(store, scan, self, self.rects)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(self.rects)} box{'es' if len(self.rects) != 1 else ''} will be saved; "
                                "the template can then be applied to every scan of the same kind."))
        layout.addWidget(self.form)
        layout.addWidget(buttons)

    def accept(self) -> None:
        self.template = self.form.save_template(self.rects)
        if self.template is not None:
            super().accept()


class CreateTemplateDialog(QDialog):
    """Draw a template on a scan (bulk "Create template"), then save it.

    The viewer and the form sit side by side, so the dialog fits a 768-px-high screen with the
    image still large; it opens no bigger than the screen.
    """

    def __init__(self, store: TemplateStore, scan: Scan, selected: int, parent: QWidget | None = None,
                 rects: list[Rect] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create template")
        fit_to_screen(self, 1100, 700)
        self.template: Template | None = None
        self.viewer = ScanViewer(self)
        self.viewer.set_scan(scan, rects or [])
        self.form = TemplateForm(store, scan, self, rects or [])
        self.form.setMinimumWidth(300)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.setOrientation(Qt.Orientation.Vertical)
        verb = f"Save and apply to {selected} selected scan{'s' if selected != 1 else ''}" if selected else "Save template"
        self.save_button = self.buttons.addButton(verb, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("primary")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.viewer.rectanglesChanged.connect(self._update)
        info = QLabel("Draw boxes over all burned-in text (scroll through the frames to check every one). "
                      "Boxes apply to every frame of every scan the template is applied to.")
        info.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(info)
        side.addWidget(self.form)
        side.addStretch(1)
        side.addWidget(self.buttons)
        layout = QHBoxLayout(self)
        layout.addWidget(self.viewer, 1)
        layout.addLayout(side)
        self._update()

    def _update(self) -> None:
        rects = self.viewer.rectangles()
        self.save_button.setEnabled(bool(rects))
        self.form.set_rectangles(rects)

    def accept(self) -> None:
        self.template = self.form.save_template(self.viewer.rectangles())
        if self.template is not None:
            super().accept()


class ApplyTemplatesDialog(QDialog):
    """Choose one or more templates (their boxes are combined) to apply to the selected scans."""

    def __init__(self, templates: list[Template], selected: int, parent: QWidget | None = None,
                 matching_scans: int = 0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Apply templates")
        fit_to_screen(self, 600, 520)
        self.list = QListWidget()
        self.list.setIconSize(QSize(80, 80))
        self.list.setAccessibleName("Matching templates")
        for t in templates:
            item = QListWidgetItem(QIcon(layout_pixmap(t.match.columns or 0, t.match.rows or 0, t.rectangles, 80)),
                                   f"{t.name}{'  (example)' if t.read_only else ''}\n{template_summary(t)}"
                                   f"\n{t.description or 'No description'}"
                                   f"\nCreated {t.created[:10]} by {t.author or 'unknown'}")
            item.setData(Qt.ItemDataRole.UserRole, t)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setToolTip(t.description or t.name)
            self.list.addItem(item)
        if len(templates) == 1:
            self.list.item(0).setCheckState(Qt.CheckState.Checked)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.addButton(f"Apply to {selected} scan{'s' if selected != 1 else ''}",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        #: Single-session review: apply to every scan of the session the templates fit, not one.
        self.all_matching = QCheckBox(f"Apply to all {matching_scans} matching scans of this session")
        self.all_matching.setVisible(matching_scans > 1)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.list.itemChanged.connect(lambda _i: self._update())
        layout = QVBoxLayout(self)
        text = ("Templates that fit these scans (same modality, size and SOP class). "
                "Tick several to combine their boxes.") if templates else \
            "No saved template fits these scans yet. Use “Create template” to draw one."
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.all_matching)
        layout.addWidget(self.buttons)
        self._update()

    def chosen(self) -> list[Template]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: list[str]) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            t: Template = item.data(Qt.ItemDataRole.UserRole)
            item.setCheckState(Qt.CheckState.Checked if t.name in names else Qt.CheckState.Unchecked)

    def _update(self) -> None:
        self.apply_button.setEnabled(bool(self.chosen()))


class ExcludeDialog(QDialog):
    """Exclude scans from the upload, with an optional reason shown in the receipt."""

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Exclude scans")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Optional, e.g. “secondary capture with a photo of the patient”")
        self.reason.setAccessibleName("Reason")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.addButton(f"Exclude {count} scan{'s' if count != 1 else ''}", QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setObjectName("primary")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        label = QLabel("Excluded scans are not uploaded. The reason is written in the upload receipt.")
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(self.reason)
        layout.addWidget(buttons)


class AcceptAsIsDialog(QDialog):
    """Send scans with their visible text on purpose: a reason is required (the receipt keeps it)."""

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send as is")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Required, e.g. “the text is the device name, not the patient”")
        self.reason.setAccessibleName("Reason")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton(f"Send {count} scan{'s' if count != 1 else ''} as is",
                                    QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.reason.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))
        self.ok.setEnabled(False)
        layout = QVBoxLayout(self)
        label = QLabel("The text the search found stays visible in what is sent. Say why; the upload "
                       "receipt records it next to the scan.")
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(self.reason)
        layout.addWidget(buttons)
