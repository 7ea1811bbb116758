"""One scan in the viewer with its decisions: Save scan, Reset, Exclude/Include, templates.

Shared by the single-session page and the bulk review's "open a scan" dialog, so both flows
behave the same: boxes drawn here are *unsaved* (and block the upload) until "Save scan".

Opening a scan searches it for burned-in text, with its progress and a Stop that really stops
the worker (a stopped scan is *not checked*: held back until searched again or decided on); what
was read is drawn as dashed suggestions (likely patient data ticked), which can be moved and
resized like boxes before "Accept ticked"/"Accept all" turn them into ordinary boxes (provenance
"detected", or "detected (adjusted)" when edited) or "Dismiss" sets them aside. A scan still held back offers its fixes on the
same line: not identifying, checked (no text), send as is with a reason; Exclude is below.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop_client.core.geometry import Rect
from desktop_client.gui.review.findings import QUEUED, RUNNING, TextFindings, suggestions_from, tile_note
from desktop_client.gui.review.private_text import PrivateTextControl
from desktop_client.gui.widgets import Level, MessageBar
from desktop_client.gui.viewer.canvas import Suggestion
from desktop_client.gui.review.dialogs import (
    AcceptAsIsDialog, ApplyTemplatesDialog, ExcludeDialog, SaveTemplateDialog, fit_to_screen, run_modal,
)
from desktop_client.plan.review import ReviewModel, scan_label, uncovered
from desktop_client.textfind import cut_warnings
from desktop_client.gui.viewer.widget import ScanViewer
from desktop_client.templates import Template, TemplateStore


#: How often the progress of the open scan's text search is read while it runs.
PROGRESS_MS = 250


class ScanPanel(QWidget):
    """Viewer + per-scan actions for the scan ``uid`` of a ``ReviewModel``."""

    changed = Signal(str)  # uid
    templatesChanged = Signal()

    def __init__(self, review: ReviewModel, store: TemplateStore, parent: QWidget | None = None,
                 findings: TextFindings | None = None) -> None:
        super().__init__(parent)
        self.review, self.store, self.findings = review, store, findings
        self.uid: str | None = None
        #: Suggested boxes per scan still waiting for a decision (accepted or dismissed ones leave).
        self._suggestions: dict[str, list[Suggestion]] = {}
        self.title = QLabel()
        self.title.setObjectName("h1")
        self.state = MessageBar(self, one_line=True)
        self.viewer = ScanViewer(self)
        self.viewer.rectanglesChanged.connect(self._on_rects)
        self.viewer.suggestionsChanged.connect(self._update)
        self.viewer.suggestionAccepted.connect(lambda s: self.accept_suggestions(only=s))
        self.viewer.suggestionDismissed.connect(self.dismiss_suggestion)
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
        # The assist row: always present and one line high (no layout jump), it shows what the app
        # found for this scan: burned-in text (suggested boxes to accept or dismiss), or a saved
        # template that fits it.
        self.find_button = QPushButton("Find text")
        self.find_button.setToolTip("Search this scan for burned-in text and suggest boxes (runs in the background). "
                                    "The search cannot certify an image clean: still look at every frame.")
        self.find_button.clicked.connect(self.find_text)
        self.offer = MessageBar(self, one_line=True)
        self.search_progress = QProgressBar()
        self.search_progress.setAccessibleName("Text search progress")
        self.search_progress.setTextVisible(False)
        self.search_progress.setFixedWidth(120)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop searching this scan. It stays “not checked” and is not sent until "
                                    "you search it again (Find text) or decide on it.")
        self.stop_button.clicked.connect(self.stop_search)
        # While this scan is searched its progress (images done) is read a few times a second.
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._update_search_progress)
        self.accept_button = QPushButton("Accept ticked")
        self.accept_button.setToolTip("Turn the ticked suggestions into boxes; the others are dismissed")
        self.accept_button.clicked.connect(lambda: self.accept_suggestions(all_of_them=False))
        self.accept_all_button = QPushButton("Accept all")
        self.accept_all_button.clicked.connect(lambda: self.accept_suggestions(all_of_them=True))
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Hide the suggestions without adding boxes")
        self.dismiss_button.clicked.connect(self.dismiss_suggestions)
        self.not_phi_button = QPushButton("Not identifying")
        self.not_phi_button.setToolTip("The found text does not identify the patient: send the scan without boxes")
        self.not_phi_button.clicked.connect(self.dismiss_uncovered)
        self.no_text_button = QPushButton("Checked, no text")
        self.no_text_button.setToolTip("You looked at every frame and there is no burned-in text")
        self.no_text_button.clicked.connect(self.mark_no_text)
        self.as_is_button = QPushButton("Send as is…")
        self.as_is_button.setToolTip("Send the visible text on purpose; the reason goes into the receipt")
        self.as_is_button.clicked.connect(self._ask_accept_as_is)
        self.offer_apply = QPushButton("Apply")
        self.offer_apply.clicked.connect(lambda: self.apply_offer(all_matching=False))
        self.offer_apply_all = QPushButton("Apply to all matching")
        self.offer_apply_all.clicked.connect(lambda: self.apply_offer(all_matching=True))
        self.offer_dismiss = QPushButton("Not now")
        self.offer_dismiss.clicked.connect(self._dismiss_offer)
        self._offer_dismissed: set[str] = set()
        assist = QWidget(self)
        assist.setFixedHeight(max(self.offer.height(), self.offer_apply.sizeHint().height()))
        assist_row = QHBoxLayout(assist)
        assist_row.setContentsMargins(0, 0, 0, 0)
        assist_row.addWidget(self.find_button)
        assist_row.addWidget(self.offer, 1)
        for b in (self.search_progress, self.stop_button, self.accept_button, self.accept_all_button,
                  self.dismiss_button, self.not_phi_button, self.no_text_button, self.as_is_button,
                  self.offer_apply, self.offer_apply_all, self.offer_dismiss):
            assist_row.addWidget(b)
        self.assist = assist
        if findings is not None:
            findings.updated.connect(self._on_found)
        # Header text the scripts keep (issue 14 §2): shown only for such scans, in this row.
        self.private_text = PrivateTextControl(review, self)
        self.private_text.decided.connect(lambda _uid: self._changed())
        actions = QHBoxLayout()
        for b in (self.save_button, self.reset_button, self.exclude_button):
            actions.addWidget(b)
        actions.addWidget(self.private_text)
        actions.addStretch(1)
        actions.addWidget(self.apply_button)
        actions.addWidget(self.template_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.state)
        layout.addWidget(self.assist)
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
            # Opening a scan searches it for text at once, in the background, ahead of any queue.
            if self.findings is not None and self._editable():
                self.findings.request([ref.scan], front=True)
            self._show_suggestions()
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

    # -- burned-in text -------------------------------------------------------------------------
    def find_text(self) -> None:
        """Search (again) this scan for burned-in text; the suggestions replace any dismissed ones."""
        if self.uid is None or self.findings is None or not self._editable():
            return
        self._suggestions.pop(self.uid, None)
        self.findings.request([self.review.scan(self.uid)], front=True, again=True)
        self._update()

    def stop_search(self) -> None:
        """Stop this scan's search (queued and running parts; the worker is freed). Nothing of the
        scan is concluded: it stays held back until searched again or decided on."""
        if self.uid is None or self.findings is None:
            return
        self.findings.cancel([self.uid])
        self._changed()

    def searching(self) -> bool:
        """Is this scan's text search queued or running?"""
        return (self.uid is not None and self.findings is not None and self._editable()
                and self.findings.state(self.uid) in (QUEUED, RUNNING))

    def _update_search_progress(self) -> None:
        """The assist row's progress line and bar (while the row shows the search, nothing else)."""
        if not self.search_progress.isVisibleTo(self) or not self.searching() \
                or self.findings is None or self.uid is None:
            self._progress_timer.stop()
            return
        done, total = self.findings.scan_progress(self.uid)
        if total <= 1:  # one image (a long cine): no steps to count, a busy bar
            self.search_progress.setRange(0, 0)
            text = "Searching this scan for burned-in text…"
        else:
            self.search_progress.setRange(0, total)
            self.search_progress.setValue(done)
            text = f"Searching for burned-in text: {done} of {total} images…"
        self.offer.info(text, "The search runs in the background: keep working. Stop ends it; "
                                            "the scan then stays not checked until you search it again or decide.")

    def _on_found(self, uid: str) -> None:
        if uid == self.uid:
            self._show_suggestions()
            self._update()

    def suggestions(self) -> list[Suggestion]:
        return self._suggestions.get(self.uid, []) if self.uid is not None else []

    def _show_suggestions(self) -> None:
        uid = self.uid
        if uid is None or self.findings is None:
            return
        text = self.findings.result(uid)
        if text is not None and uid not in self._suggestions and self._editable():
            choice = self.review.choices[uid]
            self._suggestions[uid] = suggestions_from(text, choice.rectangles, choice.dismissed)
        self.viewer.set_suggestions(self.suggestions() if self._editable() else [])

    def accept_suggestions(self, *, all_of_them: bool = False, only: Suggestion | None = None) -> list[Rect]:
        """Ticked (or all) suggestions become ordinary boxes of the scan, with the geometry they
        have now ("detected" in the receipt, "detected (adjusted)" when a person moved or resized
        one); the ones left unticked are dismissed as not identifying. ``only``: accept that one
        suggestion and leave the others waiting."""
        if self.uid is None or not self._editable():
            return []
        pending = self.suggestions()
        if only is not None and only not in pending:
            return []
        taken = [only] if only is not None else [s for s in pending if all_of_them or s.ticked]
        # Boxes drawn but not saved yet stay as they are; the accepted ones join them.
        drawn = self.viewer.rectangles()
        if drawn != self.review.choices[self.uid].rectangles:
            self.review.set_rectangles(self.uid, drawn, confirmed=False)
        unsaved = bool(drawn) and not self.review.choices[self.uid].confirmed
        self.review.accept_detected(self.uid, [s.rect for s in taken], adjusted=[s.rect for s in taken if s.adjusted])
        if unsaved:  # accepting suggestions does not save boxes the user has not saved
            self.review.set_rectangles(self.uid, self.review.choices[self.uid].rectangles, confirmed=False)
        left = [s for s in pending if s not in taken]
        if only is None:
            for s in left:
                for line in s.lines:
                    self.review.dismiss(self.uid, line)
            left = []
        self._suggestions[self.uid] = left
        self.viewer.set_suggestions(left)
        self.viewer.set_rectangles(self.review.choices[self.uid].rectangles)
        self._changed()
        return [s.rect for s in taken]

    def dismiss_suggestions(self) -> None:
        """None of the suggestions is identifying: no boxes, and they no longer hold the scan back."""
        if self.uid is None:
            return
        for s in self.suggestions():
            for line in s.lines:
                self.review.dismiss(self.uid, line)
        self._suggestions[self.uid] = []
        self.viewer.set_suggestions([])
        self._changed()

    def dismiss_suggestion(self, suggestion: Suggestion) -> None:
        """This one suggestion is not identifying (Delete on the selected one); the others wait."""
        if self.uid is None or suggestion not in self.suggestions():
            return
        for line in suggestion.lines:
            self.review.dismiss(self.uid, line)
        left = [s for s in self.suggestions() if s is not suggestion]
        self._suggestions[self.uid] = left
        self.viewer.set_suggestions(left)
        self._changed()

    def _update_suggestion_row(self) -> bool:
        """The assist row for pending suggestions; True when there are some."""
        pending = self.suggestions() if self._editable() else []
        for b in (self.accept_button, self.accept_all_button, self.dismiss_button):
            b.setVisible(bool(pending))
        if not pending:
            return False
        ticked = sum(1 for s in pending if s.ticked)
        phi = sum(1 for s in pending if s.likely_phi)
        self.offer.say(
            "error" if phi else "info",
            "Suggested boxes are dashed: hover one to read its text, click it to tick or untick it, "
            "drag it or its edges and corners to adjust it (Enter accepts the selected one, Del dismisses it). "
            "Ticked ones become boxes with “Accept ticked”.")
        self.accept_button.setText(f"Accept ticked ({ticked})")
        self.accept_button.setEnabled(bool(ticked))
        return True

    def _text_result_line(self) -> tuple[str, str] | None:
        """After the suggestions are dealt with: what the search found, in a few words."""
        if self.uid is None or self.findings is None or not self._editable():
            return None
        return tile_note(self.findings, self.review, self.uid)

    def matching_uids(self, templates: list[Template]) -> list[str]:
        """Scans of this scan's session that the templates fit and that can take boxes."""
        if self.uid is None:
            return []
        session = self.review.refs[self.uid].session
        return [u for u, ref in self.review.refs.items()
                if ref.session is session and self.review.is_supported(u) and not self.review.choices[u].excluded
                and any(t.matches(ref.scan) for t in templates)]

    def apply(self, templates: list[Template], *, all_matching: bool) -> list[str]:
        """Apply to this scan, or to every matching scan of its session; returns the scans changed."""
        if self.uid is None or not templates:
            return []
        uids = self.matching_uids(templates) if all_matching else [self.uid]
        self.review.apply_templates(uids, templates)
        self.show_scan(self.uid)
        for uid in uids:
            self.changed.emit(uid)
        return uids

    def _ask_apply(self) -> None:
        if self.uid is None:
            return
        templates = self.store.matching(self.review.scan(self.uid))
        dialog = ApplyTemplatesDialog(templates, 1, self, matching_scans=len(self.matching_uids(templates)))
        if run_modal(dialog) and dialog.chosen():
            self.apply(dialog.chosen(), all_matching=dialog.all_matching.isChecked())

    def offered_templates(self) -> list[Template]:
        """Saved templates offered for this scan: it fits them and has no boxes or decision yet."""
        uid = self.uid
        if uid is None or uid in self._offer_dismissed or not self.review.is_supported(uid):
            return []
        choice = self.review.choices[uid]
        if choice.excluded or choice.rectangles:
            return []
        return self.store.matching(self.review.scan(uid))

    def apply_offer(self, *, all_matching: bool) -> list[str]:
        return self.apply(self.offered_templates(), all_matching=all_matching)

    def _dismiss_offer(self) -> None:
        if self.uid is not None:
            self._offer_dismissed.add(self.uid)
        self._update()

    def _update_assist(self) -> None:
        """One row, in order of urgency: found text to decide on, a fitting template, the search
        state, then what the search found or what still holds the scan back."""
        searching = self.searching()
        self.find_button.setEnabled(self._editable() and self.findings is not None and not searching)
        self.find_button.setVisible(self.findings is not None)
        self.stop_button.setVisible(searching)
        suggesting = self._update_suggestion_row()
        templates = [] if suggesting else self.offered_templates()
        self.search_progress.setVisible(searching and not suggesting and not templates)
        self.offer_apply.setVisible(bool(templates))
        self.offer_dismiss.setVisible(bool(templates))
        self.offer_apply_all.hide()
        for b in (self.not_phi_button, self.no_text_button):
            b.hide()
        if self.search_progress.isVisibleTo(self):
            # The search's progress and its Stop first: the decisions wait for what it finds.
            self.as_is_button.hide()
            self._update_search_progress()
            if not self._progress_timer.isActive():
                self._progress_timer.start()
            return
        held = "" if suggesting or templates or self.uid is None else self.review.gate(self.uid)
        # Sending the text as is stays one click away while the suggestions wait.
        burned = self.uid is not None and bool(self.review.burned_text_held(self.uid))
        self.as_is_button.setVisible(suggesting and burned)
        if suggesting:
            return
        if templates:
            names = ", ".join(f"“{t.name}”" for t in templates[:2]) + (f" and {len(templates) - 2} more"
                                                                         if len(templates) > 2 else "")
            described = next((t.description for t in templates if t.description), "")
            verb = "fits" if len(templates) == 1 else "fit"
            text = f"Saved template{'s' if len(templates) != 1 else ''} {names} {verb} this scan"
            self.offer.info(text + (f": {described}" if described else "."))
            n = len(self.matching_uids(templates))
            self.offer_apply_all.setText(f"Apply to all {n} matching")
            self.offer_apply_all.setVisible(n > 1)
            return
        if held:
            self.offer.error(f"Not sent until you decide: {held}.")
            assert self.uid is not None  # only a shown scan is held
            if not burned:  # only header text holds it: the choice is in the bottom row
                self.as_is_button.hide()
                return
            choice = self.review.choices[self.uid]
            open_lines = [r for r in uncovered(self.review.findings.get(self.uid),
                                               choice.rectangles if choice.confirmed else [])
                          if str(r) not in choice.dismissed]
            self.not_phi_button.setVisible(bool(open_lines))
            self.no_text_button.setVisible(not open_lines)
            self.as_is_button.show()
            return
        note = self._text_result_line()
        decision = self.review.choices[self.uid].text_decision if self.uid is not None else ""
        text = note[0] if note else ""
        if decision and decision != "excluded":
            text = f"{text} · decision: {decision}" if text else f"Decision: {decision}"
        cuts = self.cut_warnings()
        if cuts:  # a warning, never a block: the box may be meant that way
            more = f" (and {len(cuts) - 1} more)" if len(cuts) > 1 else ""
            self.offer.info(f"Check the boxes: {cuts[0]}{more}", "\n".join(cuts))
            return
        self.offer.say("hint", text)

    def cut_warnings(self) -> list[str]:
        """Boxes whose edge cuts a line the search read (the text may stay half readable)."""
        if self.uid is None or not self._editable():
            return []
        found = self.review.findings.get(self.uid)
        rects = self.review.choices[self.uid].rectangles
        return cut_warnings(found.found, rects) if found is not None and rects else []

    # -- decisions on burned-in text ------------------------------------------------------------
    def dismiss_uncovered(self) -> None:
        """The found lines the boxes do not cover are not identifying (a person's call)."""
        if self.uid is None:
            return
        for line in uncovered(self.review.findings.get(self.uid), self.review.choices[self.uid].rectangles
                              if self.review.choices[self.uid].confirmed else []):
            self.review.dismiss(self.uid, line)
        self._changed()

    def mark_no_text(self) -> None:
        if self.uid is not None:
            self.review.mark_checked_no_text([self.uid])
            self._changed()

    def accept_as_is(self, reason: str) -> None:
        if self.uid is not None:
            self.review.accept_as_is([self.uid], reason)
            self._changed()

    def _ask_accept_as_is(self) -> None:
        dialog = AcceptAsIsDialog(1, self)
        if run_modal(dialog):
            self.accept_as_is(dialog.reason.text())

    def _ask_save_template(self) -> None:
        if self.uid is None or not self.viewer.rectangles():
            return
        dialog = SaveTemplateDialog(self.store, self.review.scan(self.uid), self.viewer.rectangles(), self)
        if run_modal(dialog):
            self.templatesChanged.emit()

    def refresh_state(self) -> None:
        """Show the scan's state again (a background check about it finished)."""
        self._update()

    def _update(self) -> None:
        uid = self.uid
        if uid is None:  # no scan shown: nothing to act on, nothing to say
            for b in (self.save_button, self.reset_button, self.exclude_button, self.apply_button,
                      self.template_button):
                b.setEnabled(False)
            self.exclude_button.setText("Exclude scan…")
            self.state.clear()
            self._update_assist()
            return
        choice = self.review.choices[uid]
        supported = self.review.is_supported(uid)
        rects = bool(self.viewer.rectangles())
        excluded = bool(choice.excluded)
        self.save_button.setEnabled(supported and not excluded and rects and not choice.confirmed)
        self.reset_button.setEnabled(excluded or bool(choice.rectangles))
        self.exclude_button.setEnabled(True)
        free_text = self.review.is_free_text(uid)
        self.exclude_button.setText(("Show text / include…" if free_text else "Include scan")
                                    if excluded else "Exclude scan…")
        self.apply_button.setEnabled(supported and not excluded)
        self.template_button.setEnabled(supported and not excluded and rects)
        kind: Level
        if excluded:
            text = "Excluded: this scan will not be uploaded" + (f" ({choice.exclude_reason})" if choice.exclude_reason else "") + "."
            kind = "error"
        elif choice.decision:
            text, kind = f"Included by your decision: {choice.decision}.", "info"
        elif not supported:
            text, kind = "This scan cannot be redacted; it is uploaded as it is unless you exclude it.", "info"
        elif choice.rectangles and not choice.confirmed:
            n = len(choice.rectangles)
            text, kind = (f"{n} box{'es' if n != 1 else ''} drawn: “Save scan” keeps them, "
                          "“Reset scan” discards them."), "error"
        elif choice.rectangles:
            n = len(choice.rectangles)
            text, kind = f"Saved: {n} box{'es' if n != 1 else ''} will be blacked out on every frame.", "ok"
        else:
            text, kind = "No boxes: this scan is uploaded with its pixels unchanged. Draw boxes over any burned-in text.", "info"
        self.state.say(kind, text)
        self.private_text.show_scan(uid)
        self._update_assist()


