"""One scan in the viewer with its decisions: Save scan, Reset, Exclude/Include, templates.

Shared by the single-session page and the bulk review's "open a scan" dialog, so both flows
behave the same: boxes drawn here are *unsaved* (and block the upload) until "Save scan".
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_client.gui.review.dialogs import ApplyTemplatesDialog, ExcludeDialog, SaveTemplateDialog, run_modal
from desktop_client.plan.review import ReviewModel, scan_label
from desktop_client.gui.viewer.widget import ScanViewer
from desktop_client.templates import TemplateStore


class ScanPanel(QWidget):
    """Viewer + per-scan actions for the scan ``uid`` of a ``ReviewModel``."""

    changed = Signal(str)  # uid
    templatesChanged = Signal()

    def __init__(self, review: ReviewModel, store: TemplateStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.review, self.store = review, store
        self.uid: str | None = None
        self.title = QLabel()
        self.title.setObjectName("h1")
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.viewer = ScanViewer(self)
        self.viewer.rectanglesChanged.connect(self._on_rects)
        self.save_button = QPushButton("Save scan")
        self.save_button.setObjectName("primary")
        self.save_button.setToolTip("Confirm this scan's boxes: they will be blacked out on every frame at upload")
        self.save_button.clicked.connect(self.save_scan)
        self.reset_button = QPushButton("Reset scan")
        self.reset_button.setToolTip("Remove this scan's boxes and exclusion")
        self.reset_button.clicked.connect(self.reset_scan)
        self.exclude_button = QPushButton("Exclude scan…")
        self.exclude_button.clicked.connect(self._toggle_exclude)
        self.apply_button = QPushButton("Apply template…")
        self.apply_button.clicked.connect(self._ask_apply)
        self.template_button = QPushButton("Save as template…")
        self.template_button.setToolTip("Reuse these boxes on other scans of the same kind")
        self.template_button.clicked.connect(self._ask_save_template)
        actions = QHBoxLayout()
        for b in (self.save_button, self.reset_button, self.exclude_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.apply_button)
        actions.addWidget(self.template_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.state)
        layout.addWidget(self.viewer, 1)
        layout.addLayout(actions)
        self.show_scan(None)

    def show_scan(self, uid: str | None) -> None:
        self.uid = uid
        if uid is None:
            self.title.setText("")
            self.viewer.set_scan(None)
        else:
            ref = self.review.refs[uid]
            choice = self.review.choices[uid]
            self.title.setText(scan_label(ref))
            self.viewer.set_scan(ref.scan, choice.rectangles, editable=self._editable())
        self._update()

    def _editable(self) -> bool:
        return self.uid is not None and self.review.is_supported(self.uid) and not self.review.choices[self.uid].excluded

    def _on_rects(self) -> None:
        if self.uid is None or not self._editable():
            return
        self.review.set_rectangles(self.uid, self.viewer.rectangles(), confirmed=False)
        self._changed()

    def _changed(self) -> None:
        self._update()
        if self.uid is not None:
            self.changed.emit(self.uid)

    # -- actions --------------------------------------------------------------------------------
    def save_scan(self) -> None:
        if self.uid is None:
            return
        self.review.set_rectangles(self.uid, self.viewer.rectangles(), confirmed=True)
        self._changed()

    def reset_scan(self) -> None:
        if self.uid is None:
            return
        self.review.reset([self.uid])
        self.show_scan(self.uid)
        self.changed.emit(self.uid)

    def exclude_scan(self, reason: str = "") -> None:
        if self.uid is None:
            return
        self.review.exclude([self.uid], reason)
        self.show_scan(self.uid)
        self.changed.emit(self.uid)

    def _toggle_exclude(self) -> None:
        if self.uid is None:
            return
        if self.review.choices[self.uid].excluded:
            if self.review.is_free_text(self.uid):  # included only by a decision (issue 14)
                from desktop_client.gui.review.free_text import decide_free_text

                if decide_free_text(self.review, [self.uid], self):
                    self.show_scan(self.uid)
                    self.changed.emit(self.uid)
                return
            self.reset_scan()
            return
        dialog = ExcludeDialog(1, self)
        if run_modal(dialog):
            self.exclude_scan(dialog.reason.text())

    def _ask_apply(self) -> None:
        if self.uid is None:
            return
        scan = self.review.scan(self.uid)
        dialog = ApplyTemplatesDialog(self.store.matching(scan), 1, self)
        if run_modal(dialog) and dialog.chosen():
            self.review.apply_templates([self.uid], dialog.chosen())
            self.show_scan(self.uid)
            self.changed.emit(self.uid)

    def _ask_save_template(self) -> None:
        if self.uid is None or not self.viewer.rectangles():
            return
        dialog = SaveTemplateDialog(self.store, self.review.scan(self.uid), self.viewer.rectangles(), self)
        if run_modal(dialog):
            self.templatesChanged.emit()

    def _update(self) -> None:
        uid = self.uid
        has = uid is not None
        choice = self.review.choices[uid] if has else None
        supported = has and self.review.is_supported(uid)
        rects = bool(self.viewer.rectangles())
        excluded = bool(choice and choice.excluded)
        self.save_button.setEnabled(supported and not excluded and rects and not choice.confirmed)
        self.reset_button.setEnabled(has and (excluded or bool(choice.rectangles)))
        self.exclude_button.setEnabled(has)
        free_text = has and self.review.is_free_text(uid)
        self.exclude_button.setText(("Show text / include…" if free_text else "Include scan")
                                    if excluded else "Exclude scan…")
        self.apply_button.setEnabled(supported and not excluded)
        self.template_button.setEnabled(supported and not excluded and rects)
        if not has:
            text, kind = "", "hint"
        elif excluded:
            text = "Excluded: this scan will not be uploaded" + (f" ({choice.exclude_reason})" if choice.exclude_reason else "") + "."
            kind = "error"
        elif choice.decision:
            text, kind = f"Included by your decision: {choice.decision}.", "info"
        elif not supported:
            text, kind = "This scan cannot be redacted; it is uploaded as it is unless you exclude it.", "info"
        elif choice.rectangles and not choice.confirmed:
            text, kind = ("Boxes not saved yet: click “Save scan” to confirm them "
                          "(the upload waits until every scan's boxes are saved)."), "error"
        elif choice.rectangles:
            n = len(choice.rectangles)
            text, kind = f"Saved: {n} box{'es' if n != 1 else ''} will be blacked out on every frame.", "ok"
        else:
            text, kind = "No boxes: this scan is uploaded with its pixels unchanged. Draw boxes over any burned-in text.", "info"
        self.state.setObjectName(kind)
        self.state.setText(text)
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)


class ScanEditDialog(QDialog):
    """A scan opened from the bulk grid."""

    def __init__(self, review: ReviewModel, uid: str, store: TemplateStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scan")
        self.resize(980, 780)
        self.panel = ScanPanel(review, store, self)
        self.panel.show_scan(uid)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel, 1)
        layout.addLayout(row)
