"""``ReviewStep``: the wizard page that checks every scan for burned-in text before upload.

One session → the viewer with a thumbnail strip (draw boxes, "Save scan"). Several sessions →
the bulk view of Valid groups / Unsupported scans with templates. The wizard reads the outcome
through ``choices()`` (per SeriesInstanceUID) and may only go on when ``is_complete()``;
``blocking_message()`` says why not.

Every image scan is searched for burned-in text in the background as soon as the review opens
(``findings.TextFindings``; the scan on screen first). Next waits until the search is done and
until every scan the one hold-back rule (``plan.review.text_gate``) holds has a decision; the
status line above the page always says what is left, and "Show" goes to it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from desktop_client.gui.review.bulk import BulkReviewPage
from desktop_client.gui.review.dialogs import run_modal
from desktop_client.gui.review.findings import STOPPED, TextFindings
from desktop_client.gui.review.single import SessionReviewPage
from desktop_client.plan.privatetext import PrivateTextCheck, ScriptChain
from desktop_client.plan.progress import ReviewProgress, groups_not_reviewed
from desktop_client.plan.review import ReviewModel, ScanReviewChoice, Summary
from desktop_client.gui.templates.manager import TemplateManagerDialog
from desktop_client.gui.viewer.jobs import LatestOnly
from desktop_client.gui.widgets import MessageBar
from desktop_client.scanning.model import Session
from desktop_client.templates import TemplateStore


#: Above this many scans the grouping runs in the background (a few ms per 100 scans, but on a
#: busy machine 2,000 scans would hold the UI thread for a noticeable fraction of a second).
ASYNC_SCANS = 300


class ReviewStep(QWidget):
    """Review of the selected sessions; emits ``completeChanged`` whenever ``is_complete`` may change.

    For large selections ``set_sessions`` returns at once and the groups appear when the
    background grouping is done; until then ``is_complete()`` is False and
    ``blocking_message()`` says the scans are still being grouped.
    """

    completeChanged = Signal()

    def __init__(self, parent: QWidget | None = None, store: TemplateStore | None = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else TemplateStore()
        self.review: ReviewModel | None = None
        self.page: SessionReviewPage | BulkReviewPage | None = None
        # One status line, always there and one line high: the upload overview and what is left.
        # The full blocking message is shown once, by the wizard next to its Next button.
        self.status_line = MessageBar(self, one_line=True)
        self.status_line.setAccessibleName("What is left to review")
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Go to the first scan that still needs a decision")
        self.show_button.clicked.connect(self.show_next_open)
        # The selection's own background search (every image scan, started when the review
        # opens) can be stopped like a group's: what it did not search is held back as not
        # checked until searched again (Find text) or decided.
        self.stop_search_button = QPushButton("Stop search")
        self.stop_search_button.setToolTip("Stop searching the selection for burned-in text. Scans not "
                                           "searched yet stay “not checked” and are not sent until you "
                                           "search them (Find text) or decide on them.")
        self.stop_search_button.clicked.connect(self.stop_search)
        self.stop_search_button.hide()
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_line, 1)
        status_row.addWidget(self.stop_search_button)
        status_row.addWidget(self.show_button)
        self.stack = QStackedWidget()
        self.empty = QLabel("No sessions selected.")
        self.empty.setObjectName("hint")
        self.stack.addWidget(self.empty)
        self.grouping_label = QLabel("")
        self.grouping_label.setObjectName("hint")
        self.stack.addWidget(self.grouping_label)
        #: Text found per scan, kept across selections (results are keyed by SeriesInstanceUID).
        self.findings = TextFindings(self)
        self.findings.updated.connect(self._on_found)
        # Search results arrive one scan at a time (2,000 for a large selection): the step counts
        # what is left again at most every 200 ms, for all the scans that came back meanwhile.
        self._found: set[str] = set()
        self._found_timer = QTimer(self)
        self._found_timer.setSingleShot(True)
        self._found_timer.setInterval(200)
        self._found_timer.timeout.connect(self._flush_found)
        #: The text gate's verdict per scan ("" = may go), kept up to date scan by scan as search
        #: results arrive and recomputed whole after a decision (None): 2,000 scans cost ~0.1 s.
        self._verdicts: dict[str, str] | None = None
        findings = self.findings
        self.destroyed.connect(lambda *_: findings.close())
        self._grouper = LatestOnly(self)
        self._grouper.done.connect(self._on_grouped)
        #: Private text and overlays of a large selection's scans, read and checked against the
        #: destination's scripts after its groups show (Next waits for it: it can hold scans).
        self._checking = False
        self._inspector = LatestOnly(self)
        self._inspector.done.connect(self._on_inspected)
        self._pending: object | None = None
        self._failure = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(status_row)
        layout.addWidget(self.stack, 1)
        self._complete = True

    # -- contract -------------------------------------------------------------------------------
    def set_sessions(self, sessions: list[Session], decisions: Mapping[str, ScanReviewChoice] | None = None,
                     reviewed_groups: Iterable[str] = (), series_filters: Iterable[Any] = (),
                     chain: ScriptChain | None = None) -> None:
        """Show ``sessions``, keeping earlier ``decisions`` (by SeriesInstanceUID) and reviewed groups;
        scans XNAT's series import filter would drop start excluded unless a decision exists.
        ``chain``: the scripts the destination will apply, which the private text check runs
        (None: not known, so identifying header text counts as kept)."""
        reviewed_groups = set(reviewed_groups)
        if self.page is not None:
            self.stack.removeWidget(self.page)
            self.page.deleteLater()
            self.page = None
        self.review = None
        self._failure = ""
        sessions = list(sessions)
        filters = list(series_filters)  # XNAT's series import filter: those scans start excluded
        self._pending = token = object()
        self._checking = False
        scans = sum(len(s.scans) for s in sessions)
        if not sessions:
            self.stack.setCurrentWidget(self.empty)
        elif scans > ASYNC_SCANS:
            self.grouping_label.setText(f"Grouping {scans:,} scans for review…")
            self.stack.setCurrentWidget(self.grouping_label)
            # The groups first: what the scans carry besides pixels is read after they are shown.
            self._grouper.request(token, lambda: ReviewModel(sessions, decisions, reviewed_groups, chain)
                                  .apply_series_import_filter(filters, keep=decisions or {}))
        else:
            review = ReviewModel(sessions, decisions, reviewed_groups, chain)
            self._show(review.apply_series_import_filter(filters, keep=decisions or {}))
            self._inspect(review)
        self._on_changed(force=True)

    def _inspect(self, review: ReviewModel) -> None:
        """Read the scans' private text and overlays and run the destination's scripts on them in
        the background (a few ms per carrying scan: hundreds would stall the UI); Next waits."""
        self._checking = True
        self._inspector.request(review, review.image_text_checks)

    def _on_grouped(self, payload: tuple[object, ReviewModel | None, BaseException | None]) -> None:
        token, review, error = payload
        if token is not self._pending:
            return  # a newer selection replaced this one
        if error is not None:
            # Fail closed: without groups nothing was reviewed, so the upload stays blocked.
            self._pending = None
            self._failure = f"The scans could not be grouped for review ({error}). Go back and select them again."
            self.grouping_label.setText(self._failure)
            self._on_changed(force=True)
            return
        assert review is not None  # no error: the job returned the model
        self._show(review)
        self._inspect(review)
        self._on_changed(force=True)

    def _on_inspected(self, payload: tuple[ReviewModel, dict[str, PrivateTextCheck] | None,
                                           BaseException | None]) -> None:
        review, checks, error = payload
        if review is not self.review:
            return  # another selection is shown
        if error is not None or checks is None:
            # Fail closed: without the check nobody knows what header text the scripts keep.
            self._failure = f"The scans' header text could not be checked ({error}). Go back and select them again."
            self._on_changed(force=True)
            return
        self._checking = False
        review.apply_image_text_checks(checks)
        if checks and isinstance(self.page, BulkReviewPage):
            self.page.refresh()
        elif checks and isinstance(self.page, SessionReviewPage):
            self.page.found(set(checks))  # the strip entries and the open scan say it now
            self.page.panel.refresh_state()
        self._on_changed(force=True)

    def checking(self) -> bool:
        """The scans' header text is still being checked against the scripts (Next waits)."""
        return self._checking

    def _show(self, review: ReviewModel) -> None:
        self._pending = None
        self.review = review
        page_cls = SessionReviewPage if len(review.sessions) == 1 else BulkReviewPage
        self.page = page_cls(review, self.store, self, self.findings)
        self.page.changed.connect(self._on_changed)
        self.page.manageTemplates.connect(self.manage_templates)
        if isinstance(self.page, BulkReviewPage):
            self.page.set_verdicts(self.held_back)
        self.stack.addWidget(self.page)
        self.stack.setCurrentWidget(self.page)
        # Every image scan is searched for burned-in text in the background (the scan on screen
        # first); what was found for these scans in an earlier selection is reused.
        searchable = [ref.scan for uid, ref in review.refs.items() if review.is_supported(uid)]
        for scan in searchable:
            found = self.findings.result(scan.series_instance_uid)
            if found is not None:
                review.set_findings(scan.series_instance_uid, found)
        self.findings.request(searchable)

    def _on_found(self, uid: str) -> None:
        review = self.review
        if review is None or self.page is None or uid not in review.refs:
            return
        found = self.findings.result(uid)
        if found is not None:
            review.set_findings(uid, found)
        elif self.findings.state(uid) == STOPPED:  # not checked: held back until searched or decided
            review.stop_search(uid)
        else:  # searched again: the search's outcome, not the stop, decides
            review.search_stopped.discard(uid)
        self._found.add(uid)
        if not self._found_timer.isActive():
            self._found_timer.start()

    def _flush_found(self) -> None:
        uids, self._found = self._found, set()
        if self.page is None or self.review is None:
            return
        uids = {u for u in uids if u in self.review.refs}
        if self._verdicts is not None:
            for uid in uids:  # only these scans' verdicts can have changed
                self._verdicts[uid] = self.review.gate(uid)
        self.page.found(uids)
        self._refresh_status()

    def verdicts(self) -> dict[str, str]:
        """Why each scan may not be sent yet ("" when it may), by the text gate."""
        if self._verdicts is None:
            review = self.review
            self._verdicts = {uid: review.gate(uid) for uid in review.refs} if review is not None else {}
        return self._verdicts

    def held_back(self, uids: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """The scans (of ``uids``, default all) the text gate holds back, with why."""
        verdicts = self.verdicts()
        return [(u, verdicts[u]) for u in (verdicts if uids is None else uids) if verdicts.get(u)]

    def searching(self) -> int:
        """Scans of this review still waiting for (or in) the text search, or whose result the
        step has not counted yet."""
        if self.review is None:
            return 0
        return len(self._found) + self.findings.pending(self.review.refs)

    def stop_search(self) -> None:
        """Stop every text search of this review still queued or running (never waits)."""
        if self.review is None:
            return
        self.findings.cancel(list(self.review.refs))  # each stopped scan is then held (_on_found)
        self.stop_search_button.hide()

    def show_next_open(self) -> None:
        """Take the user to the first scan that still needs a decision."""
        if self.review is None or self.page is None:
            return
        held = [uid for uid, _ in self.held_back()] or self.review.unconfirmed()
        if held:
            self.page.reveal(held[0])

    def is_ready(self) -> bool:
        """False while a large selection is still being grouped in the background."""
        return self._pending is None

    def choices(self) -> dict[str, ScanReviewChoice]:
        """A copy of every scan's decision, keyed by SeriesInstanceUID."""
        if self.review is None:
            return {}
        return {uid: replace(c, rectangles=list(c.rectangles), templates=list(c.templates))
                for uid, c in self.review.choices.items()}

    def is_complete(self) -> bool:
        return not self.blocking_message()

    def blocking_message(self) -> str:
        if self._pending is not None:
            return "The scans are still being grouped for review; this takes a moment."
        if self._failure:
            return self._failure
        if self.review is None:
            return ""
        message = self.review.blocking_message() or (self.review.text_blocking_message() if self.held_back() else "")
        if message:
            return message
        searching = self.searching()
        if searching:
            return (f"Searching {searching} scan{'s' if searching != 1 else ''} for burned-in text; "
                    "the upload can start when the search is done (keep reviewing meanwhile).")
        if self._checking:
            return ("Checking the scans' header text against the anonymization scripts; the upload "
                    "can start when it is done (keep reviewing meanwhile).")
        return ""

    # -- extras ---------------------------------------------------------------------------------
    def summary(self) -> Summary:
        return self.review.summary() if self.review is not None else Summary()

    def unreviewed_groups(self) -> int:
        """Valid groups (bulk mode) whose scans nobody has looked at yet (a reminder, not a block)."""
        if self.review is None or not isinstance(self.page, BulkReviewPage):
            return 0
        return groups_not_reviewed(self.review)

    def manage_templates(self) -> None:
        run_modal(TemplateManagerDialog(self.store, self))
        self.store.reload()
        if isinstance(self.page, BulkReviewPage):
            self.page.refresh()  # matching-template counts may have changed
        self._on_changed()

    def left_parts(self) -> list[str]:
        """What still needs the user, in the order they should deal with it."""
        if self.review is None:
            return []
        parts = []
        # The planning core's line ("3 groups not reviewed · 2 scans with text found and no
        # decision"), counting held scans by the one hold-back rule (plan.review.text_gate).
        progress = ReviewProgress(self.unreviewed_groups(), len(self.held_back())).text()
        if progress:
            parts.append(progress)
        unsaved = len(self.review.unconfirmed())
        if unsaved:
            parts.append(f"{unsaved} scan{'s' if unsaved != 1 else ''} with unsaved boxes")
        searching = self.searching()
        if searching:
            parts.append(f"searching {searching} scan{'s' if searching != 1 else ''} for text")
        if self._checking:
            parts.append("checking header text against the scripts")
        return parts

    def _on_changed(self, force: bool = False) -> None:
        self._verdicts = None  # a decision may change any scan's verdict
        self._refresh_status(force)

    def _blocked(self) -> bool:
        """``not is_complete()``, without composing the message (the wizard asks for it when needed)."""
        if self._pending is not None or self._failure or self._checking:
            return True
        if self.review is None:
            return False
        return bool(self.review.unconfirmed() or self.held_back() or self.searching())

    def _refresh_status(self, force: bool = False) -> None:
        # Runs every 200 ms while a bulk search streams in (2,000 scans): each count over the
        # scans is taken once here, not once per question asked of it.
        blocked = self._blocked()
        if self.review is not None:
            s = self.summary()
            overview = (f"Upload: {s.redacted} redacted · {s.as_is} as is · {s.excluded} excluded")
            urgent = bool(s.unconfirmed or self.held_back())
            left = self.left_parts()
            if left:
                self.status_line.say("error" if urgent else "info",
                                    f"Left to do: {' · '.join(left)}   —   {overview}")
            else:
                self.status_line.ok(f"Nothing left to review   —   {overview}")
        else:
            urgent = False
            self.status_line.info(self.blocking_message())
        # Always there (a button that comes and goes would move the layout), enabled when useful.
        self.show_button.setEnabled(urgent)
        self.stop_search_button.setVisible(self.review is not None and self.findings.pending(self.review.refs) > 0)
        complete = not blocked
        if force or complete != self._complete:
            self._complete = complete
            self.completeChanged.emit()
