""""Review" of one group: every scan as a tile, with select all/none, hide excluded, Create template,
Apply template(s), Exclude (with a reason) and Reset; double-click opens a scan in the viewer."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton, QSlider,
    QVBoxLayout, QWidget,
)

from desktop_client.grouping import UnsupportedGroup, ValidGroup, free_text_reason
from desktop_client.scanning.freetext import FREE_TEXT
from desktop_client.gui.review.dialogs import (
    AcceptAsIsDialog, ApplyTemplatesDialog, CreateTemplateDialog, ExcludeDialog, SaveTemplateDialog, fit_to_screen,
    run_modal,
)
from desktop_client.gui.review.findings import TextFindings, suggestions_from, tile_note
from desktop_client.gui.review.grid import (
    DEFAULT_TILE, TILE_RANGE, ScanGridModel, ScanGridView, ScanTileDelegate, tile_size,
)
from desktop_client.gui.review.scan_panel import ScanEditDialog
from desktop_client.plan.review import ReviewModel, uncovered
from desktop_client.gui.review.thumbs import ThumbnailCache
from desktop_client.gui.widgets import MessageBar
from desktop_client.templates import Template, TemplateStore

#: How often tiles and progress catch up with a group search's results (ms).
FOUND_MS = 100
#: Above this many changed tiles in one catch-up, the whole grid is marked changed at once.
ROW_UPDATES = 32


def group_title(group: ValidGroup | UnsupportedGroup) -> str:
    if isinstance(group, ValidGroup):
        return f"{group.modality} · {group.rows}×{group.columns} · {group.sop_class_name}"
    return f"Unsupported: {group.reason_text} · {group.sop_class_name}"


class GroupReviewDialog(QDialog):
    """Review every scan of one group; decisions go straight into the shared ``ReviewModel``."""

    changed = Signal()

    def __init__(self, review: ReviewModel, group: ValidGroup | UnsupportedGroup, store: TemplateStore,
                 parent: QWidget | None = None, findings: TextFindings | None = None) -> None:
        super().__init__(parent)
        self.review, self.group, self.store, self.findings = review, group, store, findings
        self.redactable = isinstance(group, ValidGroup)
        self._free_text = isinstance(group, UnsupportedGroup) and group.reason == FREE_TEXT
        self.setWindowTitle(f"Review: {group_title(group)}")
        fit_to_screen(self, 1180, 800)
        self.thumbs = ThumbnailCache(self)
        self._searching: list[str] = []
        self._members = set(review.group_members(group))
        self.model = ScanGridModel(review, review.group_members(group), self)
        self.view = ScanGridView(self)
        self.delegate = ScanTileDelegate(review, self.thumbs, self.view)
        self.view.setModel(self.model)
        self.view.setItemDelegate(self.delegate)
        # Results of a group search arrive scan by scan (2,000 in a large group): tiles and
        # progress are brought up to date for all of those that came back, every FOUND_MS.
        self._found: set[str] = set()
        #: scans of the group search still without a result (its end is shown at once)
        self._waiting: set[str] = set()
        self._found_timer = QTimer(self)
        self._found_timer.setSingleShot(True)
        self._found_timer.setInterval(FOUND_MS)
        self._found_timer.timeout.connect(self._flush_found)
        if findings is not None:
            self.delegate.note = lambda uid: tile_note(findings, review, uid)
            findings.updated.connect(self._on_found)
        if self._free_text:  # each scan's own reason inside the one free-text group
            self.delegate.note = lambda uid: (free_text_reason(review.scan(uid)), "#b9770e")
        self.tile_slider = QSlider(Qt.Orientation.Horizontal)
        self.tile_slider.setAccessibleName("Tile size")
        self.tile_slider.setToolTip("Tile size: larger tiles make burned-in text readable")
        self.tile_slider.setRange(*TILE_RANGE)
        self.tile_slider.setSingleStep(16)
        self.tile_slider.setPageStep(64)
        self.tile_slider.setFixedWidth(160)
        self.tile_slider.valueChanged.connect(self.set_tile_size)
        self.tile_slider.setValue(DEFAULT_TILE)
        self.set_tile_size(DEFAULT_TILE)
        self.thumbs.ready.connect(lambda _key: self.view.viewport().update())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update())
        # Double-click, or Enter on the focused tile, opens the scan in the viewer.
        self.view.inspect.connect(lambda row: self.open_scan(self.model.uid(row)))

        title = QLabel(group_title(group))
        title.setObjectName("h1")
        title.setWordWrap(True)
        explain = QLabel(
            "Tick scans (click, or Space), then apply a template (its boxes are blacked out on every frame; the "
            "tiles show the real result) or exclude them. Double-click a scan, or press Enter, to inspect it."
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
        bar.addSpacing(12)
        bar.addWidget(QLabel("Size"))
        bar.addWidget(self.tile_slider)
        bar.addStretch(1)
        for w in (self.create_button, self.apply_button, self.include_button, self.exclude_button,
                  self.reset_button):
            bar.addWidget(w)
        self.create_button.setVisible(self.redactable)
        self.apply_button.setVisible(self.redactable)

        # Burned-in text over the whole group, streamed onto the tiles as each scan is searched.
        self.find_button = QPushButton("Find text in group")
        self.find_button.setToolTip("Search every scan of this group for burned-in text, in the background. "
                                    "The search cannot certify an image clean: still look at the tiles.")
        self.find_button.clicked.connect(self.find_text)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(140)
        self.progress.setFormat("%v of %m scans")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the search (scans already searched keep their results; the others "
                                    "are held back as not checked)")
        self.stop_button.clicked.connect(self.stop_finding)
        self.accept_found_button = QPushButton("Accept suggestions for selected")
        self.accept_found_button.setToolTip("Add the likely-PHI boxes found on each selected scan to that scan")
        self.accept_found_button.clicked.connect(lambda: self.accept_suggestions(self.selected_uids()))
        self.save_template_button = QPushButton("Save as template…")
        self.save_template_button.setToolTip("Save the first selected scan's boxes as a template for scans of this kind")
        self.save_template_button.clicked.connect(self.save_template)
        self.decide_button = QPushButton("Decide")
        self.decide_button.setToolTip("Other decisions on the found text of the selected scans")
        menu = QMenu(self.decide_button)
        menu.addAction("Found text is not identifying", lambda: self.dismiss_found(self.selected_uids()))
        menu.addAction("Checked, no text", lambda: self.mark_no_text(self.selected_uids()))
        menu.addAction("Send as is, with a reason…", self.ask_accept_as_is)
        self.decide_button.setMenu(menu)
        self.offer_button = QPushButton("Apply to all")
        self.offer_button.clicked.connect(self.apply_offer)
        # One message line, always there (a banner that comes and goes moves the grid); the offer
        # button belongs to the offer's message and goes when another message replaces it.
        self.message = MessageBar(self, one_line=True)
        self.message.messageChanged.connect(self.offer_button.hide)
        text_row = QHBoxLayout()
        for part in (self.find_button, self.progress, self.stop_button):
            text_row.addWidget(part)
        text_row.addWidget(self.message, 1)
        for w in (self.offer_button, self.accept_found_button, self.decide_button, self.save_template_button):
            text_row.addWidget(w)
        self.decide_button.setVisible(self.redactable and findings is not None)
        for w in (self.find_button, self.accept_found_button, self.save_template_button):
            w.setVisible(self.redactable and findings is not None or w is self.save_template_button and self.redactable)
        self.progress.hide()
        self.stop_button.hide()
        self.offer_button.hide()
        self.status = QLabel()
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
        layout.addLayout(text_row)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self._update()
        self._offer_template()

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
    # -- templates offered at once --------------------------------------------------------------
    def offered_templates(self) -> list[Template]:
        """Saved templates that fit this group, when none of its scans has boxes yet."""
        uids = self.review.group_members(self.group)
        if not self.redactable or any(self.review.choices[u].rectangles for u in uids):
            return []
        return self.matching_templates(uids)

    def _offer_template(self) -> None:
        templates = self.offered_templates()
        if not templates:
            return
        t = templates[0]
        more = f" (and {len(templates) - 1} more: Apply template(s)…)" if len(templates) > 1 else ""
        self.message.info(f"Saved template “{t.name}” fits this group{more}"
                          + (f": {t.description}" if t.description else "."))
        self.offer_button.setText(f"Apply “{t.name}” to all")
        self.offer_button.show()

    def apply_offer(self) -> int:
        templates = self.offered_templates()
        return self.apply(templates[:1], self.review.group_members(self.group)) if templates else 0

    # -- burned-in text -------------------------------------------------------------------------
    def find_text(self) -> None:
        """Search every scan of the group (not excluded) in the background; tiles fill in as it goes."""
        if self.findings is None:
            return
        uids = [u for u in self.review.group_members(self.group) if not self.review.choices[u].excluded]
        self.findings.request([self.review.scan(u) for u in uids], front=True)
        self._searching = uids
        self._waiting = {u for u in uids if self.findings.result(u) is None}
        self._update_progress()
        self.view.viewport().update()

    def stop_finding(self) -> None:
        """Stop the group's search: what it had not started leaves the front of the queue. Those
        scans go back behind the background search of the whole selection, because the upload
        still needs each of them searched (or decided): a stopped search must not let them pass."""
        if self.findings is not None:
            dropped = self.findings.cancel(self._searching)
            self.message.say("info" if not dropped else "error",
                             f"Search stopped; {dropped} scan{'s' if dropped != 1 else ''} not searched"
                             + (": held back until searched again (Find text in group) or decided on." if dropped else "."))
        self._searching = []
        self._waiting = set()
        self._update_progress()

    def _on_found(self, uid: str) -> None:
        self._found.add(uid)
        if uid in self._waiting and self.findings is not None and self.findings.result(uid) is not None:
            self._waiting.discard(uid)
            if not self._waiting:  # the group search's last result: say so at once
                self._found_timer.stop()
                self._flush_found()
                return
        if not self._found_timer.isActive():
            self._found_timer.start()

    def _flush_found(self) -> None:
        uids, self._found = self._found, set()
        mine = uids & self._members
        if len(mine) > ROW_UPDATES:
            self.model.refresh()  # one signal; the view repaints the tiles on screen only
        elif mine:
            self.model.refresh(sorted(mine))
        self._update_progress()

    def _update_progress(self) -> None:
        findings = self.findings
        if findings is None:
            return
        done, total = findings.progress(self._searching) if self._searching else (0, 0)
        running = bool(self._searching) and done < total
        self.progress.setVisible(running)
        self.stop_button.setVisible(running)
        self.find_button.setEnabled(not running)
        if running:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        elif self._searching:
            searched = self._searching
            self._searching = []
            flagged = len(self.review.held_back(searched))
            self.message.say("error" if flagged else "ok",
                             f"Searched {len(searched)} scan{'s' if len(searched) != 1 else ''}: "
                             + (f"{flagged} with likely PHI not covered" if flagged else "no likely PHI left uncovered"),
                             "Tick the scans and “Accept suggestions for selected”, decide otherwise with “Decide”, "
                             "or inspect them (double-click)." if flagged else "")

    def accept_suggestions(self, uids: list[str]) -> int:
        """Add each selected scan's likely-PHI boxes (from the search) to its boxes, confirmed."""
        if self.findings is None:
            return 0
        changed = []
        for uid in uids:
            text = self.findings.result(uid)
            choice = self.review.choices[uid]
            if text is None or choice.excluded or not self.review.is_supported(uid):
                continue
            boxes = [s.rect for s in suggestions_from(text, choice.rectangles, choice.dismissed) if s.likely_phi]
            if boxes:
                self.review.accept_detected(uid, boxes)
                changed.append(uid)
        self.message.say("ok" if changed else "error",
                         f"Added the found boxes to {len(changed)} scan{'s' if len(changed) != 1 else ''}."
                         if changed else "No selected scan has found text left to accept (search the group first).")
        self._changed(changed)
        return len(changed)

    def dismiss_found(self, uids: list[str]) -> None:
        """The found lines no box covers are not identifying (each selected scan)."""
        for uid in uids:
            choice = self.review.choices[uid]
            for line in uncovered(self.review.findings.get(uid), choice.rectangles if choice.confirmed else []):
                self.review.dismiss(uid, line)
        self.message.ok(f"Marked the found text of {len(uids)} scan{'s' if len(uids) != 1 else ''} as not identifying.")
        self._changed(uids)

    def mark_no_text(self, uids: list[str]) -> None:
        self.review.mark_checked_no_text(uids)
        self.message.ok(f"{len(uids)} scan{'s' if len(uids) != 1 else ''} checked: no burned-in text.")
        self._changed(uids)

    def accept_as_is(self, uids: list[str], reason: str) -> None:
        self.review.accept_as_is(uids, reason)
        self.message.ok(f"{len(uids)} scan{'s' if len(uids) != 1 else ''} will be sent as is ({reason.strip()}).")
        self._changed(uids)

    def ask_accept_as_is(self) -> None:
        uids = self.selected_uids()
        if not uids:
            self.message.error("Tick the scans to send as is first.")
            return
        dialog = AcceptAsIsDialog(len(uids), self)
        reason = dialog.reason
        if run_modal(dialog):
            self.accept_as_is(uids, reason.text())

    def save_template(self) -> Template | None:
        """Save the first selected scan's boxes (accepted suggestions or drawn) as a template."""
        uids = [u for u in self.selected_uids() if self.review.choices[u].rectangles]
        if not uids:
            self.message.error("Tick a scan with boxes first (accept its suggestions, or draw them).")
            return None
        first = uids[0]
        dialog = SaveTemplateDialog(self.store, self.review.scan(first), self.review.choices[first].rectangles, self)
        if not run_modal(dialog) or dialog.template is None:
            return None
        self.message.ok(f"Saved template “{dialog.template.name}”: apply it to the other scans with "
                        "“Apply template(s)…”.")
        return dialog.template

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
        self.message.say("ok" if applied else "error", text)
        self._changed(uids)
        return applied

    def exclude(self, uids: list[str], reason: str = "") -> None:
        self.review.exclude(uids, reason)
        self.message.ok(f"Excluded {len(uids)} scan{'s' if len(uids) != 1 else ''}.")
        self._changed(uids)

    def reset(self, uids: list[str]) -> None:
        if not uids:
            return
        self.review.reset(uids)
        self.message.info(f"Reset {len(uids)} scan{'s' if len(uids) != 1 else ''}: they will be uploaded as they are.")
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
            self.message.error("Tick at least one scan first: the template is drawn on the first ticked scan.")
            return
        first = self.review.scan(uids[0])
        dialog = CreateTemplateDialog(self.store, first, len(uids), self,
                                      rects=self.review.choices[uids[0]].rectangles)
        if run_modal(dialog) and dialog.template is not None:
            self.apply([dialog.template], uids)

    def choose_templates(self) -> None:
        uids = self.selected_uids()
        if not uids:
            self.message.error("Tick the scans to apply templates to first.")
            return
        dialog = ApplyTemplatesDialog(self.matching_templates(uids), len(uids), self)
        if run_modal(dialog) and dialog.chosen():
            self.apply(dialog.chosen(), uids)

    def ask_exclude(self) -> None:
        uids = self.selected_uids()
        if not uids:
            self.message.error("Tick the scans to exclude first.")
            return
        dialog = ExcludeDialog(len(uids), self)
        reason = dialog.reason
        if run_modal(dialog):
            self.exclude(uids, reason.text())

    def set_tile_size(self, pixels: int) -> None:
        self.delegate.set_thumb_size(pixels)
        self.view.set_tile(tile_size(pixels, self.view.font()))

    def ask_include(self) -> None:
        """Free-text scans: show what they hold and record the decision (issue 14)."""
        uids = self.selected_uids()
        if not uids:
            self.message.error("Tick the scans to look into first.")
            return
        from desktop_client.gui.review.free_text import decide_free_text

        if decide_free_text(self.review, uids, self):
            self._changed(uids)

    def open_scan(self, uid: str) -> None:
        """Inspect a scan; Previous/Next in the dialog walk the grid in its order."""
        dialog = ScanEditDialog(self.review, uid, self.store, self, uids=self.model.uids(), findings=self.findings)
        dialog.panel.changed.connect(lambda changed: self.model.refresh([changed]))
        run_modal(dialog)
        self._changed(self.model.uids())

    def _update(self) -> None:
        selected = len(self.selected_uids())
        s = self.review.summary(self.review.group_members(self.group))
        parts = [f"{selected} of {self.model.rowCount()} selected", f"{s.redacted} redacted",
                 f"{s.as_is} as is", f"{s.excluded} excluded"]
        self.status.setText("   ·   ".join(parts))
        for b in (self.create_button, self.apply_button, self.include_button, self.exclude_button,
                  self.reset_button, self.accept_found_button, self.save_template_button, self.decide_button):
            b.setEnabled(selected > 0)

    def accept(self) -> None:
        self.review.reviewed_groups.add(self.review.group_id(self.group))
        self.changed.emit()
        super().accept()
