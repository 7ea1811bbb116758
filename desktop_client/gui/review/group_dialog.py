""""Review" of one group: every scan as a tile, with select all/none, hide excluded, Create template,
Apply template(s), Exclude (with a reason) and Reset; double-click opens a scan in the viewer."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from desktop_client.grouping import UnsupportedGroup, ValidGroup
from desktop_client.scanning.freetext import FREE_TEXT
from desktop_client.gui.review.dialogs import ApplyTemplatesDialog, CreateTemplateDialog, ExcludeDialog, run_modal
from desktop_client.gui.review.grid import ScanGridModel, ScanGridView, ScanTileDelegate
from desktop_client.gui.review.scan_panel import ScanEditDialog
from desktop_client.plan.review import ReviewModel
from desktop_client.gui.review.thumbs import ThumbnailCache
from desktop_client.templates import Template, TemplateStore


def group_title(group: ValidGroup | UnsupportedGroup) -> str:
    if isinstance(group, ValidGroup):
        return f"{group.modality} · {group.rows}×{group.columns} · {group.sop_class_name}"
    return f"Unsupported: {group.reason_text} · {group.sop_class_name}"


class GroupReviewDialog(QDialog):
    """Review every scan of one group; decisions go straight into the shared ``ReviewModel``."""

    changed = Signal()

    def __init__(self, review: ReviewModel, group: ValidGroup | UnsupportedGroup, store: TemplateStore,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.review, self.group, self.store = review, group, store
        self.redactable = isinstance(group, ValidGroup)
        self._free_text = isinstance(group, UnsupportedGroup) and group.reason == FREE_TEXT
        self.setWindowTitle(f"Review: {group_title(group)}")
        self.resize(1100, 760)
        self.thumbs = ThumbnailCache(self)
        self.model = ScanGridModel(review, review.group_members(group), self)
        self.view = ScanGridView(self)
        self.delegate = ScanTileDelegate(review, self.thumbs, self.view)
        self.view.setModel(self.model)
        self.view.setItemDelegate(self.delegate)
        self.thumbs.ready.connect(lambda _key: self.view.viewport().update())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update())
        # Double-click, or Enter on the focused tile, opens the scan in the viewer.
        self.view.activated.connect(lambda index: self.open_scan(self.model.uid(index.row())))

        title = QLabel(group_title(group))
        title.setObjectName("h1")
        title.setWordWrap(True)
        explain = QLabel(
            "Tick scans, then apply a template (its boxes are blacked out on every frame; the tiles show "
            "the real result) or exclude them. Double-click a scan to inspect it or adjust its boxes."
            if self.redactable else
            "These scans cannot be redacted (no image, several image sizes, or a compression that cannot be "
            "decoded). They are uploaded as they are unless you exclude them."
            if not self._free_text else
            "These scans contain free text (reports, documents, annotations, ROI names) that no "
            "anonymization script reaches. They are left out unless you include them: tick them and "
            "click “Show text / include…” to see what they hold and decide.")
        explain.setWordWrap(True)
        explain.setObjectName("hint")

        self.all_button = QPushButton("Select all")
        self.all_button.clicked.connect(self.select_all)
        self.none_button = QPushButton("Select none")
        self.none_button.clicked.connect(self.select_none)
        self.hide_excluded = QCheckBox("Hide excluded")
        self.hide_excluded.toggled.connect(self._on_hide_excluded)
        self.create_button = QPushButton("Create template…")
        self.create_button.setToolTip("Draw boxes on the first selected scan, save them as a template "
                                      "and apply it to the selected scans")
        self.create_button.clicked.connect(self.create_template)
        self.apply_button = QPushButton("Apply template(s)…")
        self.apply_button.clicked.connect(self.choose_templates)
        self.exclude_button = QPushButton("Exclude…")
        self.exclude_button.clicked.connect(self.ask_exclude)
        self.include_button = QPushButton("Show text / include…")
        self.include_button.clicked.connect(self.ask_include)
        self.include_button.setVisible(self._free_text)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Remove boxes and exclusions: the scans are uploaded as they are")
        self.reset_button.clicked.connect(lambda: self.reset(self.selected_uids()))
        bar = QHBoxLayout()
        for w in (self.all_button, self.none_button, self.hide_excluded):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.create_button, self.apply_button, self.include_button, self.exclude_button,
                  self.reset_button):
            bar.addWidget(w)
        self.create_button.setVisible(self.redactable)
        self.apply_button.setVisible(self.redactable)

        self.status = QLabel()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QDialogButtonBox()
        done = buttons.addButton("Done", QDialogButtonBox.ButtonRole.AcceptRole)
        done.setObjectName("primary")
        buttons.accepted.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(explain)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self._update()

    # -- selection ------------------------------------------------------------------------------
    def selected_uids(self) -> list[str]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.uid(r) for r in rows]

    def select_all(self) -> None:
        if self.model.rowCount():
            sel = QItemSelection(self.model.index(0), self.model.index(self.model.rowCount() - 1))
            self.view.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def select_none(self) -> None:
        self.view.selectionModel().clearSelection()

    def select_uids(self, uids: list[str]) -> None:
        sm = self.view.selectionModel()
        sm.clearSelection()
        for uid in uids:
            sm.select(self.model.index(self.model.row_of(uid)), QItemSelectionModel.SelectionFlag.Select)

    def _on_hide_excluded(self, hide: bool) -> None:
        keep = self.selected_uids()
        self.model.set_hide_excluded(hide)
        self.select_uids([u for u in keep if u in self.model.uids()])

    # -- actions --------------------------------------------------------------------------------
    def _say(self, kind: str, text: str) -> None:
        self.message.setObjectName(kind)
        self.message.setText(text)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setVisible(bool(text))

    def _changed(self, uids: list[str]) -> None:
        self.review.reviewed_groups.add(self.review.group_id(self.group))
        if self.hide_excluded.isChecked():
            keep = self.selected_uids()
            self.model.refilter()
            self.select_uids([u for u in keep if u in self.model.uids()])
        else:
            self.model.refresh(uids)
        self.view.viewport().update()
        self._update()
        self.changed.emit()

    def apply(self, templates: list[Template], uids: list[str] | None = None) -> int:
        uids = self.selected_uids() if uids is None else uids
        applied = self.review.apply_templates(uids, templates)
        skipped = len(uids) - applied
        names = ", ".join(f"“{t.name}”" for t in templates)
        text = f"Applied {names} to {applied} scan{'s' if applied != 1 else ''}."
        if skipped:
            text += f" {skipped} skipped (excluded, or the template does not fit them; Reset excluded scans first)."
        self._say("ok" if applied else "error", text)
        self._changed(uids)
        return applied

    def exclude(self, uids: list[str], reason: str = "") -> None:
        self.review.exclude(uids, reason)
        self._say("ok", f"Excluded {len(uids)} scan{'s' if len(uids) != 1 else ''}.")
        self._changed(uids)

    def reset(self, uids: list[str]) -> None:
        if not uids:
            return
        self.review.reset(uids)
        self._say("info", f"Reset {len(uids)} scan{'s' if len(uids) != 1 else ''}: they will be uploaded as they are.")
        self._changed(uids)

    def matching_templates(self, uids: list[str]) -> list[Template]:
        seen: dict[str, Template] = {}
        for uid in uids:
            for t in self.store.matching(self.review.scan(uid)):
                seen.setdefault(t.id, t)
        return list(seen.values())

    def create_template(self) -> None:
        uids = self.selected_uids()
        if not uids:
            self._say("error", "Tick at least one scan first: the template is drawn on the first ticked scan.")
            return
        first = self.review.scan(uids[0])
        dialog = CreateTemplateDialog(self.store, first, len(uids), self,
                                      rects=self.review.choices[uids[0]].rectangles)
        if run_modal(dialog) and dialog.template is not None:
            self.apply([dialog.template], uids)

    def choose_templates(self) -> None:
        uids = self.selected_uids()
        if not uids:
            self._say("error", "Tick the scans to apply templates to first.")
            return
        dialog = ApplyTemplatesDialog(self.matching_templates(uids), len(uids), self)
        if run_modal(dialog) and dialog.chosen():
            self.apply(dialog.chosen(), uids)

    def ask_exclude(self) -> None:
        uids = self.selected_uids()
        if not uids:
            self._say("error", "Tick the scans to exclude first.")
            return
        dialog = ExcludeDialog(len(uids), self)
        reason = dialog.reason
        if run_modal(dialog):
            self.exclude(uids, reason.text())

    def ask_include(self) -> None:
        """Free-text scans: show what they hold and record the decision (issue 14)."""
        uids = self.selected_uids()
        if not uids:
            self._say("error", "Tick the scans to look into first.")
            return
        from desktop_client.gui.review.free_text import decide_free_text

        if decide_free_text(self.review, uids, self):
            self._changed(uids)

    def open_scan(self, uid: str) -> None:
        run_modal(ScanEditDialog(self.review, uid, self.store, self))
        self._changed([uid])

    def _update(self) -> None:
        selected = len(self.selected_uids())
        s = self.review.summary(self.review.group_members(self.group))
        parts = [f"{selected} of {self.model.rowCount()} selected", f"{s.redacted} redacted",
                 f"{s.as_is} as is", f"{s.excluded} excluded"]
        self.status.setText("   ·   ".join(parts))
        for b in (self.create_button, self.apply_button, self.include_button, self.exclude_button,
                  self.reset_button):
            b.setEnabled(selected > 0)

    def accept(self) -> None:
        self.review.reviewed_groups.add(self.review.group_id(self.group))
        self.changed.emit()
        super().accept()