class ScanEditDialog(QDialog):
    """A scan opened from the bulk grid, with Previous/Next through the grid's scans.

    Alt+Left / Alt+Right (or the buttons) move through ``uids`` in grid order, so a group is
    inspected without closing and re-opening the dialog for every tile.
    """

    def __init__(self, review: ReviewModel, uid: str, store: TemplateStore, parent: QWidget | None = None,
                 uids: list[str] | None = None, findings: TextFindings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scan")
        fit_to_screen(self, 1100, 780)
        self.uids = list(uids) if uids else [uid]
        self.panel = ScanPanel(review, store, self, findings)
        self.previous_button = QPushButton("◀ Previous")
        self.previous_button.setToolTip("Previous scan of the group (Alt+Left)")
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("Next scan of the group (Alt+Right)")
        self.next_button.clicked.connect(lambda: self.step(1))
        QShortcut(QKeySequence("Alt+Left"), self, lambda: self.step(-1))
        QShortcut(QKeySequence("Alt+Right"), self, lambda: self.step(1))
        self.position = QLabel()
        self.position.setObjectName("hint")
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(self.previous_button)
        row.addWidget(self.next_button)
        row.addWidget(self.position)
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel, 1)
        layout.addLayout(row)
        self.show_uid(uid if uid in self.uids else self.uids[0])

    def current(self) -> str | None:
        return self.panel.uid

    def show_uid(self, uid: str) -> None:
        self.panel.show_scan(uid)
        i = self.uids.index(uid)
        self.position.setText(f"Scan {i + 1} of {len(self.uids)}")
        self.previous_button.setEnabled(i > 0)
        self.next_button.setEnabled(i < len(self.uids) - 1)

    def step(self, delta: int) -> None:
        i = self.uids.index(self.panel.uid) + delta if self.panel.uid in self.uids else 0
        if 0 <= i < len(self.uids):
            self.show_uid(self.uids[i])
